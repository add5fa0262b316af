"""BatchThread: what a batch running on a thread of its own shares, whatever converts its
files (this computer's pool: supervisor.Supervisor; a Dask cluster:
cluster_batch.ClusterSupervisor): the controls any thread may call, and the files settled
before any is converted. No Qt here.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Mapping
from typing import Any

from .events import BatchListener
from .flight import Flight
from .i18n import _
from .job import Job
from .report import Report
from .result import job_result


class BatchThread:
    """One batch on its own thread: start() it, then request_cancel(), set_paused() and
    join() from any thread; `report` holds the Report once the thread has ended. Subclasses
    write _run, and may hear of cancel and pause at once (_on_cancel, _on_pause)."""

    def __init__(
        self,
        jobs: list[Job],
        listener: BatchListener,
        limits: Any,
        done: Mapping[int, dict[str, Any]] | None,
        name: str,
    ) -> None:
        self.jobs = jobs
        self.limits = limits
        self.report: Report | None = None
        self._done = done or {}
        self.flight = Flight(jobs, listener, self._done, queue=False)  # queued by _run
        self._events: queue.SimpleQueue[tuple[Any, ...]] = queue.SimpleQueue()
        self._cancel = threading.Event()
        self._paused = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    # --- control (any thread) --------------------------------------------------------------
    def start(self) -> None:
        self._thread.start()

    def is_alive(self) -> bool:
        return self._thread.is_alive()

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def request_cancel(self) -> None:
        self._cancel.set()
        self._on_cancel()

    @property
    def paused(self) -> bool:
        return self._paused.is_set()

    def set_paused(self, paused: bool) -> None:
        if paused:
            self._paused.set()
        else:
            self._paused.clear()
        self._on_pause(paused)

    def _on_cancel(self) -> None:
        """Called on the thread that asked for the cancel, after the flag is set."""

    def _on_pause(self, paused: bool) -> None:
        """Called on the thread that paused or resumed, after the flag is set."""

    def _post(self, kind: str, key: int, payload: Any) -> None:
        """Queue an event for the batch's thread. For callbacks that run on other threads
        (the pool's result handler, Dask's): it never raises, since a callback that raised
        would stop that thread's delivery."""
        try:
            self._events.put((kind, key, payload))
        except BaseException:
            pass

    # --- the thread ------------------------------------------------------------------------
    def _run(self) -> None:
        raise NotImplementedError

    def _settle_known(self) -> None:
        """Queue the files for the workers, say the batch started, and settle what needs no
        worker: files done before (a resumed batch) and files the plan skips. The first
        thing _run does."""
        flight = self.flight
        flight.queue(self.jobs, self._done)
        flight.notify("batch_started", len(self.jobs))
        for job in self.jobs:
            if job.index in self._done:
                flight.finish(self._done[job.index])
            elif job.action == "skip":
                reason = _(job.reason) if job.reason else job.reason  # _("") is the header
                flight.finish(job_result(job, "skipped", reason, job.target))
