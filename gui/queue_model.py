"""QueueModel: every queued image file as one row (name, size, pixel size, thumbnail), lazy.

The rows live in a QStringListModel that Qt itself made (`rows`, no Python in it), seen
through an identity proxy whose data() alone is Python. The queue's view shows `rows` directly
and its delegate asks the proxy for what it paints: when Qt places 100,000 rows it asks the
model for an index, a row count and a column count several times a row, and each of those calls
into a model made from Python takes the GIL to look for a Python override. That was 20-30 ms
a layout on an idle machine and 60 ms while a batch was being planned on another thread. The
thumbnail and the pixel size come from the ThumbnailLoader only for rows a view shows.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from typing import Any

from PySide6.QtCore import (
    QIdentityProxyModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QStringListModel,
    Qt,
    Signal,
    Slot,
)
from PySide6.QtWidgets import QCompleter

from pixmill.engine.i18n import _
from pixmill.engine.report import human_bytes

from .formatting import SEP
from .thumbnails import ThumbnailLoader

_Index = QModelIndex | QPersistentModelIndex
PATH_ROLE = Qt.ItemDataRole.UserRole
#: row_of looks this many rows either side of the last row it found before looking everywhere.
_NEAR_ROWS = 2000


def plain_string_list_model(parent: QObject) -> QStringListModel:
    """An empty QStringListModel made by Qt, not by Python, owned by parent.

    A model constructed from Python is a Shiboken wrapper whose every virtual call (index(),
    rowCount(), ...) takes the GIL to look for a Python override; one made in C++ is plain.
    QCompleter's string-list constructor makes one (documented: model() is then a
    QStringListModel); it is kept and the completer dropped."""
    completer = QCompleter([])
    model = completer.model()
    model.setParent(parent)
    completer.setModel(None)  # lets go of it; the completer goes with this scope
    assert isinstance(model, QStringListModel)
    return model


class QueueModel(QIdentityProxyModel):
    """The files a batch would convert, in queue order.

    Attributes:
        loader: the ThumbnailLoader the rows' pictures come from.
        rows: the plain C++ model of the rows (empty strings, or names once shown) that views
            show; their delegates paint this model's data() for the same row.
        detailed: rows say size and pixel size under the name (the list mode).

    Signals:
        removed(object): list[str], files the user took out of the batch.
    """

    removed = Signal(object)

    def __init__(self, loader: ThumbnailLoader | None = None, parent: Any = None) -> None:
        super().__init__(parent)
        self.loader = loader or ThumbnailLoader(parent=self)
        self.detailed = True
        self.rows = plain_string_list_model(self)
        self.setSourceModel(self.rows)
        self._paths: list[str] = []
        self._sizes: list[int] = []
        self._near = 0  # the row row_of found last
        self.loader.loaded.connect(self._thumbnail_loaded)

    # --- contents --------------------------------------------------------------------------
    def set_files(self, paths: Sequence[str], sizes: Sequence[int]) -> None:
        """Replace the rows with the files at paths, of sizes bytes (two lists as long)."""
        if len(paths) != len(sizes):
            raise ValueError("one size per path")
        self._paths = list(paths)
        self._sizes = list(sizes)
        self._near = 0
        # The strings only carry the row count (data() reads self._paths), and names once a
        # view showed the row. Empty, then that many empty rows made in C++: 3 times faster
        # than converting a list of 100,000 empty strings (which was 4-5 times faster than
        # the paths themselves).
        self.rows.setStringList([])  # resets this model
        if self._paths:
            self.rows.insertRows(0, len(self._paths))

    def files(self) -> list[str]:
        return list(self._paths)

    def path(self, row: int) -> str:
        return self._paths[row]

    def label_rows(self, rows: Iterable[int]) -> None:
        """Put the file names of rows into `rows` (accessibility tools read a view's names
        there), for the rows a view shows: naming 100,000 rows when they are queued would
        cost 15 ms."""
        for row in rows:
            index = self.rows.index(row, 0)
            if index.isValid() and not index.data():
                self.rows.setData(index, os.path.basename(self._paths[row]))

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
            self.rows.removeRows(row, 1)
        if gone:
            self.removed.emit(gone)
        return gone

    def set_detailed(self, on: bool) -> None:
        if on != self.detailed:
            self.detailed = on
            if self._paths:
                last = len(self._paths) - 1
                # On the rows (the view's model); the proxy passes it on.
                self.rows.dataChanged.emit(self.rows.index(0, 0), self.rows.index(last, 0))

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
            index = self.rows.index(row, 0)
            self.rows.dataChanged.emit(index, index)
