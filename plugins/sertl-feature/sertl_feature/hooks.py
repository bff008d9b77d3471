"""Registration of the feature-transfer adapters with sertl's plugin system."""

from __future__ import annotations

from sertl_core import hookimpl


@hookimpl
def sertl_register_adapters():
    """Return the adapters of sertl-feature.

    Returns
    -------
    list of type
        :class:`TCA`, :class:`CORAL`, :class:`SubspaceAlignment`, :class:`JDA`.

    Examples
    --------
    >>> from sertl_feature.hooks import sertl_register_adapters
    >>> [cls.registry_name for cls in sertl_register_adapters()]
    ['tca', 'coral', 'subspace_alignment', 'jda']
    """
    # imported here, not with the hooks module: see the package's __init__
    from ._coral import CORAL
    from ._subspace import SubspaceAlignment
    from ._tca import JDA, TCA

    return [TCA, CORAL, SubspaceAlignment, JDA]
