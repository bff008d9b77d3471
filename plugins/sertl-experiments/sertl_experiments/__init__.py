"""sertl-experiments: config-driven cross-corpus experiments and their reports.

``sertl run EXPERIMENT.toml`` runs a matrix of source and target corpora
and transfer methods under one protocol and writes ``results.csv``,
``results.md``, a self-contained ``report.html`` and plots. The plugin
also provides label-free model selection and a negative-transfer guard
(``method = "auto"``, domain discrepancy measures), ``sertl grid``,
safe model persistence with skops and ``sertl predict``, Dask scale-out and
``sertl demo``.
"""

from sertl_core import SourceStandardScaler  # re-exported; lives in the core

from ._config import (
    ConfigError,
    CorpusSpec,
    ExperimentConfig,
    FeatureSpec,
    MethodSpec,
    ProtocolSpec,
    load_config,
    parse_config,
)
from ._dask import dask_client
from ._data import CorpusData, ExperimentError
from ._discrepancy import mmd_rbf, proxy_a_distance
from ._metrics import bootstrap_ci, confusion, score_all
from ._persist import TRUSTED_PACKAGES, UntrustedModelError, load_model, save_model
from ._predict import predict_files
from ._recipes import Recipe, default_candidates, make_classifier
from ._runner import RunResult, run_experiment
from ._selection import evaluate
from ._train import train_model
from ._vote import TransferVote

__all__ = [
    "TRUSTED_PACKAGES",
    "ConfigError",
    "CorpusData",
    "CorpusSpec",
    "ExperimentError",
    "ExperimentConfig",
    "FeatureSpec",
    "MethodSpec",
    "ProtocolSpec",
    "Recipe",
    "RunResult",
    "SourceStandardScaler",
    "TransferVote",
    "UntrustedModelError",
    "bootstrap_ci",
    "confusion",
    "dask_client",
    "default_candidates",
    "evaluate",
    "load_config",
    "load_model",
    "make_classifier",
    "mmd_rbf",
    "parse_config",
    "predict_files",
    "proxy_a_distance",
    "run_experiment",
    "save_model",
    "score_all",
    "train_model",
]
