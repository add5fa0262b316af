"""BatchRunner: the one way to run a batch, for the CLI and the window alike. It keeps a warm
pool between batches (PoolKeeper), starts a Supervisor per batch and passes pause, resume and
cancel on; the listener hears everything. No Qt here.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from .events import BatchListener, Fanout
from .job import Job
from .pool import PoolKeeper, default_workers
from .report import Report
from .supervisor import Limits, Supervisor

__all__ = ["BatchRunner"]


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
        self.window_per_worker = window_per_worker
        self._keeper = PoolKeeper(memory_limit)
        self._batch: Supervisor | None = None

    # --- the pool --------------------------------------------------------------------------
    def warm_up(self) -> None:
        """Start the worker processes now (they boot while the caller plans)."""
        self._keeper.current(self.workers)

    def shutdown(self) -> None:
        """Stop any running batch and the warm pool. Safe to call more than once."""
        batch = self._batch
        if batch is not None:
            batch.request_cancel()
            batch.join(10)
        self._keeper.shutdown()

    def worker_pids(self) -> list[int]:
        """The pids of the warm pool's live workers."""
        pool = self._keeper.peek()
        return list(pool.processes()) if pool is not None else []

    # --- batches ---------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self._batch is not None and self._batch.is_alive()

    def start(
        self,
        jobs: Sequence[Job],
        listener: BatchListener | None = None,
        done: Mapping[int, dict[str, Any]] | None = None,
        journal: BatchListener | None = None,
    ) -> Supervisor:
        """Start a batch in the background and return its Supervisor at once.

        done: results of jobs finished before (a resumed batch), by job index: reported
        first, not converted again. journal: hears every event before the listener (the
        batch's session.BatchSession)."""
        if self.running:
            raise RuntimeError("a batch is already running")
        limits = Limits(self.workers, self.window_per_worker, self.time_limit, self.crash_retries)
        hears = listener or BatchListener()
        if journal is not None:
            hears = Fanout(journal, hears)
        batch = Supervisor(list(jobs), hears, self._keeper, limits, done)
        self._batch = batch
        batch.start()
        return batch

    def run(
        self,
        jobs: Sequence[Job],
        listener: BatchListener | None = None,
        done: Mapping[int, dict[str, Any]] | None = None,
        journal: BatchListener | None = None,
    ) -> Report:
        """Run a batch to the end and return its report."""
        batch = self.start(jobs, listener, done, journal)
        while batch.is_alive():
            batch.join(0.2)
        assert batch.report is not None
        return batch.report

    def cancel(self) -> None:
        if self._batch is not None:
            self._batch.request_cancel()

    def pause(self) -> None:
        """Stop starting files; each worker stops after the file it is on."""
        if self._batch is not None:
            self._batch.set_paused(True)

    def resume(self) -> None:
        if self._batch is not None:
            self._batch.set_paused(False)

    @property
    def paused(self) -> bool:
        return self._batch is not None and self._batch.paused

    def wait(self, timeout: float | None = None) -> Report | None:
        """Wait for the current batch (up to timeout); its report, or None while it runs."""
        b = self._batch
        if b is None:
            return None
        b.join(timeout)
        return b.report

    # --- test seam -------------------------------------------------------------------------
    def converting(self) -> dict[int, int]:
        """Test seam: pid -> index of the job each worker is converting right now (started,
        no result yet). Fault tests aim their kills with it."""
        b = self._batch
        return b.flight.converting() if b is not None else {}

    @contextlib.contextmanager
    def workers_held(self) -> Iterator[None]:
        """Test seam: while inside, every worker of the running batch blocks at its next
        message to the runner. A worker busy encoding then stops with its output finished in
        a temp file, just before it announces and publishes it."""
        b = self._batch
        pool = b.pool if b is not None else None
        if pool is None:
            raise RuntimeError("no batch is running on a pool")
        lock = pool.message_lock()
        lock.acquire()
        try:
            yield
        finally:
            lock.release()
