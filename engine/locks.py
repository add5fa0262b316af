"""Advisory locks on small files in Pixmill's data folder: one held by every running batch
(so anyone can tell a running batch from one whose process died) and one per output folder
(so two batches never write into the same folder at once).

The operating system drops a lock when its process dies, however it dies, so a lock that can
be taken means its holder is gone. Locks are per machine: two computers writing into one
network folder do not see each other's.
"""

from __future__ import annotations

import hashlib
import os

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]
    import msvcrt


class LockBusy(Exception):
    """The lock is held by a live process; str() says by whom (what it wrote in the file)."""


class FileLock:
    """An exclusive lock on path, taken without waiting. Holds the file open while held; the
    holder writes a line about itself into it for whoever finds it busy."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self, about: str = "") -> None:
        """Take the lock, or raise LockBusy (with the holder's line) or OSError."""
        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            _lock(fd)
        except OSError:
            holder = _read(fd)
            os.close(fd)
            raise LockBusy(holder) from None
        os.ftruncate(fd, 0)
        os.write(fd, about.encode("utf-8"))  # at offset 0: the file was just opened
        self._fd = fd

    def release(self, remove: bool = False) -> None:
        """Let go (and delete the file when remove: nobody else will look for it)."""
        fd, self._fd = self._fd, None
        if fd is None:
            return
        if remove:
            try:
                os.unlink(self.path)
            except OSError:
                pass
        os.close(fd)  # closing drops the lock

    def is_free(self) -> bool:
        """Whether nobody holds the lock now (checked by taking and dropping it)."""
        if self._fd is not None:
            return False
        try:
            fd = os.open(self.path, os.O_RDWR)
        except FileNotFoundError:
            return True
        except OSError:
            return False
        try:
            _lock(fd)
        except OSError:
            return False
        finally:
            os.close(fd)
        return True


def _lock(fd: int) -> None:
    if fcntl is not None:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    else:
        msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)


def _read(fd: int) -> str:
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        return os.read(fd, 400).decode("utf-8", "replace").strip()
    except OSError:
        return ""


def lock_name(key: str) -> str:
    """A file name for a lock on key (a folder path): short, safe and stable."""
    return hashlib.sha256(key.encode("utf-8", "surrogateescape")).hexdigest()[:24] + ".lock"
