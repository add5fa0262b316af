"""The lower half of the window: the results table, its errors-only filter, the batch summary,
"Open output folder" and "Save report…"."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QModelIndex, Qt, Slot
from PySide6.QtGui import QFont, QPaintEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSizePolicy,
    QTableView,
    QVBoxLayout,
    QWidget,
)

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
        openFolderButton, saveReportButton: connected by the main window.

    Signals: none of its own; the buttons' clicked signals are the interface.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = ResultsModel(self)

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

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(header)
        layout.addWidget(self.view, 1)

    # --- rows ------------------------------------------------------------------------------
    @Slot(object)
    def add_results(self, results: list[dict[str, Any]]) -> None:
        self.model.append_results(results)

    def clear(self) -> None:
        self.model.clear()
        self.summaryLabel.clear()
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
    def show_live_counts(self, ok: int, skipped: int, failed: int) -> None:
        parts = [f"{ok:,} converted"]
        if skipped:
            parts.append(f"{skipped:,} skipped")
        if failed:
            parts.append(f"{failed:,} failed")
        self.summaryLabel.setText(formatting.SEP.join(parts))

    def show_summary(self, summary: dict[str, Any], cancelled: bool) -> None:
        self.summaryLabel.setText(formatting.summary_text(summary, cancelled))
        self.summaryLabel.setToolTip(self.summaryLabel.text())

    def set_finished(self, has_report: bool, has_output: bool) -> None:
        self.saveReportButton.setEnabled(has_report)
        self.openFolderButton.setEnabled(has_output)

    def status_counts(self) -> dict[str, int]:
        return {s: self.model.count(s) for s in ("ok", "skipped", "failed", "cancelled")}
