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
from sklearn.ensemble import (
    ExtraTreesClassifier,
    GradientBoostingClassifier,
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
    assert "&lt;script>alert(1)&lt;/script>" in md
    assert "| a\\|b<br>c & d | 2 |" in md  # the cell's own line break kept


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
