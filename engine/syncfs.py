"""One sync for a whole chunk of small outputs: Linux's syncfs on the output folders' file
systems, where it is known to cover what a sync of each file would, and where it costs the
batch nothing it should not pay.

A durable publish syncs each file's data before its name appears (publish.sync_data). On a
chunk of 32 small files that is 32 cache flushes of the disk: measured on scenario D (10,000
64x64 PNGs), 10,008 flush requests reached the disk, and durable publish cost 0.5 s of a 5.7 s
batch. One syncfs per chunk writes the chunk's data and inodes (and every other dirty page of
that file system) and flushes the disk's cache once: 365 flushes for the same batch.

It is used only where both hold:
- the file system is a local disk one whose syncfs writes every file's data and metadata and
  then flushes the disk (ext2/3/4, XFS, Btrfs, F2FS). On network and FUSE file systems a
  syncfs may not reach the server's disk, so each file is synced there as before;
- little else waits to be written on the machine (the kernel's dirty and writeback pages,
  below _MAX_DIRTY): a syncfs also writes what other programs wrote to that file system, and
  while a big copy runs that would be the batch's cost (a slower batch, not a weaker promise).
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Iterable
from typing import Any

#: File systems whose syncfs covers fdatasync of every file on them (mountinfo's names).
LOCAL_DISK_TYPES = frozenset({"ext2", "ext3", "ext4", "xfs", "btrfs", "f2fs"})
#: Above this much data waiting to be written on the machine, files are synced one by one.
_MAX_DIRTY = 32 << 20

_fs_types: dict[int, str | None] = {}  # st_dev -> file system type (None: not found)


def sync_file_systems(folders: Iterable[str]) -> bool:
    """Every file written so far to the file systems of folders, data and metadata, on the
    disk (one syncfs each). False, with nothing synced, where that would not keep the promise
    of a sync of each file or would be costly (see the module's note): the caller syncs each
    file then. Raises OSError when a sync itself failed."""
    syncfs = _libc_syncfs()
    if syncfs is None or _dirty_bytes() > _MAX_DIRTY:
        return False
    opened: dict[int, tuple[int, str]] = {}  # device -> (folder descriptor, folder)
    try:
        for folder in set(folders):
            found = _open_folder(folder)
            if found is None:
                return False
            fd, dev = found
            if dev in opened:  # another folder of a file system already open
                os.close(fd)
                continue
            opened[dev] = (fd, folder)
            if fs_type(dev) not in LOCAL_DISK_TYPES:
                return False
        for fd, folder in opened.values():
            if syncfs(fd) != 0:
                import ctypes

                err = ctypes.get_errno()
                raise OSError(err, os.strerror(err), folder)
        return bool(opened)
    finally:
        for fd, _folder in opened.values():
            os.close(fd)


def _open_folder(folder: str) -> tuple[int, int] | None:
    """folder open for syncfs, and its device; None where it cannot be opened."""
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return None
    try:
        return fd, os.fstat(fd).st_dev
    except OSError:
        os.close(fd)
        return None


def fs_type(dev: int) -> str | None:
    """The type of the file system mounted from device dev (/proc/self/mountinfo), or None."""
    if dev not in _fs_types:
        _fs_types[dev] = _read_fs_type(dev)
    return _fs_types[dev]


def _read_fs_type(dev: int) -> str | None:
    want = f"{os.major(dev)}:{os.minor(dev)}"
    try:
        with open("/proc/self/mountinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                fields = line.split()
                # id parent major:minor root mount-point options [optional...] - type source
                if len(fields) > 2 and fields[2] == want and "-" in fields:
                    rest = fields[fields.index("-") + 1 :]
                    return rest[0] if rest else None
    except OSError:
        pass
    return None


def _dirty_bytes() -> int:
    """Data the kernel holds to be written (Dirty + Writeback in /proc/meminfo); a lot where it
    cannot be read."""
    total = 0
    try:
        with open("/proc/meminfo", encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith(("Dirty:", "Writeback:")):
                    total += int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return 1 << 62
    return total


@functools.cache
def libc_function(name: str, *argtypes: Any) -> Any:
    """The C library's function name, taking argtypes and returning an int (errno kept), or
    None where there is none (not Linux, or an older C library). Looked up once."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes

        fn = getattr(ctypes.CDLL(None, use_errno=True), name)
    except (OSError, AttributeError):
        return None
    fn.argtypes, fn.restype = list(argtypes), ctypes.c_int
    return fn


def _libc_syncfs() -> Any:
    import ctypes

    return libc_function("syncfs", ctypes.c_int)
