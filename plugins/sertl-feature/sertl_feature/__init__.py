"""sertl-feature: feature-representation transfer that scales.

Domain adapters (:class:`sertl_core.DomainAdapter`) that map source and
target rows into a space where the domains agree:

* :class:`TCA` - transfer component analysis (Pan et al., 2011), exact or
  low-rank (linear memory in the number of rows).
* :class:`CORAL` - correlation alignment (Sun et al., 2016).
* :class:`SubspaceAlignment` - subspace alignment (Fernando et al., 2013).
* :class:`JDA` - joint distribution adaptation (Long et al., 2013).

All follow the sertl conventions: ``fit(X, y=None, *, sample_domain=None)``
with positive source and negative target domain ids, and ``transform``
treating rows as target data when ``sample_domain`` is omitted.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sertl_core import lazy_exports

if TYPE_CHECKING:
    from ._coral import CORAL
    from ._subspace import SubspaceAlignment
    from ._tca import JDA, TCA

# Imported on first use (PEP 562), not with the package: the plugin's
# entry point ``sertl_feature.hooks`` imports the package for every ``sertl``
# command (``sertl --help`` too), and these modules import numpy, scipy
# and scikit-learn (about a second). As in sertl_neural.
_WHERE = {
    "CORAL": "._coral",
    "SubspaceAlignment": "._subspace",
    "JDA": "._tca",
    "TCA": "._tca",
}

__version__ = "0.1.0"

__all__ = ["CORAL", "JDA", "TCA", "SubspaceAlignment", "__version__"]


__getattr__, __dir__ = lazy_exports(globals(), _WHERE)
