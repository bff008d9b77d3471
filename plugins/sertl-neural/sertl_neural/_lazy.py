"""torch and ``torch.nn``, imported on their first use.

The estimators' modules are imported whenever the sertl registry is built
(``sertl plugins``, ``sertl run`` with any method), also in processes that
never fit a network. Importing torch there costs seconds and adds torch's
warning filters and loggers to the process, so these modules refer to torch
through the proxies below, and the networks (``_nets``, whose classes
subclass ``torch.nn.Module``) are imported where they are built.
"""

from __future__ import annotations

import importlib

__all__ = ["nn", "torch"]


class _LazyModule:
    """Stand-in for a module, imported at the first attribute read."""

    def __init__(self, name):
        self._lazy_name = name
        self._lazy_module = None

    def __getattr__(self, attr):
        # only for names the proxy itself lacks: the module's attributes
        module = self._lazy_module
        if module is None:
            module = self._lazy_module = importlib.import_module(self._lazy_name)
        return getattr(module, attr)

    def __repr__(self):
        return f"<module {self._lazy_name!r}, imported on first use>"


torch = _LazyModule("torch")
nn = _LazyModule("torch.nn")
