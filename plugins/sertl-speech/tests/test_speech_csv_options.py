"""The csv reader on a user's own CSV: column names, encodings, audio formats,
names in another Unicode form, empty files and labels outside the schema."""

from __future__ import annotations

import re
import unicodedata
import warnings
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from sertl_speech import (
    AUDIO_SUFFIXES,
    CorpusWarning,
    load_corpus,
    select_emotions,
)


def _wav(path, seconds=0.25, sr=8000, fmt=None):
    path.parent.mkdir(parents=True, exist_ok=True)
    t = np.arange(int(seconds * sr)) / sr
    sf.write(str(path), 0.1 * np.sin(2 * np.pi * 220 * t), sr, format=fmt)
    return path


def _read(root, **options):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return load_corpus("csv", root, **options)


def _rows(table):
    return [
        (Path(f).name, s, g, lang, e)
        for f, s, g, lang, e in zip(
            table["file"],
            table["speaker"],
            table["gender"],
            table["language"],
            table["emotion"],
            strict=True,
        )
    ]


# -- columns: the user's own column names -------------------------------------


def test_columns_names_the_csvs_own_columns(tmp_path):
    _wav(tmp_path / "a.wav")
    _wav(tmp_path / "b.wav")
    csv = tmp_path / "m.csv"
    # a "file" and a "label" column that are not the ones meant
    csv.write_text(
        "Path, Emo ,Spk,Sex,Lang,file,label\n"
        "a.wav,angry,s1,w,de,nothing.wav,sad\n"
        "b.wav,sad,s2,m,,nothing.wav,angry\n"
    )
    columns = {
        "file": "path",
        "label": "EMO",
        "speaker": "Spk",
        "gender": "sex",
        "language": "lang",
    }
    t = _read(csv, columns=columns, language="en")
    assert _rows(t) == [
        ("a.wav", "s1", "female", "de", "anger"),
        ("b.wav", "s2", "male", "en", "sadness"),
    ]
    assert t["emotion_orig"].tolist() == ["angry", "sad"]
    # a role left out is read from its usual column; "emotion" is the label
    csv.write_text("wav,emotion,speaker\na.wav,happy,s3\n")
    t = _read(csv, columns={"file": "wav"})
    assert _rows(t) == [("a.wav", "s3", "unknown", "unknown", "happiness")]
    csv.write_text("wav,feeling,speaker\na.wav,happy,s3\n")
    t = _read(csv, columns={"file": "wav", "emotion": "feeling"})
    assert t["emotion"].tolist() == ["happiness"]


def test_a_missing_column_names_the_columns_option(tmp_path):
    csv = tmp_path / "m.csv"
    csv.write_text("path,emo,spk\na.wav,sad,s1\n")
    with pytest.raises(
        ValueError,
        match=r"lacks column\(s\) file, label \(or emotion\), speaker; needed: "
        r"file, label \(or emotion\), speaker; found \['path', 'emo', 'spk'\]\. "
        r"If your CSV holds them under other names, say which with the columns "
        r'option: columns=\{"file": "\.\.\.", "label": "\.\.\.", "speaker": '
        r'"\.\.\."\} with your column names \(in an experiment file, which sertl '
        r"run and sertl grid take: \[corpora\.NAME\] options = \{ columns = \{ "
        r'file = "\.\.\.", label = "\.\.\.", speaker = "\.\.\." \} \}\)\.',
    ):
        load_corpus("csv", csv)
    # only the roles still missing are asked for
    with pytest.raises(
        ValueError,
        match=r'lacks column\(s\) speaker; .*columns=\{"speaker": "\.\.\."\}',
    ):
        load_corpus("csv", csv, columns={"file": "path", "label": "emo"})


def test_a_column_named_by_the_option_that_the_csv_lacks_is_named(tmp_path):
    csv = tmp_path / "m.csv"
    csv.write_text("file,label,speaker\na.wav,sad,s1\n")
    with pytest.raises(
        ValueError,
        match=r"has no column 'spk' \(for speaker\), 'sex' \(for gender\), which the "
        r"columns option names; its columns are \['file', 'label', 'speaker'\]\. "
        r"Correct the name in columns=",
    ):
        load_corpus("csv", csv, columns={"speaker": "spk", "gender": "sex"})


@pytest.mark.parametrize(
    ("columns", "error", "match"),
    [
        (
            {"spaeker": "spk"},
            ValueError,
            r"columns has no role 'spaeker'\. Did you mean 'speaker'\? The roles are "
            r"file, label \(or emotion\), speaker, gender, language: columns=",
        ),
        (
            {"path": "file"},
            ValueError,
            r"columns has no role 'path'\. The roles are file, label",
        ),
        (
            {"label": "emo", "emotion": "feeling"},
            ValueError,
            r"names the label column twice \(as 'label' and as 'emotion'\); give one",
        ),
        (
            {"file": "x", "speaker": "X "},
            ValueError,
            r"names the column 'x' for several roles \(file, speaker\); each role "
            r"needs its own column",
        ),
        (
            ["file", "label"],
            TypeError,
            r"columns must map each role to the name of your CSV's column for it, "
            r'e\.g\. columns=\{"file": "path", .*got list',
        ),
        (
            {"speaker": 3},
            TypeError,
            r"columns\['speaker'\] must be the name of a column of your CSV \(a "
            r"non-empty string\), got int 3",
        ),
    ],
)
def test_a_bad_columns_option_says_what_is_wrong(tmp_path, columns, error, match):
    _wav(tmp_path / "a.wav")
    csv = tmp_path / "m.csv"
    csv.write_text("file,label,speaker\na.wav,sad,s1\n")
    with pytest.raises(error, match=match):
        load_corpus("csv", csv, columns=columns)


def test_an_unknown_option_lists_the_readers_options(tmp_path):
    csv = tmp_path / "m.csv"
    csv.write_text("file,label,speaker\na.wav,sad,s1\n")
    with pytest.raises(
        TypeError,
        match=r"Reader 'csv' does not take the options \['colums'\]: .*colums.*\. "
        r"Its options: corpus, language, columns, encoding, delimiter, labelled\.",
    ):
        load_corpus("csv", csv, colums={"file": "path"})


# -- encoding ---------------------------------------------------------------------


def test_a_csv_in_another_encoding_names_the_line_and_the_fix(tmp_path):
    _wav(tmp_path / "a.wav")
    _wav(tmp_path / "b.wav")
    csv = tmp_path / "m.csv"
    text = "file,label,speaker\na.wav,sad,s1\nb.wav,happy,Özil\n"
    csv.write_bytes(text.encode("cp1252"))
    with pytest.raises(
        ValueError,
        match=r"cannot read '.*m\.csv' as utf-8: line 3 holds the byte\(s\) 0xd6 "
        r"\(after 'b\.wav,happy,'\), which are not utf-8 text; the file was saved in "
        r"another encoding\. Save it as UTF-8 \(in Excel: \"CSV UTF-8\"\), or pass "
        r'its encoding, e\.g\. encoding="cp1252" \(in an experiment file, which '
        r"sertl run and sertl grid take: \[corpora\.NAME\] "
        r'options = \{ encoding = "cp1252" \}\)\.',
    ):
        load_corpus("csv", csv)
    t = _read(csv, encoding="cp1252")
    assert t["speaker"].tolist() == ["s1", "Özil"]


@pytest.mark.parametrize(
    ("encoding", "codec"),
    [("utf-8", "utf-8-sig"), ("UTF8", "utf-8-sig"), ("utf-16", "utf-16")],
)
def test_a_byte_order_mark_is_accepted(tmp_path, encoding, codec):
    _wav(tmp_path / "a.wav")
    csv = tmp_path / "m.csv"
    csv.write_bytes("file,label,speaker\na.wav,sad,Jürgen\n".encode(codec))
    assert csv.read_bytes()[:2] in (b"\xef\xbb", b"\xff\xfe", b"\xfe\xff")
    t = _read(csv, encoding=encoding)
    assert t["speaker"].tolist() == ["Jürgen"]


@pytest.mark.parametrize(
    ("encoding", "error", "match"),
    [
        ("klingon", ValueError, r"encoding='klingon' is no text encoding Python "),
        (None, TypeError, r"encoding must be the name of the CSV's text encoding"),
    ],
)
def test_an_unknown_encoding_is_refused(tmp_path, encoding, error, match):
    csv = tmp_path / "m.csv"
    csv.write_text("file,label,speaker\na.wav,sad,s1\n")
    with pytest.raises(error, match=match):
        load_corpus("csv", csv, encoding=encoding)


# -- audio formats --------------------------------------------------------------


def test_every_audio_format_sertl_speech_reads_is_accepted(tmp_path):
    # libsndfile reads a file by its content: a WAV under each extension
    _wav(tmp_path / "audio.wav")
    data = (tmp_path / "audio.wav").read_bytes()
    names = [f"f{k}{suffix}" for k, suffix in enumerate(AUDIO_SUFFIXES)]
    names.append("upper.OGG")
    for name in names:
        (tmp_path / name).write_bytes(data)
    (tmp_path / "m.csv").write_text(
        "file,label,speaker\n" + "".join(f"{n},sad,s1\n" for n in names)
    )
    t = _read(tmp_path / "m.csv")
    assert sorted(Path(f).name for f in t["file"]) == sorted(names)
    assert ".ogg" in AUDIO_SUFFIXES and ".mp3" in AUDIO_SUFFIXES


def test_an_ogg_file_is_read_and_a_text_file_is_skipped(tmp_path):
    _wav(tmp_path / "a.ogg", fmt="OGG")
    (tmp_path / "notes.txt").write_text("not audio")
    (tmp_path / "m.csv").write_text(
        "file,label,speaker\na.ogg,sad,s1\nnotes.txt,sad,s1\n"
    )
    with pytest.warns(
        CorpusWarning,
        match=r"line 3: notes\.txt: not an audio file by its extension \(\.txt\); "
        r"audio files end in \.wav, \.flac, \.ogg, \.mp3, \.aiff \.\.\. "
        r"\(AUDIO_SUFFIXES\): convert it",
    ):
        t = load_corpus("csv", tmp_path / "m.csv")
    assert [Path(f).name for f in t["file"]] == ["a.ogg"]
    assert t["duration"][0] == pytest.approx(0.25)


# -- names in another Unicode normalisation form ----------------------------------


@pytest.mark.parametrize(("on_disk", "in_csv"), [("NFD", "NFC"), ("NFC", "NFD")])
def test_a_name_in_another_unicode_form_finds_the_file(tmp_path, on_disk, in_csv):
    folder = unicodedata.normalize(on_disk, "Wütend")
    name = unicodedata.normalize(on_disk, "wütend_é.wav")
    _wav(tmp_path / folder / name)
    _wav(tmp_path / "plain.wav")
    row = unicodedata.normalize(in_csv, "Wütend/wütend_é.wav")
    assert not (tmp_path / row).exists()  # a file system that keeps the bytes
    (tmp_path / "m.csv").write_text(
        f"file,label,speaker\n{row},angry,s1\nplain.wav,sad,s1\n", encoding="utf-8"
    )
    t = _read(tmp_path / "m.csv")
    assert t["file"].tolist()[0] == str((tmp_path / folder / name).resolve())
    assert t["emotion"].tolist() == ["anger", "sadness"]


def test_several_names_in_other_unicode_forms_are_named_not_guessed(tmp_path):
    _wav(tmp_path / unicodedata.normalize("NFC", "éü.wav"))
    _wav(tmp_path / unicodedata.normalize("NFD", "éü.wav"))
    _wav(tmp_path / "plain.wav")
    mixed = unicodedata.normalize("NFC", "é") + unicodedata.normalize("NFD", "ü.wav")
    assert not (tmp_path / mixed).exists()
    (tmp_path / "m.csv").write_text(
        f"file,label,speaker\n{mixed},angry,s1\nplain.wav,sad,s1\n", encoding="utf-8"
    )
    with pytest.warns(CorpusWarning) as caught:
        t = load_corpus("csv", tmp_path / "m.csv")
    assert [Path(f).name for f in t["file"]] == ["plain.wav"]
    (entry,) = t.attrs["skipped"]
    assert re.search(
        r"line 2: .*: file not found; '.*' holds 2 names equal to its name up to "
        r"Unicode normalisation \(NFC/NFD: accents stored composed or decomposed\), "
        r".*: rename the files so that one has this name",
        entry["reason"],
    )
    assert entry["reason"] in str(caught[0].message)


def test_a_missing_file_with_an_accent_is_still_not_found(tmp_path):
    _wav(tmp_path / "plain.wav")
    (tmp_path / "m.csv").write_text(
        "file,label,speaker\nwütend.wav,angry,s1\nplain.wav,sad,s1\n", encoding="utf-8"
    )
    with pytest.warns(CorpusWarning, match=r"line 2: wütend\.wav: file not found$"):
        load_corpus("csv", tmp_path / "m.csv")


# -- empty files ------------------------------------------------------------------


def test_a_zero_byte_file_is_reported_as_empty_by_the_reader(tmp_path):
    _wav(tmp_path / "a.wav")
    (tmp_path / "empty.wav").write_bytes(b"")
    (tmp_path / "m.csv").write_text(
        "file,label,speaker\na.wav,sad,s1\nempty.wav,sad,s1\n"
    )
    with pytest.warns(
        CorpusWarning,
        match=r"(?s)1 audio file\(s\) could not be opened.*empty\.wav: empty: the file "
        r"has 0 bytes \(an interrupted copy or download\?\); copy it again",
    ) as caught:
        t = load_corpus("csv", tmp_path / "m.csv")
    assert "Format not recognised" not in str(caught[0].message)
    assert np.isnan(t["duration"]).tolist() == [False, True]


def test_a_file_that_is_not_audio_keeps_libsndfiles_reason(tmp_path):
    (tmp_path / "wav").mkdir()
    _wav(tmp_path / "wav" / "03a01Wa.wav")
    (tmp_path / "wav" / "03a02Wa.wav").write_bytes(b"not audio at all")
    with pytest.warns(CorpusWarning, match=r"03a02Wa\.wav: LibsndfileError: .*"):
        load_corpus("emodb", tmp_path)


# -- labels outside the schema ------------------------------------------------------


def test_unknown_labels_say_how_to_map_them(tmp_path):
    _wav(tmp_path / "a.wav")
    _wav(tmp_path / "b.wav")
    (tmp_path / "m.csv").write_text(
        "file,label,speaker\na.wav,contempt,s1\nb.wav,very happy,s1\n"
    )
    with pytest.warns(
        CorpusWarning,
        match=r"csv: label\(s\) \['contempt', 'very happy'\] are not canonical "
        r"emotions .*Rename them to use the schema\. Or map them onto canonical "
        r"names: in Python with select_emotions\(table, mapping=\{'contempt': "
        r"'<emotion>'\}\), in an experiment file \(sertl run and sertl grid take "
        r"it\) with \[labels\] mapping = "
        r'\{ contempt = "<emotion>" \}\.$',
    ):
        t = load_corpus("csv", tmp_path / "m.csv")
    # the advice works as given
    mapped = select_emotions(
        t, mapping={"contempt": "disgust", "very happy": "happiness"}
    )
    assert mapped["emotion"].tolist() == ["disgust", "happiness"]
    # a label that is no bare TOML key is quoted
    (tmp_path / "m.csv").write_text("file,label,speaker\nb.wav,very happy,s1\n")
    with pytest.warns(
        CorpusWarning, match=r'\[labels\] mapping = \{ "very happy" = "<emotion>" \}'
    ):
        load_corpus("csv", tmp_path / "m.csv")


def test_a_column_the_option_gives_one_role_is_no_other_roles_default(tmp_path):
    # "label" given to language (or file) was read as the label column too
    csv = tmp_path / "m.csv"
    _wav(tmp_path / "a.wav")
    csv.write_text("path,label,speaker,emotion\na.wav,German,s1,sad\n")
    t = _read(csv, columns={"language": "label", "file": "path"})
    assert t["emotion"].tolist() == ["sadness"]
    assert t["language"].tolist() == ["German"]


def test_a_codec_that_is_no_text_encoding_is_refused_clearly(tmp_path):
    csv = tmp_path / "m.csv"
    csv.write_text("file,label,speaker\na.wav,sad,s1\n")
    for codec in ("rot13", "base64"):
        with pytest.raises(
            ValueError, match=rf"encoding='{codec}' is no text encoding"
        ):
            load_corpus("csv", csv, encoding=codec)


# -- the CSV's own shape: trailing delimiters, blank lines, quotes ------------


def test_trailing_delimiter_on_every_line_keeps_the_columns(tmp_path):
    # pandas took the first column for the index of such a file, so every
    # column shifted left and each label was looked up as a file
    _wav(tmp_path / "a.wav")
    _wav(tmp_path / "b.wav")
    csv = tmp_path / "m.csv"
    csv.write_text("file,label,speaker\na.wav,angry,s1,\nb.wav,sad,s2,\n")
    table = _read(csv)
    assert [r[0] for r in _rows(table)] == ["a.wav", "b.wav"]
    assert table["speaker"].tolist() == ["s1", "s2"]
    assert table["emotion"].tolist() == ["anger", "sadness"]


def test_a_row_with_more_fields_than_the_header_is_reported(tmp_path):
    _wav(tmp_path / "b.wav")
    csv = tmp_path / "m.csv"
    csv.write_text("file,label,speaker\nx,a.wav,angry,s1\nb.wav,sad,s2\n")
    with pytest.warns(
        CorpusWarning,
        match=r"line 2: 4 fields, but the header has 3 columns \(fields beyond "
        r"them: \['s1'\]\); a field holding a comma must be enclosed in double "
        r"quotes",
    ) as record:
        table = load_corpus("csv", csv)
    assert table["speaker"].tolist() == ["s2"]
    assert record[0].message.skipped[0]["file"] == f"{csv} line 2"


def test_line_numbers_count_blank_lines_and_quoted_line_breaks(tmp_path):
    _wav(tmp_path / "a.wav")
    csv = tmp_path / "m.csv"
    csv.write_text(
        'file,label,speaker\n\na.wav,angry,"s\n1"\n\nnone.wav,sad,s2\n',
        newline="",
    )
    with pytest.warns(CorpusWarning, match=r"\n  line 6: none\.wav: file not found$"):
        table = load_corpus("csv", csv)
    assert table["speaker"].tolist() == ["s\n1"]


def test_a_quote_never_closed_is_refused_with_its_line(tmp_path):
    _wav(tmp_path / "a.wav")
    csv = tmp_path / "m.csv"
    csv.write_text('file,label,speaker\na.wav,angry,s1\n"b.wav,sad,s2\n')
    with pytest.raises(
        ValueError, match=r"the double quote opened on line 3 is never closed"
    ):
        _read(csv)


def test_an_empty_csv_is_refused_as_such(tmp_path):
    csv = tmp_path / "m.csv"
    csv.write_text("\n\n")
    with pytest.raises(ValueError, match=r"m\.csv' is empty: it has no header line"):
        _read(csv)


def test_relative_paths_found_nowhere_say_where_they_were_looked_for(
    tmp_path, monkeypatch
):
    # paths written relative to the current folder, not to the CSV's
    _wav(tmp_path / "sub" / "a.wav")
    csv = tmp_path / "sub" / "m.csv"
    csv.write_text("file,label,speaker\nsub/a.wav,angry,s1\n")
    monkeypatch.chdir(tmp_path)
    with (
        pytest.warns(CorpusWarning, match=r"line 2: sub/a\.wav: file not found$"),
        pytest.raises(
            ValueError,
            match=r"1 relative path\(s\) name no file: they are read from the "
            r"CSV's folder '.*sub' \(e\.g\. '.*sub/sub/a\.wav'\), not from the "
            r"current folder",
        ),
    ):
        load_corpus("csv", "sub/m.csv")


# -- delimiter: a CSV with semicolons or tabs between the fields --------------


def test_a_semicolon_csv_is_read_with_the_delimiter_option(tmp_path):
    # a German Excel saves "CSV" with ';' and a BOM: refused before, with the
    # advice to convert it through pandas, which turns speaker 007 into 7
    _wav(tmp_path / "clips" / "a.wav")
    _wav(tmp_path / "clips" / "b.flac", fmt="FLAC")
    text = (
        "Sprecher;Pfad;Emotion;Note\n007;clips/a.wav;Angry;3,5\n7;clips/b.flac;sad;\n"
    )
    (tmp_path / "m.csv").write_bytes(text.encode("utf-8-sig"))
    columns = {"file": "Pfad", "label": "Emotion", "speaker": "Sprecher"}
    table = _read(tmp_path / "m.csv", columns=columns, delimiter=";")
    assert _rows(table) == [
        ("a.wav", "007", "unknown", "unknown", "anger"),
        ("b.flac", "7", "unknown", "unknown", "sadness"),
    ]
    with pytest.raises(
        ValueError,
        match=r"looks ';'-separated \(its header reads as the one column "
        r"'Sprecher;Pfad;Emotion;Note'\); the csv reader reads comma-separated "
        r"files unless told otherwise\. Pass delimiter=';' \(in a sertl run "
        r'experiment: options = \{ delimiter = ";" \}\)\.',
    ):
        _read(tmp_path / "m.csv", columns=columns)
    # tabs, and a comma file read with delimiter=";" says so
    (tmp_path / "t.tsv").write_text("file\tlabel\tspeaker\nclips/a.wav\tsad\ts1\n")
    assert _rows(_read(tmp_path / "t.tsv", delimiter="\t"))[0][-1] == "sadness"
    (tmp_path / "c.csv").write_text("file,label,speaker\nclips/a.wav,sad,s1\n")
    with pytest.raises(
        ValueError,
        match=r"looks comma-separated .*reads ';'-separated files unless told "
        r"otherwise\. Pass delimiter=','",
    ):
        _read(tmp_path / "c.csv", delimiter=";")


def test_excels_sep_line_names_the_delimiter(tmp_path):
    _wav(tmp_path / "a.wav")
    (tmp_path / "m.csv").write_text(
        "sep=;\nfile;label;speaker\na.wav;happy;s1\nb.wav;sad;s1\n"
    )
    with pytest.warns(CorpusWarning, match=r"line 4: b\.wav: file not found"):
        table = load_corpus("csv", tmp_path / "m.csv")
    assert _rows(table) == [("a.wav", "s1", "unknown", "unknown", "happiness")]


@pytest.mark.parametrize(
    ("delimiter", "error", "match"),
    [
        (5, TypeError, r"delimiter must be the one character between the fields, "
         r"e\.g\. ',' or ';'; got int 5\."),
        ("", ValueError, r"delimiter='' is not one character"),
        (";;", ValueError, r"delimiter=';;' is not one character"),
        ('"', ValueError, r"""delimiter='"' is not one character"""),
    ],
)  # fmt: skip
def test_a_bad_delimiter_is_refused(tmp_path, delimiter, error, match):
    (tmp_path / "m.csv").write_text("file,label,speaker\n")
    with pytest.raises(error, match=match):
        load_corpus("csv", tmp_path / "m.csv", delimiter=delimiter)


def test_a_path_written_on_windows_finds_its_file(tmp_path):
    # a manifest made on Windows writes clips\a.wav: "file not found" before
    _wav(tmp_path / "clips" / "a.wav")
    _wav(tmp_path / "clips" / "take 2" / "b.wav")
    text = "file,label,speaker\nclips\\a.wav,happy,s1\n.\\clips\\take 2\\b.wav,sad,s2\n"
    (tmp_path / "m.csv").write_text(text)
    table = _read(tmp_path / "m.csv")
    assert _rows(table) == [
        ("a.wav", "s1", "unknown", "unknown", "happiness"),
        ("b.wav", "s2", "unknown", "unknown", "sadness"),
    ]
    assert table["file"].tolist() == [
        str((tmp_path / "clips" / "a.wav").resolve()),
        str((tmp_path / "clips" / "take 2" / "b.wav").resolve()),
    ]
    # a file whose name holds a backslash on disk keeps it
    _wav(tmp_path / "odd\\name.wav")
    (tmp_path / "o.csv").write_text("file,label,speaker\nodd\\name.wav,sad,s1\n")
    assert _read(tmp_path / "o.csv")["file"].tolist() == [
        str((tmp_path / "odd\\name.wav").resolve())
    ]
    # a missing one is reported as written
    (tmp_path / "x.csv").write_text(
        "file,label,speaker\nclips\\a.wav,sad,s1\nclips\\no.wav,sad,s1\n"
    )
    with pytest.warns(CorpusWarning, match=r"line 3: clips\\no\.wav: file not found"):
        load_corpus("csv", tmp_path / "x.csv")


def test_a_sex_column_is_read_and_odd_gender_values_are_named(tmp_path):
    # a "Sex" column was ignored, and odd values read as unknown, silently
    for name in "abcde":
        _wav(tmp_path / f"{name}.wav")
    (tmp_path / "m.csv").write_text(
        "file,label,speaker,Sex\na.wav,sad,s1,divers\nb.wav,sad,s2,x\n"
        "c.wav,sad,s3,f\nd.wav,sad,s4,\ne.wav,sad,s5,divers\n"
    )
    with pytest.warns(CorpusWarning) as caught:
        table = load_corpus("csv", tmp_path / "m.csv")
    assert [str(w.message) for w in caught] == [
        f"csv: gender value(s) ['divers', 'x'] in the column 'sex' of "
        f"{str(tmp_path / 'm.csv')!r} are neither female (f, female, w, woman, "
        "weiblich, frau) nor male (m, male, man, männlich, mann), in any case: "
        "their 3 row(s) get the gender 'unknown'. Write female or male in the CSV "
        "where they mean it."
    ]
    assert table["gender"].tolist() == ["unknown"] * 2 + ["female"] + ["unknown"] * 2
    (tmp_path / "m.csv").write_text("file,label,speaker,sex\na.wav,sad,s1,M\n")
    assert _read(tmp_path / "m.csv")["gender"].tolist() == ["male"]


def test_german_gender_values_are_read_in_any_case_and_unicode_form(tmp_path):
    # "Frau" and "Mann", as a German CSV writes them, were read as unknown
    values = ["Frau", "MANN", "weiblich", "Männlich", "W", "m"]
    values.append(unicodedata.normalize("NFD", "männlich"))  # saved on macOS
    for i in range(len(values)):
        _wav(tmp_path / f"{i}.wav")
    (tmp_path / "m.csv").write_text(
        "file,label,speaker,gender\n"
        + "".join(f"{i}.wav,sad,s{i},{v}\n" for i, v in enumerate(values))
    )
    table = _read(tmp_path / "m.csv")  # no warning: every value is read
    assert table["gender"].tolist() == [
        "female",
        "male",
        "female",
        "male",
        "female",
        "male",
        "male",
    ]


# -- a corpus without labels: an unlabelled target ------------------------------


def test_a_csv_without_labels_is_read_as_unlabelled_rows(tmp_path):
    # a manifest of the target's recordings, with no label column, was refused
    from sertl_core import is_unlabeled

    for name in "abc":
        _wav(tmp_path / f"{name}.wav")
    csv = tmp_path / "target.csv"
    csv.write_text("file\nb.wav\na.wav\n\nc.wav\n")
    t = _read(csv, labelled=False)
    assert _rows(t) == [
        ("a.wav", "unknown", "unknown", "unknown", "-1"),
        ("b.wav", "unknown", "unknown", "unknown", "-1"),
        ("c.wav", "unknown", "unknown", "unknown", "-1"),
    ]
    assert is_unlabeled(t["emotion"].to_numpy()).all()
    assert t["emotion_orig"].tolist() == ["", "", ""]
    # its speakers and genders are read when it has them; a label column is not
    csv.write_text("path,spk,sex,label\na.wav,s1,f,angry\nb.wav,,m,\n")
    t = _read(csv, labelled=False, columns={"file": "path", "speaker": "spk"})
    assert _rows(t) == [
        ("a.wav", "s1", "female", "unknown", "-1"),
        ("b.wav", "unknown", "male", "unknown", "-1"),
    ]


def test_a_csv_without_labels_reports_empty_and_repeated_files(tmp_path):
    _wav(tmp_path / "a.wav")
    csv = tmp_path / "target.csv"
    csv.write_text('file\na.wav\n""\na.wav\n')
    with pytest.warns(CorpusWarning) as caught:
        t = load_corpus("csv", csv, labelled=False)
    texts = [str(w.message) for w in caught]
    assert any("line 3: empty file" in text for text in texts), texts
    repeated = next(text for text in texts if "more than one line" in text)
    assert "different labels" not in repeated  # it has none to compare
    assert "under each label" not in repeated
    assert re.search(r"a\.wav: lines 2, 4$", repeated)
    assert t["emotion"].tolist() == ["-1", "-1"]


def test_a_csv_without_a_label_column_says_how_to_read_it_unlabelled(tmp_path):
    csv = tmp_path / "target.csv"
    csv.write_text("file,speaker\na.wav,s1\n")
    with pytest.raises(
        ValueError,
        match=r"lacks column\(s\) label \(or emotion\);.* A corpus without labels "
        r"\(the recordings of an unlabelled target\) is read with labelled=False "
        r"\(in an experiment file, which sertl run and sertl grid take in place "
        r"of --source and --target: \[corpora\.NAME\] options = \{ labelled = "
        r"false \}\), which needs the file column only\.",
    ):
        load_corpus("csv", csv)


@pytest.mark.parametrize(
    ("options", "error", "match"),
    [
        ({"labelled": "no"}, TypeError, r"labelled must be True .* got str 'no'"),
        (
            {"labelled": False, "columns": {"label": "emo"}},
            ValueError,
            r"columns names a label column \('emo'\), but labelled=False reads no "
            r"labels; leave the label out of columns",
        ),
        (
            {"labelled": False, "emotions": ["anger"]},
            ValueError,
            r"emotions=\['anger'\] selects rows by their label, but labelled=False "
            r"reads none",
        ),
    ],
)
def test_contradictory_options_of_a_csv_without_labels_are_refused(
    tmp_path, options, error, match
):
    _wav(tmp_path / "a.wav")
    csv = tmp_path / "target.csv"
    csv.write_text("file,emo\na.wav,sad\n")
    with pytest.raises(error, match=match):
        load_corpus("csv", csv, **options)
