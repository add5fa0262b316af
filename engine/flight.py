"""The books of one batch: which files wait, which are in the air (in which pool task, on
which worker, since when), which are done with what result, and the listener that hears of
each result. Only the supervisor thread touches them.
"""

from __future__ import annotations

import collections
import itertools
import logging
import time
from collections.abc import Container
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .events import BatchListener, ProgressMeter
from .job import Job
from .result import job_result

if TYPE_CHECKING:
    from .pool import WorkerPool

log = logging.getLogger(__name__)

_SMALL_FILE = 256 << 10  # files up to this size travel several to a pool task
_CHUNK_MAX = 32

_ids = itertools.count(1)


def _biggest_first(job: Job) -> int:
    size = job.size or 0
    return -size if size > _SMALL_FILE else 0


@dataclass(eq=False, slots=True)
class InFlight:
    """One attempt at one job, from submission to its result."""

    fid: int
    job: Job
    attempt: int = 0
    stalls: int = 0
    chunk: Chunk | None = None
    pid: int | None = None
    started: float | None = None
    publishing: dict[str, Any] | None = None  # the worker's last word before publishing


@dataclass(eq=False)
class Chunk:
    """One pool task: the files it carries that have no result yet."""

    cid: int
    pool: WorkerPool
    files: dict[int, InFlight] = field(default_factory=dict)
    pid: int | None = None


class Flight:
    """Queued files (pending), files a paused worker handed back (deferred), files in pool
    tasks (files, chunks) and finished ones (results, by job index).

    last_activity is when a worker last said something about a file."""

    def __init__(
        self,
        jobs: list[Job],
        listener: BatchListener,
        done: Container[int] = (),
        queue: bool = True,
    ) -> None:
        """The books of a batch of jobs; done: indexes settled already. queue=False leaves
        the files to queue() (on the batch's thread: 100,000 of them take 0.15 s, which the
        thread that starts a batch, the window's, should not spend)."""
        self.listener = listener
        self.pending: collections.deque[InFlight] = collections.deque()
        self.deferred: list[InFlight] = []
        self.files: dict[int, InFlight] = {}
        self.chunks: dict[int, Chunk] = {}
        self.results: dict[int, dict[str, Any]] = {}
        #: worker pid -> the file it started last: the one it was converting if it dies (the
        #: others it had started were waiting for their publish).
        self.last_started: dict[int, int] = {}
        self.meter = ProgressMeter(len(jobs))
        self.last_activity = time.monotonic()
        if queue:
            self.queue(jobs, done)

    def queue(self, jobs: list[Job], done: Container[int] = ()) -> None:
        """Queue every job that needs a worker: not skipped by the plan, not done before.

        Big files go first, the biggest first, then the small ones in plan order: the last
        tasks of a batch are then its shortest, so no worker waits long for another to
        finish a big photo at the end (longest-first list scheduling). Results and the
        report keep the plan's order."""
        todo = [job for job in jobs if job.action != "skip" and job.index not in done]
        if any((job.size or 0) > _SMALL_FILE for job in todo):
            todo.sort(key=_biggest_first)  # stable: the small ones keep their order
        self.pending.extend(InFlight(next(_ids), job) for job in todo)

    def __bool__(self) -> bool:
        """Whether any file still waits for its result."""
        return bool(self.pending or self.files)

    # --- feeding ---------------------------------------------------------------------------
    def next_chunk(self, window: int) -> list[InFlight] | None:
        """The files of the next pool task, or None when window tasks are in the air or
        nothing waits. Small files share a task so dispatch does not dominate; chunks shrink
        towards the end so every worker stays busy. Retries always travel alone."""
        if not self.pending or len(self.chunks) >= window:
            return None
        first = self.pending.popleft()
        files = [first]
        if first.attempt == 0 and first.job.size <= _SMALL_FILE:
            limit = min(_CHUNK_MAX, len(self.pending) // (window * 2) + 1)
            while (
                len(files) < limit
                and self.pending
                and self.pending[0].attempt == 0
                and self.pending[0].job.size <= _SMALL_FILE
            ):
                files.append(self.pending.popleft())
        return files

    def launch(self, pool: WorkerPool, files: list[InFlight]) -> Chunk:
        chunk = Chunk(next(_ids), pool, {f.fid: f for f in files})
        for f in files:
            f.chunk, f.pid, f.started = chunk, None, None
            self.files[f.fid] = f
        self.chunks[chunk.cid] = chunk
        return chunk

    def started(self, f: InFlight, pid: int) -> None:
        f.pid, f.started = pid, self.last_activity
        self.last_started[pid] = f.fid
        if f.chunk is not None:
            f.chunk.pid = pid
        self.notify("job_started", f.job.index, f.job.source)

    # --- leaving the air -------------------------------------------------------------------
    def land(self, fid: int | None) -> None:
        """Drop a file from the flight tables (it has its result, or goes back to the queue)."""
        f = self.files.pop(fid, None) if fid is not None else None
        if f is not None and f.chunk is not None:
            f.chunk.files.pop(f.fid, None)
            if not f.chunk.files:
                self.chunks.pop(f.chunk.cid, None)
            f.chunk = None

    def defer(self, f: InFlight) -> None:
        """A paused worker handed this file back: it goes first when the batch resumes."""
        self.land(f.fid)
        self.deferred.append(f)

    def requeue_deferred(self) -> None:
        if self.deferred:
            self.deferred.sort(key=lambda f: f.job.index)
            self.pending.extendleft(reversed(self.deferred))
            self.deferred.clear()

    def unfinished(self, chunk: Chunk) -> None:
        """A chunk's worker is gone: put its files back at the front of the queue."""
        self.chunks.pop(chunk.cid, None)
        for f in reversed(list(chunk.files.values())):
            self.files.pop(f.fid, None)
            f.chunk = None
            self.pending.appendleft(f)
        chunk.files.clear()

    def retry(self, f: InFlight, counts: bool = True) -> None:
        """Try a file again on a fresh worker, before anything else; counts: as one of its
        tries (not for a file that only waited beside the one that crashed its worker)."""
        self.land(f.fid)
        f.attempt += counts
        self.pending.appendleft(f)

    # --- results ---------------------------------------------------------------------------
    def settle(self, fid: int | None, result: dict[str, Any]) -> None:
        """A file in the air has its final result."""
        self.land(fid)
        self.finish(result)

    def fail(self, f: InFlight, message: str) -> None:
        self.settle(f.fid, job_result(f.job, "failed", message))

    def finish(self, result: dict[str, Any]) -> None:
        """Record a job's result (the first one stands) and tell the listener."""
        if result["index"] in self.results:
            log.warning("a second result for file %d ignored", result["index"])
            return
        self.results[result["index"]] = result
        self.meter.finished(result["status"], result.get("bytes_in") or 0)
        self.notify("job_finished", result)

    def notify(self, name: str, *args: Any) -> None:
        try:
            getattr(self.listener, name)(*args)
        except BaseException:  # a broken listener must not stop the batch
            log.exception("listener %s failed", name)

    def converting(self) -> dict[int, int]:
        """pid -> index of the job that worker is converting now (safe from any thread)."""
        return {
            f.pid: f.job.index
            for f in list(self.files.values())
            if f.pid is not None and f.started is not None
        }
