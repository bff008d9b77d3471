"""``sertl predict`` on folders assembled from links, and on paths it may not reach.

Folders are searched as the corpus readers search them (links followed,
each folder once); a file or folder this user may not reach is reported
with the reason and the fix, and never stops the batch.

The permission checks need a user whom permissions bind: run as root (a
container, CI), they run in a forked child that drops to the ``nobody``
uid after the parent has imported everything they need
(the ``as_unprivileged`` fixture of the root conftest.py).
"""

import os
import shutil
import sys

import pytest
from sertl_experiments import predict_files
from sertl_experiments._predict import _folder_notes, _scan_audio, expand_audio


def test_linked_folders_are_searched_as_the_corpus_readers_search_them(tmp_path):
    # a batch assembled from links to shared storage: the files behind a
    # linked subfolder were left out without a word (Path.rglob does not
    # follow links), while load_corpus reads them
    storage = tmp_path / "storage" / "session1"
    storage.mkdir(parents=True)
    for name in ("a.wav", "b.FLAC"):
        (storage / name).write_bytes(b"")
    batch = tmp_path / "batch"
    batch.mkdir()
    (batch / "own.wav").write_bytes(b"")
    (batch / "session1").symlink_to(storage, target_is_directory=True)
    (batch / "loop").symlink_to(batch, target_is_directory=True)  # searched once
    files, missing = expand_audio([str(batch)])
    assert files == [
        str(batch / "own.wav"),
        str(batch / "session1" / "a.wav"),
        str(batch / "session1" / "b.FLAC"),
    ]
    assert missing == []
    ((_, found, skipped, unread),) = _scan_audio([str(batch)])[1]
    assert (found, dict(skipped), unread) == (files, {}, [])


@pytest.mark.parametrize("descending", [False, True])
def test_a_folder_reached_twice_is_searched_where_the_sorted_walk_meets_it(
    tmp_path, monkeypatch, descending
):
    # a folder reached twice (a take folder and a link to it) is searched
    # once, through the path met first: which path named its files followed
    # the order in which the file system lists a folder (arbitrary), not the
    # sorted walk of the corpus readers (test_speech_corpora's
    # test_folder_reached_twice_is_read_where_the_sorted_walk_meets_it)
    batch = tmp_path / "batch"
    (batch / "sad").mkdir(parents=True)
    (batch / "sad" / "b.wav").write_bytes(b"")
    (batch / "happy").symlink_to(batch / "sad", target_is_directory=True)
    walk = os.walk

    def listed_in_another_order(*args, **kwargs):
        for top, dirs, files in walk(*args, **kwargs):
            dirs.sort(reverse=descending)  # in place: the walk descends in it
            files.sort(reverse=descending)
            yield top, dirs, files

    monkeypatch.setattr(os, "walk", listed_in_another_order)
    assert expand_audio([str(batch)]) == ([str(batch / "happy" / "b.wav")], [])


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX permissions and fork")
def test_a_file_behind_a_closed_folder_is_reported_not_a_crash(
    open_dir, as_unprivileged, small_audio_model
):
    # Path.is_dir raised PermissionError for it: sertl predict stopped with a
    # traceback before labelling any file of the batch
    model, files = small_audio_model
    closed = open_dir / "closed"
    closed.mkdir()
    inside = closed / "take.flac"
    shutil.copy(files[0], inside)
    good = open_dir / "good.flac"
    shutil.copy(files[1], good)
    closed.chmod(0o600)  # listable, but its files cannot be reached
    predict_files(model, [str(good)])  # imports, as a user who may read them

    def labelled():
        entries, _ = _scan_audio([str(inside), str(good)])
        rows = predict_files(model, [p for p, there in entries if there])
        return entries, [[r["file"], r["error"]] for r in rows]

    entries, rows = as_unprivileged(labelled)
    assert entries == [[str(inside), True], [str(good), True]]
    assert rows[1] == [str(good), None]
    assert rows[0][0] == str(inside)
    assert rows[0][1].startswith(f"unreadable: permission denied: {inside} exists")


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX permissions and fork")
def test_a_folder_that_cannot_be_searched_is_noted_with_the_fix(
    open_dir, as_unprivileged
):
    batch = open_dir / "batch"
    (batch / "closed").mkdir(parents=True)
    (batch / "closed" / "a.wav").write_bytes(b"")
    (batch / "b.wav").write_bytes(b"")
    (batch / "closed").chmod(0)
    shut = open_dir / "shut"
    (shut / "sub").mkdir(parents=True)
    (shut / "sub" / "c.wav").write_bytes(b"")
    shut.chmod(0)

    def scanned():
        entries, folders = _scan_audio([str(batch), str(shut)])
        return entries, _folder_notes(folders)

    entries, notes = as_unprivileged(scanned)
    assert entries == [[str(batch / "b.wav"), True]]
    closed, denied = notes
    assert closed.startswith(
        f"{batch}: 1 folder(s) could not be searched, so their audio is not "
        f"labelled: {batch / 'closed'}: Permission denied"
    )
    # the folder argument itself: not "empty, or holds only hidden files"
    assert denied.startswith(f"{shut}: 1 folder(s) could not be searched")
    assert "empty" not in denied
    assert all("chmod a+rx FOLDER" in note for note in notes)


@pytest.mark.skipif(sys.platform != "linux", reason="names of any bytes: Linux")
def test_a_name_not_valid_in_the_file_system_encoding_keeps_its_cautions(tmp_path):
    # the features of such a file (Latin-1 names from an archive, listed with
    # surrogate escapes) were computed, but soundfile could not open the
    # name for the cautions: an 8 kHz, clipped file got none
    import numpy as np
    import soundfile as sf
    from sertl_experiments._predict import _file_warnings

    name = os.fsdecode(os.fsencode(str(tmp_path)) + b"/caf\xe9.wav")
    assert "\udce9" in name
    t = np.arange(8000) / 8000
    sf.write(os.fsencode(name), np.clip(2 * np.sin(2 * np.pi * 200 * t), -1, 1), 8000)
    kinds = [w.split(":", 1)[0] for w in _file_warnings(name)]
    assert kinds == ["band-limited", "clipped"]
