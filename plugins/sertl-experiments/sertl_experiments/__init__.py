"""sertl-experiments: config-driven cross-corpus experiments and their reports.

``sertl run EXPERIMENT.toml`` runs a matrix of source and target corpora
and transfer methods under one protocol and writes ``results.csv``,
``results.md``, a self-contained ``report.html`` and plots. The plugin
also provides label-free model selection and a negative-transfer guard
(``method = "auto"``, domain discrepancy measures), ``sertl grid``,
safe model persistence with skops and ``sertl predict``, Dask scale-out and
``sertl demo``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sertl_core import lazy_exports

if TYPE_CHECKING:
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
    from ._provenance import ModelDependencyError, ModelVersionWarning
    from ._recipes import Recipe, default_candidates, make_classifier
    from ._runner import RunResult, run_experiment
    from ._selection import evaluate
    from ._train import train_model
    from ._vote import TransferVote

# Imported on first use (PEP 562), not with the package: the plugin's
# entry point ``sertl_experiments.hooks`` imports the package for every ``sertl``
# command (``sertl --help`` too), and these modules import numpy, scipy
# and scikit-learn (about a second). As in sertl_neural.
_WHERE = {
    "SourceStandardScaler": "sertl_core",
    "ConfigError": "._config",
    "CorpusSpec": "._config",
    "ExperimentConfig": "._config",
    "FeatureSpec": "._config",
    "MethodSpec": "._config",
    "ProtocolSpec": "._config",
    "load_config": "._config",
    "parse_config": "._config",
    "dask_client": "._dask",
    "CorpusData": "._data",
    "ExperimentError": "._data",
    "mmd_rbf": "._discrepancy",
    "proxy_a_distance": "._discrepancy",
    "bootstrap_ci": "._metrics",
    "confusion": "._metrics",
    "score_all": "._metrics",
    "TRUSTED_PACKAGES": "._persist",
    "UntrustedModelError": "._persist",
    "load_model": "._persist",
    "save_model": "._persist",
    "predict_files": "._predict",
    "ModelDependencyError": "._provenance",
    "ModelVersionWarning": "._provenance",
    "Recipe": "._recipes",
    "default_candidates": "._recipes",
    "make_classifier": "._recipes",
    "RunResult": "._runner",
    "run_experiment": "._runner",
    "evaluate": "._selection",
    "train_model": "._train",
    "TransferVote": "._vote",
}

__all__ = [
    "TRUSTED_PACKAGES",
    "ConfigError",
    "CorpusData",
    "CorpusSpec",
    "ExperimentError",
    "ExperimentConfig",
    "FeatureSpec",
    "MethodSpec",
    "ModelDependencyError",
    "ModelVersionWarning",
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


__getattr__, __dir__ = lazy_exports(globals(), _WHERE)
