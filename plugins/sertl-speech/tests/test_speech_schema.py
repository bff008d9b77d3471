"""Emotion schema: vocabulary, coordinates, shared classes, binary tasks."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest
from sertl_speech import (
    EMOTION_COORDINATES,
    EMOTIONS,
    canonical_emotion,
    emotion_coordinates,
    get_reader_class,
    map_emotions,
    select_emotions,
    shared_classes,
    to_binary_arousal,
    to_binary_valence,
)


def test_vocabulary_and_unit_circle():
    assert set(EMOTIONS) == {
        "anger", "boredom", "calm", "disgust", "fear", "happiness", "neutral",
        "sadness", "surprise", "frustration", "excitement",
    }  # fmt: skip
    for name, (v, a) in EMOTION_COORDINATES.items():
        radius = math.hypot(v, a)
        assert radius == 0 if name == "neutral" else abs(radius - 1) < 0.02, name
    # Russell's circumplex, (valence, arousal): anger aroused and unpleasant,
    # calm pleasant and low
    assert EMOTION_COORDINATES["anger"][1] > 0.9 > 0 > EMOTION_COORDINATES["anger"][0]
    assert EMOTION_COORDINATES["calm"][1] < 0 < EMOTION_COORDINATES["calm"][0]
    # the table sertl-relational places classes with (one order, one source)
    relational = pytest.importorskip("sertl_relational")
    assert relational.DEFAULT_COORDINATES == EMOTION_COORDINATES


def test_every_reader_speaks_the_vocabulary():
    for name in ("emodb", "ravdess", "savee", "tess", "crema_d", "emovo",
                 "urdu", "turev_db", "iemocap"):  # fmt: skip
        cls = get_reader_class(name)
        assert set(cls.emotions) <= set(EMOTIONS), name
        codes = getattr(cls, "_CODES", None)  # TESS spells its emotions out
        if codes is not None:
            assert set(codes.values()) == set(cls.emotions), name


def test_canonical_emotion_aliases():
    assert [canonical_emotion(x) for x in ["ANGRY", " sad ", "ps", "exc", "joy"]] == [
        "anger", "sadness", "surprise", "excitement", "happiness",
    ]  # fmt: skip
    assert canonical_emotion("contempt") is None


def test_coordinates_and_binary_tasks():
    emo = ["anger", "boredom", "calm", "happiness", "neutral", "sadness", "fear"]
    coords = emotion_coordinates(emo)
    assert coords.shape == (7, 2)
    assert to_binary_arousal(emo).tolist() == [
        "high", "low", "low", "high", "low", "low", "high",
    ]  # fmt: skip
    assert to_binary_valence(emo).tolist() == [
        "negative", "negative", "positive", "positive", "positive", "negative", "negative",
    ]  # fmt: skip
    assert to_binary_arousal(["neutral"], neutral="high").tolist() == ["high"]
    assert to_binary_valence(["neutral"], neutral="negative").tolist() == ["negative"]
    # a corpus table works as input (its emotion column)
    table = pd.DataFrame({"emotion": ["anger", "sadness"]})
    assert to_binary_arousal(table).tolist() == ["high", "low"]
    np.testing.assert_array_equal(
        emotion_coordinates(table), emotion_coordinates(["anger", "sadness"])
    )


def test_binary_errors():
    with pytest.raises(ValueError, match=r"unknown emotion\(s\) \['angry'\]"):
        to_binary_arousal(["angry"])
    with pytest.raises(ValueError, match="neutral='medium' is not valid"):
        to_binary_arousal(["anger"], neutral="medium")
    with pytest.raises(ValueError, match="neutral='low' is not valid"):
        to_binary_valence(["anger"], neutral="low")


def test_shared_classes_mixed_inputs():
    table = pd.DataFrame({"emotion": ["anger", "sadness", "calm"]})
    assert shared_classes("ravdess", table) == ["anger", "calm", "sadness"]
    assert shared_classes("urdu", ["anger", "fear", "neutral"]) == ["anger", "neutral"]
    assert shared_classes("emodb", "ravdess", "urdu") == [
        "anger", "happiness", "neutral", "sadness",
    ]  # fmt: skip
    with pytest.raises(ValueError, match="at least one"):
        shared_classes()
    with pytest.raises(ValueError, match="'emotion' column"):
        shared_classes(pd.DataFrame({"x": [1]}))
    with pytest.raises(TypeError, match="got int"):
        shared_classes(3)


def test_select_emotions_maps_filters_and_copies():
    table = pd.DataFrame(
        {
            "emotion": ["excitement", "happiness", "anger", "fear"],
            "emotion_orig": ["exc", "hap", "ang", "fea"],
        },
        index=[10, 11, 12, 13],
    )
    before = table.copy()
    out = select_emotions(
        table, ["happiness", "anger"], mapping={"excitement": "happiness"}
    )
    assert out["emotion"].tolist() == ["happiness", "happiness", "anger"]
    assert out["emotion_orig"].tolist() == ["exc", "hap", "ang"]
    assert out.index.tolist() == [0, 1, 2]
    pd.testing.assert_frame_equal(table, before)
    assert select_emotions(table, "fear")["emotion"].tolist() == ["fear"]
    with pytest.raises(ValueError, match=r"unknown class\(es\) \['angry'\]"):
        select_emotions(table, ["angry"])
    with pytest.raises(ValueError, match="no row has an emotion"):
        select_emotions(table, ["calm"])
    with pytest.raises(ValueError, match="mapping targets"):
        select_emotions(table, mapping={"fear": "scared"})
    with pytest.raises(
        TypeError,
        match=r"^select_emotions: mapping must be a dict of emotion -> emotion, got "
        r"list \[\('fear', 'anger'\)\]; e\.g\. mapping=",
    ):
        select_emotions(table, mapping=[("fear", "anger")])
    with pytest.raises(ValueError, match="'emotion' column"):
        select_emotions(pd.DataFrame({"x": [1]}), ["anger"])


def test_select_emotions_maps_a_users_label_in_any_case(tmp_path):
    # the csv reader keeps an unknown label in lower case ("wut"), and tells
    # the user to map it; select_emotions(mapping={"Wut": "anger"}), the label
    # as the user's CSV writes it, renamed nothing, silently
    import soundfile as sf
    from sertl_speech import CorpusWarning, load_corpus

    t = np.arange(2000) / 8000
    lines = ["file,label,speaker"]
    for i, label in enumerate(["Wut", "wut", " WUT", "Neutral", "Angry", "anger"]):
        sf.write(str(tmp_path / f"{i}.wav"), 0.1 * np.sin(2 * np.pi * 220 * t), 8000)
        lines.append(f"{i}.wav,{label},s{i % 2}")
    (tmp_path / "mine.csv").write_text("\n".join(lines) + "\n")
    with pytest.warns(CorpusWarning, match=r"label\(s\) \['wut'\]"):
        table = load_corpus("csv", tmp_path / "mine.csv")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for key in ("Wut", "wut", "WUT "):
            out = select_emotions(table, mapping={key: "anger"})
            assert (
                out["emotion"].tolist() == ["anger"] * 3 + ["neutral"] + ["anger"] * 2
            ), key
        # a key naming a label renames the rows written so, not its emotion
        out = select_emotions(table, mapping={"angry": "frustration", "wut": "anger"})
        assert out["emotion"].tolist() == ["anger"] * 3 + [
            "neutral", "frustration", "anger"
        ]  # fmt: skip
        out = select_emotions(table, ["anger"], mapping={"Wut": "anger"})
        assert len(out) == 5
    with pytest.warns(
        CorpusWarning,
        match=r"mapping key\(s\) \['Wtu'\] match no emotion and no label of this "
        r"table, so they rename nothing; its emotions and labels are \[.*'Wut'",
    ):
        out = select_emotions(table, mapping={"Wtu": "anger"})
    assert out["emotion"].tolist() == table["emotion"].tolist()


def test_map_emotions_renames_without_warning_and_refuses_bad_input():
    table = pd.DataFrame(
        {
            "emotion": ["anger", "anger", "wut"],
            "emotion_orig": ["angry", "anger", "Wut"],
        }
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a key matching no row: no warning here
        out = map_emotions(table, {"Anger": "frustration", "WUT": "anger", "x": "fear"})
    assert out.tolist() == ["frustration", "frustration", "anger"]
    assert table["emotion"].tolist() == ["anger", "anger", "wut"]
    with pytest.raises(TypeError, match=r"^map_emotions: mapping must be a dict"):
        map_emotions(table, [("anger", "fear")])
    with pytest.raises(ValueError, match=r"^map_emotions needs a corpus table"):
        map_emotions(pd.DataFrame({"x": [1]}), {"anger": "fear"})


def test_select_emotions_one_mapping_for_several_corpora_warns_of_no_emotion():
    # IEMOCAP's merge, applied to every corpus of a cross-corpus study:
    # EmoDB has no excitement, which is no misspelling to warn about
    from sertl_speech import CorpusWarning, load_sample

    table = load_sample("emodb")
    mapping = {"excitement": "happiness", "calm": "neutral"}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = select_emotions(table, ["anger", "happiness"], mapping=mapping)
    assert set(out["emotion"]) == {"anger", "happiness"}
    assert len(out) == table["emotion"].isin(["anger", "happiness"]).sum()
    # a key that is no emotion and no label of the table still warns
    with pytest.warns(CorpusWarning, match=r"\['excitment'\]"):
        select_emotions(table, mapping={"excitment": "happiness"})
