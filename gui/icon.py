"""Pixmill's icon: the PNGs in resources/icons when they are installed, else a drawn stand-in
(so a window never shows without one)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QIcon, QLinearGradient, QPainter, QPainterPath, QPixmap

_SIZES = (16, 24, 32, 48, 64, 128, 256)


def _draw(size: int) -> QPixmap:
    pixmap = QPixmap(size, size)
    pixmap.fill(Qt.GlobalColor.transparent)
    p = QPainter(pixmap)
    try:
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        s = float(size)
        tile = QRectF(s * 0.06, s * 0.06, s * 0.88, s * 0.88)
        gradient = QLinearGradient(tile.topLeft(), tile.bottomRight())
        gradient.setColorAt(0.0, QColor("#3f8cff"))
        gradient.setColorAt(1.0, QColor("#1f4fbf"))
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(QBrush(gradient))
        p.drawRoundedRect(tile, s * 0.2, s * 0.2)
        # A stack of two "photos": one behind, one in front with hills and a sun.
        back = QRectF(s * 0.30, s * 0.20, s * 0.48, s * 0.40)
        p.setBrush(QColor(255, 255, 255, 120))
        p.drawRoundedRect(back, s * 0.05, s * 0.05)
        front = QRectF(s * 0.20, s * 0.34, s * 0.50, s * 0.42)
        p.setBrush(QColor("#ffffff"))
        p.drawRoundedRect(front, s * 0.05, s * 0.05)
        hills = QPainterPath()
        hills.moveTo(front.left() + s * 0.03, front.bottom() - s * 0.04)
        hills.lineTo(front.left() + s * 0.18, front.top() + s * 0.17)
        hills.lineTo(front.left() + s * 0.29, front.top() + s * 0.28)
        hills.lineTo(front.left() + s * 0.36, front.top() + s * 0.22)
        hills.lineTo(front.right() - s * 0.03, front.bottom() - s * 0.04)
        hills.closeSubpath()
        p.setBrush(QColor("#2b6de0"))
        p.drawPath(hills)
        p.setBrush(QColor("#ffb300"))
        p.drawEllipse(QPointF(front.right() - s * 0.12, front.top() + s * 0.11), s * 0.05, s * 0.05)
    finally:
        p.end()
    return pixmap


def _icon_files() -> list[Path]:
    try:
        import pixmill.resources
    except ImportError:
        return []
    folder = Path(pixmill.resources.__file__).resolve().parent / "icons"
    return sorted(folder.glob("pixmill-*.png")) if folder.is_dir() else []


def app_icon() -> QIcon:
    icon = QIcon()
    for path in _icon_files():
        icon.addFile(str(path))
    if icon.isNull():
        for size in _SIZES:
            icon.addPixmap(_draw(size))
    return icon
