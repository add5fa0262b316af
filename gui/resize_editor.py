"""Edits a Resize: the mode, the size fields that mode uses, enlarging and the filter."""

from __future__ import annotations

import dataclasses

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QSpinBox,
    QStackedWidget,
    QWidget,
)

from pixmill.engine.i18n import N_, _
from pixmill.engine.recipe import RESAMPLE_FILTERS, RESIZE_MODES, Resize

MODE_LABELS = {
    "none": N_("Keep original size"),
    "fit": N_("Fit within a box"),
    "long_edge": N_("Longest side"),
    "percent": N_("Scale by percent"),
    "exact": N_("Exact size (may stretch)"),
    "fill": N_("Fill a box (crop)"),
}
FILTER_LABELS = {
    "lanczos": N_("Lanczos (sharpest)"),
    "bicubic": N_("Bicubic"),
    "bilinear": N_("Bilinear"),
    "nearest": N_("Nearest (pixel art)"),
}
_PAGE = {"none": 0, "fit": 1, "exact": 1, "fill": 1, "long_edge": 2, "percent": 3}
MAX_SIDE = 65535


def _pixels(name: str, value: int) -> QSpinBox:
    spin = QSpinBox()
    spin.setRange(1, MAX_SIDE)
    spin.setValue(value)
    spin.setSuffix(_(" px"))
    spin.setAccessibleName(name)
    spin.setGroupSeparatorShown(True)
    return spin


class ResizeEditor(QObject):
    """The resize rows of the recipe form, for engine.recipe.Resize. The size row shows only
    the fields the chosen mode uses.

    Signals:
        changed(object): None; any field was edited (read the value with resize_value()).
    """

    changed = Signal(object)

    def __init__(self, form: QFormLayout, parent: QObject | None = None) -> None:
        """Adds its rows to `form` (so labels line up with the rest of the recipe)."""
        super().__init__(parent)
        self._loaded = Resize()
        self.modeCombo = QComboBox()
        self.modeCombo.setObjectName("resizeModeCombo")
        self.modeCombo.setAccessibleName(_("Resize mode"))
        for mode in RESIZE_MODES:
            self.modeCombo.addItem(_(MODE_LABELS[mode]), mode)

        self.widthSpin = _pixels(_("Width"), 1920)
        self.widthSpin.setObjectName("widthSpin")
        self.heightSpin = _pixels(_("Height"), 1080)
        self.heightSpin.setObjectName("heightSpin")
        self.longEdgeSpin = _pixels(_("Longest side"), 2048)
        self.longEdgeSpin.setObjectName("longEdgeSpin")
        self.percentSpin = QDoubleSpinBox()
        self.percentSpin.setObjectName("percentSpin")
        self.percentSpin.setAccessibleName(_("Scale percent"))
        self.percentSpin.setRange(0.1, 10000.0)
        self.percentSpin.setDecimals(1)
        self.percentSpin.setValue(50.0)
        self.percentSpin.setSuffix(" %")

        self.sizeStack = QStackedWidget()
        self.sizeStack.addWidget(QLabel(_("Pixels are not changed.")))
        box = QWidget()
        row = QHBoxLayout(box)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.widthSpin, 1)
        times = QLabel("×")
        row.addWidget(times)
        row.addWidget(self.heightSpin, 1)
        self.sizeStack.addWidget(box)
        self.sizeStack.addWidget(self.longEdgeSpin)
        self.sizeStack.addWidget(self.percentSpin)
        for i in range(self.sizeStack.count()):
            self.sizeStack.widget(i).setSizePolicy(self.longEdgeSpin.sizePolicy())

        self.filterCombo = QComboBox()
        self.filterCombo.setObjectName("filterCombo")
        self.filterCombo.setAccessibleName(_("Resampling filter"))
        for f in RESAMPLE_FILTERS:
            self.filterCombo.addItem(_(FILTER_LABELS[f]) if f in FILTER_LABELS else f, f)
        self.upscaleCheck = QCheckBox(_("Enlarge smaller images"))
        self.upscaleCheck.setObjectName("upscaleCheck")
        self.upscaleCheck.setToolTip(
            _("Off: images already smaller than the size stay as they are")
        )

        form.addRow(_("&Resize:"), self.modeCombo)
        self.sizeLabel = QLabel(_("Si&ze:"))
        self.sizeLabel.setBuddy(self.widthSpin)
        form.addRow(self.sizeLabel, self.sizeStack)
        form.addRow(_("Filte&r:"), self.filterCombo)
        form.addRow("", self.upscaleCheck)

        self.modeCombo.currentIndexChanged.connect(self._mode_changed)
        for spin in (self.widthSpin, self.heightSpin, self.longEdgeSpin, self.percentSpin):
            spin.valueChanged.connect(self._emit)
        self.filterCombo.currentIndexChanged.connect(self._emit)
        self.upscaleCheck.toggled.connect(self._emit)
        self._mode_changed()

    def mode(self) -> str:
        return self.modeCombo.currentData()

    def resize_value(self) -> Resize:
        """The Resize the rows describe. Fields the mode does not use keep the values of the
        recipe that was loaded, so loading and reading back changes nothing."""
        mode = self.mode()
        changes: dict[str, object] = {"mode": mode}
        if mode in ("fit", "exact", "fill"):
            changes.update(width=self.widthSpin.value(), height=self.heightSpin.value())
        elif mode == "long_edge":
            changes["long_edge"] = self.longEdgeSpin.value()
        elif mode == "percent":
            changes["percent"] = round(self.percentSpin.value(), 1)
        if mode != "none":
            changes.update(
                upscale=self.upscaleCheck.isChecked(), filter=self.filterCombo.currentData()
            )
        return dataclasses.replace(self._loaded, **changes)

    def set_resize(self, rz: Resize) -> None:
        self._loaded = rz
        self.modeCombo.setCurrentIndex(max(0, self.modeCombo.findData(rz.mode)))
        if rz.width:
            self.widthSpin.setValue(rz.width)
        if rz.height:
            self.heightSpin.setValue(rz.height)
        if rz.long_edge:
            self.longEdgeSpin.setValue(rz.long_edge)
        if rz.percent:
            self.percentSpin.setValue(rz.percent)
        self.upscaleCheck.setChecked(rz.upscale)
        self.filterCombo.setCurrentIndex(max(0, self.filterCombo.findData(rz.filter)))

    def _mode_changed(self) -> None:
        mode = self.mode()
        self.sizeStack.setCurrentIndex(_PAGE[mode])
        buddy = {1: self.widthSpin, 2: self.longEdgeSpin, 3: self.percentSpin}
        page = _PAGE[mode]
        self.sizeLabel.setBuddy(buddy.get(page, self.modeCombo))
        resizing = mode != "none"
        self.filterCombo.setEnabled(resizing)
        self.upscaleCheck.setEnabled(resizing)
        self._emit()

    def _emit(self) -> None:
        self.changed.emit(None)
