"""Registration of sertl-relational's classes through the sertl hooks."""

from sertl_core import hookimpl


@hookimpl
def sertl_register_estimators():
    """Register :class:`~sertl_relational.LabelRelationTransfer`."""
    from ._label_relation import LabelRelationTransfer

    return [LabelRelationTransfer]


@hookimpl
def sertl_register_adapters():
    """Register :class:`~sertl_relational.ClassRelationAligner`."""
    from ._class_relation import ClassRelationAligner

    return [ClassRelationAligner]
