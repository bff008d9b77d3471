"""Files the operating system keeps from this user, and links to nowhere.

Each is named with the real cause and its fix: a file without read
permission is not "damaged", one in a folder without search permission is
not "missing", and a link whose target is gone says so.

The permission checks need a user whom permissions bind: run as root (a
container, CI), the check runs in a forked child that drops to the
``nobody`` uid after the parent has imported everything it needs (the
``as_unprivileged`` fixture of the root conftest.py).
"""

import os
import sys
import warnings

import numpy as np
import pytest
import soundfile as sf
from sertl_speech import AudioFeatures, load_audio, load_corpus
from sertl_speech._audio import AudioError

pytestmark = pytest.mark.skipif(
    sys.platform == "win32", reason="POSIX permissions and fork"
)

SR = 16000


def _write(path, seconds=0.5):
    t = np.arange(int(seconds * SR)) / SR
    sf.write(path, 0.1 * np.sin(2 * np.pi * 220 * t), SR, subtype="PCM_16")
    return str(path)


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


def test_files_this_user_may_not_read_are_named_with_the_fix(locked, as_unprivileged):
    good, no_read, inside = locked

    def report():
        ext = AudioFeatures("mfcc_stats", errors="nan")
        X = ext.fit_transform([good, no_read, inside])
        rows = ext.failed_[["item", "reason", "message"]].values.tolist()
        return np.isfinite(X).all(axis=1).tolist(), rows

    finite, rows = as_unprivileged(report)
    assert finite == [True, False, False]
    assert [r[:2] for r in rows] == [[no_read, "unreadable"], [inside, "unreadable"]]
    for item, _, message in rows:
        # the cause and the fix, not "damaged" (libsndfile's "System error")
        # nor "no such file" (os.path.isfile says False when denied)
        assert message.startswith(f"permission denied: {item} exists"), message
        assert "chmod" in message
        assert "damaged" not in message and "no such file" not in message


def test_load_audio_raises_the_permission_error_with_the_fix(locked, as_unprivileged):
    _, no_read, _ = locked

    def reason():
        try:
            load_audio(no_read)
        except AudioError as err:
            return [err.reason, err.message]
        return None

    got = as_unprivileged(reason)
    assert got is not None and got[0] == "unreadable"
    assert got[1].startswith(f"permission denied: {no_read}")


def test_a_corpus_file_this_user_may_not_read_is_named_in_the_warning(
    open_dir, as_unprivileged
):
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

    messages = as_unprivileged(warned)
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
