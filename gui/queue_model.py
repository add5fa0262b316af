"""QueueModel: every queued image file as one row (name, size, pixel size, thumbnail), lazy.

The rows live in a QStringListModel (C++), seen through an identity proxy whose data() alone
is Python: Qt asks for the row count several times a row when it places the rows, which
through a Python rowCount() held the event loop 40 ms for 20,000 files. The thumbnail and
the pixel size come from the ThumbnailLoader only for rows a view shows.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import (
    QIdentityProxyModel,
    QModelIndex,
    QPersistentModelIndex,
    QStringListModel,
    Qt,
    Signal,
    Slot,
)

from pixmill.engine.i18n import _
from pixmill.engine.report import human_bytes

from .formatting import SEP
from .thumbnails import ThumbnailLoader

_Index = QModelIndex | QPersistentModelIndex
PATH_ROLE = Qt.ItemDataRole.UserRole
#: row_of looks this many rows either side of the last row it found before looking everywhere.
_NEAR_ROWS = 2000


class QueueModel(QIdentityProxyModel):
    """The files a batch would convert, in queue order.

    Attributes:
        loader: the ThumbnailLoader the rows' pictures come from.
        detailed: rows say size and pixel size under the name (the list mode).

    Signals:
        removed(object): list[str], files the user took out of the batch.
    """

    removed = Signal(object)

    def __init__(self, loader: ThumbnailLoader | None = None, parent: Any = None) -> None:
        super().__init__(parent)
        self.loader = loader or ThumbnailLoader(parent=self)
        self.detailed = True
        self._list = QStringListModel(self)
        self.setSourceModel(self._list)
        self._paths: list[str] = []
        self._sizes: list[int] = []
        self._near = 0  # the row row_of found last
        self.loader.loaded.connect(self._thumbnail_loaded)

    # --- contents --------------------------------------------------------------------------
    def set_files(self, files: Sequence[tuple[str, int]]) -> None:
        """Replace the rows with files: (path, bytes) pairs."""
        self._paths = [p for p, _size in files]
        self._sizes = [s for _path, s in files]
        self._near = 0
        # The strings only carry the row count (data() reads self._paths). Empty, then that
        # many empty rows made in C++: 3 times faster than converting a list of 100,000 empty
        # strings (which was 4-5 times faster than the paths themselves).
        self._list.setStringList([])  # resets this model
        if self._paths:
            self._list.insertRows(0, len(self._paths))

    def files(self) -> list[str]:
        return list(self._paths)

    def path(self, row: int) -> str:
        return self._paths[row]

    def row_of(self, path: str) -> int:
        """The row of path, or -1.

        Looked for near the row found last, then everywhere: the paths asked for are those
        whose thumbnails arrive, which are the rows on screen, so the first look finds them.
        (An index of 100,000 paths, built on the first thumbnail, held the GUI thread
        20-30 ms just after Start.)"""
        paths = self._paths
        lo = max(0, self._near - _NEAR_ROWS)
        try:
            row = paths.index(path, lo, lo + 2 * _NEAR_ROWS)
        except ValueError:
            try:
                row = paths.index(path)
            except ValueError:
                return -1
        self._near = row
        return row

    def remove_rows(self, rows: Sequence[int]) -> list[str]:
        """Take rows out of the batch; emits removed with their paths."""
        gone: list[str] = []
        for row in sorted(set(rows), reverse=True):
            if not 0 <= row < len(self._paths):
                continue
            gone.append(self._paths.pop(row))
            self._sizes.pop(row)
            self._list.removeRows(row, 1)
        if gone:
            self.removed.emit(gone)
        return gone

    def set_detailed(self, on: bool) -> None:
        if on != self.detailed:
            self.detailed = on
            if self._paths:
                last = len(self._paths) - 1
                self.dataChanged.emit(self.index(0, 0), self.index(last, 0))

    # --- Qt's model interface (row counts and indexes stay in C++) ------------------------
    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        row = index.row()
        if not index.isValid() or row >= len(self._paths):
            return None
        path = self._paths[row]
        if role == Qt.ItemDataRole.DisplayRole:
            name = os.path.basename(path)
            return f"{name}\n{self._details(row)}" if self.detailed else name
        if role == Qt.ItemDataRole.DecorationRole:
            return self.loader.icon(path, request=False)  # the view asks for what it shows
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"{path}\n{self._details(row)}"
        if role == PATH_ROLE:
            return path
        if role == Qt.ItemDataRole.AccessibleTextRole:
            return f"{os.path.basename(path)}, {self._details(row)}"
        return None

    def _details(self, row: int) -> str:
        parts = [human_bytes(self._sizes[row])]
        info = self.loader.info(self._paths[row])
        if info is not None and info.width:
            parts.append(f"{info.width:,} × {info.height:,}")
        elif info is not None and info.error:
            parts.append(_("cannot be shown"))
        return SEP.join(parts)

    @Slot(object)
    def _thumbnail_loaded(self, path: str) -> None:
        row = self.row_of(path)
        if row >= 0:
            index = self.index(row, 0)
            self.dataChanged.emit(index, index)
