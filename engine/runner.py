"""BatchRunner: owns a spawn-context multiprocessing.Pool, feeds it, supervises it and reports.

One supervisor thread per batch feeds a bounded window of apply_async tasks, turns pool
callbacks (which only enqueue) into listener calls, notices dead and stuck workers, and
handles pause, resume and cancel. The pool stays warm between batches. No Qt here: the GUI
bridge and the CLI progress bar are both BatchListeners.
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
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .report import Report, make_result
from .scan import Job, temp_files
from .worker import init_worker, run_task

log = logging.getLogger(__name__)

_TICK = 0.05
_PROGRESS_INTERVAL = 0.1
_CANCEL_GRACE = 0.25
_STALL_SECONDS = 8.0
_MAX_STALLS = 2
_RATE_WINDOW = 10.0


def default_workers() -> int:
    if hasattr(os, "process_cpu_count"):
        return os.process_cpu_count() or 1
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:
        return os.cpu_count() or 1


def default_memory_limit(workers: int) -> int | None:
    """Per-worker address-space ceiling: a fair share of RAM, never below 2 GiB."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None
    return max(2 << 30, int(total * 0.8 / max(1, workers)))


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


@dataclass
class _Task:
    tid: int
    job: Job
    attempt: int
    pool: _PoolHandle
    pid: int | None = None
    started: float | None = None
    stalls: int = 0


class _PoolHandle:
    """One generation of the pool with its start queue, cancel event and temp-file tag."""

    def __init__(self, ctx: Any, workers: int, memory_limit: int | None) -> None:
        self.workers = workers
        self.tag = uuid.uuid4().hex[:8] + "-"
        # A SimpleQueue writes synchronously: the start message is in the pipe before the
        # conversion begins, so a worker that dies at once is still known to hold its file.
        self.starts = ctx.SimpleQueue()
        self.cancel = ctx.Event()
        self.pool = ctx.Pool(
            workers,
            initializer=init_worker,
            initargs=(self.starts, self.cancel, self.tag, memory_limit),
        )
        self.created = time.monotonic()
        self.broken = False
        self.seen: dict[int, Any] = {}  # every worker Process seen, to read a dead one's exit

    def processes(self) -> dict[int, Any]:
        # Pool keeps its live workers in _pool and replaces dead ones there; reading it is
        # the only way to learn which pid is gone (CPython gh-66587 leaves their tasks hung).
        return {p.pid: p for p in list(getattr(self.pool, "_pool", []))}

    def terminate(self, timeout: float = 5.0) -> None:
        """Stop every worker. Bounded: Pool.terminate() blocks on the task-queue lock when a
        worker died holding it, so free that lock and kill stragglers if it takes too long."""
        procs = list(self.processes().values())
        t = threading.Thread(target=self.pool.terminate, name="pixmill-terminate", daemon=True)
        t.start()
        t.join(timeout)
        if t.is_alive():
            try:
                self.pool._inqueue._rlock.release()
            except Exception:
                pass
            t.join(1.0)
        for p in procs:
            if p.is_alive():
                try:
                    p.kill()
                except Exception:
                    pass
            try:
                p.join(1.0)
            except Exception:
                pass
        try:
            self.starts.close()
        except Exception:
            pass

    def next_start(self) -> tuple[int, int] | None:
        """The next (task id, pid) start message, or None when there is none waiting."""
        try:
            if self.starts.empty():
                return None
            return self.starts.get()
        except (OSError, ValueError, EOFError):
            return None


class BatchRunner:
    """Runs batches of Jobs on a warm process pool.

    workers: pool size (changes take effect at the next start); time_limit: seconds one file
    may take before its worker is killed; crash_retries: how often a file whose worker died is
    tried again on a fresh worker before it fails."""

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
        self._handle: _PoolHandle | None = None
        self._lock = threading.Lock()
        self._batch: _Batch | None = None

    # --- pool lifetime ---------------------------------------------------------------------
    def _memory_limit(self) -> int | None:
        if self.memory_limit == "auto":
            return default_memory_limit(self.workers)
        return self.memory_limit  # type: ignore[return-value]

    def _pool(self) -> _PoolHandle:
        h = self._handle
        if h is None or h.broken or h.workers != self.workers:
            if h is not None:
                h.terminate()
            h = self._handle = _PoolHandle(self._ctx, self.workers, self._memory_limit())
        h.cancel.clear()
        return h

    def _replace_pool(self, old: _PoolHandle) -> _PoolHandle:
        old.broken = True
        threading.Thread(target=old.terminate, name="pixmill-retire", daemon=True).start()
        with self._lock:
            self._handle = None
            return self._pool()

    def warm_up(self) -> None:
        """Start the worker processes now, so the first batch starts at full speed."""
        with self._lock:
            self._pool()

    def shutdown(self) -> None:
        """Stop the warm pool (and any running batch). Safe to call more than once."""
        batch = self._batch
        if batch is not None:
            batch.request_cancel()
            batch.thread.join(10)
        with self._lock:
            if self._handle is not None:
                self._handle.terminate()
                self._handle = None

    def worker_pids(self) -> list[int]:
        h = self._handle
        return list(h.processes()) if h is not None else []

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
        if self._batch is not None:
            self._batch.paused.set()

    def resume(self) -> None:
        if self._batch is not None:
            self._batch.paused.clear()

    @property
    def paused(self) -> bool:
        return self._batch is not None and self._batch.paused.is_set()

    def wait(self, timeout: float | None = None) -> Report | None:
        b = self._batch
        if b is None:
            return None
        b.thread.join(timeout)
        return b.report


_task_ids = itertools.count(1)


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
        self._pending: collections.deque[tuple[Job, int]] = collections.deque()
        self._inflight: dict[int, _Task] = {}
        self._counts = dict.fromkeys(("ok", "skipped", "failed", "cancelled"), 0)
        self._recent: collections.deque[tuple[float, int]] = collections.deque()
        self._active_time = 0.0
        self._last_activity = time.monotonic()

    def request_cancel(self) -> None:
        self.cancel_requested.set()
        h = self.runner._handle
        if h is not None:
            h.cancel.set()  # workers stop at their next checkpoint

    # --- listener plumbing -----------------------------------------------------------------
    def _notify(self, name: str, *args: Any) -> None:
        try:
            getattr(self.listener, name)(*args)
        except BaseException:  # a broken listener must not stop the batch
            log.exception("listener %s failed", name)

    def _on_result(self, result: dict[str, Any]) -> None:
        # Runs on the pool's result-handler thread: enqueue only, never raise.
        try:
            self.events.put(("done", result.get("task"), result))
        except BaseException:
            pass

    def _on_error(self, tid: int, exc: BaseException) -> None:
        try:
            self.events.put(("error", tid, exc))
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
                    self._pending.append((job, 0))
            handle = None
            if self._pending and not self.cancel_requested.is_set():
                with self.runner._lock:
                    handle = self.runner._pool()
            if self.cancel_requested.is_set() and handle is not None:
                handle.cancel.set()
            self._loop(handle, t0)
        except BaseException as exc:  # the batch must always end with a report
            log.exception("batch supervisor failed")
            for job in self.jobs:
                if job.index not in self.results:
                    self._finish(
                        make_result(
                            job.index,
                            job.source,
                            "failed",
                            f"internal error: {exc}",
                            None,
                            job.size,
                        )
                    )
        files = [self.results[j.index] for j in self.jobs if j.index in self.results]
        self.report = Report(files, time.monotonic() - t0, cancelled=self.cancel_requested.is_set())
        self._emit_progress(time.monotonic() - t0, force=True)
        self._notify("batch_finished", self.report)

    def _loop(self, handle: _PoolHandle | None, t0: float) -> None:
        next_watch = next_progress = time.monotonic()
        last = time.monotonic()
        while self._pending or self._inflight:
            now = time.monotonic()
            if not self.paused.is_set():
                self._active_time += now - last
            last = now
            if self.cancel_requested.is_set():
                self._cancel(handle)
                return
            assert handle is not None
            if not self.paused.is_set():
                self._feed(handle)
            self._drain(handle)
            now = time.monotonic()
            if now >= next_watch:
                handle = self._watch(handle)
                next_watch = now + 0.1
            if now >= next_progress:
                self._emit_progress(now - t0)
                next_progress = now + _PROGRESS_INTERVAL

    def _feed(self, handle: _PoolHandle) -> None:
        window = self.runner.workers * self.runner.window_per_worker
        while self._pending and len(self._inflight) < window:
            job, attempt = self._pending.popleft()
            tid = next(_task_ids)
            self._inflight[tid] = _Task(tid, job, attempt, handle)
            self._submit(handle, tid, job)

    def _submit(self, handle: _PoolHandle, tid: int, job: Job) -> None:
        handle.pool.apply_async(
            run_task,
            (tid, job),
            callback=self._on_result,
            error_callback=functools.partial(self._on_error, tid),
        )

    def _drain(self, handle: _PoolHandle) -> None:
        try:
            ev = self.events.get(timeout=_TICK)
        except queue.Empty:
            ev = None
        while ev is not None:
            self._handle_event(ev)
            try:
                ev = self.events.get_nowait()
            except queue.Empty:
                ev = None
        self._drain_starts(handle)

    def _drain_starts(self, handle: _PoolHandle) -> None:
        while True:
            msg = handle.next_start()
            if msg is None:
                return
            tid, pid = msg
            task = self._inflight.get(tid)
            if task is not None and task.started is None:
                task.pid, task.started = pid, time.monotonic()
                self._last_activity = task.started
                self._notify("job_started", task.job.index, task.job.source)

    def _handle_event(self, ev: tuple[Any, ...]) -> None:
        kind, tid, payload = ev
        task = self._inflight.pop(tid, None)
        if task is None:
            return  # a late answer for a task already settled (timed out, retried)
        self._last_activity = time.monotonic()
        if kind == "done":
            result = payload
            result.pop("task", None)
            if task.attempt:
                result["attempts"] = task.attempt + 1
        else:
            result = make_result(
                task.job.index,
                task.job.source,
                "failed",
                f"internal error: {type(payload).__name__}: {payload}",
                None,
                task.job.size,
            )
        self._finish(result)

    def _finish(self, result: dict[str, Any]) -> None:
        self.results[result["index"]] = result
        self._counts[result["status"]] = self._counts.get(result["status"], 0) + 1
        self._recent.append((time.monotonic(), result.get("bytes_in") or 0))
        self._notify("job_finished", result)

    # --- supervision -----------------------------------------------------------------------
    def _watch(self, handle: _PoolHandle) -> _PoolHandle:
        """Fail or retry tasks whose worker died, kill workers past the time limit, and
        replace a pool that stopped taking work."""
        procs = handle.processes()
        handle.seen.update(procs)
        now = time.monotonic()
        for tid, task in list(self._inflight.items()):
            if task.pid is None or task.pool is not handle:
                continue
            proc = procs.get(task.pid)
            alive = proc is not None and proc.exitcode is None
            if not alive:
                self._inflight.pop(tid)
                gone = proc or handle.seen.get(task.pid)
                self._crashed(task, gone.exitcode if gone is not None else None)
            elif now - task.started > self.runner.time_limit:  # type: ignore[operator]
                self._inflight.pop(tid)
                try:
                    os.kill(task.pid, getattr(signal, "SIGKILL", signal.SIGTERM))
                except OSError:
                    pass
                name = os.path.basename(task.job.source)
                self._finish(
                    make_result(
                        task.job.index,
                        task.job.source,
                        "failed",
                        f"took longer than the {self.runner.time_limit:g} s time limit "
                        f"converting {name}; stopped",
                        None,
                        task.job.size,
                    )
                )
        waiting = [t for t in self._inflight.values() if t.started is None]
        running = len(self._inflight) - len(waiting)
        quiet = now - max(self._last_activity, handle.created)
        if waiting and not running and quiet > _STALL_SECONDS:
            # Workers are idle but nothing starts: one died holding the task queue's lock.
            log.warning("pool stalled for %.1f s; replacing it", quiet)
            handle = self.runner._replace_pool(handle)
            if self.cancel_requested.is_set():
                handle.cancel.set()
            self._last_activity = time.monotonic()
            for tid, task in list(self._inflight.items()):
                task.stalls += 1
                if task.stalls > _MAX_STALLS:
                    self._inflight.pop(tid)
                    self._crashed(task, None, retry=False)
                    continue
                task.pool = handle
                self._submit(handle, tid, task.job)
        return handle

    def _crashed(self, task: _Task, exitcode: int | None, retry: bool = True) -> None:
        if (
            retry
            and task.attempt < self.runner.crash_retries
            and not self.cancel_requested.is_set()
        ):
            self._pending.appendleft((task.job, task.attempt + 1))
            return
        how = ""
        if exitcode is not None and exitcode < 0:
            try:
                how = f" (killed by {signal.Signals(-exitcode).name})"
            except ValueError:
                how = f" (signal {-exitcode})"
        elif exitcode:
            how = f" (exit code {exitcode})"
        name = os.path.basename(task.job.source)
        tries = f" on {task.attempt + 1} tries" if task.attempt else ""
        self._finish(
            make_result(
                task.job.index,
                task.job.source,
                "failed",
                f"worker crashed while converting {name}{how}{tries}",
                None,
                task.job.size,
            )
        )

    def _cancel(self, handle: _PoolHandle | None) -> None:
        """Stop feeding, give running files a moment to finish, then stop the workers and
        sweep their temp files. Every unfinished file is reported as cancelled."""
        for job, _ in self._pending:
            self._finish(make_result(job.index, job.source, "cancelled", None, None, job.size))
        self._pending.clear()
        if handle is None:
            return
        handle.cancel.set()
        deadline = time.monotonic() + _CANCEL_GRACE
        while self._inflight and time.monotonic() < deadline:
            self._drain(handle)
        if self._inflight:
            folders = {os.path.dirname(t.job.target) for t in self._inflight.values()}
            with self.runner._lock:
                if self.runner._handle is handle:
                    self.runner._handle = None
                handle.broken = True
            handle.terminate()
            # Results that raced the terminate still count.
            while True:
                try:
                    self._handle_event(self.events.get_nowait())
                except queue.Empty:
                    break
            for folder in folders:
                for tmp in temp_files(folder, prefix=".pixmill-" + handle.tag):
                    try:
                        tmp.unlink()
                    except OSError:
                        pass
            for task in list(self._inflight.values()):
                j = task.job
                self._finish(make_result(j.index, j.source, "cancelled", None, None, j.size))
            self._inflight.clear()

    # --- progress --------------------------------------------------------------------------
    def _emit_progress(self, elapsed: float, force: bool = False) -> None:
        now = time.monotonic()
        while self._recent and now - self._recent[0][0] > _RATE_WINDOW:
            self._recent.popleft()
        done = len(self.results)
        total = len(self.jobs)
        span = min(_RATE_WINDOW, max(self._active_time, 1e-6))
        files_per_s = len(self._recent) / span if self._recent else 0.0
        bytes_per_s = sum(b for _, b in self._recent) / span if self._recent else 0.0
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
