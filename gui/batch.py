"""BatchController: one batch's life for the window, from Start to the report.

Start plans on a background thread (pixmill.engine.plan: scan with the recipe in force, then
targets and collisions), then hands the jobs to the BatchRunner with the bridge's listener.
Pause, Resume and Cancel go straight to the runner; stopping the pool (which can block)
always runs off the GUI thread.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence

from PySide6.QtCore import QObject, Signal, Slot

from pixmill.engine.job import Plan
from pixmill.engine.plan import plan
from pixmill.engine.recipe import Recipe
from pixmill.engine.report import Report
from pixmill.engine.runner import BatchRunner

from .bridge import BackgroundTask, BatchBridge

#: What the window's batch is doing; decides which buttons and fields work.
IDLE, PREPARING, RUNNING, PAUSED, CANCELLING = (
    "idle",
    "preparing",
    "running",
    "paused",
    "cancelling",
)


def plan_batch(
    paths: Sequence[str], recipe: Recipe, output_dir: str | None, cancelled: Callable[[], bool]
) -> Plan:
    """Scan and plan (on a background thread); creates the output folder when there is work."""
    p = plan(paths, recipe, output_dir, cancel=cancelled)
    if output_dir and p.to_convert:
        os.makedirs(output_dir, exist_ok=True)
    return p


class BatchController(QObject):
    """Drives a BatchRunner for the window.

    Attributes:
        runner: the BatchRunner (its pool stays warm between batches).
        bridge: the BatchBridge that turns runner callbacks into GUI-thread signals.
        state: one of IDLE, PREPARING, RUNNING, PAUSED, CANCELLING (this module's).
        report: the last finished batch's Report, or None.
        output_dir: the last batch's output folder (None: next to each source).

    Signals:
        stateChanged(object): str, the new state.
        planned(object): engine.job.Plan, just before its jobs go to the runner.
        progressChanged(object): engine.events.Progress (coalesced by the bridge).
        resultsReady(object): list[dict], new result dicts (coalesced by the bridge).
        currentFile(object): str, a file a worker just started.
        finished(object): engine.report.Report, after every result was delivered.
        problem(object): str, why a Start did not lead to a batch.
        shutDown(object): None, once shutdown_async() has stopped the pool.
    """

    stateChanged = Signal(object)
    planned = Signal(object)
    progressChanged = Signal(object)
    resultsReady = Signal(object)
    currentFile = Signal(object)
    finished = Signal(object)
    problem = Signal(object)
    shutDown = Signal(object)

    def __init__(self, runner: BatchRunner, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.runner = runner
        self.bridge = BatchBridge(self)
        self.state = IDLE
        self.report: Report | None = None
        self.output_dir: str | None = None
        self._plan_task: BackgroundTask | None = None
        self._helpers: set[BackgroundTask] = set()
        self.bridge.progressChanged.connect(self.progressChanged)
        self.bridge.resultsReady.connect(self.resultsReady)
        self.bridge.currentFile.connect(self.currentFile)
        self.bridge.batchFinished.connect(self._on_finished)

    def _set_state(self, state: str) -> None:
        self.state = state
        self.stateChanged.emit(state)

    @property
    def busy(self) -> bool:
        return self.state != IDLE

    # --- start -----------------------------------------------------------------------------
    def start(
        self, paths: Sequence[str], recipe: Recipe, output_dir: str | None, workers: int
    ) -> bool:
        """Plan in the background, then run. Returns False if a batch is already going."""
        if self.busy:
            return False
        self.runner.workers = workers  # a new pool size takes effect with this batch
        self.output_dir = output_dir
        self.report = None
        paths = list(paths)
        task = BackgroundTask(
            lambda cancelled: plan_batch(paths, recipe, output_dir, cancelled), "plan", self
        )
        task.finished.connect(self._on_planned)
        task.failed.connect(self._on_plan_failed)
        task.cancelled.connect(self._on_plan_cancelled)
        self._plan_task = task
        self._set_state(PREPARING)
        task.start()
        return True

    @Slot(object)
    def _on_planned(self, p: Plan) -> None:
        self._forget_plan_task()
        if self.state != PREPARING:
            return
        if not p.to_convert and not p.jobs:
            self._set_state(IDLE)
            self.problem.emit("No images found in the sources.")
            return
        self.planned.emit(p)
        if self.runner.running:
            # The previous supervisor delivered its report and is just returning.
            self.runner.wait(5.0)
        try:
            self.runner.start(p.jobs, self.bridge.listener())
        except RuntimeError as exc:
            self._set_state(IDLE)
            self.problem.emit(f"Could not start: {exc}")
            return
        self._set_state(RUNNING)

    @Slot(object)
    def _on_plan_failed(self, exc: BaseException) -> None:
        self._forget_plan_task()
        self._set_state(IDLE)
        detail = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        where = f" ({exc.filename})" if isinstance(exc, OSError) and exc.filename else ""
        self.problem.emit(f"Could not prepare the batch: {detail}{where}")

    @Slot()
    def _on_plan_cancelled(self) -> None:
        self._forget_plan_task()
        self._set_state(IDLE)

    def _forget_plan_task(self) -> None:
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
        if self.state == PREPARING and self._plan_task is not None:
            self._plan_task.cancel()
        elif self.state in (RUNNING, PAUSED):
            self.runner.cancel()
            self._set_state(CANCELLING)

    @Slot(object)
    def _on_finished(self, report: Report) -> None:
        self.report = report
        self._set_state(IDLE)
        self.finished.emit(report)

    # --- the pool --------------------------------------------------------------------------
    def warm_up_async(self, workers: int) -> None:
        """Start the worker processes in the background so the first Start is quick."""
        if self.busy or self.runner.running:
            return
        self.runner.workers = workers
        self._helper(lambda cancelled: self.runner.warm_up(), "warm-up")

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
