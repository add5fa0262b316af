"""The results table: one row per file of the current batch, filterable to errors only.

ResultsModel is a flat QAbstractTableModel over the engine's result dicts. Rows arrive in
batches (the bridge flushes about 30 times a second) and are inserted with one
beginInsertRows each, so 100,000 rows stay smooth. The errors-only filter lives in the model
(an index list), which is far cheaper than a Python filterAcceptsRow per row. A file the
decoders warned about shows a warning icon in its status column and the warnings as its
tooltip; the details dialog lists them in full. When the encoding was chosen per image, the
last column adds the quality and score chosen ("q 83 · score 80.4"), or "kept original".
Once a batch is over, a converted file's row shows a thumbnail of its output, read (by a
ThumbnailLoader) only for the rows the table paints.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import (
    QAbstractItemModel,
    QAbstractTableModel,
    QModelIndex,
    QModelRoleDataSpan,
    QObject,
    QPersistentModelIndex,
    Qt,
)
from PySide6.QtGui import (
    QBrush,
    QColor,
    QGuiApplication,
    QIcon,
    QPainter,
    QPixmap,
    QStandardItemModel,
)
from PySide6.QtWidgets import QApplication, QComboBox, QStyle

from pixmill.engine.i18n import N_, _, ngettext

from . import formatting
from .thumbnails import ThumbnailLoader

_Index = QModelIndex | QPersistentModelIndex

#: The columns' titles, marked for translation: show them with _().
COLUMNS = (
    N_("File"),
    N_("Status"),
    N_("Size"),
    N_("Dimensions"),
    N_("Time"),
    N_("Output or message"),
)
COL_FILE, COL_STATUS, COL_SIZE, COL_DIMS, COL_TIME, COL_MESSAGE = range(len(COLUMNS))
_NUMERIC = frozenset({COL_SIZE, COL_DIMS, COL_TIME})

STATUS_WORDS = {
    "ok": N_("Converted"),
    "skipped": N_("Skipped"),
    "failed": N_("Failed"),
    "cancelled": N_("Cancelled"),
}
_STATUS_ICONS = {
    "ok": QStyle.StandardPixmap.SP_DialogApplyButton,
    "skipped": QStyle.StandardPixmap.SP_ArrowRight,
    "failed": QStyle.StandardPixmap.SP_MessageBoxCritical,
    "cancelled": QStyle.StandardPixmap.SP_DialogCancelButton,
}
#: Shown instead of a converted file's tick when the decoders warned about it.
_WARNED = "warned"
_WARNED_ICON = QStyle.StandardPixmap.SP_MessageBoxWarning
#: Warnings a tooltip lists before "and N more".
TOOLTIP_WARNINGS = 5


def is_error(result: dict[str, Any]) -> bool:
    return result.get("status") == "failed"


def warnings_of(result: dict[str, Any]) -> list[str]:
    """What the decoders said about the file (older results have no "warnings" key)."""
    return [str(w) for w in result.get("warnings") or ()]


def status_word(status: str) -> str:
    """A result's status ("ok", "failed"...) in the user's words."""
    return _(STATUS_WORDS[status]) if status in STATUS_WORDS else status


def warnings_summary(count: int) -> str:
    return ngettext("{count} warning", "{count} warnings", count).format(count=count)


def status_tooltip(result: dict[str, Any]) -> str | None:
    """The status column's tooltip: the file's warnings, if any."""
    warned = warnings_of(result)
    if not warned:
        return None
    lines = [_("{warnings}:").format(warnings=warnings_summary(len(warned)))]
    lines += [f"• {w}" for w in warned[:TOOLTIP_WARNINGS]]
    if len(warned) > TOOLTIP_WARNINGS:
        extra = len(warned) - TOOLTIP_WARNINGS
        lines.append(
            ngettext(
                "and {count} more (double-click for all)",
                "and {count} more (double-click for all)",
                extra,
            ).format(count=extra)
        )
    return "\n".join(lines)


def choice_text(result: dict[str, Any]) -> str:
    """How a converted file was encoded when that was chosen per image: 'q 83 · score
    80.4', 'q 83', 'lossless · score 100.0' (a target met by a lossless encoding), 'kept
    original', or '' (a fixed encoding, or no output)."""
    if result.get("status") != "ok":
        return ""
    if result.get("kept_original"):
        return _("kept original")
    parts = []
    if result.get("quality") is not None:
        parts.append(f"q {result['quality']}")
    elif result.get("score") is not None:
        parts.append(_("lossless"))
    if result.get("score") is not None:
        parts.append(_("score {score}").format(score=f"{result['score']:.1f}"))
    return formatting.SEP.join(parts)


def message(result: dict[str, Any]) -> str:
    """What the last column says: the output's name (and how it was encoded when that was
    chosen per image), or why there is none."""
    if result.get("status") == "ok" and result.get("target"):
        name = os.path.basename(result["target"])
        choice = choice_text(result)
        return f"{name}{formatting.SEP}{choice}" if choice else name
    if result.get("status") == "cancelled" and not result.get("error"):
        return _("stopped before it was converted")
    return (result.get("error") or "").splitlines()[0] if result.get("error") else ""


def _small(icon: QIcon, box: int, side: int = 16) -> QIcon:
    """icon at side pixels, centred in a clear box x box square (the view's icon size)."""
    if box <= side:
        return icon
    canvas = QPixmap(box, box)
    canvas.fill(Qt.GlobalColor.transparent)
    painter = QPainter(canvas)
    offset = (box - side) // 2
    painter.drawPixmap(offset, offset, icon.pixmap(side, side))
    painter.end()
    return QIcon(canvas)


def plain_header_model(model: QAbstractItemModel, parent: QObject) -> QStandardItemModel:
    """model's column titles (text and alignment) in a QStandardItemModel made by Qt, not by
    Python, owned by parent: the one a QComboBox makes for itself, kept when the combo box
    goes. A header view asks its model about every title (text, alignment, font, colours...)
    each time it measures or paints itself; asked of a Python model, that was 150 calls into
    Python when the table first showed at Start, each one waiting for the GIL while the
    sources were still being counted."""
    combo = QComboBox()
    titles = combo.model()
    titles.setParent(parent)
    assert isinstance(titles, QStandardItemModel)
    columns = model.columnCount()
    titles.setColumnCount(columns)
    horizontal = Qt.Orientation.Horizontal
    for section in range(columns):
        for role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.TextAlignmentRole):
            titles.setHeaderData(
                section, horizontal, model.headerData(section, horizontal, role), role
            )
    return titles


class ResultsModel(QAbstractTableModel):
    """Result dicts of one batch as table rows.

    Attributes:
        errors_only: when True only failed files are rows (all results are still kept).
        thumbnails: the ThumbnailLoader of the outputs' pictures; show_thumbnails: whether
            rows show them (off while a batch runs: its workers need the CPU).

    Signals: only QAbstractItemModel's own (rowsInserted, modelReset, ...).
    """

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._results: list[dict[str, Any]] = []
        self._visible: list[int] | None = None  # indexes into _results when filtered
        self._counts: dict[str, int] = {}
        self._icons: dict[str, QIcon] = {}
        self._error_brush: QBrush | None = None
        self.thumbnails = ThumbnailLoader(box=32, parent=self)
        self.thumbnails.loaded.connect(self._thumbnail_loaded)
        self.show_thumbnails = False
        #: The table's icon size (thumbnails fill it; status icons keep 16 px in it).
        self.status_icon_box = 16

    # --- data in ---------------------------------------------------------------------------
    def append_results(self, results: Sequence[dict[str, Any]]) -> None:
        """Add a batch of results as rows at the end, in one insertion."""
        if not results:
            return
        start = len(self._results)
        self._results.extend(results)
        for r in results:
            self._counts[r["status"]] = self._counts.get(r["status"], 0) + 1
        if self._visible is None:
            new_rows = list(range(start, len(self._results)))
        else:
            new_rows = [i for i in range(start, len(self._results)) if is_error(self._results[i])]
        if not new_rows:
            return
        first = self.rowCount()
        self.beginInsertRows(QModelIndex(), first, first + len(new_rows) - 1)
        if self._visible is not None:
            self._visible.extend(new_rows)
        self.endInsertRows()

    def set_show_thumbnails(self, on: bool) -> None:
        self.show_thumbnails = on
        if not on:
            self.thumbnails.forget()
        self._thumbnail_loaded()

    def thumbnails_shown(self, rows: range) -> None:
        """Only these rows are on screen: drop thumbnail requests for the others."""
        n = self.rowCount()
        targets = {self.result(i).get("target") for i in rows if 0 <= i < n}
        self.thumbnails.keep_only({t for t in targets if t})

    def _thumbnail_loaded(self, path: object = None) -> None:
        if self.rowCount():
            self.dataChanged.emit(
                self.index(0, COL_FILE),
                self.index(self.rowCount() - 1, COL_FILE),
                [Qt.ItemDataRole.DecorationRole],
            )

    def clear(self) -> None:
        self.beginResetModel()
        self._results = []
        self._counts = {}
        if self._visible is not None:
            self._visible = []
        self.endResetModel()

    @property
    def errors_only(self) -> bool:
        return self._visible is not None

    def set_errors_only(self, on: bool) -> None:
        if on == self.errors_only:
            return
        self.beginResetModel()
        if on:
            self._visible = [i for i, r in enumerate(self._results) if is_error(r)]
        else:
            self._visible = None
        self.endResetModel()

    # --- data out --------------------------------------------------------------------------
    def count(self, status: str | None = None) -> int:
        """All results kept (or those with a status), whatever the filter shows."""
        return len(self._results) if status is None else self._counts.get(status, 0)

    def result(self, row: int) -> dict[str, Any]:
        return self._results[row if self._visible is None else self._visible[row]]

    def all_results(self) -> list[dict[str, Any]]:
        return list(self._results)

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        if parent.isValid():
            return 0
        return len(self._results) if self._visible is None else len(self._visible)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation != Qt.Orientation.Horizontal:
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return _(COLUMNS[section])
        if role == Qt.ItemDataRole.TextAlignmentRole:
            side = (
                Qt.AlignmentFlag.AlignRight if section in _NUMERIC else Qt.AlignmentFlag.AlignLeft
            )
            return int(side | Qt.AlignmentFlag.AlignVCenter)
        return None

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        return self._value(self.result(index.row()), index.column(), role)

    def multiData(self, index: _Index, roleDataSpan: QModelRoleDataSpan) -> None:  # noqa: N803
        """Every role a delegate asks of a cell, in one call. Qt's own multiData asks data()
        once a role (seven for each cell painted), and every call from Qt into Python takes
        the GIL: while a batch's threads hold it, each of those waited its turn."""
        if not index.isValid():
            return
        r, col = self.result(index.row()), index.column()
        for i in range(roleDataSpan.size()):
            slot = roleDataSpan[i]
            slot.setData(self._value(r, col, slot.role()))

    def _value(self, r: dict[str, Any], col: int, role: int) -> Any:
        """What cell (r's row, col) holds for role."""
        if role == Qt.ItemDataRole.DisplayRole:
            return self._text(r, col)
        if role == Qt.ItemDataRole.ToolTipRole:
            if col == COL_FILE:
                return r["source"]
            if col == COL_STATUS:
                return status_tooltip(r)
            if col == COL_MESSAGE:
                return r.get("error") or r.get("target") or None
            return None
        if role == Qt.ItemDataRole.DecorationRole and col == COL_FILE:
            if self.show_thumbnails and r["status"] == "ok" and r.get("target"):
                return self.thumbnails.icon(r["target"])
            return None
        if role == Qt.ItemDataRole.DecorationRole and col == COL_STATUS:
            warned = r["status"] == "ok" and r.get("warnings")
            return self._icon(_WARNED if warned else r["status"])
        if role == Qt.ItemDataRole.ForegroundRole and col == COL_MESSAGE and is_error(r):
            return self._error_color()
        if role == Qt.ItemDataRole.TextAlignmentRole and col in _NUMERIC:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.AccessibleTextRole:
            text = f"{self._text(r, COL_FILE)}: {self._text(r, COL_STATUS)}"
            warned = warnings_of(r)
            if warned:
                return _("{status}, {warnings}").format(
                    status=text, warnings=warnings_summary(len(warned))
                )
            return text
        return None

    @staticmethod
    def _text(r: dict[str, Any], col: int) -> str:
        if col == COL_FILE:
            return os.path.basename(r["source"])
        if col == COL_STATUS:
            return status_word(r["status"])
        if col == COL_SIZE:
            return formatting.size_change(r)
        if col == COL_DIMS:
            return formatting.dimensions(r)
        if col == COL_TIME:
            return formatting.milliseconds(r.get("ms"))
        return message(r)

    def _icon(self, status: str) -> QIcon | None:
        icon = self._icons.get(status)
        pixmap = _WARNED_ICON if status == _WARNED else _STATUS_ICONS.get(status)
        if icon is None and pixmap is not None:
            icon = _small(QApplication.style().standardIcon(pixmap), self.status_icon_box)
            self._icons[status] = icon
        return icon

    def _error_color(self) -> QBrush:
        if self._error_brush is None:
            dark = QGuiApplication.palette().base().color().lightness() < 128
            self._error_brush = QBrush(QColor("#ff8a80" if dark else "#c62828"))
        return self._error_brush
