import pytest
from sertl_experiments import ConfigError, load_config, parse_config


def _base(**over):
    raw = {
        "corpora": {
            "a": {"reader": "emodb", "root": "x"},
            "b": {"reader": "ravdess", "root": "y"},
        },
        "methods": [{"name": "dss"}],
    }
    raw.update(over)
    return raw


def test_valid_config_resolves_paths_and_pairs(tmp_path):
    cfg = parse_config(_base(output="out"), base_dir=tmp_path)
    assert cfg.output == tmp_path / "out"
    assert cfg.corpora["a"].root == tmp_path / "x"
    assert cfg.pairs() == [(("a",), "b"), (("b",), "a")]
    assert cfg.protocol.metric == "uar"
    assert cfg.methods[0].scaling == "domain"


def test_pooled_sources():
    cfg = parse_config(
        _base(
            corpora={"a": {"root": "x"}, "b": {"root": "y"}, "c": {"root": "z"}},
            matrix={"sources": [["a", "b"]], "targets": ["c"]},
        )
    )
    assert cfg.pairs() == [(("a", "b"), "c")]


_THREE = {"a": {"root": "x"}, "b": {"root": "y"}, "c": {"root": "z"}}


@pytest.mark.parametrize(
    ("matrix", "match"),
    [
        (  # each corpus of a pool is a domain: "a" would be trained on twice
            {"sources": [["a", "a"], "a"], "targets": ["c"]},
            r"\[matrix\] sources: the pool \['a', 'a'\] lists 'a' more than "
            r"once: each corpus of a pool is a source domain of its own.*"
            r"List each corpus once: \['a'\]",
        ),
        (
            {"sources": [["a", "b"], ["b", "a"]], "targets": ["c"]},
            r"\[matrix\] sources: lists \['a', 'b'\] and \['b', 'a'\], which "
            r"pool the same corpora .*List each source \(or pool\) once",
        ),
        (
            {"sources": ["a", ["a"]], "targets": ["c"]},
            r"\[matrix\] sources: lists 'a' and \['a'\], which are the same source",
        ),
        (
            {"sources": ["a", "b", "a"], "targets": ["c"]},
            r"\[matrix\] sources: lists 'a' twice",
        ),
        (
            {"sources": ["a"], "targets": ["b", "c", "b"]},
            r"\[matrix\] targets: lists 'b' twice.*List each target once",
        ),
    ],
)
def test_a_corpus_listed_twice_in_the_matrix_is_refused(matrix, match):
    with pytest.raises(ConfigError, match=match):
        parse_config(_base(corpora=_THREE, matrix=matrix))


def test_a_pool_and_its_corpora_alone_are_different_sources():
    # a pool is no duplicate of its members; a pool holding the target skips
    # that pair (a corpus is never its own target)
    cfg = parse_config(
        _base(
            corpora=_THREE, matrix={"sources": [["a", "b"], "a"], "targets": ["a", "c"]}
        )
    )
    assert cfg.pairs() == [(("a", "b"), "c"), (("a",), "c")]


def test_leave_one_out_pools_every_other_corpus_for_each_target():
    four = {**_THREE, "d": {"root": "w"}}
    cfg = parse_config(_base(corpora=four, matrix={"sources": "leave_one_out"}))
    # the pools a user would list by hand, in [corpora]'s order
    pools = [("b", "c", "d"), ("a", "c", "d"), ("a", "b", "d"), ("a", "b", "c")]
    assert cfg.sources == pools
    assert cfg.pairs() == [
        (("b", "c", "d"), "a"),
        (("a", "c", "d"), "b"),
        (("a", "b", "d"), "c"),
        (("a", "b", "c"), "d"),
    ]
    by_hand = parse_config(
        _base(
            corpora=four,
            matrix={"sources": [list(p) for p in pools]},
        )
    )
    assert by_hand.pairs() == cfg.pairs()
    # listed targets: one pool each, still of every other corpus
    some = parse_config(
        _base(corpora=four, matrix={"sources": "leave_one_out", "targets": ["c", "a"]})
    )
    assert some.pairs() == [(("a", "b", "d"), "c"), (("b", "c", "d"), "a")]
    # two corpora: each against the other, the default matrix
    two = parse_config(_base(matrix={"sources": "leave_one_out"}))
    assert sorted(two.pairs()) == sorted(parse_config(_base()).pairs())


def test_leave_one_out_is_read_from_a_file(tmp_path):
    p = tmp_path / "exp.toml"
    p.write_text(
        "[corpora.a]\nroot = 'x'\n[corpora.b]\nroot = 'y'\n[corpora.c]\nroot = 'z'\n"
        "[matrix]\nsources = 'leave_one_out'\ntargets = ['b']\n"
        "[[methods]]\nname = 'dss'\n"
    )
    assert load_config(p).pairs() == [(("a", "c"), "b")]


@pytest.mark.parametrize(
    ("over", "match"),
    [
        (
            {"matrix": {"sources": "leave-one-out"}},
            r"\[matrix\] sources: must be a list of corpus names \(a list inside "
            r"it pools corpora\) or \"leave_one_out\" .*got 'leave-one-out'\. "
            r"Did you mean 'leave_one_out'\?",
        ),
        (
            {"matrix": {"sources": "a"}},
            r"\[matrix\] sources: must be a list of corpus names .*got 'a'\.$",
        ),
        (
            {"matrix": {"sources": 3}},
            r"\[matrix\] sources: must be a list of corpus names or "
            r"\"leave_one_out\", got int 3",
        ),
        (
            {"matrix": {"sources": ["leave_one_out"]}},
            r"\[matrix\] sources: unknown corpus 'leave_one_out' \(for every "
            r"other corpus pooled, write sources = \"leave_one_out\", not inside",
        ),
        (
            {"matrix": {"sources": "leave_one_out"}, "corpora": {"a": {"root": "x"}}},
            r"\[matrix\] sources: \"leave_one_out\" pools the corpora other than "
            r"each target: define at least two corpora in \[corpora\], got a\.",
        ),
        (  # targets are checked as ever
            {"matrix": {"sources": "leave_one_out", "targets": ["a", "zz"]}},
            r"\[matrix\] targets: unknown corpus 'zz'",
        ),
    ],
)
def test_bad_leave_one_out_names_the_field(over, match):
    with pytest.raises(ConfigError, match=match):
        parse_config(_base(**over))


def test_pool_classes_defaults_to_the_classes_every_pooled_corpus_has():
    assert parse_config(_base()).pool_classes == "intersection"
    for classes in ("all", ["anger", "sadness"]):
        cfg = parse_config(_base(labels={"classes": classes, "pool_classes": "union"}))
        assert (cfg.pool_classes, cfg.classes) == ("union", classes)


@pytest.mark.parametrize(
    ("labels", "match"),
    [
        (
            {"classes": "all", "pool_classes": "any"},
            r"\[labels\] pool_classes: must be \"intersection\" \(a pooled source "
            r"keeps the classes every corpus of the pool has; the default\) or "
            r"\"union\" \(those any corpus of the pool has\), got 'any'\.",
        ),
        (
            {"classes": "all", "pool_classes": ["union"]},
            r"\[labels\] pool_classes: must be .*got \['union'\]\.",
        ),
        (  # "shared": every corpus has every class kept, union would change nothing
            {"pool_classes": "union"},
            r"\[labels\] pool_classes: \"union\" keeps a class that some corpora "
            r"of a pool lack, but classes = \"shared\" .*set \[labels\] classes = "
            r"\"all\" .* or a list of classes\.",
        ),
        (
            {"classes": "all", "pool_class": "union"},
            r"\[labels\] pool_class: unknown field\. Did you mean 'pool_classes'",
        ),
    ],
)
def test_bad_pool_classes_names_the_field(labels, match):
    with pytest.raises(ConfigError, match=match):
        parse_config(_base(labels=labels))


@pytest.mark.parametrize(
    ("over", "match"),
    [
        ({"protocl": {}}, r"protocl: unknown field\. Did you mean 'protocol'"),
        (
            {"protocol": {"target": "few_shot"}},
            r"\[protocol\] k: few_shot needs k >= 2",
        ),
        (
            {"protocol": {"target": "few_shot", "k": 1}},
            r"\[protocol\] k: few_shot needs k >= 2 .* got 1: model selection",
        ),
        ({"protocol": {"k": 3}}, r"\[protocol\] k: k is used only"),
        ({"protocol": {"metric": "f1"}}, r"\[protocol\] metric: must be"),
        (
            {"protocol": {"seeds": ["a"]}},
            r"\[protocol\] seeds: must be a list of integers",
        ),
        (
            {"protocol": {"confidence": 2}},
            r"\[protocol\] confidence: must be between 0 and 1",
        ),
        ({"protocol": {"bootstrap": -1}}, r"\[protocol\] bootstrap: must be >= 0"),
        ({"matrix": {"sources": ["zz"]}}, r"\[matrix\] sources: unknown corpus 'zz'"),
        ({"labels": {"classes": "some"}}, r"\[labels\] classes: must be \"shared\""),
        ({"labels": {"classes": ["anger"]}}, r"\[labels\] classes: list at least two"),
        ({"classifier": {"name": "xgboost"}}, r"\[classifier\] name: must be one of"),
        ({"methods": []}, r"\[\[methods\]\]: list at least one method"),
        ({"methods": [{"adapter": "coral"}]}, r"\[\[methods\]\] #1 name: missing"),
        (
            {"methods": [{"name": "a"}, {"name": "a"}]},
            r"name: duplicate method name 'a'",
        ),
        (
            {"methods": [{"name": "a", "scaling": "global"}]},
            r"\[\[methods\]\] a scaling",
        ),
        (
            {"methods": [{"name": "a", "method": "best"}]},
            r"\[\[methods\]\] a method: only",
        ),
        (
            {"methods": [{"name": "a", "grid": {"reg": [1]}}]},
            r"a grid reg: keys are STEP__PARAM",
        ),
        (
            {
                "methods": [
                    {"name": "a", "adapter": "coral", "grid": {"coral__reg": []}}
                ]
            },
            r"a grid coral__reg: a non-empty list",
        ),
        (
            {"methods": [{"name": "a", "params": {"tca": {"mu": 1}}}]},
            r"a params tca: no such step",
        ),
        (
            {"methods": [{"name": "x", "method": "auto", "adapter": "coral"}]},
            r"x method: method = \"auto\" chooses its own",
        ),
        (
            {"methods": [{"name": "x", "method": "auto", "estimator": "kmm"}]},
            r"x estimator: method = \"auto\" takes its candidates' own settings",
        ),
        (
            {"methods": [{"name": "x", "candidates": ["dss"]}]},
            r"x candidates: only method = \"auto\" chooses among candidates",
        ),
        ({"corpora": {"a": {"reader": "emodb"}}}, r"\[corpora\.a\] root: missing"),
        (
            {"corpora": {"a": {"root": "x", "path": "y"}}},
            r"\[corpora\.a\] path: unknown field",
        ),
        (
            {"corpora": {"a+b": {"root": "x"}, "c": {"root": "y"}}},
            r"\[corpora\.a\+b\]: corpus names use letters, digits, _ \. - only",
        ),
        (  # "$" of a regular expression also matches before a final newline
            {"corpora": {"a\n": {"root": "x"}, "c": {"root": "y"}}},
            r"\[corpora\.a\n\]: corpus names use letters, digits, _ \. - only",
        ),
        (
            {"methods": [{"name": "dss\n", "adapter": "dss"}]},
            r"\[\[methods\]\] #1 name: use letters, digits, _ \. \+ - only",
        ),
        ({"features": {"n_jobs": 0}}, r"\[features\] n_jobs: must be a positive"),
        (
            {"features": {"set": "functional"}},
            r"\[features\] set: unknown feature set 'functional'\. Did you mean "
            r"'functionals'\? Use 'functionals' or 'mfcc_stats'",
        ),
        (
            {"features": {"set": "logmel"}},
            r"\[features\] set: \"logmel\" gives a sequence of frames per file",
        ),
        ({"save_models": "yes"}, r"save_models: must be true or false"),
        ({"pca_points": 0}, r"pca_points: must be >= 1"),
        ({"protocol": {"seeds": [0, -1]}}, r"\[protocol\] seeds: seeds must be >= 0"),
        (  # numpy and scikit-learn refused it in every cell, after extraction
            {"protocol": {"seeds": [2**32]}},
            r"\[protocol\] seeds: seeds must be <= 4294967295 \(2\*\*32 - 1",
        ),
        (  # the Pipeline refused two steps of one name in every cell's fit
            {"methods": [{"name": "x", "adapter": ["coral", "coral"]}]},
            r"\[\[methods\]\] x adapter: \['coral', 'coral'\] lists 'coral' more "
            r"than once: .* List each adapter once: \['coral'\]\.",
        ),
        (  # every candidate failed to score, and the run exited 0
            {"methods": [{"name": "x", "method": "auto", "scorers": ["target"]}]},
            r"\[\[methods\]\] x scorers: 'target' scores held-out labelled target "
            r"rows, which only \[protocol\] target = \"few_shot\" has",
        ),
        (  # replaced by the scorer target without a word
            {
                "protocol": {"target": "few_shot", "k": 2},
                "methods": [{"name": "x", "scorers": ["prediction_entropy"]}],
            },
            r"\[\[methods\]\] x scorers: with \[protocol\] target = \"few_shot\" "
            r"selection scores UAR .* so \['prediction_entropy'\] would be ignored",
        ),
        (  # ignored without target labels, as k is
            {"protocol": {"test_speaker_fraction": 0.3}},
            r"\[protocol\] test_speaker_fraction: is used only with target = "
            r"\"few_shot\"",
        ),
        (  # AudioFeatures got [features] set instead, without a word
            {"features": {"set": "functionals", "params": {"feature_set": "x"}}},
            r"\[features\] params feature_set: is set by set = \"\.\.\.\" in "
            r"\[features\], which would replace this value",
        ),
        (
            {"features": {"params": {"n_jobs": 4}}},
            r"\[features\] params n_jobs: is set by n_jobs = \.\.\. in \[features\]",
        ),
        (
            {"features": {"params": {"cache_dir": "x"}}},
            r"\[features\] params cache_dir: is set by cache_dir = \"\.\.\.\" in "
            r"\[features\]",
        ),
        (
            {"features": {"params": {"client": "tcp://x:8786"}}},
            r"\[features\] params client: is set by --scheduler or --workers on the "
            r"command line",
        ),
        (  # each cell computed twice and counted twice in the means before
            {"protocol": {"seeds": [0, 1, 0]}},
            r"\[protocol\] seeds: \[0, 1, 0\] lists 0 more than once: .* List "
            r"each seed once: \[0, 1\]\.",
        ),
        (  # counted twice in the candidates' mean rank, without a word
            {
                "methods": [
                    {
                        "name": "a",
                        "scorers": ["reverse_validation", "prediction_entropy"] * 2,
                    }
                ]
            },
            r"\[\[methods\]\] a scorers: .* lists 'prediction_entropy', "
            r"'reverse_validation' more than once: .* count twice .* List each "
            r"once: \['reverse_validation', 'prediction_entropy'\]\.",
        ),
        (  # fitted and scored twice
            {
                "methods": [
                    {"name": "x", "method": "auto", "candidates": ["dss", "dss"]}
                ]
            },
            r"\[\[methods\]\] x candidates: \['dss', 'dss'\] lists 'dss' more "
            r"than once",
        ),
        (  # one cell file for both on a file system that ignores case
            {"methods": [{"name": "dss"}, {"name": "DSS"}]},
            r"\[\[methods\]\] #2 name: method names 'dss' and 'DSS' differ only "
            r"in case: .* rename one\.",
        ),
        (
            {
                "corpora": {
                    "emodb": {"root": "x"},
                    "EmoDB": {"reader": "emodb", "root": "y"},
                }
            },
            r"\[corpora\.EmoDB\]: corpus names 'emodb' and 'EmoDB' differ only in "
            r"case",
        ),
        (
            {"labels": {"classes": ["anger", "sadness", "anger"]}},
            r"\[labels\] classes: .* lists 'anger' more than once",
        ),
        (
            {"methods": [{"name": "a", "scorers": []}]},
            r"\[\[methods\]\] a scorers: list at least one scorer",
        ),
        (
            {"methods": [{"name": "x", "method": "auto", "candidates": []}]},
            r"\[\[methods\]\] x candidates: list at least one candidate",
        ),
        (
            {"corpora": {"a": {"root": "x"}}},
            r"\[matrix\]: no source/target pair",
        ),
        (
            {"matrix": {"sources": ["a"], "targets": ["a"]}},
            r"\[matrix\]: no source/target pair",
        ),
        (
            {"matrix": {"sources": [[]]}},
            r"\[matrix\] sources: a group of pooled corpora lists at least one",
        ),
    ],
)
def test_bad_config_names_the_field(over, match):
    with pytest.raises(ConfigError, match=match):
        parse_config(_base(**over))


def test_few_shot_accepts_the_target_scorer_and_no_scorers():
    # what few-shot selection uses anyway is no conflict
    few = {"target": "few_shot", "k": 2, "test_speaker_fraction": 0.25}
    methods = [{"name": "x", "scorers": ["target"]}, {"name": "y"}]
    cfg = parse_config(_base(protocol=few, methods=methods))
    assert cfg.protocol.test_speaker_fraction == 0.25


def test_feature_cache_folder_that_is_a_file_names_the_field(tmp_path):
    # the extraction went on without a cache, on every run
    afile = tmp_path / "afile"
    afile.write_text("x")
    for cache, what in ((afile, "is a file"), (afile / "c", "is inside the file")):
        with pytest.raises(
            ConfigError, match=rf"\[features\] cache_dir: .* {what}.*, not a folder"
        ):
            parse_config(_base(features={"cache_dir": str(cache)}))


def test_unreadable_experiment_file_is_one_message(tmp_path, monkeypatch):
    # an OSError other than a missing file (a device, a broken disk) was a
    # traceback
    p = tmp_path / "exp.toml"
    p.write_text("")

    def fail(*args, **kwargs):
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(type(p), "read_text", fail)
    with pytest.raises(
        ConfigError, match=r"exp\.toml: cannot read the experiment file \(Input"
    ):
        load_config(p)


@pytest.mark.parametrize(
    ("labels", "match"),
    [
        (  # a key no corpus has would rename nothing: calm silently dropped
            {"mapping": {"clam": "neutral"}},
            r"exp\.toml: \[labels\] mapping clam: no corpus has the emotion "
            r"'clam'\. Did you mean 'calm'\?",
        ),
        (
            {"mapping": {"calm": "neutrall"}},
            r"\[labels\] mapping calm: 'neutrall' is not a known emotion\. "
            r"Did you mean 'neutral'\?",
        ),
        (
            {"classes": ["negative", "neutral"], "mapping": {"anger": "negativ"}},
            r"\[labels\] mapping anger: 'negativ' .* Did you mean 'negative'\?",
        ),
    ],
)
def test_bad_label_mapping_names_the_field(labels, match, tmp_path):
    # emodb and ravdess declare their emotions: checked before any corpus is read
    p = tmp_path / "exp.toml"
    p.write_text(
        '[corpora.a]\nreader = "emodb"\nroot = "missing"\n'
        '[corpora.b]\nreader = "ravdess"\nroot = "missing"\n'
        '[[methods]]\nname = "dss"\n'
    )
    with pytest.raises(ConfigError, match=match):
        load_config(p, overrides={"labels": labels})


def test_good_label_mapping_is_accepted():
    cfg = parse_config(_base(labels={"mapping": {"calm": "neutral"}}))
    assert cfg.mapping == {"calm": "neutral"}
    listed = {"classes": ["negative", "positive"]}
    mapping = {"anger": "negative", "happiness": "positive"}
    cfg = parse_config(_base(labels={**listed, "mapping": mapping}))
    assert cfg.mapping == mapping
    # a csv corpus knows its labels only once read: checked after reading
    corpora = {
        "a": {"reader": "emodb", "root": "x"},
        "c": {"reader": "csv", "root": "y"},
    }
    cfg = parse_config(_base(corpora=corpora, labels={"mapping": {"joy": "delight"}}))
    assert cfg.mapping == {"joy": "delight"}


def test_label_mapping_key_is_an_emotion_in_any_case():
    # "Calm" is the emotion calm, as select_emotions reads the key; it was
    # refused: "no corpus has the emotion 'Calm'. Did you mean 'calm'?"
    cfg = parse_config(_base(labels={"mapping": {"Calm": "neutral"}}))
    assert cfg.mapping == {"Calm": "neutral"}


def test_load_config_errors(tmp_path):
    with pytest.raises(ConfigError, match="experiment file not found"):
        load_config(tmp_path / "missing.toml")
    (tmp_path / "exp.toml").write_text("")
    with pytest.raises(
        ConfigError, match=r"is a folder; give the experiment file .*exp\.toml"
    ):
        load_config(tmp_path)
    bad = tmp_path / "bad.toml"
    bad.write_text("[corpora\nx = 1\n")
    with pytest.raises(ConfigError, match="bad.toml: not valid TOML"):
        load_config(bad)


def test_sample_root_points_at_the_shipped_sample():
    cfg = parse_config(
        _base(
            corpora={
                "a": {"reader": "emodb", "root": "sample"},
                "b": {"reader": "ravdess", "root": "sample"},
            }
        )
    )
    assert (cfg.corpora["a"].root / "wav").is_dir()
    with pytest.raises(ConfigError, match=r"\[corpora\.a\] root: \"sample\" names"):
        parse_config(_base(corpora={"a": {"reader": "urdu", "root": "sample"}}))
    # a misspelt reader is named as such, with the readers there are
    misspelt = {"a": {"reader": "ravdes", "root": "sample"}}
    with pytest.raises(
        ConfigError,
        match=r"^<config>: \[corpora\.a\] reader: No corpus named 'ravdes'.*ravdess",
    ):
        parse_config(_base(corpora=misspelt))


def test_examples_parse():
    from pathlib import Path

    from sertl_experiments._config import tomllib  # tomli before Python 3.11

    # the repository ships its example experiments: a missing folder is a
    # moved or deleted example, not a reason to skip
    examples = Path(__file__).resolve().parents[3] / "examples"
    files = sorted(examples.glob("*.toml"))
    assert files, f"no example experiments in {examples}"
    for f in files:
        cfg = load_config(f)
        raw = tomllib.loads(f.read_text(encoding="utf-8"))
        assert [m.name for m in cfg.methods] == [m["name"] for m in raw["methods"]]
        assert sorted(cfg.corpora) == sorted(raw["corpora"])


def test_paths_are_absolute_whatever_the_working_folder(tmp_path, monkeypatch):
    # a relative experiment path gave cwd-relative paths (exp1/../cache), which
    # a saved model then carried: loaded elsewhere, it wrote stray caches
    (tmp_path / "exp1").mkdir()
    (tmp_path / "exp1" / "exp.toml").write_text(
        'output = "out"\n[corpora.a]\nreader = "emodb"\nroot = "../data/a"\n'
        '[corpora.b]\nreader = "ravdess"\nroot = "sample"\n'
        '[features]\ncache_dir = "../cache"\n[[methods]]\nname = "dss"\n'
    )
    monkeypatch.chdir(tmp_path)
    cfg = load_config("exp1/exp.toml")
    assert cfg.features.cache_dir == tmp_path / "cache"
    assert cfg.corpora["a"].root == tmp_path / "data" / "a"
    assert cfg.output == tmp_path / "exp1" / "out"
    cfg = parse_config(_base(output="out"), base_dir="sub/..")
    assert cfg.output == tmp_path / "out"
    assert cfg.corpora["b"].root == tmp_path / "y"


def test_reader_options_are_passed_on_and_checked(tmp_path):
    import shutil

    from sertl_experiments._data import load_corpus_table
    from sertl_speech import load_sample

    pattern = "^(?P<speaker>[^_]+)_"
    corpora = {
        "mine": {
            "reader": "folders",
            "root": "m",
            "options": {"speaker_pattern": pattern},
        },
        "b": {"reader": "ravdess", "root": "y"},
    }
    cfg = parse_config(_base(corpora=corpora), base_dir=tmp_path)
    assert cfg.corpora["mine"].options == {"speaker_pattern": pattern}
    # the folders reader gets them: speakers from the file names
    for i, row in enumerate(load_sample("emodb").head(4).itertuples()):
        folder = tmp_path / "m" / row.emotion
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copy(row.file, folder / f"spk{i % 2}_take{i}.flac")
    table = load_corpus_table(cfg.corpora["mine"])
    assert sorted(set(table["speaker"])) == ["spk0", "spk1"]
    # an option the reader does not take: named, with the reader's options
    corpora["mine"]["options"] = {"speaker_patern": pattern}
    with pytest.raises(
        ConfigError,
        match=r"^<config>: \[corpora\.mine\] options: the reader 'folders' has no "
        r"option 'speaker_patern'\. Did you mean 'speaker_pattern'\? Its options: "
        r"speaker_pattern, corpus, language, levels\.$",
    ):
        parse_config(_base(corpora=corpora))
    corpora["b"]["options"] = {"speaker_pattern": pattern}
    corpora["mine"]["options"] = {}
    with pytest.raises(
        ConfigError,
        match=r"\[corpora\.b\] options: the reader 'ravdess' has no option "
        r"'speaker_pattern'\. Its options: vocal_channel\.",
    ):
        parse_config(_base(corpora=corpora))
    corpora["b"] = {"reader": "emodb", "root": "y", "options": {"x": 1}}
    with pytest.raises(
        ConfigError,
        match=r"\[corpora\.b\] options: the reader 'emodb' takes no options",
    ):
        parse_config(_base(corpora=corpora))
    corpora["b"] = {"reader": "emodb", "root": "y", "options": "spk"}
    with pytest.raises(ConfigError, match=r"\[corpora\.b\] options: must be a table"):
        parse_config(_base(corpora=corpora))


@pytest.mark.parametrize(
    ("corpus", "match"),
    [
        (
            {"reader": "csv"},
            r"\[corpora\.a\] root: missing: the CSV file that lists the corpus "
            r"\(columns file, label or emotion, speaker",
        ),
        (
            {"reader": "folders"},
            r"\[corpora\.a\] root: missing: the folder that holds one folder of "
            r"audio files per label\.",
        ),
        ({}, r"\[corpora\.a\] root: missing: the folder of the corpus as downloaded"),
    ],
)
def test_missing_root_is_worded_for_the_reader(corpus, match):
    with pytest.raises(ConfigError, match=match):
        parse_config(_base(corpora={"a": corpus, "b": {"root": "y"}}))


def test_a_missing_csv_root_asks_for_the_csv_file(tmp_path):
    # "give the folder of the corpus as downloaded" for a CSV file
    from sertl_experiments import ExperimentError
    from sertl_experiments._data import load_corpus_table

    cfg = parse_config(
        _base(
            corpora={
                "mine": {"reader": "csv", "root": "lables.csv"},
                "b": {"root": "y"},
            }
        ),
        base_dir=tmp_path,
    )
    with pytest.raises(
        ExperimentError,
        match=r"\[corpora\.mine\] root: '\S+lables\.csv' does not exist; give the "
        r"CSV file that lists the corpus \(columns file, label or emotion",
    ):
        load_corpus_table(cfg.corpora["mine"])


def test_missing_reader_says_it_defaults_to_the_table_name(tmp_path):
    # "[corpora.mine] reader: No corpus named 'mine'." read as a misspelt reader
    from sertl_experiments._data import load_corpus_table

    said = (
        r"\[corpora\.mine\] reader: missing: without reader = \.\.\., the reader is "
        r"the table's name, 'mine', and no corpus reader has that name\. Add "
        r'reader = "csv" .*; the readers are .*csv.*folders'
    )
    cfg = parse_config(
        _base(corpora={"mine": {"root": "."}, "b": {"root": "y"}}), base_dir=tmp_path
    )
    assert cfg.corpora["mine"].reader_from_name
    with pytest.raises(ConfigError, match=said):
        load_corpus_table(cfg.corpora["mine"])
    # found before any reading where the table needs the reader
    for spec in ({"root": "sample"}, {"root": ".", "options": {"x": 1}}):
        with pytest.raises(ConfigError, match="^<config>: " + said):
            parse_config(_base(corpora={"mine": spec, "b": {"root": "y"}}))
    # a reader given and misspelt keeps the registry's answer
    cfg = parse_config(
        _base(corpora={"mine": {"reader": "cvs", "root": "."}, "b": {"root": "y"}}),
        base_dir=tmp_path,
    )
    with pytest.raises(
        ConfigError, match=r"\[corpora\.mine\] reader: No corpus named 'cvs'"
    ):
        load_corpus_table(cfg.corpora["mine"])


def test_auto_that_would_ignore_params_says_so_first():
    # following "params coral: no such step" led to "auto would ignore params"
    with pytest.raises(
        ConfigError,
        match=r"\[\[methods\]\] x params: method = \"auto\" takes its candidates' "
        r"own settings and would ignore params",
    ):
        parse_config(
            _base(methods=[{"name": "x", "method": "auto", "params": {"coral": {}}}])
        )
    with pytest.raises(ConfigError, match=r"x method: method = \"auto\" chooses"):
        parse_config(
            _base(
                methods=[{"name": "x", "method": "auto", "grid": {"coral__reg": [1]}}]
            )
        )


@pytest.mark.parametrize(
    ("method", "field"),
    [
        ({"adapter": ["coral", "model"]}, "adapter"),
        ({"adapter": "adapt12"}, "adapter"),
        ({"estimator": "scale"}, "estimator"),
        ({"adapter": "features"}, "adapter"),
    ],
)
def test_a_step_named_like_the_pipelines_own_is_refused(method, field):
    with pytest.raises(
        ConfigError,
        match=rf"\[\[methods\]\] x {field}: '\w+' cannot be used by sertl run and "
        r"sertl grid: .* its plugin must give it another registry_name\.",
    ):
        parse_config(_base(methods=[{"name": "x", **method}]))
