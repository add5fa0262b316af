"""Empty-state text painted in the middle of an item view's viewport."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QPainter, QPalette
from PySide6.QtWidgets import QWidget


def paint_placeholder(viewport: QWidget, text: str) -> None:
    """Draw text centred and dimmed, the way an empty list invites the first action."""
    painter = QPainter(viewport)
    try:
        color = viewport.palette().color(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text)
        painter.setPen(color)
        rect = viewport.rect().adjusted(16, 16, -16, -16)
        flags = Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap
        painter.drawText(rect, int(flags), text)
    finally:
        painter.end()
