"""The main window: sources and output beside the recipe; below them the batch controls, the
queued images and the before/after preview or the results (window_layout). Files and folders
dropped anywhere on it are queued.

Everything a user can do is also a method (add_paths, start, estimate, toggle_pause, cancel,
offer_resume, resume_batch, set_preferences, show_preview, and results.save_report), so tests
and scripts
drive the same code paths as clicks and drops.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from pathlib import Path

from PySide6.QtCore import QSettings, Qt, QTimer, Signal, Slot
from PySide6.QtGui import (
    QCloseEvent,
    QDragEnterEvent,
    QDragLeaveEvent,
    QDragMoveEvent,
    QDropEvent,
    QGuiApplication,
    QShowEvent,
)
from PySide6.QtWidgets import QFileDialog, QMainWindow, QMessageBox

from pixmill.engine.codecs import IMAGE_EXTENSIONS
from pixmill.engine.events import Progress
from pixmill.engine.i18n import N_, _, ngettext, pgettext
from pixmill.engine.job import Plan
from pixmill.engine.journal import BatchInfo
from pixmill.engine.plan import scan_options
from pixmill.engine.presets import PresetStore
from pixmill.engine.recipe import Recipe, RecipeError
from pixmill.engine.report import Report, summary_text
from pixmill.engine.runner import BatchRunner
from pixmill.engine.scan import ScanOptions
from pixmill.engine.session import interrupted_batch

from . import formatting, resume, theme, window_layout
from .actions import build_actions, show_about
from .batch import CANCELLING, ESTIMATING, IDLE, PAUSED, PREPARING, RUNNING, BatchController
from .drop import DropTarget
from .icon import app_icon
from .message_bar import WARNING, MessageBar
from .notify import Notifier
from .output_panel import OutputPanel
from .preferences import PreferencesDialog
from .preview import PreviewController
from .recipe_panel import RecipePanel
from .results_panel import ResultsPanel
from .run_bar import RunBar
from .settings import Preferences, WindowSettings, default_settings
from .sources import SourcesPanel

APP_NAME = "Pixmill"
MIN_SIZE = window_layout.MIN_SIZE
IDLE_HINT = N_("Drop folders or images anywhere on this window to add them.")
#: When a batch starts, the recipe and output settings are greyed out this much later (ms).
#: That repaint covers half the window (6-12 ms of the GUI thread here): in a turn of the
#: event loop of its own, it does not add to the rest of the window's change for Start.
PANELS_AFTER_MS = 15


class MainWindow(QMainWindow):
    """Pixmill's window.

    Attributes:
        batch: the BatchController (with .runner and .bridge).
        commands: the WindowActions (menu entries and shortcuts).
        sources, recipePanel, output, runBar, results, messageBar: the parts of the window;
            queuePanel (sources.queueView), previewPanel, workTabs: the images, the preview
            and the results below them.
        preview: the PreviewController (the recipe's output of the chosen file).

    Signals:
        batchFinished(object): engine.report.Report, after the window has shown it.
    """

    batchFinished = Signal(object)

    def __init__(
        self,
        runner: BatchRunner | None = None,
        settings: QSettings | None = None,
        presets_dir: Path | None = None,
        warm_pool: bool = True,
    ) -> None:
        super().__init__()
        self.setObjectName("mainWindow")
        self.setWindowTitle(APP_NAME)
        self.setWindowIcon(app_icon())
        self.settings = WindowSettings(settings if settings is not None else default_settings())
        self.batch = BatchController(runner or BatchRunner(), self)
        self.notifier = Notifier(self)
        self._warm_pool = warm_pool
        self._close_requested = False
        self._skip_confirm = False
        self._shut = False
        self._offered = False
        self._last_progress: Progress | None = None
        self._preparing = QTimer(self)  # the status line counts the seconds of planning
        self._preparing.setInterval(250)
        self._preparing.timeout.connect(self._show_preparing)
        self._preparing_since = 0.0
        self._estimated: Recipe | None = None  # the form's recipe the estimate shown is of

        self.sources = SourcesPanel()
        self.sources.set_scan_options(self._scan_options)
        self.output = OutputPanel()
        self.recipePanel = RecipePanel(PresetStore(presets_dir))
        self.runBar = RunBar()
        self.results = ResultsPanel()
        self.messageBar = MessageBar()
        self.preview = PreviewController(self.batch.runner, self)
        window_layout.build(self)
        self.commands = build_actions(
            self,
            {
                "addFolder": self.ask_add_folder,
                "addFiles": self.ask_add_files,
                "saveReport": self.results.ask_save_report,
                "openOutput": self.results.open_output_folder,
                "quit": self.close,
                "start": self.start,
                "pause": self.toggle_pause,
                "cancel": self.escape,
                "savePreset": self.recipePanel.presets.ask_save,
                "importPreset": self.recipePanel.presets.ask_import,
                "preferences": self.ask_preferences,
                "about": self._about,
            },
        )
        self.sections = window_layout.add_view_menu(self)
        self.dropTarget = DropTarget(self, self.centralWidget())
        self._connect()
        self.restore_state()
        self.statusBar().showMessage(_(IDLE_HINT))
        self._set_state(IDLE)

    # --- construction ----------------------------------------------------------------------
    def default_splitter_sizes(self) -> None:
        """The recipe fully shown, the preview and results taking the rest."""
        window_layout.default_sizes(self)

    def _connect(self) -> None:
        self.dropTarget.dropped.connect(self._dropped)
        self.sources.addFolderButton.clicked.connect(self.ask_add_folder)
        self.sources.addFilesButton.clicked.connect(self.ask_add_files)
        self.sources.changed.connect(self._sources_changed)
        self.sources.notice.connect(self.show_notice)
        self.sources.scanningChanged.connect(self._scanning_changed)
        self.sources.scanningChanged.connect(self.batch.hold_planning)
        self.sources.exampleChanged.connect(self.recipePanel.set_example_source)
        self.recipePanel.notice.connect(self.show_notice)
        # Counts depend on recursion and on which output folders a scan skips.
        self.recipePanel.namingEditor.recursiveCheck.toggled.connect(self.sources.rescan)
        self.output.nextToSourceRadio.toggled.connect(self.sources.rescan)
        self.runBar.startButton.clicked.connect(self.start)
        self.output.estimateButton.clicked.connect(self.estimate)
        self.recipePanel.recipeChanged.connect(self._recipe_changed)
        self.sources.changed.connect(self.output.clear_estimate)
        self.runBar.pauseButton.clicked.connect(self.toggle_pause)
        self.runBar.cancelButton.clicked.connect(self.cancel)
        self.results.notice.connect(self.show_notice)
        b = self.batch
        b.stateChanged.connect(self._set_state)
        b.planned.connect(self._planned)
        b.progressChanged.connect(self._show_progress)
        b.resultsReady.connect(self.results.queue_results)
        b.currentFile.connect(self._show_current_file)
        b.finished.connect(self._finished)
        b.problem.connect(self._show_problem)
        b.warning.connect(self._show_warning)
        b.resumed.connect(self._load_batch)
        b.discarded.connect(lambda info: self.show_notice(resume.discarded_text(info)))
        b.estimated.connect(lambda e: self.output.show_estimate(e.describe() if e else ""))
        b.estimateFailed.connect(self.output.show_estimate)
        b.shutDown.connect(self._shut_down)
        self.sources.queueView.fileChosen.connect(self.show_preview)
        self.results.previewRequested.connect(self.show_preview)
        p, panel = self.preview, self.previewPanel
        p.stale.connect(panel.show_stale)
        p.described.connect(panel.show_info)
        p.ready.connect(panel.show_pictures)
        p.failed.connect(panel.show_failure)

    def _scan_options(self) -> ScanOptions:
        """What counting the sources skips: the same rule the batch's own scan follows."""
        recursive = self.recipePanel.namingEditor.recursiveCheck.isChecked()
        return scan_options(recursive, self.output.output_dir())

    # --- what the window remembers ---------------------------------------------------------
    def restore_state(self) -> None:
        """Put back the recipe, output, pool size, geometry and splitters of the last run."""
        s = self.settings
        recipe = s.recipe()
        if recipe is not None:
            self.recipePanel.set_recipe(recipe)
        self.output.set_output(s.output_folder(), s.next_to_source())
        self.output.set_workers(s.workers(self.output.cpus))
        self.output.set_update_only(s.update_only())
        self.output.set_start_dir(s.last_dir("sources") or str(Path.home()))
        self.results.report_dir = s.last_dir("reports")
        theme.apply_scheme(self.preferences().color_scheme)
        for key, action in self.sections.items():
            action.setChecked(s.shown(key))
        geometry = s.geometry()
        if geometry is None or not self.restoreGeometry(geometry):
            screen = QGuiApplication.primaryScreen().availableGeometry()
            self.resize(min(1280, screen.width()), min(800, screen.height()))
        self.default_splitter_sizes()
        for name in ("work", "main"):
            state = s.splitter(name)
            if state is not None:
                getattr(self, f"{name}Splitter").restoreState(state)

    def save_state(self) -> None:
        """Store what restore_state() puts back."""
        s = self.settings
        try:
            s.set_recipe(self.recipePanel.recipe())
        except RecipeError:
            pass  # keep the last usable recipe
        s.set_output(self.output.folder_text(), self.output.output_dir() is None)
        s.set_workers(self.output.workers())
        s.set_update_only(self.output.update_only())
        s.set_last_dir("reports", self.results.report_dir)
        s.set_geometry(self.saveGeometry())
        for name in ("work", "main"):
            s.set_splitter(name, getattr(self, f"{name}Splitter").saveState())
        for key, action in self.sections.items():
            s.set_shown(key, action.isChecked())
        s.sync()

    # --- preferences -----------------------------------------------------------------------
    def preferences(self) -> Preferences:
        """The preferences the next batch runs with."""
        return self.settings.preferences()

    @Slot(object)
    def set_preferences(self, preferences: Preferences) -> None:
        """Keep new preferences (the colours apply at once, the rest from the next Start)."""
        self.settings.set_preferences(preferences)
        self.settings.sync()
        theme.apply_scheme(preferences.color_scheme)
        self._recipe_changed(self._form_recipe())

    @Slot()
    def ask_preferences(self) -> PreferencesDialog:
        """Open the Preferences dialog (window-modal); OK keeps what it shows."""
        dialog = PreferencesDialog(self.preferences(), self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.preferencesChosen.connect(self.set_preferences)
        dialog.layout().activate()  # settle its size before the native window exists
        dialog.open()
        return dialog

    # --- adding sources --------------------------------------------------------------------
    def add_paths(self, paths: Iterable[str | os.PathLike[str]]) -> list[str]:
        """Queue folders and image files: what a drop, the Add buttons and `pixmill PATH...`
        all do. Returns the paths that were queued."""
        added = self.sources.add_paths(os.fspath(p) for p in paths)
        if added:
            self.settings.set_last_dir("sources", os.path.dirname(added[-1]))
        return added

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        self.dropTarget.enter(event)

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:
        self.dropTarget.move(event)

    def dragLeaveEvent(self, event: QDragLeaveEvent) -> None:
        self.dropTarget.leave()

    def dropEvent(self, event: QDropEvent) -> None:
        self.dropTarget.drop(event)

    @Slot(object)
    def _dropped(self, paths: list[str]) -> None:
        self.add_paths(paths)
        self.activateWindow()

    @Slot()
    def ask_add_folder(self) -> None:
        start = self.settings.last_dir("sources") or str(Path.home())
        folder = QFileDialog.getExistingDirectory(self, _("Add folder"), start)
        if folder:
            self.add_paths([folder])

    @Slot()
    def ask_add_files(self) -> None:
        start = self.settings.last_dir("sources") or str(Path.home())
        patterns = " ".join(f"*{e}" for e in sorted(IMAGE_EXTENSIONS))
        files, _chosen = QFileDialog.getOpenFileNames(
            self,
            _("Add images"),
            start,
            _("Images ({patterns});;All files (*)").format(patterns=patterns),
        )
        if files:
            self.add_paths(files)

    @Slot(object)
    def _scanning_changed(self, scanning: bool) -> None:
        """Counting 100,000 files makes objects as fast as a batch: keep collections short."""
        self.batch.collector.hold("scan", scanning)

    @Slot(object)
    def _sources_changed(self, paths: list[str]) -> None:
        self._set_state(self.batch.state)
        if paths and self._warm_pool:
            self._warm_pool = False  # once: the pool then stays warm between batches
            self.batch.warm_up_async(self.output.workers())

    # --- the batch -------------------------------------------------------------------------
    @Slot()
    def start(self) -> bool:
        """Check the settings and start converting; False (with a message) if it cannot."""
        if self.batch.busy:
            return False
        paths = self.sources.paths()
        if not paths:
            self.show_notice(_("Add folders or images first: drop them here or press Ctrl+O."))
            return False
        prefs = self.preferences()
        try:
            recipe = prefs.apply(self.recipePanel.recipe())
        except RecipeError as exc:
            self._show_problem(_("The recipe cannot be used: {error}").format(error=exc))
            return False
        try:
            self.batch.cluster = prefs.cluster()  # None: this computer
        except Exception as exc:  # noqa: BLE001 - engine.cluster.ClusterError: a bad path map
            self._show_problem(_("The cluster settings cannot be used: {error}").format(error=exc))
            return False
        problem = self.output.problem()
        if problem:
            self._show_problem(problem)
            self.output.outputDirEdit.setFocus()
            return False
        self.messageBar.dismiss()
        self.save_state()
        self.results.clear()
        self.workTabs.setCurrentWidget(self.results)
        self._last_progress = None
        output = self.output
        return self.batch.start(
            paths,
            recipe,
            output.output_dir(),
            output.workers(),
            output.update_only(),
            self.sources.excluded(),
        )

    @Slot()
    def estimate(self) -> bool:
        """Convert a sample of the queued images with the current recipe to estimate the
        batch; the output section shows the outcome. False (and why) if it cannot start."""
        paths = self.sources.paths()
        if self.batch.busy or not paths:
            return False
        try:
            self._estimated = self.recipePanel.recipe()
        except RecipeError as exc:
            self._estimated = None
            self.output.show_estimate(_("The recipe cannot be used: {error}").format(error=exc))
            return False
        recipe = self.preferences().apply(self._estimated)
        folder = None if self.output.problem() else self.output.output_dir()  # names only
        self.output.show_estimate(_("Estimating…"))
        workers = self.output.workers()
        return self.batch.estimate(paths, recipe, folder, workers, self.sources.excluded())

    @Slot(object)
    def _recipe_changed(self, recipe: Recipe | None) -> None:
        """An estimate of other settings no longer holds (the panel also re-emits an
        unchanged recipe, when its naming example changes); the preview follows."""
        if recipe != self._estimated:
            self.output.clear_estimate()
        self.preview.set_recipe(self.preferences().apply(recipe) if recipe is not None else None)

    def _form_recipe(self) -> Recipe | None:
        try:
            return self.recipePanel.recipe()
        except RecipeError:
            return None

    @Slot(object)
    def show_preview(self, path: str | None) -> None:
        """Preview path (an image file) with the recipe of the form, in the Preview tab."""
        if self.preview.recipe is None:
            self._recipe_changed(self._form_recipe())
        self.preview.show_file(path)
        if path:
            self.workTabs.setCurrentWidget(self.previewPanel)

    @Slot()
    def toggle_pause(self) -> None:
        self.batch.toggle_pause()

    @Slot()
    def cancel(self) -> None:
        self.batch.cancel()

    @Slot()
    def escape(self) -> None:
        """Escape cancels the batch, or else the counting of the sources."""
        if self.batch.busy:
            self.cancel()
        elif self.sources.is_scanning():
            self.sources.cancel_scans()

    @Slot()
    def _lock_settings(self) -> None:
        """The recipe and the output settings cannot change while a batch is under way."""
        busy = self.batch.busy
        self.recipePanel.setEnabled(not busy)
        self.output.setEnabled(not busy)

    @Slot(object)
    def _set_state(self, state: str) -> None:
        can_start = bool(self.sources.paths())
        self.runBar.set_state(state, can_start)
        busy = state != IDLE
        self.preview.hold(busy)
        if busy:  # greyed out a turn of the event loop later: see PANELS_AFTER_MS
            QTimer.singleShot(PANELS_AFTER_MS, self, self._lock_settings)
        else:
            self._lock_settings()
        self.commands.start.setEnabled(not busy and can_start)
        self.output.estimateButton.setEnabled(not busy and can_start)
        self.commands.pause.setEnabled(state in (RUNNING, PAUSED))
        messages = {
            PREPARING: _("Looking for images and planning the outputs…"),
            CANCELLING: _("Cancelling…"),
            PAUSED: _("Paused: files already started finish, no new file starts."),
        }
        if state == PREPARING and self.batch.resuming:
            messages[PREPARING] = _(resume.CHECKING)
        if state in messages:
            self.statusBar().showMessage(messages[state])
        if state == PREPARING and not self._preparing.isActive():
            self._preparing_since = time.monotonic()
            self._preparing.start()
            self._show_preparing()
        elif state != PREPARING:
            self._preparing.stop()
        if state == PREPARING:
            self.runBar.progressBar.setFormat(
                "Checking…" if self.batch.resuming else _("Looking for images…")
            )
        self._update_title()

    @Slot()
    def _show_preparing(self) -> None:
        """A big batch's planning says what it does and for how long, never a still window."""
        seconds = int(time.monotonic() - self._preparing_since)
        if self.batch.resuming:
            text = _(resume.CHECKING)
        else:
            n = self.sources.image_count() - len(self.sources.excluded())
            if n > 0:
                text = ngettext(
                    "Looking for images and planning the outputs for {count} queued image…",
                    "Looking for images and planning the outputs for {count} queued images…",
                    n,
                ).format(count=f"{n:,}")
            else:
                text = _("Looking for images and planning the outputs…")
            found = self.batch.found
            if found:
                text = ngettext(
                    "{status} {count} found so far,", "{status} {count} found so far,", found
                ).format(status=text, count=f"{found:,}")
        if seconds:
            text = _("{status} {seconds} s").format(status=text, seconds=seconds)
        self.statusBar().showMessage(text)

    @Slot(object)
    def _planned(self, p: Plan) -> None:
        self.runBar.show_progress(Progress(0, len(p.jobs), 0, 0, 0, 0, 0.0, 0.0, 0.0, None))
        if p.problems:
            shown = "; ".join(f"{os.path.basename(f) or f}: {m}" for f, m in p.problems[:3])
            extra = len(p.problems) - 3
            if extra > 0:
                note = ngettext(
                    "Note: {problems} (and {count} more).",
                    "Note: {problems} (and {count} more).",
                    extra,
                ).format(problems=shown, count=extra)
            else:
                note = _("Note: {problems}.").format(problems=shown)
            self.show_notice(note)

    @Slot(object)
    def _show_progress(self, p: Progress) -> None:
        self._last_progress = p
        if self.batch.state in (RUNNING, PAUSED):
            self.runBar.show_progress(p)
        self._update_title()

    @Slot(object)
    def _show_current_file(self, path: str) -> None:
        if self.batch.state == RUNNING:
            self.statusBar().showMessage(_("Converting {name}").format(name=os.path.basename(path)))

    @Slot(object)
    def _finished(self, report: Report) -> None:
        summary = report.summary  # kept by the bridge, on the runner thread
        self.results.show_report(report, self.batch.output_dir, summary)
        failed = summary["failed"]
        if failed and not report.cancelled:
            self.messageBar.show_message(
                ngettext(
                    "{count} file could not be converted. Tick “Errors only” to list them; "
                    "double-click a row for the full message.",
                    "{count} files could not be converted. Tick “Errors only” to list them; "
                    "double-click a row for the full message.",
                    failed,
                ).format(count=f"{failed:,}"),
                WARNING,
            )
        done = f"{summary['ok'] + summary['skipped'] + summary['failed']:,} / {summary['total']:,}"
        if report.cancelled:
            word = pgettext("batch", "Cancelled")
            status = _("Batch cancelled. {hint}").format(hint=_(IDLE_HINT))
            title = _("Pixmill: batch cancelled")
        else:
            word = pgettext("batch", "Done")
            status = _("Batch done. {hint}").format(hint=_(IDLE_HINT))
            title = _("Pixmill: batch done")
        self.runBar.show_done(f"{word}{formatting.SEP}{done}")
        self.statusBar().showMessage(status)
        self._update_title()
        self.notifier.notify(title, summary_text(summary, report.cancelled))
        self.batchFinished.emit(report)

    def _update_title(self) -> None:
        p, state = self._last_progress, self.batch.state
        if state in (RUNNING, PAUSED, CANCELLING) and p is not None and p.total:
            percent = formatting.percent(p)
            if state == PAUSED:
                title = _("Paused at {percent}% · {app}").format(percent=percent, app=APP_NAME)
            else:
                title = f"{percent}% · {APP_NAME}"
            self.setWindowTitle(title)
        else:
            self.setWindowTitle(APP_NAME)

    # --- an interrupted batch --------------------------------------------------------------
    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        ratio = self.devicePixelRatioF()  # sharp thumbnails on high-DPI screens
        self.sources.queue.loader.set_device_pixel_ratio(ratio)
        self.results.model.thumbnails.set_device_pixel_ratio(ratio)
        if not self._offered:  # once the window is up: the journal's answer can wait
            self._offered = True
            QTimer.singleShot(0, self, self.offer_resume)

    @Slot()
    def offer_resume(self) -> BatchInfo | None:
        """Offer the last interrupted batch (Resume or Discard) in the message bar, unless a
        batch is running; returns the batch offered."""
        info = None if self.batch.busy else interrupted_batch()
        if info is not None:
            actions = [
                (_("Resume"), "resumeBatchButton", lambda: self.resume_batch(info)),
                (_("Discard"), "discardBatchButton", lambda: self.batch.discard(info.id)),
            ]
            self.messageBar.show_message(resume.offer_text(info), WARNING, actions)
        return info

    def resume_batch(self, info: BatchInfo) -> bool:
        """Continue an interrupted batch; its inputs, recipe and output folder fill the window
        once the journal has been read (_load_batch). False if a batch is running."""
        if self.batch.busy:
            return False
        self.messageBar.dismiss()
        self.results.clear()
        self._last_progress = None
        return self.batch.resume(info.id, self.output.workers())

    @Slot(object)
    def _load_batch(self, info: BatchInfo) -> None:
        self.recipePanel.set_recipe(info.recipe)
        self.output.set_output(info.output or self.output.folder_text(), info.output is None)
        self.sources.clear()
        self.add_paths(p for p in info.inputs if os.path.exists(p))
        self.save_state()

    # --- messages --------------------------------------------------------------------------
    @Slot(object)
    def show_notice(self, text: str) -> None:
        self.messageBar.show_message(text)

    @Slot(object)
    def _show_warning(self, text: str) -> None:
        self.messageBar.show_message(text, WARNING)

    @Slot(object)
    def _show_problem(self, text: str) -> None:
        self.messageBar.show_message(text, WARNING)
        self.runBar.reset()

    @Slot()
    def _about(self) -> None:
        show_about(self)

    # --- closing ---------------------------------------------------------------------------
    def confirm_quit(self) -> bool:
        """Ask whether to stop a running batch to quit (tests replace this)."""
        answer = QMessageBox.question(
            self,
            _("Stop converting?"),
            _(
                "A batch is still running. Cancel it and quit?\n\n"
                "Files already converted are kept; nothing half-written is left behind."
            ),
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No,
        )
        return answer == QMessageBox.StandardButton.Yes

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.batch.busy or self._close_requested:
            if not self._close_requested:
                quiet = self._skip_confirm or self.batch.state == ESTIMATING  # no batch yet
                if not (quiet or self.confirm_quit()):
                    event.ignore()
                    return
                self._close_requested = True
                self.statusBar().showMessage(_("Cancelling the batch before closing…"))
                self.batch.shutdown_async()  # closes the window again once the pool is down
            if not self._shut:
                event.ignore()
                return
        self.save_state()
        self.sources.cancel_scans()
        self.preview.close()
        self.sources.queue.loader.stop()
        self.results.model.thumbnails.stop()
        self.notifier.close()
        event.accept()

    @Slot()
    def quit_without_asking(self) -> None:
        """Cancel any batch and close (Ctrl+C in the terminal, the session ending)."""
        self._skip_confirm = True
        self.close()

    def shutdown(self) -> None:
        """Stop any batch and the worker pool, waiting for them (once the event loop is
        over; while it runs, closing the window does this in the background)."""
        self.batch.shutdown()

    @Slot()
    def _shut_down(self) -> None:
        self._shut = True
        if self._close_requested:
            self.close()
