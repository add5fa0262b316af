"""Process bookkeeping from /proc (Linux): which processes a batch started, and whether any
of them outlived it.

A process is identified by (pid, start time) so a recycled pid is never mistaken for a
survivor. The test process can become a child subreaper, so workers orphaned by a CLI
subprocess are re-parented to us instead of vanishing into init.
"""

from __future__ import annotations

import ctypes
import os
import threading
import time
from collections.abc import Iterable

PR_SET_CHILD_SUBREAPER = 36

Ident = tuple[int, int]  # (pid, start time in clock ticks)


def _stat(pid: int) -> tuple[str, int, int] | None:
    """(state, ppid, starttime) of a process, or None when it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            raw = f.read()
    except OSError:
        return None
    fields = raw.rsplit(b")", 1)[1].split()
    return fields[0].decode(), int(fields[1]), int(fields[19])


def ident(pid: int) -> Ident | None:
    st = _stat(pid)
    return (pid, st[2]) if st else None


def alive(who: Ident) -> bool:
    """True while the process runs (a zombie or a recycled pid counts as gone)."""
    st = _stat(who[0])
    return st is not None and st[2] == who[1] and st[0] not in ("Z", "X")


def children(parent: int | None = None) -> set[int]:
    """Live (non-zombie) children of parent (default: this process)."""
    parent = os.getpid() if parent is None else parent
    out = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            st = _stat(int(entry))
            if st and st[1] == parent and st[0] not in ("Z", "X"):
                out.add(int(entry))
    return out


def descendants(root: int) -> set[int]:
    """Live descendants of root (children, grandchildren, ...)."""
    table: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            st = _stat(int(entry))
            if st and st[0] not in ("Z", "X"):
                table.setdefault(st[1], []).append(int(entry))
    out: set[int] = set()
    stack = [root]
    while stack:
        for kid in table.get(stack.pop(), []):
            if kid not in out:
                out.add(kid)
                stack.append(kid)
    return out


def set_subreaper(on: bool = True) -> bool:
    """Make orphaned descendants re-parent to this process (Linux prctl); False if refused."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(PR_SET_CHILD_SUBREAPER, int(on), 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def reap(pids: Iterable[int]) -> None:
    """Collect zombies among pids that are our children (orphans re-parented to us)."""
    for pid in pids:
        st = _stat(pid)
        if st and st[0] == "Z" and st[1] == os.getpid():
            try:
                os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                pass


def reap_orphans() -> None:
    """Collect zombie children that nobody else waits for (orphans a subreaper inherited).
    multiprocessing's own children are polled first so their bookkeeping stays right."""
    import multiprocessing

    multiprocessing.active_children()
    me = os.getpid()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            st = _stat(int(entry))
            if st and st[0] == "Z" and st[1] == me:
                try:
                    os.waitpid(int(entry), os.WNOHANG)
                except ChildProcessError:
                    pass


def wait_gone(who: Iterable[Ident], timeout: float = 5.0) -> list[Ident]:
    """Wait until every process in who has ended; return those still running at timeout."""
    who = list(who)
    deadline = time.monotonic() + timeout
    while True:
        reap(p for p, _ in who)
        left = [w for w in who if alive(w)]
        if not left or time.monotonic() >= deadline:
            return left
        time.sleep(0.05)


def blocked_on(pid: int) -> str | None:
    """What the process's main thread sleeps in (its /proc wchan: "futex..." for a lock or an
    event, "...pipe_read" for a pipe), or None while it runs, when it is gone or when the
    kernel does not say."""
    st = _stat(pid)
    if st is None or st[0] != "S":
        return None
    try:
        with open(f"/proc/{pid}/wchan") as f:
            wchan = f.read().strip()
    except OSError:
        return None
    return wchan if wchan not in ("", "0") else None


def thread_waits(pid: int) -> list[str | None]:
    """What each thread of the process sleeps in (as blocked_on says for the main thread),
    None for a thread that runs or is in a disk wait."""
    out = []
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return []
    for tid in tids:
        try:
            with open(f"/proc/{pid}/task/{tid}/stat", "rb") as f:
                state = f.read().rsplit(b")", 1)[1].split()[0]
            with open(f"/proc/{pid}/task/{tid}/wchan") as f:
                wchan = f.read().strip()
        except OSError:
            continue
        out.append(wchan if state == b"S" and wchan not in ("", "0") else None)
    return out


def parked(pid: int, looks: int = 5) -> bool:
    """Whether the worker is held at its next message to the runner
    (BatchRunner.workers_held), several looks in a row: every thread asleep (none converting,
    none waiting for the disk) and one of them on a lock (a futex). The message may come from
    the main thread or from the thread that publishes a finished file."""
    for _ in range(looks):
        waits = thread_waits(pid)
        if not waits or None in waits or not any("futex" in w for w in waits if w):
            return False
        time.sleep(0.02)
    return True


def group(pgid: int) -> set[int]:
    """Live (non-zombie) processes in process group pgid, wherever they were re-parented."""
    out = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", "rb") as f:
                    fields = f.read().rsplit(b")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == pgid and fields[0] not in (b"Z", b"X"):
                out.add(int(entry))
    return out


def wait_group_gone(pgid: int, timeout: float = 5.0) -> list[Ident]:
    """Wait until no live process is left in process group pgid (reaping the orphans that
    re-parented to us); return those still running at timeout."""
    deadline = time.monotonic() + timeout
    while True:
        reap_orphans()
        left = [w for w in map(ident, group(pgid)) if w]
        if not left or time.monotonic() >= deadline:
            return left
        time.sleep(0.05)


def describe(who: Ident) -> str:
    pid = who[0]
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            cmd = f.read().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        cmd = "?"
    return f"pid {pid} ({cmd[:120]})"


class Tracker:
    """Samples the descendants of a root pid in a background thread and remembers every
    process it ever saw, so survivors can be checked after the root has exited."""

    def __init__(self, root: int, interval: float = 0.02) -> None:
        self.root = root
        self.interval = interval
        self.seen: set[Ident] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="proc-tracker", daemon=True)

    def __enter__(self) -> Tracker:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def sample(self) -> set[int]:
        pids = descendants(self.root)
        for pid in pids:
            who = ident(pid)
            if who:
                self.seen.add(who)
        return pids

    def _run(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self.interval)

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(2)


def writing_into(folder: str, pids: Iterable[int]) -> bool:
    """Whether one of these processes has an output being written in folder: a Pixmill temp
    file there, or (Linux's O_TMPFILE) an open file in it that has no name yet, which /proc
    shows as "<folder>/#<inode> (deleted)"."""
    try:
        if any(n.endswith(".tmp") for n in os.listdir(folder)):
            return True
    except OSError:
        return False
    unnamed = os.path.join(os.path.realpath(folder), "#")
    for pid in pids:
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if target.startswith(unnamed) and target.endswith(" (deleted)"):
                return True
    return False
