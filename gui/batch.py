"""BatchController: one batch's life for the window, from Start (or resuming an interrupted
batch) to the report.

Start plans on a background thread (pixmill.engine.plan: scan with the recipe in force, then
targets and collisions) and records the batch in the journal (engine.session.start_batch:
the output folder's lock, the "only new or changed files" skips); resuming reads the journal
and the outputs on disk there too (engine.session.resume_batch). Either way the session's jobs
then go to the BatchRunner with the bridge's listener and the session as its journal.
Pause, Resume and Cancel go straight to the runner; stopping the pool (which can block)
always runs off the GUI thread. Estimate plans the same way and converts a sample in the
runner's pool (engine.estimate), as a state of its own so no batch starts meanwhile.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import time
from collections.abc import Callable, Collection, Sequence
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal, Slot

from pixmill.engine.estimate import Estimate, estimate
from pixmill.engine.i18n import _
from pixmill.engine.job import Plan
from pixmill.engine.journal import BatchInfo
from pixmill.engine.plan import plan
from pixmill.engine.recipe import Recipe
from pixmill.engine.report import Report
from pixmill.engine.runner import BatchRunner
from pixmill.engine.session import (
    BatchError,
    BatchSession,
    discard_batch,
    resume_batch,
    start_batch,
)

from .bridge import BackgroundTask, BatchBridge
from .collector import CollectorPacer
from .priority import WorkerPriority

log = logging.getLogger(__name__)

#: What the window's batch is doing; decides which buttons and fields work.
IDLE, PREPARING, RUNNING, PAUSED, CANCELLING, ESTIMATING = (
    "idle",
    "preparing",
    "running",
    "paused",
    "cancelling",
    "estimating",
)

#: What the journal records as the face that ran a batch.
ORIGIN = "window"
#: How long after Start the planning thread begins (ms): the window first repaints itself for
#: the batch (30-40 ms of the GUI thread on a slow machine). With the planner walking 100,000
#: files meanwhile, that repaint waited for the GIL at every call from Qt into Python and
#: took 80-175 ms.
PLAN_AFTER_MS = 40


def plan_batch(
    paths: Sequence[str],
    recipe: Recipe,
    output_dir: str | None,
    cancelled: Callable[[], bool],
    exclude: Collection[str] = (),
    progress: Callable[[int], None] | None = None,
) -> Plan:
    """Scan and plan (on a background thread); creates the output folder when there is work.
    exclude: image files taken out of the batch by hand (their jobs are dropped); progress:
    told the images found so far."""
    p = without(plan(paths, recipe, output_dir, cancel=cancelled, progress=progress), exclude)
    if output_dir and p.to_convert:
        os.makedirs(output_dir, exist_ok=True)
    return p


def without(p: Plan, exclude: Collection[str]) -> Plan:
    """p without the jobs of the files in exclude."""
    if not exclude:
        return p
    gone = set(exclude)
    return Plan([j for j in p.jobs if j.source not in gone], p.problems)


def estimate_batch(
    paths: Sequence[str],
    recipe: Recipe,
    output_dir: str | None,
    runner: BatchRunner,
    cancelled: Callable[[], bool],
    exclude: Collection[str] = (),
) -> Estimate:
    """Plan (creating nothing) and convert a sample in runner's pool (background thread)."""
    p = without(plan(paths, recipe, output_dir, cancel=cancelled), exclude)
    if cancelled():
        return Estimate(0, 0, 0, 0, 0, 0.0)
    if runner.running:
        runner.wait(5.0)  # the previous supervisor delivered its report and is returning
    return estimate(p.jobs, runner)


def sentence(text: str) -> str:
    """An engine message ("cannot open ...") as a sentence for the message bar."""
    text = text.strip()
    if not text:
        return text
    text = text[0].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else text + "."


class Preparation:
    """What the background half of Start or Resume made. The background thread fills it in
    as it goes, so a session that was opened is found (and closed) even when the task was
    cancelled and its return value dropped.

    Attributes:
        plan: the planned jobs and the inputs that could not be used.
        session: the journal session, None until start_batch or resume_batch returned (and
            for a plan without jobs).
        info: the journal's record of a batch being resumed (None for a new batch).
    """

    def __init__(self) -> None:
        self.plan = Plan()
        self.session: BatchSession | None = None
        self.info: BatchInfo | None = None
        self.found = 0  # images found so far while planning (written by the background thread)

    def start(
        self,
        paths: Sequence[str],
        recipe: Recipe,
        output_dir: str | None,
        update: bool,
        cancelled: Callable[[], bool],
        exclude: Collection[str] = (),
    ) -> Preparation:
        """Plan, then record the batch (background thread; raises BatchError)."""
        created = time.time()  # before planning: a source changed meanwhile counts as new
        self.plan = plan_batch(paths, recipe, output_dir, cancelled, exclude, self._found)
        if self.plan.jobs and not cancelled():
            self.session = start_batch(
                self.plan, recipe, paths, output_dir, ORIGIN, update=update, created=created
            )
        return self

    def _found(self, n: int) -> None:
        self.found = n

    def resume(self, batch_id: int, cancelled: Callable[[], bool]) -> Preparation:
        """Pick batch_id up from the journal (background thread; raises BatchError)."""
        self.session, self.info = resume_batch(batch_id, ORIGIN)
        self.plan = Plan(list(self.session.jobs))
        return self

    def close(self) -> None:
        """Give up the session (the batch never got to the runner)."""
        if self.session is not None:
            self.session.close()
            self.session = None


class BatchController(QObject):
    """Drives a BatchRunner for the window.

    Attributes:
        runner: the BatchRunner (its pool stays warm between batches).
        bridge: the BatchBridge that turns runner callbacks into GUI-thread signals.
        state: one of IDLE, PREPARING, RUNNING, PAUSED, CANCELLING, ESTIMATING (this
            module's).
        resuming: whether the batch being prepared or run is an interrupted one picked up.
        report: the last finished batch's Report, or None.
        output_dir: the last batch's output folder (None: next to each source).
        session: the running batch's engine.session.BatchSession, or None.

    Signals:
        stateChanged(object): str, the new state.
        resumed(object): engine.journal.BatchInfo, a batch picked up again, just before
            planned.
        planned(object): engine.job.Plan, just before its jobs go to the runner (with the
            files that are up to date already marked as skipped).
        progressChanged(object): engine.events.Progress (coalesced by the bridge).
        resultsReady(object): list[dict], new result dicts (coalesced by the bridge).
        currentFile(object): str, a file a worker just started.
        finished(object): engine.report.Report, after every result was delivered.
        problem(object): str, why a Start, a resume or a discard did not happen.
        warning(object): str, a sentence about the batch itself (mostly: the journal cannot
            be used, so the batch cannot be resumed); it still runs.
        discarded(object): engine.journal.BatchInfo, an interrupted batch given up.
        estimated(object): engine.estimate.Estimate, or None when the estimate was
            cancelled.
        estimateFailed(object): str, why an estimate could not be made.
        shutDown(object): None, once shutdown_async() has stopped the pool.
    """

    stateChanged = Signal(object)
    resumed = Signal(object)
    planned = Signal(object)
    progressChanged = Signal(object)
    resultsReady = Signal(object)
    currentFile = Signal(object)
    finished = Signal(object)
    problem = Signal(object)
    warning = Signal(object)
    discarded = Signal(object)
    estimated = Signal(object)
    estimateFailed = Signal(object)
    shutDown = Signal(object)

    # Emitted by the session from the runner's supervisor thread; delivered queued.
    _warned = Signal(object)

    def __init__(self, runner: BatchRunner, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.runner = runner
        self.bridge = BatchBridge(self)
        self.state = IDLE
        self.resuming = False
        self.report: Report | None = None
        self.output_dir: str | None = None
        self.session: BatchSession | None = None
        self._plan_task: BackgroundTask | None = None
        self._preparation: Preparation | None = None
        self._planning_held = False
        self._plan_due = False  # PLAN_AFTER_MS have passed; the plan task may start
        self._helpers: set[BackgroundTask] = set()
        #: Keeps garbage collections short, and the GIL's switch interval at 1 ms, while a
        #: batch's objects pile up and its threads hold the GIL in turns with this one
        #: (collector.py).
        self.collector = CollectorPacer(self)
        #: The pool's workers run at a lower priority than the window (priority.py).
        self.priority = WorkerPriority()
        #: engine.cluster.ClusterSpec of the Dask cluster the next batches run on (None: this
        #: computer's pool); previews and estimates always stay on this computer.
        self.cluster: Any = None
        self.bridge.progressChanged.connect(self._lower_workers)
        self.bridge.progressChanged.connect(self.progressChanged)
        self.bridge.resultsReady.connect(self.resultsReady)
        self.bridge.currentFile.connect(self.currentFile)
        self.bridge.batchFinished.connect(self._on_finished)
        self._warned.connect(self._on_warned)

    @Slot()
    def _lower_workers(self) -> None:
        """Workers started for this batch (or in place of one that died) yield to the window;
        at most as often as progress is shown. The window's child processes are its pool's
        workers (multiprocessing's own list: the runner's worker_pids() updates the pool's
        bookkeeping, which its supervisor thread reads meanwhile)."""
        self.priority.lower(p.pid for p in multiprocessing.active_children() if p.pid)

    def _set_state(self, state: str) -> None:
        self.state = state
        self.collector.hold("batch", state != IDLE)
        self.stateChanged.emit(state)

    @property
    def found(self) -> int:
        """Images found so far by the planning under way (0 when none is)."""
        prep = self._preparation
        return prep.found if prep is not None else 0

    @property
    def busy(self) -> bool:
        return self.state != IDLE

    # --- start -----------------------------------------------------------------------------
    def start(
        self,
        paths: Sequence[str],
        recipe: Recipe,
        output_dir: str | None,
        workers: int,
        update: bool = False,
        exclude: Collection[str] = (),
    ) -> bool:
        """Plan and record in the background, then run. update: only new or changed files
        (the rest are skipped as up to date); exclude: image files taken out of the batch.
        Returns False if a batch is already going."""
        if self.busy:
            return False
        paths, exclude = list(paths), set(exclude)
        prep = Preparation()
        return self._prepare(
            lambda cancelled: prep.start(paths, recipe, output_dir, update, cancelled, exclude),
            prep,
            workers,
            output_dir,
            resuming=False,
        )

    def resume(self, batch_id: int, workers: int) -> bool:
        """Pick an interrupted batch up again (its own files, recipe and output folder), then
        run it like any other. Returns False if a batch is already going."""
        if self.busy:
            return False
        prep = Preparation()
        return self._prepare(
            lambda cancelled: prep.resume(batch_id, cancelled), prep, workers, None, True
        )

    def _prepare(
        self,
        fn: Callable[[Callable[[], bool]], Preparation],
        prep: Preparation,
        workers: int,
        output_dir: str | None,
        resuming: bool,
    ) -> bool:
        self.runner.workers = workers  # a new pool size takes effect with this batch
        self.output_dir = output_dir
        self.resuming = resuming
        self.report = None
        task = BackgroundTask(fn, "resume" if resuming else "plan", self)
        task.finished.connect(self._on_prepared)
        task.failed.connect(self._on_prepare_failed)
        task.cancelled.connect(self._on_prepare_cancelled)
        self._plan_task, self._preparation = task, prep
        self._plan_due = False
        self._set_state(PREPARING)
        # A cancel meanwhile is seen by the task as soon as it starts (it then ends at once).
        QTimer.singleShot(PLAN_AFTER_MS, task, self._plan_after_repaint)
        return True

    def hold_planning(self, held: bool) -> None:
        """While held (the window's sources are still being counted), a batch started
        meanwhile waits to be planned. The count and the planner walk the same folders in
        pure Python: run together they wanted the GIL at the same time as the GUI thread,
        which CPython does not hand over fairly (at Start the window waited 50 ms for it).
        One after the other they take no longer, as only one of them can hold the GIL at a
        time, and the planner then finds the folders in the system's cache. Planning starts
        PLAN_AFTER_MS after Start and after the count's end, whichever comes last."""
        self._planning_held = held
        if not held and self._plan_due and self._plan_task is not None:
            # The window first shows what the count found (100,000 rows: 20-40 ms of the
            # GUI thread here), as at Start.
            self._plan_due = False
            QTimer.singleShot(PLAN_AFTER_MS, self._plan_task, self._plan_after_repaint)

    @Slot()
    def _plan_after_repaint(self) -> None:
        self._plan_due = True
        self._start_planning()

    def _start_planning(self) -> None:
        task = self._plan_task
        if task is None or not self._plan_due or self.state != PREPARING:
            return
        if self._planning_held and not task.cancel_requested:
            return  # hold_planning(False) starts it; a cancel starts it to end at once
        self._plan_due = False
        task.start()

    @Slot(object)
    def _on_prepared(self, prep: Preparation) -> None:
        self._forget_plan_task()
        session = prep.session
        if self.state != PREPARING or session is None:
            prep.close()
            if self.state == PREPARING:
                self._set_state(IDLE)
                self.problem.emit(_("No images found in the sources."))
            return
        if prep.info is not None:
            self.output_dir = prep.info.output
            self.resumed.emit(prep.info)
        self.planned.emit(Plan(session.jobs, prep.plan.problems))
        if session.warnings:  # one message: the bar shows one at a time
            self.warning.emit(" ".join(sentence(text) for text in session.warnings))
        session.warn = self._warn_from_any_thread  # from here on: the supervisor's thread
        if self.runner.running:
            # The previous supervisor delivered its report and is just returning.
            self.runner.wait(5.0)
        try:
            self.runner.use_cluster(self.cluster)
            self.runner.start(
                session.jobs, self.bridge.listener(), done=session.done, journal=session
            )
        except Exception as exc:  # noqa: BLE001 - a runner still busy, no Dask, no scheduler
            self._back_home()
            prep.close()
            self._set_state(IDLE)
            self.problem.emit(_("Could not start: {error}").format(error=exc))
            return
        self.session = session
        self._set_state(RUNNING)

    @Slot(object)
    def _on_prepare_failed(self, exc: BaseException) -> None:
        self._close_preparation()
        self._forget_plan_task()
        self._set_state(IDLE)
        if isinstance(exc, BatchError):
            text = _("Could not resume: {error}").format(error=exc) if self.resuming else str(exc)
            self.problem.emit(sentence(text))
            return
        detail = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        if isinstance(exc, OSError) and exc.filename:
            text = _("Could not prepare the batch: {error} ({path})").format(
                error=detail, path=exc.filename
            )
        else:
            text = _("Could not prepare the batch: {error}").format(error=detail)
        self.problem.emit(text)

    @Slot()
    def _on_prepare_cancelled(self) -> None:
        self._close_preparation()
        self._forget_plan_task()
        self._set_state(IDLE)

    def _close_preparation(self) -> None:
        if self._preparation is not None:
            self._preparation.close()

    def _forget_plan_task(self) -> None:
        self._preparation = None
        if self._plan_task is not None:
            self._plan_task.deleteLater()
            self._plan_task = None

    # --- while running ---------------------------------------------------------------------
    @Slot()
    def toggle_pause(self) -> None:
        if self.state == RUNNING:
            self.runner.pause()
            self._set_state(PAUSED)
        elif self.state == PAUSED:
            self.runner.resume()
            self._set_state(RUNNING)

    @Slot()
    def cancel(self) -> None:
        """Stop at once: no new file starts; running ones are stopped and their temp files
        swept by the runner's supervisor (never on this thread)."""
        if self.state in (PREPARING, ESTIMATING) and self._plan_task is not None:
            self._plan_task.cancel()
            self._start_planning()  # a plan held back starts, sees the cancel and ends
            if self.state == ESTIMATING:
                self.runner.cancel()  # the sample's batch, if it started
        elif self.state in (RUNNING, PAUSED):
            self.runner.cancel()
            self._set_state(CANCELLING)

    def _warn_from_any_thread(self, text: str) -> None:
        try:
            self._warned.emit(text)
        except RuntimeError:  # the window (and this controller) is already gone
            pass

    @Slot(object)
    def _on_warned(self, text: str) -> None:
        self.warning.emit(sentence(text))

    @Slot(object)
    def _on_finished(self, report: Report) -> None:
        if self.session is not None:
            self.session.close()  # the session ended itself with the batch; this is a no-op
            self.session = None
        self._back_home()
        self.report = report
        self._set_state(IDLE)
        self.finished.emit(report)

    def _back_home(self) -> None:
        """After a batch on a cluster, the runner returns to this computer's pool (previews
        and estimates write into local scratch folders that no cluster worker sees)."""
        if getattr(self.runner, "cluster", None) is None:
            return
        if self.runner.running:
            self.runner.wait(5.0)  # the batch delivered its report and is just returning
        try:
            self.runner.use_cluster(None)
        except RuntimeError:
            log.warning("the runner stayed on the cluster: it was still busy")

    # --- estimate --------------------------------------------------------------------------
    def estimate(
        self,
        paths: Sequence[str],
        recipe: Recipe,
        output_dir: str | None,
        workers: int,
        exclude: Collection[str] = (),
    ) -> bool:
        """Plan and convert a sample in the background; emits estimated or estimateFailed.
        The state is ESTIMATING meanwhile (the sample runs on this runner, so no batch may).
        Returns False if a batch is going."""
        if self.busy:
            return False
        paths, exclude = list(paths), set(exclude)
        self.runner.workers = workers
        runner = self.runner
        task = BackgroundTask(
            lambda cancelled: estimate_batch(paths, recipe, output_dir, runner, cancelled, exclude),
            "estimate",
            self,
        )
        task.finished.connect(self._on_estimated)
        task.failed.connect(self._on_estimate_failed)
        task.cancelled.connect(self._on_estimated)
        self._plan_task = task
        self._set_state(ESTIMATING)
        task.start()
        return True

    @Slot(object)
    def _on_estimated(self, result: Estimate | None) -> None:
        self._forget_plan_task()
        self._set_state(IDLE)
        self.estimated.emit(result)

    @Slot(object)
    def _on_estimate_failed(self, exc: BaseException) -> None:
        self._forget_plan_task()
        self._set_state(IDLE)
        detail = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        self.estimateFailed.emit(sentence(_("Could not estimate: {error}").format(error=detail)))

    # --- the journal -----------------------------------------------------------------------
    def discard(self, batch_id: int) -> None:
        """Give an interrupted batch up (in the background: its temp files are swept);
        emits discarded, or problem."""
        task = self._helper(lambda cancelled: discard_batch(batch_id), "discard")
        task.finished.connect(self.discarded)
        task.failed.connect(self._on_discard_failed)

    @Slot(object)
    def _on_discard_failed(self, exc: BaseException) -> None:
        self.problem.emit(sentence(_("Could not discard the batch: {error}").format(error=exc)))

    # --- the pool --------------------------------------------------------------------------
    def warm_up_async(self, workers: int) -> None:
        """Start the worker processes in the background so the first Start is quick."""
        if self.busy or self.runner.running:
            return
        self.runner.workers = workers
        task = self._helper(lambda cancelled: self.runner.warm_up(), "warm-up")
        task.finished.connect(self._lower_workers)

    def shutdown(self) -> None:
        """Cancel whatever runs and stop the pool, blocking (never while the event loop
        runs: use shutdown_async() there)."""
        self.runner.shutdown()

    def shutdown_async(self) -> None:
        """Cancel whatever runs and stop the pool on a background thread; emits shutDown."""
        self.cancel()
        task = self._helper(lambda cancelled: self.runner.shutdown(), "shutdown")
        task.finished.connect(self.shutDown)
        task.failed.connect(self.shutDown)

    def _helper(self, fn: Callable[[Callable[[], bool]], object], name: str) -> BackgroundTask:
        task = BackgroundTask(fn, name, self)
        self._helpers.add(task)
        for signal in (task.finished, task.failed, task.cancelled):
            signal.connect(self._forget_helpers)
        task.start()
        return task

    @Slot()
    def _forget_helpers(self) -> None:
        for task in [t for t in self._helpers if not t.running]:
            self._helpers.discard(task)
            task.deleteLater()
