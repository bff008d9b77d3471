"""Registration of sertl-instance's estimators through the sertl hooks."""

from sertl_core import hookimpl


@hookimpl
def sertl_register_estimators():
    """Register :class:`~sertl_instance.KMM` and :class:`~sertl_instance.KLIEP`."""
    from . import KLIEP, KMM

    return [KMM, KLIEP]
