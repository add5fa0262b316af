"""The lower half of the window: the results table, its errors-only filter, the batch summary,
"Open output folder" and "Save report…" (the engine's JSON or CSV report)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from PySide6.QtCore import QModelIndex, Qt, QUrl, Signal, Slot
from PySide6.QtGui import QDesktopServices, QFont, QPaintEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSizePolicy,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from pixmill.engine.report import Report, summary_text

from . import formatting
from .placeholder import paint_placeholder
from .result_dialog import ResultDialog
from .results import COL_DIMS, COL_FILE, COL_SIZE, COL_STATUS, COL_TIME, ResultsModel


class ResultsView(QTableView):
    """A flat, fixed-row-height table that says what to do while it is empty."""

    placeholder = "Results appear here, one row per file, when you press Start."

    def paintEvent(self, event: QPaintEvent) -> None:
        super().paintEvent(event)
        model = self.model()
        if model is not None and model.rowCount() == 0:
            text = self.placeholder
            if isinstance(model, ResultsModel) and model.errors_only and model.count():
                text = "No errors."
            paint_placeholder(self.viewport(), text)


class ResultsPanel(QWidget):
    """Results header and table. Double-clicking a row shows its full message and traceback.

    Attributes:
        model: the ResultsModel the table shows.
        report: the last finished batch's Report, or None.
        report_dir: where "Save report…" opens (remembered by the window).

    Signals:
        notice(object): str, what happened to a report (saved, or why not).
    """

    notice = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = ResultsModel(self)
        self.report: Report | None = None
        self.report_dir = ""
        self._output_dir: str | None = None

        title = QLabel("Results", self)
        font = QFont(title.font())
        font.setBold(True)
        title.setFont(font)

        self.errorsOnlyCheck = QCheckBox("&Errors only", self)
        self.errorsOnlyCheck.setObjectName("errorsOnlyCheck")
        self.errorsOnlyCheck.setToolTip("Show only the files that failed")
        self.errorsOnlyCheck.toggled.connect(self.model.set_errors_only)

        self.summaryLabel = QLabel(self)
        self.summaryLabel.setObjectName("summaryLabel")
        self.summaryLabel.setAccessibleName("Batch summary")
        self.summaryLabel.setWordWrap(True)
        self.summaryLabel.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.summaryLabel.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)

        self.openFolderButton = QPushButton("Open Output &Folder", self)
        self.openFolderButton.setObjectName("openFolderButton")
        self.openFolderButton.setToolTip("Show the converted files in the file manager")
        self.saveReportButton = QPushButton("Save &Report…", self)
        self.saveReportButton.setObjectName("saveReportButton")
        self.saveReportButton.setToolTip("Save every file's result as JSON or CSV")
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
        self.view.setAccessibleName("Results, one row per file")
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
        vh.setDefaultSectionSize(self.fontMetrics().height() + 10)
        hh = self.view.horizontalHeader()
        hh.setStretchLastSection(True)
        hh.setHighlightSections(False)
        hh.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        char = self.fontMetrics().averageCharWidth()
        widths = {COL_FILE: 30, COL_STATUS: 14, COL_SIZE: 22, COL_DIMS: 13, COL_TIME: 9}
        for col, chars in widths.items():
            self.view.setColumnWidth(col, chars * char + 24)
        self.view.doubleClicked.connect(self.show_details)
        self.view.activated.connect(self.show_details)

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
        self.model.append_results(results)

    def clear(self) -> None:
        """Forget the last batch: rows, summary and report."""
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
        parts = [f"{m.count('ok'):,} converted"]
        for status, word in (("skipped", "skipped"), ("failed", "failed")):
            if m.count(status):
                parts.append(f"{m.count(status):,} {word}")
        self.summaryLabel.setText(formatting.SEP.join(parts))

    def show_report(self, report: Report, output_dir: str | None) -> None:
        """The batch is over: its summary, and the buttons that use its report and outputs.
        output_dir None means the outputs went next to each source."""
        self.report = report
        self._output_dir = output_dir
        text = summary_text(report.summary, report.cancelled)
        self.summaryLabel.setText(text)
        self.summaryLabel.setToolTip(text)
        self.saveReportButton.setEnabled(True)
        self.openFolderButton.setEnabled(
            report.summary["ok"] > 0 and self.output_folder() is not None
        )

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
            raise RuntimeError("no batch has finished yet")
        self.report.save(path)
        self.report_dir = os.path.dirname(os.path.abspath(path))
        self.notice.emit(f"Report saved to {path}.")

    @Slot()
    def ask_save_report(self) -> None:
        if self.report is None:
            self.notice.emit("There is no report yet: run a batch first.")
            return
        start = self.report_dir or self.output_folder() or str(Path.home())
        path, chosen = QFileDialog.getSaveFileName(
            self,
            "Save report",
            os.path.join(start, "pixmill-report.json"),
            "JSON report (*.json);;CSV table (*.csv)",
        )
        if not path:
            return
        if not os.path.splitext(path)[1]:
            path += ".csv" if "csv" in chosen.lower() else ".json"
        try:
            self.save_report(path)
        except OSError as exc:
            self.notice.emit(f"Could not save the report: {exc.strerror or exc}")
