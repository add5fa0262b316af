"""The results: the table (with a thumbnail of each output), its errors-only filter, the batch
summary, "Open output folder" and "Save report…" (the engine's JSON or CSV report). A
double-click previews a converted file (or shows a failure's message); the context menu has
Preview, Show in Folder and Details."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from PySide6.QtCore import QModelIndex, QPoint, QSize, Qt, QTimer, QUrl, Signal, Slot
from PySide6.QtGui import QDesktopServices, QFont, QPaintEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMenu,
    QPushButton,
    QSizePolicy,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from pixmill.engine.i18n import N_, _, ngettext
from pixmill.engine.report import Report, summary_text

from . import formatting
from .formatting import latin_char_width
from .placeholder import paint_placeholder
from .result_dialog import ResultDialog
from .results import (
    COL_DIMS,
    COL_FILE,
    COL_SIZE,
    COL_STATUS,
    COL_TIME,
    ResultsModel,
    plain_header_model,
)

#: A running batch's new rows join the table at most this often (milliseconds). The table
#: follows the newest rows, so every join repaints each cell on screen, and each cell is a
#: call from Qt into Python that waits for the GIL while the batch's threads hold it. The
#: counts above the table follow the rows.
ROWS_EVERY_MS = 100


class ResultsView(QTableView):
    """A flat, fixed-row-height table that says what to do while it is empty."""

    placeholder = N_("Results appear here, one row per file, when you press Start.")

    def paintEvent(self, event: QPaintEvent) -> None:
        super().paintEvent(event)
        model = self.model()
        if model is not None and model.rowCount() == 0:
            text = _(self.placeholder)
            if isinstance(model, ResultsModel) and model.errors_only and model.count():
                text = _("No errors.")
            paint_placeholder(self.viewport(), text)


class ResultsPanel(QWidget):
    """Results header and table. Double-clicking a row shows its full message and traceback.

    Attributes:
        model: the ResultsModel the table shows.
        report: the last finished batch's Report, or None.
        report_dir: where "Save report…" opens (remembered by the window).

    Signals:
        notice(object): str, what happened to a report (saved, or why not).
        previewRequested(object): str, the source of a converted file to preview.
    """

    notice = Signal(object)
    previewRequested = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = ResultsModel(self)
        self.report: Report | None = None
        self.report_dir = ""
        self._output_dir: str | None = None
        self._incoming: list[dict[str, Any]] = []
        self._rows_timer = QTimer(self)
        self._rows_timer.setSingleShot(True)
        self._rows_timer.setInterval(ROWS_EVERY_MS)
        self._rows_timer.timeout.connect(self._take_incoming)

        title = QLabel(_("Results"), self)
        font = QFont(title.font())
        font.setBold(True)
        title.setFont(font)

        self.errorsOnlyCheck = QCheckBox(_("&Errors only"), self)
        self.errorsOnlyCheck.setObjectName("errorsOnlyCheck")
        self.errorsOnlyCheck.setToolTip(_("Show only the files that failed"))
        self.errorsOnlyCheck.toggled.connect(self.model.set_errors_only)

        self.summaryLabel = QLabel(self)
        self.summaryLabel.setObjectName("summaryLabel")
        self.summaryLabel.setAccessibleName(_("Batch summary"))
        self.summaryLabel.setWordWrap(True)
        self.summaryLabel.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.summaryLabel.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)

        self.openFolderButton = QPushButton(_("Open Output &Folder"), self)
        self.openFolderButton.setObjectName("openFolderButton")
        self.openFolderButton.setToolTip(_("Show the converted files in the file manager"))
        self.saveReportButton = QPushButton(_("Save &Report…"), self)
        self.saveReportButton.setObjectName("saveReportButton")
        self.saveReportButton.setToolTip(_("Save every file's result as JSON or CSV"))
        self.openFolderButton.clicked.connect(self.open_output_folder)
        self.saveReportButton.clicked.connect(self.ask_save_report)
        for b in (self.openFolderButton, self.saveReportButton):
            b.setEnabled(False)

        header = QHBoxLayout()
        header.addWidget(title)
        header.addSpacing(12)
        header.addWidget(self.errorsOnlyCheck)
        header.addSpacing(12)
        header.addWidget(self.summaryLabel, 1)
        header.addWidget(self.openFolderButton)
        header.addWidget(self.saveReportButton)

        self.view = ResultsView(self)
        self.view.setObjectName("resultsView")
        self.view.setAccessibleName(_("Results, one row per file"))
        self.view.setModel(self.model)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.view.setAlternatingRowColors(True)
        self.view.setWordWrap(False)
        self.view.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.view.setShowGrid(False)
        self.view.setTabKeyNavigation(False)
        vh = self.view.verticalHeader()
        vh.setVisible(False)
        vh.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        row = max(self.fontMetrics().height() + 10, 30)
        vh.setDefaultSectionSize(row)
        self.view.setIconSize(QSize(row - 4, row - 4))
        self.model.status_icon_box = row - 4
        hh = self.view.horizontalHeader()
        hh.setModel(plain_header_model(self.model, self))  # titles without a call into Python
        hh.setStretchLastSection(True)
        hh.setHighlightSections(False)
        hh.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        char = latin_char_width(self.fontMetrics())  # the columns hold names and numbers
        widths = {COL_FILE: 30, COL_STATUS: 14, COL_SIZE: 22, COL_DIMS: 13, COL_TIME: 9}
        for col, chars in widths.items():
            self.view.setColumnWidth(col, chars * char + 24)
        # activated: a double-click or Enter (doubleClicked as well would open it twice)
        self.view.activated.connect(self.open_row)
        self.view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.view.customContextMenuRequested.connect(self._context_menu)
        self.view.verticalScrollBar().valueChanged.connect(self._visible_changed)

        self._follow = True
        self.model.rowsAboutToBeInserted.connect(self._remember_scroll)
        self.model.rowsInserted.connect(self._follow_tail)
        self.model.rowsInserted.connect(self._show_live_counts)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(header)
        layout.addWidget(self.view, 1)

    # --- rows ------------------------------------------------------------------------------
    @Slot(object)
    def add_results(self, results: list[dict[str, Any]]) -> None:
        """Rows for results, now."""
        self.model.append_results(results)

    @Slot(object)
    def queue_results(self, results: list[dict[str, Any]]) -> None:
        """Rows for a running batch's results: they join the table within ROWS_EVERY_MS,
        with any others that arrive meanwhile, and all of them before its report shows."""
        self._incoming.extend(results)
        if not self._rows_timer.isActive():
            self._rows_timer.start()

    @Slot()
    def _take_incoming(self) -> None:
        self._rows_timer.stop()
        if self._incoming:
            results, self._incoming = self._incoming, []
            self.add_results(results)

    def clear(self) -> None:
        """Forget the last batch: rows, summary and report."""
        self._rows_timer.stop()
        self._incoming = []
        self.model.set_show_thumbnails(False)
        self.model.clear()
        self.summaryLabel.clear()
        self.summaryLabel.setToolTip("")
        self.report = None
        self._output_dir = None
        self.saveReportButton.setEnabled(False)
        self.openFolderButton.setEnabled(False)
        self._follow = True

    @Slot()
    def _remember_scroll(self) -> None:
        bar = self.view.verticalScrollBar()
        self._follow = bar.value() >= bar.maximum()

    @Slot()
    def _follow_tail(self) -> None:
        if self._follow:
            self.view.scrollToBottom()

    @Slot(QModelIndex)
    def open_row(self, index: QModelIndex) -> None:
        """A converted file opens in the preview; any other row shows its details."""
        if not index.isValid():
            return
        result = self.model.result(index.row())
        if result["status"] == "ok":
            self.previewRequested.emit(result["source"])
        else:
            self.show_details(index)

    @Slot(QPoint)
    def _context_menu(self, pos: QPoint) -> None:
        index = self.view.indexAt(pos)
        if not index.isValid():
            return
        result = self.model.result(index.row())
        menu = QMenu(self)
        preview = menu.addAction(_("&Preview"))
        preview.setEnabled(result["status"] == "ok")
        preview.triggered.connect(lambda: self.previewRequested.emit(result["source"]))
        folder = menu.addAction(_("Show in &Folder"))
        target = result.get("target") if result["status"] in ("ok", "skipped") else None
        folder.setEnabled(bool(target) and os.path.exists(os.path.dirname(target or "")))
        folder.triggered.connect(lambda: self.show_in_folder(target))
        details = menu.addAction(_("&Details…"))
        details.triggered.connect(lambda: self.show_details(index))
        menu.exec(self.view.viewport().mapToGlobal(pos))

    def show_in_folder(self, path: str | None) -> None:
        """Open the folder that holds path in the file manager."""
        if path and os.path.isdir(os.path.dirname(path)):
            QDesktopServices.openUrl(QUrl.fromLocalFile(os.path.dirname(path)))

    @Slot()
    def _visible_changed(self) -> None:
        """Output thumbnails are read for the rows on screen only."""
        top = self.view.rowAt(0)
        if top < 0:
            return
        bottom = self.view.rowAt(self.view.viewport().height() - 1)
        bottom = self.model.rowCount() - 1 if bottom < 0 else bottom
        self.model.thumbnails_shown(range(top, bottom + 1))

    @Slot(QModelIndex)
    def show_details(self, index: QModelIndex) -> ResultDialog | None:
        if not index.isValid():
            return None
        dialog = ResultDialog(self.model.result(index.row()), self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        # Settle the size constraints before the native window exists: no resize on show
        # (and no "propagateSizeHints" warning on platforms that cannot take them later).
        dialog.layout().activate()
        dialog.open()
        return dialog

    # --- summary ---------------------------------------------------------------------------
    @Slot()
    def _show_live_counts(self) -> None:
        """While a batch runs, the summary counts the rows that have arrived."""
        if self.report is not None:
            return
        m = self.model
        ok, skipped, failed = m.count("ok"), m.count("skipped"), m.count("failed")
        parts = [ngettext("{count} converted", "{count} converted", ok).format(count=f"{ok:,}")]
        if skipped:
            parts.append(
                ngettext("{count} skipped", "{count} skipped", skipped).format(count=f"{skipped:,}")
            )
        if failed:
            parts.append(
                ngettext("{count} failed", "{count} failed", failed).format(count=f"{failed:,}")
            )
        self.summaryLabel.setText(formatting.SEP.join(parts))

    def show_report(
        self, report: Report, output_dir: str | None, summary: dict[str, Any] | None = None
    ) -> None:
        """The batch is over: its summary, and the buttons that use its report and outputs.
        output_dir None means the outputs went next to each source; summary is
        report.summary when the caller has it already (each reading walks every result)."""
        self._take_incoming()
        self.report = report
        self._output_dir = output_dir
        self.model.set_show_thumbnails(True)
        if summary is None:
            summary = report.summary
        text = summary_text(summary, report.cancelled)
        self.summaryLabel.setText(text)
        self.summaryLabel.setToolTip(text)
        self.saveReportButton.setEnabled(True)
        self.openFolderButton.setEnabled(summary["ok"] > 0 and self.output_folder() is not None)

    # --- after a batch ---------------------------------------------------------------------
    def output_folder(self) -> str | None:
        """Where the last batch wrote: its output folder, or the folder its outputs share."""
        if self._output_dir:
            return self._output_dir
        folders = {
            os.path.dirname(r["target"])
            for r in self.model.all_results()
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
        """Write the last report: CSV when path ends in .csv, else JSON (raises OSError)."""
        if self.report is None:
            raise RuntimeError(_("no batch has finished yet"))
        self.report.save(path)
        self.report_dir = os.path.dirname(os.path.abspath(path))
        self.notice.emit(_("Report saved to {path}.").format(path=path))

    @Slot()
    def ask_save_report(self) -> None:
        if self.report is None:
            self.notice.emit(_("There is no report yet: run a batch first."))
            return
        start = self.report_dir or self.output_folder() or str(Path.home())
        path, chosen = QFileDialog.getSaveFileName(
            self,
            _("Save report"),
            os.path.join(start, "pixmill-report.json"),
            _("JSON report (*.json);;CSV table (*.csv)"),
        )
        if not path:
            return
        if not os.path.splitext(path)[1]:
            path += ".csv" if "csv" in chosen.lower() else ".json"
        try:
            self.save_report(path)
        except OSError as exc:
            self.notice.emit(
                _("Could not save the report: {error}").format(error=exc.strerror or exc)
            )
