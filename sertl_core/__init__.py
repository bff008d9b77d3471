"""sertl-core: transfer learning for speech emotion recognition with scikit-learn.

The core defines the transfer interfaces (:class:`DomainAdapter`,
:class:`TransferEstimator`), the ``sample_domain`` convention (positive ids
for source domains, negative for target domains; ``-1`` marks unlabelled
rows), the plugin system (pluggy project and entry-point group ``sertl``),
domain-aware model selection (:mod:`sertl_core.model_selection`) and the
conformance checks for plugins (:mod:`sertl_core.testing`).

Importing sertl changes no global state: no ``sklearn.set_config``, no
logging configuration, no random seeds.
"""

from ._domains import (
    UNLABELED,
    DomainError,
    NoTargetWarning,
    SertlWarning,
    UnlabeledRowsWarning,
    check_known_domains,
    check_sample_domain,
    domains_from_names,
    external_stacklevel,
    infer_sample_domain,
    is_unlabeled,
    source_mask,
    target_mask,
)
from .base import DomainAdapter, SampleWeightMixin, TransferEstimator
from .hookspecs import hookimpl
from .methods import DomainStandardScaler, SourceOnly, SourceStandardScaler
from .registry import Registry, RegistryError, get_registry, make_plugin_manager

__version__ = "0.1.0"

__all__ = [
    "UNLABELED",
    "DomainAdapter",
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
