"""Files the operating system keeps from this user, and links to nowhere.

Each is named with the real cause and its fix: a file without read
permission is not "damaged", one in a folder without search permission is
not "missing", and a link whose target is gone says so.

The permission checks need a user whom permissions bind: run as root (a
container, CI), the check runs in a forked child that drops to the
``nobody`` uid after the parent has imported everything it needs.
"""

import json
import os
import shutil
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from sertl_speech import AudioFeatures, load_audio, load_corpus
from sertl_speech._audio import AudioError

pytestmark = pytest.mark.skipif(
    sys.platform == "win32", reason="POSIX permissions and fork"
)

SR = 16000
_NOBODY = 65534


def _write(path, seconds=0.5):
    t = np.arange(int(seconds * SR)) / SR
    sf.write(path, 0.1 * np.sin(2 * np.pi * 220 * t), SR, subtype="PCM_16")
    return str(path)


def _as_unprivileged(fn):
    """Return ``fn()`` as a user whom file permissions bind.

    ``fn`` returns something JSON can carry. Not root: called here. Root:
    called in a forked child that first switches to the ``nobody`` uid (the
    modules ``fn`` needs are imported by the parent beforehand, so the child
    reads no file of the environment, which that user may not be allowed
    to).
    """
    if os.geteuid() != 0:
        return fn()
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        code = 1
        try:
            os.close(read_end)
            os.setgid(_NOBODY)
            os.setuid(_NOBODY)
            out = json.dumps({"ok": fn()})
            code = 0
        except BaseException as exc:  # reported to the parent, which fails
            out = json.dumps({"error": f"{type(exc).__name__}: {exc}"})
        with os.fdopen(write_end, "w") as fh:
            fh.write(out)
        os._exit(code)
    os.close(write_end)
    with os.fdopen(read_end) as fh:
        data = fh.read()
    os.waitpid(pid, 0)
    result = json.loads(data)
    assert "error" not in result, result.get("error")
    return result["ok"]


@pytest.fixture
def open_dir():
    """A folder every user may reach (pytest's ``tmp_path`` is its owner's only)."""
    path = Path(tempfile.mkdtemp(prefix="sertl-access-"))
    path.chmod(0o755)
    yield path
    for sub in path.rglob("*"):
        if sub.is_dir() and not sub.is_symlink():
            sub.chmod(0o755)
    shutil.rmtree(path)


@pytest.fixture
def locked(open_dir):
    """A readable file, one without read permission, one in a closed folder."""
    tmp_path = open_dir
    good = _write(tmp_path / "good.wav")
    no_read = _write(tmp_path / "no read.flac")
    os.chmod(no_read, 0o200)
    closed = tmp_path / "closed"
    closed.mkdir()
    inside = _write(closed / "take.wav")
    closed.chmod(0o600)  # no search permission: its files cannot be reached
    # what the child calls is imported here, by a user who may read it all
    AudioFeatures("mfcc_stats", errors="nan").fit_transform([good])
    return good, no_read, inside


def test_files_this_user_may_not_read_are_named_with_the_fix(locked):
    good, no_read, inside = locked

    def report():
        ext = AudioFeatures("mfcc_stats", errors="nan")
        X = ext.fit_transform([good, no_read, inside])
        rows = ext.failed_[["item", "reason", "message"]].values.tolist()
        return np.isfinite(X).all(axis=1).tolist(), rows

    finite, rows = _as_unprivileged(report)
    assert finite == [True, False, False]
    assert [r[:2] for r in rows] == [[no_read, "unreadable"], [inside, "unreadable"]]
    for item, _, message in rows:
        # the cause and the fix, not "damaged" (libsndfile's "System error")
        # nor "no such file" (os.path.isfile says False when denied)
        assert message.startswith(f"permission denied: {item} exists"), message
        assert "chmod" in message
        assert "damaged" not in message and "no such file" not in message


def test_load_audio_raises_the_permission_error_with_the_fix(locked):
    _, no_read, _ = locked

    def reason():
        try:
            load_audio(no_read)
        except AudioError as err:
            return [err.reason, err.message]
        return None

    got = _as_unprivileged(reason)
    assert got is not None and got[0] == "unreadable"
    assert got[1].startswith(f"permission denied: {no_read}")


def test_a_corpus_file_this_user_may_not_read_is_named_in_the_warning(open_dir):
    root = open_dir / "emodb"
    (root / "wav").mkdir(parents=True)
    for name in ("03a01Wa.wav", "03a01Nc.wav"):
        _write(root / "wav" / name)
    os.chmod(root / "wav" / "03a01Nc.wav", 0o200)
    load_corpus("emodb", root)  # imports, as a user who may read them

    def warned():
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            load_corpus("emodb", root)
        return [str(w.message) for w in caught]

    messages = _as_unprivileged(warned)
    said = [m for m in messages if "could not be opened" in m]
    assert len(said) == 1, messages
    assert "03a01Nc.wav exists but this user may not read it" in said[0]
    assert "System error" not in said[0]


def test_a_link_whose_target_is_gone_says_so(tmp_path):
    link = tmp_path / "take.wav"
    link.symlink_to(tmp_path / "unmounted" / "take.wav")
    with pytest.raises(
        AudioError, match=r"^missing: link target missing: .*take\.wav -> .*unmounted"
    ):
        load_audio(link)
    ext = AudioFeatures("mfcc_stats", errors="nan")
    ext.fit_transform([str(link)])
    assert ext.failed_["reason"].tolist() == ["missing"]
    assert "storage not mounted" in ext.failed_["message"].iloc[0]
