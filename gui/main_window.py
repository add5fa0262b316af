"""The main window: sources and output on the left, the recipe on the right, the batch controls
and results below. Files and folders dropped anywhere on it are queued.

Everything a user can do is a method here too (add_paths, start, toggle_pause, cancel,
save_report), so tests and scripts drive the same code paths as clicks and drops.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from PySide6.QtCore import QSettings, Qt, QUrl, Signal, Slot
from PySide6.QtGui import (
    QAction,
    QCloseEvent,
    QDesktopServices,
    QDragEnterEvent,
    QDragLeaveEvent,
    QDragMoveEvent,
    QDropEvent,
    QGuiApplication,
    QKeySequence,
)
from PySide6.QtWidgets import (
    QFileDialog,
    QLineEdit,
    QMainWindow,
    QMessageBox,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from engine import __version__
from engine.recipe import RecipeError
from engine.report import Report
from engine.runner import BatchRunner, Progress
from engine.scan import DEFAULT_SUBFOLDER, IMAGE_EXTENSIONS, Plan

from . import formatting
from .batch import BatchController
from .drop import DropOverlay, local_paths
from .icon import app_icon
from .message_bar import WARNING, MessageBar
from .notify import Notifier
from .output_panel import OutputPanel
from .presets import PresetStore
from .recipe_panel import RecipePanel
from .results_panel import ResultsPanel
from .run_bar import CANCELLING, IDLE, PAUSED, PREPARING, RUNNING, RunBar
from .settings import WindowSettings, default_settings
from .sources import ScanOptions, SourcesPanel

APP_NAME = "Pixmill"
MIN_SIZE = (960, 640)


class MainWindow(QMainWindow):
    """Pixmill's window.

    Attributes:
        batch: the BatchController (with .runner and .bridge).
        sources, recipePanel, output, runBar, results, messageBar: the parts of the window.

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
        self.setAcceptDrops(True)
        self.settings = WindowSettings(settings if settings is not None else default_settings())
        self.batch = BatchController(runner or BatchRunner(), self)
        self.notifier = Notifier(self)
        self._warm_pool = warm_pool
        self._close_requested = False
        self._shut = False
        self._last_progress: Progress | None = None

        self.sources = SourcesPanel()
        self.sources.set_scan_options(self._scan_options)
        self.output = OutputPanel()
        self.recipePanel = RecipePanel(PresetStore(presets_dir))
        self.runBar = RunBar()
        self.results = ResultsPanel()
        self.messageBar = MessageBar()
        self._build_layout()
        self._build_actions()
        self._connect()
        for edit in self.findChildren(QLineEdit):
            edit.setAcceptDrops(False)  # a dropped folder is a source, never text in a field
        self._restore_settings()
        self._set_state(IDLE)

    # --- construction ----------------------------------------------------------------------
    def _build_layout(self) -> None:
        left = QWidget()
        left_box = QVBoxLayout(left)
        left_box.setContentsMargins(0, 0, 0, 0)
        left_box.addWidget(self.sources, 1)
        left_box.addWidget(self.output)
        self.setupSplitter = QSplitter(Qt.Orientation.Horizontal)
        self.setupSplitter.setObjectName("setupSplitter")
        self.setupSplitter.addWidget(left)
        self.setupSplitter.addWidget(self.recipePanel)
        self.setupSplitter.setStretchFactor(0, 2)
        self.setupSplitter.setStretchFactor(1, 3)
        self.setupSplitter.setChildrenCollapsible(False)

        bottom = QWidget()
        bottom_box = QVBoxLayout(bottom)
        bottom_box.setContentsMargins(0, 0, 0, 0)
        bottom_box.addWidget(self.messageBar)
        bottom_box.addWidget(self.runBar)
        bottom_box.addWidget(self.results, 1)
        self.mainSplitter = QSplitter(Qt.Orientation.Vertical)
        self.mainSplitter.setObjectName("mainSplitter")
        self.mainSplitter.addWidget(self.setupSplitter)
        self.mainSplitter.addWidget(bottom)
        self.mainSplitter.setStretchFactor(0, 3)
        self.mainSplitter.setStretchFactor(1, 2)
        self.mainSplitter.setChildrenCollapsible(False)

        central = QWidget()
        box = QVBoxLayout(central)
        box.setContentsMargins(10, 8, 10, 6)
        box.addWidget(self.mainSplitter)
        self.setCentralWidget(central)
        self.dropOverlay = DropOverlay(central)
        self.setMinimumSize(*MIN_SIZE)

    def _action(self, text: str, slot: object, shortcuts: Iterable[str] = ()) -> QAction:
        action = QAction(text, self)
        keys = [QKeySequence(k) for k in shortcuts]
        if keys:
            action.setShortcuts(keys)
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        action.triggered.connect(slot)
        self.addAction(action)
        return action

    def _build_actions(self) -> None:
        a = self._action
        self.addFolderAction = a("Add &Folder…", self.ask_add_folder, ["Ctrl+O"])
        self.addFilesAction = a("Add F&iles…", self.ask_add_files, ["Ctrl+Shift+O"])
        self.saveReportAction = a("&Save Report…", self.ask_save_report, ["Ctrl+S"])
        self.openOutputAction = a("&Open Output Folder", self.open_output_folder)
        self.quitAction = a(
            "&Quit", self.close, [QKeySequence(QKeySequence.StandardKey.Quit).toString()]
        )
        self.startAction = a("&Start", self.start, ["Ctrl+Return", "Ctrl+Enter"])
        self.pauseAction = a("&Pause / Resume", self.toggle_pause, ["Ctrl+P"])
        self.cancelAction = a("&Cancel", self.escape, ["Escape"])
        self.savePresetAction = a("&Save Recipe as Preset…", self.recipePanel.ask_save_preset)
        self.importPresetAction = a("&Import Preset File…", self.recipePanel.ask_import_preset)
        self.aboutAction = a("&About Pixmill", self.about)

        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        for action in (
            self.addFolderAction,
            self.addFilesAction,
            None,
            self.saveReportAction,
            self.openOutputAction,
            None,
            self.quitAction,
        ):
            file_menu.addSeparator() if action is None else file_menu.addAction(action)
        batch_menu = bar.addMenu("&Batch")
        for action in (self.startAction, self.pauseAction, self.cancelAction):
            batch_menu.addAction(action)
        preset_menu = bar.addMenu("&Presets")
        preset_menu.addAction(self.savePresetAction)
        preset_menu.addAction(self.importPresetAction)
        bar.addMenu("&Help").addAction(self.aboutAction)

    def _connect(self) -> None:
        self.sources.addFolderButton.clicked.connect(self.ask_add_folder)
        self.sources.addFilesButton.clicked.connect(self.ask_add_files)
        self.sources.changed.connect(self._sources_changed)
        self.sources.notice.connect(self.show_notice)
        self.sources.exampleChanged.connect(self.recipePanel.set_example_source)
        self.recipePanel.notice.connect(self.show_notice)
        self.recipePanel.namingEditor.recursiveCheck.toggled.connect(self.sources.rescan)
        self.runBar.startButton.clicked.connect(self.start)
        self.runBar.pauseButton.clicked.connect(self.toggle_pause)
        self.runBar.cancelButton.clicked.connect(self.cancel)
        self.results.openFolderButton.clicked.connect(self.open_output_folder)
        self.results.saveReportButton.clicked.connect(self.ask_save_report)
        b = self.batch
        b.stateChanged.connect(self._set_state)
        b.planned.connect(self._planned)
        b.progressChanged.connect(self._show_progress)
        b.resultsReady.connect(self.results.add_results)
        b.currentFile.connect(self._show_current_file)
        b.finished.connect(self._finished)
        b.problem.connect(self._show_problem)
        b.shutDown.connect(self._shut_down)

    def _scan_options(self) -> ScanOptions:
        out = self.output.output_dir()
        return ScanOptions(
            recursive=self.recipePanel.namingEditor.recursiveCheck.isChecked(),
            exclude_dirs=(out,) if out else (),
            exclude_names=(DEFAULT_SUBFOLDER,) if out is None else (),
        )

    # --- adding sources --------------------------------------------------------------------
    def add_paths(self, paths: Iterable[str]) -> list[str]:
        """Queue folders and image files: what a drop, the Add buttons and `pixmill PATH...`
        all do. Returns the paths that were queued."""
        added = self.sources.add_paths(paths)
        if added:
            self.settings.set_last_dir("sources", os.path.dirname(added[-1]))
        return added

    @Slot()
    def ask_add_folder(self) -> None:
        start = self.settings.last_dir("sources") or str(Path.home())
        folder = QFileDialog.getExistingDirectory(self, "Add folder", start)
        if folder:
            self.add_paths([folder])

    @Slot()
    def ask_add_files(self) -> None:
        start = self.settings.last_dir("sources") or str(Path.home())
        patterns = " ".join(f"*{e}" for e in sorted(IMAGE_EXTENSIONS))
        files, _ = QFileDialog.getOpenFileNames(
            self, "Add images", start, f"Images ({patterns});;All files (*)"
        )
        if files:
            self.add_paths(files)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if local_paths(event.mimeData()):
            event.acceptProposedAction()
            self.dropOverlay.show_over_parent()
        else:
            event.ignore()

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:
        if local_paths(event.mimeData()):
            event.acceptProposedAction()

    def dragLeaveEvent(self, event: QDragLeaveEvent) -> None:
        self.dropOverlay.hide()

    def dropEvent(self, event: QDropEvent) -> None:
        self.dropOverlay.hide()
        paths = local_paths(event.mimeData())
        if not paths:
            event.ignore()
            return
        event.acceptProposedAction()
        self.add_paths(paths)
        self.activateWindow()

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
            self.show_notice("Add folders or images first: drop them here or press Ctrl+O.")
            return False
        try:
            recipe = self.recipePanel.recipe()
        except RecipeError as exc:
            self._show_problem(f"The recipe cannot be used: {exc}")
            return False
        problem = self.output.problem()
        if problem:
            self._show_problem(problem)
            self.output.outputDirEdit.setFocus()
            return False
        self.messageBar.dismiss()
        self._save_settings()
        self.results.clear()
        self.results.set_finished(False, False)
        self._last_progress = None
        return self.batch.start(paths, recipe, self.output.output_dir(), self.output.workers())

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

    @Slot(object)
    def _set_state(self, state: str) -> None:
        can_start = bool(self.sources.paths())
        self.runBar.set_state(state, can_start)
        busy = state != IDLE
        self.recipePanel.setEnabled(not busy)
        self.output.setEnabled(not busy)
        self.startAction.setEnabled(not busy and can_start)
        self.pauseAction.setEnabled(state in (RUNNING, PAUSED))
        self.cancelAction.setEnabled(True)  # Escape also stops counting
        if state == PREPARING:
            self.runBar.progressBar.setFormat("Looking for images…")
            self.statusBar().showMessage("Looking for images and planning the outputs…")
        elif state == CANCELLING:
            self.statusBar().showMessage("Cancelling…")
        elif state == PAUSED:
            self.statusBar().showMessage("Paused: running files finish, no new file starts.")
        self._update_title()

    @Slot(object)
    def _planned(self, p: Plan) -> None:
        self.runBar.show_progress(Progress(0, len(p.jobs), 0, 0, 0, 0, 0.0, 0.0, 0.0, None))
        if p.problems:
            shown = "; ".join(
                f"{os.path.basename(path) or path}: {msg}" for path, msg in p.problems[:3]
            )
            more = f" (and {len(p.problems) - 3} more)" if len(p.problems) > 3 else ""
            self.show_notice(f"Note: {shown}{more}.")

    @Slot(object)
    def _show_progress(self, p: Progress) -> None:
        self._last_progress = p
        if self.batch.state in (RUNNING, PAUSED):
            self.runBar.show_progress(p)
        self.results.show_live_counts(p.ok, p.skipped, p.failed)
        self._update_title()

    @Slot(object)
    def _show_current_file(self, path: str) -> None:
        if self.batch.state == RUNNING:
            self.statusBar().showMessage(f"Converting {os.path.basename(path)}")

    @Slot(object)
    def _finished(self, report: Report) -> None:
        summary = report.summary
        text = formatting.summary_text(summary, report.cancelled)
        self.results.show_summary(summary, report.cancelled)
        self.results.set_finished(True, summary["ok"] > 0 and self.output_folder() is not None)
        self.runBar.show_done("Cancelled" if report.cancelled else "Done")
        self.statusBar().showMessage(text)
        self.saveReportAction.setEnabled(True)
        self._update_title()
        title = "Pixmill: batch cancelled" if report.cancelled else "Pixmill: batch finished"
        self.notifier.notify(title, text)
        self.batchFinished.emit(report)

    def _update_title(self) -> None:
        p, state = self._last_progress, self.batch.state
        if state in (RUNNING, PAUSED, CANCELLING) and p is not None and p.total:
            word = "Paused at " if state == PAUSED else ""
            self.setWindowTitle(f"{word}{formatting.percent(p)}% · {APP_NAME}")
        else:
            self.setWindowTitle(APP_NAME)

    # --- after a batch ---------------------------------------------------------------------
    def output_folder(self) -> str | None:
        """Where the last batch wrote: its output folder, or the folder its outputs share."""
        if self.batch.output_dir:
            return self.batch.output_dir
        folders = {
            os.path.dirname(r["target"])
            for r in self.results.model.all_results()
            if r["status"] == "ok" and r.get("target")
        }
        if not folders:
            return None
        return folders.pop() if len(folders) == 1 else os.path.commonpath(sorted(folders))

    @Slot()
    def open_output_folder(self) -> None:
        folder = self.output_folder()
        if folder and os.path.isdir(folder):
            QDesktopServices.openUrl(QUrl.fromLocalFile(folder))

    def save_report(self, path: str) -> None:
        """Write the last batch's report (CSV when path ends in .csv, else JSON)."""
        if self.batch.report is None:
            raise RuntimeError("no batch has finished yet")
        self.batch.report.save(path)
        self.settings.set_last_dir("reports", os.path.dirname(os.path.abspath(path)))
        self.show_notice(f"Report saved to {path}.")

    @Slot()
    def ask_save_report(self) -> None:
        if self.batch.report is None:
            self.show_notice("There is no report yet: run a batch first.")
            return
        start = self.settings.last_dir("reports") or self.output_folder() or str(Path.home())
        path, chosen = QFileDialog.getSaveFileName(
            self,
            "Save report",
            os.path.join(start, "pixmill-report.json"),
            "JSON report (*.json);;CSV table (*.csv)",
        )
        if not path:
            return
        if not os.path.splitext(path)[1]:
            path += ".csv" if "csv" in chosen else ".json"
        try:
            self.save_report(path)
        except OSError as exc:
            self._show_problem(f"Could not save the report: {exc.strerror or exc}")

    # --- messages --------------------------------------------------------------------------
    @Slot(object)
    def show_notice(self, text: str) -> None:
        self.messageBar.show_message(text)

    @Slot(object)
    def _show_problem(self, text: str) -> None:
        self.messageBar.show_message(text, WARNING)
        self.runBar.reset()

    @Slot()
    def about(self) -> None:
        QMessageBox.about(
            self,
            "About Pixmill",
            f"<b>Pixmill {__version__}</b><p>Fast, safe batch image conversion.</p>"
            "<p>The same recipes run headless with <code>pixmill convert</code>.</p>",
        )

    # --- settings and closing --------------------------------------------------------------
    def _restore_settings(self) -> None:
        s = self.settings
        recipe = s.recipe()
        if recipe is not None:
            self.recipePanel.set_recipe(recipe)
        self.output.set_output(s.output_folder(), s.next_to_source())
        self.output.set_workers(s.workers(self.output.cpus))
        self.output.set_start_dir(s.last_dir("sources") or str(Path.home()))
        geometry = s.geometry()
        if geometry is None or not self.restoreGeometry(geometry):
            screen = QGuiApplication.primaryScreen().availableGeometry()
            self.resize(min(1280, screen.width()), min(800, screen.height()))
        for splitter, name in ((self.setupSplitter, "setup"), (self.mainSplitter, "main")):
            state = s.splitter(name)
            if state is not None:
                splitter.restoreState(state)

    def _save_settings(self) -> None:
        s = self.settings
        try:
            s.set_recipe(self.recipePanel.recipe())
        except RecipeError:
            pass  # keep the last usable recipe
        s.set_output(self.output.folder_text(), self.output.output_dir() is None)
        s.set_workers(self.output.workers())
        s.set_geometry(self.saveGeometry())
        s.set_splitter("setup", self.setupSplitter.saveState())
        s.set_splitter("main", self.mainSplitter.saveState())
        s.sync()

    def confirm_quit(self) -> bool:
        """Ask whether to stop a running batch to quit (tests replace this)."""
        answer = QMessageBox.question(
            self,
            "Stop converting?",
            "A batch is still running. Cancel it and quit?\n\n"
            "Files already converted are kept; nothing half-written is left behind.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No,
        )
        return answer == QMessageBox.StandardButton.Yes

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.batch.busy or self._close_requested:
            if not self._close_requested:
                if not self.confirm_quit():
                    event.ignore()
                    return
                self._close_requested = True
                self.statusBar().showMessage("Cancelling the batch before closing…")
                self.batch.shutdown_async()  # closes the window again when the pool is down
            if not self._shut:
                event.ignore()
                return
        self._save_settings()
        self.sources.cancel_scans()
        self.notifier.close()
        event.accept()

    @Slot()
    def _shut_down(self) -> None:
        self._shut = True
        if self._close_requested:
            self.close()
