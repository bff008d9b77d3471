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

A process killed while it writes (``kill -9``, the memory limit) leaves its
temporary file behind. Its name carries the writer
(``.tmp-<host>-<pid>-<16 hex>``): the first use of the folder in a later
process removes those of writers that are gone (:meth:`FeatureCache.sweep`).
Whether a writer of this machine is gone is asked of the system: signal 0
(and the start time in ``/proc``, against a pid given to a later process)
on Linux, signal 0 on macOS, the Windows API on Windows; one that cannot
be asked about, or of another machine, is never taken for gone.

Before it decodes a file in its own process, :class:`AudioFeatures` names
it in a marker (``.decoding-<host>-<pid>-<16 hex>.json``), removed once the
file is read or when the call ends (Ctrl-C included). A marker whose
process is gone names the file that ended it (a crash in the decoder, the
memory limit, a kill): :meth:`FeatureCache.recover_crashes` turns it into a
crash record beside the file's entry (``<content key>.crashed.json``). The
process may have ended for another reason (the memory limit of a large run,
a kill, a power loss) while a healthy file was decoded, so the next call
tries that file once more alone in a separate process: decoded, its record
is removed (:meth:`FeatureCache.clear_crash`); ending that process too, the
record is confirmed (:meth:`FeatureCache.confirm_crash`) and the file is a
failure, without a retry, on every later call until the record is deleted.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import re
import secrets
import socket
import stat
import threading
import time
from pathlib import Path

import numpy as np

__all__ = [
    "FeatureCache",
    "content_key",
    "file_state",
    "open_temporary",
    "remove_stale_temporaries",
    "replace_file",
    "temporary_name",
    "waveform_key",
]

_MEMO: dict[tuple, str] = {}
_MEMO_MAX = 200_000

_WRITING: set[str] = set()
"""Temporary files this process is writing now (see :func:`open_temporary`)."""

_MARKING: set[Path] = set()
"""Markers of files this process is decoding now (see ``FeatureCache.mark``)."""

_MARKING_LOCK = threading.Lock()
"""Held while a marker is listed and written, or unlisted and removed.

Several threads of one process may decode at once (one fitted transformer
serving a thread pool), each call with its own marker. Under this lock a
marker file of this process exists exactly while it is listed in
``_MARKING``: :meth:`FeatureCache.recover_crashes` reads another thread's
marker under it too, so that it never reads a live marker whose thread
then finishes its file and unlists it before the check (the file was
taken for one that ended an earlier process and got a crash record).
"""

_SWEPT: set[str] = set()
"""Cache folders this process has swept of gone writers' temporary files."""

# what follows a temporary file's prefix: the writer's host tag and process
# id, then 64 random bits (a pid of 0 is no process: os.kill(0, 0) would
# signal this process's whole group)
_WRITER = r"(?P<host>[0-9a-f]{8})-(?P<pid>[1-9][0-9]{0,9})-[0-9a-f]{16}"


_WINDOWS = os.name == "nt"
"""Whether processes are looked at through the Windows API (:func:`_process_gone`).

Windows has no ``/proc``, and its ``os.kill`` ends a process whatever the
signal, so signal 0 cannot ask whether one runs.
"""

# the Windows API's constants that _windows_process uses
_PROCESS_QUERY_LIMITED_INFORMATION = 0x1000
_ERROR_INVALID_PARAMETER = 87
_STILL_ACTIVE = 259


@functools.cache
def _host_name():
    """Host name of this machine, read once per process (it names markers)."""
    return socket.gethostname()


_STARTED: dict[int, int | None] = {}
"""This process's start time (see :func:`_process_start`), keyed by its pid."""


def _own_start():
    """Start time of this process, read from ``/proc`` once per process.

    Keyed by the process id: a child made by ``fork`` reads its own.
    """
    pid = os.getpid()
    if pid not in _STARTED:
        _STARTED.clear()  # a parent's entry, inherited through fork
        _STARTED[pid] = _process_start(pid)
    return _STARTED[pid]


@functools.cache
def _host_tag():
    """Eight hex characters naming this machine's process-id space.

    A folder may be shared by several machines, and by containers that
    share a host name (``--network host``) but each have their own process
    ids: the host name alone would let one container take the other's live
    writers for gone ones. On Linux the tag also names the process-id
    namespace (``/proc/self/ns/pid``), so only processes that can see each
    other's ids share a tag.
    """
    try:
        space = os.readlink("/proc/self/ns/pid")
    except OSError:  # not Linux, or no /proc: the host name alone
        space = ""
    name = f"{_host_name()}\0{space}"
    return hashlib.blake2b(
        name.encode("utf-8", "surrogateescape"), digest_size=4
    ).hexdigest()


def temporary_name(prefix, suffix=""):
    """Return a new temporary file name that names its writer.

    Parameters
    ----------
    prefix : str
        Start of the name, e.g. ``".tmp-"``.
    suffix : str, default=""
        End of the name, e.g. ``".npy"``.

    Returns
    -------
    str
        ``PREFIX<host tag>-<pid>-<16 hex>SUFFIX``: the host tag and the
        process id let a later process tell whether the writer is gone.

    Examples
    --------
    >>> import os
    >>> from sertl_speech import temporary_name
    >>> name = temporary_name(".tmp-", ".npy")
    >>> name.startswith(".tmp-"), f"-{os.getpid()}-" in name, name.endswith(".npy")
    (True, True, True)
    """
    return f"{prefix}{_host_tag()}-{os.getpid()}-{secrets.token_hex(8)}{suffix}"


@contextlib.contextmanager
def open_temporary(folder, prefix, suffix=""):
    """Create a new temporary file in ``folder``, named after its writer.

    The file is this call's own (``O_EXCL``: a link planted at the name is
    not followed), of the mode ``open()`` gives (``0o666`` less the
    umask). While the block runs it is listed as being written, so
    :func:`remove_stale_temporaries` in another thread of this process
    leaves it alone. The caller renames or removes it.

    Parameters
    ----------
    folder : path-like
        Folder of the file (it must exist).
    prefix : str
        Start of the name, e.g. ``".tmp-"`` (see :func:`temporary_name`).
    suffix : str, default=""
        End of the name, e.g. ``".npy"``.

    Yields
    ------
    fd : int
        The open file descriptor (the caller closes it).
    path : pathlib.Path
        The file.

    Examples
    --------
    >>> import os, tempfile
    >>> from sertl_speech import open_temporary
    >>> with tempfile.TemporaryDirectory() as d:
    ...     with open_temporary(d, ".tmp-", ".txt") as (fd, tmp):
    ...         os.close(fd)
    ...         tmp.unlink()
    ...     tmp.name.startswith(".tmp-")
    True
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    while True:
        tmp = Path(folder) / temporary_name(prefix, suffix)
        # listed before it exists: a sweep in another thread between the
        # creation and the listing would take this process's new file for
        # an earlier process's (same pid) and remove it
        _WRITING.add(str(tmp))
        try:
            fd = os.open(tmp, flags, 0o666)  # the umask applies
            break
        except FileExistsError:  # pragma: no cover - 64 random bits
            _WRITING.discard(str(tmp))
            continue
        except BaseException:
            _WRITING.discard(str(tmp))
            raise
    try:
        yield fd, tmp
    finally:
        _WRITING.discard(str(tmp))


_REPLACE_PATIENCE_S = 2.0
"""Seconds :func:`replace_file` keeps trying on Windows while the target is open."""


def replace_file(src, dst):
    """Rename ``src`` to ``dst``, replacing it; on Windows wait while ``dst`` is open.

    ``os.replace`` on POSIX. Windows cannot replace a file that another
    process holds open (another run reading the same cache entry, a virus
    scanner or the search indexer opening each new file for a moment):
    ``os.replace`` then raises ``PermissionError``. There it is tried again
    for up to two seconds; a file still refused after that is an error that
    says so. Windows raises the same error for a target with the read-only
    attribute, which waiting does not change: that one is an error at once,
    saying how to clear the attribute.

    Parameters
    ----------
    src, dst : path-like
        The new file, and the name it takes.

    Raises
    ------
    PermissionError
        ``dst`` cannot be replaced (on Windows: read-only, or still refused
        after two seconds: open in another program, or a folder whose
        permissions do not let you replace its files).

    Examples
    --------
    >>> import os, tempfile
    >>> from sertl_speech import replace_file
    >>> d = tempfile.mkdtemp()
    >>> for name in ("new", "old"):
    ...     with open(os.path.join(d, name), "w") as fh:
    ...         _ = fh.write(name)
    >>> replace_file(os.path.join(d, "new"), os.path.join(d, "old"))
    >>> sorted(os.listdir(d)), open(os.path.join(d, "old")).read()
    (['old'], 'new')
    """
    if not _WINDOWS:
        os.replace(src, dst)
        return
    deadline = time.monotonic() + _REPLACE_PATIENCE_S
    delay = 0.01
    while True:
        try:
            os.replace(src, dst)
            return
        except PermissionError as exc:
            reason = exc.strerror or str(exc)
            if _read_only(dst):
                raise PermissionError(
                    exc.errno,
                    f"{reason}; the file is read-only (its read-only attribute "
                    f'is set): clear it (attrib -r "{os.fspath(dst)}", or untick '
                    "Read-only in the file's Properties) or write elsewhere",
                    os.fspath(dst),
                ) from exc
            if time.monotonic() >= deadline:
                raise PermissionError(
                    exc.errno,
                    f"{reason}; Windows cannot replace a file that another "
                    "program holds open: close it there (or wait for the run "
                    "that reads it) and try again; if nothing has it open, your "
                    f"permissions on {os.fspath(Path(dst).parent)} do not let you "
                    "replace its files: write elsewhere",
                    os.fspath(dst),
                ) from exc
            time.sleep(delay)
            delay = min(2 * delay, 0.2)


def _read_only(path):
    """Whether the file ``path`` is read-only (False: writable, or not there).

    On Windows its read-only attribute, which refuses ``os.replace`` as a
    file held open does; elsewhere (and where the attribute is not known)
    the owner's write bit of its mode, which Windows' ``os.stat`` sets from
    the same attribute.
    """
    try:
        st = os.stat(path)
    except OSError:  # gone meanwhile, or its folder cannot be read: unknown
        return False
    attributes = getattr(st, "st_file_attributes", None)
    if attributes is not None:
        return bool(attributes & stat.FILE_ATTRIBUTE_READONLY)
    return not st.st_mode & stat.S_IWUSR


def _process_start(pid):
    """Start time of process ``pid`` (None: unknown), comparable on this machine.

    Read from ``/proc`` on Linux (clock ticks since boot), asked of the
    Windows API on Windows (its creation time, see :func:`_windows_process`);
    None elsewhere (macOS). With the pid, it tells a process apart from a
    later one given the same pid.
    """
    if _WINDOWS:
        return _windows_process(pid)[1]
    try:
        with open(f"/proc/{int(pid)}/stat", "rb") as fh:
            text = fh.read()
    except OSError:
        return None
    # the command name, in parentheses, may hold spaces: count after it
    fields = text[text.rfind(b")") + 2 :].split()
    try:
        return int(fields[19])  # field 22 of proc(5); fields here start at 3
    except (IndexError, ValueError):
        return None


def _process_gone(host, pid, started=None):
    """Whether process ``pid`` of the machine tagged ``host`` no longer runs.

    Only this machine's processes can be looked at: one of another host
    (a cache folder on a shared disk) is never taken for gone. On Windows
    the process is asked about through the Windows API
    (:func:`_windows_process`; ``os.kill`` would end it), elsewhere with
    signal 0. A process with the pid that started at another time than
    ``started`` (when given) is another process: the one asked about is
    gone. When it cannot be told, the process is not taken for gone.
    """
    if host != _host_tag():
        return False
    if _WINDOWS:
        alive, created = _windows_process(pid)
        if alive is None:
            return False  # cannot tell: keep what it may be writing
        if not alive:
            return True
        return started is not None and created is not None and created != started
    try:
        os.kill(pid, 0)  # signal 0: only checks that the process exists
    except ProcessLookupError:
        return True
    except PermissionError:
        pass  # a live process of another user
    except (OSError, OverflowError, ValueError):
        return False  # cannot tell: keep what it may be writing
    if started is not None:
        now = _process_start(pid)
        return now is not None and now != started
    return False


def _windows_process(pid):
    """Ask Windows whether process ``pid`` runs, and when it was created.

    Through ``OpenProcess`` and ``GetExitCodeProcess`` of ``kernel32``
    (by ``ctypes``): a pid that names no process is gone; a process that
    cannot be opened for another reason (one of another user that this
    user may not query) cannot be told about.

    Parameters
    ----------
    pid : int
        Process id.

    Returns
    -------
    alive : bool or None
        True while it runs, False when no process has the pid or it has
        ended, None when it cannot be told.
    created : int or None
        Its creation time (a ``FILETIME``, 100 ns units) while it runs,
        else None.
    """
    import ctypes
    from ctypes import wintypes

    if not 0 < pid < 2**32:  # no Windows process id
        return None, None
    # an own instance: the argument and return types set here are this
    # function's, not those of every user of ctypes.windll.kernel32
    kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)  # type: ignore[attr-defined]
    kernel32.OpenProcess.argtypes = (wintypes.DWORD, wintypes.BOOL, wintypes.DWORD)
    kernel32.OpenProcess.restype = wintypes.HANDLE
    kernel32.GetExitCodeProcess.argtypes = (
        wintypes.HANDLE,
        ctypes.POINTER(wintypes.DWORD),
    )
    kernel32.GetExitCodeProcess.restype = wintypes.BOOL
    kernel32.GetProcessTimes.argtypes = (wintypes.HANDLE,) + (
        ctypes.POINTER(wintypes.FILETIME),
    ) * 4
    kernel32.GetProcessTimes.restype = wintypes.BOOL
    kernel32.CloseHandle.argtypes = (wintypes.HANDLE,)
    kernel32.CloseHandle.restype = wintypes.BOOL
    handle = kernel32.OpenProcess(_PROCESS_QUERY_LIMITED_INFORMATION, False, pid)
    if not handle:
        if ctypes.get_last_error() == _ERROR_INVALID_PARAMETER:
            return False, None  # no process has this id
        return None, None  # e.g. access denied: it exists, or cannot be told
    try:
        code = wintypes.DWORD()
        if not kernel32.GetExitCodeProcess(handle, ctypes.byref(code)):
            return None, None
        if code.value != _STILL_ACTIVE:
            return False, None  # ended; a handle still held elsewhere keeps it
        times = [wintypes.FILETIME() for _ in range(4)]
        if not kernel32.GetProcessTimes(handle, *(ctypes.byref(t) for t in times)):
            return True, None
        return True, (times[0].dwHighDateTime << 32) | times[0].dwLowDateTime
    finally:
        kernel32.CloseHandle(handle)


def _named_after_this_process(match):
    """Whether a name's writer (``match`` of :data:`_WRITER`) has this pid here.

    That is this process, or an earlier one given the same pid.
    """
    return int(match["pid"]) == os.getpid() and match["host"] == _host_tag()


def _writer_gone(path, match):
    """Whether the writer named in ``path``'s name (``match``) is gone."""
    if _named_after_this_process(match):
        # this process, or an earlier one given the same pid (a container's
        # processes get the same pids run after run): gone unless it is
        # being written here now
        return str(path) not in _WRITING
    return _process_gone(match["host"], int(match["pid"]))


def remove_stale_temporaries(folder, prefix, suffixes=("",)):
    """Remove the temporary files in ``folder`` whose writer is gone.

    Only names that :func:`temporary_name` gives with ``prefix`` and one
    of ``suffixes`` are looked at (never a user's file), and of those only
    the ones whose process ended on this machine (killed before it could
    rename or remove them): a live writer's file, one this process is
    writing, or one from another machine stays.

    Parameters
    ----------
    folder : path-like
        Folder to sweep (not its sub-folders); a missing one has none.
    prefix : str
        Start of the names, e.g. ``".tmp-"``.
    suffixes : sequence of str, default=("",)
        The ends the names may have.

    Returns
    -------
    list of pathlib.Path
        The files removed.

    Examples
    --------
    >>> import os, subprocess, sys, tempfile
    >>> from pathlib import Path
    >>> from sertl_speech import remove_stale_temporaries, temporary_name
    >>> gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
    ...                       capture_output=True, text=True).stdout.strip()
    >>> d = Path(tempfile.mkdtemp())
    >>> stale = temporary_name(".tmp-", ".npy").replace(f"-{os.getpid()}-",
    ...                                                 f"-{gone}-")
    >>> for name in (stale, ".tmp-notes.npy"):
    ...     _ = (d / name).write_bytes(b"")
    >>> [p.name == stale for p in remove_stale_temporaries(d, ".tmp-", [".npy"])]
    [True]
    >>> [p.name for p in d.iterdir()]
    ['.tmp-notes.npy']
    """
    ends = "|".join(re.escape(s) for s in suffixes)
    pattern = re.compile(rf"{re.escape(prefix)}{_WRITER}(?:{ends})")
    removed = []
    try:
        entries = list(os.scandir(folder))
    except (FileNotFoundError, NotADirectoryError):
        return removed
    for entry in entries:
        match = pattern.fullmatch(entry.name)
        if match is None or not entry.is_file(follow_symlinks=False):
            continue
        path = Path(entry.path)
        if _writer_gone(path, match):
            try:
                path.unlink(missing_ok=True)  # another run may have removed it
            except OSError:
                # a folder this user cannot write, or a read-only disk: the
                # file stays there (it is never read, only in the way)
                continue
            removed.append(path)
    return removed


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
        self._marker = None  # see mark
        self._marking = True
        info = self.folder / "config.json"
        if not info.exists():
            self._atomic_write(info, text.encode())

    def _path(self, key):
        return self.folder / key[:2] / f"{key}.npy"

    def sweep(self):
        """Remove the temporary files that killed writers left in this folder.

        A process killed between creating an entry's temporary file and
        renaming it leaves the file behind: on the folder's first sweep in
        this process, those of writers that are gone are removed from it
        and its sub-folders (see :func:`remove_stale_temporaries`).

        Returns
        -------
        list of pathlib.Path
            The files removed (none when the folder was swept before).
        """
        folder = str(self.folder)
        if folder in _SWEPT:
            return []
        removed = remove_stale_temporaries(self.folder, ".tmp-", (".npy", ".json"))
        for sub in self.folder.glob("[0-9a-f][0-9a-f]"):
            removed += remove_stale_temporaries(sub, ".tmp-", (".npy", ".json"))
        _SWEPT.add(folder)
        return removed

    # -- files that ended a process -------------------------------------
    _MARKER = re.compile(rf"\.decoding-{_WRITER}\.json")

    def crash_record(self, key):
        """Return the crash record of content ``key`` as ``(path, info)``, or None.

        A record says that decoding the file of that content ended an
        earlier process (see :meth:`recover_crashes`); ``info`` holds what
        the record says (``file``, ``pid``; ``confirmed`` once the file also
        ended a separate process that tried it alone, see
        :meth:`confirm_crash`), empty when it cannot be read. Deleting the
        record file lets the file be decoded again.

        Parameters
        ----------
        key : str
            Content key of the file.

        Returns
        -------
        tuple of (pathlib.Path, dict) or None
            The record and what it says; None when there is none.
        """
        path = self._record_path(key)
        if not path.is_file():
            return None
        try:
            info = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            info = {}  # still a record: its name says the content
        return path, info if isinstance(info, dict) else {}

    def _record_path(self, key):
        return self._path(key).with_suffix(".crashed.json")

    def confirm_crash(self, key, info):
        """Say in content ``key``'s crash record that a retry ended its process too.

        A file with a confirmed record is reported as failed without being
        tried again (see :meth:`crash_record`).

        Parameters
        ----------
        key : str
            Content key of the file.
        info : dict
            What the record said (see :meth:`crash_record`); written back
            with ``confirmed`` set to True.

        Raises
        ------
        OSError
            When the record cannot be written (a read-only folder).
        """
        info = {**info, "confirmed": True}
        self._atomic_write(self._record_path(key), json.dumps(info).encode())

    def clear_crash(self, key):
        """Remove content ``key``'s crash record (a retry decoded the file).

        Parameters
        ----------
        key : str
            Content key of the file.

        Raises
        ------
        OSError
            When the record cannot be removed (a read-only folder).
        """
        self._record_path(key).unlink(missing_ok=True)

    def mark(self, file, key):
        """Name ``file`` (content ``key``) as being decoded by this process now.

        The marker is written whole (a temporary file renamed) into the
        configuration's folder; :meth:`unmark` removes it. Left behind by a
        process that died while decoding, it is turned into a crash record
        by the next :meth:`recover_crashes`. A folder that cannot be written
        turns the markers off for this object (the features are still
        extracted; only a crash goes unrecorded).
        """
        if not self._marking:
            return
        if self._marker is None:
            self._marker = self.folder / temporary_name(".decoding-", ".json")
        info = {
            "file": os.fspath(file),
            "key": key,
            "pid": os.getpid(),
            "host": _host_name(),
            "started": _own_start(),
        }
        with _MARKING_LOCK:  # listed before it exists (see _MARKING_LOCK)
            _MARKING.add(self._marker)
            try:
                self._atomic_write(self._marker, json.dumps(info).encode())
            except OSError:
                # a read-only cache still serves its entries; without a
                # marker a crash while decoding is only not recorded
                self._marking = False

    def unmark(self):
        """Remove this object's marker (nothing is being decoded any more)."""
        if self._marker is not None:
            with _MARKING_LOCK:  # removed before it is unlisted
                self._marker.unlink(missing_ok=True)
                _MARKING.discard(self._marker)

    def recover_crashes(self):
        """Turn the markers of processes that died into crash records.

        Called before a batch: a marker (see :meth:`mark`) whose process is
        gone names the file that process was decoding when it ended without
        cleaning up (a crash in the decoder, the memory limit, a kill, a
        power loss); the caller tries a file with an unconfirmed record once
        more in a separate process (see :meth:`confirm_crash`,
        :meth:`clear_crash`). Markers of live processes, of this object, or
        of another machine stay, and so does a confirmed record of the same
        content. It first calls :meth:`sweep`.

        A marker that cannot be turned into a record (a folder that cannot be
        written: a read-only disk or a cache shared read-only) stays where it
        is and is returned with ``record`` None: the caller then retries its
        file without a record, on every call while the marker is there.

        Returns
        -------
        list of dict
            The markers of gone processes: ``file``, ``key``, ``pid``,
            ``host``, ``started`` (as the marker says), ``record`` (the
            crash record's path, or None when it could not be written;
            then ``marker``, the marker's path, and ``error``, the
            ``OSError``).
        """
        self.sweep()
        found = []
        for path in self.folder.glob(".decoding-*.json"):
            match = self._MARKER.fullmatch(path.name)
            if match is None or path == self._marker:
                continue
            pid = int(match["pid"])
            own = _named_after_this_process(match)
            # a marker named after this process is another thread's (listed
            # in _MARKING, checked and read under the lock: it cannot finish
            # its file in between), or an earlier process's given this pid
            with _MARKING_LOCK if own else contextlib.nullcontext():
                if own and path in _MARKING:
                    continue
                try:
                    info = json.loads(path.read_text(encoding="utf-8"))
                except FileNotFoundError:
                    continue  # its process finished the file meanwhile
                except (OSError, ValueError):
                    info = None  # written whole, so not one of ours
            if not isinstance(info, dict) or not isinstance(info.get("key"), str):
                continue
            if not own and not _process_gone(match["host"], pid, info.get("started")):
                continue
            key = info["key"]
            if re.fullmatch(r"[0-9a-f]{32}", key) is None:
                continue
            record = self._record_path(key)
            try:
                existing = self.crash_record(key)
                if existing is None or existing[1].get("confirmed") is not True:
                    self._atomic_write(record, json.dumps(info).encode())
                path.unlink(missing_ok=True)
            except OSError as exc:
                # a folder that cannot be written: no record, the marker
                # stays (deliberately: the caller retries its file alone)
                found.append({**info, "record": None, "marker": path, "error": exc})
                continue
            found.append({**info, "record": record})
        return found

    @staticmethod
    def _atomic_write(path, data):
        """Write ``data`` to a new file beside ``path``, then rename it to ``path``.

        The file is created with mode ``0o666`` less the process's umask, as
        ``open(path, "wb")`` would create it: a cache folder shared by a
        group (umask 002) is then readable and replaceable by the group's
        other users (``tempfile.mkstemp`` gives ``0o600``, which made every
        entry of another user a miss, written again).
        """
        # named after this process: a later one removes it if this one is
        # killed before the rename (see remove_stale_temporaries)
        with contextlib.ExitStack() as stack:
            try:
                fd, tmp = stack.enter_context(
                    open_temporary(path.parent, ".tmp-", path.suffix)
                )
            except FileNotFoundError:
                # the folder is made on the first write into it (a crash
                # marker is written per decoded file: one mkdir less each)
                path.parent.mkdir(parents=True, exist_ok=True)
                fd, tmp = stack.enter_context(
                    open_temporary(path.parent, ".tmp-", path.suffix)
                )
            try:
                with os.fdopen(fd, "wb") as fh:
                    fh.write(data)
                replace_file(tmp, path)
            except BaseException:
                tmp.unlink(missing_ok=True)
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
