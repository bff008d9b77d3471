"""Corpus readers: the real corpora against their reference labels, and
synthetic trees in the official layouts of the other corpora."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
from sertl_speech import (
    COLUMNS,
    CorpusReader,
    CorpusWarning,
    CsvCorpus,
    get_reader_class,
    load_corpus,
)

# -- the real corpora against reference_labels.csv -------------------------

REAL = [
    ("emodb", "EmoDB"),
    ("ravdess", "RAVDESS"),
    ("urdu", "URDU"),
    ("turev_db", "TurEV-DB"),
]


@pytest.mark.parametrize(("name", "folder"), REAL)
def test_real_corpus_matches_reference(corpora_root, name, folder):
    root = Path(corpora_root) / folder
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a valid official corpus reads cleanly
        table = load_corpus(name, root)
    ref = pd.read_csv(root / "reference_labels.csv", dtype=str, keep_default_na=False)
    ref["file"] = [str((root / f).resolve()) for f in ref["file"]]
    ref = ref.sort_values("file").reset_index(drop=True)
    assert list(table.columns) == list(COLUMNS)
    assert len(table) == len(ref)
    assert table["file"].tolist() == ref["file"].tolist()
    for col in ("corpus", "speaker", "language", "emotion", "emotion_orig"):
        assert table[col].tolist() == ref[col].tolist(), col
    assert table["gender"].tolist() == ref["gender"].replace("", "unknown").tolist()
    np.testing.assert_allclose(
        table["duration"], ref["duration_s"].astype(float), atol=1e-3
    )


def test_real_corpus_emotion_filter(corpora_root):
    table = load_corpus(
        "emodb", Path(corpora_root) / "EmoDB", emotions=["anger", "neutral"]
    )
    assert set(table["emotion"]) == {"anger", "neutral"}
    assert len(table) == 127 + 79


# -- synthetic trees --------------------------------------------------------


def _wav(path, seconds=0.25, sr=8000, fmt=None):
    path.parent.mkdir(parents=True, exist_ok=True)
    t = np.arange(int(seconds * sr)) / sr
    sf.write(str(path), 0.1 * np.sin(2 * np.pi * 220 * t), sr, format=fmt)
    return path


def _read(name, root, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return load_corpus(name, root, **kw)


def _rows(table):
    return {
        Path(f).name: (s, g, o, e)
        for f, s, g, o, e in zip(
            table["file"],
            table["speaker"],
            table["gender"],
            table["emotion_orig"],
            table["emotion"],
            strict=True,
        )
    }


def test_emodb_wav_and_any_rate(tmp_path):
    _wav(tmp_path / "wav" / "03a01Wa.wav", seconds=0.5, sr=22050)
    _wav(tmp_path / "wav" / "16b10Lb.flac", seconds=0.25, sr=48000)
    t = _read("emodb", tmp_path)
    assert _rows(t) == {
        "03a01Wa.wav": ("03", "male", "W", "anger"),
        "16b10Lb.flac": ("16", "female", "L", "boredom"),
    }
    np.testing.assert_allclose(sorted(t["duration"]), [0.25, 0.5], atol=1e-4)
    assert t["language"].unique().tolist() == ["de"]
    assert all(Path(f).is_absolute() for f in t["file"])


def test_emodb_bad_names_are_reported_and_skipped(tmp_path):
    _wav(tmp_path / "wav" / "03a01Wa.wav")
    _wav(tmp_path / "wav" / "03a01Xa.wav")  # unknown emotion letter
    _wav(tmp_path / "wav" / "99a01Wa.wav")  # not an EmoDB speaker
    _wav(tmp_path / "wav" / "._03a01Wa.wav")  # macOS resource fork: ignored
    with pytest.warns(CorpusWarning, match=r"(?s)skipped 2 file.*03a01Xa.*99a01Wa"):
        t = load_corpus("emodb", tmp_path)
    assert t["file"].map(lambda f: Path(f).name).tolist() == ["03a01Wa.wav"]


def test_duplicate_utterances_are_reported(tmp_path):
    # A root above two copies of EmoDB (or a .wav beside its .flac) would
    # count each recording twice: the reader says so, naming the files.
    _wav(tmp_path / "copy1" / "wav" / "03a01Wa.wav")
    _wav(tmp_path / "copy2" / "wav" / "03a01Wa.wav")
    _wav(tmp_path / "copy2" / "wav" / "16b10Lb.wav")
    _wav(tmp_path / "copy2" / "wav" / "16b10Lb.flac")
    with pytest.warns(
        CorpusWarning,
        match=r"(?s)2 utterance\(s\) occur in more than one file.*03a01Wa",
    ):
        t = load_corpus("emodb", tmp_path)
    assert len(t) == 4  # reported, not silently dropped
    # one copy: no warning (_read turns warnings into errors)
    assert len(_read("emodb", tmp_path / "copy1")) == 1


@pytest.mark.parametrize(
    ("reader", "path"),
    [("urdu", "Sad/SF10_F1_S01.wav"), ("turev_db", "Sad/1157_hl_acik.wav")],
)
def test_emotion_folder_corpora_report_a_recording_found_twice(tmp_path, reader, path):
    # URDU and TurEV-DB stems name one recording each, as EmoDB's do; a
    # backup copy of a folder under the root was counted twice without a word
    _wav(tmp_path / path)
    folder, name = path.split("/")
    _wav(tmp_path / f"{folder}_backup_copy" / name)
    _wav(tmp_path / "old" / name)
    with pytest.warns(
        CorpusWarning,
        match=rf"(?s)1 utterance\(s\) occur in more than one file.*{name[:-4]}",
    ):
        t = load_corpus(reader, tmp_path)
    assert len(t) == 3  # reported, not silently dropped


def test_ravdess_speech_song_and_checks(tmp_path):
    _wav(tmp_path / "Actor_01" / "03-01-05-01-02-01-01.wav")
    _wav(tmp_path / "Actor_02" / "03-02-03-02-01-01-02.wav")  # song, happy
    t = _read("ravdess", tmp_path)
    assert _rows(t) == {
        "03-01-05-01-02-01-01.wav": ("Actor_01", "male", "05", "anger"),
        "03-02-03-02-01-01-02.wav": ("Actor_02", "female", "03", "happiness"),
    }
    assert len(_read("ravdess", tmp_path, vocal_channel="speech")) == 1
    assert _read("ravdess", tmp_path, vocal_channel="song")["speaker"].tolist() == [
        "Actor_02"
    ]
    with pytest.raises(ValueError, match="vocal_channel='talk' is not valid"):
        load_corpus("ravdess", tmp_path, vocal_channel="talk")
    _wav(tmp_path / "Actor_03" / "03-02-08-01-01-01-03.wav")  # no surprise in song
    _wav(tmp_path / "Actor_03" / "03-01-01-02-01-01-03.wav")  # strong neutral
    _wav(tmp_path / "Actor_03" / "03-01-04-01-01-01-05.wav")  # wrong actor folder
    with pytest.warns(CorpusWarning, match="skipped 3") as rec:
        load_corpus("ravdess", tmp_path)
    msg = str(rec[0].message)
    assert "song part" in msg and "strong" in msg
    assert (
        "actor 05 disagrees with its folder Actor_03: move the file to Actor_05" in msg
    )


def test_ravdess_vocal_channel_that_keeps_no_file_says_so(tmp_path):
    # a speech-only download read with vocal_channel="song": every file follows
    # the naming rule, the filter left them out; the error says which and why
    _wav(tmp_path / "Actor_01" / "03-01-05-01-02-01-01.wav")
    _wav(tmp_path / "Actor_02" / "03-01-03-02-01-01-02.wav")
    with pytest.raises(ValueError) as err:
        _read("ravdess", tmp_path, vocal_channel="song")
    msg = str(err.value)
    assert "none of the" not in msg and "follow the naming rule" in msg
    assert re.search(
        r"vocal_channel='song' .* all 2 are speech \(vocal channel 01\)\. "
        r"Read them with vocal_channel='speech' \(or 'both'\)",
        msg,
    ), msg
    song = tmp_path / "song"
    _wav(song / "Actor_02" / "03-02-03-02-01-01-02.wav")
    with pytest.raises(ValueError, match=r"1 is song \(vocal channel 02\)"):
        _read("ravdess", song, vocal_channel="speech")


def test_iemocap_with_only_unlabelled_utterances_says_so(tmp_path):
    # the same confusion for IEMOCAP's left-out xxx/oth utterances
    wav = tmp_path / "Session1" / "sentences" / "wav" / "Ses01F_impro01"
    _wav(wav / "Ses01F_impro01_F000.wav")
    _wav(wav / "Ses01F_impro01_M001.wav")
    ev = tmp_path / "Session1" / "dialog" / "EmoEvaluation"
    ev.mkdir(parents=True)
    (ev / "Ses01F_impro01.txt").write_text(
        "[1.0 - 2.0]\tSes01F_impro01_F000\txxx\t[2.5, 2.5, 2.5]\n"
        "[3.0 - 4.0]\tSes01F_impro01_M001\toth\t[2.5, 2.5, 2.5]\n"
    )
    with pytest.raises(ValueError, match=r"follow the naming rule are all left out"):
        _read("iemocap", tmp_path)


def test_symlinked_folders_are_followed_once(tmp_path):
    # a corpus assembled from links to shared storage: nothing is silently lost
    store = tmp_path / "store"
    _wav(store / "Actor_02" / "03-01-05-01-02-01-02.wav")
    root = tmp_path / "RAVDESS"
    _wav(root / "Actor_01" / "03-01-05-01-02-01-01.wav")
    _link(root / "Actor_02", store / "Actor_02", directory=True)
    _link(root / "Actor_01" / "loop", root, directory=True)
    t = _read("ravdess", root)
    assert sorted(t["speaker"]) == ["Actor_01", "Actor_02"]
    assert all(Path(f).is_relative_to(root.resolve()) for f in t["file"])


@pytest.mark.parametrize("descending", [False, True])
def test_folder_reached_twice_is_read_where_the_sorted_walk_meets_it(
    tmp_path, monkeypatch, descending
):
    # a folder reached twice (a label folder and a link to it) is read once,
    # through the path met first: that must not depend on the order in
    # which the file system lists a folder (os.listdir's order is
    # arbitrary), or the files' label (its folder) changes between machines
    import os

    root = tmp_path / "mine"
    _wav(root / "sad" / "b.wav")
    _link(root / "happy", root / "sad", directory=True)  # one store, two labels
    walk = os.walk

    def listed_in_another_order(*args, **kwargs):
        for top, dirs, files in walk(*args, **kwargs):
            # in place: the walk descends into this very list
            dirs.sort(reverse=descending)
            files.sort(reverse=descending)
            yield top, dirs, files

    monkeypatch.setattr(os, "walk", listed_in_another_order)
    t = _read("folders", root)
    assert t["emotion_orig"].tolist() == ["happy"]
    assert t["file"].tolist() == [str(root / "happy" / "b.wav")]


def _link(link, target, *, directory=False):
    """Make ``link`` a symbolic link to ``target`` (which may not exist).

    The test is skipped where the file system has no symbolic links.
    """
    link.parent.mkdir(parents=True, exist_ok=True)
    try:
        link.symlink_to(target, target_is_directory=directory)
    except OSError:  # pragma: no cover - no symlinks on this file system
        pytest.skip("symbolic links are not supported here")
    return link


def test_links_whose_target_is_missing_are_reported_not_dropped(tmp_path):
    # a corpus of links into storage that is not mounted: the readers used to
    # drop those files without a word
    root = tmp_path.resolve()
    gone = root / "unmounted" / "03a01Wa.wav"
    _wav(root / "emodb" / "wav" / "03a01Fa.wav")
    link = _link(root / "emodb" / "wav" / "03a01Wa.wav", gone)
    expected = [{"file": str(link), "reason": f"link target missing: {gone}"}]
    with pytest.warns(
        CorpusWarning, match=r"(?s)skipped 1 audio file.*wav/03a01Wa.wav: link target"
    ) as rec:
        t = load_corpus("emodb", root / "emodb")
    assert len(t) == 1
    assert t.attrs["skipped"] == expected
    assert rec[0].message.skipped == expected
    # the user-data readers say the same
    _wav(root / "mine" / "Sad" / "a.wav")
    link = _link(root / "mine" / "Sad" / "b.wav", gone)
    with pytest.warns(CorpusWarning, match=r"Sad/b.wav: link target missing"):
        t = load_corpus("folders", root / "mine")
    assert t.attrs["skipped"] == [
        {"file": str(link), "reason": f"link target missing: {gone}"}
    ]
    csv = root / "mine" / "list.csv"
    csv.write_text("file,label,speaker\nSad/a.wav,sad,s1\nSad/b.wav,sad,s1\n")
    with pytest.warns(CorpusWarning, match=r"Sad/b.wav: link target missing"):
        assert len(load_corpus("csv", csv)) == 1
    # nothing but such links: the error says they were there
    _link(root / "only" / "wav" / "03a01Wa.wav", gone)
    with (
        pytest.warns(CorpusWarning, match="link target missing"),
        pytest.raises(ValueError, match=r"no \.wav or \.flac file found .* that can"),
    ):
        load_corpus("emodb", root / "only")


def test_savee_official_and_flat(tmp_path):
    _wav(tmp_path / "AudioData" / "DC" / "a01.wav")
    _wav(tmp_path / "AudioData" / "KL" / "sa15.wav")
    _wav(tmp_path / "AudioData" / "JE" / "su03.wav")
    t = _read("savee", tmp_path)
    assert _rows(t) == {
        "a01.wav": ("DC", "male", "a", "anger"),
        "sa15.wav": ("KL", "male", "sa", "sadness"),
        "su03.wav": ("JE", "male", "su", "surprise"),
    }
    flat = tmp_path / "flat"
    _wav(flat / "JK_n30.wav")
    _wav(flat / "DC_h01.wav")
    assert _rows(_read("savee", flat)) == {
        "JK_n30.wav": ("JK", "male", "n", "neutral"),
        "DC_h01.wav": ("DC", "male", "h", "happiness"),
    }
    _wav(flat / "a01.wav")  # no speaker: reported, not guessed
    with pytest.warns(CorpusWarning, match="a01.wav"):
        assert len(load_corpus("savee", flat)) == 2


def test_tess_official_folders(tmp_path):
    _wav(tmp_path / "OAF_angry" / "OAF_back_angry.wav")
    _wav(tmp_path / "OAF_Pleasant_surprise" / "OAF_bath_ps.wav")
    _wav(tmp_path / "YAF_pleasant_surprised" / "YAF_bean_ps.wav")
    _wav(tmp_path / "YAF_sad" / "YAF_chair_sad.wav")
    _wav(tmp_path / "OAF_Fear" / "OAF_dog_fear.wav")
    t = _read("tess", tmp_path)
    assert _rows(t) == {
        "OAF_back_angry.wav": ("OAF", "female", "angry", "anger"),
        "OAF_bath_ps.wav": ("OAF", "female", "ps", "surprise"),
        "YAF_bean_ps.wav": ("YAF", "female", "ps", "surprise"),
        "YAF_chair_sad.wav": ("YAF", "female", "sad", "sadness"),
        "OAF_dog_fear.wav": ("OAF", "female", "fear", "fear"),
    }
    _wav(tmp_path / "YAF_happy" / "YAF_dog_sad.wav")  # disagrees with its folder
    with pytest.warns(CorpusWarning, match="disagrees with its folder YAF_happy"):
        assert len(load_corpus("tess", tmp_path)) == 5


def test_crema_d_with_and_without_demographics(tmp_path):
    _wav(tmp_path / "AudioWAV" / "1001_DFA_ANG_XX.wav")
    _wav(tmp_path / "AudioWAV" / "1002_IEO_HAP_HI.wav")
    t = _read("crema_d", tmp_path)
    assert set(t["gender"]) == {"unknown"}
    assert t["emotion"].tolist() == ["anger", "happiness"]
    (tmp_path / "VideoDemographics.csv").write_text(
        "ActorID,Age,Sex,Race,Ethnicity\n1001,51,Male,Caucasian,Not Hispanic\n"
        "1002,21,Female,Caucasian,Not Hispanic\n"
    )
    t = _read("crema_d", tmp_path)
    assert _rows(t) == {
        "1001_DFA_ANG_XX.wav": ("1001", "male", "ANG", "anger"),
        "1002_IEO_HAP_HI.wav": ("1002", "female", "HAP", "happiness"),
    }
    # the AudioWAV folder itself as root finds the csv beside it
    assert _read("crema_d", tmp_path / "AudioWAV")["gender"].tolist() == [
        "male",
        "female",
    ]
    with pytest.raises(
        FileNotFoundError,
        match=r"demographics file .*nope\.csv' does not exist\. Pass demographics= "
        r"the path of CREMA-D's VideoDemographics\.csv, or leave demographics=None",
    ):
        load_corpus("crema_d", tmp_path, demographics=tmp_path / "nope.csv")
    bad = tmp_path / "bad.csv"
    bad.write_text("id,sex\n1001,Male\n")
    with pytest.raises(
        ValueError,
        match=r"ActorID and Sex .*; its columns are \['id', 'sex'\]\. Pass "
        r"demographics=",
    ):
        load_corpus("crema_d", tmp_path, demographics=bad)


def test_emovo(tmp_path):
    _wav(tmp_path / "EMOVO" / "f1" / "dis-f1-b1.wav")
    _wav(tmp_path / "EMOVO" / "m3" / "tri-m3-n5.wav")
    _wav(tmp_path / "EMOVO" / "m2" / "gio-m2-l3.wav")
    t = _read("emovo", tmp_path)
    assert _rows(t) == {
        "dis-f1-b1.wav": ("f1", "female", "dis", "disgust"),
        "tri-m3-n5.wav": ("m3", "male", "tri", "sadness"),
        "gio-m2-l3.wav": ("m2", "male", "gio", "happiness"),
    }
    assert set(t["language"]) == {"it"}
    _wav(tmp_path / "EMOVO" / "m1" / "rab-f2-b1.wav")
    with pytest.warns(
        CorpusWarning,
        match="speaker f2 disagrees with its folder m1: move the file to the folder f2",
    ):
        load_corpus("emovo", tmp_path)


def test_urdu_and_turev_folder_must_agree(tmp_path):
    _wav(tmp_path / "u" / "Angry" / "SF3_F1_A01.wav")
    _wav(tmp_path / "u" / "Sad" / "SM24_F2_S02.wav")
    assert _rows(_read("urdu", tmp_path / "u")) == {
        "SF3_F1_A01.wav": ("SF3", "female", "A", "anger"),
        "SM24_F2_S02.wav": ("SM24", "male", "S", "sadness"),
    }
    _wav(tmp_path / "u" / "Happy" / "SM1_F3_N03.wav")
    with pytest.warns(
        CorpusWarning,
        match=r"emotion code N disagrees with its folder Happy \(code H\): move",
    ):
        assert len(load_corpus("urdu", tmp_path / "u")) == 2
    _wav(tmp_path / "t" / "Calm" / "1234_sk_masa.wav")
    _wav(tmp_path / "t" / "Calm" / "1234_kz_masa.wav")
    with pytest.warns(
        CorpusWarning, match="emotion code kz disagrees with its folder Calm"
    ):
        t = load_corpus("turev_db", tmp_path / "t")
    assert _rows(t) == {"1234_sk_masa.wav": ("1234", "unknown", "sk", "calm")}


def _iemocap(root):
    s1 = root / "Session1"
    _wav(s1 / "sentences" / "wav" / "Ses01F_impro01" / "Ses01F_impro01_F000.wav")
    _wav(s1 / "sentences" / "wav" / "Ses01F_impro01" / "Ses01F_impro01_M001.wav")
    _wav(s1 / "sentences" / "wav" / "Ses01F_impro01" / "Ses01F_impro01_M002.wav")
    _wav(s1 / "sentences" / "wav" / "Ses01F_script01_1" / "Ses01F_script01_1_F003.wav")
    ev = s1 / "dialog" / "EmoEvaluation"
    ev.mkdir(parents=True)
    (ev / "Ses01F_impro01.txt").write_text(
        "% [START_TIME - END_TIME] TURN_NAME EMOTION [V, A, D]\n\n"
        "[6.2901 - 8.2357]\tSes01F_impro01_F000\tneu\t[2.5000, 2.5000, 2.5000]\n"
        "C-E2:\tNeutral;\t()\n"
        "[10.0100 - 11.3925]\tSes01F_impro01_M001\texc\t[3.5000, 3.5000, 3.0000]\n"
        "[14.8872 - 18.0175]\tSes01F_impro01_M002\txxx\t[2.5000, 3.0000, 3.0000]\n"
    )
    (ev / "Categorical").mkdir()
    return root


def test_iemocap_sessions_and_evaluations(tmp_path):
    root = _iemocap(tmp_path)
    with pytest.warns(CorpusWarning, match="Ses01F_script01_1_F003.*no label line"):
        t = load_corpus("iemocap", root)
    assert _rows(t) == {
        "Ses01F_impro01_F000.wav": ("Ses01F", "female", "neu", "neutral"),
        "Ses01F_impro01_M001.wav": ("Ses01M", "male", "exc", "excitement"),
    }
    (
        root / "Session1" / "dialog" / "EmoEvaluation" / "Ses01F_script01_1.txt"
    ).write_text("[1.0 - 2.0]\tSes01F_script01_1_F003\tfru\t[2.0, 3.5, 3.5]\n")
    t = _read("iemocap", root, emotions=["frustration"])
    assert t["speaker"].tolist() == ["Ses01F"]


def test_csv_reader(tmp_path):
    _wav(tmp_path / "audio" / "a.wav")
    _wav(tmp_path / "audio" / "b.flac", fmt="FLAC")
    _wav(tmp_path / "audio" / "c.wav")
    (tmp_path / "labels.csv").write_text(
        "file,label,speaker,gender\n"
        "audio/a.wav,Angry,s1,F\n"
        "audio/b.flac,sad,s2,male\n"
        f"{tmp_path / 'audio' / 'c.wav'},neutral,s2,\n"
    )
    t = _read("csv", tmp_path / "labels.csv", language="fr")
    assert _rows(t) == {
        "a.wav": ("s1", "female", "Angry", "anger"),
        "b.flac": ("s2", "male", "sad", "sadness"),
        "c.wav": ("s2", "unknown", "neutral", "neutral"),
    }
    assert set(t["corpus"]) == {"labels"} and set(t["language"]) == {"fr"}
    (tmp_path / "more.csv").write_text(
        "file,emotion,speaker\naudio/a.wav,contempt,s1\naudio/missing.wav,sad,s1\n"
    )
    with pytest.warns(CorpusWarning) as rec:
        t = load_corpus("csv", tmp_path / "more.csv", corpus="mine")
    messages = " ".join(str(r.message) for r in rec)
    assert "missing.wav: file not found" in messages
    assert "['contempt'] are not canonical" in messages
    # the labels come as data too, for programs (sertl-experiments) to read
    assert [r.message.unknown_labels for r in rec if r.message.unknown_labels] == [
        ["contempt"]
    ]
    assert t["emotion"].tolist() == ["contempt"] and t["corpus"].tolist() == ["mine"]
    (tmp_path / "nolabel.csv").write_text("file,speaker\naudio/a.wav,s1\n")
    with pytest.raises(ValueError, match=r"lacks column\(s\) label \(or emotion\);"):
        load_corpus("csv", tmp_path / "nolabel.csv")
    with pytest.raises(ValueError, match="is not a file; pass the CSV itself"):
        load_corpus("csv", tmp_path)


def test_csv_reader_reports_a_file_on_several_lines(tmp_path):
    # three lines for one file gave three rows, with three labels, silently
    _wav(tmp_path / "a.wav")
    _wav(tmp_path / "b.wav")
    (tmp_path / "m.csv").write_text(
        "file,label,speaker\na.wav,happy,s1\n./a.wav,sad,s2\nb.wav,sad,\na.wav,angry,\n"
    )
    with pytest.warns(
        CorpusWarning,
        match=r"(?s)1 file\(s\) appear on more than one line of .*\(1 with "
        r"different labels\).*Keep one line per file.*a\.wav: lines 2, 3, 5 "
        r"\(labels happy, sad, angry\)",
    ):
        t = load_corpus("csv", tmp_path / "m.csv")
    assert len(t) == 4  # reported, not dropped
    # an empty speaker cell is the speaker "unknown", as documented
    assert t.loc[t["file"].str.endswith("b.wav"), "speaker"].tolist() == ["unknown"]
    assert 'empty cell is the speaker ``"unknown"``' in CsvCorpus.__doc__
    # one line per file: no warning
    (tmp_path / "m.csv").write_text("file,label,speaker\na.wav,sad,s1\n")
    assert len(_read("csv", tmp_path / "m.csv")) == 1


@pytest.mark.parametrize(("sep", "said"), [(";", "';'"), ("\t", "tab")])
def test_csv_reader_names_a_file_with_another_separator(tmp_path, sep, said):
    _wav(tmp_path / "a.wav")
    text = "file,label,speaker\na.wav,happy,s1\n".replace(",", sep)
    (tmp_path / "m.csv").write_text(text)
    with pytest.raises(
        ValueError, match=rf"looks {said}-separated .*reads comma-separated files"
    ):
        load_corpus("csv", tmp_path / "m.csv")


@pytest.mark.parametrize(
    ("header", "missing"),
    [
        ("file,label", "speaker"),
        ("file,speaker", "label (or emotion)"),  # was "['emotion']"
        ("label,speaker", "file"),
    ],
)
def test_csv_reader_names_only_the_columns_that_are_missing(tmp_path, header, missing):
    (tmp_path / "m.csv").write_text(f"{header}\na,b\n")
    with pytest.raises(
        ValueError, match=rf"lacks column\(s\) {re.escape(missing)}; needed"
    ):
        load_corpus("csv", tmp_path / "m.csv")


def test_folders_reader(tmp_path):
    _wav(tmp_path / "Happy" / "spk1_f_001.wav")
    _wav(tmp_path / "Happy" / "sub" / "spk2_m_002.wav")
    _wav(tmp_path / "Bored" / "spk1_f_003.wav")
    t = _read(
        "folders", tmp_path, speaker_pattern=r"^(?P<speaker>spk\d+)_(?P<gender>[fm])_"
    )
    assert _rows(t) == {
        "spk1_f_001.wav": ("spk1", "female", "Happy", "happiness"),
        "spk2_m_002.wav": ("spk2", "male", "Happy", "happiness"),
        "spk1_f_003.wav": ("spk1", "female", "Bored", "boredom"),
    }
    assert set(t["corpus"]) == {tmp_path.name}
    t = _read("folders", tmp_path, corpus="mine")
    assert set(t["speaker"]) == {"unknown"} and set(t["corpus"]) == {"mine"}
    compiled = re.compile(r"^(?P<speaker>spk\d+)_")  # a compiled pattern is taken
    assert set(_read("folders", tmp_path, speaker_pattern=compiled)["speaker"]) == {
        "spk1",
        "spk2",
    }
    _wav(tmp_path / "loose.wav")
    with pytest.warns(CorpusWarning, match="loose.wav: not inside a label folder"):
        load_corpus("folders", tmp_path)
    with pytest.raises(ValueError, match=r"named group \(\?P<speaker>"):
        load_corpus("folders", tmp_path, speaker_pattern=r"spk\d")
    with pytest.raises(ValueError, match="not a valid regular expression"):
        load_corpus("folders", tmp_path, speaker_pattern="(")
    with pytest.raises(NotADirectoryError, match="is not a folder"):
        load_corpus("folders", tmp_path / "loose.wav")
    # an option of the wrong type is named (re.compile said "first argument
    # must be string or compiled pattern")
    with pytest.raises(TypeError, match="folders: speaker_pattern must be a string"):
        load_corpus("folders", tmp_path, speaker_pattern=5)
    with pytest.raises(TypeError, match="folders: language must be a string, got int"):
        load_corpus("folders", tmp_path, language=1)


def test_emodb_audio_beside_an_official_folder_without_audio_is_found(tmp_path):
    # the wav/ folder kept with its README, the audio converted into flac/:
    # "no .wav or .flac file found under ROOT" was said of a root holding one
    (tmp_path / "wav").mkdir()
    (tmp_path / "wav" / "README.txt").write_text("converted to flac/")
    _wav(tmp_path / "flac" / "03a01Fa.flac", fmt="FLAC")
    t = _read("emodb", tmp_path)
    assert t[["speaker", "emotion"]].values.tolist() == [["03", "happiness"]]


def test_folders_root_one_level_above_the_label_folders_is_refused(tmp_path):
    # each file was labelled with the corpus folder's name, one class in all
    _wav(tmp_path / "MyCorpus" / "Angry" / "a.wav")
    _wav(tmp_path / "MyCorpus" / "Sad" / "b.wav")
    with pytest.raises(
        ValueError,
        match=r"every audio file under .* is in the one folder 'MyCorpus', which "
        r"is no emotion, while its subfolders \('Angry', 'Sad'\) are: root is "
        r"one level above the label folders.* Pass '.*MyCorpus' as root\.",
    ):
        _read("folders", tmp_path)
    t = _read("folders", tmp_path / "MyCorpus")
    assert sorted(t["emotion"]) == ["anger", "sadness"]


def test_folders_root_that_is_one_label_folder_says_so(tmp_path):
    _wav(tmp_path / "Angry" / "a.wav")
    _wav(tmp_path / "Angry" / "b.wav")
    with pytest.raises(
        ValueError,
        match=r"all 2 audio files lie directly in '.*Angry', none in a label "
        r"folder: it looks like the folder of one label\. Pass its parent",
    ):
        _read("folders", tmp_path / "Angry")


@pytest.mark.parametrize("pattern", [r"(?P<speaker>spk\d+)?", r"^(?P<speaker>spk\d+|)"])
def test_folders_reader_skips_a_file_whose_speaker_group_is_empty(tmp_path, pattern):
    # an optional group matched every stem: take2.wav got speaker None (or "")
    root = tmp_path.resolve()
    _wav(root / "Angry" / "spk1_01.wav")
    _wav(root / "Angry" / "take2.wav")
    with pytest.warns(
        CorpusWarning,
        match=r"take2.wav: speaker_pattern matches, but its speaker group takes no "
        r"part or is empty",
    ):
        t = load_corpus("folders", root, speaker_pattern=pattern)
    assert t["speaker"].tolist() == ["spk1"]
    assert [e["file"] for e in t.attrs["skipped"]] == [str(root / "Angry/take2.wav")]


# -- errors -----------------------------------------------------------------


def test_missing_root_and_no_audio(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"does not exist.*wav/03a01Fa"):
        load_corpus("emodb", tmp_path / "nowhere")
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(ValueError, match=r"no \.wav or \.flac file found.*Actor_NN"):
        load_corpus("ravdess", tmp_path)
    _wav(tmp_path / "hello.wav")
    with (
        pytest.warns(CorpusWarning),
        pytest.raises(ValueError, match="follows the naming rule"),
    ):
        load_corpus("emodb", tmp_path)
    # an audio file given as the root: the error names the expected layout
    with pytest.raises(NotADirectoryError, match=r"is a file, not a folder.*Actor_NN"):
        load_corpus("ravdess", tmp_path / "hello.wav")


def test_unknown_emotion_filter_and_reader_options(tmp_path):
    _wav(tmp_path / "wav" / "03a01Wa.wav")
    with pytest.raises(ValueError, match=r"unknown emotion\(s\) \['angry'\]"):
        load_corpus("emodb", tmp_path, emotions=["angry"])
    with pytest.raises(ValueError, match="no file with emotion"):
        load_corpus("emodb", tmp_path, emotions=["sadness"])
    with pytest.raises(TypeError, match="does not take the options"):
        load_corpus("emodb", tmp_path, vocal_channel="speech")


def test_unreadable_audio_is_reported_with_nan_duration(tmp_path):
    _wav(tmp_path / "wav" / "03a01Wa.wav")
    (tmp_path / "wav" / "03a02Wa.wav").write_bytes(b"not audio at all")
    with pytest.warns(CorpusWarning, match="(?s)could not be opened.*03a02Wa"):
        t = load_corpus("emodb", tmp_path)
    assert len(t) == 2 and np.isnan(t["duration"]).sum() == 1


def test_registry_and_reader_classes():
    from sertl_core import get_registry

    names = get_registry().names("corpora")
    expected = {
        "emodb", "ravdess", "savee", "tess", "crema_d", "emovo",
        "urdu", "turev_db", "iemocap", "csv", "folders",
    }  # fmt: skip
    assert expected <= set(names)
    for name in expected:
        cls = get_reader_class(name)
        assert issubclass(cls, CorpusReader)
        assert cls.registry_name == name
        assert cls.description and cls.language and cls.layout
    assert get_reader_class("TurEV-DB").registry_name == "turev_db"
    with pytest.raises(TypeError, match="must be a str"):
        get_reader_class(3)


# -- skipped files as data, and the reason each gives -----------------------


def test_skipped_files_come_back_as_data_with_their_reasons(tmp_path):
    # the experiment runner reports them: it needs them as data, not as text
    _wav(tmp_path / "Actor_01" / "03-01-05-01-02-01-01.flac", fmt="FLAC")
    _wav(tmp_path / "Actor_01" / "03-01-05-01-02-01.flac", fmt="FLAC")  # 6 fields
    _wav(tmp_path / "Actor_01" / "03-01-99-01-01-01-01.flac", fmt="FLAC")
    with pytest.warns(CorpusWarning, match="skipped 2") as rec:
        t = load_corpus("ravdess", tmp_path)
    assert len(t) == 1
    expected = [
        {
            "file": str(tmp_path.resolve() / "Actor_01" / "03-01-05-01-02-01.flac"),
            "reason": "breaks the naming rule: expected 7 two-digit fields, e.g. "
            "03-01-05-01-02-01-01 (found 6 fields)",
        },
        {
            "file": str(tmp_path.resolve() / "Actor_01" / "03-01-99-01-01-01-01.flac"),
            "reason": "breaks the naming rule: emotion code 99 is not a RAVDESS "
            "emotion (01, 02, 03, 04, 05, 06, 07, 08)",
        },
    ]
    assert t.attrs["skipped"] == expected
    assert rec[0].message.skipped == expected
    # the warning text says the same
    assert "emotion code 99 is not a RAVDESS emotion" in str(rec[0].message)
    # nothing skipped: an empty list, no warning
    (tmp_path / "Actor_01" / "03-01-05-01-02-01.flac").unlink()
    (tmp_path / "Actor_01" / "03-01-99-01-01-01-01.flac").unlink()
    assert _read("ravdess", tmp_path).attrs["skipped"] == []


def test_user_data_readers_give_skipped_entries_as_data(tmp_path):
    _wav(tmp_path / "Angry" / "a.wav")
    _wav(tmp_path / "loose.wav")
    with pytest.warns(CorpusWarning, match="not inside a label folder"):
        t = load_corpus("folders", tmp_path)
    assert t.attrs["skipped"] == [
        {
            "file": str(tmp_path.resolve() / "loose.wav"),
            "reason": "loose.wav: not inside a label folder",
        }
    ]
    (tmp_path / "Sad.wav").mkdir()
    csv = tmp_path / "mine.csv"
    csv.write_text("file,label,speaker\nAngry/a.wav,angry,s1\nnone.wav,sad,s1\n")
    with pytest.warns(CorpusWarning, match="none.wav: file not found"):
        t = load_corpus("csv", csv)
    assert [(Path(e["file"]).name, e["reason"]) for e in t.attrs["skipped"]] == [
        ("none.wav", "line 3: none.wav: file not found")
    ]


@pytest.mark.parametrize(
    ("reader", "path", "reason"),
    [
        ("emodb", "wav/03a01Xa.wav", "emotion letter X is not an EmoDB emotion"),
        ("emodb", "wav/03a01W.wav", "expected e.g. 03a01Fa"),
        ("ravdess", "Actor_01/03-01-99-01-01-01-01.wav", "emotion code 99 is not"),
        ("ravdess", "Actor_01/03-03-01-01-01-01-01.wav", "vocal channel code 03"),
        ("ravdess", "Actor_01/03-01-05-01-02-01.wav", "(found 6 fields)"),
        ("savee", "DC_x01.wav", "unknown emotion x (the SAVEE emotion codes"),
        ("savee", "XY_a01.wav", "unknown speaker XY (the SAVEE speaker codes"),
        ("savee", "AudioData/DC/q01.wav", "unknown emotion q (the SAVEE"),
        ("tess", "OAF_angry/OAF_back_furious.wav", "unknown emotion furious (the TESS"),
        ("crema_d", "AudioWAV/1001_DFA_XYZ_XX.wav", "unknown emotion XYZ (the CREMA-D"),
        (
            "crema_d",
            "AudioWAV/1001_DFA_ANG_ZZ.wav",
            "unknown level ZZ (the CREMA-D level codes",
        ),
        ("emovo", "f1/abc-f1-b1.wav", "unknown emotion abc (the EMOVO"),
        ("urdu", "Angry/SM1_F10_X010.wav", "unknown emotion X (the URDU emotion codes"),
        ("turev_db", "Angry/1157_zz_acik.wav", "unknown emotion zz (the TurEV-DB"),
    ],
)
def test_an_unknown_code_is_named_as_such(tmp_path, reader, path, reason):
    good = {
        "emodb": "wav/03a01Wa.wav",
        "ravdess": "Actor_01/03-01-05-01-02-01-01.wav",
        "savee": "DC_a01.wav",
        "tess": "OAF_angry/OAF_back_angry.wav",
        "crema_d": "AudioWAV/1001_DFA_ANG_XX.wav",
        "emovo": "f1/dis-f1-b1.wav",
        "urdu": "Angry/SM1_F10_A010.wav",
        "turev_db": "Angry/1157_kz_acik.wav",
    }[reader]
    _wav(tmp_path / good)
    _wav(tmp_path / path)
    with pytest.warns(CorpusWarning, match="skipped 1") as rec:
        t = load_corpus(reader, tmp_path)
    assert len(t) == 1
    (entry,) = t.attrs["skipped"]
    assert entry["file"] == str((tmp_path / path).resolve())
    assert reason in entry["reason"]
    assert reason in str(rec[0].message)


def test_folders_reader_takes_every_audio_format_sertl_reads(tmp_path):
    # a user's own corpus in OGG or AIFF: the folders reader skipped them
    # without a word, while AudioFeatures and sertl predict read them
    x = np.sin(np.arange(8000) / 8.0) * 0.3
    (tmp_path / "Angry").mkdir()
    sf.write(tmp_path / "Angry" / "a.ogg", x, 16000, format="OGG")
    sf.write(tmp_path / "Angry" / "b.aiff", x, 16000, format="AIFF")
    _wav(tmp_path / "Sad" / "c.wav")
    (tmp_path / "Sad" / "notes.txt").write_text("not audio")
    t = load_corpus("folders", tmp_path)
    assert sorted(Path(f).name for f in t["file"]) == ["a.ogg", "b.aiff", "c.wav"]
    assert dict(
        zip(t["file"].map(lambda f: Path(f).name), t["emotion"], strict=True)
    ) == {
        "a.ogg": "anger",
        "b.aiff": "anger",
        "c.wav": "sadness",
    }


def test_csv_reader_counts_one_label_in_two_cases_as_one(tmp_path):
    # "Sad" and "sad" on two lines of one file were counted as different labels
    for name in ("a", "b", "c"):
        _wav(tmp_path / f"{name}.wav")
    (tmp_path / "m.csv").write_text(
        "file,label,speaker\na.wav,Sad,s1\na.wav,sad,s1\nb.wav,Angry,s1\n"
        "b.wav,anger,s1\nc.wav,happy,s1\nc.wav,sad,s1\n"
    )
    with pytest.warns(
        CorpusWarning,
        match=r"3 file\(s\) appear on more than one line of .*\(1 with different "
        r"labels\)",
    ):
        load_corpus("csv", tmp_path / "m.csv")


def test_folders_one_per_speaker_are_read_with_levels(tmp_path):
    # ROOT/<speaker>/<label>/: every file was labelled with its speaker's
    # folder, with the advice to map the speaker names onto emotions
    for spk in ("anna", "ben"):
        for label in ("Angry", "Sad"):
            _wav(tmp_path / "mine" / spk / label / f"{spk}_{label}.wav")
    with pytest.raises(
        ValueError,
        match=r"no folder under '.*mine' is an emotion \('anna', 'ben' \.\.\.\), "
        r"while the folders inside them are \('Angry', 'Sad'\): the label folders "
        r"are one level down.*levels=\['speaker', 'label'\].*; in an experiment "
        r"file, which sertl run and sertl grid take: \[corpora\.NAME\] options = "
        r'\{ levels = \["speaker", "label"\] \}\)\.',
    ):
        _read("folders", tmp_path / "mine")
    t = _read("folders", tmp_path / "mine", levels=["speaker", "label"])
    assert _rows(t) == {
        "anna_Angry.wav": ("anna", "unknown", "Angry", "anger"),
        "anna_Sad.wav": ("anna", "unknown", "Sad", "sadness"),
        "ben_Angry.wav": ("ben", "unknown", "Angry", "anger"),
        "ben_Sad.wav": ("ben", "unknown", "Sad", "sadness"),
    }
    t = _read("folders", tmp_path / "mine", levels=("*", "label"))
    assert set(t["speaker"]) == {"unknown"} and len(t) == 4
    # the other way round, and a file less deep than the levels
    _wav(tmp_path / "other" / "Happy" / "cem" / "1.wav")
    _wav(tmp_path / "other" / "Happy" / "2.wav")
    with pytest.warns(
        CorpusWarning,
        match=r"Happy/2\.wav: not inside 2 folders \(label/speaker/FILE: levels\)",
    ):
        t = load_corpus("folders", tmp_path / "other", levels=["label", "speaker"])
    assert t[["speaker", "emotion"]].values.tolist() == [["cem", "happiness"]]


def test_folders_grouped_by_valence_say_how_to_keep_the_outer_labels(tmp_path):
    # ROOT/positive/happy/, ROOT/negative/angry/: read as before this reader
    # refused such corpora, the outer folders were the labels; the refusal
    # offered only levels that label each file with its inner folder
    for outer, inner in [("positive", "happy"), ("negative", "angry")]:
        _wav(tmp_path / outer / inner / f"{inner}.wav")
    with pytest.raises(
        ValueError, match=r"or \['label', '\*'\] when they are the labels you mean"
    ):
        _read("folders", tmp_path)
    with pytest.warns(CorpusWarning, match=r"\['negative', 'positive'\]"):
        t = load_corpus("folders", tmp_path, levels=["label", "*"])
    assert sorted(t["emotion"]) == ["negative", "positive"]


def test_folders_with_levels_name_the_layout_of_the_levels(tmp_path):
    # every file one folder too shallow for levels=["speaker", "label"]: the
    # error said "Expected: ROOT/<label>/<file>.wav, one folder per label",
    # the layout the option had just replaced
    _wav(tmp_path / "anna" / "1.wav")
    with (
        pytest.warns(CorpusWarning, match=r"not inside 2 folders"),
        pytest.raises(
            ValueError,
            match=r"no usable files in .*Expected: ROOT/<speaker>/<label>/"
            r"<file>\.wav \(levels=\['speaker', 'label'\]\)",
        ),
    ):
        load_corpus("folders", tmp_path, levels=["speaker", "label"])
    with pytest.raises(
        ValueError, match=r"Expected layout: ROOT/<folder>/<label>/<file>\.wav"
    ):
        (tmp_path / "empty").mkdir()
        load_corpus("folders", tmp_path / "empty", levels=["*", "label"])


@pytest.mark.parametrize(
    ("levels", "pattern", "error", "match"),
    [
        ("speaker", None, TypeError, r"levels must be a list naming what each "
         r"folder below the root is, e\.g\. levels=\[\"speaker\", \"label\"\]; "
         r"got str 'speaker'\."),
        (["speaker"], None, ValueError, r"must hold 'label' once"),
        (["label", "label"], None, ValueError, r"must hold 'label' once"),
        (["label", "emotion"], None, ValueError, r"'speaker' at most once and "
         r"'\*' for each folder to pass over"),
        (["speaker", "label"], r"(?P<speaker>\w+)", ValueError,
         r"levels names a speaker folder and speaker_pattern a speaker"),
    ],
)  # fmt: skip
def test_folders_bad_levels_are_refused(tmp_path, levels, pattern, error, match):
    _wav(tmp_path / "s" / "Angry" / "a.wav")
    with pytest.raises(error, match=match):
        load_corpus("folders", tmp_path, levels=levels, speaker_pattern=pattern)
