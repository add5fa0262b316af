"""The local executor: WorkerPool is one generation of the spawn-context multiprocessing.Pool
with its side channel, and PoolKeeper keeps one warm between batches and replaces it.

Workers report every file they start and finish on a SimpleQueue (written synchronously, so a
message is in the pipe before the next step begins); the supervisor reads it to know which pid
holds which file and to get results file by file even when files travel in chunks. Ending a
pool is bounded, because Pool.terminate() can block on a lock a dead worker still holds.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import multiprocessing.pool
import os
import pickle
import select
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from multiprocessing.connection import wait
from typing import Any

from .worker import init_worker, run_chunk

log = logging.getLogger(__name__)
#: receive() stops reading the pipe beyond this many bytes (and returns what it has).
_READ_AHEAD = 1 << 22


def default_workers() -> int:
    """How many workers to run by default: the CPUs this process may use."""
    if hasattr(os, "process_cpu_count"):
        return os.process_cpu_count() or 1
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:
        return os.cpu_count() or 1


def default_memory_limit(workers: int) -> int | None:
    """Per-worker address-space ceiling: a fair share of 80 % of RAM, never below 2 GiB."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None
    return max(2 << 30, int(total * 0.8 / max(1, workers)))


@contextmanager
def _sigint_blocked() -> Iterator[None]:
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


class _Pool(multiprocessing.pool.Pool):
    """multiprocessing's Pool whose worker-handler thread wakes only when a worker exits or
    the pool's state changes.

    The stock handler also waits on the result pipe, so from the moment a worker writes a
    result until the result-handler thread has read it, the handler's wait returns at once
    and it spins, holding the GIL the result handler needs. Measured here: about 1,700 laps
    for a 40-photo batch (20-40 ms of the main process's CPU, which two busy workers on two
    cores pay for); with this, a handful. Dead workers are still replaced at once: their
    sentinels are in the wait."""

    def _get_sentinels(self) -> list[Any]:
        return [self._change_notifier._reader]


class WorkerPool:
    """A Pool of `workers` processes with its message queue, cancel and pause events and
    temp-file tag.

    Attributes:
        workers: the pool size.
        tag: the temp-file tag of this generation ("<hex>-"; workers add "<pid>-").
        created: when it was started (time.monotonic()).
        broken: it must not take another batch (a worker could not start, or it stalled).
    """

    def __init__(self, ctx: Any, workers: int, memory_limit: int | None) -> None:
        self.workers = workers
        self.tag = os.urandom(4).hex() + "-"  # not uuid: it imports platform, 2 ms per start
        self._messages = ctx.SimpleQueue()
        self._cancel = ctx.Event()
        self._pause = ctx.Event()
        with _sigint_blocked():
            # Workers (and the pool thread that later starts replacements, which inherits this
            # thread's mask) are born with Ctrl-C blocked, so a terminal Ctrl-C cannot hit
            # them while they import; init_worker then ignores it for good.
            self._pool = _Pool(
                workers,
                initializer=init_worker,
                initargs=(self._messages, self._cancel, self._pause, self.tag, memory_limit),
                context=ctx,
            )
        self.created = time.monotonic()
        self.broken = False
        self._seen: dict[int, Any] = {}  # every worker Process seen, to read a dead one's exit
        self._ready: dict[int, str | None] = {}  # pid -> why it cannot convert (None: it can)
        self._poller: Any = None
        self._unread = bytearray()  # read from the message pipe, not yet a whole message
        if hasattr(select, "poll"):  # not on Windows: there connection.wait() does it
            self._poller = select.poll()
            self._poller.register(self._messages._reader.fileno(), select.POLLIN)

    # --- work ------------------------------------------------------------------------------
    def submit(
        self,
        items: list[tuple[int, Any]],
        on_done: Callable[[list[dict[str, Any]]], None],
        on_error: Callable[[BaseException], None],
    ) -> None:
        """Run run_chunk(items) on a worker. The callbacks run on the Pool's result-handler
        thread and must return at once and never raise."""
        self._pool.apply_async(run_chunk, (items,), callback=on_done, error_callback=on_error)

    def set_cancelled(self) -> None:
        """Workers stop at their next checkpoint."""
        self._cancel.set()

    def set_paused(self, paused: bool) -> None:
        """Workers hand back the rest of their chunk before the next file (or carry on)."""
        if paused:
            self._pause.set()
        else:
            self._pause.clear()

    def reset(self) -> None:
        """Clear cancel and pause before a new batch."""
        self._cancel.clear()
        self._pause.clear()

    # --- messages --------------------------------------------------------------------------
    def wait(self, timeout: float) -> bool:
        """Block until a worker message is waiting or timeout passes."""
        try:
            return self._readable(timeout)
        except (OSError, ValueError):
            time.sleep(timeout)
            return False

    def receive(self) -> list[tuple[Any, ...]]:
        """Every worker message waiting now."""
        if self._poller is None:
            out = []
            try:
                while self._readable(0):
                    out.append(self._messages.get())
            except (OSError, ValueError, EOFError):
                pass
            return out
        # Read what the pipe holds in a few reads and cut it into messages here: the queue's
        # get() makes two reads, a lock round trip and a pickler per message, 15 us each
        # in the main process on a batch of small files (one message per file at least).
        fd = self._messages._reader.fileno()
        try:
            while len(self._unread) < _READ_AHEAD and self._readable(0):
                data = os.read(fd, 1 << 16)
                if not data:
                    break  # every worker's end is closed
                self._unread += data
        except (OSError, ValueError):
            pass
        return self._messages_read()

    def _messages_read(self) -> list[tuple[Any, ...]]:
        """The complete messages at the start of what was read, in the queue's framing (a
        4-byte big-endian size, or -1 and an 8-byte one, then the pickle); a message still
        being written stays for the next receive."""
        buf, out, at = self._unread, [], 0
        while len(buf) - at >= 4:
            size, head = int.from_bytes(buf[at : at + 4], "big", signed=True), 4
            if size == -1:
                if len(buf) - at < 12:
                    break
                size, head = int.from_bytes(buf[at + 4 : at + 12], "big"), 12
            if len(buf) - at - head < size:
                break
            try:
                out.append(pickle.loads(buf[at + head : at + head + size]))
            except Exception:
                # A torn message (a worker killed in the middle of writing one of more than
                # the pipe's atomic size): what follows cannot be framed. Drop it and take
                # this pool out of service once the batch is over.
                log.error("a worker message could not be read; the worker pool will be replaced")
                self.broken = True
                at = len(buf)
                break
            at += head + size
        del buf[:at]
        return out

    def _readable(self, timeout: float) -> bool:
        # Three messages a file: multiprocessing's wait() builds and registers a new selector
        # on every call, twice a message, which was most of the main process's CPU on a batch
        # of small files (about 60 us a file). One poll object, registered once, costs ~2 us.
        if self._poller is None:
            return bool(wait([self._messages._reader], timeout))
        events = self._poller.poll(timeout * 1000.0)
        if events and events[0][1] & select.POLLNVAL:
            raise ValueError("the message pipe is closed")
        return bool(events)

    def messages_jammed(self, timeout: float = 0.5) -> bool:
        """Whether no worker can send a message: the queue's write lock stays taken for
        timeout. A worker killed while it was sending (its main thread, or a publisher
        thread, holds the lock for the length of one write) takes the lock with it, and
        every other worker then blocks at its next message."""
        lock = self._messages._wlock
        if lock is None:  # Windows: writes to a pipe are atomic there, no lock
            return False
        if lock.acquire(timeout=timeout):
            lock.release()
            return False
        return True

    def message_lock(self) -> Any:
        """Test seam: the lock a worker takes to send a message. A test that holds it parks
        every worker at its next message (before it can say it published, say)."""
        return self._messages._wlock

    # --- the processes ---------------------------------------------------------------------
    def processes(self) -> dict[int, Any]:
        """Live worker processes by pid."""
        # Pool keeps its workers in _pool and replaces dead ones there; reading it is the only
        # way to learn which pid is gone (CPython gh-66587 leaves their tasks hung forever).
        procs = {p.pid: p for p in list(getattr(self._pool, "_pool", []))}
        self._seen.update(procs)
        return procs

    def mark_ready(self, pid: int, error: str | None) -> None:
        """A worker finished its start-up; error says why it cannot convert (None: it can).
        A pool with such a worker is broken: its files fail with the reason, and the next
        batch gets a fresh pool."""
        self._ready[pid] = error
        if error is not None:
            self.broken = True

    @property
    def any_ready(self) -> bool:
        return bool(self._ready)

    def died_starting(self) -> int:
        """How many of the workers seen so far died before they said they were ready."""
        return sum(
            1
            for pid, p in list(self._seen.items())  # a copy: processes() adds from any thread
            if pid not in self._ready and p.exitcode is not None
        )

    def exitcode(self, pid: int | None) -> int | None:
        proc = self._seen.get(pid) if pid is not None else None
        return proc.exitcode if proc is not None else None

    def last_exitcode(self) -> int | None:
        """The exit code of the last dead worker seen, or None."""
        codes = [p.exitcode for p in list(self._seen.values()) if p.exitcode is not None]
        return codes[-1] if codes else None

    def terminate(self, timeout: float = 5.0) -> None:
        """Stop every worker. Bounded: when Pool.terminate() blocks on the task-queue lock
        that a dead worker held, free that lock, then kill whatever is left."""
        procs = list(self.processes().values())
        t = threading.Thread(target=self._pool.terminate, name="pixmill-terminate", daemon=True)
        t.start()
        t.join(timeout)
        if t.is_alive():
            try:
                self._pool._inqueue._rlock.release()
            except Exception:
                pass
            t.join(1.0)
        for p in procs:
            try:
                if p.is_alive():
                    p.kill()
                p.join(1.0)
            except Exception:
                pass


class PoolKeeper:
    """Keeps one WorkerPool warm between batches, makes a new one when the size changes or
    the old one broke, and retires old ones without blocking the caller.

    memory_limit: per-worker address-space ceiling in bytes, "auto" or None."""

    def __init__(self, memory_limit: int | None | str = "auto") -> None:
        self.memory_limit = memory_limit
        self._ctx = mp.get_context("spawn")
        self._pool: WorkerPool | None = None
        self._lock = threading.Lock()

    def current(self, workers: int) -> WorkerPool:
        """The warm pool with cancel and pause cleared, (re)created when missing, broken or
        of another size."""
        with self._lock:
            p = self._pool
            if p is None or p.broken or p.workers != workers:
                if p is not None:
                    p.terminate()
                limit = self.memory_limit
                if limit == "auto":
                    limit = default_memory_limit(workers)
                p = self._pool = WorkerPool(self._ctx, workers, limit)  # type: ignore[arg-type]
            p.reset()
            return p

    def peek(self) -> WorkerPool | None:
        """The warm pool, if there is one (never starts one)."""
        return self._pool

    def retire(self, pool: WorkerPool, wait: bool) -> None:
        """Take a pool out of service and stop it (in the background unless wait)."""
        with self._lock:
            pool.broken = True
            if self._pool is pool:
                self._pool = None
        if wait:
            pool.terminate()
        else:
            threading.Thread(target=pool.terminate, name="pixmill-retire", daemon=True).start()

    def shutdown(self) -> None:
        """Stop the warm pool, waiting for it."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.terminate()
