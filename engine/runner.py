"""BatchRunner: feeds a warm WorkerPool, supervises it and reports through a listener.

One supervisor thread per batch owns all batch state. It submits chunks of files with
apply_async inside a bounded window (small files travel several to a chunk, big ones alone),
reads per-file start/done messages from the pool's queue, notices dead and stuck workers,
and handles pause, resume and cancel. No Qt here: the GUI bridge and the CLI progress bar
are both BatchListeners.
"""

from __future__ import annotations

import collections
import functools
import itertools
import logging
import multiprocessing as mp
import os
import queue
import signal
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from .pool import WorkerPool, default_memory_limit, default_workers
from .report import Report, make_result
from .scan import TEMP_PREFIX, Job, renamed, temp_files
from .worker import run_chunk

__all__ = ["BatchListener", "BatchRunner", "Progress", "default_workers"]

log = logging.getLogger(__name__)

_TICK = 0.05
_WATCH_INTERVAL = 0.1
_PROGRESS_INTERVAL = 0.1
_CANCEL_GRACE = 0.25
_STALL_SECONDS = 8.0
_MAX_STALLS = 2
_START_DEATHS = 4  # workers dead before they were ready, with none ready: they cannot start
_RATE_WINDOW = 10.0
# Once a worker message arrives, let others gather for this long before reading them: with
# small files the workers send thousands a second, and waking for each one cost the main
# process (which shares the cores with the workers) a thread wake-up, a poll and a GIL
# hand-off per message.
_GATHER = 0.002
_SMALL_FILE = 256 << 10  # files up to this size travel several to a pool task
_CHUNK_MAX = 32


@dataclass(frozen=True)
class Progress:
    """A snapshot of a running batch."""

    done: int
    total: int
    ok: int
    skipped: int
    failed: int
    cancelled: int
    elapsed: float
    files_per_s: float
    bytes_per_s: float
    eta_s: float | None
    paused: bool = False

    @property
    def fraction(self) -> float:
        return self.done / self.total if self.total else 1.0


class BatchListener:
    """Receives a batch's events, all from the runner's supervisor thread. Override what you
    need; an exception raised here is logged and never stops result delivery."""

    def batch_started(self, total: int) -> None:
        pass

    def job_started(self, index: int, source: str) -> None:
        pass

    def job_finished(self, result: dict[str, Any]) -> None:
        pass

    def progress(self, snapshot: Progress) -> None:
        pass

    def batch_finished(self, report: Report) -> None:
        pass


class BatchRunner:
    """Runs batches of Jobs on a warm process pool.

    workers: pool size (a change takes effect at the next start); time_limit: seconds one file
    may take before its worker is killed; crash_retries: how often a file whose worker died
    is tried again on a fresh worker before it fails; memory_limit: per-worker address-space
    ceiling in bytes, "auto" or None."""

    def __init__(
        self,
        workers: int | None = None,
        time_limit: float = 600.0,
        crash_retries: int = 1,
        memory_limit: int | None | str = "auto",
        window_per_worker: int = 4,
    ) -> None:
        self.workers = workers or default_workers()
        self.time_limit = time_limit
        self.crash_retries = crash_retries
        self.memory_limit = memory_limit
        self.window_per_worker = window_per_worker
        self._ctx = mp.get_context("spawn")
        self._pool: WorkerPool | None = None
        self._lock = threading.Lock()
        self._batch: _Batch | None = None

    # --- pool lifetime ---------------------------------------------------------------------
    def _current_pool(self) -> WorkerPool:
        """The warm pool, (re)created when missing, broken or of another size."""
        with self._lock:
            p = self._pool
            if p is None or p.broken or p.workers != self.workers:
                if p is not None:
                    p.terminate()
                limit = self.memory_limit
                if limit == "auto":
                    limit = default_memory_limit(self.workers)
                p = self._pool = WorkerPool(self._ctx, self.workers, limit)  # type: ignore[arg-type]
            p.cancel.clear()
            p.pause.clear()
            return p

    def _retire(self, pool: WorkerPool, wait: bool) -> None:
        """Take a pool out of service and stop it (in the background unless wait)."""
        with self._lock:
            pool.broken = True
            if self._pool is pool:
                self._pool = None
        if wait:
            pool.terminate()
        else:
            threading.Thread(target=pool.terminate, name="pixmill-retire", daemon=True).start()

    def warm_up(self) -> None:
        """Start the worker processes now (they boot while the caller plans)."""
        self._current_pool()

    def shutdown(self) -> None:
        """Stop any running batch and the warm pool. Safe to call more than once."""
        batch = self._batch
        if batch is not None:
            batch.request_cancel()
            batch.thread.join(10)
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.terminate()

    def worker_pids(self) -> list[int]:
        p = self._pool
        return list(p.processes()) if p is not None else []

    # --- batches ---------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self._batch is not None and self._batch.thread.is_alive()

    def start(self, jobs: Sequence[Job], listener: BatchListener | None = None) -> _Batch:
        """Start a batch in the background and return at once."""
        if self.running:
            raise RuntimeError("a batch is already running")
        batch = _Batch(self, list(jobs), listener or BatchListener())
        self._batch = batch
        batch.thread.start()
        return batch

    def run(self, jobs: Sequence[Job], listener: BatchListener | None = None) -> Report:
        """Run a batch to the end and return its report."""
        batch = self.start(jobs, listener)
        while batch.thread.is_alive():
            batch.thread.join(0.2)
        assert batch.report is not None
        return batch.report

    def cancel(self) -> None:
        if self._batch is not None:
            self._batch.request_cancel()

    def pause(self) -> None:
        """Stop starting files; each worker stops after the file it is on."""
        if self._batch is not None:
            self._batch.paused.set()
            if self._batch._pool is not None:
                self._batch._pool.pause.set()

    def resume(self) -> None:
        if self._batch is not None:
            self._batch.paused.clear()
            if self._batch._pool is not None:
                self._batch._pool.pause.clear()

    @property
    def paused(self) -> bool:
        return self._batch is not None and self._batch.paused.is_set()

    def wait(self, timeout: float | None = None) -> Report | None:
        b = self._batch
        if b is None:
            return None
        b.thread.join(timeout)
        return b.report


_ids = itertools.count(1)


def _result(job: Job, status: str, error: str | None = None) -> dict[str, Any]:
    """The result of a file the runner settles itself (skipped, cancelled, crashed...)."""
    return make_result(job.index, job.source, status, error, None, job.size)


@dataclass(eq=False)
class _File:
    """One attempt at one job, from submission to its result."""

    fid: int
    job: Job
    attempt: int = 0
    stalls: int = 0
    chunk: _Chunk | None = None
    pid: int | None = None
    started: float | None = None
    publishing: dict[str, Any] | None = None  # the worker's last word before publishing


@dataclass(eq=False)
class _Chunk:
    """One pool task: the files it carries that have no result yet."""

    cid: int
    pool: WorkerPool
    files: dict[int, _File] = field(default_factory=dict)
    pid: int | None = None


class _Batch:
    """The state of one batch, owned by its supervisor thread."""

    def __init__(self, runner: BatchRunner, jobs: list[Job], listener: BatchListener) -> None:
        self.runner = runner
        self.jobs = jobs
        self.listener = listener
        self.events: queue.SimpleQueue[tuple[Any, ...]] = queue.SimpleQueue()
        self.cancel_requested = threading.Event()
        self.paused = threading.Event()
        self.results: dict[int, dict[str, Any]] = {}
        self.report: Report | None = None
        self.thread = threading.Thread(target=self._supervise, name="pixmill-batch", daemon=True)
        self._pool: WorkerPool | None = None
        self._pending: collections.deque[_File] = collections.deque()
        self._deferred: list[_File] = []
        self._sweeps: set[tuple[str, str, int]] = set()
        self._files: dict[int, _File] = {}  # in flight, by file id
        self._chunks: dict[int, _Chunk] = {}
        self._counts = dict.fromkeys(("ok", "skipped", "failed", "cancelled"), 0)
        self._recent: collections.deque[tuple[float, int]] = collections.deque()
        self._recent_bytes = 0  # the sum of the bytes in _recent
        self._active_time = 0.0
        self._last_activity = time.monotonic()

    def request_cancel(self) -> None:
        self.cancel_requested.set()
        pool = self._pool
        if pool is not None:
            pool.cancel.set()  # workers stop at their next checkpoint

    # --- listener plumbing -----------------------------------------------------------------
    def _notify(self, name: str, *args: Any) -> None:
        try:
            getattr(self.listener, name)(*args)
        except BaseException:  # a broken listener must not stop the batch
            log.exception("listener %s failed", name)

    def _on_chunk_done(self, cid: int, undelivered: list[dict[str, Any]]) -> None:
        # Runs on the pool's result-handler thread: enqueue only, never raise.
        try:
            if undelivered:
                self.events.put(("undelivered", cid, undelivered))
        except BaseException:
            pass

    def _on_chunk_error(self, cid: int, exc: BaseException) -> None:
        try:
            self.events.put(("error", cid, exc))
        except BaseException:
            pass

    # --- the supervisor --------------------------------------------------------------------
    def _supervise(self) -> None:
        t0 = time.monotonic()
        try:
            self._notify("batch_started", len(self.jobs))
            for job in self.jobs:
                if job.action == "skip":
                    self._finish(
                        make_result(
                            job.index, job.source, "skipped", job.reason, job.target, job.size
                        )
                    )
                else:
                    self._pending.append(_File(next(_ids), job))
            if self._pending and not self.cancel_requested.is_set():
                self._pool = self.runner._current_pool()
                if self.cancel_requested.is_set():
                    self._pool.cancel.set()
                if self.paused.is_set():
                    self._pool.pause.set()
            self._loop(t0)
            if self._sweeps and self._pool is not None:
                self._final_sweep(self._pool)
        except BaseException as exc:  # the batch must always end with a report
            log.exception("batch supervisor failed")
            for job in self.jobs:
                if job.index not in self.results:
                    self._finish(_result(job, "failed", f"internal error: {exc}"))
        files = [self.results[j.index] for j in self.jobs if j.index in self.results]
        self.report = Report(files, time.monotonic() - t0, cancelled=self.cancel_requested.is_set())
        self._emit_progress(time.monotonic() - t0)
        self._notify("batch_finished", self.report)

    def _loop(self, t0: float) -> None:
        next_watch = next_progress = last = time.monotonic()
        while self._pending or self._files:
            now = time.monotonic()
            if not self.paused.is_set():
                self._active_time += now - last
            last = now
            if self.cancel_requested.is_set():
                self._cancel()
                return
            if not self.paused.is_set():
                self._feed()
            self._pump(_TICK)
            now = time.monotonic()
            if now >= next_watch:
                self._watch()
                next_watch = now + _WATCH_INTERVAL
            if now >= next_progress:
                self._emit_progress(now - t0)
                next_progress = now + _PROGRESS_INTERVAL

    def _feed(self) -> None:
        pool = self._pool
        assert pool is not None
        window = self.runner.workers * self.runner.window_per_worker
        while self._pending and len(self._chunks) < window:
            first = self._pending.popleft()
            batch = [first]
            if first.attempt == 0 and first.job.size <= _SMALL_FILE:
                # Small files share a pool task so dispatch does not dominate; chunks shrink
                # towards the end so every worker stays busy. Retries always travel alone.
                limit = min(_CHUNK_MAX, len(self._pending) // (window * 2) + 1)
                while (
                    len(batch) < limit
                    and self._pending
                    and self._pending[0].attempt == 0
                    and self._pending[0].job.size <= _SMALL_FILE
                ):
                    batch.append(self._pending.popleft())
            self._submit(pool, batch)

    def _submit(self, pool: WorkerPool, files: list[_File]) -> None:
        chunk = _Chunk(next(_ids), pool, {f.fid: f for f in files})
        for f in files:
            f.chunk, f.pid, f.started = chunk, None, None
            self._files[f.fid] = f
        self._chunks[chunk.cid] = chunk
        pool.pool.apply_async(
            run_chunk,
            ([(f.fid, f.job) for f in files],),
            callback=functools.partial(self._on_chunk_done, chunk.cid),
            error_callback=functools.partial(self._on_chunk_error, chunk.cid),
        )

    def _pump(self, timeout: float) -> None:
        """Wait up to timeout for worker messages, then handle every message and event."""
        pool = self._pool
        if pool is not None and pool.wait(timeout):
            time.sleep(_GATHER)
            self._receive(pool)
        elif pool is None:
            time.sleep(timeout)
        while True:
            try:
                kind, cid, payload = self.events.get_nowait()
            except queue.Empty:
                return
            if pool is not None:
                self._receive(pool)  # the chunk's own messages come first
            chunk = self._chunks.get(cid)
            if chunk is None:
                continue
            if kind == "undelivered":
                for result in payload:
                    self._settle(result.pop("file", None), result)
            else:
                for f in list(chunk.files.values()):
                    self._fail(f, f"internal error: {type(payload).__name__}: {payload}")

    def _receive(self, pool: WorkerPool) -> None:
        self._receive_messages(pool)
        self._requeue_deferred()

    def _receive_messages(self, pool: WorkerPool) -> None:
        for kind, fid, payload in pool.receive():
            if kind == "ready":
                pid, error = payload
                pool.ready[pid] = error
                if error is not None:
                    pool.broken = True  # its files fail with the reason; the next batch retries
                continue
            f = self._files.get(fid)
            if f is None or f.chunk is None or f.chunk.pool is not pool:
                continue  # a late message about a file already settled elsewhere
            self._last_activity = time.monotonic()
            if kind == "start":
                f.pid, f.started = payload, self._last_activity
                f.chunk.pid = payload
                self._notify("job_started", f.job.index, f.job.source)
            elif kind == "publishing":
                f.publishing = payload
            elif kind == "deferred":  # paused: the worker handed this file back
                chunk = f.chunk
                chunk.files.pop(fid, None)
                self._files.pop(fid, None)
                if not chunk.files:
                    self._chunks.pop(chunk.cid, None)
                f.chunk = None
                self._deferred.append(f)
            else:
                payload.pop("file", None)
                if f.attempt:
                    payload["attempts"] = f.attempt + 1
                self._settle(fid, payload)

    def _requeue_deferred(self) -> None:
        if self._deferred:
            self._deferred.sort(key=lambda f: f.job.index)
            self._pending.extendleft(reversed(self._deferred))
            self._deferred.clear()

    def _settle(self, fid: int | None, result: dict[str, Any]) -> None:
        """A file has its final result: drop it from the flight tables and report it."""
        f = self._files.pop(fid, None) if fid is not None else None
        if f is not None and f.chunk is not None:
            f.chunk.files.pop(fid, None)
            if not f.chunk.files:
                self._chunks.pop(f.chunk.cid, None)
        self._finish(result)

    def _finish(self, result: dict[str, Any]) -> None:
        self.results[result["index"]] = result
        self._counts[result["status"]] = self._counts.get(result["status"], 0) + 1
        size = result.get("bytes_in") or 0
        self._recent.append((time.monotonic(), size))
        self._recent_bytes += size
        self._notify("job_finished", result)

    def _fail(self, f: _File, message: str) -> None:
        self._settle(f.fid, _result(f.job, "failed", message))

    def _unfinished(self, chunk: _Chunk) -> None:
        """A chunk's worker is gone: put its files that never started back in the queue."""
        self._chunks.pop(chunk.cid, None)
        for f in reversed(list(chunk.files.values())):
            self._files.pop(f.fid, None)
            f.chunk = None
            self._pending.appendleft(f)
        chunk.files.clear()

    # --- supervision -----------------------------------------------------------------------
    def _watch(self) -> None:
        """Retry or fail files whose worker died, kill workers past the time limit, and
        replace a pool that stopped taking work."""
        pool = self._pool
        if pool is None:
            return
        procs = pool.processes()
        if not pool.ready and pool.died_starting() >= max(_START_DEATHS, 2 * pool.workers):
            self._cannot_start(pool)
            return
        now = time.monotonic()
        dead = [c for c in self._chunks.values() if c.pid is not None and c.pid not in procs]
        if dead:
            self._receive(pool)  # whatever the dead worker said before it died
        for chunk in dead:
            if chunk.cid not in self._chunks:
                continue
            running = [f for f in chunk.files.values() if f.started is not None]
            for f in running:
                self._sweep_later(pool, f)
                self._crashed(f, pool.exitcode(f.pid))  # type: ignore[arg-type]
            self._unfinished(chunk)
        self._sweep(pool, procs)
        for chunk in list(self._chunks.values()):
            for f in list(chunk.files.values()):
                if f.started is not None and now - f.started > self.runner.time_limit:
                    try:
                        os.kill(f.pid, getattr(signal, "SIGKILL", signal.SIGTERM))  # type: ignore[arg-type]
                    except OSError:
                        pass
                    self._sweep_later(pool, f)
                    name = os.path.basename(f.job.source)
                    self._fail(
                        f,
                        f"took longer than the {self.runner.time_limit:g} s time limit "
                        f"converting {name}; stopped",
                    )
                    self._unfinished(chunk)
                    break
        waiting = [c for c in self._chunks.values() if c.pid is None]
        quiet = now - max(self._last_activity, pool.created)
        stalled = waiting and len(waiting) == len(self._chunks) and quiet > _STALL_SECONDS
        if stalled and not self.paused.is_set():
            # Workers are idle but nothing starts: one died holding the task queue's lock.
            log.warning("pool stalled for %.1f s; replacing it", quiet)
            self._replace_pool(pool)

    def _sweep_later(self, pool: WorkerPool, f: _File) -> None:
        """Remember to remove the temp file a dead (or dying) worker left for this file."""
        prefix = f"{TEMP_PREFIX}{pool.tag}{f.pid}-"
        self._sweeps.add((os.path.dirname(f.job.target), prefix, f.pid))  # type: ignore[arg-type]

    def _sweep(self, pool: WorkerPool, procs: dict[int, Any], final: bool = False) -> None:
        """Remove temp files of workers that are gone (all of them at the end of a batch)."""
        for entry in list(self._sweeps):
            folder, prefix, pid = entry
            if pid in procs and not final:
                continue  # a killed worker may still be on its way out
            for tmp in temp_files(folder, prefix=prefix):
                try:
                    tmp.unlink()
                except OSError:
                    pass
            self._sweeps.discard(entry)

    def _final_sweep(self, pool: WorkerPool) -> None:
        deadline = time.monotonic() + 2.0
        while self._sweeps and time.monotonic() < deadline:
            self._sweep(pool, pool.processes())
            if self._sweeps:
                time.sleep(0.02)
        self._sweep(pool, {}, final=True)

    def _replace_pool(self, old: WorkerPool) -> None:
        self.runner._retire(old, wait=False)
        self._pool = self.runner._current_pool()
        if self.cancel_requested.is_set():
            self._pool.cancel.set()
        if self.paused.is_set():
            self._pool.pause.set()
        self._last_activity = time.monotonic()
        for chunk in list(self._chunks.values()):
            for f in chunk.files.values():
                f.stalls += 1
            self._unfinished(chunk)
        for f in [f for f in self._pending if f.stalls > _MAX_STALLS]:
            self._pending.remove(f)
            self._finish(
                _result(
                    f.job,
                    "failed",
                    f"worker crashed while converting {os.path.basename(f.job.source)}",
                )
            )

    def _cannot_start(self, pool: WorkerPool) -> None:
        """Worker after worker died before it was ready (Python or a library it loads crashes
        at start-up): fail every file with that, instead of waiting for stall after stall."""
        codes = [p.exitcode for p in pool.seen.values() if p.exitcode is not None]
        why = f"the worker processes could not start{_how_it_ended(codes[-1] if codes else None)}"
        log.error("%d worker processes died during start-up; failing the batch", len(codes))
        self.runner._retire(pool, wait=False)
        for f in list(self._files.values()):
            self._settle(f.fid, _result(f.job, "failed", why))
        self._chunks.clear()
        while self._pending:
            self._finish(_result(self._pending.popleft().job, "failed", why))

    def _crashed(self, f: _File, exitcode: int | None) -> None:
        assert f.chunk is not None
        f.chunk.files.pop(f.fid, None)
        self._files.pop(f.fid, None)
        landed = _find_published(f.publishing) if f.publishing else None
        if landed is not None:
            # The worker died after its output was in place: the file is done, and a retry
            # would only write a second copy.
            j, info = f.job, f.publishing
            result = make_result(j.index, j.source, "ok", None, landed, j.size)
            result.update(bytes_out=info["bytes_out"], width=info["width"], height=info["height"])
            self._finish(result)
            return
        f.publishing = None
        if f.attempt < self.runner.crash_retries and not self.cancel_requested.is_set():
            f.attempt += 1
            f.chunk = None
            self._pending.appendleft(f)
            return
        how = _how_it_ended(exitcode)
        tries = f" on {f.attempt + 1} tries" if f.attempt else ""
        name = os.path.basename(f.job.source)
        j = f.job
        self._finish(_result(j, "failed", f"worker crashed while converting {name}{how}{tries}"))

    def _cancel(self) -> None:
        """Stop feeding, give running files a moment to finish, then stop the workers and
        sweep their temp files. Every unfinished file is reported as cancelled."""
        for f in self._pending:
            j = f.job
            self._finish(_result(j, "cancelled"))
        self._pending.clear()
        pool = self._pool
        if pool is None:
            return
        pool.cancel.set()
        deadline = time.monotonic() + _CANCEL_GRACE
        while self._files and time.monotonic() < deadline:
            self._pump(0.02)
        if not self._files:
            return  # everything stopped at a checkpoint: the pool stays warm
        folders = {os.path.dirname(f.job.target) for f in self._files.values()}
        self.runner._retire(pool, wait=True)
        self._receive(pool)  # results that raced the terminate still count
        for folder in folders:
            for tmp in temp_files(folder, prefix=TEMP_PREFIX + pool.tag):
                try:
                    tmp.unlink()
                except OSError:
                    pass
        for f in list(self._files.values()):
            j = f.job
            self._settle(f.fid, _result(j, "cancelled"))

    # --- progress --------------------------------------------------------------------------
    def _emit_progress(self, elapsed: float) -> None:
        now = time.monotonic()
        while self._recent and now - self._recent[0][0] > _RATE_WINDOW:
            self._recent_bytes -= self._recent.popleft()[1]
        done, total = len(self.results), len(self.jobs)
        span = min(_RATE_WINDOW, max(self._active_time, 1e-6))
        files_per_s = len(self._recent) / span if self._recent else 0.0
        bytes_per_s = self._recent_bytes / span if self._recent else 0.0
        remaining = total - done
        eta = remaining / files_per_s if files_per_s > 0 and remaining else None
        if not remaining:
            eta = 0.0
        snap = Progress(
            done=done,
            total=total,
            ok=self._counts["ok"],
            skipped=self._counts["skipped"],
            failed=self._counts["failed"],
            cancelled=self._counts["cancelled"],
            elapsed=elapsed,
            files_per_s=files_per_s,
            bytes_per_s=bytes_per_s,
            eta_s=eta,
            paused=self.paused.is_set(),
        )
        self._notify("progress", snap)


def _how_it_ended(exitcode: int | None) -> str:
    """A dead worker's exit, for a message: " (killed by SIGKILL)", " (exit code 3)" or ""."""
    if exitcode is not None and exitcode < 0:
        try:
            return f" (killed by {signal.Signals(-exitcode).name})"
        except ValueError:
            return f" (signal {-exitcode})"
    return f" (exit code {exitcode})" if exitcode else ""


def _find_published(info: dict[str, Any]) -> str | None:
    """Where the output announced in info landed, if it did: the target or one of its
    renamed siblings holding the announced file (same device and inode)."""
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
