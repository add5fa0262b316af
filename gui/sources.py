"""The sources: queued folders and files, each with the number of images it holds, and the
queue of the image files themselves with thumbnails (queue_view.QueueView), from which single
files can be taken out of the batch.

Counting walks folder trees on a background thread (pixmill.engine.scan, cancellable),
with a busy indicator while it runs. Entries that hold no images are dropped with a notice.
The authoritative scan happens again at Start, with the recipe in force then.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtGui import QKeySequence, QPaintEvent, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QPushButton,
    QStyle,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from pixmill.engine.codecs import is_image_name
from pixmill.engine.i18n import N_, _, ngettext, pgettext
from pixmill.engine.piecemeal import let_go
from pixmill.engine.report import human_bytes
from pixmill.engine.scan import ScanOptions, collect_sources

from .bridge import BackgroundTask
from .formatting import SEP
from .placeholder import paint_placeholder
from .queue_model import QueueModel
from .queue_view import QueueView

_PATH = Qt.ItemDataRole.UserRole
_COUNT = Qt.ItemDataRole.UserRole + 1
_BYTES = Qt.ItemDataRole.UserRole + 2


@dataclass
class SourceCount:
    """One queued path after counting."""

    path: str
    images: int = 0
    bytes: int = 0
    first_image: str | None = None
    problems: list[tuple[str, str]] = field(default_factory=list)
    #: Every image found and its bytes, in scan order (two lists: the window joins them in C
    #: and its garbage collector has no 100,000 pairs to walk).
    paths: list[str] = field(default_factory=list)
    sizes: list[int] = field(default_factory=list)


def count_images(
    paths: Iterable[str], options: ScanOptions, cancelled: Callable[[], bool]
) -> list[SourceCount]:
    """Count the images under each path separately (runs on a background thread)."""
    counts = []
    for path in paths:
        sources, problems = collect_sources([path], options, cancelled)
        sizes = [s.size for s in sources]
        counts.append(
            SourceCount(
                path,
                len(sources),
                sum(sizes),  # in C: not a second walk over the Sources
                sources[0].path if sources else None,
                problems,
                [s.path for s in sources],
                sizes,
            )
        )
        let_go(sources)  # 100,000 Sources freed at once held the GIL 40 ms
    return counts


def display_path(path: str) -> str:
    """The path as a list shows it: the home folder written as ~."""
    home = os.path.expanduser("~")
    if home not in ("", os.sep) and (path == home or path.startswith(home + os.sep)):
        return "~" + path[len(home) :]
    return path


class SourceList(QTreeWidget):
    """Two columns (source, images); says how to fill it while empty."""

    placeholder = N_(
        "Drop folders or images anywhere on this window,\nor use Add Folder… (Ctrl+O)."
    )

    def paintEvent(self, event: QPaintEvent) -> None:
        super().paintEvent(event)
        if self.topLevelItemCount() == 0:
            paint_placeholder(self.viewport(), _(self.placeholder))


class SourcesPanel(QGroupBox):
    """Queued inputs with their image counts, Add / Remove / Clear, and the scan indicator.

    Attributes:
        addFolderButton, addFilesButton: the main window connects them to its file dialogs.
        queue, queueView: every image file found (QueueModel) and its view (which the
            window places).

    Signals:
        changed(object): list[str], the queued paths after an entry was added or removed.
        countsChanged(object): int, the images counted so far over all entries.
        scanningChanged(object): bool, whether a background count is running.
        exampleChanged(object): str | None, the first image of the queue (for naming examples).
        notice(object): str, something the user should read (nothing found, not an image, ...).
    """

    changed = Signal(object)
    countsChanged = Signal(object)
    scanningChanged = Signal(object)
    exampleChanged = Signal(object)
    notice = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(_("Sources"), parent)
        self._options: Callable[[], ScanOptions] = ScanOptions
        self._tasks: set[BackgroundTask] = set()
        self._first_images: dict[str, str] = {}
        self._files: dict[str, tuple[list[str], list[int]]] = {}  # path: (files, bytes)
        self._excluded: set[str] = set()
        self.queue = QueueModel(parent=self)
        self.queue.removed.connect(self._files_removed)
        self.queueView = QueueView(self.queue, self)

        self.list = SourceList(self)
        self.list.setObjectName("sourceList")
        self.list.setAccessibleName(_("Sources: folders and files to convert"))
        self.list.setHeaderLabels([_("Folder or file"), _("Images")])
        self.list.setRootIsDecorated(False)
        self.list.setUniformRowHeights(True)
        self.list.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.list.setTextElideMode(Qt.TextElideMode.ElideLeft)  # the folder's own name shows
        header = self.list.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        self.list.itemSelectionChanged.connect(self._update_buttons)
        delete = QShortcut(QKeySequence(QKeySequence.StandardKey.Delete), self.list)
        delete.setContext(Qt.ShortcutContext.WidgetShortcut)
        delete.activated.connect(self.remove_selected)

        self.addFolderButton = self._button(_("Add Folder…"), "addFolderButton", "Ctrl+O")
        self.addFilesButton = self._button(_("Add Files…"), "addFilesButton", "Ctrl+Shift+O")
        self.removeButton = self._button(_("Remove"), "removeButton", "Delete")
        self.clearButton = self._button(_("Clear"), "clearButton", "")
        self.removeButton.clicked.connect(self.remove_selected)
        self.clearButton.clicked.connect(self.clear)

        self.scanBusy = QProgressBar(self)
        self.scanBusy.setObjectName("scanBusy")
        self.scanBusy.setAccessibleName(_("Counting images"))
        self.scanBusy.setRange(0, 0)
        self.scanBusy.setTextVisible(False)
        self.scanBusy.setMaximumHeight(self.fontMetrics().height())
        self.scanLabel = QLabel(_("Counting images…"), self)
        self.stopScanButton = self._button(_("Stop"), "stopScanButton", "")
        self.stopScanButton.setToolTip(_("Stop counting (the files are still converted)"))
        self.stopScanButton.clicked.connect(self.cancel_scans)
        self.totalsLabel = QLabel(self)
        self.totalsLabel.setObjectName("sourceTotals")

        buttons = QHBoxLayout()
        for b in (self.addFolderButton, self.addFilesButton, self.removeButton):
            buttons.addWidget(b)
        buttons.addStretch(1)
        buttons.addWidget(self.clearButton)
        self.scanRow = QWidget(self)
        scan = QHBoxLayout(self.scanRow)
        scan.setContentsMargins(0, 0, 0, 0)
        scan.addWidget(self.scanLabel)
        scan.addWidget(self.scanBusy, 1)
        scan.addWidget(self.stopScanButton)
        self.scanRow.hide()

        layout = QVBoxLayout(self)
        layout.addWidget(self.list, 1)
        layout.addWidget(self.scanRow)
        layout.addWidget(self.totalsLabel)
        layout.addLayout(buttons)
        self._update_buttons()
        self._update_totals()

    def _button(self, text: str, name: str, shortcut: str) -> QPushButton:
        button = QPushButton(text, self)
        button.setObjectName(name)
        button.setAccessibleName(text.rstrip("…"))
        if shortcut:
            button.setToolTip(
                _("{action} ({shortcut})").format(action=text.rstrip("…"), shortcut=shortcut)
            )
        return button

    # --- queue -----------------------------------------------------------------------------
    def set_scan_options(self, provider: Callable[[], ScanOptions]) -> None:
        """Where counts take their recursion and exclusions from (called per scan)."""
        self._options = provider

    def paths(self) -> list[str]:
        return [self.list.topLevelItem(i).data(0, _PATH) for i in range(self._len())]

    def image_count(self) -> int:
        return sum(self._item(i).data(0, _COUNT) or 0 for i in range(self._len()))

    def excluded(self) -> set[str]:
        """Image files taken out of the batch by hand (their folders stay queued)."""
        return set(self._excluded)

    def is_scanning(self) -> bool:
        return any(t.running for t in self._tasks)

    def add_paths(self, paths: Iterable[str]) -> list[str]:
        """Queue folders and image files and count them in the background; returns the paths
        that were queued (duplicates, missing paths and non-images are reported, not added)."""
        queued = set(self.paths())
        added: list[str] = []
        refused: list[str] = []
        for raw in paths:
            path = os.path.abspath(os.fspath(raw))
            if path in queued:
                continue
            if os.path.isfile(path) and not is_image_name(path):
                refused.append(_("“{name}” is not an image").format(name=os.path.basename(path)))
                continue
            if not os.path.exists(path):
                refused.append(_("“{path}” was not found").format(path=path))
                continue
            queued.add(path)
            added.append(path)
            self.list.addTopLevelItem(self._new_item(path))
        if refused:
            self.notice.emit("; ".join(refused) + ".")
        if added:
            self._count(added)
            self._changed()
        return added

    def _new_item(self, path: str) -> QTreeWidgetItem:
        item = QTreeWidgetItem([display_path(path), "counting…"])
        item.setData(0, _PATH, path)
        item.setToolTip(0, path)
        icon = (
            QStyle.StandardPixmap.SP_DirIcon
            if os.path.isdir(path)
            else QStyle.StandardPixmap.SP_FileIcon
        )
        item.setIcon(0, self.style().standardIcon(icon))
        item.setTextAlignment(1, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return item

    @Slot()
    def remove_selected(self) -> None:
        for item in self.list.selectedItems():
            self.list.takeTopLevelItem(self.list.indexOfTopLevelItem(item))
            self._files.pop(item.data(0, _PATH), None)
        self._rebuild_queue()
        self._changed()

    @Slot()
    def clear(self) -> None:
        self.cancel_scans()
        self.list.clear()
        self._files.clear()
        self._excluded.clear()
        self._rebuild_queue()
        self._changed()

    @Slot(object)
    def _files_removed(self, paths: list[str]) -> None:
        self._excluded.update(paths)
        self._update_totals()

    def _rebuild_queue(self) -> None:
        lists = [self._files.get(p, ([], [])) for p in self.paths()]
        paths = list(itertools.chain.from_iterable(f for f, _b in lists))  # in C
        sizes = list(itertools.chain.from_iterable(b for _f, b in lists))
        if self._excluded:  # forget files whose folder left the queue
            self._excluded &= set(paths)
            kept = [i for i, p in enumerate(paths) if p not in self._excluded]
            paths, sizes = [paths[i] for i in kept], [sizes[i] for i in kept]
        self.queue.set_files(paths, sizes)

    @Slot()
    def rescan(self) -> None:
        """Count everything again (after the recursion or output settings changed)."""
        self.cancel_scans()
        paths = self.paths()
        for i in range(self._len()):
            self._item(i).setText(1, "counting…")
        if paths:
            self._count(paths)

    # --- background counting ---------------------------------------------------------------
    def _count(self, paths: list[str]) -> None:
        options = self._options()
        task = BackgroundTask(lambda cancelled: count_images(paths, options, cancelled), "count")
        task.setParent(self)
        task.finished.connect(self._counted)
        task.cancelled.connect(self._task_ended)
        task.failed.connect(self._count_failed)
        self._tasks.add(task)
        task.start()
        self._scanning_changed()

    @Slot()
    def cancel_scans(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        for i in range(self._len()):
            if self._item(i).data(0, _COUNT) is None:
                self._item(i).setText(1, _("not counted"))

    @Slot(object)
    def _counted(self, counts: list[SourceCount]) -> None:
        empty = []
        by_path = {self._item(i).data(0, _PATH): self._item(i) for i in range(self._len())}
        for c in counts:
            item = by_path.get(c.path)
            if item is None:
                continue  # removed while it was being counted
            if c.images == 0:
                empty.append(c)
                self.list.takeTopLevelItem(self.list.indexOfTopLevelItem(item))
                continue
            item.setData(0, _COUNT, c.images)
            item.setData(0, _BYTES, c.bytes)
            item.setText(1, f"{c.images:,}")
            if c.problems:
                item.setToolTip(0, c.path + "\n" + "\n".join(f"{p}: {m}" for p, m in c.problems))
            if c.first_image:
                self._first_images[c.path] = c.first_image
            self._files[c.path] = (c.paths, c.sizes)
        if empty:
            names = pgettext("list separator", ", ").join(
                f"“{os.path.basename(c.path) or c.path}”" for c in empty
            )
            nothing = _("holds no images")
            why = [m for c in empty for _f, m in c.problems if m != nothing]
            if why:
                text = _("No images found in {names} ({reason}).").format(
                    names=names, reason=why[0]
                )
            else:
                text = _("No images found in {names}.").format(names=names)
            self.notice.emit(text)
            self._changed()
        self._rebuild_queue()
        self._task_ended()

    @Slot(object)
    def _count_failed(self, exc: BaseException) -> None:
        self.notice.emit(_("Could not count the images: {error}").format(error=exc))
        self._task_ended()

    @Slot()
    def _task_ended(self) -> None:
        for task in [t for t in self._tasks if not t.running]:
            self._tasks.discard(task)
            task.deleteLater()
        self._update_totals()
        self._scanning_changed()

    def _scanning_changed(self) -> None:
        scanning = self.is_scanning()
        self.scanRow.setVisible(scanning)
        self.scanningChanged.emit(scanning)

    # --- display ---------------------------------------------------------------------------
    def _len(self) -> int:
        return self.list.topLevelItemCount()

    def _item(self, i: int) -> QTreeWidgetItem:
        return self.list.topLevelItem(i)

    def _changed(self) -> None:
        self._update_totals()
        self._update_buttons()
        self.changed.emit(self.paths())

    def _update_totals(self) -> None:
        n = self._len()
        if not n:
            self.totalsLabel.setText(_("Nothing queued yet."))
        else:
            images = self.image_count() - len(self._excluded)
            size = sum(self._item(i).data(0, _BYTES) or 0 for i in range(n))
            parts = [
                ngettext("{count} source", "{count} sources", n).format(count=f"{n:,}"),
                ngettext("{count} image", "{count} images", images).format(count=f"{images:,}"),
            ]
            if size:
                parts.append(human_bytes(size))
            self.totalsLabel.setText(SEP.join(parts))
        self.countsChanged.emit(self.image_count())
        paths = self.paths()
        first = next((self._first_images[p] for p in paths if p in self._first_images), None)
        self.exampleChanged.emit(first)

    def _update_buttons(self) -> None:
        self.removeButton.setEnabled(bool(self.list.selectedItems()))
        self.clearButton.setEnabled(self._len() > 0)
