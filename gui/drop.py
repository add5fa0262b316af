"""Dropping folders and files anywhere on the window: reading the drop, and the highlight that
says "let go here"."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QMimeData, QObject, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPaintEvent, QPalette, QPen
from PySide6.QtWidgets import QWidget


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
        parent.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.parentWidget() and event.type() == QEvent.Type.Resize:
            self.setGeometry(self.parentWidget().rect())
        return False

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
            p.setPen(self.palette().color(QPalette.ColorRole.WindowText))
            p.drawText(rect, int(Qt.AlignmentFlag.AlignCenter), "Drop to add these images")
        finally:
            p.end()
