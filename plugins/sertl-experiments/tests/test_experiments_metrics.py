import numpy as np
import pytest
from sertl_experiments import (
    bootstrap_ci,
    confusion,
    mmd_rbf,
    proxy_a_distance,
    score_all,
)
from sertl_experiments._metrics import bootstrap_mean_ci, bootstrap_replicates
from sklearn.metrics import accuracy_score, balanced_accuracy_score, f1_score


def test_scores_match_sklearn():
    rng = np.random.default_rng(0)
    labels = ["anger", "happiness", "neutral", "sadness"]
    y = rng.choice(labels, 200)
    p = np.where(rng.random(200) < 0.6, y, rng.choice(labels, 200))
    s = score_all(y, p, labels)
    assert s["uar"] == pytest.approx(balanced_accuracy_score(y, p))
    assert s["wa"] == pytest.approx(accuracy_score(y, p))
    assert s["macro_f1"] == pytest.approx(f1_score(y, p, average="macro"))


def test_bootstrap_interval_brackets_the_estimate_and_shrinks():
    rng = np.random.default_rng(1)
    labels = ["a", "b", "c"]
    small_y = rng.choice(labels, 60)
    small_p = np.where(rng.random(60) < 0.7, small_y, "a")
    big_y = np.tile(small_y, 10)
    big_p = np.tile(small_p, 10)
    lo1, hi1 = bootstrap_ci(small_y, small_p, labels, n_boot=500)["uar"]
    lo2, hi2 = bootstrap_ci(big_y, big_p, labels, n_boot=500)["uar"]
    point = score_all(small_y, small_p, labels)["uar"]
    assert lo1 <= point <= hi1
    assert lo2 <= point <= hi2
    assert (hi2 - lo2) < (hi1 - lo1)
    assert all(
        np.isnan(v) for v in bootstrap_ci(small_y, small_p, labels, n_boot=0)["uar"]
    )


def test_discrepancy_measures_grow_with_shift():
    rng = np.random.default_rng(2)
    A, B = rng.normal(size=(150, 4)), rng.normal(size=(150, 4))
    assert abs(mmd_rbf(A, B)) < 0.05
    assert mmd_rbf(A, B + 1.0) > 0.1
    assert proxy_a_distance(A, B) < 0.6
    assert proxy_a_distance(A, B + 3.0) > 1.5
    with pytest.raises(ValueError, match="at least 2 rows"):
        mmd_rbf(A[:1], B)


def test_predictions_outside_the_classes_are_errors():
    # they were dropped: 1.0 where scikit-learn gives 0.75
    y = ["anger"] * 10 + ["sadness"] * 10
    p = ["anger"] * 5 + ["calm"] * 5 + ["sadness"] * 10
    labels = ["anger", "sadness"]
    s = score_all(y, p, labels)
    with pytest.warns(UserWarning, match="y_pred contains classes not in y_true"):
        assert s["uar"] == pytest.approx(balanced_accuracy_score(y, p))
    assert s["wa"] == pytest.approx(accuracy_score(y, p))
    # macro-F1 over the classes of y_true: anger 2/3, sadness 1
    assert s["macro_f1"] == pytest.approx(
        f1_score(y, p, labels=labels, average="macro")
    )
    assert confusion(y, p, labels).tolist() == [[5, 0, 5], [0, 10, 0]]
    assert confusion(y, y, labels).shape == (2, 2)
    lo, hi = bootstrap_ci(y, p, labels, n_boot=200)["uar"]
    assert lo < 0.75 < hi < 1.0


def test_true_labels_outside_the_classes_are_refused():
    with pytest.raises(ValueError, match=r"y_true holds 'calm', which is not in"):
        score_all(["calm", "anger"], ["anger", "anger"], ["anger", "sadness"])


def test_utterance_bootstrap_keeps_every_class():
    # a resample that missed the one "fear" row averaged UAR over two classes
    labels = ["anger", "sadness", "fear"]
    y = ["anger"] * 60 + ["sadness"] * 60 + ["fear"]
    p = ["anger"] * 60 + ["sadness"] * 60 + ["anger"]
    rep = bootstrap_replicates(y, p, labels, n_boot=300, random_state=0)
    assert np.allclose(rep["uar"], 2 / 3)
    assert not rep["classes_missing"].any()
    assert bootstrap_ci(y, p, labels, n_boot=300)["uar"] == (
        pytest.approx(2 / 3),
        pytest.approx(2 / 3),
    )


def test_speaker_bootstrap_draws_whole_speakers():
    # 4 speakers of 10 rows; speakers 0 and 1 all right, 2 and 3 all wrong
    y = np.array(["a", "b"] * 20)
    speakers = np.repeat(["s0", "s1", "s2", "s3"], 10)
    p = np.where(np.isin(speakers, ["s0", "s1"]), y, np.where(y == "a", "b", "a"))
    rep = bootstrap_replicates(y, p, ["a", "b"], n_boot=400, groups=speakers)
    assert np.allclose(rep["wa"] * 4, np.round(rep["wa"] * 4))  # quarters only
    assert {0.0, 1.0} <= set(np.round(rep["wa"], 6))
    utterances = bootstrap_replicates(y, p, ["a", "b"], n_boot=400)
    assert not np.allclose(utterances["wa"] * 4, np.round(utterances["wa"] * 4))
    # a speaker of one class: resamples without it lack the class
    one_class = np.where(speakers == "s3", "a", "b")
    rep = bootstrap_replicates(one_class, one_class, ["a", "b"], groups=speakers)
    assert rep["classes_missing"].max() == 1
    with pytest.raises(ValueError, match=r"needs at least 2 of them, got 1 \('s'\)"):
        bootstrap_ci(y, p, ["a", "b"], groups=["s"] * 40)
    # unknown speakers would otherwise be pooled into one speaker "None"
    unknown = [None if i % 10 == 0 else s for i, s in enumerate(speakers)]
    with pytest.raises(ValueError, match=r"groups holds 4 missing speaker id"):
        bootstrap_ci(y, p, ["a", "b"], groups=unknown)
    with pytest.raises(ValueError, match=r"groups holds 1 missing speaker id"):
        bootstrap_ci(y, p, ["a", "b"], groups=[np.nan] + list(speakers[1:]))


def test_interval_of_a_mean_over_test_sets():
    rng = np.random.default_rng(3)
    labels = ["a", "b"]
    sets = []
    for seed in range(3):  # three disjoint test sets of one pool
        y = rng.choice(labels, 80)
        sets.append(
            {
                "y_true": y,
                "y_pred": np.where(rng.random(80) < 0.7, y, "a"),
                "rows": 80 * seed + np.arange(80),
                "random_state": seed,
            }
        )
    one = bootstrap_mean_ci(sets[:1], labels, n_boot=200)
    assert one == bootstrap_ci(sets[0]["y_true"], sets[0]["y_pred"], labels, n_boot=200)
    lo, hi = bootstrap_mean_ci(sets, labels, n_boot=200)["uar"]
    mean = np.mean([score_all(s["y_true"], s["y_pred"], labels)["uar"] for s in sets])
    assert lo < mean < hi
    each = [
        bootstrap_ci(s["y_true"], s["y_pred"], labels, n_boot=200, random_state=i)
        for i, s in enumerate(sets)
    ]
    assert hi - lo < np.mean([c["uar"][1] - c["uar"][0] for c in each])


@pytest.mark.parametrize("speakers", [False, True])
def test_seeds_on_the_same_rows_keep_the_width_of_one_seed(speakers):
    # under the unlabelled protocol every seed tests on the whole target
    # corpus; resampling each seed on its own averaged the shared sampling
    # noise away: five identical seeds got an interval sqrt(5) narrower
    rng = np.random.default_rng(0)
    labels = ["a", "b", "c"]
    y = rng.choice(labels, 600)
    p = np.where(rng.random(600) < 0.7, y, "a")
    groups = np.array([f"s{i % 12}" for i in range(600)]) if speakers else None
    sample = {"y_true": y, "y_pred": p, "groups": groups, "random_state": 0}
    single = bootstrap_ci(y, p, labels, n_boot=300, groups=groups)["uar"]
    five = bootstrap_mean_ci([sample] * 5, labels, n_boot=300)["uar"]
    assert five == pytest.approx(single)
    with pytest.raises(ValueError, match="two different true labels"):
        bootstrap_mean_ci([sample, {**sample, "y_true": p}], labels, n_boot=10)
    if speakers:
        unknown = np.where(np.arange(600) < 3, None, groups)
        with pytest.raises(ValueError, match=r"groups holds 3 missing speaker"):
            bootstrap_mean_ci([sample, {**sample, "groups": unknown}], labels)


def test_a_run_counts_predictions_outside_the_classes(synthetic_config, synthetic_data):
    import json

    from sertl_experiments import run_experiment

    cfg = synthetic_config(methods=[{"name": "dss"}], protocol={"bootstrap": 0})
    run_experiment(cfg, data=synthetic_data, progress=False, log=lambda *_: None)
    path = cfg.output / "cells" / "a__b__dss__seed0.json"
    cell = json.loads(path.read_text())
    cell["y_pred"] = [-1] * len(cell["y_pred"])  # none of the classes
    path.write_text(json.dumps(cell))
    # new interval settings rescore the stored predictions
    cfg = synthetic_config(methods=[{"name": "dss"}], protocol={"bootstrap": 20})
    res = run_experiment(cfg, data=synthetic_data, progress=False, log=lambda *_: None)
    row = res.results.set_index("target").loc["b"]
    assert (row["uar"], row["wa"], row["macro_f1"]) == (0.0, 0.0, 0.0)
    cell = json.loads(path.read_text())
    assert [r[-1] for r in cell["confusion"]] == [30, 30, 30]  # the "other" column
    assert (cfg.output / "plots" / "confusion_dss.png").is_file()


def test_mean_interval_never_scores_a_seed_on_an_empty_resample():
    # two seeds test disjoint speakers; every speaker has UAR 0.75, so the
    # mean over the seeds is 0.75 in every resample. A pooled draw of the
    # four speakers missed both speakers of one seed one time in eight,
    # scored that seed 0 and gave the interval (0.375, 0.75)
    spk = np.repeat(["s1", "s2", "s3", "s4"], 8)
    y = np.tile(["a", "a", "b", "b"], 8)
    pred = np.tile(["a", "b", "b", "b"], 8)
    samples = []
    for names in (["s1", "s2"], ["s3", "s4"]):
        rows = np.flatnonzero(np.isin(spk, names))
        samples.append(
            {"y_true": y[rows], "y_pred": pred[rows], "rows": rows, "groups": spk[rows]}
        )
    ci = bootstrap_mean_ci(samples, ["a", "b"], n_boot=2000)
    assert ci["uar"] == (pytest.approx(0.75), pytest.approx(0.75))
    assert ci["wa"] == (pytest.approx(0.75), pytest.approx(0.75))
    # by utterance too: each seed keeps its own class counts
    for s in samples:
        s.pop("groups")
    low, high = bootstrap_mean_ci(samples, ["a", "b"], n_boot=2000)["uar"]
    assert 0.5 < low < 0.75 < high


@pytest.mark.parametrize("speakers", [False, True])
def test_mean_interval_resamples_each_set_as_its_own_bootstrap(speakers):
    # set A tests 5 of 20 speakers, set B every row with every prediction
    # right (UAR 1 in any resample): the interval of the mean then maps to
    # A's own bootstrap interval, whose resamples draw A's rows alone
    rng = np.random.default_rng(0)
    y = rng.choice(["a", "b"], 400)
    spk = np.array([f"s{i % 20}" for i in range(400)])
    p = np.where(rng.random(400) < 0.7, y, "a")
    a = np.flatnonzero(np.isin(spk, [f"s{i}" for i in range(1, 6)]))
    groups = spk if speakers else None
    sa = {
        "y_true": y[a],
        "y_pred": p[a],
        "rows": a,
        "groups": None if groups is None else spk[a],
    }
    sb = {"y_true": y, "y_pred": y, "rows": np.arange(400), "groups": groups}
    lo, hi = bootstrap_mean_ci([sa, sb], ["a", "b"], n_boot=4000)["uar"]
    own = bootstrap_ci(
        y[a], p[a], ["a", "b"], n_boot=4000, groups=None if groups is None else spk[a]
    )["uar"]
    assert 2 * lo - 1 == pytest.approx(own[0], abs=0.02)
    assert 2 * hi - 1 == pytest.approx(own[1], abs=0.02)


def test_a_test_set_without_rows_is_refused():
    one = {"y_true": ["a", "b"], "y_pred": ["a", "b"]}
    empty = {"y_true": [], "y_pred": [], "rows": []}
    with pytest.raises(ValueError, match="test set 1 has no rows"):
        bootstrap_mean_ci([one, empty], ["a", "b"], n_boot=10)


def test_labels_are_compared_by_value():
    # 1.0 was compared as the text "1.0" with "1": UAR 0 where sklearn gives 1
    s = score_all([1, 2, 2], [1.0, 2.0, 2.0], [1, 2])
    assert s == {"uar": 1.0, "wa": 1.0, "macro_f1": 1.0}
    assert score_all(np.array([1.0, 2.0]), [1, 1], [1, 2])["uar"] == 0.5
    assert confusion([1, 2], [np.int64(1), 2.0], [1, 2]).tolist() == [[1, 0], [0, 1]]
    lo, hi = bootstrap_ci([1, 2, 2, 1], [1.0, 2.0, 2.0, 1.0], [1, 2], n_boot=20)["uar"]
    assert lo == hi == 1.0
    # a label that matches only as text is a type mix-up: said, not scored 0
    with pytest.raises(ValueError, match=r"y_pred holds .* equal a label only as"):
        score_all([1, 2], ["1", "2"], [1, 2])
    with pytest.raises(ValueError, match=r"y_true holds '1', .*same type"):
        score_all(["1", "2"], ["1", "2"], [1, 2])
    # text labels keep working, a foreign prediction is still an error
    assert score_all(["a", "b"], ["a", "c"], ["a", "b"])["uar"] == 0.5


def test_scores_of_no_rows_are_nan():
    s = score_all([], [], ["a", "b"])
    assert set(s) == {"uar", "wa", "macro_f1"}
    assert all(np.isnan(v) for v in s.values())


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"confidence": 95}, r"between 0 and 1, got 95 \(a percentage\? pass 0.95\)"),
        ({"confidence": 0}, "strictly between 0 and 1, got 0"),
        ({"confidence": 1.0}, "strictly between 0 and 1, got 1.0"),
        ({"n_boot": -5}, "n_boot must be at least 0"),
        ({"n_boot": 2.5}, "n_boot must be a whole number"),
    ],
)
def test_bootstrap_settings_are_validated(kwargs, match):
    y, p = ["a", "b", "a", "b"], ["a", "b", "b", "b"]
    with pytest.raises(ValueError, match=match):
        bootstrap_ci(y, p, ["a", "b"], **kwargs)
    with pytest.raises(ValueError, match=match):
        bootstrap_mean_ci([{"y_true": y, "y_pred": p}], ["a", "b"], **kwargs)


def test_pad_does_not_fall_with_the_domain_size_ratio():
    # the same two distributions, the target 1/10 of the source: the
    # unweighted classifier predicted "source" nearly everywhere and PAD
    # fell to about 0.02 (0.46 with equal sizes)
    pads = {}
    for n_target in (500, 50):
        vals = []
        for seed in range(6):
            rng = np.random.default_rng(seed)
            A = rng.normal(size=(500, 5))
            B = rng.normal(size=(n_target, 5)) + 0.6 / np.sqrt(5)
            vals.append(proxy_a_distance(A, B, random_state=seed))
        pads[n_target] = np.mean(vals)
    assert pads[500] > 0.3
    assert pads[50] > 0.25
    assert abs(pads[50] - pads[500]) < 0.2


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (
            lambda A, B: mmd_rbf(A, B, gamma=-1.0),
            "'gamma' parameter of mmd_rbf must be a float in the range \\(0.0, inf\\) or None",
        ),
        (lambda A, B: mmd_rbf(A, B, gamma=0), "'gamma' parameter of mmd_rbf .* Got 0 "),
        (lambda A, B: mmd_rbf(A, B, gamma=np.inf), "'gamma' parameter of mmd_rbf"),
        (lambda A, B: mmd_rbf(A, B[:, :2]), "X_source has 3 features and X_target 2"),
        (lambda A, B: mmd_rbf(A[:, 0], B), r"X_source must be 2-D .* reshape"),
        (
            lambda A, B: mmd_rbf(np.where(A == A[0, 0], np.nan, A), B),
            "X_source holds 1 NaN or infinite",
        ),
        (
            lambda A, B: mmd_rbf(A, B, max_samples=1),
            "'max_samples' parameter of mmd_rbf must be an int in the range \\[2, inf\\)",
        ),
        (lambda A, B: mmd_rbf(A[:1], B), "at least 2 rows in each domain, got 1"),
        (
            lambda A, B: proxy_a_distance(A, B, cv=1),
            "'cv' parameter of proxy_a_distance must be an int in the range \\[2, inf\\)",
        ),
        (
            lambda A, B: proxy_a_distance(A, np.full_like(B, np.inf)),
            "X_target holds .* NaN or infinite",
        ),
        (lambda A, B: proxy_a_distance(A, B[:, :2]), "X_source has 3 features"),
    ],
)
def test_discrepancy_inputs_are_validated(call, match):
    rng = np.random.default_rng(0)
    A, B = rng.normal(size=(40, 3)), rng.normal(size=(40, 3))
    with pytest.raises(ValueError, match=match):
        call(A, B)


def test_mmd_documents_its_median_heuristic():
    doc = " ".join(mmd_rbf.__doc__.split())
    assert "twice the ``gamma`` of the heuristic of Gretton et al." in doc
    assert "pairs at distance 0 (duplicate rows) left out of the median" in doc
    # and that is what it computes: duplicate rows do not move gamma
    rng = np.random.default_rng(0)
    A, B = rng.normal(size=(30, 2)), rng.normal(size=(30, 2)) + 0.5
    pooled = np.vstack([A, B])
    d = ((pooled[:, None] - pooled[None]) ** 2).sum(-1)[np.triu_indices(60, 1)]
    gamma = 1 / np.median(d[d > 0])
    assert mmd_rbf(A, B) == pytest.approx(mmd_rbf(A, B, gamma=gamma))
    assert mmd_rbf(A, B, gamma=gamma / 2) != pytest.approx(mmd_rbf(A, B))
