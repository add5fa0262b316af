"""QueueView (`queueView`): the queued files with their thumbnails, as a grid or a list, and
"Remove from the batch" for single files.

It is a QListView in list mode with uniform item sizes (also for the grid, which wraps). Its
Qt model is the queue's plain C++ row model (QueueModel.rows), so Qt places 100,000 rows
without calling into Python; the delegate paints the QueueModel's data for the row, and only
for the rows on screen. Once the view has settled after a scroll or resize, it asks the
thumbnail loader for those rows. Indexes of the QueueModel are accepted where a caller gives
the view one (setCurrentIndex, scrollTo); currentIndex() answers with one.
"""

from __future__ import annotations

from PySide6.QtCore import (
    QModelIndex,
    QPersistentModelIndex,
    QSize,
    Qt,
    QTimer,
    Signal,
    Slot,
)
from PySide6.QtGui import (
    QAction,
    QContextMenuEvent,
    QHelpEvent,
    QKeySequence,
    QPaintEvent,
    QResizeEvent,
    QShowEvent,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QLabel,
    QListView,
    QMenu,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from pixmill.engine.i18n import N_, _, ngettext

from .placeholder import paint_placeholder
from .queue_model import QueueModel

GRID, LIST = "grid", "list"
#: Rows beyond the last visible one whose thumbnails are fetched too (smooth small scrolls).
_AHEAD = 4


class _ThumbnailDelegate(QStyledItemDelegate):
    """Picture above the name in the grid, beside name and details in the list: what the
    QueueModel says for the row the view's plain model gives."""

    def __init__(self, view: QueueView) -> None:
        super().__init__(view)
        self._view = view

    def initStyleOption(
        self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> None:
        super().initStyleOption(option, self._view.queue_index(index))
        if self._view.mode == GRID:
            option.decorationPosition = QStyleOptionViewItem.Position.Top
            option.displayAlignment = Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop
            option.textElideMode = Qt.TextElideMode.ElideMiddle

    def sizeHint(
        self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> QSize:
        if self._view.mode == GRID:  # one cell of the grid: the name is elided to fit it
            return self._view.gridSize() - QSize(4, 4)
        return super().sizeHint(option, index)

    def helpEvent(
        self,
        event: QHelpEvent,
        view: QAbstractItemView,
        option: QStyleOptionViewItem,
        index: QModelIndex | QPersistentModelIndex,
    ) -> bool:
        return super().helpEvent(event, view, option, self._view.queue_index(index))


class QueueView(QListView):
    """The queue's files; Delete or the context menu takes the selected ones out of the batch.

    Signals:
        fileChosen(object): str, the file the current row shows (the preview follows it).
    """

    fileChosen = Signal(object)
    placeholder = N_(
        "Drop folders or images anywhere on this window, or use Add Folder… (Ctrl+O): "
        "their images appear here."
    )

    def __init__(self, model: QueueModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("queueView")
        self.setAccessibleName(_("Queued images"))
        self.mode = LIST
        self._model = model
        self._rows = model.rows
        self.setModel(model.rows)
        self.setUniformItemSizes(True)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setItemDelegate(_ThumbnailDelegate(self))
        self.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.removeAction = QAction(_("Remove from the Batch"), self)
        self.removeAction.setObjectName("removeFromBatchAction")
        self.removeAction.setShortcut(QKeySequence(QKeySequence.StandardKey.Delete))
        self.removeAction.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        self.removeAction.triggered.connect(self.remove_selected)
        self.addAction(self.removeAction)
        self._visible_timer = QTimer(self)
        self._visible_timer.setSingleShot(True)
        self._visible_timer.setInterval(30)
        self._visible_timer.timeout.connect(self.update_visible)
        self.verticalScrollBar().valueChanged.connect(self._schedule_visible)
        for signal in (model.modelReset, model.rowsRemoved, model.layoutChanged):
            signal.connect(self._schedule_visible)
        self.selectionModel().currentChanged.connect(self._current_changed)
        self.set_mode(LIST)

    def set_mode(self, mode: str) -> None:
        """GRID: big pictures in wrapping rows; LIST: one file a row with its details."""
        self.mode = mode
        box = self._model.loader.box
        line = self.fontMetrics().height()
        self._model.set_detailed(mode == LIST)
        if mode == GRID:
            self.setFlow(QListView.Flow.LeftToRight)
            self.setWrapping(True)
            self.setResizeMode(QListView.ResizeMode.Adjust)
            self.setIconSize(QSize(box, box))
            self.setGridSize(QSize(box + 20, box + line + 14))
            self.setSpacing(0)
        else:
            self.setFlow(QListView.Flow.TopToBottom)
            self.setWrapping(False)
            self.setResizeMode(QListView.ResizeMode.Fixed)
            side = max(box * 7 // 12, 2 * line + 8)
            self.setIconSize(QSize(side, side))
            self.setGridSize(QSize())
            self.setSpacing(1)
        self._schedule_visible()

    def selected_paths(self) -> list[str]:
        return [self._model.path(i.row()) for i in self.selectionModel().selectedIndexes()]

    # --- indexes of the QueueModel or of the rows ------------------------------------------
    def queue_index(self, index: QModelIndex | QPersistentModelIndex) -> QModelIndex:
        """index (of the rows or of the QueueModel) as an index of the QueueModel."""
        if index.model() is self._model:
            return QModelIndex(index)
        return self._model.index(index.row(), 0) if index.isValid() else QModelIndex()

    def _row_index(self, index: QModelIndex | QPersistentModelIndex) -> QModelIndex:
        if index.model() is self._model:
            return self._model.mapToSource(index)
        return QModelIndex(index)

    def setCurrentIndex(self, index: QModelIndex | QPersistentModelIndex) -> None:
        super().setCurrentIndex(self._row_index(index))

    def currentIndex(self) -> QModelIndex:
        return self.queue_index(super().currentIndex())

    def scrollTo(
        self,
        index: QModelIndex | QPersistentModelIndex,
        hint: QAbstractItemView.ScrollHint = QAbstractItemView.ScrollHint.EnsureVisible,
    ) -> None:
        super().scrollTo(self._row_index(index), hint)

    @Slot()
    def remove_selected(self) -> list[str]:
        rows = [i.row() for i in self.selectionModel().selectedIndexes()]
        return self._model.remove_rows(rows)

    def contextMenuEvent(self, event: QContextMenuEvent) -> None:
        if not self.indexAt(event.pos()).isValid():
            return
        menu = QMenu(self)
        menu.addAction(self.removeAction)
        menu.exec(event.globalPos())

    def paintEvent(self, event: QPaintEvent) -> None:
        super().paintEvent(event)
        if self._model.rowCount() == 0:
            paint_placeholder(self.viewport(), _(self.placeholder))
        else:
            self._schedule_visible()  # what was painted may lack its thumbnail

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._schedule_visible()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self._schedule_visible()

    # --- what is on screen -----------------------------------------------------------------
    @Slot()
    def _schedule_visible(self) -> None:
        if not self._visible_timer.isActive():
            self._visible_timer.start()

    def model(self) -> QueueModel:
        return self._model

    def visible_rows(self) -> range:
        """The rows the viewport shows now."""
        n, bottom = self._model.rowCount(), self.viewport().rect().bottom()
        first = self._first_shown(n)
        row = first
        while row < n and self.visualRect(self._rows.index(row, 0)).top() < bottom:
            row += 1
        return range(first, row)

    def _first_shown(self, n: int) -> int:
        """The first of n rows at least partly below the viewport's top (n if none). Rows lie
        in order down the view (line after line of them in the grid), so a binary search
        over their rectangles finds it, wherever the spacing between rows falls."""
        lo, hi = 0, n
        while lo < hi:
            mid = (lo + hi) // 2
            if self.visualRect(self._rows.index(mid, 0)).bottom() < 0:
                lo = mid + 1
            else:
                hi = mid
        return lo

    @Slot()
    def update_visible(self) -> None:
        """Ask for the thumbnails of the rows on screen once the view has settled (and of
        the next few rows, so that a small scroll finds them ready); drop the requests for
        rows scrolled away."""
        model, rows = self._model, self.visible_rows()
        if not rows:
            return
        ahead = range(rows.stop, min(model.rowCount(), rows.stop + _AHEAD))
        model.label_rows(rows)
        model.loader.keep_only({model.path(r) for r in (*rows, *ahead)})
        for r in (*rows, *ahead):
            model.loader.request(model.path(r))

    @Slot(QModelIndex, QModelIndex)
    def _current_changed(self, current: QModelIndex, previous: QModelIndex) -> None:
        if current.isValid():
            self.fileChosen.emit(self._model.path(current.row()))


class QueuePanel(QWidget):
    """The queue view with its Grid / List switch and a count of the files.

    Attributes:
        view: the QueueView; gridButton, listButton: the mode switch.
    """

    def __init__(self, view: QueueView, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.view = view
        self.countLabel = QLabel(self)
        self.countLabel.setObjectName("queueCountLabel")
        self.gridButton = self._mode_button(
            _("Grid"), _("Show the queued images as a grid"), "queueGridButton", GRID
        )
        self.listButton = self._mode_button(
            _("List"), _("Show the queued images as a list"), "queueListButton", LIST
        )
        self.listButton.setChecked(True)
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.countLabel, 1)
        row.addWidget(self.gridButton)
        row.addWidget(self.listButton)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(row)
        layout.addWidget(view, 1)
        model = view.model()
        for signal in (model.modelReset, model.rowsInserted, model.rowsRemoved):
            signal.connect(self._count_changed)
        self._count_changed()

    def _mode_button(self, text: str, tip: str, name: str, mode: str) -> QToolButton:
        b = QToolButton(self)
        b.setText(text)
        b.setObjectName(name)
        b.setCheckable(True)
        b.setAutoExclusive(True)
        b.setToolTip(tip)
        b.clicked.connect(lambda _=False: self.view.set_mode(mode))
        return b

    @Slot()
    def _count_changed(self) -> None:
        n = self.view.model().rowCount()
        self.countLabel.setText(
            ngettext("{count} image", "{count} images", n).format(count=f"{n:,}")
        )
        self.countLabel.setToolTip(_("Choose one to preview it; Delete takes it out of the batch"))
