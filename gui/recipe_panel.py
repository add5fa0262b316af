"""The recipe panel: a preset picker and every Recipe field, in four groups.

Format (quality and the options only where the chosen format uses them), Size, Metadata and
Names and folders. Editing any field turns the preset picker to "Custom settings".
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtGui import QColor, QIcon, QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QColorDialog,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QPushButton,
    QScrollArea,
    QSlider,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from engine.recipe import FORMATS, QUALITY_FORMATS, Recipe, RecipeError

from .naming_editor import NamingEditor
from .presets import Preset, PresetStore, same_settings
from .resize_editor import ResizeEditor

FORMAT_LABELS = {
    "same": "Same as the source",
    "jpeg": "JPEG",
    "png": "PNG",
    "webp": "WebP",
    "avif": "AVIF",
    "tiff": "TIFF",
    "bmp": "BMP",
    "gif": "GIF",
}
METADATA_LABELS = {
    "keep": "Keep (EXIF, XMP)",
    "strip_location": "Remove location only",
    "strip": "Remove all",
}
CUSTOM = "Custom settings"


def _form(group: QGroupBox) -> QFormLayout:
    form = QFormLayout(group)
    form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
    form.setLabelAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    return form


class RecipePanel(QWidget):
    """Edits a Recipe; presets on top (built-in and the user's, see gui/presets.py).

    Signals:
        recipeChanged(object): Recipe, or None while a field holds something unusable.
        notice(object): str, a message for the user (a preset saved, a file refused, ...).
    """

    recipeChanged = Signal(object)
    notice = Signal(object)

    def __init__(self, store: PresetStore, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.store = store
        self._base = Recipe()
        self._loading = False
        self._example_path: str | None = None
        self._background = "#ffffff"

        # --- presets ---
        self.presetCombo = QComboBox(self)
        self.presetCombo.setObjectName("presetCombo")
        self.presetCombo.setAccessibleName("Preset")
        self.presetCombo.setMinimumContentsLength(18)
        self.presetCombo.activated.connect(self._preset_chosen)
        self.savePresetButton = QPushButton("Save as Preset…", self)
        self.savePresetButton.setObjectName("savePresetButton")
        self.savePresetButton.clicked.connect(self.ask_save_preset)
        self.importPresetButton = QPushButton("Import…", self)
        self.importPresetButton.setObjectName("importPresetButton")
        self.importPresetButton.setToolTip("Add a recipe JSON file to your presets")
        self.importPresetButton.clicked.connect(self.ask_import_preset)
        self.deletePresetButton = QPushButton("Delete", self)
        self.deletePresetButton.setObjectName("deletePresetButton")
        self.deletePresetButton.setToolTip("Delete this preset of yours")
        self.deletePresetButton.clicked.connect(self.delete_current_preset)
        preset_label = QLabel("&Preset:", self)
        preset_label.setBuddy(self.presetCombo)
        top = QHBoxLayout()
        top.addWidget(preset_label)
        top.addWidget(self.presetCombo, 1)
        for b in (self.savePresetButton, self.importPresetButton, self.deletePresetButton):
            top.addWidget(b)

        # --- format ---
        fmt_group = QGroupBox("Format")
        form = _form(fmt_group)
        self.formatCombo = QComboBox()
        self.formatCombo.setObjectName("formatCombo")
        self.formatCombo.setAccessibleName("Output format")
        for f in FORMATS:
            self.formatCombo.addItem(FORMAT_LABELS.get(f, f.upper()), f)
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
        quality = QWidget()
        qrow = QHBoxLayout(quality)
        qrow.setContentsMargins(0, 0, 0, 0)
        qrow.addWidget(self.qualitySlider, 1)
        qrow.addWidget(self.qualitySpin)
        self.progressiveCheck = QCheckBox("Progressive JPEG")
        self.progressiveCheck.setObjectName("progressiveCheck")
        self.losslessCheck = QCheckBox("Lossless WebP")
        self.losslessCheck.setObjectName("losslessCheck")
        options = QWidget()
        orow = QHBoxLayout(options)
        orow.setContentsMargins(0, 0, 0, 0)
        orow.addWidget(self.progressiveCheck)
        orow.addWidget(self.losslessCheck)
        orow.addStretch(1)
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
        self.qualityLabel = QLabel("&Quality:")
        self.qualityLabel.setBuddy(self.qualitySpin)
        self.pngLabel = QLabel("PNG &level:")
        self.pngLabel.setBuddy(self.pngLevelSpin)
        self.backgroundLabel = QLabel("Back&ground:")
        self.backgroundLabel.setBuddy(self.backgroundButton)
        form.addRow("&Format:", self.formatCombo)
        form.addRow(self.qualityLabel, quality)
        form.addRow("Options:", options)
        form.addRow(self.pngLabel, self.pngLevelSpin)
        form.addRow(self.backgroundLabel, self.backgroundButton)
        form.addRow("", self.keepFramesCheck)

        # --- size ---
        size_group = QGroupBox("Size")
        self.resizeEditor = ResizeEditor(_form(size_group), self)

        # --- metadata ---
        meta_group = QGroupBox("Metadata")
        form = _form(meta_group)
        self.metadataCombo = QComboBox()
        self.metadataCombo.setObjectName("metadataCombo")
        self.metadataCombo.setAccessibleName("Metadata")
        for mode, label in METADATA_LABELS.items():
            self.metadataCombo.addItem(label, mode)
        self.keepIccCheck = QCheckBox("Keep the colour profile (ICC)")
        self.keepIccCheck.setObjectName("keepIccCheck")
        self.autoOrientCheck = QCheckBox("Turn upright (EXIF orientation)")
        self.autoOrientCheck.setObjectName("autoOrientCheck")
        form.addRow("&Metadata:", self.metadataCombo)
        form.addRow("", self.keepIccCheck)
        form.addRow("", self.autoOrientCheck)

        # --- names and folders ---
        names_group = QGroupBox("Names and folders")
        self.namingEditor = NamingEditor(_form(names_group), self)

        grid = QWidget()
        columns = QHBoxLayout(grid)
        columns.setContentsMargins(0, 0, 0, 0)
        for pair in ((fmt_group, meta_group), (size_group, names_group)):
            column = QVBoxLayout()
            for g in pair:
                column.addWidget(g)
            column.addStretch(1)
            columns.addLayout(column, 1)
        scroll = QScrollArea(self)
        scroll.setObjectName("recipeScroll")
        scroll.setWidget(grid)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # its fields take focus, not the frame
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(scroll, 1)

        self.formatCombo.currentIndexChanged.connect(self._changed)
        self.metadataCombo.currentIndexChanged.connect(self._changed)
        for spin in (self.qualitySpin, self.pngLevelSpin):
            spin.valueChanged.connect(self._changed)
        for check in (
            self.progressiveCheck,
            self.losslessCheck,
            self.keepFramesCheck,
            self.keepIccCheck,
            self.autoOrientCheck,
        ):
            check.toggled.connect(self._changed)
        self.resizeEditor.changed.connect(self._changed)
        self.namingEditor.changed.connect(self._changed)
        self.reload_presets()
        self.set_recipe(Recipe())

    # --- the recipe ------------------------------------------------------------------------
    def recipe(self) -> Recipe:
        """The recipe the fields describe; raises RecipeError when one is unusable."""
        return self._base.replace(
            format=self.formatCombo.currentData(),
            quality=self.qualitySpin.value(),
            progressive=self.progressiveCheck.isChecked(),
            webp_lossless=self.losslessCheck.isChecked(),
            png_compress_level=self.pngLevelSpin.value(),
            resize=self.resizeEditor.resize_value(),
            metadata=self.metadataCombo.currentData(),
            keep_icc=self.keepIccCheck.isChecked(),
            auto_orient=self.autoOrientCheck.isChecked(),
            background=self._background,
            keep_frames=self.keepFramesCheck.isChecked(),
            **self.namingEditor.values(),
        )

    def set_recipe(self, recipe: Recipe) -> None:
        self._loading = True
        try:
            self._base = recipe
            self.formatCombo.setCurrentIndex(max(0, self.formatCombo.findData(recipe.format)))
            self.qualitySpin.setValue(recipe.quality)
            self.progressiveCheck.setChecked(recipe.progressive)
            self.losslessCheck.setChecked(recipe.webp_lossless)
            self.pngLevelSpin.setValue(recipe.png_compress_level)
            self.resizeEditor.set_resize(recipe.resize)
            self.metadataCombo.setCurrentIndex(max(0, self.metadataCombo.findData(recipe.metadata)))
            self.keepIccCheck.setChecked(recipe.keep_icc)
            self.autoOrientCheck.setChecked(recipe.auto_orient)
            self._set_background(recipe.background)
            self.keepFramesCheck.setChecked(recipe.keep_frames)
            self.namingEditor.set_values(recipe)
        finally:
            self._loading = False
        self._changed()

    def set_example_source(self, path: str | None) -> None:
        """Use this image (the first queued one) for the live naming example."""
        self._example_path = path
        self._changed()

    @Slot()
    def _changed(self) -> None:
        if self._loading:
            return
        fmt = self.formatCombo.currentData()
        same = fmt == "same"
        lossless = self.losslessCheck.isChecked()
        quality_applies = same or (fmt in QUALITY_FORMATS and not (fmt == "webp" and lossless))
        for w in (self.qualityLabel, self.qualitySlider, self.qualitySpin):
            w.setEnabled(quality_applies)
        self.progressiveCheck.setEnabled(same or fmt == "jpeg")
        self.losslessCheck.setEnabled(same or fmt == "webp")
        for w in (self.pngLabel, self.pngLevelSpin):
            w.setEnabled(same or fmt == "png")
        for w in (self.backgroundLabel, self.backgroundButton):
            w.setEnabled(same or fmt in ("jpeg", "bmp"))
        self.keepFramesCheck.setEnabled(same or fmt in ("gif", "webp", "tiff"))
        tip = "JPEG, WebP and AVIF outputs" if same else "this format"
        self.qualitySpin.setToolTip(f"1 = smallest file, 100 = best image; applies to {tip}")
        try:
            recipe: Recipe | None = self.recipe()
            error = None
        except RecipeError as exc:
            recipe, error = None, exc
        self.namingEditor.show_example(recipe, error, self._example_path)
        self._sync_preset_combo(recipe)
        self.recipeChanged.emit(recipe)

    # --- background colour -----------------------------------------------------------------
    def _set_background(self, color: str) -> None:
        self._background = QColor(color).name() if QColor(color).isValid() else "#ffffff"
        swatch = QPixmap(16, 16)
        swatch.fill(QColor(self._background))
        self.backgroundButton.setIcon(QIcon(swatch))
        self.backgroundButton.setText(self._background)

    @Slot()
    def ask_background(self) -> None:
        color = QColorDialog.getColor(QColor(self._background), self, "Background colour")
        if color.isValid():
            self._set_background(color.name())
            self._changed()

    # --- presets ---------------------------------------------------------------------------
    def reload_presets(self) -> None:
        self.presetCombo.blockSignals(True)
        self.presetCombo.clear()
        self.presetCombo.addItem(CUSTOM, None)
        for preset in self.store.builtin():
            self.presetCombo.addItem(preset.name, preset)
            self.presetCombo.setItemData(
                self.presetCombo.count() - 1, preset.recipe.description, Qt.ItemDataRole.ToolTipRole
            )
        user = self.store.user()
        if user:
            self.presetCombo.insertSeparator(self.presetCombo.count())
            for preset in user:
                self.presetCombo.addItem(f"{preset.name}  (mine)", preset)
        self.presetCombo.blockSignals(False)
        try:
            self._sync_preset_combo(self.recipe())
        except RecipeError:
            self._sync_preset_combo(None)

    def current_preset(self) -> Preset | None:
        return self.presetCombo.currentData()

    def select_preset(self, name: str) -> bool:
        """Load the preset called name (built-in or the user's); False if there is none."""
        for i in range(self.presetCombo.count()):
            preset = self.presetCombo.itemData(i)
            if isinstance(preset, Preset) and preset.name == name:
                self.presetCombo.setCurrentIndex(i)
                self.set_recipe(preset.recipe)
                return True
        return False

    @Slot(int)
    def _preset_chosen(self, index: int) -> None:
        preset = self.presetCombo.itemData(index)
        if isinstance(preset, Preset):
            self.set_recipe(preset.recipe)

    def _sync_preset_combo(self, recipe: Recipe | None) -> None:
        current = self.presetCombo.currentData()
        if (
            recipe is not None
            and isinstance(current, Preset)
            and same_settings(current.recipe, recipe)
        ):
            index = self.presetCombo.currentIndex()
        else:
            index = 0
            for i in range(1, self.presetCombo.count()):
                preset = self.presetCombo.itemData(i)
                if (
                    recipe is not None
                    and isinstance(preset, Preset)
                    and same_settings(preset.recipe, recipe)
                ):
                    index = i
                    break
        self.presetCombo.setCurrentIndex(index)
        preset = self.presetCombo.itemData(index)
        self.deletePresetButton.setEnabled(isinstance(preset, Preset) and not preset.builtin)

    def save_preset(self, name: str) -> Preset:
        """Save the current recipe as the user's preset `name` (raises RecipeError)."""
        preset = self.store.save(self.recipe(), name)
        self._base = preset.recipe
        self.reload_presets()
        self.select_preset(preset.name)
        self.notice.emit(f"Saved preset “{preset.name}” to {preset.path}.")
        return preset

    def import_preset(self, path: str | Path) -> Preset:
        preset = self.store.import_file(Path(path))
        self.reload_presets()
        self.select_preset(preset.name)
        self.notice.emit(f"Imported preset “{preset.name}”.")
        return preset

    @Slot()
    def ask_save_preset(self) -> None:
        current = self.current_preset()
        suggestion = current.name if current is not None and not current.builtin else ""
        name, ok = QInputDialog.getText(self, "Save preset", "Preset name:", text=suggestion)
        if ok and name.strip():
            try:
                self.save_preset(name)
            except (RecipeError, OSError) as exc:
                self.notice.emit(f"Could not save the preset: {exc}")

    @Slot()
    def ask_import_preset(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Import preset", str(Path.home()), "Recipe files (*.json)"
        )
        if path:
            try:
                self.import_preset(path)
            except (RecipeError, OSError) as exc:
                self.notice.emit(f"Could not import the preset: {exc}")

    @Slot()
    def delete_current_preset(self) -> None:
        preset = self.current_preset()
        if preset is None or preset.builtin:
            return
        self.store.delete(preset)
        self.reload_presets()
        self.notice.emit(f"Deleted preset “{preset.name}”.")
