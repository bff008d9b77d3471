"""sertl-experiments: config-driven cross-corpus experiments and their reports.

``sertl run EXPERIMENT.toml`` runs a matrix of source and target corpora
and transfer methods under one protocol and writes ``results.csv``,
``results.md``, a self-contained ``report.html`` and plots. The plugin
also provides label-free model selection and a negative-transfer guard
(``method = "auto"``, domain discrepancy measures), ``sertl grid``,
safe model persistence with skops and ``sertl predict``, Dask scale-out and
``sertl demo``.
"""

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
from ._discrepancy import mmd_rbf, proxy_a_distance
from ._metrics import bootstrap_ci, confusion, score_all
from ._persist import TRUSTED_PATTERNS, UntrustedModelError, load_model, save_model
from ._recipes import Recipe, default_candidates, make_classifier
from ._scaling import SourceStandardScaler

__all__ = [
    "TRUSTED_PATTERNS",
    "ConfigError",
    "CorpusSpec",
    "ExperimentConfig",
    "FeatureSpec",
    "MethodSpec",
    "ProtocolSpec",
    "Recipe",
    "SourceStandardScaler",
    "UntrustedModelError",
    "bootstrap_ci",
    "confusion",
    "default_candidates",
    "load_config",
    "load_model",
    "make_classifier",
    "mmd_rbf",
    "parse_config",
    "proxy_a_distance",
    "save_model",
    "score_all",
]
