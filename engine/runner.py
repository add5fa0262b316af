"""BatchRunner: the one way to run a batch, for the CLI and the window alike. It runs batches
on an Executor: the local pool (kept warm between batches, a Supervisor per batch) or a Dask
cluster (cluster_batch.py, imported only when a cluster is asked for); above the runner
nothing knows which. It passes pause, resume and cancel on; the listener hears everything.
No Qt here.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from .events import BatchListener, Fanout
from .i18n import _
from .job import Job
from .pool import PoolKeeper, default_workers
from .report import Report
from .supervisor import Limits, Supervisor

if TYPE_CHECKING:
    from .cluster import ClusterSpec
    from .flight import Flight

__all__ = ["Batch", "BatchRunner", "Executor", "LocalExecutor"]


class Batch(Protocol):
    """One running batch, on its own thread; `report` holds the Report once it has ended."""

    report: Report | None
    flight: Flight
    pool: Any

    def start(self) -> None: ...
    def is_alive(self) -> bool: ...
    def join(self, timeout: float | None = None) -> None: ...
    def request_cancel(self) -> None: ...
    def set_paused(self, paused: bool) -> None: ...
    @property
    def paused(self) -> bool: ...


class Executor(Protocol):
    """Where batches run: the local pool or a cluster."""

    def warm_up(self, workers: int) -> None: ...
    def preflight(self, jobs: list[Job]) -> str | None: ...
    def start(
        self,
        jobs: list[Job],
        listener: BatchListener,
        limits: Limits,
        done: Mapping[int, dict[str, Any]] | None,
    ) -> Batch: ...
    def worker_pids(self) -> list[int]: ...
    def shutdown(self) -> None: ...


class LocalExecutor:
    """The local spawn pool, kept warm between batches (PoolKeeper)."""

    def __init__(self, memory_limit: int | None | str = "auto") -> None:
        self.keeper = PoolKeeper(memory_limit)

    def warm_up(self, workers: int) -> None:
        self.keeper.current(workers)

    def preflight(self, jobs: list[Job]) -> str | None:
        return None  # the pool's workers see what this process sees

    def start(
        self,
        jobs: list[Job],
        listener: BatchListener,
        limits: Limits,
        done: Mapping[int, dict[str, Any]] | None,
    ) -> Supervisor:
        return Supervisor(jobs, listener, self.keeper, limits, done)

    def worker_pids(self) -> list[int]:
        pool = self.keeper.peek()
        return list(pool.processes()) if pool is not None else []

    def shutdown(self) -> None:
        self.keeper.shutdown()


def make_executor(cluster: ClusterSpec | None, memory_limit: int | None | str) -> Executor:
    """The local pool, or the Dask cluster of cluster (Dask is imported only then; raises
    cluster.ClusterError when it is not installed)."""
    if cluster is None:
        return LocalExecutor(memory_limit)
    try:
        from .cluster_batch import ClusterExecutor
    except ImportError as exc:
        from .cluster import ClusterError

        raise ClusterError(
            _(
                "Dask is not installed ({error}): pip install 'pixmill[cluster]' to run on a "
                "cluster"
            ).format(error=exc)
        ) from None

    return ClusterExecutor(cluster, memory_limit)


class BatchRunner:
    """Runs batches of Jobs on a warm process pool, or on a Dask cluster.

    workers: pool size (a change takes effect at the next start; a cluster has its own);
    time_limit: seconds one file may take before its worker is killed; crash_retries: how
    often a file whose worker died is tried again on a fresh worker before it fails;
    memory_limit: per-worker address-space ceiling in bytes, "auto" or None; cluster: run on
    this Dask cluster instead of the local pool."""

    def __init__(
        self,
        workers: int | None = None,
        time_limit: float = 600.0,
        crash_retries: int = 1,
        memory_limit: int | None | str = "auto",
        window_per_worker: int = 4,
        cluster: ClusterSpec | None = None,
    ) -> None:
        self.workers = workers or default_workers()
        self.time_limit = time_limit
        self.crash_retries = crash_retries
        self.window_per_worker = window_per_worker
        self.cluster = cluster
        self._memory_limit = memory_limit
        self.executor = make_executor(cluster, memory_limit)
        self._batch: Batch | None = None

    def use_cluster(self, cluster: ClusterSpec | None) -> None:
        """Run the next batches on this Dask cluster (None: the local pool), e.g. when the
        window's Preferences change. Not while a batch runs; the old executor is stopped."""
        if cluster == self.cluster:
            return
        if self.running:
            raise RuntimeError("a batch is running")
        old, self.cluster = self.executor, cluster
        self.executor = make_executor(cluster, self._memory_limit)
        old.shutdown()

    # --- the pool --------------------------------------------------------------------------
    def warm_up(self) -> None:
        """Start the worker processes now (they boot while the caller plans); on a cluster,
        connect to its scheduler (raises cluster.ClusterError when it cannot)."""
        self.executor.warm_up(self.workers)

    def preflight(self, jobs: Sequence[Job]) -> str | None:
        """Why these jobs cannot run where this runner runs them (a cluster worker that
        cannot see their folders, say), or None. A batch checks this itself too."""
        return self.executor.preflight(list(jobs))

    def shutdown(self) -> None:
        """Stop any running batch and the warm pool. Safe to call more than once."""
        batch = self._batch
        if batch is not None:
            batch.request_cancel()
            batch.join(10)
        self.executor.shutdown()

    def worker_pids(self) -> list[int]:
        """The pids of the warm pool's live workers (none on a cluster)."""
        return self.executor.worker_pids()

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
    ) -> Batch:
        """Start a batch in the background and return it (its Supervisor) at once.

        done: results of jobs finished before (a resumed batch), by job index: reported
        first, not converted again. journal: hears every event before the listener (the
        batch's session.BatchSession)."""
        if self.running:
            raise RuntimeError("a batch is already running")
        limits = Limits(self.workers, self.window_per_worker, self.time_limit, self.crash_retries)
        hears = listener or BatchListener()
        if journal is not None:
            hears = Fanout(journal, hears)
        batch = self.executor.start(list(jobs), hears, limits, done)
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
