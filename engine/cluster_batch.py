"""The Dask executor: a batch's chunks of files as tasks on a distributed cluster, with the
same books (flight.py), listener events, report and promises as the local pool.

Each chunk is a task pinned to one worker (the client keeps a bounded window per worker
thread, as locally), so a worker's death leaves its task waiting rather than rerun behind the
client's back: the client then decides, as the local watchdog does, which files landed (the
worker's "publishing" event, or the output found on the shared storage), which one crashed
the worker (retried once) and which go back to the queue. Workers tell the client about each
file on a Dask event topic; results come back as the task's small return value.
"""

from __future__ import annotations

import functools
import logging
import os
import queue
import threading
import time
from collections.abc import Mapping
from typing import Any

from distributed import Future

from . import cluster, cluster_worker
from .batch_thread import BatchThread
from .cluster import ClusterError, ClusterSpec, batch_folders, connect, run_check
from .cluster_watch import ClusterTask, ClusterWatch
from .events import BatchListener
from .i18n import _
from .job import Job
from .publish import sync_folders
from .report import Report
from .result import job_result
from .supervisor import Limits

log = logging.getLogger(__name__)

_TICK = 0.05
_WORKERS_EVERY = 0.5
_PROGRESS_INTERVAL = 0.1
#: Seconds to fetch a finished task's result (a few hundred bytes) before taking it as lost.
_RESULT_TIMEOUT = 10.0


class ClusterExecutor:
    """Runs batches on the Dask cluster of spec; the client connects on first use and stays
    connected between batches."""

    def __init__(self, spec: ClusterSpec, memory_limit: int | None | str = "auto") -> None:
        self.spec = spec
        self.memory_limit = memory_limit
        self._client: Any = None
        self._checked: set[tuple[tuple[str, ...], tuple[str, ...]]] = set()
        self._lock = threading.Lock()

    def client(self) -> Any:
        with self._lock:
            if self._client is None or self._client.status in ("closed", "closing"):
                self._client = connect(self.spec.address)
            return self._client

    def warm_up(self, workers: int) -> None:
        self.client()

    def preflight(self, jobs: list[Job]) -> str | None:
        """Why the cluster cannot run these jobs (the check on every worker), or None."""
        inputs, outputs = batch_folders(jobs)
        key = (tuple(inputs), tuple(outputs))
        if key in self._checked:
            return None
        try:
            result = run_check(self.client(), self.spec, inputs, outputs)
        except ClusterError as exc:
            return str(exc)
        if not result.ok:
            return _("the cluster cannot run this batch: {message}").format(message=result.message)
        self._checked.add(key)
        return None

    def start(
        self,
        jobs: list[Job],
        listener: BatchListener,
        limits: Limits,
        done: Mapping[int, dict[str, Any]] | None = None,
    ) -> ClusterSupervisor:
        return ClusterSupervisor(jobs, listener, self, limits, done)

    def worker_pids(self) -> list[int]:
        return []

    def shutdown(self) -> None:
        with self._lock:
            client, self._client = self._client, None
        if client is not None:
            try:
                client.close(timeout=5)
            except Exception:  # noqa: BLE001 - a lost scheduler: nothing left to close
                pass


class ClusterSupervisor(BatchThread):
    """One batch on a cluster, on its own thread (batch_thread.BatchThread: start, join,
    request_cancel, set_paused; `report` once it has ended). Paused, no chunk is sent; the
    chunks on the workers finish."""

    def __init__(
        self,
        jobs: list[Job],
        listener: BatchListener,
        executor: ClusterExecutor,
        limits: Limits,
        done: Mapping[int, dict[str, Any]] | None = None,
    ) -> None:
        super().__init__(jobs, listener, limits, done, "pixmill-cluster")
        self.pool = None  # no local pool: the runner's pool test seams do not apply
        self.spec = executor.spec
        self._executor = executor
        self.token = os.urandom(4).hex() + "-"
        self.tasks: dict[int, ClusterTask] = {}
        self._workers: dict[str, int] = {}  # address -> threads
        self._lost_since: float | None = None
        self.watch = ClusterWatch(self)
        self.next_workers = 0.0  # when to ask the scheduler for its workers again
        self.started_wall = time.time()
        self.client: Any = None

    # --- the thread ------------------------------------------------------------------------
    def _run(self) -> None:
        t0 = time.monotonic()
        flight = self.flight
        try:
            self._settle_known()
            if flight and not self._cancel.is_set():
                problem = self._connect()
                if problem:
                    self.fail_all(problem)
                else:
                    self._loop(t0)
            if self._cancel.is_set():
                self.watch.cancel_batch()
            self.watch.sweep_all()
            self._sync_folders()
        except BaseException as exc:  # the batch must always end with a report
            log.exception("cluster batch failed")
            self.fail_all(_("internal error: {error}").format(error=exc))
        finally:
            self._unsubscribe()
        files = [flight.results[j.index] for j in self.jobs if j.index in flight.results]
        self.report = Report(files, time.monotonic() - t0, cancelled=self._cancel.is_set())
        flight.notify("progress", flight.meter.snapshot(time.monotonic() - t0, False))
        flight.notify("batch_finished", self.report)

    def _connect(self) -> str | None:
        try:
            self.client = self._executor.client()
        except ClusterError as exc:
            return str(exc)
        problem = self._executor.preflight(self.jobs)
        if problem:
            return problem
        self.client.subscribe_topic(cluster_worker.topic(self.token), self._on_event)
        return None

    def _unsubscribe(self) -> None:
        if self.client is not None and self.client.status == "running":
            try:
                self.client.unsubscribe_topic(cluster_worker.topic(self.token))
            except Exception:  # noqa: BLE001
                pass

    def fail_all(self, why: str) -> None:
        flight = self.flight
        for f in list(flight.files.values()):
            flight.fail(f, why)
        flight.chunks.clear()
        while flight.pending:
            flight.finish(job_result(flight.pending.popleft().job, "failed", why))

    def _loop(self, t0: float) -> None:
        next_progress = 0.0
        while self.flight and not self._cancel.is_set():
            self.flight.meter.tick(self._paused.is_set())
            now = time.monotonic()
            if now >= self.next_workers:
                if self._scheduler_lost(now):
                    return
                self.next_workers = now + _WORKERS_EVERY
            if not self._paused.is_set():
                self._feed()
            self.pump(_TICK)
            self.watch.enforce_time_limit()
            if now >= next_progress:
                snapshot = self.flight.meter.snapshot(now - t0, self._paused.is_set())
                self.flight.notify("progress", snapshot)
                next_progress = now + _PROGRESS_INTERVAL

    # --- workers ---------------------------------------------------------------------------
    def _scheduler_lost(self, now: float) -> bool:
        """Refresh the workers, handle the chunks of the ones that left; True (after failing
        the remaining files) once the scheduler has been gone for spec.lost_after."""
        client = self.client
        workers = None
        if client.status == "running":
            try:
                info = client.scheduler_info(n_workers=-1)
                workers = {a: int(w.get("nthreads", 1)) for a, w in info["workers"].items()}
            except Exception:  # noqa: BLE001 - the connection dropped meanwhile
                workers = None
        if workers is None:
            self._lost_since = self._lost_since or now
            lost_after = self.spec.lost_after or cluster.LOST_AFTER
            if now - self._lost_since < lost_after and client.status != "closed":
                return False
            self.watch.lose()
            return True
        self._lost_since = None
        self._workers = workers
        gone = [(c, t) for c, t in self.tasks.items() if t.worker not in workers]
        gone = [(c, t) for c, t in gone if t.returned or t.future.status != "finished"]
        known = {t.worker for _when, t in gone if t.last_fid is not None}  # knew its culprit
        for cid, task in gone:
            self.watch.worker_died(cid, task, blameless=task.returned or task.worker in known)
        # A safety net: tasks that ended while the scheduler was out of reach.
        self._collect([c for c, t in self.tasks.items() if t.future.done()])
        return False

    def _feed(self) -> None:
        if not self._workers:
            return
        per = self.limits.window_per_worker
        window = sum(self._workers.values()) * per
        load: dict[str, int] = dict.fromkeys(self._workers, 0)
        for task in self.tasks.values():
            if task.worker in load and not task.returned:  # not waiting for a disk only
                load[task.worker] += 1
        while (files := self.flight.next_chunk(window)) is not None:
            worker = min(load, key=lambda a: load[a] / self._workers[a])
            if load[worker] >= self._workers[worker] * per:
                self.flight.pending.extendleft(reversed(files))
                return
            chunk = self.flight.launch(self, files)  # type: ignore[arg-type]
            items = [(f.fid, self.spec.remote_job(f.job)) for f in files]
            future = self.client.submit(
                cluster_worker.run_chunk,
                self.token,
                items,
                {"memory_limit": self._executor.memory_limit},
                key=f"pixmill-{self.token}{chunk.cid}",
                workers=[worker],
                allow_other_workers=False,
                pure=False,
            )
            self.tasks[chunk.cid] = ClusterTask(future, worker)
            load[worker] += 1
            future.add_done_callback(functools.partial(self._on_done, chunk.cid))

    # Dask calls these on its own threads: enqueue only (_post never raises).
    def _on_done(self, cid: int, future: Future) -> None:
        self._post("done", cid, future)

    def _on_event(self, event: Any) -> None:
        if isinstance(event, tuple | list) and len(event) > 1:  # Dask's (time, message)
            self._post("event", 0, event[1])

    # --- messages --------------------------------------------------------------------------
    def pump(self, timeout: float) -> None:
        try:
            items = [self._events.get(timeout=timeout)]
        except queue.Empty:
            return
        while True:
            try:
                items.append(self._events.get_nowait())
            except queue.Empty:
                break
        finished: list[int] = []
        for kind, cid, payload in items:
            if kind == "event":
                self._message(payload)
            elif cid in self.tasks:
                finished.append(cid)
        if finished:
            self._collect(finished)

    def _message(self, msg: Any) -> None:
        kind, fid = msg[0], msg[1]
        f = self.flight.files.get(fid)
        if f is None or f.chunk is None:
            return  # a late word about a file already settled
        task = self.tasks.get(f.chunk.cid)
        if kind == "start" and task is not None:
            task.wid, task.last_fid = msg[2], fid
            self.flight.last_activity = time.monotonic()
            self.flight.started(f, msg[3])
        elif kind == "publishing":
            info = dict(msg[2])
            info["target"] = self.spec.to_local(info["target"])
            f.publishing = info
        elif kind == "done":  # a file its chunk handed back still being published
            cid = f.chunk.cid
            self._settle_file(f, dict(msg[2]))
            if cid not in self.flight.chunks:
                self.forget(cid)

    def _collect(self, cids: list[int]) -> None:
        """Settle the files of ended tasks. A result that cannot be fetched (its worker died
        after finishing) is handled as that worker's death: every task ends resolved."""
        for cid in cids:
            task = self.tasks.get(cid)
            if task is None or task.returned:
                continue
            status = task.future.status
            if status == "pending":
                continue
            if status != "finished" or self.client.status != "running":
                if self.client.status == "running":
                    self.watch.worker_died(cid, task)
                continue  # the scheduler is gone: _scheduler_lost deals with it
            try:
                results = task.future.result(timeout=_RESULT_TIMEOUT)
            except Exception as exc:  # noqa: BLE001 - lost with its worker, or the scheduler
                log.warning("could not fetch the result of %s: %s", task.future.key, exc)
                if self.client.status == "running":
                    self.watch.worker_died(cid, task)
                continue
            self._settle(cid, results)

    def _settle(self, cid: int, chunk_results: list[Any]) -> None:
        """A chunk's return value: the results of its files, None for those still being
        published (their "done" events follow; until then the task stays on the books,
        watched for its worker's death)."""
        flight = self.flight
        for fid, result in chunk_results:
            f = flight.files.get(fid)
            if result is not None and f is not None and f.chunk and f.chunk.cid == cid:
                self._settle_file(f, result)
        task = self.tasks.get(cid)
        if cid not in flight.chunks or task is None:
            self.forget(cid)
        else:
            task.returned, task.last_fid = True, None  # converting nothing any more

    def _settle_file(self, f: Any, result: dict[str, Any]) -> None:
        if f.started is None:  # its start event is still on the way: tell it first
            self.flight.notify("job_started", f.job.index, f.job.source)
        result["source"] = f.job.source
        result["target"] = self.spec.to_local(result.get("target"))
        if f.attempt:
            result["attempts"] = f.attempt + 1
        self.flight.settle(f.fid, result)

    def forget(self, cid: int) -> None:
        task = self.tasks.pop(cid, None)
        if task is not None:
            task.future.release()

    @property
    def lost(self) -> bool:
        """Whether the scheduler has been out of reach (now or at the end)."""
        return self._lost_since is not None

    def _sync_folders(self) -> None:
        if any(j.sync for j in self.jobs):
            results = self.flight.results.values()
            sync_folders({os.path.dirname(r["target"]) for r in results if r["status"] == "ok"})
