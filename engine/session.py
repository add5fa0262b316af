"""A batch's life beyond its process: the journal record and the locks around one run, for
the CLI and the window alike.

    session = start_batch(plan, recipe, inputs, output_dir, origin="cli", update=True)
    report = runner.run(session.jobs, listener, done=session.done, journal=session)
    session.close()

start_batch() takes the output folder's lock (two batches never write into one folder at
once), drops the files that are up to date for --update, and records the plan;
resume_batch() picks an interrupted batch up again (recover.py decides what is done);
discard_batch() gives one up. A BatchSession is the runner's journal listener: it records
results in batches of rows a couple of times a second and marks the batch's end. When the
journal cannot be used the batch runs anyway: the session says why in `warnings` (or through
warn() while running) and the batch just cannot be resumed.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import time
from collections.abc import Callable, Sequence
from typing import Any

from .events import BatchListener, Progress
from .i18n import N_, _
from .job import Job, Plan
from .journal import (
    CANCELLED,
    DISCARDED,
    FINISHED,
    INTERRUPTED,
    RUNNING,
    STATE_NAMES,
    BatchInfo,
    Journal,
    JournalError,
    dest_key,
)
from .locks import FileLock, LockBusy
from .plan import DEFAULT_SUBFOLDER, TARGET_EXISTS
from .publish import sweep
from .recipe import Recipe
from .recover import recover

log = logging.getLogger(__name__)

#: Results are written to the journal at most this often (and at the end).
FLUSH_SECONDS = 0.5
#: Failed writes in a row after which the journal is given up for the batch.
_MAX_WRITE_FAILURES = 3
#: The reason a job is skipped by --update (a machine value, like plan.py's reasons: the
#: report's error text is its translation, made where the skipped result is).
UP_TO_DATE = N_("up to date")


class BatchError(Exception):
    """A batch cannot start or resume (another batch writes into its folder, nothing to
    resume...); str() is one line for the user."""


class BatchSession(BatchListener):
    """One run of a batch with its journal record and locks. jobs: every file of the batch
    in order; done: results that stand from before this run (a resumed batch), by index;
    batch_id: the journal's id (None without a journal); warnings: lines for the user."""

    def __init__(
        self,
        jobs: list[Job],
        recipe: Recipe,
        dest: str,
        journal: Journal | None = None,
        batch_id: int | None = None,
        done: dict[int, dict[str, Any]] | None = None,
        warn: Callable[[str], None] | None = None,
    ) -> None:
        self.jobs = jobs
        self.done = done or {}
        self.batch_id = batch_id
        self.warnings: list[str] = []
        self.warn = warn
        self._journal = journal
        self._dest = dest
        self._fingerprint = recipe.fingerprint()
        self._locks: list[FileLock] = []
        # Results already in the journal: plan-time skips and what a resume kept.
        self._recorded = {j.index for j in jobs if j.action == "skip"} | set(self.done)
        self._rows: list[dict[str, Any]] = []
        self._failures = 0
        self._last_flush = time.monotonic()
        self._ended = False
        self._gave_up = False

    @property
    def journaled(self) -> bool:
        """Whether this batch is (or was, to its end) recorded, so it can be resumed."""
        return self.batch_id is not None and not self._gave_up

    def _say(self, text: str) -> None:
        self.warnings.append(text)
        if self.warn is not None:
            try:
                self.warn(text)
            except Exception:  # noqa: BLE001 - a face's problem must not stop the batch
                log.exception("warning callback failed")

    def _lock(self, path: str, about: str) -> None:
        lock = FileLock(path)
        lock.acquire(about)
        self._locks.append(lock)

    # --- the runner's journal listener (supervisor thread) --------------------------------
    def job_finished(self, result: dict[str, Any]) -> None:
        if self._journal is not None and result["index"] not in self._recorded:
            self._rows.append(result)

    def progress(self, snapshot: Progress) -> None:
        if self._rows and time.monotonic() - self._last_flush >= FLUSH_SECONDS:
            self.flush()

    def batch_finished(self, report: Any) -> None:
        self.flush(last=True)
        self._end(CANCELLED if report.cancelled else FINISHED)

    def flush(self, last: bool = False) -> None:
        """Write the results gathered since the last flush (a failed write is tried again
        at the next flush, unless this is the last one)."""
        journal = self._journal
        self._last_flush = time.monotonic()
        if journal is None or self.batch_id is None or not self._rows:
            return
        try:
            journal.record(self.batch_id, self._rows, self._dest, self._fingerprint)
        except JournalError as exc:
            self._failures += 1
            if last or self._failures >= _MAX_WRITE_FAILURES:
                self._give_up(str(exc))
            return
        self._rows = []
        self._failures = 0

    def _give_up(self, why: str) -> None:
        self._say(_cannot_resume(why))
        self._gave_up = True
        self._rows = []
        if self._journal is not None:
            self._journal.close()
        self._journal = None

    def _end(self, state: str) -> None:
        if self._ended:
            return
        self._ended = True
        if self.batch_id is not None:
            try:
                if self._journal is None:  # given up mid-batch: the end may still go in
                    self._journal = Journal.open()
                self._journal.set_state(self.batch_id, state)
            except JournalError as exc:
                log.warning("%s", exc)
        self.close()

    def close(self) -> None:
        """Release the locks and the journal (the batch's end, or it never ran: then it is
        recorded as cancelled). Safe to call more than once."""
        if not self._ended:
            self._ended = True
            if self._journal is not None and self.batch_id is not None:
                try:
                    self._journal.set_state(self.batch_id, CANCELLED)
                except JournalError:
                    pass
        self._release()

    def _release(self) -> None:
        for lock in self._locks:
            lock.release(remove=lock.path.endswith(f"batch-{self.batch_id}.lock"))
        self._locks.clear()
        if self._journal is not None:
            self._journal.close()
            self._journal = None


def _cannot_resume(why: object) -> str:
    return _("{reason}; this batch cannot be resumed").format(reason=why)


def _open_journal(session_warn: Callable[[str], None]) -> Journal | None:
    try:
        journal = Journal.open()
    except JournalError as exc:
        session_warn(_cannot_resume(exc))
        return None
    if journal.set_aside:
        session_warn(
            _("the batch journal was damaged; it was kept as {path}").format(path=journal.set_aside)
        )
    return journal


def lock_keys(inputs: Sequence[str], output_dir: str | None) -> list[str]:
    """The folders a batch writes into, as its locks name them: the output folder, or (for
    outputs beside their sources) the input folders."""
    if output_dir is not None:
        return [os.path.realpath(output_dir)]
    keys = set()
    for path in inputs:
        real = os.path.realpath(path)
        keys.add(real if os.path.isdir(real) else os.path.dirname(real))
    return sorted(keys)


def _lock_folders(session: BatchSession, journal: Journal, keys: list[str], about: str) -> None:
    for key in keys:
        try:
            session._lock(journal.folder_lock_path(key), about)
        except LockBusy as held:
            session._release()
            if str(held):
                text = _(
                    "another Pixmill batch is writing into {folder} ({holder}); wait for it to "
                    "finish or choose another output folder"
                )
            else:
                text = _(
                    "another Pixmill batch is writing into {folder}; wait for it to finish or "
                    "choose another output folder"
                )
            raise BatchError(text.format(folder=key, holder=held)) from None
        except OSError as exc:
            session._say(
                _("cannot lock {folder}: {error}").format(folder=key, error=exc.strerror or exc)
            )


def start_batch(
    plan: Plan,
    recipe: Recipe,
    inputs: Sequence[str],
    output_dir: str | None,
    origin: str,
    subfolder: str = DEFAULT_SUBFOLDER,
    update: bool = False,
    created: float | None = None,
    warn: Callable[[str], None] | None = None,
) -> BatchSession:
    """Record a new batch and lock its output folders. update: files whose source has not
    changed since this recipe last wrote their output (which is still there) are skipped as
    "up to date", and changed ones replace that output. Raises BatchError when another
    batch is writing into the same folder."""
    created = time.time() if created is None else created
    dest = dest_key(output_dir, subfolder)
    session = BatchSession(plan.jobs, recipe, dest, warn=warn)
    journal = _open_journal(session._say)
    if journal is None:
        if update:
            session._say(_("without the journal, every file is converted (not only new ones)"))
        return session
    about = f"process {os.getpid()} ({origin})"
    _lock_folders(session, journal, lock_keys(inputs, output_dir), about)
    try:
        if update:
            jobs = up_to_date(plan.jobs, journal.outputs(dest, recipe.fingerprint()))
            session.jobs = jobs
            session._recorded = {j.index for j in jobs if j.action == "skip"}
        batch = journal.begin(session.jobs, recipe, inputs, output_dir, subfolder, origin, created)
        session._lock(journal.lock_path(batch), f"{about} batch {batch}")
    except (JournalError, OSError) as exc:
        journal.close()
        session._say(_cannot_resume(exc))
        return session
    session._journal, session.batch_id = journal, batch
    return session


def up_to_date(jobs: list[Job], outputs: dict[str, tuple[int, float, str, int]]) -> list[Job]:
    """--update: skip the jobs whose source has the size and time it had when this recipe
    last wrote its output into this folder and that output is still there as written; point
    the changed ones at that output so it is replaced. Anything else converts as planned."""
    out = []
    for job in jobs:
        record = outputs.get(job.source)
        if record is not None and (job.action == "convert" or job.reason == TARGET_EXISTS):
            size, mtime, target, bytes_out = record
            try:
                intact = os.stat(target).st_size == bytes_out
            except OSError:
                intact = False
            if intact and size == job.size and mtime == job.mtime:
                job = dataclasses.replace(job, action="skip", reason=UP_TO_DATE, target=target)
            elif intact:  # changed since: its output is made again, in place
                job = dataclasses.replace(
                    job, action="convert", reason="", target=target, replace=True
                )
        out.append(job)
    return out


def up_to_date_readonly(
    jobs: list[Job], recipe: Recipe, output_dir: str | None, subfolder: str = DEFAULT_SUBFOLDER
) -> list[Job]:
    """up_to_date() for a dry run: reads the journal, records nothing (all jobs convert
    when it cannot be read)."""
    try:
        with Journal.open() as journal:
            outputs = journal.outputs(dest_key(output_dir, subfolder), recipe.fingerprint())
    except JournalError:
        return jobs
    return up_to_date(jobs, outputs)


def find_batch(journal: Journal, batch_id: int | None) -> BatchInfo:
    """The batch to resume: batch_id, or the most recent interrupted one."""
    if batch_id is None:
        info = journal.latest_interrupted()
        if info is None:
            raise BatchError(_("no interrupted batch to resume (see `pixmill batches`)"))
        return info
    info = journal.batch(batch_id)
    if info is None:
        raise BatchError(
            _("there is no batch {id} in the journal (see `pixmill batches`)").format(id=batch_id)
        )
    if info.state == RUNNING:
        raise BatchError(
            _("batch {id} is still running (process {pid})").format(id=batch_id, pid=info.pid)
        )
    if not info.resumable:
        raise BatchError(
            _("batch {id} is {state}; there is nothing to resume").format(
                id=batch_id, state=_(STATE_NAMES.get(info.state, info.state))
            )
        )
    return info


def resume_batch(
    batch_id: int | None = None,
    origin: str = "cli",
    sync: bool | None = None,
    warn: Callable[[str], None] | None = None,
) -> tuple[BatchSession, BatchInfo]:
    """Pick up an interrupted (or cancelled) batch: what is done on disk stands (recover.py),
    the rest is to do. Raises BatchError when there is nothing to resume or it cannot be."""
    try:
        journal = Journal.open()
    except JournalError as exc:
        raise BatchError(str(exc)) from None
    session: BatchSession | None = None
    try:
        info = find_batch(journal, batch_id)
        session = BatchSession([], info.recipe, info.dest, journal, info.id, warn=warn)
        about = f"process {os.getpid()} ({origin}) batch {info.id}"
        try:
            session._lock(journal.lock_path(info.id), about)
        except LockBusy:
            raise BatchError(_being_resumed(info.id)) from None
        except OSError as exc:
            raise BatchError(
                _("cannot lock batch {id}: {error}").format(id=info.id, error=exc.strerror or exc)
            ) from None
        _lock_folders(session, journal, lock_keys(info.inputs, info.output), about)
        rows = journal.files(info.id)
        _sweep_temps({os.path.dirname(r.final or r.target) for r in rows})
        found = recover(rows, info.recipe, info.sync if sync is None else sync, info.created)
        if found.adopted:
            journal.record(info.id, found.adopted, info.dest, info.recipe.fingerprint())
        journal.set_state(info.id, RUNNING)
    except BaseException as exc:
        if session is not None:
            session._release()
        else:
            journal.close()
        if isinstance(exc, JournalError):
            raise BatchError(str(exc)) from None
        raise
    session.jobs, session.done = found.jobs, found.done
    session._recorded = {j.index for j in found.jobs if j.action == "skip"} | set(found.done)
    return session, info


def discard_batch(batch_id: int) -> BatchInfo:
    """Give an interrupted batch up: it is no longer offered for resuming, and the temp
    files its dead workers left are removed. Its finished outputs stay."""
    try:
        with Journal.open() as journal:
            info = find_batch(journal, batch_id)
            lock = FileLock(journal.lock_path(info.id))
            try:
                lock.acquire(f"process {os.getpid()} discarding batch {info.id}")
            except LockBusy:
                raise BatchError(_being_resumed(info.id)) from None
            try:
                _sweep_temps({os.path.dirname(r.final or r.target) for r in journal.files(info.id)})
                journal.set_state(info.id, DISCARDED)
            finally:
                lock.release(remove=True)
    except (JournalError, OSError) as exc:
        raise BatchError(str(exc)) from None
    return dataclasses.replace(info, state=DISCARDED)


def _being_resumed(batch_id: int) -> str:
    return _("batch {id} is being resumed by another Pixmill").format(id=batch_id)


def _sweep_temps(folders: set[str]) -> None:
    """The temp files a dead batch's workers left (its folders are locked by us now, so no
    live batch is writing temp files there)."""
    for folder in folders:
        sweep(folder)


def interrupted_batch() -> BatchInfo | None:
    """The most recent interrupted batch, for the window to offer; None if there is none or
    the journal cannot be read."""
    try:
        with Journal.open() as journal:
            return journal.latest_interrupted()
    except JournalError:
        return None


__all__ = [
    "INTERRUPTED",
    "BatchError",
    "BatchSession",
    "discard_batch",
    "interrupted_batch",
    "resume_batch",
    "start_batch",
]
