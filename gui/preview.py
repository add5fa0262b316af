"""PreviewController: the recipe's output for one file, made by the engine's convert_one in the
window's warm pool (a one-file batch on the BatchRunner, into a scratch folder), then the
source and the output decoded for display on a background thread.

One preview runs at a time. A recipe change is followed within DEBOUNCE_MS; a change of file
cancels what was asked before: a request not yet in the pool is dropped, and a conversion
already in a worker is abandoned (its result is thrown away when it comes back; stopping a
worker mid-file would cost a worker restart, longer than the file). While a batch or an
estimate has the runner, previews wait.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QObject, QRect, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QImage

from pixmill.engine.events import BatchListener
from pixmill.engine.i18n import N_, _
from pixmill.engine.preview import PreviewOutcome, Scratch, describe, load_picture, preview_job
from pixmill.engine.recipe import Recipe
from pixmill.engine.report import Report
from pixmill.engine.runner import BatchRunner

from .bridge import BackgroundTask

#: How soon after the last recipe change the preview is made again (milliseconds).
DEBOUNCE_MS = 300
#: A change of file waits this long, so arrowing down a list does not start every file.
SELECT_MS = 60
#: What the preview says while a batch or an estimate has the pool.
HELD = N_("The preview is made once the batch (or the estimate) is over.")


@dataclass(frozen=True)
class Pictures:
    """A finished preview: the source (cropped to the output's shape, at the output's pixel
    size) and the output, both upright QImages of the same size, and the info line."""

    source: str
    original: QImage
    output: QImage
    outcome: PreviewOutcome
    serial: int = 0


@dataclass
class _Request:
    serial: int
    source: str
    recipe: Recipe
    abandoned: bool = False


def to_qimage(picture: Any) -> QImage:
    """A Pillow RGB or RGBA image as a QImage that owns its pixels."""
    fmt = QImage.Format.Format_RGBA8888 if picture.mode == "RGBA" else QImage.Format.Format_RGB888
    data = picture.tobytes()
    depth = 4 if picture.mode == "RGBA" else 3
    return QImage(data, picture.width, picture.height, picture.width * depth, fmt).copy()


def pictures_for(source: str, outcome: PreviewOutcome, orient: bool, serial: int = 0) -> Pictures:
    """Decode source and the preview output for display (background thread)."""
    assert outcome.target is not None
    output = to_qimage(load_picture(outcome.target, orient=False))
    w, h = output.width(), output.height()
    original = to_qimage(load_picture(source, orient=orient, at_least=(w, h)))
    ow, oh = original.width(), original.height()
    if ow * h != oh * w:  # the recipe cropped (fill): show the same centre crop
        if ow * h > oh * w:
            cw, ch = max(1, round(oh * w / h)), oh
        else:
            cw, ch = ow, max(1, round(ow * h / w))
        original = original.copy(QRect((ow - cw) // 2, (oh - ch) // 2, cw, ch))
    if (original.width(), original.height()) != (w, h):
        original = original.scaled(
            w, h, Qt.AspectRatioMode.IgnoreAspectRatio, Qt.TransformationMode.SmoothTransformation
        )
    return Pictures(source, original, output, outcome, serial)


class PreviewController(QObject):
    """Makes previews on a BatchRunner.

    Attributes:
        source: the file being previewed (None: nothing chosen).
        recipe: the recipe previews are made with (None: the form holds something unusable).

    Signals:
        started(object): (serial, source), a preview job went to the pool.
        cancelled(object): (serial, source), a job given up because the file changed.
        stale(object): str, why the preview shown no longer matches (it is being redone).
        described(object): engine.preview.PreviewOutcome, the output's info line, as soon
            as the job is done.
        ready(object): Pictures, once both pictures are decoded.
        failed(object): str, why there is no preview.
    """

    started = Signal(object)
    cancelled = Signal(object)
    stale = Signal(object)
    described = Signal(object)
    ready = Signal(object)
    failed = Signal(object)

    _jobFinished = Signal(object)
    _batchFinished = Signal(object)

    def __init__(self, runner: BatchRunner, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.runner = runner
        self.source: str | None = None
        self.recipe: Recipe | None = None
        self._serial = 0
        self._running: _Request | None = None
        self._wanted = False  # the shown preview is out of date and none is on its way
        self._held = False
        self._scratch: Scratch | None = None
        self._decoding: BackgroundTask | None = None
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._launch)
        self._jobFinished.connect(self._on_job_finished)
        self._batchFinished.connect(self._on_batch_finished)

    # --- what the window asks --------------------------------------------------------------
    def show_file(self, source: str | None) -> None:
        """Preview source (None: nothing); cancels the preview of the file before."""
        if source == self.source:
            return
        self.source = source
        running = self._running
        if running is not None and running.source != source and not running.abandoned:
            running.abandoned = True
            self.cancelled.emit((running.serial, running.source))
        self._cancel_decoding()
        self._request(SELECT_MS, _("Making the preview…"))

    def set_recipe(self, recipe: Recipe | None) -> None:
        """Redo the preview with recipe, DEBOUNCE_MS after the last change."""
        if recipe == self.recipe:
            return
        self.recipe = recipe
        if recipe is None:
            self.stale.emit(_("The recipe cannot be used: see the highlighted field."))
            return
        self._request(DEBOUNCE_MS, _("The recipe changed: updating the preview…"))

    def hold(self, on: bool) -> None:
        """Hold previews while the runner does something else (a batch, an estimate)."""
        self._held = on
        if on:
            self._timer.stop()
            if self._wanted:
                self.stale.emit(_(HELD))
        elif self._wanted:
            self._timer.start(0)

    def close(self) -> None:
        """Forget everything and remove the scratch folder."""
        self._timer.stop()
        self.source = None
        self._cancel_decoding()
        if self._scratch is not None:
            self._scratch.close()
            self._scratch = None

    @property
    def busy(self) -> bool:
        """A preview is being made (a job in the pool, waiting for one, or decoding)."""
        return self._wanted or self._running is not None or self._decoding is not None

    # --- running ---------------------------------------------------------------------------
    def _request(self, delay_ms: int, why: str) -> None:
        if self.source is None or self.recipe is None:
            self._timer.stop()
            self._wanted = False
            return
        self._wanted = True
        self.stale.emit(_(HELD) if self._held else why)
        if not self._held:
            self._timer.start(delay_ms)

    @Slot()
    def _launch(self) -> None:
        if not self._wanted or self._held or self.source is None or self.recipe is None:
            return
        if self._running is not None:
            return  # goes as soon as the job in the pool is back
        if self.runner.running:  # an estimate's or a batch's last moments
            self._timer.start(50)
            return
        if self._scratch is None:
            self._scratch = Scratch()
        self._cancel_decoding()  # pictures of an older job are not wanted any more
        self._serial += 1
        request = _Request(self._serial, self.source, self.recipe)
        job = preview_job(request.source, request.recipe, self._scratch.folder, request.serial)
        try:
            self.runner.start([job], _Relay(self))
        except RuntimeError:  # the runner was taken between the check and the start
            self._timer.start(50)
            return
        self._wanted = False
        self._running = request
        self.started.emit((request.serial, request.source))

    @Slot(object)
    def _on_job_finished(self, result: dict[str, Any]) -> None:
        request = self._running
        if request is None or result.get("index") != request.serial:
            return
        current = request.source == self.source and request.recipe == self.recipe
        if not current or self._wanted:
            _remove(result.get("target"))
            return
        outcome = describe(result, request.recipe)
        if not outcome.ok:
            self.failed.emit(outcome.text)
            return
        self.described.emit(outcome)
        orient, serial = request.recipe.auto_orient, request.serial
        task = BackgroundTask(
            lambda cancelled: pictures_for(request.source, outcome, orient, serial),
            "preview",
            self,
        )
        task.finished.connect(self._on_decoded)
        task.failed.connect(self._on_decode_failed)
        task.cancelled.connect(self._on_decode_cancelled)
        self._decoding = task
        task.start()

    @Slot(object)
    def _on_batch_finished(self, report: Report) -> None:
        self._running = None
        if self._wanted and not self._held:
            self._timer.start(0)

    @Slot(object)
    def _on_decoded(self, pictures: Pictures) -> None:
        self._forget_decoding()
        _remove(pictures.outcome.target)
        # Only the newest job's pictures, and only while nothing newer is asked for: a
        # recipe changed while these were decoded makes them stale already.
        if pictures.serial == self._serial and not self._wanted:
            self.ready.emit(pictures)

    @Slot(object)
    def _on_decode_failed(self, exc: BaseException) -> None:
        self._forget_decoding()
        self.failed.emit(_("Cannot show the preview: {error}").format(error=exc))

    @Slot()
    def _on_decode_cancelled(self) -> None:
        self._forget_decoding()

    def _cancel_decoding(self) -> None:
        if self._decoding is not None:
            self._decoding.cancel()

    def _forget_decoding(self) -> None:
        """The task that just reported is done (an older, cancelled one may report after
        a newer one started: only the newest is the one running)."""
        task = self.sender()
        if task is self._decoding:
            self._decoding = None
        if isinstance(task, BackgroundTask):
            task.deleteLater()


def _remove(path: str | None) -> None:
    if path:
        try:
            os.unlink(path)
        except OSError:
            pass


class _Relay(BatchListener):
    """The runner-side half: emits only (the supervisor's thread calls it)."""

    def __init__(self, controller: PreviewController) -> None:
        self._controller = controller

    def job_finished(self, result: dict[str, Any]) -> None:
        try:
            self._controller._jobFinished.emit(result)
        except RuntimeError:  # the window is gone
            pass

    def batch_finished(self, report: Report) -> None:
        try:
            self._controller._batchFinished.emit(report)
        except RuntimeError:
            pass
