"""The supervisor: one thread per batch that owns all of the batch's state. It feeds the pool
chunks of files inside a bounded window, reads the workers' per-file messages and hands them
to the books (flight.py); its Watchdog notices dead, stuck and unbootable workers, retries or
fails their files and sweeps their temp files. Pause, resume and cancel arrive from any thread.
"""

from __future__ import annotations

import functools
import logging
import os
import queue
import signal
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from .batch_thread import BatchThread
from .errors import how_it_ended
from .events import BatchListener
from .flight import InFlight
from .i18n import _, ngettext
from .job import Job
from .pool import PoolKeeper, WorkerPool
from .publish import TEMP_PREFIX, PendingSweeps, find_published, sweep, sync_folders
from .report import Report
from .result import job_result

log = logging.getLogger(__name__)

_TICK = 0.05
_WATCH_INTERVAL = 0.1
_PROGRESS_INTERVAL = 0.1
_CANCEL_GRACE = 0.25
# Once a worker message arrives, let others gather for this long before reading them: with
# small files the workers send thousands a second, and waking for each one cost the main
# process (which shares the cores with the workers) a thread wake-up, a poll and a GIL
# hand-off per message.
_GATHER = 0.002


@dataclass(frozen=True)
class Limits:
    """How a batch runs: pool size, tasks in flight per worker, seconds one file may take,
    and how often a file whose worker died is tried again on a fresh worker."""

    workers: int
    window_per_worker: int = 4
    time_limit: float = 600.0
    crash_retries: int = 1


class Supervisor(BatchThread):
    """One batch on this computer's warm pool, on its own thread (batch_thread.BatchThread:
    start, request_cancel, set_paused, join; `report` once it has ended)."""

    def __init__(
        self,
        jobs: list[Job],
        listener: BatchListener,
        keeper: PoolKeeper,
        limits: Limits,
        done: Mapping[int, dict[str, Any]] | None = None,
    ) -> None:
        super().__init__(jobs, listener, limits, done, "pixmill-batch")
        self.pool: WorkerPool | None = None
        self._keeper = keeper
        self._sweeps = PendingSweeps()
        self._watchdog = Watchdog(self, self._sweeps)

    # --- control (any thread) --------------------------------------------------------------
    def _on_cancel(self) -> None:
        pool = self.pool
        if pool is not None:
            pool.set_cancelled()  # workers stop at their next checkpoint

    def _on_pause(self, paused: bool) -> None:
        """Paused: no file starts; each worker stops after the file it is on."""
        pool = self.pool
        if pool is not None:
            pool.set_paused(paused)

    # --- the thread ------------------------------------------------------------------------
    def _run(self) -> None:
        t0 = time.monotonic()
        flight = self.flight
        try:
            self._settle_known()
            if flight and not self._cancel.is_set():
                self.use_pool(self._keeper.current(self.limits.workers))
            self._loop(t0)
            if self._sweeps and self.pool is not None:
                self._sweeps.finish(self.pool.processes)
            self._sync_folders()
        except BaseException as exc:  # the batch must always end with a report
            log.exception("batch supervisor failed")
            for job in self.jobs:
                if job.index not in flight.results:
                    flight.finish(
                        job_result(job, "failed", _("internal error: {error}").format(error=exc))
                    )
        files = [flight.results[j.index] for j in self.jobs if j.index in flight.results]
        self.report = Report(files, time.monotonic() - t0, cancelled=self._cancel.is_set())
        self._emit_progress(time.monotonic() - t0)
        flight.notify("batch_finished", self.report)

    def _sync_folders(self) -> None:
        """Make the names this batch published durable: one fsync per output folder at the
        end instead of one per file (each file's data was synced before its name)."""
        if any(j.sync for j in self.jobs):
            results = self.flight.results.values()
            sync_folders({os.path.dirname(r["target"]) for r in results if r["status"] == "ok"})

    def use_pool(self, pool: WorkerPool) -> None:
        """Feed this pool from now on (the first one, or a replacement)."""
        self.pool = pool
        if self._cancel.is_set():
            pool.set_cancelled()
        if self._paused.is_set():
            pool.set_paused(True)

    def _loop(self, t0: float) -> None:
        next_watch = next_progress = time.monotonic()
        while self.flight:
            self.flight.meter.tick(self._paused.is_set())
            if self._cancel.is_set():
                self._cancel_batch()
                return
            if not self._paused.is_set():
                self._feed()
            self._pump(_TICK)
            now = time.monotonic()
            if now >= next_watch:
                if self.pool is not None:
                    self._watchdog.watch(self.pool)
                next_watch = now + _WATCH_INTERVAL
            if now >= next_progress:
                self._emit_progress(now - t0)
                next_progress = now + _PROGRESS_INTERVAL

    def _feed(self) -> None:
        pool = self.pool
        assert pool is not None
        window = self.limits.workers * self.limits.window_per_worker
        while (files := self.flight.next_chunk(window)) is not None:
            chunk = self.flight.launch(pool, files)
            pool.submit(
                [(f.fid, f.job) for f in files],
                functools.partial(self._on_chunk_done, chunk.cid),
                functools.partial(self._on_chunk_error, chunk.cid),
            )

    # Pool callbacks run on the pool's result-handler thread: enqueue only (_post never raises).
    def _on_chunk_done(self, cid: int, undelivered: list[dict[str, Any]]) -> None:
        if undelivered:
            self._post("undelivered", cid, undelivered)

    def _on_chunk_error(self, cid: int, exc: BaseException) -> None:
        self._post("error", cid, exc)

    def _pump(self, timeout: float) -> None:
        """Wait up to timeout for worker messages, then handle every message and event."""
        pool = self.pool
        if pool is not None and pool.wait(timeout):
            time.sleep(_GATHER)
            self.receive(pool)
        elif pool is None:
            time.sleep(timeout)
        while True:
            try:
                kind, cid, payload = self._events.get_nowait()
            except queue.Empty:
                return
            if pool is not None:
                self.receive(pool)  # the chunk's own messages come first
            chunk = self.flight.chunks.get(cid)
            if chunk is None:
                continue
            if kind == "undelivered":
                for result in payload:
                    self.flight.settle(result.pop("file", None), result)
            else:
                for f in list(chunk.files.values()):
                    self.flight.fail(
                        f,
                        _("internal error: {error}").format(
                            error=f"{type(payload).__name__}: {payload}"
                        ),
                    )

    def receive(self, pool: WorkerPool) -> None:
        """Handle every message pool's workers have sent."""
        flight = self.flight
        for kind, fid, payload in _one_per_file(pool.receive()):
            if kind == "ready":
                pool.mark_ready(*payload)
                continue
            f = flight.files.get(fid)
            if f is None or f.chunk is None or f.chunk.pool is not pool:
                continue  # a late message about a file already settled elsewhere
            flight.last_activity = time.monotonic()
            if kind == "start":
                flight.started(f, payload)
            elif kind == "publishing":
                f.publishing = payload
            elif kind == "deferred":  # paused: the worker handed this file back
                flight.defer(f)
            else:
                payload.pop("file", None)
                if f.attempt:
                    payload["attempts"] = f.attempt + 1
                flight.settle(fid, payload)
        flight.requeue_deferred()

    def _emit_progress(self, elapsed: float) -> None:
        snapshot = self.flight.meter.snapshot(elapsed, self._paused.is_set())
        self.flight.notify("progress", snapshot)

    def _cancel_batch(self) -> None:
        """Stop feeding, give running files a moment to finish, then stop the workers and
        sweep their temp files. Every unfinished file is reported as cancelled."""
        flight = self.flight
        for f in flight.pending:
            flight.finish(job_result(f.job, "cancelled"))
        flight.pending.clear()
        pool = self.pool
        if pool is None:
            return
        pool.set_cancelled()
        deadline = time.monotonic() + _CANCEL_GRACE
        while flight.files and time.monotonic() < deadline:
            self._pump(0.02)
        if not flight.files:
            return  # everything stopped at a checkpoint: the pool stays warm
        folders = {os.path.dirname(f.job.target) for f in flight.files.values()}
        self._keeper.retire(pool, wait=True)
        self.receive(pool)  # results that raced the terminate still count
        for folder in folders:
            sweep(folder, prefix=TEMP_PREFIX + pool.tag)
        for f in list(flight.files.values()):
            flight.settle(f.fid, job_result(f.job, "cancelled"))

    @property
    def keeper(self) -> PoolKeeper:
        return self._keeper


def _one_per_file(messages: list[tuple[Any, ...]]) -> Iterator[tuple[Any, ...]]:
    """Worker messages, with those about many files at once (kind "publishing*" or "done*",
    payload [(file id, payload), ...]: a chunk of small files) spread into one per file."""
    for message in messages:
        kind = message[0]
        if kind[-1] == "*":
            for fid, payload in message[2]:
                yield kind[:-1], fid, payload
        else:
            yield message


_STALL_SECONDS = 8.0
_MAX_STALLS = 2
_START_DEATHS = 4  # workers dead before they were ready, with none ready: they cannot start
_SIGKILL = getattr(signal, "SIGKILL", signal.SIGTERM)


class Watchdog:
    """A batch's supervision, a few times a second: files whose worker died are retried
    (or failed, or counted done when their output had already landed), workers past the time
    limit are killed, a pool that stopped taking work is replaced, and a pool whose workers
    cannot even start fails the batch at once."""

    def __init__(self, supervisor: Supervisor, sweeps: PendingSweeps) -> None:
        self._batch = supervisor
        self._flight = supervisor.flight
        self._limits = supervisor.limits
        self._sweeps = sweeps

    def watch(self, pool: WorkerPool) -> None:
        procs = pool.processes()
        if not pool.any_ready and pool.died_starting() >= max(_START_DEATHS, 2 * pool.workers):
            self._cannot_start(pool)
            return
        flight = self._flight
        dead = [c for c in flight.chunks.values() if c.pid is not None and c.pid not in procs]
        if dead:
            self._batch.receive(pool)  # whatever the dead worker said before it died
        for chunk in dead:
            if chunk.cid not in flight.chunks:
                continue
            for f in [f for f in chunk.files.values() if f.started is not None]:
                self._sweep_later(pool, f)
                culprit = flight.last_started.get(f.pid) == f.fid  # not one waiting to publish
                self._crashed(f, pool.exitcode(f.pid), culprit)
            flight.unfinished(chunk)
        self._sweeps.run(procs)
        if dead and pool.messages_jammed():
            log.warning("a worker died holding the message lock; replacing the pool")
            self._replace_pool(pool)
            return
        self._enforce_time_limit(pool)
        waiting = [c for c in flight.chunks.values() if c.pid is None]
        quiet = time.monotonic() - max(flight.last_activity, pool.created)
        stalled = waiting and len(waiting) == len(flight.chunks) and quiet > _STALL_SECONDS
        if stalled and not self._batch.paused:
            # Workers are idle but nothing starts: one died holding the task queue's lock.
            log.warning("pool stalled for %.1f s; replacing it", quiet)
            self._replace_pool(pool)

    def _enforce_time_limit(self, pool: WorkerPool) -> None:
        now, limit = time.monotonic(), self._limits.time_limit
        for chunk in list(self._flight.chunks.values()):
            for f in list(chunk.files.values()):
                if f.pid is None or f.started is None or now - f.started <= limit:
                    continue
                try:
                    os.kill(f.pid, _SIGKILL)
                except OSError:
                    pass
                self._sweep_later(pool, f)
                name = os.path.basename(f.job.source)
                self._flight.fail(
                    f,
                    _(
                        "took longer than the {limit} s time limit converting {name}; stopped"
                    ).format(limit=f"{limit:g}", name=name),
                )
                self._flight.unfinished(chunk)
                break

    def _sweep_later(self, pool: WorkerPool, f: InFlight) -> None:
        """Remember to remove the temp file a dead (or dying) worker left for this file."""
        if f.pid is not None:
            self._sweeps.add(os.path.dirname(f.job.target), pool.tag, f.pid)

    def _crashed(self, f: InFlight, exitcode: int | None, culprit: bool = True) -> None:
        """f's worker died while converting it (culprit) or while f waited for its publish:
        it is done if its output had landed, else it goes back to the queue for another try
        (one that does not count unless it was the culprit), or fails."""
        flight = self._flight
        if self._landed(f):
            pass
        elif not self._batch.cancelled and (not culprit or f.attempt < self._limits.crash_retries):
            flight.retry(f, counts=culprit)
        else:
            name = os.path.basename(f.job.source)
            how = how_it_ended(exitcode)
            if f.attempt:
                tries = f.attempt + 1
                why = ngettext(
                    "worker crashed while converting {name}{how} on {tries} try",
                    "worker crashed while converting {name}{how} on {tries} tries",
                    tries,
                ).format(name=name, how=how, tries=tries)
            else:
                why = _("worker crashed while converting {name}{how}").format(name=name, how=how)
            flight.fail(f, why)

    def _landed(self, f: InFlight) -> bool:
        """Whether f's worker, now dead, had already put the output it announced in place:
        then the file is done (settled here), and a retry would only write a second copy."""
        info, f.publishing = f.publishing, None
        landed = find_published(info) if info else None
        if info is None or landed is None:
            return False
        result = job_result(f.job, "ok", target=landed)
        result.update(bytes_out=info["bytes_out"], width=info["width"], height=info["height"])
        self._flight.settle(f.fid, result)
        return True

    def _replace_pool(self, old: WorkerPool) -> None:
        keeper = self._batch.keeper
        # Stopped before its files go back to the queue: none of its workers may name an
        # output once another worker has begun the same file.
        keeper.retire(old, wait=True)
        self._batch.use_pool(keeper.current(self._limits.workers))
        flight = self._flight
        flight.last_activity = time.monotonic()
        for chunk in list(flight.chunks.values()):
            for f in list(chunk.files.values()):
                if f.started is not None:
                    self._sweep_later(old, f)  # its temp file, encoded or waiting to publish
                if not self._landed(f):
                    f.stalls += 1
            flight.unfinished(chunk)
        self._sweeps.run(set())  # the old pool's workers are gone
        for f in [f for f in flight.pending if f.stalls > _MAX_STALLS]:
            flight.pending.remove(f)
            name = os.path.basename(f.job.source)
            why = _("worker crashed while converting {name}{how}").format(name=name, how="")
            flight.finish(job_result(f.job, "failed", why))

    def _cannot_start(self, pool: WorkerPool) -> None:
        """Worker after worker died before it was ready (Python or a library it loads crashes
        at start-up): fail every file with that, instead of waiting for stall after stall."""
        why = _("the worker processes could not start{how}").format(
            how=how_it_ended(pool.last_exitcode())
        )
        log.error("worker processes keep dying during start-up; failing the batch")
        self._batch.keeper.retire(pool, wait=False)
        flight = self._flight
        for f in list(flight.files.values()):
            flight.fail(f, why)
        flight.chunks.clear()
        while flight.pending:
            flight.finish(job_result(flight.pending.popleft().job, "failed", why))
