"""Publishing outputs: exclusive temp files in the target folder, the durable, atomic step
that gives a finished file its final name, finding what a dead worker published, and
sweeping temp files.

A name is only ever given to a complete file: a killed worker leaves at most a temp file
(`.pixmill-<pool tag><pid>-<random>.tmp`), which the runner sweeps once that worker is gone.
And the file's data is on the disk before its name appears (sync_data, then the link or
rename), so a power cut cannot leave an empty or truncated file under a final name; the
folders' entries are made durable for the whole batch at its end (sync_folders).
"""

from __future__ import annotations

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


def create_temp(folder: str, tag: str = "") -> tuple[int, str]:
    """A new, exclusive temp file in folder (made if needed), with the permissions any saved
    file gets: (descriptor, path). tag goes into the name so a sweep can find it."""
    flags = os.O_RDWR | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    for attempt in range(100):
        if folder not in _FOLDERS_MADE:
            os.makedirs(folder, exist_ok=True)
            _FOLDERS_MADE.add(folder)
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


def sync_data(fd: int) -> None:
    """Flush a file's data and size to the disk itself (macOS: through the drive's cache too,
    which its fsync does not)."""
    if _FULLFSYNC is not None:
        try:
            fcntl.fcntl(fd, _FULLFSYNC)
            return
        except OSError:
            pass  # not supported by this file system: a plain fsync is the best there is
    os.fsync(fd)


_syncfs: Any = None  # libc's syncfs, False where there is none, None until first asked


def sync_file_system(folder: str) -> bool:
    """Every file written to folder's file system so far, data and size, to the disk in one
    call (Linux's syncfs: one journal commit for a chunk of small files instead of one
    fsync each). False where there is no such call or it failed to open the folder: the
    caller then syncs each file itself. Raises OSError when the sync itself failed."""
    global _syncfs
    if _syncfs is None:
        _syncfs = False
        if sys.platform.startswith("linux"):
            try:
                import ctypes

                fn = ctypes.CDLL(None, use_errno=True).syncfs
                fn.argtypes, fn.restype = [ctypes.c_int], ctypes.c_int
                _syncfs = fn
            except (OSError, AttributeError):
                pass
    if not _syncfs:
        return False
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return False
    try:
        if _syncfs(fd) != 0:
            import ctypes

            err = ctypes.get_errno()
            raise OSError(err, os.strerror(err), folder)
    finally:
        os.close(fd)
    return True


def sync_path(path: str) -> None:
    """sync_data for a file that is no longer open."""
    fd = os.open(path, os.O_RDWR | getattr(os, "O_BINARY", 0))
    try:
        sync_data(fd)
    finally:
        os.close(fd)


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


def publish(tmp: str, target: str, policy: str) -> str | None:
    """Move a finished temp file to its final name without ever clobbering a file that
    appeared since planning (unless the policy is overwrite). Returns the final path, or None
    when the skip policy found the target taken."""
    if policy == "overwrite":
        _replace(tmp, target)
        return target
    candidate = target
    for n in range(1, 10000):
        try:
            os.link(tmp, candidate)
        except FileExistsError:
            pass
        except OSError:  # no hard links here (FAT, some network shares): check, then replace
            if not os.path.lexists(candidate):
                _replace(tmp, candidate)
                return candidate
        else:
            os.unlink(tmp)
            return candidate
        if policy == "skip":
            os.unlink(tmp)
            return None
        candidate = renamed(target, n)
    raise ConversionError(_("could not find a free output name"))


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
