"""The "Format" rows of the recipe form: output format, quality (enabled only where it applies),
the quality target that chooses the quality per image instead, JPEG/WebP options, PNG
compression and colours, the background behind transparency, animation frames, and how camera
RAW files are read."""

from __future__ import annotations

from PySide6.QtCore import QObject, Qt, Signal, Slot
from PySide6.QtGui import QColor, QIcon, QPixmap, QValidator
from PySide6.QtWidgets import (
    QCheckBox,
    QColorDialog,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSlider,
    QSpinBox,
    QWidget,
)

from pixmill.engine.formats import FORMATS, OUTPUT, QUALITY_FORMATS
from pixmill.engine.i18n import N_, _, pgettext
from pixmill.engine.recipe import QUALITY_TARGETS, Recipe, quality_target_name

FORMAT_LABELS = {
    "same": N_("Same as the source"),
    "auto": N_("Automatic (smallest of JPEG, WebP, AVIF)"),
    "jpeg": "JPEG",
    "png": "PNG",
    "webp": "WebP",
    "avif": "AVIF",
    "heic": "HEIC",
    "jxl": "JPEG XL",  # a name, the same in every language
    "tiff": "TIFF",
    "bmp": "BMP",
    "gif": "GIF",
}


def format_label(fmt: str) -> str:
    label = FORMAT_LABELS.get(fmt)
    if label is None:
        return fmt.upper()
    return _(label) if fmt in ("same", "auto") else label


def _joined(words: list[str]) -> str:
    if len(words) < 2:
        return words[0]
    # Translators: the last two of a list of names ("JPEG, WebP and AVIF").
    return _("{names} and {last}").format(
        names=pgettext("list separator", ", ").join(words[:-1]), last=words[-1]
    )


def _quality_labels() -> str:
    """ "JPEG, WebP, AVIF, HEIC and JPEG XL": the formats a quality applies to, in menu order."""
    return _joined([format_label(f) for f in FORMATS if f in QUALITY_FORMATS])


#: The quality target combo's entry for Recipe.target_score (the others are quality_target's).
CUSTOM_TARGET = "custom"
#: The quality target format "auto" uses when the recipe sets none (the engine's default).
AUTO_DEFAULT_TARGET = "balanced"
#: The range of the custom SSIMULACRA2 target (below 30 pictures fall apart).
SCORE_RANGE = (30.0, 100.0)


def target_label(level: str) -> str:
    """'High (SSIMULACRA2 80)' for the first level, 'Balanced (72)' for the others."""
    score = f"{QUALITY_TARGETS[level]:g}"
    name = quality_target_name(level)
    name = name[:1].upper() + name[1:]
    if level == next(iter(QUALITY_TARGETS)):
        return _("{level} (SSIMULACRA2 {score})").format(level=name, score=score)
    return _("{level} ({score})").format(level=name, score=score)


class ColoursSpin(QSpinBox):
    """0 (all colours) or 2 to 256: a palette of one colour is not a choice, so 1 is skipped
    by the arrows and finished to 2 when typed."""

    def validate(self, text: str, pos: int) -> tuple[QValidator.State, str, int]:
        state, text, pos = super().validate(text, pos)
        if state == QValidator.State.Acceptable and self.valueFromText(text) == 1:
            state = QValidator.State.Intermediate  # "1" may still become "16"
        return state, text, pos

    def fixup(self, text: str) -> str:
        return "2" if text.strip() == "1" else text

    def stepBy(self, steps: int) -> None:
        before = self.value()
        super().stepBy(steps)
        if self.value() == 1:
            self.setValue(2 if before < 1 else 0)


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
        self.formatCombo.setAccessibleName(_("Output format"))
        for f in FORMATS:
            self.formatCombo.addItem(format_label(f), f)
        self.qualitySlider = QSlider(Qt.Orientation.Horizontal)
        self.qualitySlider.setObjectName("qualitySlider")
        self.qualitySlider.setAccessibleName(_("Quality slider"))
        self.qualitySlider.setRange(1, 100)
        self.qualitySpin = QSpinBox()
        self.qualitySpin.setObjectName("qualitySpin")
        self.qualitySpin.setAccessibleName(_("Quality"))
        self.qualitySpin.setRange(1, 100)
        self.qualitySlider.valueChanged.connect(self.qualitySpin.setValue)
        self.qualitySpin.valueChanged.connect(self.qualitySlider.setValue)
        self._loaded_level = "off"
        self._shown_level = "off"
        self.targetCombo = QComboBox()
        self.targetCombo.setObjectName("qualityTargetCombo")
        self.targetCombo.setAccessibleName(_("Quality target"))
        self.targetCombo.addItem(_("Fixed quality"), "off")
        for level in QUALITY_TARGETS:
            self.targetCombo.addItem(target_label(level), level)
        self.targetCombo.addItem(_("Custom score"), CUSTOM_TARGET)
        self.targetCombo.setToolTip(
            _(
                "Per image, the lowest quality whose SSIMULACRA2 score reaches the target: about "
                "90 is visually lossless, 80 high quality, 70 medium. Slower: each image is "
                "encoded and compared a few times."
            )
        )
        self.targetScoreSpin = QDoubleSpinBox()
        self.targetScoreSpin.setObjectName("targetScoreSpin")
        self.targetScoreSpin.setAccessibleName(_("Custom SSIMULACRA2 target score"))
        self.targetScoreSpin.setRange(*SCORE_RANGE)
        self.targetScoreSpin.setDecimals(1)
        self.targetScoreSpin.setSingleStep(1.0)
        self.targetScoreSpin.setValue(QUALITY_TARGETS[AUTO_DEFAULT_TARGET])
        self.targetScoreSpin.setToolTip(
            _("The SSIMULACRA2 score each image must reach (30 to 100)")
        )
        self.progressiveCheck = QCheckBox(_("Progressive JPEG"))
        self.progressiveCheck.setObjectName("progressiveCheck")
        self.losslessCheck = QCheckBox(_("Lossless WebP"))
        self.losslessCheck.setObjectName("losslessCheck")
        self.pngLevelSpin = QSpinBox()
        self.pngLevelSpin.setObjectName("pngLevelSpin")
        self.pngLevelSpin.setAccessibleName(_("PNG compression level"))
        self.pngLevelSpin.setRange(0, 9)
        self.pngLevelSpin.setToolTip(_("0 is fastest, 9 is smallest; the pixels are the same"))
        self.pngColorsSpin = ColoursSpin()
        self.pngColorsSpin.setObjectName("pngColorsSpin")
        self.pngColorsSpin.setAccessibleName(_("PNG colours"))
        self.pngColorsSpin.setRange(0, 256)
        self.pngColorsSpin.setSpecialValueText(_("All"))
        self.pngColorsSpin.setToolTip(
            _(
                "Reduce PNG outputs to a palette of at most this many colours (2 to 256): much "
                "smaller files, at some cost to smooth gradients. All: every colour is kept."
            )
        )
        self.backgroundButton = QPushButton()
        self.backgroundButton.setObjectName("backgroundButton")
        self.backgroundButton.setAccessibleName(_("Background colour behind transparency"))
        self.backgroundButton.setToolTip(_("Fills transparent areas in formats without alpha"))
        self.backgroundButton.clicked.connect(self.ask_background)
        self.keepFramesCheck = QCheckBox(_("Keep animation frames and pages"))
        self.keepFramesCheck.setObjectName("keepFramesCheck")
        self.rawPreviewCheck = QCheckBox(_("Use the embedded JPEG preview"))
        self.rawPreviewCheck.setObjectName("rawPreviewCheck")
        self.rawPreviewCheck.setAccessibleName(_("Camera RAW: use the embedded JPEG preview"))
        self.rawPreviewCheck.setToolTip(
            _(
                "For camera RAW sources: convert the full-size JPEG preview the camera stored in "
                "the file instead of developing the sensor data. Many times faster, with the "
                "camera's own colours and processing."
            )
        )

        self.qualityLabel = QLabel(_("&Quality:"))
        self.qualityLabel.setBuddy(self.qualitySpin)
        self.targetLabel = QLabel(_("T&arget:"))
        self.targetLabel.setBuddy(self.targetCombo)
        self.pngLabel = QLabel(_("PNG &level:"))
        self.pngLabel.setBuddy(self.pngLevelSpin)
        self.pngColorsLabel = QLabel(_("Colo&urs:"))
        self.pngColorsLabel.setBuddy(self.pngColorsSpin)
        self.backgroundLabel = QLabel(_("Back&ground:"))
        self.backgroundLabel.setBuddy(self.backgroundButton)
        form.addRow(_("&Format:"), self.formatCombo)
        form.addRow(self.qualityLabel, _row(self.qualitySlider, self.qualitySpin))
        form.addRow(self.targetLabel, _row(self.targetCombo, self.targetScoreSpin))
        form.addRow(
            _("Options:"), _row(self.progressiveCheck, self.losslessCheck, stretch_last=True)
        )
        png_row = _row(
            self.pngLevelSpin, self.pngColorsLabel, self.pngColorsSpin, stretch_last=True
        )
        png_row.layout().insertSpacing(1, 8)
        form.addRow(self.pngLabel, png_row)
        form.addRow(self.backgroundLabel, _row(self.backgroundButton, stretch_last=True))
        form.addRow("", self.keepFramesCheck)
        form.addRow(_("Camera RAW:"), self.rawPreviewCheck)

        self.formatCombo.currentIndexChanged.connect(self._emit)
        self.qualitySpin.valueChanged.connect(self._emit)
        self.targetCombo.currentIndexChanged.connect(self._target_chosen)
        self.targetScoreSpin.valueChanged.connect(self._emit)
        self.pngLevelSpin.valueChanged.connect(self._emit)
        self.pngColorsSpin.valueChanged.connect(self._emit)
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
            "png_colors": self.pngColorsSpin.value(),
            "background": self._background,
            "keep_frames": self.keepFramesCheck.isChecked(),
            "raw_preview": self.rawPreviewCheck.isChecked(),
            **self.target_values(),
        }

    def target_values(self) -> dict[str, object]:
        """quality_target and target_score. A custom score keeps the level of the recipe
        last loaded (the score takes precedence over it), so loading and reading back
        changes nothing."""
        level = self.targetCombo.currentData()
        if level == CUSTOM_TARGET:
            score = round(self.targetScoreSpin.value(), 1)
            return {"quality_target": self._loaded_level, "target_score": score}
        return {"quality_target": level, "target_score": 0.0}

    def target_on(self) -> bool:
        """Whether a quality target (not the quality setting) decides each image's quality."""
        return self.targetCombo.currentData() != "off"

    def set_values(self, recipe: Recipe) -> None:
        self.formatCombo.setCurrentIndex(max(0, self.formatCombo.findData(recipe.format)))
        self.qualitySpin.setValue(recipe.quality)
        # A level next to a custom score is kept as it was (the score takes precedence).
        self._loaded_level = recipe.quality_target if recipe.target_score else "off"
        level = CUSTOM_TARGET if recipe.target_score else recipe.quality_target
        self.targetCombo.setCurrentIndex(max(0, self.targetCombo.findData(level)))
        if recipe.target_score:
            self.targetScoreSpin.setValue(recipe.target_score)
        self.progressiveCheck.setChecked(recipe.progressive)
        self.losslessCheck.setChecked(recipe.webp_lossless)
        self.pngLevelSpin.setValue(recipe.png_compress_level)
        self.pngColorsSpin.setValue(recipe.png_colors)
        self._set_background(recipe.background)
        self.keepFramesCheck.setChecked(recipe.keep_frames)
        self.rawPreviewCheck.setChecked(recipe.raw_preview)

    def update_enabled(self) -> None:
        """Enable what the chosen format uses ("same" may write any format, so all of it;
        "auto" writes JPEG, WebP or AVIF, choosing the quality itself). The quality setting
        is off while a target chooses it. How RAW sources are read does not depend on the
        output, so it is always enabled."""
        fmt = self.formatCombo.currentData()
        same, auto = fmt == "same", fmt == "auto"
        out = OUTPUT.get(fmt)
        lossless = self.losslessCheck.isChecked()
        has_quality = same or (fmt in QUALITY_FORMATS and not (fmt == "webp" and lossless))
        targeted = has_quality and self.target_on()
        quality = has_quality and not targeted
        for w in (self.qualityLabel, self.qualitySlider, self.qualitySpin):
            w.setEnabled(quality)
        for w in (self.targetLabel, self.targetCombo):
            w.setEnabled(has_quality or auto)
        custom = self.targetCombo.currentData() == CUSTOM_TARGET
        self.targetScoreSpin.setEnabled((has_quality or auto) and custom)
        self.progressiveCheck.setEnabled(same or auto or fmt == "jpeg")
        self.losslessCheck.setEnabled(same or fmt == "webp")
        for w in (self.pngLabel, self.pngLevelSpin, self.pngColorsLabel, self.pngColorsSpin):
            w.setEnabled(same or fmt == "png")
        for w in (self.backgroundLabel, self.backgroundButton):
            w.setEnabled(same or (out is not None and not out.alpha))
        self.keepFramesCheck.setEnabled(same or auto or (out is not None and out.frames))
        # "off" with format auto is not a fixed quality: the engine aims at its default.
        default = target_label(AUTO_DEFAULT_TARGET)
        self.targetCombo.setItemText(
            0, _("Automatic: {level}").format(level=default) if auto else _("Fixed quality")
        )
        if auto or targeted:
            if auto:
                tip = _("The format and quality are chosen per image to reach the target")
            else:
                tip = _("The quality is chosen per image to reach the target")
        elif same:
            tip = _("1 = smallest file, 100 = best image; applies to {formats} outputs").format(
                formats=_quality_labels()
            )
        else:
            tip = _("1 = smallest file, 100 = best image; applies to this format")
        for w in (self.qualitySlider, self.qualitySpin):
            w.setToolTip(tip)

    @Slot()
    def _target_chosen(self) -> None:
        """A custom score starts from the level chosen before it."""
        if self.targetCombo.currentData() == CUSTOM_TARGET:
            previous = self._shown_level
            if previous in QUALITY_TARGETS:
                self.targetScoreSpin.setValue(QUALITY_TARGETS[previous])
        self._shown_level = self.targetCombo.currentData()
        self._emit()

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
        color = QColorDialog.getColor(QColor(self._background), parent, _("Background colour"))
        if color.isValid():
            self._set_background(color.name())
            self._emit()

    def _emit(self) -> None:
        self.changed.emit(None)
