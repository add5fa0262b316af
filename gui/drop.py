"""Dropping folders and files anywhere on the window: reading the drop, and the highlight that
says "let go here"."""

from __future__ import annotations

from PySide6.QtCore import QMimeData, QObject, QRectF, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QDragEnterEvent,
    QDragMoveEvent,
    QDropEvent,
    QFont,
    QPainter,
    QPaintEvent,
    QPalette,
    QPen,
)
from PySide6.QtWidgets import QLineEdit, QWidget

from pixmill.engine.i18n import _


def local_paths(mime: QMimeData | None) -> list[str]:
    """The local files and folders a drag carries (remote URLs are ignored)."""
    if mime is None or not mime.hasUrls():
        return []
    return [url.toLocalFile() for url in mime.urls() if url.isLocalFile() and url.toLocalFile()]


class DropOverlay(QWidget):
    """A translucent layer over its parent while something droppable hovers. It never takes
    mouse or drag events itself, so the drop still reaches the window."""

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.setAttribute(Qt.WidgetAttribute.WA_NoSystemBackground)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.hide()

    def show_over_parent(self) -> None:
        self.setGeometry(self.parentWidget().rect())
        self.raise_()
        self.show()

    def paintEvent(self, event: QPaintEvent) -> None:
        p = QPainter(self)
        try:
            p.setRenderHint(QPainter.RenderHint.Antialiasing)
            highlight = self.palette().color(QPalette.ColorRole.Highlight)
            fill = QColor(highlight)
            fill.setAlpha(40)
            rect = QRectF(self.rect()).adjusted(6, 6, -6, -6)
            p.setBrush(fill)
            p.setPen(QPen(highlight, 2, Qt.PenStyle.DashLine))
            p.drawRoundedRect(rect, 10, 10)
            font = QFont(self.font())
            if font.pointSizeF() > 0:
                font.setPointSizeF(font.pointSizeF() * 1.6)
            font.setBold(True)
            p.setFont(font)
            text = _("Drop to add these images")
            metrics = p.fontMetrics()
            pad = metrics.height()
            label = QRectF(metrics.boundingRect(text)).adjusted(-pad, -pad / 2, pad, pad / 2)
            label.moveCenter(rect.center())
            p.setBrush(self.palette().color(QPalette.ColorRole.Window))
            p.setPen(QPen(highlight, 2))
            p.drawRoundedRect(label, pad / 2, pad / 2)
            p.setPen(self.palette().color(QPalette.ColorRole.WindowText))
            p.drawText(label, int(Qt.AlignmentFlag.AlignCenter), text)
        finally:
            p.end()


class DropTarget(QObject):
    """Makes a whole window a drop zone for local files and folders. The window forwards its
    drag events here (dragEnterEvent -> enter, and so on).

    Qt hands a drag to the innermost widget that accepts drops, then up its parents; text
    fields would take a dropped folder as text, so they are told not to accept drops and
    everything reaches the window.

    Signals:
        dropped(object): list[str], the local paths that were dropped.
    """

    dropped = Signal(object)

    def __init__(self, window: QWidget, overlay_parent: QWidget) -> None:
        super().__init__(window)
        self.overlay = DropOverlay(overlay_parent)
        for edit in window.findChildren(QLineEdit):
            edit.setAcceptDrops(False)
        window.setAcceptDrops(True)

    def enter(self, event: QDragEnterEvent) -> None:
        if local_paths(event.mimeData()):
            event.acceptProposedAction()
            self.overlay.show_over_parent()
        else:
            event.ignore()

    def move(self, event: QDragMoveEvent) -> None:
        if local_paths(event.mimeData()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def leave(self) -> None:
        self.overlay.hide()

    def drop(self, event: QDropEvent) -> None:
        self.overlay.hide()
        paths = local_paths(event.mimeData())
        if paths:
            event.acceptProposedAction()
            self.dropped.emit(paths)
        else:
            event.ignore()
