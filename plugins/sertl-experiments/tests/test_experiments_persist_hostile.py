"""Model files crafted to harm the machine that loads them (a security review).

Each test edits a file written by save_model the way an attacker could, and
checks that load_model refuses it before anything is built, or that what it
builds cannot be steered outside its memory.
"""

import io
import json
import os
import subprocess
import sys
import zipfile

import numpy as np
import pandas as pd
import pytest
from sertl_experiments import UntrustedModelError, load_model, save_model
from sertl_experiments._persist import _PREDICTOR_RECORD
from sklearn.ensemble import (
    ExtraTreesClassifier,
    GradientBoostingClassifier,
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
)
from sklearn.neighbors import KNeighborsClassifier
from sklearn.tree import DecisionTreeClassifier


def _data(n=80, d=5, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    y = np.where(X[:, 0] + 0.5 * X[:, 1] > 0, "anger", "sadness")
    return X, y


def _edit(src, dst, edit):
    """Copy the skops file ``src`` to ``dst`` with ``edit(schema, files)`` applied.

    ``files`` maps each other entry of the archive to its bytes; ``edit``
    may change both.
    """
    with zipfile.ZipFile(src) as zin:
        schema = json.loads(zin.read("schema.json"))
        files = {n: zin.read(n) for n in zin.namelist() if n != "schema.json"}
    edit(schema, files)
    with zipfile.ZipFile(dst, "w") as zout:
        zout.writestr("schema.json", json.dumps(schema))
        for name, data in files.items():
            zout.writestr(name, data)
    return dst


def _nodes(schema, module, cls):
    """The schema nodes that name ``module.cls``."""
    found, stack = [], [schema]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if (node.get("__module__"), node.get("__class__")) == (module, cls):
                found.append(node)
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return found


def _array(files, node):
    return np.load(io.BytesIO(files[node["file"]]), allow_pickle=False)


def _store(files, node, array):
    buf = io.BytesIO()
    np.save(buf, array)
    files[node["file"]] = buf.getvalue()


def _tree_nodes_edit(change):
    """An edit that applies ``change(nodes_array)`` to the first tree's nodes."""

    def edit(schema, files):
        tree = _nodes(schema, "sklearn.tree._tree", "Tree")[0]
        ref = tree["content"]["content"]["nodes"]
        nodes = _array(files, ref)
        change(nodes)
        _store(files, ref, nodes)

    return edit


@pytest.mark.parametrize(
    "model",
    [
        DecisionTreeClassifier(random_state=0),
        DecisionTreeClassifier(max_leaf_nodes=6, random_state=0),  # best-first
        RandomForestClassifier(n_estimators=5, random_state=0),
        ExtraTreesClassifier(n_estimators=5, random_state=0),
        GradientBoostingClassifier(n_estimators=5, random_state=0),
        KNeighborsClassifier(3, algorithm="kd_tree", leaf_size=2),
        KNeighborsClassifier(3, algorithm="ball_tree", leaf_size=2, p=1),
    ],
    ids=lambda m: type(m).__name__ + str(m.get_params().get("algorithm", "")),
)
def test_honest_tree_models_load_and_predict_as_saved(tmp_path, model):
    # the checks hold for every tree scikit-learn builds (children always
    # come after their parent, depth-first and best-first alike)
    X, y = _data()
    model.fit(X, y)
    loaded, _ = load_model(save_model(model, tmp_path / "m.skops"))
    X_new, _ = _data(40, seed=1)
    np.testing.assert_array_equal(loaded.predict(X_new), model.predict(X_new))
    np.testing.assert_allclose(loaded.predict_proba(X_new), model.predict_proba(X_new))


def _set_root(field, value):
    def change(nodes):
        nodes[field][0] = value

    return change


def _make_cycle(nodes):
    internal = np.flatnonzero(nodes["left_child"] != -1)
    nodes["left_child"][internal[-1]] = 0  # back to the root: a loop


@pytest.mark.parametrize(
    ("change", "why"),
    [
        (_set_root("left_child", 10**9), "a split's children are not nodes after it"),
        (_set_root("right_child", -7), "a split's children are not nodes after it"),
        (_make_cycle, "a split's children are not nodes after it"),
        (_set_root("feature", 10**9), "a split is on a feature outside its 5"),
        (_set_root("feature", -3), "a split is on a feature outside its 5"),
    ],
    ids=["child-far", "child-negative", "cycle", "feature-far", "feature-negative"],
)
def test_a_tree_pointing_outside_itself_is_refused_before_it_is_built(
    tmp_path, change, why
):
    # scikit-learn rebuilds a tree's nodes without checking their indices and
    # predict follows them in compiled code: a crashed (or leaking) process
    X, y = _data()
    base = save_model(DecisionTreeClassifier(random_state=0).fit(X, y), tmp_path / "b")
    path = _edit(base, tmp_path / "evil.skops", _tree_nodes_edit(change))
    with pytest.raises(UntrustedModelError, match=f"malformed: {why}"):
        load_model(path)


def test_a_tree_claiming_more_nodes_than_it_stores_is_refused(tmp_path):
    X, y = _data()
    base = save_model(DecisionTreeClassifier(random_state=0).fit(X, y), tmp_path / "b")

    def edit(schema, files):
        tree = _nodes(schema, "sklearn.tree._tree", "Tree")[0]
        tree["content"]["content"]["node_count"]["content"] = json.dumps(10**6)

    with pytest.raises(UntrustedModelError, match=r"claims 1000000 nodes in use"):
        load_model(_edit(base, tmp_path / "evil.skops", edit))


def test_a_tree_wider_than_its_model_is_refused(tmp_path):
    # a tree of 1000 features, consistent in itself, in a model given 5:
    # predict would read columns past the end of each row
    X, y = _data()
    base = save_model(DecisionTreeClassifier(random_state=0).fit(X, y), tmp_path / "b")

    def edit(schema, files):
        tree = _nodes(schema, "sklearn.tree._tree", "Tree")[0]
        tree["__reduce__"]["args"]["content"][0] = {
            "__class__": "int",
            "__module__": "builtins",
            "__loader__": "JsonNode",
            "content": "1000",
            "is_json": True,
        }
        _tree_nodes_edit(_set_root("feature", 999))(schema, files)

    with pytest.raises(
        UntrustedModelError,
        match=r"DecisionTreeClassifier of 5 features holds a tree of 1000",
    ):
        load_model(_edit(base, tmp_path / "evil.skops", edit))


def test_a_forest_whose_tree_takes_fewer_features_is_refused(tmp_path):
    X, y = _data()
    forest = RandomForestClassifier(n_estimators=3, random_state=0).fit(X, y)
    narrow = DecisionTreeClassifier(random_state=0).fit(X[:, :2], y)
    forest.estimators_[1] = narrow  # the forest hands it rows of 5, unchecked
    with pytest.raises(
        UntrustedModelError,
        match=r"RandomForestClassifier gives its tree 1 5 features, the tree takes 2",
    ):
        load_model(save_model(forest, tmp_path / "m.skops"))


def test_only_a_fitted_forest_must_say_its_width(tmp_path):
    # SourceOnly keeps its unfitted forest as its estimator parameter (sertl
    # run's random_forest): no trees, nothing to check; a fitted forest that
    # drops its width is refused as before
    from sertl_core import SourceOnly

    X, y = _data()
    model = SourceOnly(RandomForestClassifier(n_estimators=3, random_state=0))
    model.fit(X, y, sample_domain=np.ones(len(y), int))
    loaded, _ = load_model(save_model(model, tmp_path / "a.skops"))
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    del model.estimator_.n_features_in_
    with pytest.raises(UntrustedModelError, match="does not say how many features"):
        load_model(save_model(model, tmp_path / "b.skops"))


def test_a_neighbour_search_tree_is_rebuilt_from_its_points(tmp_path):
    # the stored index arrays of a k-d tree, which queries follow without
    # bounds, are replaced by those of a tree built again from its points
    X, y = _data()
    knn = KNeighborsClassifier(3, algorithm="kd_tree", leaf_size=1).fit(X, y)
    base = save_model(knn, tmp_path / "b.skops")

    def edit(schema, files):
        tree = _nodes(schema, "sklearn.neighbors._kd_tree", "KDTree")[0]
        idx = tree["content"]["content"][1]  # (data, idx_array, node_data, ...)
        _store(files, idx, np.full_like(_array(files, idx), 10**9))

    loaded, _ = load_model(_edit(base, tmp_path / "evil.skops", edit))
    X_new, _ = _data(30, seed=2)
    np.testing.assert_array_equal(loaded.predict(X_new), knn.predict(X_new))
    np.testing.assert_array_equal(
        np.sort(loaded._tree.get_arrays()[1]), np.arange(len(X))
    )


def test_a_float32_neighbour_search_tree_is_rebuilt_too(tmp_path):
    # KDTree32 is trusted like KDTree; it escaped the rebuild (an exact type test)
    from sklearn.neighbors._kd_tree import KDTree32

    X, y = _data()
    knn = KNeighborsClassifier(3, algorithm="kd_tree", leaf_size=1).fit(X, y)
    knn._tree = KDTree32(X.astype(np.float32), leaf_size=1)
    base = save_model(knn, tmp_path / "b.skops")

    def edit(schema, files):
        tree = _nodes(schema, "sklearn.neighbors._kd_tree", "KDTree32")[0]
        idx = tree["content"]["content"][1]
        _store(files, idx, np.full_like(_array(files, idx), 10**9))

    loaded, _ = load_model(_edit(base, tmp_path / "evil.skops", edit))
    assert type(loaded._tree) is KDTree32
    np.testing.assert_array_equal(
        np.sort(loaded._tree.get_arrays()[1]), np.arange(len(X))
    )


def test_a_decoy_node_sharing_the_trees_id_is_checked_too(tmp_path):
    # skops builds one node of an id for all of them: a decoy placed before
    # the tree, with the id of the tree's honest node array, was what got
    # built while the check read the honest one
    import copy

    X, y = _data()
    base = save_model(DecisionTreeClassifier(random_state=0).fit(X, y), tmp_path / "b")

    def edit(schema, files):
        est = schema["content"]["model"]
        tree = est["content"]["content"]["tree_"]
        ref = tree["content"]["content"]["nodes"]
        evil = _array(files, ref)
        evil["left_child"][0] = 10**9
        decoy = copy.deepcopy(ref)
        decoy["file"] = "evil.npy"
        _store(files, decoy, evil)
        attrs = est["content"]["content"]
        est["content"]["content"] = {"a_decoy": decoy, **attrs}
        keys = est["content"]["key_types"]["content"]
        keys.insert(0, keys[0])

    with pytest.raises(UntrustedModelError, match="children are not nodes after it"):
        load_model(_edit(base, tmp_path / "evil.skops", edit))


def test_gradient_boosting_must_say_its_width_and_match_its_stages(tmp_path):
    from sklearn.ensemble import GradientBoostingRegressor

    X, y = _data()
    target = X[:, 0]
    gb = GradientBoostingRegressor(n_estimators=3, random_state=0).fit(X, target)
    # predict checks rows against the first tree only: a model without its
    # width could hold wider trees further on
    del gb.n_features_in_
    with pytest.raises(UntrustedModelError, match="does not say how many features"):
        load_model(save_model(gb, tmp_path / "a.skops"))
    gb = GradientBoostingRegressor(n_estimators=3, random_state=0).fit(X, target)
    gb.estimators_ = np.repeat(gb.estimators_, 3, axis=1)  # 3 trees per stage
    with pytest.raises(UntrustedModelError, match=r"stages of \(3,\) trees for 1"):
        load_model(save_model(gb, tmp_path / "b.skops"))


@pytest.mark.parametrize("chain", ["ClassifierChain", "RegressorChain"])
def test_chains_whose_trees_see_earlier_outputs_still_load(tmp_path, chain):
    # a chain gives tree k the input and k earlier outputs, through its own
    # checks: not a model handing its trees rows unchecked
    import sklearn.multioutput as mo

    X, y = _data()
    Y = np.c_[X[:, 0] > 0, X[:, 1] > 0, X[:, 2] > 0].astype(int)
    model = getattr(mo, chain)(DecisionTreeClassifier(random_state=0)).fit(X, Y)
    loaded, _ = load_model(save_model(model, tmp_path / "m.skops"))
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))


def _hist_data(n=300, seed=0):
    """Rows of 5 features, feature 2 categorical (codes 0-4); NaNs in 1 and 2."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 5))
    X[:, 2] = rng.integers(0, 5, n)
    X[::7, 1] = np.nan
    X[::9, 2] = np.nan
    y = np.where(X[:, 0] + (X[:, 2] == 3) > 0.3, "anger", "sadness")
    return X, y


def _hist_classifier(**params):
    X, y = _hist_data()
    params = {"max_iter": 8, "categorical_features": [2], "random_state": 0, **params}
    return HistGradientBoostingClassifier(**params).fit(X, y)


def _new_hist_rows():
    # unseen categories (7), a negative code and NaNs: the trees' other paths
    X, _ = _hist_data(60, seed=1)
    X[:5, 2], X[5:10, 2], X[10:15, 0] = 7, -1, np.nan
    return X


@pytest.mark.parametrize(
    ("model", "target"),
    [
        (HistGradientBoostingClassifier(max_iter=10, random_state=0), "binary"),
        (
            HistGradientBoostingClassifier(
                max_iter=10, categorical_features=[2], random_state=0
            ),
            "binary",
        ),
        (
            HistGradientBoostingClassifier(
                max_iter=6, categorical_features=[2], random_state=0
            ),
            "three",
        ),
        (
            HistGradientBoostingRegressor(
                max_iter=10, categorical_features=[2], random_state=0
            ),
            "real",
        ),
    ],
    ids=["classifier", "categorical", "multiclass", "regressor"],
)
def test_hist_gradient_boosting_loads_and_predicts_as_saved(tmp_path, model, target):
    # its trees were refused outright (TreePredictor untrusted); they load
    # now that their stored indices are checked
    X, y = _hist_data()
    if target == "three":
        y = np.where(np.isnan(X[:, 1]), "neutral", y)
    elif target == "real":
        y = X[:, 0] + np.nan_to_num(X[:, 2])
    model.fit(X, y)
    loaded, _ = load_model(save_model(model, tmp_path / "m.skops"))
    X_new = _new_hist_rows()
    np.testing.assert_array_equal(loaded.predict(X_new), model.predict(X_new))
    if target != "real":
        np.testing.assert_array_equal(
            loaded.predict_proba(X_new), model.predict_proba(X_new)
        )
    assert model._predictors[0][0].nodes.dtype == _PREDICTOR_RECORD  # as written out


def test_hist_gradient_boosting_on_a_data_frame_loads_and_predicts_as_saved(tmp_path):
    # a pandas categorical column: the column transformer selects by name
    X, y = _hist_data()
    frame = pd.DataFrame(X, columns=list("abcde")).astype({"c": "category"})
    model = HistGradientBoostingClassifier(max_iter=8, random_state=0)
    model.fit(frame, y)
    loaded, _ = load_model(save_model(model, tmp_path / "m.skops"))
    X_new, _ = _hist_data(60, seed=1)
    new = pd.DataFrame(X_new, columns=list("abcde")).astype({"c": frame["c"].dtype})
    np.testing.assert_array_equal(loaded.predict_proba(new), model.predict_proba(new))


def test_hist_gradient_boosting_with_a_scoring_string_saves(tmp_path):
    # early stopping on a scorer leaves the bound method _raw_predict in the
    # fitted model's __dict__ (scikit-learn restores its patch by assigning
    # it): skops followed that cycle into a RecursionError
    model = _hist_classifier(
        max_iter=30, early_stopping=True, scoring="balanced_accuracy"
    )
    assert "_raw_predict" in vars(model)
    before = list(vars(model))
    path = save_model(model, tmp_path / "m.skops")
    assert list(vars(model)) == before  # the caller's model is left as it was
    # its scorer is no tree: it stays outside the trusted types, by name
    with pytest.raises(UntrustedModelError, match=r"_scorer\._Scorer"):
        load_model(path)
    trusted = [
        "sklearn.metrics._scorer._Scorer",
        "sklearn.metrics._classification.balanced_accuracy_score",
    ]
    loaded, _ = load_model(path, trusted=trusted)
    assert "_raw_predict" not in vars(loaded)
    X_new = _new_hist_rows()
    np.testing.assert_array_equal(
        loaded.predict_proba(X_new), model.predict_proba(X_new)
    )


def test_hist_gradient_boosting_in_a_sertl_pipeline_loads(tmp_path):
    from sklearn.pipeline import Pipeline

    from sertl_core import DomainStandardScaler, SourceOnly

    X, y = _data(120)
    y = y.astype(object)
    y[90:] = "-1"  # unlabelled target rows
    sd = np.r_[np.ones(90, int), -np.ones(30, int)]
    hist = HistGradientBoostingClassifier(max_iter=8, random_state=0)
    pipe = Pipeline([("scale", DomainStandardScaler()), ("model", SourceOnly(hist))])
    pipe.fit(X, y, scale__sample_domain=sd, model__sample_domain=sd)
    loaded, _ = load_model(save_model(pipe, tmp_path / "m.skops"))
    np.testing.assert_array_equal(loaded.predict(X), pipe.predict(X))


def _categorical_split(nodes):
    return (nodes["is_leaf"] == 0) & (nodes["is_categorical"] == 1)


def _predictor_edit(change):
    """An edit that applies ``change(parts)`` to a tree with a categorical split.

    ``parts`` maps the TreePredictor's attributes (nodes and both bitsets)
    to their arrays; ``change`` may change them in place or replace them.
    """
    module = "sklearn.ensemble._hist_gradient_boosting.predictor"

    def edit(schema, files):
        for tree in _nodes(schema, module, "TreePredictor"):
            refs = tree["content"]["content"]
            parts = {name: _array(files, ref) for name, ref in refs.items()}
            if _categorical_split(parts["nodes"]).any():
                break
        change(parts)
        for name, ref in refs.items():
            _store(files, ref, parts[name])

    return edit


def _set_first(field, value, where=lambda nodes: nodes["is_leaf"] == 0):
    """A change setting ``field`` of the first node ``where`` picks to ``value``."""

    def change(parts):
        nodes = parts["nodes"]
        nodes[field][np.flatnonzero(where(nodes))[0]] = value

    return change


def _loop_back(parts):
    nodes = parts["nodes"]
    last = np.flatnonzero(nodes["is_leaf"] == 0)[-1]
    nodes["right"][last] = 0  # back to the root: a loop


def _share_child(parts):
    nodes = parts["nodes"]
    nodes["right"][0] = nodes["left"][0]  # one node under both sides


def _retype(field, dtype):
    def change(parts):
        old = parts["nodes"]
        spec = [(f, dtype if f == field else old.dtype[f]) for f in old.dtype.names]
        new = np.zeros(old.shape, dtype=spec)
        for f in old.dtype.names:
            new[f] = old[f]
        parts["nodes"] = new

    return change


def _swap_children_names(parts):
    # the same bytes, the fields renamed: TreePredictor casts field by field
    # in order, so the checked "left" would be the right child it follows
    names = list(parts["nodes"].dtype.names)
    i, j = names.index("left"), names.index("right")
    names[i], names[j] = names[j], names[i]
    parts["nodes"].dtype.names = names


def _fortran_bitsets(parts):
    # rows of 8 words, read in C order: stored in Fortran order (two rows at
    # least, or the array is in both orders) they would be read crosswise
    for name in ("binned_left_cat_bitsets", "raw_left_cat_bitsets"):
        parts[name] = np.asfortranarray(np.vstack([parts[name]] * 2))


def _narrow_bitsets(parts):
    parts["raw_left_cat_bitsets"] = np.ascontiguousarray(
        parts["raw_left_cat_bitsets"][:, :4]
    )


@pytest.mark.parametrize(
    ("change", "why"),
    [
        (
            _set_first("left", 10**9),
            r"node 0 splits into nodes 1000000000 and \d+: a split's children "
            r"are nodes after it, below \d+",
        ),
        (_loop_back, r"node \d+ splits into nodes \d+ and 0: a split's children"),
        (_share_child, r"node 1 is the child of 2 splits"),
        (
            _set_first("left", 1, where=lambda nodes: nodes["is_leaf"] == 1),
            r"node \d+ is a leaf with children 1 and 0",
        ),
        (_set_first("is_leaf", 7), r"node 0 is flagged leaf 7, categorical 0"),
        (_set_first("feature_idx", -3), r"node 0 splits on feature -3, a negative"),
        (
            _set_first("bitset_idx", 10**6, where=_categorical_split),
            r"categorical node \d+ reads category bitset 1000000, past the \d+ its "
            r"tree holds",
        ),
        (
            _retype("feature_idx", np.int32),
            r"its node records store feature_idx as int32, not as scikit-learn's "
            r"int64",
        ),
        (_swap_children_names, r"its node records have the fields \("),
        (
            lambda parts: parts.update(nodes=parts["nodes"][None, :]),
            r"its nodes are a 2-D array, not 1-D",
        ),
        (
            _narrow_bitsets,
            r"its raw category bitsets \(\(\d+, 4\)\) are not rows of 8 unsigned",
        ),
        (
            lambda parts: parts.update(
                raw_left_cat_bitsets=parts["raw_left_cat_bitsets"].astype(np.int32)
            ),
            r"its raw category bitsets are of dtype int32, not unsigned 32-bit",
        ),
        (_fortran_bitsets, r"its binned category bitsets are not stored in C order"),
    ],
    ids=[
        "child-far",
        "cycle",
        "shared-child",
        "leaf-with-child",
        "leaf-flag",
        "feature-negative",
        "bitset-far",
        "record-int32",
        "record-renamed",
        "nodes-2d",
        "bitsets-narrow",
        "bitsets-int32",
        "bitsets-fortran",
    ],
)
def test_a_hist_gradient_boosting_tree_pointing_outside_itself_is_refused(
    tmp_path, change, why
):
    # scikit-learn's compiled predictor follows left/right, feature_idx and
    # bitset_idx without bounds checks: each crafted index is refused before
    # anything is built (nothing here predicts, so nothing can crash)
    base = save_model(_hist_classifier(), tmp_path / "b.skops")
    path = _edit(base, tmp_path / "evil.skops", _predictor_edit(change))
    with pytest.raises(
        UntrustedModelError, match=f"tree of the file is malformed: {why}"
    ):
        load_model(path)


def test_a_decoy_table_sharing_a_hist_trees_attributes_id_is_checked_too(tmp_path):
    # skops builds one node of an id for all of them: a table placed before
    # the tree, with the id of the tree's honest attributes, would be what
    # the tree is given
    import copy

    base = save_model(_hist_classifier(), tmp_path / "b.skops")

    def edit(schema, files):
        est = schema["content"]["model"]
        module = "sklearn.ensemble._hist_gradient_boosting.predictor"
        table = _nodes(schema, module, "TreePredictor")[0]["content"]
        decoy = copy.deepcopy(table)
        nodes_ref = decoy["content"]["nodes"]
        evil = _array(files, nodes_ref)
        evil["left"][0] = 10**9
        nodes_ref["file"], nodes_ref["__id__"] = "evil.npy", 1
        _store(files, nodes_ref, evil)
        attrs = est["content"]["content"]
        est["content"]["content"] = {"a_decoy": decoy, **attrs}
        keys = est["content"]["key_types"]["content"]
        keys.insert(0, keys[0])

    # refused before it is built (once built, the tree given the decoy's
    # nodes would be refused too)
    with pytest.raises(
        UntrustedModelError, match="tree of the file is malformed: node 0 splits"
    ):
        load_model(_edit(base, tmp_path / "evil.skops", edit))


def _first_categorical_tree(model):
    for stage in model._predictors:
        nodes = stage[0].nodes
        if _categorical_split(nodes).any():
            return nodes
    raise AssertionError("no categorical split")


def _feature_past_width(model):
    model._predictors[0][0].nodes["feature_idx"][0] = 5


def _categorical_split_on_a_numeric_feature(model):
    # the known-category row of a feature the bin mapper does not flag is
    # row 0 of a table that may have none
    nodes = _first_categorical_tree(model)
    numeric = np.flatnonzero((nodes["is_leaf"] == 0) & (nodes["is_categorical"] == 0))
    nodes["is_categorical"][numeric[0]] = 1
    nodes["bitset_idx"][numeric[0]] = 0


def _narrow_column_transformer(model):
    # the numerical part selects one column fewer: rows of 4 for trees of 5
    pre = model._preprocessor
    name, step, mask = pre.transformers_[1]
    mask = mask.copy()
    mask[np.flatnonzero(mask)[-1]] = False
    pre.transformers_[1] = (name, step, mask)
    pre._transformer_to_input_indices[name] = np.flatnonzero(mask).tolist()


def _column_transformer_passing_a_stored_array(model):
    import functools

    from sklearn.utils import check_array

    step = model._preprocessor.transformers_[1][1]
    step.func = functools.partial(check_array, np.zeros((3, 1)))


@pytest.mark.parametrize(
    ("change", "why"),
    [
        (
            _feature_past_width,
            r"HistGradientBoostingClassifier's tree 0 of iteration 0 is malformed: "
            r"node 0 splits on feature 5, outside the 5 features of its model",
        ),
        (
            _categorical_split_on_a_numeric_feature,
            r"categorical node \d+ splits on feature \d, whose categories its "
            r"model does not know",
        ),
        (
            lambda m: setattr(m, "_predictors", [s * 2 for s in m._predictors]),
            r"iteration 0 has 2 trees for 1 output columns",
        ),
        (
            lambda m: setattr(m, "_baseline_prediction", np.zeros((1, 3))),
            r"baseline prediction has the shape \(1, 3\), not \(1, 1\)",
        ),
        (
            lambda m: setattr(m, "_in_fit", True),
            r"stored in the middle of fitting \(_in_fit\)",
        ),
        (
            lambda m: delattr(m, "n_features_in_"),
            r"does not say how many features it takes",
        ),
        (
            lambda m: setattr(
                m._bin_mapper, "is_categorical_", m._bin_mapper.is_categorical_[:3]
            ),
            r"bin mapper does not flag each of the 5 features categorical or not",
        ),
        (
            lambda m: m._bin_mapper.bin_thresholds_.__setitem__(
                0, np.array([0.0, 300.0])
            ),
            r"bin mapper gives feature 0 known categories other than whole numbers",
        ),
        (
            _narrow_column_transformer,
            r"column transformer gives 4 columns, its model's trees read 5",
        ),
        (
            lambda m: setattr(m._preprocessor.transformers_[1][1], "func", np.negative),
            r"column transformer has its part 'numerical' call numpy\.negative;",
        ),
        (
            lambda m: setattr(m._preprocessor, "transformer_weights", {"encoder": 0}),
            r"column transformer weighs its parts",
        ),
    ],
    ids=[
        "feature-past-width",
        "categorical-on-numeric",
        "iteration-width",
        "baseline-shape",
        "in-fit",
        "no-width",
        "bin-mapper-flags",
        "bin-mapper-categories",
        "narrow-transformer",
        "transformer-other-function",
        "transformer-weights",
    ],
)
def test_a_hist_gradient_boosting_model_its_trees_do_not_fit_is_refused(
    tmp_path, change, why
):
    # consistent in themselves, the trees read rows, known-category rows and
    # output columns their model lays out: checked once the model is built
    model = _hist_classifier()
    change(model)
    with pytest.raises(
        UntrustedModelError, match=rf"trees do not fit their models: .*{why}"
    ):
        load_model(save_model(model, tmp_path / "m.skops"))


def test_a_hist_gradient_boosting_model_in_the_metadata_is_checked_too(tmp_path):
    # a model stored beside the model is as callable once loaded
    honest = DecisionTreeClassifier(random_state=0).fit(*_data())
    evil = _hist_classifier()
    _feature_past_width(evil)
    path = save_model(honest, tmp_path / "m.skops", metadata={"spare": evil})
    with pytest.raises(UntrustedModelError, match=r"outside the 5 features of its"):
        load_model(path)


def test_a_bin_mapper_on_its_own_is_checked_too(tmp_path):
    # its transform reads one categorical flag per column it counts bins of
    mapper = _hist_classifier()._bin_mapper
    mapper.is_categorical_ = mapper.is_categorical_[:2]
    with pytest.raises(
        UntrustedModelError,
        match=r"a bin mapper does not flag each of the 5 features categorical",
    ):
        load_model(save_model(mapper, tmp_path / "m.skops"))


def test_a_partial_is_trusted_only_with_a_trusted_function(tmp_path):
    # HistGradientBoosting's check_array partial loads; a partial binding an
    # untrusted function still names that function
    import functools
    import shutil

    from sklearn.preprocessing import FunctionTransformer

    evil = FunctionTransformer(functools.partial(shutil.rmtree, str(tmp_path)))
    with pytest.raises(
        UntrustedModelError, match=r"not trusted: shutil\.rmtree \(a function"
    ) as refused:
        load_model(save_model(evil, tmp_path / "m.skops"))
    assert "functools.partial" not in str(refused.value)


def test_an_honest_categorical_hist_gradient_boosting_keeps_its_partial(tmp_path):
    # the one partial and check_array trusted without being named: exactly
    # what scikit-learn's _preprocess_X stores, where it stores it
    import functools

    from sklearn.utils import check_array

    model = _hist_classifier()
    loaded, _ = load_model(save_model(model, tmp_path / "m.skops"))
    func = loaded._preprocessor.transformers_[1][1].func
    assert type(func) is functools.partial and func.func is check_array
    assert func.args == () and func.keywords == {
        "dtype": [np.float64],
        "ensure_all_finite": False,
    }
    X_new = _new_hist_rows()
    np.testing.assert_array_equal(
        loaded.predict_proba(X_new), model.predict_proba(X_new)
    )


def _shadow(obj, name, value):
    """Store ``value`` as the instance attribute ``name`` (hiding a method)."""
    vars(obj)[name] = value
    return obj


def _bitsets_partial(model):
    # made-up known-category tables: rows far past the one it holds
    import functools

    tables = [np.zeros((1, 8), np.uint32), np.full(5, 10**9, np.uint32)]
    fake = functools.partial(tuple, tables)
    _shadow(model._bin_mapper, "make_known_categories_bitsets", fake)


def _transform_partial(model):
    # a partial of a ufunc, not HistGradientBoosting's check_array one
    # (np.matmul: np.matvec is numpy >= 2.2)
    import functools

    _shadow(model._preprocessor, "transform", functools.partial(np.matmul, np.ones(5)))


def _transform_check_array(model):
    from sklearn.utils import check_array

    _shadow(model._preprocessor, "transform", check_array)


_NOT_HGB_PARTIAL = r"holds a functools\.partial other than the check_array one"
_HIDES = r"stores an attribute '{}', which would hide what its class defines"
_LOSS = "sklearn._loss.loss.HalfMultinomialLoss"
_LOSS_ELSEWHERE = rf"holds the loss object {_LOSS} as {{}}, where scikit-learn"
_TRANSFORMER = r"sklearn\.preprocessing\._function_transformer\.FunctionTransformer"


def _hgb(change):
    """A maker of a categorical HistGradientBoosting model ``change`` alters."""

    def make():
        model = _hist_classifier()
        change(model)
        return model

    return make


def _loss_partial():
    import functools

    from sklearn._loss.loss import HalfMultinomialLoss
    from sklearn.preprocessing import FunctionTransformer

    # y_true far longer than the rows: the compiled loss loops past them
    loss = HalfMultinomialLoss(n_classes=3)
    return FunctionTransformer(functools.partial(loss, np.zeros(1000)))


def _loss_with_kw_args():
    from sklearn._loss.loss import HalfMultinomialLoss
    from sklearn.preprocessing import FunctionTransformer

    binding = {"raw_prediction": np.zeros((1, 1000))}
    return FunctionTransformer(HalfMultinomialLoss(n_classes=3), kw_args=binding)


@pytest.mark.parametrize(
    ("make", "trusted", "why"),
    [
        (_hgb(_bitsets_partial), [], _NOT_HGB_PARTIAL),
        (
            _hgb(_bitsets_partial),
            ["functools.partial"],
            _HIDES.format("make_known_categories_bitsets"),
        ),
        (
            _hgb(lambda m: _shadow(m._preprocessor, "transform", np.negative)),
            [],
            _HIDES.format("transform"),
        ),
        (
            _hgb(lambda m: _shadow(m._bin_mapper, "transform", np.negative)),
            [],
            _HIDES.format("transform"),
        ),
        (_hgb(_transform_partial), [], _NOT_HGB_PARTIAL),
        (_hgb(_transform_partial), ["functools.partial"], _HIDES.format("transform")),
        (
            _hgb(_transform_check_array),
            [],
            r"holds sklearn\.utils\.validation\.check_array as "
            r"sklearn\.compose\._column_transformer\.ColumnTransformer\.transform",
        ),
        (
            _hgb(_transform_check_array),
            ["sklearn.utils.validation.check_array"],
            _HIDES.format("transform"),
        ),
        (_loss_partial, [], _NOT_HGB_PARTIAL),
        (
            _loss_partial,
            ["functools.partial"],
            _LOSS_ELSEWHERE.format(r"functools\.partial\.func"),
        ),
        (_loss_with_kw_args, [], _LOSS_ELSEWHERE.format(_TRANSFORMER + r"\.func")),
    ],
    ids=[
        "bitsets-partial",
        "bitsets-partial-trusted",
        "transform-ufunc",
        "bin-mapper-transform-ufunc",
        "transform-partial",
        "transform-partial-trusted",
        "transform-check-array",
        "transform-check-array-trusted",
        "loss-partial",
        "loss-partial-trusted",
        "loss-kw-args",
    ],
)
def test_a_stored_callable_a_model_would_misuse_is_refused(
    tmp_path, make, trusted, why
):
    # skops restores attributes into __dict__, where one named like a method
    # is called instead of it (a bin mapper handing the trees made-up
    # category tables, a column transformer handing them narrower rows); a
    # loss object loops over the arrays it is given in compiled code: only
    # where scikit-learn stores one, never a function called with stored
    # arguments. Nothing here predicts.
    with pytest.raises(UntrustedModelError, match=why):
        load_model(save_model(make(), tmp_path / "m.skops"), trusted=trusted)


def test_a_method_hidden_on_a_forest_is_refused_too(tmp_path):
    # the rule holds for every object the file builds, not only HGB's
    model = RandomForestClassifier(n_estimators=3, random_state=0).fit(*_data())
    _shadow(model, "_validate_X_predict", np.negative)
    with pytest.raises(UntrustedModelError, match=_HIDES.format("_validate_X_predict")):
        load_model(save_model(model, tmp_path / "m.skops"))


def _bare_check_array():
    from sklearn.preprocessing import FunctionTransformer
    from sklearn.utils import check_array

    return FunctionTransformer(check_array, kw_args={"dtype": np.dtype("U9")})


def _hgb_partial_with_kw_args():
    # HistGradientBoosting's own partial, its keywords overridden by kw_args
    model = _hist_classifier()
    step = model._preprocessor.transformers_[1][1]
    step.kw_args = {"dtype": np.dtype("U9")}
    return model


def _huge_encoder_dtype():
    from sklearn.preprocessing import OrdinalEncoder

    encoder = OrdinalEncoder().fit(np.zeros((2, 3)))
    encoder.dtype = np.dtype(f"U{2**26}")  # 256 MiB an element
    return encoder


def _huge_encoder_dtype_name():
    encoder = _huge_encoder_dtype()
    encoder.dtype = f"U{2**26}"  # the same, by name
    return encoder


@pytest.mark.parametrize(
    ("make", "why"),
    [
        (
            _bare_check_array,
            rf"holds sklearn\.utils\.validation\.check_array as {_TRANSFORMER}\.func: "
            r"it is trusted only as HistGradientBoosting stores it",
        ),
        (
            _hgb_partial_with_kw_args,
            r"FunctionTransformer has its func functools\.partial, with kw_args",
        ),
        (
            # skops stores a numpy dtype as an empty array of it: refused on
            # the array's header, before anything is built
            _huge_encoder_dtype,
            r"has elements of 268435456 bytes",
        ),
        (
            _huge_encoder_dtype_name,
            r"OrdinalEncoder\.dtype is a dtype of 268435456 bytes an element",
        ),
    ],
    ids=[
        "bare-check-array",
        "hgb-partial-kw-args",
        "encoder-dtype",
        "encoder-dtype-name",
    ],
)
def test_a_dtype_the_file_chooses_is_refused(tmp_path, make, why):
    # check_array or an encoder given a string dtype of 256 MiB an element
    # would allocate gigabytes for a few rows
    with pytest.raises(UntrustedModelError, match=why):
        load_model(save_model(make(), tmp_path / "m.skops"))


def test_a_partial_of_another_form_loads_only_when_trusted(tmp_path):
    # an honest partial too: any other than HistGradientBoosting's binds
    # stored arguments, so it is the caller's to trust
    import functools

    from sklearn.preprocessing import FunctionTransformer

    X, _ = _data()
    model = FunctionTransformer(functools.partial(np.add, 1.5)).fit(X)
    path = save_model(model, tmp_path / "m.skops")
    with pytest.raises(
        UntrustedModelError, match=_NOT_HGB_PARTIAL + r".*trust functools\.partial"
    ):
        load_model(path)
    loaded, _ = load_model(path, trusted=["functools.partial"])
    np.testing.assert_array_equal(loaded.transform(X), model.transform(X))


def test_hgbs_partial_elsewhere_or_with_stored_arguments_is_refused(tmp_path):
    # its form is trusted as func of a FunctionTransformer only, and what it
    # binds is checked by the column transformer even when partials are
    model = _hist_classifier()
    func = model._preprocessor.transformers_[1][1].func
    path = save_model(model, tmp_path / "a.skops", metadata={"spare": func})
    with pytest.raises(
        UntrustedModelError, match=r"check_array partial as inside a container"
    ):
        load_model(path)
    model = _hist_classifier()
    _column_transformer_passing_a_stored_array(model)
    path = save_model(model, tmp_path / "b.skops")
    with pytest.raises(UntrustedModelError, match=_NOT_HGB_PARTIAL):
        load_model(path)
    with pytest.raises(
        UntrustedModelError, match=r"check_array as functools\.partial\.func: it is"
    ):
        load_model(path, trusted=["functools.partial"])
    with pytest.raises(
        UntrustedModelError,
        match=r"column transformer has its part 'numerical' call check_array on "
        r"stored arguments",
    ):
        trusted = ["functools.partial", "sklearn.utils.validation.check_array"]
        load_model(path, trusted=trusted)


def test_a_file_that_inflates_far_beyond_its_size_is_refused(tmp_path):
    X, y = _data()
    base = save_model(DecisionTreeClassifier().fit(X, y), tmp_path / "b.skops")
    bomb = tmp_path / "bomb.skops"
    deflated = zipfile.ZIP_DEFLATED
    with zipfile.ZipFile(base) as zin, zipfile.ZipFile(bomb, "w", deflated) as zout:
        for name in zin.namelist():
            zout.writestr(name, zin.read(name))
        # 80 MiB of zeros in about 80 KiB (save_model stores entries as they are)
        with zout.open("padding.npy", "w", force_zip64=True) as fh:
            chunk = bytes(2**20)
            for _ in range(80):
                fh.write(chunk)
    assert bomb.stat().st_size < 2**20
    with pytest.raises(
        UntrustedModelError, match=r"inflate to \d+ bytes from a file of \d+"
    ):
        load_model(bomb)


def test_a_file_of_another_skops_protocol_is_refused(tmp_path):
    # protocol 0 named a function node's target elsewhere than the names the
    # type check reads: a file could pass as numpy.add and run os.system
    X, y = _data()
    base = save_model(DecisionTreeClassifier().fit(X, y), tmp_path / "b.skops")

    def edit(schema, files):
        schema["protocol"] = 0

    with pytest.raises(UntrustedModelError, match=r"skops file protocol 0; this"):
        load_model(_edit(base, tmp_path / "old.skops", edit))


@pytest.mark.parametrize(
    "name", ["sklearn._loss.loss.check_scalar", "sklearn._loss.link.dataclass"]
)
def test_a_function_imported_by_a_trusted_module_is_no_constructor(tmp_path, name):
    # sklearn._loss's loss and link classes are rebuilt by calling them with
    # stored arguments; a function those modules import is not one of them
    import datetime

    zone = datetime.timezone(datetime.timedelta(hours=1))
    base = save_model(zone, tmp_path / "b.skops")

    def edit(schema, files):
        (node,) = _nodes(schema, "datetime", "timezone")
        node["__loader__"] = "ReduceNode"
        node["__module__"], node["__class__"] = name.rsplit(".", 1)

    with pytest.raises(
        UntrustedModelError, match=rf"{name} \(not trusted as a ReduceNode\)"
    ):
        load_model(_edit(base, tmp_path / "evil.skops", edit))


def test_a_neural_recipe_larger_than_its_weights_is_refused_before_building():
    torch = pytest.importorskip("torch")
    pytest.importorskip("sertl_neural")
    from sertl_neural._nets import (
        AutoencoderNet,
        module_from_portable,
        module_to_portable,
    )

    portable = module_to_portable(AutoencoderNet(4, (), 2, 1, 0.0, "gaussian"))
    # a recipe asking for layers of 10**6 x 10**6 weights (4 TB): refused
    # while the network is only laid out, nothing allocated
    portable["__sertl_torch_module__"]["n_components"] = 10**6
    portable["__sertl_torch_module__"]["n_features"] = 10**6
    with pytest.raises(ValueError, match=r"recipe does not match its stored weights"):
        module_from_portable(portable)
    honest = module_to_portable(AutoencoderNet(4, (3,), 2, 1, 0.0, "gaussian"))
    rebuilt = module_from_portable(honest)
    for key, value in rebuilt.state_dict().items():
        torch.testing.assert_close(value, torch.as_tensor(honest["state"][key]))


_LOAD_IN_A_FRESH_PROCESS = """
import json, sys
import numpy as np
from sertl_experiments import load_model
model, _ = load_model(sys.argv[1])
X = np.load(sys.argv[2])
print(json.dumps(np.asarray(model.transform(X)).round(5).tolist()))
"""


def test_a_neural_model_loads_in_a_fresh_process(tmp_path):
    # sertl_neural imports its classes on first use: a fresh process had
    # not imported the module the file names, and refused sertl's own class
    neural = pytest.importorskip("sertl_neural")
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 5)).astype(np.float32)
    y = np.array(["anger", "sadness"] * 10 + ["-1"] * 20)
    ae = neural.AutoencoderAdapter(max_epochs=2, random_state=0, verbose=0)
    ae.fit(X, y)
    path = save_model(ae, tmp_path / "ae.skops")
    np.save(tmp_path / "X.npy", X)
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            _LOAD_IN_A_FRESH_PROCESS,
            str(path),
            str(tmp_path / "X.npy"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    np.testing.assert_allclose(
        json.loads(done.stdout), np.asarray(ae.transform(X)).round(5), atol=1e-5
    )


def test_save_model_follows_no_planted_link_and_leaves_no_temporary_file(tmp_path):
    # save_model wrote to the fixed name PATH.part, following a link planted
    # there by whoever else can write to the folder
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    out = tmp_path / "models"
    out.mkdir()
    try:
        (out / "m.skops.part").symlink_to(victim)
    except (OSError, NotImplementedError):  # e.g. Windows without the privilege
        pytest.skip("this file system or user cannot make symbolic links")
    X, y = _data()
    path = save_model(DecisionTreeClassifier().fit(X, y), out / "m.skops")
    assert victim.read_text() == "keep me"
    assert sorted(p.name for p in out.iterdir()) == ["m.skops", "m.skops.part"]
    assert not path.is_symlink() and load_model(path)[0].predict(X[:2]).size == 2
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask  # as open() makes it


def test_save_model_leaves_no_temporary_file_when_writing_fails(tmp_path, monkeypatch):
    import skops.io as sio

    def half_written(obj, file):
        file.write(b"PK partial")
        raise OSError("disk full")

    monkeypatch.setattr(sio, "dump", half_written)
    X, y = _data()
    with pytest.raises(OSError, match="disk full"):
        save_model(DecisionTreeClassifier().fit(X, y), tmp_path / "m.skops")
    assert list(tmp_path.iterdir()) == []


def test_results_md_shows_markup_from_labels_as_text():
    from sertl_experiments import _report

    md = _report._to_md(
        pd.DataFrame(
            {"label<i>": ["<script>alert(1)</script>", "a|b\nc & d"], "n": [1, 2]}
        )
    )
    assert "<script>" not in md and "<i>" not in md
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in md
    assert "| a\\|b<br>c &amp; d | 2 |" in md  # the cell's own line break kept


@pytest.fixture(scope="module")
def escaping_audio_model(tmp_path_factory):
    """An audio model whose labels hold terminal escapes, and two files."""
    from sertl_speech import AudioFeatures, load_sample
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline

    from sertl_core import DomainStandardScaler, NoTargetWarning, SourceOnly

    table = load_sample("emodb", emotions=["anger", "sadness"])
    files = list(table["file"])
    y = ["\x1b[2Jangry" if e == "anger" else "sad\x07" for e in table["emotion"]]
    cache = str(tmp_path_factory.mktemp("feature-cache"))
    pipe = Pipeline(
        [
            ("f", AudioFeatures("mfcc_stats", cache_dir=cache)),
            ("s", DomainStandardScaler()),
            ("c", SourceOnly(LogisticRegression())),
        ]
    )
    with pytest.warns(NoTargetWarning, match="no target rows"):
        pipe.fit(files, y)
    path = save_model(
        pipe,
        tmp_path_factory.mktemp("model") / "m.skops",
        metadata={"classes": sorted(set(y))},
    )
    return path, files[:2]


def test_sertl_predict_shows_control_characters_of_labels_as_escapes(
    escaping_audio_model, capsys
):
    # labels come from the model file: printed raw, an escape sequence
    # clears the screen, retitles the window or hides a link
    from sertl_experiments._cli import main

    path, files = escaping_audio_model
    assert main(["predict", str(path), *files]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\x07" not in out
    assert "\\x1b[2J" in out.splitlines()[0]  # the header's class column
    assert all(
        line.split()[1] in {"\\x1b[2Jangry", "sad\\x07"}
        for line in out.splitlines()[1:]
    )
    # --json keeps the labels as they are (JSON escapes them itself)
    assert main(["predict", str(path), *files, "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)["predictions"]
    assert {r["emotion"] for r in rows} <= {"\x1b[2Jangry", "sad\x07"}


# -- a third review: gradient boosting's initial predictions, dtype specs,
# -- element sizes, and methods forwarded by __getattr__


def _boosting(n_classes, seed=0):
    from sklearn.ensemble import GradientBoostingClassifier

    rng = np.random.default_rng(seed)
    X = rng.normal(size=(12 * n_classes, 2))
    y = np.arange(len(X)) % n_classes
    return GradientBoostingClassifier(n_estimators=2, max_depth=1).fit(X, y), X


@pytest.mark.parametrize("swap", ["loss", "init", "is_multiclass"])
def test_gradient_boosting_whose_initial_predictions_are_narrower_is_refused(
    tmp_path, swap
):
    # predict_stages writes one column per tree of a stage into the initial
    # predictions without bounds: a loss, an init_ or a loss attribute that
    # makes them narrower wrote past the buffer (segfault)
    model, X = _boosting(5)
    honest = tmp_path / "honest.skops"
    save_model(model, honest)
    assert (load_model(honest)[0].predict(X) == model.predict(X)).all()
    if swap == "loss":
        model._loss = _boosting(2, seed=1)[0]._loss  # a binomial loss
        match = r"initial predictions have shape \(1, 1\) for stages of 5 trees"
    elif swap == "init":
        model.init_ = _boosting(2, seed=1)[0].init_  # a prior over 2 classes
        match = r"initial predictions have shape \(1, 2\) for stages of 5 trees"
    else:
        model._loss.is_multiclass = False
        match = "HalfMultinomialLoss stores an attribute 'is_multiclass'"
    path = tmp_path / "crafted.skops"
    save_model(model, path)
    with pytest.raises(UntrustedModelError, match=match):
        load_model(path)


@pytest.mark.parametrize(
    "spec",
    [[("a", "V100000")], {"names": ["a"], "formats": ["V100000"]}],
    ids=["list", "dict"],
)
def test_a_dtype_given_as_a_spec_is_held_to_the_size_cap(tmp_path, spec):
    from sklearn.preprocessing import OrdinalEncoder

    encoder = OrdinalEncoder().fit([["a"], ["b"]])
    encoder.dtype = spec
    path = tmp_path / "encoder.skops"
    save_model(encoder, path)
    with pytest.raises(UntrustedModelError, match="dtype of 100000 bytes an element"):
        load_model(path)


def test_arrays_of_huge_elements_are_refused_before_loading(tmp_path):
    # classes_ of 70 KB each: predicting 300 rows took 300 of them
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression().fit([[0.0], [1.0]], [0, 1])
    model.classes_ = np.zeros(2, dtype="V70000")
    path = tmp_path / "huge.skops"
    save_model(model, path)
    with pytest.raises(UntrustedModelError, match="elements of 70000 bytes"):
        load_model(path)
    # labels of a few hundred characters load
    model.classes_ = np.array(["x" * 300, "y" * 300])
    save_model(model, path)
    assert load_model(path)[0].classes_[0] == "x" * 300


def test_an_array_without_a_header_numpy_writes_is_refused(tmp_path):
    # the element size is read from each .npy header before anything is
    # built: a header of another version, or none, cannot be read for it
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression().fit([[0.0], [1.0]], [0, 1])
    honest = save_model(model, tmp_path / "honest.skops")

    def rewrite(header):
        def edit(schema, files):
            name = next(n for n in files if n.endswith(".npy"))
            files[name] = header(files[name])

        return edit

    version_3 = rewrite(lambda data: data[:6] + b"\x03" + data[7:])
    garbage = rewrite(lambda data: b"not an array")
    for edit in (version_3, garbage):
        path = _edit(honest, tmp_path / "edited.skops", edit)
        with pytest.raises(UntrustedModelError, match="has no header numpy's save"):
            load_model(path)


def test_a_stored_callable_hiding_a_forwarded_method_is_refused(tmp_path):
    # FrozenEstimator forwards predict to its estimator through __getattr__:
    # a stored predict (np.negative) answered instead of the model
    from sklearn.frozen import FrozenEstimator
    from sklearn.linear_model import LogisticRegression

    frozen = FrozenEstimator(LogisticRegression().fit([[0.0], [1.0]], [0, 1]))
    path = tmp_path / "frozen.skops"
    save_model(frozen, path)
    assert load_model(path)[0].predict([[5.0]]).tolist() == [1]
    frozen.predict = np.negative
    save_model(frozen, path)
    with pytest.raises(UntrustedModelError, match="stores an attribute 'predict'"):
        load_model(path)
