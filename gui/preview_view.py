"""The before/after preview on screen: PreviewCanvas (`previewView`) paints the original and the
recipe's output over each other with a split line the user drags (or side by side), at fit or
at 100 % with panning, both halves always showing the same region; PreviewPanel adds the
split slider (`previewSlider`), the zoom and mode buttons and the info line
(`previewInfoLabel`).
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal, Slot
from PySide6.QtGui import QColor, QImage, QMouseEvent, QPainter, QPaintEvent, QPalette, QPixmap
from PySide6.QtWidgets import (
    QButtonGroup,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QSlider,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from pixmill.engine.i18n import N_, _
from pixmill.engine.preview import PreviewOutcome

from .preview import Pictures

SPLIT, SIDE = "split", "side"
FIT, ACTUAL = "fit", "actual"
_GRAB = 6  # how near the split line (pixels) a press takes the line rather than the picture
PLACEHOLDER = N_(
    "Choose an image in the queue (or a converted file in the results) to see it\n"
    "before and after the recipe."
)


class PreviewCanvas(QWidget):
    """Paints the two pictures of a Pictures.

    Signals:
        splitMoved(object): float, the split line's new place (0-1 of the width), dragged.
    """

    splitMoved = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("previewView")
        self.setAccessibleName(_("Preview: the original and the recipe's output"))
        self.setMinimumSize(160, 120)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.mode = SPLIT
        self.zoom = FIT
        self.split = 0.5
        self.stale = ""
        self.message = _(PLACEHOLDER)
        self._original: QImage | None = None
        self._output: QImage | None = None
        self._fit_cache: dict[tuple[int, int, int], QPixmap] = {}
        self._center = QPointF(0.5, 0.5)  # the picture point (0-1) at the view's centre
        self._drag: str | None = None
        self._last = QPointF()

    # --- state -----------------------------------------------------------------------------
    def set_pictures(self, pictures: Pictures | None) -> None:
        self._original = pictures.original if pictures else None
        self._output = pictures.output if pictures else None
        self._fit_cache.clear()
        self.stale = ""
        self.update()

    def has_pictures(self) -> bool:
        return self._output is not None

    def set_stale(self, why: str) -> None:
        self.stale = why
        self.update()

    def set_message(self, text: str) -> None:
        """Shown instead of pictures (nothing chosen, or why there is no preview)."""
        self.message = text
        self.set_pictures(None)

    def set_split(self, fraction: float) -> None:
        self.split = min(1.0, max(0.0, fraction))
        self.update()

    def set_mode(self, mode: str) -> None:
        self.mode = mode
        self.update()

    def set_zoom(self, zoom: str) -> None:
        self.zoom = zoom
        self._center = QPointF(0.5, 0.5)
        self.update()

    def sizeHint(self) -> QSize:
        return QSize(480, 320)

    # --- geometry --------------------------------------------------------------------------
    def _panes(self) -> list[QRectF]:
        r = QRectF(self.rect())
        if self.mode == SIDE:
            half = (r.width() - 4) / 2
            return [
                QRectF(r.left(), r.top(), half, r.height()),
                QRectF(r.right() - half, r.top(), half, r.height()),
            ]
        return [r]

    def _placement(self, pane: QRectF) -> QRectF:
        """Where the picture lies in pane (the same for both pictures)."""
        assert self._output is not None
        w, h = self._output.width(), self._output.height()
        if self.zoom == FIT:
            s = min(pane.width() / w, pane.height() / h)
            return QRectF(
                pane.center().x() - w * s / 2, pane.center().y() - h * s / 2, w * s, h * s
            )
        left = pane.center().x() - self._center.x() * w
        top = pane.center().y() - self._center.y() * h
        return QRectF(left, top, w, h)

    # --- painting --------------------------------------------------------------------------
    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        try:
            painter.fillRect(self.rect(), self.palette().color(QPalette.ColorRole.Dark))
            if self._output is None or self._original is None:
                painter.setPen(self.palette().color(QPalette.ColorRole.BrightText))
                painter.drawText(
                    self.rect().adjusted(12, 12, -12, -12),
                    int(Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap),
                    self.message,
                )
                return
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
            panes = self._panes()
            if self.mode == SIDE:
                for pane, image, label in zip(
                    panes, (self._original, self._output), (_("Original"), _("Output")), strict=True
                ):
                    painter.save()
                    painter.setClipRect(pane)
                    self._draw(painter, image, self._placement(pane))
                    painter.restore()
                    self._badge(painter, pane, label, left=True)
            else:
                pane = panes[0]
                place = self._placement(pane)
                x = pane.left() + self.split * pane.width()
                painter.save()
                painter.setClipRect(QRectF(pane.left(), pane.top(), x - pane.left(), pane.height()))
                self._draw(painter, self._original, place)
                painter.setClipRect(QRectF(x, pane.top(), pane.right() - x, pane.height()))
                self._draw(painter, self._output, place)
                painter.restore()
                painter.setPen(QColor(255, 255, 255, 230))
                painter.drawLine(QPointF(x, pane.top()), QPointF(x, pane.bottom()))
                painter.setBrush(QColor(255, 255, 255, 230))
                painter.drawEllipse(QPointF(x, pane.center().y()), 5, 5)
                self._badge(painter, pane, _("Original"), left=True)
                self._badge(painter, pane, _("Output"), left=False)
            if self.stale:
                painter.fillRect(self.rect(), QColor(0, 0, 0, 90))
                self._badge(painter, QRectF(self.rect()), self.stale, left=None)
        finally:
            painter.end()

    def _draw(self, painter: QPainter, image: QImage, place: QRectF) -> None:
        if self.zoom == ACTUAL:
            painter.drawImage(place.topLeft(), image)
            return
        key = (id(image), round(place.width()), round(place.height()))
        scaled = self._fit_cache.get(key)
        if scaled is None:
            ratio = self.devicePixelRatioF()
            scaled = QPixmap.fromImage(
                image.scaled(
                    max(1, round(place.width() * ratio)),
                    max(1, round(place.height() * ratio)),
                    Qt.AspectRatioMode.IgnoreAspectRatio,
                    Qt.TransformationMode.SmoothTransformation,
                )
            )
            scaled.setDevicePixelRatio(ratio)
            if len(self._fit_cache) > 8:
                self._fit_cache.clear()
            self._fit_cache[key] = scaled
        painter.drawPixmap(place.topLeft(), scaled)

    def _badge(self, painter: QPainter, pane: QRectF, text: str, left: bool | None) -> None:
        fm = self.fontMetrics()
        w, h = fm.horizontalAdvance(text) + 12, fm.height() + 6
        if left is None:
            x = pane.center().x() - w / 2
        else:
            x = pane.left() + 8 if left else pane.right() - 8 - w
        box = QRectF(x, pane.top() + 8, w, h)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(0, 0, 0, 150))
        painter.drawRoundedRect(box, 4, 4)
        painter.setPen(QColor(255, 255, 255))
        painter.drawText(box, int(Qt.AlignmentFlag.AlignCenter), text)

    # --- the mouse -------------------------------------------------------------------------
    def mousePressEvent(self, event: QMouseEvent) -> None:
        pos = event.position()
        self._last = pos
        if self._output is None:
            return
        near = abs(pos.x() - self.width() * self.split) <= _GRAB
        if self.mode == SPLIT and (self.zoom == FIT or near):
            self._drag = "split"
            self._move_split(pos.x())
        elif self.zoom == ACTUAL:
            self._drag = "pan"
            self.setCursor(Qt.CursorShape.ClosedHandCursor)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        pos = event.position()
        if self._drag == "split":
            self._move_split(pos.x())
        elif self._drag == "pan" and self._output is not None:
            d = pos - self._last
            w, h = self._output.width(), self._output.height()
            self._center = QPointF(
                min(1.0, max(0.0, self._center.x() - d.x() / w)),
                min(1.0, max(0.0, self._center.y() - d.y() / h)),
            )
            self.update()
        self._last = pos

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        self._drag = None
        self.unsetCursor()

    def _move_split(self, x: float) -> None:
        self.set_split(x / max(1, self.width()))
        self.splitMoved.emit(self.split)


class PreviewPanel(QWidget):
    """The canvas with its controls and the info line.

    Attributes:
        canvas (previewView), slider (previewSlider), infoLabel (previewInfoLabel).
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.canvas = PreviewCanvas(self)
        self.slider = QSlider(Qt.Orientation.Horizontal, self)
        self.slider.setObjectName("previewSlider")
        self.slider.setAccessibleName(_("Split line: original on the left, output on the right"))
        self.slider.setRange(0, 1000)
        self.slider.setValue(500)
        self.slider.valueChanged.connect(lambda v: self.canvas.set_split(v / 1000))
        self.canvas.splitMoved.connect(self._split_dragged)
        self._info = ""
        self.stale = False
        self.infoLabel = QLabel(_("No preview yet."), self)
        self.infoLabel.setObjectName("previewInfoLabel")
        self.infoLabel.setTextFormat(Qt.TextFormat.PlainText)
        self.infoLabel.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.infoLabel.setMinimumWidth(10)  # long lines are cut, never widen the window

        controls = QHBoxLayout()
        controls.setContentsMargins(0, 0, 0, 0)
        self._modes = self._buttons(
            controls,
            (
                (SPLIT, _("Split"), "previewSplitButton"),
                (SIDE, _("Side by side"), "previewSideButton"),
            ),
            self._mode_chosen,
        )
        controls.addSpacing(8)
        self._zooms = self._buttons(
            controls,
            ((FIT, _("Fit"), "previewFitButton"), (ACTUAL, "100 %", "previewActualButton")),
            self._zoom_chosen,
        )
        controls.addSpacing(8)
        controls.addWidget(QLabel(_("Original"), self))
        controls.addWidget(self.slider, 1)
        controls.addWidget(QLabel(_("Output"), self))

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 4, 0, 0)
        layout.setSpacing(4)
        layout.addLayout(controls)
        layout.addWidget(self.canvas, 1)
        layout.addWidget(self.infoLabel)

    def _buttons(
        self, row: QHBoxLayout, specs: tuple[tuple[str, str, str], ...], chosen: object
    ) -> QButtonGroup:
        group = QButtonGroup(self)
        for i, (value, text, name) in enumerate(specs):
            b = QToolButton(self)
            b.setText(text)
            b.setObjectName(name)
            b.setCheckable(True)
            b.setChecked(i == 0)
            b.setProperty("choice", value)
            group.addButton(b)
            row.addWidget(b)
        group.buttonClicked.connect(chosen)
        return group

    @Slot(object)
    def _mode_chosen(self, button: QToolButton) -> None:
        self.canvas.set_mode(button.property("choice"))
        self.slider.setEnabled(self.canvas.mode == SPLIT)

    @Slot(object)
    def _zoom_chosen(self, button: QToolButton) -> None:
        self.canvas.set_zoom(button.property("choice"))

    @Slot(object)
    def _split_dragged(self, fraction: float) -> None:
        self.slider.blockSignals(True)
        self.slider.setValue(round(fraction * 1000))
        self.slider.blockSignals(False)

    # --- what the controller says ----------------------------------------------------------
    @Slot(object)
    def show_stale(self, why: str) -> None:
        """Mark what is shown as out of date while the new preview is made."""
        self.stale = True
        if self.canvas.has_pictures():
            self.canvas.set_stale(why)
        else:
            self.canvas.set_message(why)
        self.infoLabel.setText(
            _("{why} Shown: {info}").format(why=why, info=self._info) if self._info else why
        )

    @Slot(object)
    def show_info(self, outcome: PreviewOutcome) -> None:
        self.stale = False
        self._info = outcome.text
        self.infoLabel.setText(self._info)

    @Slot(object)
    def show_pictures(self, pictures: Pictures) -> None:
        self.canvas.set_pictures(pictures)
        self.show_info(pictures.outcome)

    @Slot(object)
    def show_failure(self, text: str) -> None:
        self.stale = False
        self._info = ""
        self.canvas.set_message(text)
        self.infoLabel.setText(text)

    def clear(self) -> None:
        self._info = ""
        self.canvas.set_message(_(PLACEHOLDER))
        self.infoLabel.setText(_("No preview yet."))
