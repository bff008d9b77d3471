"""predict_files called from several threads with one model."""

import threading
import warnings

import numpy as np
import pytest
from sertl_experiments import predict_files
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.pipeline import make_pipeline


class _Gated(ClassifierMixin, BaseEstimator):
    """Predicts its first class, calling ``gate()`` first (None: nothing)."""

    def fit(self, X, y):
        self.classes_ = np.unique(y)
        return self

    def predict(self, X):
        gate = getattr(self, "gate", None)
        if gate is not None:
            gate()
        return np.full(len(X), self.classes_[0])


@pytest.fixture(scope="module")
def gated_model():
    from sertl_speech import AudioFeatures, load_sample

    table = load_sample("emodb", emotions=["anger", "sadness"])
    files = list(table["file"])
    model = make_pipeline(AudioFeatures("mfcc_stats"), _Gated())
    model.fit(files[:4], list(table["emotion"][:4]))
    return model, files[4:6]


def test_predict_files_leaves_the_warning_filters_of_other_threads_alone(
    gated_model,
):
    # warnings.catch_warnings around the model's predict replaced the
    # process's filters (every thread's) with "ignore" while it ran: the
    # warnings of other threads were swallowed meanwhile
    model, files = gated_model
    before = list(warnings.filters)
    seen = []
    model[-1].gate = lambda: seen.append(list(warnings.filters))
    try:
        rows = predict_files(model, files)
    finally:
        del model[-1].gate
    assert [r["error"] for r in rows] == [None, None]
    assert seen == [before]


def test_overlapping_calls_leave_no_filter_behind(gated_model):
    # two threads: A enters predict_files, B enters, A returns, B returns.
    # Each catch_warnings restored the filters it found on entry, so B put
    # back the "ignore" of A's block for good: every later warning of the
    # process was hidden
    model, files = gated_model
    before = list(warnings.filters)
    b_inside, a_done = threading.Event(), threading.Event()
    stuck = []

    def gate():
        if threading.current_thread().name == "A":
            stuck.append(not b_inside.wait(30))
        else:
            b_inside.set()
            stuck.append(not a_done.wait(30))

    rows = {}

    def call(name):
        rows[name] = predict_files(model, files)
        if name == "A":
            a_done.set()

    model[-1].gate = gate
    try:
        threads = [threading.Thread(target=call, args=(n,), name=n) for n in "AB"]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        del model[-1].gate
    assert stuck == [False, False]  # the calls overlapped as described
    assert (
        [r["error"] for r in rows["A"]]
        == [None, None]
        == [r["error"] for r in rows["B"]]
    )
    assert warnings.filters == before


def test_the_models_warnings_reach_the_caller(gated_model):
    model, files = gated_model

    def gate():
        warnings.warn("a warning of the model", UserWarning, stacklevel=2)

    model[-1].gate = gate
    try:
        with pytest.warns(UserWarning, match="a warning of the model"):
            rows = predict_files(model, files)
    finally:
        del model[-1].gate
    assert len(rows) == 2


def test_threads_get_their_own_failures_and_labels(gated_model):
    model, files = gated_model
    batches = [[*files[: 1 + i % 2], f"missing-{i}.wav"] for i in range(6)]
    start = threading.Barrier(len(batches))
    got = [None] * len(batches)
    report = model[0].failed_  # of the model's fit

    def work(i):
        start.wait()
        got[i] = predict_files(model, batches[i])

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(batches))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for i, rows in enumerate(got):
        errors = [r["error"] for r in rows]
        assert errors[:-1] == [None] * (1 + i % 2)
        assert errors[-1] == f"missing: no such file: missing-{i}.wav"
    assert model[0].failed_ is report  # nothing written to the model
