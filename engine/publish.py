"""Publishing outputs: exclusive temp files in the target folder, the durable, atomic step
that gives a finished file its final name, finding what a dead worker published, and
sweeping temp files.

A name is only ever given to a complete file. On Linux a file is written without any name
(O_TMPFILE) and linked to its final name once complete: a killed worker leaves nothing at all.
Elsewhere, or on a file system without O_TMPFILE (FAT, most network shares), it is written under
a temp name (`.pixmill-<pool tag><pid>-<counter>.tmp`), which the runner sweeps once a killed
worker is gone. And the file's data is on the disk before its name appears (sync_data, or
sync_many for a chunk of small files, then the link or rename), so a power cut cannot leave an
empty or truncated file under a final name; the folders' entries are made durable for the whole
batch at its end (sync_folders).
"""

from __future__ import annotations

import errno
import itertools
import os
import sys
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from .errors import ConversionError
from .i18n import _
from .naming import renamed
from .syncfs import libc_function, sync_file_systems

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]

_FULLFSYNC = getattr(fcntl, "F_FULLFSYNC", None) if sys.platform == "darwin" else None

TEMP_PREFIX = ".pixmill-"
TEMP_SUFFIX = ".tmp"

_FOLDERS_MADE: set[str] = set()


_counter: Iterator[int] | None = None


def _unique() -> str:
    """Ten hex digits for a temp name: random for the first name of a process, counted up
    from there (one getrandom per process instead of one per file; O_EXCL settles a clash)."""
    global _counter
    if _counter is None:
        _counter = itertools.count(int.from_bytes(os.urandom(5), "big"))
    return f"{next(_counter) & 0xFF_FFFF_FFFF:010x}"


#: Folders whose file system refused O_TMPFILE: their files get temp names.
_NO_TMPFILE: set[str] = set()
_O_TMPFILE = getattr(os, "O_TMPFILE", 0) if os.path.isdir("/proc/self/fd") else 0


def create_temp(folder: str, tag: str = "", named: bool = False) -> tuple[int, str | None]:
    """A new file in folder (made if needed) for an output being written, with the
    permissions any saved file gets: (descriptor, temp path). The path is None for a file
    without a name (Linux's O_TMPFILE, unless named): publish links it by its descriptor, so
    it must stay open until then. tag goes into a temp name so a sweep can find it."""
    if _O_TMPFILE and not named and folder not in _NO_TMPFILE:
        try:
            return _anonymous(folder), None
        except OSError as exc:
            if exc.errno not in _NO_TMPFILE_ERRORS:
                raise
            _NO_TMPFILE.add(folder)
    flags = os.O_RDWR | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    for attempt in range(100):
        _make_folder(folder)
        path = os.path.join(folder, f"{TEMP_PREFIX}{tag}{_unique()}{TEMP_SUFFIX}")
        try:
            return os.open(path, flags, 0o666), path
        except FileExistsError:
            continue
        except FileNotFoundError:
            if attempt:
                raise
            _FOLDERS_MADE.discard(folder)  # removed since: make it again, once
    raise ConversionError(_("could not create a temporary file in the output folder"))


#: What open(O_TMPFILE) fails with where the file system cannot make unnamed files.
_NO_TMPFILE_ERRORS = {errno.EOPNOTSUPP, errno.EISDIR, errno.EINVAL, errno.ENOTSUP}


def _make_folder(folder: str) -> None:
    """Make folder unless this process made it already (discard it from _FOLDERS_MADE when
    it turns out to be gone)."""
    if folder not in _FOLDERS_MADE:
        os.makedirs(folder, exist_ok=True)
        _FOLDERS_MADE.add(folder)


def _anonymous(folder: str) -> int:
    flags = _O_TMPFILE | os.O_RDWR
    _make_folder(folder)
    try:
        return os.open(folder, flags, 0o666)
    except FileNotFoundError:  # removed since it was made: make it again, once
        _FOLDERS_MADE.discard(folder)
        _make_folder(folder)
        return os.open(folder, flags, 0o666)


def _link(fd: int | None, tmp: str | None, name: str) -> None:
    """Give the file (temp path tmp, or the unnamed file open as fd) one more name; raises
    FileExistsError when name is taken."""
    if tmp is not None:
        os.link(tmp, name)
    else:
        # linkat(AT_SYMLINK_FOLLOW) of the descriptor's /proc entry: the way to name an
        # O_TMPFILE file without privileges. The source path is absolute, so the directory
        # descriptor beside it is ignored; passing one makes Python call linkat.
        os.link(f"/proc/self/fd/{fd}", name, src_dir_fd=fd, follow_symlinks=True)


def sync_data(fd: int) -> None:
    """Flush a file's data and size to the disk itself (macOS: through the drive's cache too,
    which its fsync does not). fdatasync where there is one: it writes what reading the data
    back needs (size, blocks) and skips times the next name does not need."""
    if _FULLFSYNC is not None:
        try:
            fcntl.fcntl(fd, _FULLFSYNC)
            return
        except OSError:
            pass  # not supported by this file system: a plain fsync is the best there is
    _fdatasync(fd)


_fdatasync = getattr(os, "fdatasync", os.fsync)


def sync_many(fds: list[int], folders: Iterable[str] = ()) -> None:
    """sync_data for several files at once, made in folders. Where it keeps the same promise
    and costs little (syncfs.py: a local disk file system, little else waiting to be written),
    one syncfs of their file systems: one flush of the disk's cache for a chunk of small
    files instead of one each. Otherwise their writeback is started together (Linux's
    sync_file_range), then each is waited for, so that one journal commit can carry them."""
    if len(fds) > 1 and sync_file_systems(folders):
        return
    start = _writeback()
    if start is not None:
        for fd in fds:
            start(fd, 0, 0, _SYNC_FILE_RANGE_WRITE)  # a hint: sync_data below is the promise
    for fd in fds:
        sync_data(fd)


_SYNC_FILE_RANGE_WRITE = 2


def _writeback() -> Any:
    """Linux's sync_file_range, or None."""
    import ctypes

    return libc_function(
        "sync_file_range", ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint
    )


def sync_folders(folders: Iterable[str]) -> None:
    """Make the names published in these folders durable (fsync of each directory), and the
    folders themselves: every folder between them and their common root, and the root's
    parent, since the batch may have made them. Where a directory cannot be opened or synced
    (Windows, some network file systems) a name is as durable as that system makes it."""
    folders = {os.path.abspath(f) for f in folders}
    if os.name == "nt" or not folders:
        return
    root = os.path.dirname(os.path.commonpath(list(folders)))
    chain = set()
    for folder in folders:
        while folder not in chain:
            chain.add(folder)
            if folder == root or os.path.dirname(folder) == folder:
                break
            folder = os.path.dirname(folder)
    flags = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0)
    for folder in sorted(chain, key=len, reverse=True):  # the deepest first
        try:
            fd = os.open(folder, flags)
        except OSError:
            continue
        try:
            os.fsync(fd)
        except OSError:
            pass
        finally:
            os.close(fd)


#: Windows: a virus scanner, the search indexer or a thumbnailer that has the target open
#: makes os.replace fail with PermissionError (sharing violation) for a moment. A module
#: attribute so the tests can run the retry on any system.
_RETRY_LOCKED = os.name == "nt"
_REPLACE_ATTEMPTS = 6


def _replace(src: str, dst: str) -> None:
    """os.replace, retried briefly (0.75 s in all) on Windows where a scanner may hold the
    target; elsewhere a PermissionError is final at once."""
    for attempt in range(_REPLACE_ATTEMPTS):
        try:
            os.replace(src, dst)
            return
        except PermissionError:
            if not _RETRY_LOCKED or attempt == _REPLACE_ATTEMPTS - 1:
                raise
            time.sleep(0.05 * (attempt + 1))


def publish(
    tmp: str | None, target: str, policy: str, fd: int | None = None, tag: str = ""
) -> str | None:
    """Give a finished file its final name without ever clobbering a file that appeared
    since planning (unless the policy is overwrite). tmp: its temp path, or None for an
    unnamed file open as fd (which the caller closes; tag as for create_temp). Returns the
    final path, or None when the skip policy found the target taken."""
    if tmp is None and policy == "overwrite":
        try:
            _link(fd, None, target)
            return target
        except FileExistsError:  # replace it atomically: through a temp name
            tmp = _named_link(fd, os.path.dirname(target), tag)
    if policy == "overwrite":
        assert tmp is not None
        _replace(tmp, target)
        return target
    candidate = target
    for n in range(1, 10000):
        try:
            _link(fd, tmp, candidate)
        except FileExistsError:
            pass
        except OSError:  # no hard links here (FAT, some network shares): check, then replace
            if tmp is not None and not os.path.lexists(candidate):
                _replace(tmp, candidate)
                return candidate
            if tmp is None:
                raise
        else:
            if tmp is not None:
                os.unlink(tmp)
            return candidate
        if policy == "skip":
            if tmp is not None:
                os.unlink(tmp)
            return None
        candidate = renamed(target, n)
    raise ConversionError(_("could not find a free output name"))


def _named_link(fd: int | None, folder: str, tag: str) -> str:
    """A temp name in folder for the unnamed file open as fd."""
    for _attempt in range(100):
        path = os.path.join(folder, f"{TEMP_PREFIX}{tag}{_unique()}{TEMP_SUFFIX}")
        try:
            _link(fd, None, path)
            return path
        except FileExistsError:
            continue
    raise ConversionError(_("could not create a temporary file in the output folder"))


def find_published(info: dict[str, Any]) -> str | None:
    """Where an output a worker announced before publishing (its "target" and "inode") landed,
    if it did: the target or one of its renamed siblings holding that very file."""
    want = tuple(info["inode"])
    for n in range(10000):
        candidate = renamed(info["target"], n)
        try:
            st = os.stat(candidate)
        except OSError:
            return None
        if (st.st_dev, st.st_ino) == want:
            return candidate
    return None


def temp_files(folder: str, prefix: str = TEMP_PREFIX) -> list[Path]:
    """Pixmill temp files left in a folder whose names start with prefix."""
    try:
        names = os.listdir(folder)
    except OSError:
        return []
    return [Path(folder, n) for n in names if n.startswith(prefix) and n.endswith(TEMP_SUFFIX)]


def sweep(folder: str, prefix: str = TEMP_PREFIX) -> None:
    """Remove the temp files in folder whose names start with prefix."""
    for tmp in temp_files(folder, prefix):
        try:
            tmp.unlink()
        except OSError:
            pass


class PendingSweeps:
    """Temp files of killed workers, removed once each worker is really gone (a killed
    process may still be on its way out, writing)."""

    def __init__(self) -> None:
        self._entries: set[tuple[str, str, int]] = set()

    def __bool__(self) -> bool:
        return bool(self._entries)

    def add(self, folder: str, tag: str, pid: int) -> None:
        """Sweep what the worker pid of the pool tagged tag left in folder."""
        self._entries.add((folder, f"{TEMP_PREFIX}{tag}{pid}-", pid))

    def run(self, alive: set[int] | dict[int, Any]) -> None:
        """Sweep for every worker not in alive."""
        for entry in list(self._entries):
            folder, prefix, pid = entry
            if pid not in alive:
                sweep(folder, prefix)
                self._entries.discard(entry)

    def finish(self, alive: Any, timeout: float = 2.0) -> None:
        """At the end of a batch: wait up to timeout for the workers to go (alive() gives the
        live pids), then sweep everything left."""
        deadline = time.monotonic() + timeout
        while self._entries and time.monotonic() < deadline:
            self.run(alive())
            if self._entries:
                time.sleep(0.02)
        self.run(set())
