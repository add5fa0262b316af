"""The "File size" rows of the recipe form: a cap on each output's size, and keeping the
original when converting would not make it smaller (by at least some percent)."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QFormLayout,
    QHBoxLayout,
    QSpinBox,
    QStyle,
    QWidget,
)

from pixmill.engine.i18n import N_, _
from pixmill.engine.recipe import Recipe

#: The size cap's unit, as the engine counts it: 1 KB = 1000 bytes.
KB = 1000
MAX_KB = 1_000_000
#: The cap shown before one is set.
DEFAULT_KB = 500
SKIP_LARGER_TEXT = N_("Keep the original when the result is not smaller")


def _kept(shown: int, loaded: float, to_shown: int) -> bool:
    """Whether a spin box still shows the value loaded into it (so the exact loaded value,
    which the spin box may round, is what the recipe keeps)."""
    return bool(loaded) and shown == to_shown


class CompressionEditor(QObject):
    """Size cap and keep-the-original rows, for Recipe.max_size, skip_larger and min_saving.
    The cap's spin box works only while its box is ticked, the saving's only while the
    original may be kept.

    Signals:
        changed(object): None; any field was edited.
    """

    changed = Signal(object)

    def __init__(self, form: QFormLayout, parent: QObject | None = None) -> None:
        """Adds its rows to `form`."""
        super().__init__(parent)
        self._loaded = Recipe()
        self.maxSizeCheck = QCheckBox(_("&Cap each file at"))
        self.maxSizeCheck.setObjectName("maxSizeCheck")
        self.maxSizeCheck.setToolTip(
            _(
                "Each output gets the highest quality that fits (with a quality target: the "
                "target's quality, lowered until it fits). A file that cannot fit fails; lossless "
                "formats and animations cannot lower their size."
            )
        )
        self.maxSizeSpin = QSpinBox()
        self.maxSizeSpin.setObjectName("maxSizeSpin")
        self.maxSizeSpin.setAccessibleName(_("Largest output size in kilobytes"))
        self.maxSizeSpin.setRange(1, MAX_KB)
        self.maxSizeSpin.setValue(DEFAULT_KB)
        self.maxSizeSpin.setSuffix(_(" KB"))
        self.maxSizeSpin.setGroupSeparatorShown(True)
        self.maxSizeSpin.setToolTip(_("1 KB = 1000 bytes"))

        self.skipLargerCheck = QCheckBox(_(SKIP_LARGER_TEXT))
        self.skipLargerCheck.setObjectName("skipLargerCheck")
        self.skipLargerCheck.setToolTip(
            _(
                "Copy the source file itself (under its own name and extension) instead of an "
                "output that is no smaller than it"
            )
        )
        self.minSavingSpin = QSpinBox()
        self.minSavingSpin.setObjectName("minSavingSpin")
        self.minSavingSpin.setAccessibleName(_("Smallest saving worth converting, in percent"))
        self.minSavingSpin.setRange(0, 99)
        self.minSavingSpin.setPrefix(_("at least "))
        # Translators: after the number of percent; {percent} is the "%" sign.
        self.minSavingSpin.setSuffix(_(" {percent} smaller").format(percent="%"))
        self.minSavingSpin.setToolTip(
            _("Keep the original unless the converted file is smaller by at least this much")
        )

        cap = QWidget()
        cap_row = QHBoxLayout(cap)
        cap_row.setContentsMargins(0, 0, 0, 0)
        cap_row.addWidget(self.maxSizeCheck)
        cap_row.addWidget(self.maxSizeSpin)
        cap_row.addStretch(1)
        saving = QWidget()
        saving_row = QHBoxLayout(saving)
        saving_row.setContentsMargins(0, 0, 0, 0)
        style = self.skipLargerCheck.style()
        indent = style.pixelMetric(QStyle.PixelMetric.PM_IndicatorWidth) + style.pixelMetric(
            QStyle.PixelMetric.PM_CheckBoxLabelSpacing
        )
        saving_row.addSpacing(indent)  # under the check box's text: it belongs to it
        saving_row.addWidget(self.minSavingSpin)
        saving_row.addStretch(1)
        form.addRow(cap)
        form.addRow(self.skipLargerCheck)
        form.addRow(saving)

        self.maxSizeCheck.toggled.connect(self._toggled)
        self.skipLargerCheck.toggled.connect(self._toggled)
        self.maxSizeSpin.valueChanged.connect(self._emit)
        self.minSavingSpin.valueChanged.connect(self._emit)
        self._toggled()

    def values(self) -> dict[str, object]:
        """The recipe fields this section edits. A value the spin box rounds (a cap of
        150,500 bytes shows as 151 KB) stays exact until it is edited."""
        loaded = self._loaded
        max_size = 0
        if self.maxSizeCheck.isChecked():
            kb = self.maxSizeSpin.value()
            max_size = loaded.max_size if _kept(kb, loaded.max_size, _to_kb(loaded)) else kb * KB
        skip = self.skipLargerCheck.isChecked()
        saving = float(self.minSavingSpin.value())
        if _kept(self.minSavingSpin.value(), loaded.min_saving, _to_percent(loaded)):
            saving = loaded.min_saving
        return {"max_size": max_size, "skip_larger": skip, "min_saving": saving}

    def set_values(self, recipe: Recipe) -> None:
        self._loaded = recipe
        self.maxSizeCheck.setChecked(bool(recipe.max_size))
        if recipe.max_size:
            self.maxSizeSpin.setValue(_to_kb(recipe))
        self.skipLargerCheck.setChecked(recipe.skip_larger)
        self.minSavingSpin.setValue(_to_percent(recipe))

    def _toggled(self) -> None:
        self.maxSizeSpin.setEnabled(self.maxSizeCheck.isChecked())
        self.minSavingSpin.setEnabled(self.skipLargerCheck.isChecked())
        self._emit()

    def _emit(self) -> None:
        self.changed.emit(None)


def _to_kb(recipe: Recipe) -> int:
    return max(1, min(MAX_KB, round(recipe.max_size / KB)))


def _to_percent(recipe: Recipe) -> int:
    return max(0, min(99, round(recipe.min_saving)))
