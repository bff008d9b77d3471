"""Cross-corpus arousal regression (dimensional emotion), EmoDB -> RAVDESS.

Much of speech emotion recognition predicts continuous arousal and valence
and scores them with Lin's concordance correlation (CCC). Here the targets
come from categorical corpora: each utterance gets its emotion's arousal on
Russell's circumplex (``sertl_speech.emotion_coordinates``, column 1). The
regression conventions of sertl:

- ``y`` is one dimension, floats; ``NaN`` marks the unlabelled target rows
  (for a regressor ``-1.0`` is a value, never the marker);
- the last step is a transfer estimator wrapping a regressor
  (``SourceOnly``, ``KMM``, ``KLIEP``), behind label-free adapters
  (``DomainStandardScaler``, ``CORAL``, ``TCA`` ...);
- scorers take ``metric="ccc"`` (or ``"r2"``); a pipeline's ``score`` is R².

It runs on the real sample shipped with sertl-speech (48 + 48 utterances);
extracting their features takes a few seconds.

Run: ``python examples/dimensional_regression.py``
"""

import numpy as np
import pandas as pd
import sklearn
from sertl_speech import AudioFeatures, emotion_coordinates, load_sample
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline
from sklearn.svm import SVR

from sertl_core import (
    DomainStandardScaler,
    SourceOnly,
    SourceStandardScaler,
    domains_from_names,
)
from sertl_core.model_selection import (
    ReverseValidationScorer,
    SourceTargetShuffleSplit,
    concordance_correlation,
)

table = pd.concat([load_sample("emodb"), load_sample("ravdess")], ignore_index=True)
X = AudioFeatures().fit_transform(table["file"].tolist())
arousal = emotion_coordinates(table)[:, 1]  # column 0 is valence
sd, _ = domains_from_names(table["corpus"], targets=["RAVDESS"])
target = sd < 0
y = np.where(target, np.nan, arousal)  # the target's labels stay unseen

adapters = {
    "no adaptation": SourceStandardScaler(),
    "per-domain standardisation": DomainStandardScaler(),
}
for name, adapt in adapters.items():
    pipe = Pipeline([("adapt", adapt), ("reg", SourceOnly(SVR()))])
    # metadata routing off (scikit-learn's default): each step by name
    pipe.fit(X, y, adapt__sample_domain=sd, reg__sample_domain=sd)
    ccc = concordance_correlation(arousal[target], pipe.predict(X[target]))
    r2 = pipe.score(X[target], arousal[target])  # R2, scikit-learn's regressor score
    print(f"{name:>26s}: target CCC {ccc:.3f}, R2 {r2:.3f}")

# choose the adapter without target labels: reverse validation on CCC
sklearn.set_config(enable_metadata_routing=True)
search = GridSearchCV(
    Pipeline([("adapt", SourceStandardScaler()), ("reg", SourceOnly(SVR()))]),
    {"adapt": list(adapters.values()), "reg__estimator__C": [1, 10]},
    cv=SourceTargetShuffleSplit(n_splits=3, random_state=0),
    scoring=ReverseValidationScorer(metric="ccc"),
)
search.fit(X, y, sample_domain=sd)
sklearn.set_config(enable_metadata_routing=False)
best = search.best_estimator_
ccc = concordance_correlation(arousal[target], best.predict(X[target]))
print(f"selected {search.best_params_}: target CCC {ccc:.3f}")
