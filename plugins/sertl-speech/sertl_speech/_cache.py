"""On-disk feature cache keyed by audio content and feature configuration.

Layout: ``<cache_dir>/<config key>/<2 hex>/<content key>.npy``. The
configuration key hashes the feature set, the extractor version and every
parameter that changes the numbers, so changing any of them starts a fresh
sub-folder instead of returning stale features. The content key hashes the
file's bytes (BLAKE2b), so a renamed or moved file still hits and an edited
file misses. Hashing reads each file once per process; a memo keyed by
``(path, size, mtime_ns, ctime_ns, inode)`` skips re-reading unchanged
files. A file that changes while its features are extracted (a corpus
being copied or edited during a run) is not cached: its key was computed
from the earlier bytes (see :func:`file_state`). Entries are written to a
temporary file and renamed, so an interrupted run never leaves a truncated
entry and simply resumes.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
from pathlib import Path

import numpy as np

__all__ = ["FeatureCache", "content_key", "file_state", "waveform_key"]

_MEMO: dict[tuple, str] = {}
_MEMO_MAX = 200_000


def file_state(path):
    """Return what changes with a file's bytes: size, mtime, ctime and inode.

    ``cp -p``, ``rsync -a`` and ``tar`` keep an older mtime on a replaced
    file, but cannot set its ctime. The state taken before a file's content
    key, compared with the state after its features are extracted, tells
    whether those features are of the bytes the key was computed from.

    Parameters
    ----------
    path : str or path-like
        File.

    Returns
    -------
    tuple of int
        ``(size, mtime_ns, ctime_ns, inode)``.

    Examples
    --------
    >>> import tempfile, os
    >>> from sertl_speech._cache import file_state
    >>> with tempfile.TemporaryDirectory() as d:
    ...     p = os.path.join(d, "a.bin")
    ...     _ = open(p, "wb").write(b"abc")
    ...     file_state(p)[0]
    3
    """
    st = os.stat(path)
    return (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)


def content_key(path):
    """BLAKE2b digest of a file's bytes (memoised on path and its file_state).

    Parameters
    ----------
    path : str or path-like
        File.

    Returns
    -------
    str
        32 hex characters.

    Examples
    --------
    >>> import tempfile, os
    >>> from sertl_speech._cache import content_key
    >>> with tempfile.TemporaryDirectory() as d:
    ...     p = os.path.join(d, "a.bin")
    ...     _ = open(p, "wb").write(b"abc")
    ...     content_key(p) == content_key(p)
    True
    """
    return _content_key_and_state(path)[0]


def _content_key_and_state(path):
    """Return :func:`content_key` and the :func:`file_state` it was hashed under."""
    path = os.fspath(path)
    state = file_state(path)  # ctime and inode too, see file_state
    memo_key = (os.path.abspath(path), *state)
    hit = _MEMO.get(memo_key)
    if hit is not None:
        return hit, state
    h = hashlib.blake2b(digest_size=16)
    h.update(str(state[0]).encode())
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    key = h.hexdigest()
    if len(_MEMO) > _MEMO_MAX:
        _MEMO.clear()
    _MEMO[memo_key] = key
    return key, state


def waveform_key(y, sample_rate):
    """BLAKE2b digest of a waveform's samples, dtype, shape and rate.

    Parameters
    ----------
    y : ndarray
        Waveform.
    sample_rate : int
        Its sample rate in Hz.

    Returns
    -------
    str
        32 hex characters.

    Examples
    --------
    >>> import numpy as np
    >>> from sertl_speech._cache import waveform_key
    >>> waveform_key(np.zeros(3), 16000) != waveform_key(np.zeros(3), 8000)
    True
    """
    y = np.ascontiguousarray(y)
    h = hashlib.blake2b(digest_size=16)
    # "wave2": integer PCM is scaled to full scale 1.0 (entries before were not)
    h.update(f"wave2|{y.dtype.str}|{y.shape}|{int(sample_rate)}|".encode())
    h.update(y.tobytes())
    return h.hexdigest()


class FeatureCache:
    """A folder of cached feature arrays for one feature configuration.

    Parameters
    ----------
    cache_dir : str or path-like
        Root folder (created when missing).
    config : dict
        JSON-serialisable description of everything that changes the
        features (feature set, extractor version, parameters).

    Attributes
    ----------
    folder : pathlib.Path
        Sub-folder of this configuration.

    Examples
    --------
    >>> import tempfile
    >>> import numpy as np
    >>> from sertl_speech._cache import FeatureCache
    >>> with tempfile.TemporaryDirectory() as d:
    ...     cache = FeatureCache(d, {"feature_set": "demo"})
    ...     cache.put("ab12", np.arange(3.0))
    ...     cache.get("ab12").tolist(), cache.get("ffff")
    ...     cache.get("ab12", shape=(316,))  # wrong shape: a miss
    ([0.0, 1.0, 2.0], None)
    """

    def __init__(self, cache_dir, config):
        text = json.dumps(config, sort_keys=True, default=str)
        self.config_key = hashlib.blake2b(text.encode(), digest_size=8).hexdigest()
        self.folder = Path(cache_dir).expanduser() / self.config_key
        self.folder.mkdir(parents=True, exist_ok=True)
        info = self.folder / "config.json"
        if not info.exists():
            self._atomic_write(info, text.encode())

    def _path(self, key):
        return self.folder / key[:2] / f"{key}.npy"

    @staticmethod
    def _atomic_write(path, data):
        """Write ``data`` to a new file beside ``path``, then rename it to ``path``.

        The file is created with mode ``0o666`` less the process's umask, as
        ``open(path, "wb")`` would create it: a cache folder shared by a
        group (umask 002) is then readable and replaceable by the group's
        other users (``tempfile.mkstemp`` gives ``0o600``, which made every
        entry of another user a miss, written again).
        """
        path.parent.mkdir(parents=True, exist_ok=True)
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
        while True:
            tmp = path.parent / f".tmp-{secrets.token_hex(8)}{path.suffix}"
            try:
                fd = os.open(tmp, flags, 0o666)  # the umask applies
                break
            except FileExistsError:  # pragma: no cover - 64 random bits
                continue
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(tmp, path)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise

    def get(self, key, *, shape=None):
        """Return the cached array for ``key`` or None when absent or unusable.

        Parameters
        ----------
        key : str
            Content key of the entry.
        shape : tuple of (int or None), default=None
            Expected shape (None: any length on that axis). An entry of
            another shape, that is not a finite real float array, or that
            cannot be read (truncated, damaged) is a miss: the caller
            computes it again and :meth:`put` overwrites it.

        Returns
        -------
        ndarray or None
            The entry, or None on a miss.
        """
        path = self._path(key)
        if not path.is_file():
            return None
        try:
            value = np.load(path, allow_pickle=False)
        except (OSError, ValueError, EOFError):
            # a damaged entry is a miss; it is overwritten by the next put
            return None
        if value.dtype.kind != "f" or not np.all(np.isfinite(value)):
            return None  # not features this cache writes (NaN rows are not cached)
        if shape is not None and (
            value.ndim != len(shape)
            or any(
                w is not None and n != w
                for n, w in zip(value.shape, shape, strict=False)
            )
        ):
            return None
        return value

    def put(self, key, value):
        """Store ``value`` (a numeric ndarray) under ``key`` atomically."""
        import io

        buf = io.BytesIO()
        np.save(buf, np.asarray(value), allow_pickle=False)
        self._atomic_write(self._path(key), buf.getvalue())
