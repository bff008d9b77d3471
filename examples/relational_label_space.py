"""Transfer to a target label space the source never had (sertl-relational).

A source corpus labels anger, boredom, fear, happiness, neutral and sadness;
the target corpus labels anger, calm, happiness and sadness. ``calm`` does
not exist in the source. ``LabelRelationTransfer`` relates the two label
spaces through the arousal/valence coordinates of the emotions (Russell's
circumplex) and through the source model's posteriors on a few labelled
target utterances, then predicts all four target classes.

The data here are synthetic (emotions placed on the valence/arousal plane,
plus noise dimensions) so that the example runs anywhere in a few seconds. With
real corpora, put the features of both corpora in ``X`` (e.g. from
``sertl_speech.AudioFeatures``), give the source rows positive and the
target rows negative ``sample_domain`` ids, and label a few target rows.

Run: ``python examples/relational_label_space.py``
"""

import numpy as np
from sertl_relational import DEFAULT_COORDINATES, LabelRelationTransfer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import balanced_accuracy_score

rng = np.random.default_rng(0)


def corpus(names, n, shift=0.0):
    """Utterances of each emotion around its (valence, arousal) point."""
    rows = [
        np.hstack(
            [
                rng.normal(3 * np.asarray(DEFAULT_COORDINATES[c]), 0.9, (n, 2)),
                rng.normal(0, 1, (n, 8)),
            ]
        )
        for c in names
    ]
    return np.vstack(rows) + shift, np.repeat(names, n)


source = ["anger", "boredom", "fear", "happiness", "neutral", "sadness"]
target = ["anger", "calm", "happiness", "sadness"]
Xs, ys = corpus(source, 60)
Xk, yk = corpus(target, 3, shift=0.3)  # 3 labelled target utterances per class
Xte, yte = corpus(target, 100, shift=0.3)  # unlabelled target utterances (test)

X = np.vstack([Xs, Xk, Xte])
y = np.concatenate([ys, yk, np.full(len(yte), "-1")])  # "-1": unlabelled
sample_domain = np.r_[np.ones(len(ys), int), -np.ones(len(yk) + len(yte), int)]

clf = LabelRelationTransfer().fit(X, y, sample_domain=sample_domain)
print("target classes:", clf.classes_.tolist())
print("relation P(source says s | target class t):")
print("          " + " ".join(f"{s[:9]:>10s}" for s in clf.source_classes_))
for t, row in zip(clf.classes_, clf.relation_, strict=True):
    print(f"{t:>9s} " + " ".join(f"{v:10.2f}" for v in row))

uar = balanced_accuracy_score(yte, clf.predict(Xte))
only = LogisticRegression(max_iter=1000).fit(Xk, yk)
uar_only = balanced_accuracy_score(yte, only.predict(Xte))
print(f"UAR LabelRelationTransfer: {uar:.3f}   target rows only: {uar_only:.3f}")
