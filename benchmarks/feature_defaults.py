"""Clean selection of sertl-feature's defaults on development corpus pairs.

Four defaults of sertl-feature are data-dependent choices:

1. the RBF width of TCA and JDA (median heuristic ``gamma = 1 / med`` or
   ``gamma = 1 / (2 med)``, ``med`` the median squared pairwise distance;
   both conventions are in use),
2. the kernel of JDA (``"rbf"`` or a ``"linear"`` kernel in the same kernelised problem),
3. the covariance regularisation of CORAL (Ledoit-Wolf ``"auto"`` or the
   paper's ``reg=1``),
4. the subspace dimension of SubspaceAlignment (a fixed 30, or a
   data-driven rule: Fernando et al.'s stability bound, the Levina-Bickel
   maximum-likelihood intrinsic dimension used by SA-MLE, Kaiser's rule, or
   the cumulative-variance rule at 90 / 95 / 99 %),
5. the scale of the TCA / JDA components: sertl's
   ``W^T (K L K + mu I) W = I`` (component variance proportional to its
   eigenvalue) or the paper's constraint ``W^T K H K W = I`` (every
   component whitened to the same variance; emulated here by scaling each
   output column to unit variance over the training rows, which is the
   same embedding up to one global factor, and SVC's gamma="scale" removes
   global factors).

Protocol (fixed before any of these runs):

* Development tasks: every ordered pair of the shared corpora EmoDB,
  RAVDESS, URDU and TurEV-DB EXCEPT EmoDB <-> RAVDESS, which is held out
  for the reported comparison (benchmarks/feature_downstream.py) and never
  run here. Classes: the emotions both corpora share (anger, happiness,
  neutral, sadness; only anger, happiness, sadness with TurEV-DB). 10 tasks.
* Pipeline per task, as in feature_downstream.py: per-domain
  standardisation, the adapter fitted on labelled source + unlabelled
  target rows, SVC(rbf, C=1, class_weight="balanced") on the adapted
  source rows, UAR (balanced accuracy) on the target rows. Target labels
  are used only to score.
* Rule (since 2026-11-27, benchmarks/_selection.py): the incumbent (the
  current default) stays unless a challenger beats it on the 10 tasks by
  an exact one-sided paired sign-flip test at p < 0.05; among such
  challengers the highest mean wins. Decision 2 uses the width chosen by
  decision 1. Decisions 1 and 5 pair the per-task mean over TCA and JDA
  (both share the choice). Until then the rule was "the highest mean UAR
  over the 10 tasks wins"; the results still name that pick.

Run (project venv, one BLAS thread; about 5-10 minutes on the shared
2-core machine)::

    .venv/bin/python benchmarks/feature_defaults.py

Writes benchmarks/results/feature_defaults.md.
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import platform  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _report import parse_parts, write_results  # noqa: E402

SHARED4 = ("anger", "happiness", "neutral", "sadness")
SHARED3 = ("anger", "happiness", "sadness")
NAMES = {"emodb": "EmoDB", "ravdess": "RAVDESS", "urdu": "URDU", "turev_db": "TurEV-DB"}
HELD_OUT = {("emodb", "ravdess"), ("ravdess", "emodb")}


NOTES = """
Notes:
- Decision 2's first row is JDA with kernel="rbf" at the width chosen by
  decision 1; decision 5 is scored at that width too.
- Before this protocol, CORAL's default was reg="auto" and SA's a fixed
  30 components, both picked after looking at EmoDB <-> RAVDESS target
  UAR; the protocol changed them to reg=1.0 and n_components="bound". The
  median-heuristic width 1/med, the RBF kernel of JDA and the
  eigenvalue-weighted component scale were confirmed.
- The bound of Fernando et al. is loose: at a tolerance gamma of order 1 it
  allows no dimension at all at these sample sizes; gamma = 1e5, delta =
  0.1 were fixed before this run and not tuned. The paper then tunes d
  below the bound's maximum by 2-fold cross-validation on labelled source
  data; the unsupervised adapter keeps the maximum.
- The spread across pairs is large (e.g. SA with the bound: 20.5 to 72.3
  on version-5 features); differences of a few tenths of a point between
  candidates are within noise. The highest-mean rule decided on them
  anyway and, rerun on version-4 features (DC offset removed), flipped
  the width and the SA dimension; the paired rule above, announced in
  that run's notes and fixed before this run, replaced it.
"""


def dev_tasks():
    """Ordered (source, target, emotions) pairs, EmoDB <-> RAVDESS excluded."""
    corpora = ["emodb", "ravdess", "urdu", "turev_db"]
    tasks = []
    for i, a in enumerate(corpora):
        for b in corpora[i + 1 :]:
            if (a, b) in HELD_OUT:
                continue
            em = SHARED3 if "turev_db" in (a, b) else SHARED4
            tasks += [(a, b, em), (b, a, em)]
    return tasks


# -- subspace-dimension rules (each returns one d for the task) --------------
def _eigvals(X):
    Xc = X - X.mean(axis=0)
    w = np.linalg.eigvalsh(Xc.T @ Xc / len(X))[::-1]
    return np.maximum(w, 0.0)


def d_kaiser(Xs, Xt):
    """Kaiser (1960): eigenvalues above the mean eigenvalue; max over domains."""
    return max(int((w > w.mean()).sum()) for w in (_eigvals(Xs), _eigvals(Xt)))


def d_levina_bickel(Xs, Xt, k1=10, k2=20):
    """Levina & Bickel (2004) MLE of intrinsic dimension, averaged over
    k = k1..k2 (MacKay-Ghahramani average of inverses); max over domains,
    as SA-MLE (Fernando et al., 2014) sizes the subspaces."""
    from sklearn.neighbors import NearestNeighbors

    out = []
    for X in (Xs, Xt):
        dist, _ = NearestNeighbors(n_neighbors=k2 + 1).fit(X).kneighbors(X)
        logd = np.log(np.maximum(dist[:, 1:], 1e-12))
        est = []
        for k in range(k1, k2 + 1):
            inv = (logd[:, k - 1 : k] - logd[:, : k - 1]).sum(axis=1) / (k - 1)
            est.append(1.0 / inv.mean())
        out.append(round(float(np.mean(est))))
    return max(1, max(out))


class _Whitened:
    """Wrap an adapter; scale each output column to unit variance."""

    def __init__(self, adapter):
        self.adapter = adapter

    def fit_transform(self, X, y, *, sample_domain):
        Z = self.adapter.fit_transform(X, y, sample_domain=sample_domain)
        sd = Z.std(axis=0)
        return Z / np.where(sd > 0, sd, 1.0)


def run_task(make, Xz, sd, ys, yt, dims):
    from sklearn.metrics import balanced_accuracy_score
    from sklearn.svm import SVC

    if make is None:
        Z = Xz
    else:
        y = np.r_[ys, np.full(int((sd < 0).sum()), "-1")]
        ad = make(Xz, sd)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            Z = ad.fit_transform(Xz, y, sample_domain=sd)
        if type(ad).__name__ == "SubspaceAlignment":
            dims.append(ad.n_components_)
    clf = SVC(C=1.0, class_weight="balanced").fit(Z[sd > 0], ys)
    return 100 * balanced_accuracy_score(yt, clf.predict(Z[sd < 0]))


def main():
    import _data
    import scipy
    import sklearn
    from _selection import keep_unless_better
    from sertl_feature import CORAL, JDA, TCA, SubspaceAlignment
    from sertl_feature._linalg import median_heuristic_gamma

    from sertl_core import DomainStandardScaler

    tasks = dev_tasks()
    prepared = []
    for s, t, em in tasks:
        Xs, ys = _data.load_features(s, emotions=em)[:2]
        Xt, yt = _data.load_features(t, emotions=em)[:2]
        X = np.vstack([Xs, Xt])
        sd = np.r_[np.ones(len(Xs), int), -np.ones(len(Xt), int)]
        Xz = DomainStandardScaler().fit_transform(X, sample_domain=sd)
        prepared.append((s, t, Xz, sd, ys, yt))

    def med(Xz):
        return median_heuristic_gamma(Xz, random_state=0)

    def sa_rule(rule):
        def make(Xz, sd):
            d = rule(Xz[sd > 0], Xz[sd < 0])
            d = min(d, Xz.shape[1], int((sd > 0).sum()), int((sd < 0).sum()))
            return SubspaceAlignment(n_components=d)

        return make

    decisions = {
        "1. RBF width (TCA and JDA)": [
            ("TCA, gamma = 1/med", lambda X, sd: TCA(gamma=med(X), random_state=0)),
            (
                "TCA, gamma = 1/(2 med)",
                lambda X, sd: TCA(gamma=med(X) / 2, random_state=0),
            ),
            ("JDA, gamma = 1/med", lambda X, sd: JDA(gamma=med(X), random_state=0)),
            (
                "JDA, gamma = 1/(2 med)",
                lambda X, sd: JDA(gamma=med(X) / 2, random_state=0),
            ),
        ],
        "3. CORAL regularisation": [
            ("CORAL(reg='auto') (Ledoit-Wolf)", lambda X, sd: CORAL(reg="auto")),
            ("CORAL(reg=1.0) (paper)", lambda X, sd: CORAL(reg=1.0)),
        ],
        "4. SubspaceAlignment dimension": [
            ("SA, d = 30 (fixed)", lambda X, sd: SubspaceAlignment(n_components=30)),
            (
                "SA, Fernando bound (gamma=1e5, delta=0.1)",
                lambda X, sd: SubspaceAlignment(
                    n_components="bound", gamma=1e5, delta=0.1
                ),
            ),
            ("SA, Levina-Bickel MLE (SA-MLE)", sa_rule(d_levina_bickel)),
            ("SA, Kaiser rule", sa_rule(d_kaiser)),
            (
                "SA, cumulative variance 90%",
                lambda X, sd: SubspaceAlignment(n_components=0.90),
            ),
            (
                "SA, cumulative variance 95%",
                lambda X, sd: SubspaceAlignment(n_components=0.95),
            ),
            (
                "SA, cumulative variance 99%",
                lambda X, sd: SubspaceAlignment(n_components=0.99),
            ),
        ],
    }

    results = {}  # label -> list of UAR per task
    dims = {}  # SA label -> subspace dimension per task

    def evaluate(label, make):
        t0 = time.perf_counter()
        dims[label] = []
        uars = [
            run_task(make, Xz, sd, ys, yt, dims[label])
            for _, _, Xz, sd, ys, yt in prepared
        ]
        results[label] = uars
        print(
            f"{label}: mean {np.mean(uars):.1f} ({time.perf_counter() - t0:.0f}s)",
            " ".join(f"{u:.1f}" for u in uars),
            flush=True,
        )

    evaluate("per-domain standardisation only", None)
    for cands in decisions.values():
        for label, make in cands:
            evaluate(label, make)

    evaluate(
        "TCA, whitened (paper)",
        lambda X, sd: _Whitened(TCA(random_state=0)),
    )
    evaluate(
        "JDA, whitened (paper)",
        lambda X, sd: _Whitened(JDA(random_state=0)),
    )
    decisions["5. TCA/JDA component scale"] = [
        ("TCA, gamma = 1/med", None),
        ("TCA, whitened (paper)", None),
        ("JDA, gamma = 1/med", None),
        ("JDA, whitened (paper)", None),
    ]

    def pair_mean(a, b):  # per task, the mean of TCA and JDA
        return list((np.asarray(results[a]) + np.asarray(results[b])) / 2)

    scores = {
        "width 1/med": pair_mean("TCA, gamma = 1/med", "JDA, gamma = 1/med"),
        "width 1/(2 med)": pair_mean(
            "TCA, gamma = 1/(2 med)", "JDA, gamma = 1/(2 med)"
        ),
        "eigenvalue-weighted": pair_mean("TCA, gamma = 1/med", "JDA, gamma = 1/med"),
        "whitened (paper)": pair_mean("TCA, whitened (paper)", "JDA, whitened (paper)"),
    }
    chosen = {}  # decision -> (incumbent, winner, tests, highest-mean pick)

    def decide(name, incumbent, challengers):
        winner, tests = keep_unless_better(
            (incumbent, scores.get(incumbent, results.get(incumbent))),
            {c: scores.get(c, results.get(c)) for c in challengers},
        )
        every = [incumbent, *challengers]
        top = max(every, key=lambda c: np.mean(scores.get(c, results.get(c))))
        chosen[name] = (incumbent, winner, tests, top)
        return winner

    width = decide("1. RBF width (TCA and JDA)", "width 1/med", ["width 1/(2 med)"])
    decide("5. TCA/JDA component scale", "eigenvalue-weighted", ["whitened (paper)"])
    decisions["5. TCA/JDA component scale"] = [
        ("TCA, gamma = 1/med", None),
        ("TCA, whitened (paper)", None),
        ("JDA, gamma = 1/med", None),
        ("JDA, whitened (paper)", None),
    ]
    # 2: JDA kernel, with the chosen width
    rbf_label = "JDA, gamma = 1/(2 med)" if "2 med" in width else "JDA, gamma = 1/med"
    evaluate("JDA, kernel='linear'", lambda X, sd: JDA(kernel="linear", random_state=0))
    decisions["2. JDA kernel"] = [(rbf_label, None), ("JDA, kernel='linear'", None)]
    decide("2. JDA kernel", rbf_label, ["JDA, kernel='linear'"])
    decide(
        "3. CORAL regularisation",
        "CORAL(reg=1.0) (paper)",
        ["CORAL(reg='auto') (Ledoit-Wolf)"],
    )
    sa = [lab for lab, _ in decisions["4. SubspaceAlignment dimension"]]
    incumbent = "SA, Fernando bound (gamma=1e5, delta=0.1)"
    decide(
        "4. SubspaceAlignment dimension",
        incumbent,
        [lab for lab in sa if lab != incumbent],
    )

    write(tasks, results, dims, decisions, chosen, platform, scipy, sklearn)


def write(tasks, results, dims, decisions, chosen, platform, scipy, sklearn):
    import _selection

    head = " | ".join(f"{NAMES[s]}->{NAMES[t]}" for s, t, _ in tasks)
    lines = [
        "# sertl-feature: selection of the defaults on development pairs",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} CPU cores shared by about 8 engineers "
        f"(load average at the end of the run: "
        f"{', '.join(f'{x:.1f}' for x in os.getloadavg())}); BLAS single-threaded. "
        f"Python {platform.python_version()}, numpy {np.__version__}, scipy "
        f"{scipy.__version__}, scikit-learn {sklearn.__version__}.",
        "",
        "Command: `.venv/bin/python benchmarks/feature_defaults.py`",
        "",
        "Protocol (see the script's docstring): 10 development tasks, every "
        "ordered pair of EmoDB, RAVDESS, URDU, TurEV-DB except EmoDB <-> "
        "RAVDESS (held out: it is the pair feature_downstream.md reports and "
        "is never run here). Shared classes per pair (3 with TurEV-DB, 4 "
        "otherwise). Per-domain standardisation, adapter, SVC(rbf, C=1, "
        "balanced) on adapted source rows, UAR on target rows. Rule: below the "
        "table; decision 2 uses the width chosen by decision 1. "
        "`med` = median squared pairwise distance of the training rows.",
        "",
        f"| candidate | mean UAR | {head} |",
        "|---|---|" + "---|" * len(tasks),
    ]

    def row(label):
        u = results[label]
        cells = [f"{x:.1f}" for x in u]
        if dims.get(label):
            cells = [f"{c} (d={k})" for c, k in zip(cells, dims[label], strict=True)]
        return f"| {label} | {np.mean(u):.1f} | " + " | ".join(cells) + " |"

    lines.append(row("per-domain standardisation only"))
    for name in sorted(decisions):
        lines.append(f"| **{name}** | | " + " | " * (len(tasks) - 1) + " |")
        for label, _ in decisions[name]:
            lines.append(row(label))
    lines += [
        "",
        "Chosen by the noise-aware rule (benchmarks/_selection.py: the incumbent, "
        "i.e. the current default, stays unless a challenger beats it by an exact "
        "one-sided paired sign-flip test over the 10 tasks at p < "
        f"{_selection.ALPHA:g}; decisions 1 and 5 pair the per-task mean of TCA and JDA):",
        "",
    ]
    changed = []
    for name in sorted(chosen):
        incumbent, winner, tests, top = chosen[name]
        detail = "; ".join(
            f"{c}: {m:+.2f} points, p = {p:.3f}" for c, (m, p) in tests.items()
        )
        verdict = "kept" if winner == incumbent else f"REPLACED by **{winner}**"
        lines.append(
            f"- {name}: incumbent **{incumbent}** {verdict} ({detail}). "
            f"Highest mean (the earlier rule): {top}."
        )
        if winner != incumbent:
            changed.append(name)
    lines += [
        "",
        "Decisions whose default the rule changes: "
        + (", ".join(changed) if changed else "none")
        + ".",
    ]
    lines.append(NOTES)
    (HERE / "results").mkdir(exist_ok=True)
    write_results(HERE / "results" / "feature_defaults.md", "\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    parse_parts(__doc__)
    main()
