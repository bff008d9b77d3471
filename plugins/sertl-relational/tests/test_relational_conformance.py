import subprocess
import sys

from sertl_relational import ClassRelationAligner, LabelRelationTransfer
from sklearn.linear_model import LogisticRegression

from sertl_core.registry import get_registry
from sertl_core.testing import parametrize_with_checks

ESTIMATORS = [
    LabelRelationTransfer(),
    LabelRelationTransfer(
        LogisticRegression(max_iter=200),
        features="relation",
        relation="outputs",
        cv=0,
        self_training_rounds=1,
    ),
    ClassRelationAligner(),
    ClassRelationAligner(mapping="affine", n_iter=2),
    ClassRelationAligner(strength="auto", n_bootstrap=3, n_iter=2, random_state=0),
    ClassRelationAligner(strength="auto", confidence="procrustes"),
]


@parametrize_with_checks(ESTIMATORS)
def test_relational_conformance(estimator, check):
    check(estimator)


def test_registered_under_fixed_names():
    registry = get_registry()
    assert registry.get("estimators", "label_relation") is LabelRelationTransfer
    assert registry.get("adapters", "class_relation") is ClassRelationAligner


def test_import_changes_no_global_state_and_needs_no_torch():
    code = (
        "import sklearn, sys; before = sklearn.get_config(); "
        "import sertl_relational; "
        "assert 'torch' not in sys.modules, 'torch imported'; "
        "assert sklearn.get_config() == before, 'config changed'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
