"""sertl-core: transfer learning for speech emotion recognition with scikit-learn.

The core defines the transfer interfaces (:class:`DomainAdapter`,
:class:`TransferEstimator`), the ``sample_domain`` convention (positive ids
for source domains, negative for target domains; ``-1`` marks unlabelled
rows), the plugin system (pluggy project and entry-point group ``sertl``),
domain-aware model selection (:mod:`sertl_core.model_selection`), the
conformance checks for plugins (:mod:`sertl_core.testing`) and the helpers
that the methods of sertl and of its plugins share (:mod:`sertl_core.utils`).

Importing sertl changes no global state: no ``sklearn.set_config``, no
logging configuration, no random seeds.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._lazy import lazy_exports
from ._warn import SertlWarning, external_stacklevel
from .hookspecs import hookimpl
from .registry import Registry, RegistryError, get_registry, make_plugin_manager

if TYPE_CHECKING:
    from ._domains import (
        UNLABELED,
        DomainData,
        DomainError,
        NoTargetWarning,
        UnlabeledRowsWarning,
        as_target_domain,
        check_known_domains,
        check_sample_domain,
        domains_from_names,
        infer_sample_domain,
        is_unlabeled,
        source_mask,
        target_mask,
    )
    from .base import DomainAdapter, SampleWeightMixin, TransferEstimator
    from .methods import DomainStandardScaler, SourceOnly, SourceStandardScaler

# The estimators and the domain helpers (numpy, scipy, scikit-learn: about a
# second) are imported on first use (PEP 562), not with the package: every
# plugin's entry point imports ``sertl_core`` for ``hookimpl``, and the
# ``sertl`` command starts with it, so ``sertl --help`` stays quick and a
# Ctrl-C in those imports reaches the command's handler (exit 130, no
# traceback). The warning base class, the hooks' marker and the registry
# need none of those libraries.
_WHERE = {
    **dict.fromkeys(
        (
            "UNLABELED",
            "DomainData",
            "DomainError",
            "NoTargetWarning",
            "UnlabeledRowsWarning",
            "as_target_domain",
            "check_known_domains",
            "check_sample_domain",
            "domains_from_names",
            "infer_sample_domain",
            "is_unlabeled",
            "lazy_exports",
            "source_mask",
            "target_mask",
        ),
        "._domains",
    ),
    **dict.fromkeys(
        ("DomainAdapter", "SampleWeightMixin", "TransferEstimator"), ".base"
    ),
    **dict.fromkeys(
        ("DomainStandardScaler", "SourceOnly", "SourceStandardScaler"), ".methods"
    ),
}
# submodules that importing the package used to import: ``sertl_core.base``
# after a plain ``import sertl_core`` keeps working
_SUBMODULES = ("_domains", "base", "methods", "params")


__getattr__, __dir__ = lazy_exports(globals(), _WHERE, submodules=_SUBMODULES)


__version__ = "0.1.0"

__all__ = [
    "UNLABELED",
    "DomainAdapter",
    "DomainData",
    "DomainError",
    "DomainStandardScaler",
    "NoTargetWarning",
    "Registry",
    "RegistryError",
    "SampleWeightMixin",
    "SertlWarning",
    "SourceOnly",
    "SourceStandardScaler",
    "TransferEstimator",
    "UnlabeledRowsWarning",
    "__version__",
    "as_target_domain",
    "check_known_domains",
    "check_sample_domain",
    "domains_from_names",
    "external_stacklevel",
    "get_registry",
    "hookimpl",
    "infer_sample_domain",
    "is_unlabeled",
    "make_plugin_manager",
    "source_mask",
    "target_mask",
]
