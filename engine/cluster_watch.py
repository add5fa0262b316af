"""A cluster batch's faults and endings: a worker that left the cluster (its files landed,
retried or requeued, as the local watchdog does), a file past the time limit, a lost
scheduler, a cancel, and the sweep of the batch's temp files. Only the batch's thread calls
it.
"""

from __future__ import annotations

import logging
import os
import time
from typing import Any

from . import cluster_worker
from .flight import Chunk, InFlight
from .i18n import _, ngettext
from .job import Job
from .naming import renamed
from .publish import TEMP_PREFIX, find_published, sweep
from .recover import looks_complete
from .result import job_result

log = logging.getLogger("pixmill.engine.cluster_batch")

_CANCEL_GRACE = 3.0
#: An output found at a crashed file's target counts as its own when it changed after the
#: batch started (less this much, for coarse file system clocks).
_CLOCK_SLACK = 2.0
#: A file whose worker left the cluster this often with no word of what it was converting
#: fails (it may be the one that kills them).
_MAX_STALLS = 3


class ClusterTask:
    """What the client knows of one chunk's task beyond the books: its future, the worker it
    is pinned to, that worker's process id (from its first event) and the last file it
    started."""

    def __init__(self, future: Any, worker: str) -> None:
        self.future = future
        self.worker = worker
        self.wid: str | None = None
        self.last_fid: int | None = None
        self.returned = False  # its value came back; files still being published remain


class ClusterWatch:
    """The fault handling of one ClusterSupervisor."""

    def __init__(self, batch: Any) -> None:  # a cluster_batch.ClusterSupervisor
        self._b = batch
        self._swept: set[str] = set()  # ids of worker processes whose temp files were swept

    def lose(self) -> None:
        why = _("lost the connection to the Dask scheduler at {address}; not converted").format(
            address=self._b.spec.address
        )
        log.error(
            "lost the Dask scheduler at %s; failing the remaining files", self._b.spec.address
        )
        for cid in list(self._b.tasks):
            chunk = self._b.flight.chunks.get(cid)
            if chunk is not None:
                for f in list(chunk.files.values()):
                    if not self.landed(f):
                        self._b.flight.fail(f, why)
            self._b.forget(cid)
        self._b.fail_all(why)

    def worker_died(self, cid: int, task: ClusterTask, blameless: bool = False) -> None:
        """The worker of this chunk left the cluster (or its task failed): as the local
        watchdog does, a file whose output landed is done, the file it was converting is
        retried once (or fails), the others go back to the queue. A task with no word of
        what it converted counts a stall for its files, unless blameless (another task of
        that worker was the one converting)."""
        flight = self._b.flight
        chunk = flight.chunks.get(cid)
        self._b.next_workers = 0.0  # others may have left too: do not feed them meanwhile
        self._forget_future(task)
        self._b.tasks.pop(cid, None)
        if chunk is None:
            return
        self._sweep_worker(chunk, task)
        why = ""
        if task.future.status == "error":
            try:
                why = f": {task.future.exception(timeout=1)}"
            except Exception:  # noqa: BLE001
                pass
        culprit = task.last_fid  # None: no word from the task (it may never have started)
        for f in list(chunk.files.values()):
            if f.fid not in flight.files or self.landed(f):
                continue
            if self._b.cancelled:
                flight.settle(f.fid, job_result(f.job, "cancelled"))
                continue
            f.stalls += culprit is None and not blameless
            if f.stalls > _MAX_STALLS or (
                f.fid == culprit and f.attempt >= self._b.limits.crash_retries
            ):
                name = os.path.basename(f.job.source)
                where = _(" (worker {worker} left the cluster{how})").format(
                    worker=task.worker, how=why
                )
                if f.attempt:
                    tries = f.attempt + 1
                    said = ngettext(
                        "worker crashed while converting {name} on {tries} try{where}",
                        "worker crashed while converting {name} on {tries} tries{where}",
                        tries,
                    ).format(name=name, tries=tries, where=where)
                else:
                    said = _("worker crashed while converting {name}{how}").format(
                        name=name, how=where
                    )
                flight.fail(f, said)
            else:
                flight.retry(f, counts=f.fid == culprit)
        flight.chunks.pop(cid, None)

    def _forget_future(self, task: ClusterTask) -> None:
        try:
            if task.future.status not in ("finished", "error", "cancelled"):
                self._b.client.cancel([task.future])
            task.future.release()
        except Exception:  # noqa: BLE001
            pass

    def landed(self, f: InFlight) -> bool:
        """Settle f as done when its output is in place (the worker's last word before the
        publish, or a complete output at its target written since the batch started)."""
        info, f.publishing = f.publishing, None
        landed = (find_published(info) or _same_file(info)) if info else None
        if landed is None and info is None and f.started is not None:
            landed = self._found_at_target(f.job)
        if landed is None:
            return False
        result = job_result(f.job, "ok", target=landed)
        if info:
            result.update(bytes_out=info["bytes_out"], width=info["width"], height=info["height"])
        else:
            result["bytes_out"] = os.path.getsize(landed)
        self._b.flight.settle(f.fid, result)
        return True

    def _found_at_target(self, job: Job) -> str | None:
        """The job's planned target when it holds a complete file that appeared since the
        batch started: the worker published it, its word about that was lost with it."""
        if job.format == "auto" or job.recipe.searches:
            return None  # the extension is chosen on the worker: the target is not known
        try:
            st = os.stat(job.target)
        except OSError:
            return None
        if st.st_ctime < self._b.started_wall - _CLOCK_SLACK:
            return None
        return job.target if looks_complete(job.target, job.format, st.st_size) else None

    def enforce_time_limit(self) -> None:
        """A file its worker has been converting for longer than the time limit fails, and
        that worker process ends (the files before it in its chunk only wait for their
        results; those after it go back to the queue)."""
        now, limit = time.monotonic(), self._b.limits.time_limit
        for cid, task in list(self._b.tasks.items()):
            chunk = self._b.flight.chunks.get(cid)
            f = chunk.files.get(task.last_fid) if chunk and task.last_fid is not None else None
            if f is None or f.started is None or now - f.started <= limit:
                continue
            name = os.path.basename(f.job.source)
            self._end_worker(task)
            self._b.flight.fail(
                f,
                _("took longer than the {limit} s time limit converting {name}; stopped").format(
                    limit=f"{limit:g}", name=name
                ),
            )
            self.worker_died(cid, task)

    def _end_worker(self, task: ClusterTask) -> None:
        """End the worker process that runs task (its nanny starts a fresh one)."""
        if task.wid is None:
            return
        try:
            self._b.client.run(
                cluster_worker.end_process, task.wid, workers=[task.worker], on_error="ignore"
            )
        except Exception:  # noqa: BLE001 - the connection dropped as the process ended
            pass

    # --- cancel and clean-up ---------------------------------------------------------------
    def cancel_batch(self) -> None:
        """Stop feeding, tell the workers to stop this batch at their next checkpoint, wait a
        moment for the chunks to come back, end the workers of those that do not, and sweep
        the batch's temp files. Every unfinished file is reported as cancelled."""
        flight = self._b.flight
        for f in flight.pending:
            flight.finish(job_result(f.job, "cancelled"))
        flight.pending.clear()
        client = self._b.client
        if not self._b.tasks or client is None or client.status != "running":
            self._cancel_rest()
            return
        try:
            client.run(cluster_worker.cancel, self._b.token, on_error="ignore")
        except Exception:  # noqa: BLE001
            pass
        waiting = [
            t.future
            for c, t in self._b.tasks.items()
            if c in flight.chunks
            and not any(f.started is not None for f in flight.chunks[c].files.values())
        ]
        if waiting:
            try:
                client.cancel(waiting)
            except Exception:  # noqa: BLE001
                pass
        deadline = time.monotonic() + _CANCEL_GRACE
        while self._b.tasks and time.monotonic() < deadline:
            self._b.pump(0.02)
        for task in list(self._b.tasks.values()):
            self._end_worker(task)
        self._cancel_rest()

    def _cancel_rest(self) -> None:
        for cid, task in list(self._b.tasks.items()):
            self._forget_future(task)
            chunk = self._b.flight.chunks.get(cid)
            for f in list(chunk.files.values()) if chunk is not None else ():
                if not self.landed(f):
                    self._b.flight.settle(f.fid, job_result(f.job, "cancelled"))
            self._b.tasks.pop(cid, None)
        self._b.flight.chunks.clear()

    def _sweep_worker(self, chunk: Chunk, task: ClusterTask) -> None:
        if task.wid is None:
            return
        for folder in {os.path.dirname(f.job.target) for f in chunk.files.values()}:
            sweep(folder, TEMP_PREFIX + self._b.token + task.wid)
        self._swept.add(task.wid)

    def sweep_all(self) -> None:
        """After a death, a cancel or a lost scheduler: remove every temp file of this
        batch (its workers are done with them)."""
        if not (self._swept or self._b.cancelled or self._b.lost):
            return
        folders = {os.path.dirname(j.target) for j in self._b.jobs if j.action == "convert"}
        for folder in folders:
            sweep(folder, TEMP_PREFIX + self._b.token)


def _same_file(info: dict[str, Any]) -> str | None:
    """find_published across machines: the worker's device number for a network share is
    not the client's, so match the inode number and size alone."""
    for n in range(1000):
        candidate = renamed(info["target"], n)
        try:
            st = os.stat(candidate)
        except OSError:
            return None
        if st.st_ino == info["inode"][1] and st.st_size == info["bytes_out"]:
            return candidate
    return None
