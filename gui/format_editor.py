"""The "Format" rows of the recipe form: output format, quality (enabled only where it applies),
JPEG/WebP options, PNG compression, the background behind transparency, animation frames, and
how camera RAW files are read."""

from __future__ import annotations

from PySide6.QtCore import QObject, Qt, Signal, Slot
from PySide6.QtGui import QColor, QIcon, QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QColorDialog,
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSlider,
    QSpinBox,
    QWidget,
)

from pixmill.engine.formats import FORMATS, OUTPUT, QUALITY_FORMATS
from pixmill.engine.recipe import Recipe

FORMAT_LABELS = {
    "same": "Same as the source",
    "jpeg": "JPEG",
    "png": "PNG",
    "webp": "WebP",
    "avif": "AVIF",
    "heic": "HEIC",
    "jxl": "JPEG XL",
    "tiff": "TIFF",
    "bmp": "BMP",
    "gif": "GIF",
}


def format_label(fmt: str) -> str:
    return FORMAT_LABELS.get(fmt, fmt.upper())


def _joined(words: list[str]) -> str:
    return words[0] if len(words) < 2 else f"{', '.join(words[:-1])} and {words[-1]}"


#: "JPEG, WebP, AVIF, HEIC and JPEG XL": the formats a quality applies to, in menu order.
_QUALITY_LABELS = _joined([format_label(f) for f in FORMATS if f in QUALITY_FORMATS])


def _row(*widgets: QWidget, stretch_last: bool = False) -> QWidget:
    row = QWidget()
    box = QHBoxLayout(row)
    box.setContentsMargins(0, 0, 0, 0)
    for i, w in enumerate(widgets):
        box.addWidget(w, 1 if i == 0 and not stretch_last else 0)
    if stretch_last:
        box.addStretch(1)
    return row


class FormatEditor(QObject):
    """Format rows; options that do not apply to the chosen format are disabled.

    Signals:
        changed(object): None; any field was edited.
    """

    changed = Signal(object)

    def __init__(self, form: QFormLayout, parent: QObject | None = None) -> None:
        """Adds its rows to `form`."""
        super().__init__(parent)
        self._background = "#ffffff"
        self.formatCombo = QComboBox()
        self.formatCombo.setObjectName("formatCombo")
        self.formatCombo.setAccessibleName("Output format")
        for f in FORMATS:
            self.formatCombo.addItem(format_label(f), f)
        self.qualitySlider = QSlider(Qt.Orientation.Horizontal)
        self.qualitySlider.setObjectName("qualitySlider")
        self.qualitySlider.setAccessibleName("Quality slider")
        self.qualitySlider.setRange(1, 100)
        self.qualitySpin = QSpinBox()
        self.qualitySpin.setObjectName("qualitySpin")
        self.qualitySpin.setAccessibleName("Quality")
        self.qualitySpin.setRange(1, 100)
        self.qualitySlider.valueChanged.connect(self.qualitySpin.setValue)
        self.qualitySpin.valueChanged.connect(self.qualitySlider.setValue)
        self.progressiveCheck = QCheckBox("Progressive JPEG")
        self.progressiveCheck.setObjectName("progressiveCheck")
        self.losslessCheck = QCheckBox("Lossless WebP")
        self.losslessCheck.setObjectName("losslessCheck")
        self.pngLevelSpin = QSpinBox()
        self.pngLevelSpin.setObjectName("pngLevelSpin")
        self.pngLevelSpin.setAccessibleName("PNG compression level")
        self.pngLevelSpin.setRange(0, 9)
        self.pngLevelSpin.setToolTip("0 is fastest, 9 is smallest; the pixels are the same")
        self.backgroundButton = QPushButton()
        self.backgroundButton.setObjectName("backgroundButton")
        self.backgroundButton.setAccessibleName("Background colour behind transparency")
        self.backgroundButton.setToolTip("Fills transparent areas in formats without alpha")
        self.backgroundButton.clicked.connect(self.ask_background)
        self.keepFramesCheck = QCheckBox("Keep animation frames and pages")
        self.keepFramesCheck.setObjectName("keepFramesCheck")
        self.rawPreviewCheck = QCheckBox("Use the embedded JPEG preview")
        self.rawPreviewCheck.setObjectName("rawPreviewCheck")
        self.rawPreviewCheck.setAccessibleName("Camera RAW: use the embedded JPEG preview")
        self.rawPreviewCheck.setToolTip(
            "For camera RAW sources: convert the full-size JPEG preview the camera stored in "
            "the file instead of developing the sensor data. Many times faster, with the "
            "camera's own colours and processing."
        )

        self.qualityLabel = QLabel("&Quality:")
        self.qualityLabel.setBuddy(self.qualitySpin)
        self.pngLabel = QLabel("PNG &level:")
        self.pngLabel.setBuddy(self.pngLevelSpin)
        self.backgroundLabel = QLabel("Back&ground:")
        self.backgroundLabel.setBuddy(self.backgroundButton)
        form.addRow("&Format:", self.formatCombo)
        form.addRow(self.qualityLabel, _row(self.qualitySlider, self.qualitySpin))
        form.addRow("Options:", _row(self.progressiveCheck, self.losslessCheck, stretch_last=True))
        form.addRow(self.pngLabel, _row(self.pngLevelSpin, stretch_last=True))
        form.addRow(self.backgroundLabel, _row(self.backgroundButton, stretch_last=True))
        form.addRow("", self.keepFramesCheck)
        form.addRow("Camera RAW:", self.rawPreviewCheck)

        self.formatCombo.currentIndexChanged.connect(self._emit)
        self.qualitySpin.valueChanged.connect(self._emit)
        self.pngLevelSpin.valueChanged.connect(self._emit)
        for check in (
            self.progressiveCheck,
            self.losslessCheck,
            self.keepFramesCheck,
            self.rawPreviewCheck,
        ):
            check.toggled.connect(self._emit)

    def values(self) -> dict[str, object]:
        """The recipe fields this section edits."""
        return {
            "format": self.formatCombo.currentData(),
            "quality": self.qualitySpin.value(),
            "progressive": self.progressiveCheck.isChecked(),
            "webp_lossless": self.losslessCheck.isChecked(),
            "png_compress_level": self.pngLevelSpin.value(),
            "background": self._background,
            "keep_frames": self.keepFramesCheck.isChecked(),
            "raw_preview": self.rawPreviewCheck.isChecked(),
        }

    def set_values(self, recipe: Recipe) -> None:
        self.formatCombo.setCurrentIndex(max(0, self.formatCombo.findData(recipe.format)))
        self.qualitySpin.setValue(recipe.quality)
        self.progressiveCheck.setChecked(recipe.progressive)
        self.losslessCheck.setChecked(recipe.webp_lossless)
        self.pngLevelSpin.setValue(recipe.png_compress_level)
        self._set_background(recipe.background)
        self.keepFramesCheck.setChecked(recipe.keep_frames)
        self.rawPreviewCheck.setChecked(recipe.raw_preview)

    def update_enabled(self) -> None:
        """Enable what the chosen format uses ("same" may write any format, so all of it).
        How RAW sources are read does not depend on the output, so it is always enabled."""
        fmt = self.formatCombo.currentData()
        same = fmt == "same"
        out = OUTPUT.get(fmt)
        lossless = self.losslessCheck.isChecked()
        quality = same or (fmt in QUALITY_FORMATS and not (fmt == "webp" and lossless))
        for w in (self.qualityLabel, self.qualitySlider, self.qualitySpin):
            w.setEnabled(quality)
        self.progressiveCheck.setEnabled(same or fmt == "jpeg")
        self.losslessCheck.setEnabled(same or fmt == "webp")
        for w in (self.pngLabel, self.pngLevelSpin):
            w.setEnabled(same or fmt == "png")
        for w in (self.backgroundLabel, self.backgroundButton):
            w.setEnabled(same or (out is not None and not out.alpha))
        self.keepFramesCheck.setEnabled(same or (out is not None and out.frames))
        where = f"{_QUALITY_LABELS} outputs" if same else "this format"
        self.qualitySpin.setToolTip(f"1 = smallest file, 100 = best image; applies to {where}")

    def _set_background(self, color: str) -> None:
        self._background = QColor(color).name() if QColor(color).isValid() else "#ffffff"
        size = self.backgroundButton.fontMetrics().height()
        swatch = QPixmap(size, size)
        swatch.fill(QColor(self._background))
        self.backgroundButton.setIcon(QIcon(swatch))
        self.backgroundButton.setText(self._background)

    @Slot()
    def ask_background(self) -> None:
        parent = self.backgroundButton.window()
        color = QColorDialog.getColor(QColor(self._background), parent, "Background colour")
        if color.isValid():
            self._set_background(color.name())
            self._emit()

    def _emit(self) -> None:
        self.changed.emit(None)
