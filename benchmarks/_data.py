"""Shared helper for the benchmarks: real features of the shared corpora.

Usage (from the repository root, inside the project venv)::

    .venv/bin/python -c "import sys; sys.path.insert(0, 'benchmarks'); \
import _data; X, y, spk, g = _data.load_features('emodb'); print(X.shape)"

or, in a benchmark script under ``benchmarks/``::

    from _data import load_features      # benchmarks/ is on sys.path
    X, y, speakers, gender = load_features("ravdess")
    X, y, speakers, gender = load_features("emodb", feature_set="mfcc_stats")
    seqs, y, speakers, gender = load_features("emodb", feature_set="logmel")

Running this file directly pre-computes the default features of all four
corpora: ``.venv/bin/python benchmarks/_data.py`` (about 1-2 minutes on
2 cores the first time; instant afterwards).

Corpora (``corpus`` argument): ``emodb``, ``ravdess``, ``urdu``,
``turev_db``, read from ``../shared/corpora`` (or ``$SERTL_CORPORA``).
Labels come from the official file names through
``sertl_speech.load_corpus``, never from ``reference_labels.csv``.
Per-file features are cached by content under ``benchmarks/.cache/features``
and the assembled matrices under
``benchmarks/.cache/<corpus>-<feature_set>-v<version>-<files hash>.npz``
(git-ignored),
so a second call is instant.
"""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import MissingInput  # noqa: E402  (also: no traceback for these)

REPO = Path(__file__).resolve().parents[1]
CACHE = REPO / "benchmarks" / ".cache"
DEFAULT_EMOTIONS = ("anger", "happiness", "neutral", "sadness")

_FOLDERS = {
    "emodb": "EmoDB",
    "ravdess": "RAVDESS",
    "urdu": "URDU",
    "turev_db": "TurEV-DB",
}


def corpora_root() -> Path:
    env = os.environ.get("SERTL_CORPORA")
    root = Path(env) if env else REPO.parent / "shared" / "corpora"
    if not root.is_dir():
        raise MissingInput(
            f"error: shared corpora not found at {root}; set SERTL_CORPORA to "
            f"the folder holding {', '.join(sorted(_FOLDERS.values()))}"
        )
    return root


def file_table(corpus: str):
    """List of (file, emotion, speaker, gender) for a shared corpus."""
    corpus = corpus.lower().replace("-", "_")
    if corpus not in _FOLDERS:
        raise ValueError(f"unknown corpus {corpus!r}; use one of {sorted(_FOLDERS)}")
    from sertl_speech import load_corpus

    folder = corpora_root() / _FOLDERS[corpus]
    if not folder.is_dir():
        raise MissingInput(
            f"error: corpus {_FOLDERS[corpus]} not found at {folder}; set "
            "SERTL_CORPORA to the folder of the shared corpora"
        )
    df = load_corpus(corpus, folder)
    return [
        (str(f), str(e), str(s), str(g))
        for f, e, s, g in zip(
            df["file"], df["emotion"], df["speaker"], df["gender"], strict=True
        )
    ]


def load_features(
    corpus,
    feature_set="functionals",
    emotions=DEFAULT_EMOTIONS,
    *,
    n_jobs=2,
    progress=None,
):
    """Features and labels of a shared corpus, cached under benchmarks/.cache.

    Parameters
    ----------
    corpus : {"emodb", "ravdess", "urdu", "turev_db"}
    feature_set : {"functionals", "mfcc_stats", "logmel"}
    emotions : tuple of str or None
        Canonical emotions to keep (None keeps all).
    n_jobs : int
        Workers for the first extraction.
    progress : bool or None
        Progress bar (default: when stderr is a terminal).

    Returns
    -------
    X : ndarray (n, d) float64, or 1-D object array of (n_frames, 64) for logmel
    y : ndarray of str (canonical emotion)
    speakers : ndarray of str (corpus-prefixed, e.g. "emodb:03")
    gender : ndarray of str ("female", "male" or "unknown")
    """
    from sertl_speech import AudioFeatures

    rows = file_table(corpus)
    if emotions is not None:
        keep = set(emotions)
        rows = [r for r in rows if r[1] in keep]
    if not rows:
        raise ValueError(f"no files of {corpus} with emotions {emotions}")
    files, y, spk, gender = (np.array(c) for c in zip(*rows, strict=True))
    spk = np.array([f"{corpus}:{s}" for s in spk])
    from sertl_speech._extract import FEATURES_VERSION

    tag = hashlib.blake2b("|".join(files).encode(), digest_size=6).hexdigest()
    npz = CACHE / f"{corpus}-{feature_set}-v{FEATURES_VERSION}-{tag}.npz"
    if npz.is_file():
        with np.load(npz, allow_pickle=True) as d:
            return d["X"], d["y"], d["speakers"], d["gender"]
    if progress is None:
        progress = sys.stderr.isatty()
    ext = AudioFeatures(
        feature_set,
        cache_dir=CACHE / "features",
        n_jobs=n_jobs,
        progress=progress,
        errors="warn",
    )
    X = ext.fit_transform(list(files))
    if len(ext.failed_):
        bad = set(ext.failed_["index"])
        ok = np.array([i not in bad for i in range(len(files))])
        print(
            f"{corpus}: dropped {len(bad)} files without features:\n{ext.failed_}",
            file=sys.stderr,
        )
        X, y, spk, gender = X[ok], y[ok], spk[ok], gender[ok]
    CACHE.mkdir(parents=True, exist_ok=True)
    tmp = npz.with_suffix(".tmp.npz")
    np.savez(tmp, X=X, y=y, speakers=spk, gender=gender)
    os.replace(tmp, npz)
    return X, y, spk, gender


if __name__ == "__main__":
    for name in sys.argv[1:] or ["emodb", "ravdess", "urdu", "turev_db"]:
        X, y, s, g = load_features(name)
        print(
            name,
            X.shape,
            dict(zip(*np.unique(y, return_counts=True), strict=True)),
            len(set(s)),
            "speakers",
        )


def add_array_arguments(parser):
    """Add --arrays, --save-arrays, --device and --out to a benchmark CLI."""
    parser.add_argument("--arrays", type=Path, help="read the inputs from this .npz")
    parser.add_argument(
        "--save-arrays", type=Path, help="write the inputs to this .npz and stop"
    )
    parser.add_argument("--device", default="cpu", help="comma-separated: cpu, cuda")
    parser.add_argument("--out", type=Path, help="results file (default: by script)")
    return parser


def prepared_arrays(arrays, save_arrays, prepare):
    """Inputs of a benchmark that can run away from the corpora (a GPU machine).

    Reads the arrays from ``arrays`` (an ``.npz``) when given, else computes
    them with ``prepare()``; with ``save_arrays``, writes them there and
    returns None (the caller stops).
    """
    if arrays is not None:
        with np.load(arrays, allow_pickle=False) as d:
            a = {k: d[k] for k in d.files}
    else:
        a = prepare()
    if save_arrays is not None:
        np.savez_compressed(save_arrays, **a)
        print(f"wrote {save_arrays}")
        return None
    return a
