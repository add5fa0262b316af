"""The recipe panel: the preset row and every Recipe field, in five groups (Format, Size,
File size, Metadata, Names and folders) laid out in two columns, or one when the panel is
narrow."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QScrollArea,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from pixmill.engine.presets import PresetStore
from pixmill.engine.recipe import Recipe, RecipeError

from .compression_editor import CompressionEditor
from .format_editor import FormatEditor
from .naming_editor import NamingEditor
from .preset_bar import PresetBar
from .resize_editor import ResizeEditor
from .settings import without_preferences

METADATA_LABELS = {
    "keep": "Keep (EXIF, XMP)",
    "strip_location": "Remove location only",
    "strip": "Remove all",
}


def _form(group: QGroupBox) -> QFormLayout:
    form = QFormLayout(group)
    form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
    form.setLabelAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    return form


class RecipePanel(QWidget):
    """Edits a Recipe. Fields a recipe does not show (name, description) are kept from the
    recipe last loaded; those the window's Preferences own stay at their defaults.

    Attributes:
        presets: the PresetBar; formatEditor, resizeEditor, compressionEditor, namingEditor:
            the form sections.

    Signals:
        recipeChanged(object): Recipe, or None while a field holds something unusable.
        notice(object): str, a message for the user (a preset saved, a file refused, ...).
    """

    recipeChanged = Signal(object)
    notice = Signal(object)

    def __init__(self, store: PresetStore, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._base = Recipe()
        self._loading = False
        self._example_path: str | None = None

        fmt_group = QGroupBox("Format")
        self.formatEditor = FormatEditor(_form(fmt_group), self)
        size_group = QGroupBox("Size")
        self.resizeEditor = ResizeEditor(_form(size_group), self)
        file_size_group = QGroupBox("File size")
        self.compressionEditor = CompressionEditor(_form(file_size_group), self)
        meta_group = QGroupBox("Metadata")
        form = _form(meta_group)
        self.metadataCombo = QComboBox()
        self.metadataCombo.setObjectName("metadataCombo")
        self.metadataCombo.setAccessibleName("Metadata")
        for mode, label in METADATA_LABELS.items():
            self.metadataCombo.addItem(label, mode)
        self.keepIccCheck = QCheckBox("Keep the colour profile (ICC)")
        self.keepIccCheck.setObjectName("keepIccCheck")
        self.toSrgbCheck = QCheckBox("Convert to sRGB")
        self.toSrgbCheck.setObjectName("toSrgbCheck")
        self.toSrgbCheck.setToolTip(
            "Convert wide-gamut pictures (Display P3, Adobe RGB…) to sRGB through their "
            "embedded colour profile, and tag the output sRGB: what browsers and most viewers "
            "assume for pictures without a profile"
        )
        self.autoOrientCheck = QCheckBox("Turn upright (EXIF orientation)")
        self.autoOrientCheck.setObjectName("autoOrientCheck")
        form.addRow("&Metadata:", self.metadataCombo)
        form.addRow("", self.keepIccCheck)
        form.addRow("", self.toSrgbCheck)
        form.addRow("", self.autoOrientCheck)
        names_group = QGroupBox("Names and folders")
        self.namingEditor = NamingEditor(_form(names_group), self)

        grid = QWidget()
        self._columns = QHBoxLayout(grid)
        self._columns.setContentsMargins(0, 0, 0, 0)
        for _ in range(2):
            self._columns.addLayout(QVBoxLayout(), 1)
        self._groups = (fmt_group, size_group, file_size_group, meta_group, names_group)
        self._one_column: bool | None = None
        self._arrange(one_column=False)
        scroll = QScrollArea(self)
        scroll.setObjectName("recipeScroll")
        scroll.setWidget(grid)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # its fields take focus, not the frame

        self.presets = PresetBar(store, self.recipe, self)
        self.presets.presetChosen.connect(self.set_recipe)
        self.presets.notice.connect(self.notice)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.presets)
        layout.addWidget(scroll, 1)

        self.metadataCombo.currentIndexChanged.connect(self._changed)
        for check in (self.keepIccCheck, self.toSrgbCheck, self.autoOrientCheck):
            check.toggled.connect(self._changed)
        editors = (self.formatEditor, self.resizeEditor, self.compressionEditor, self.namingEditor)
        for editor in editors:
            editor.changed.connect(self._changed)
        self.set_recipe(Recipe())

    # The fields tests and the window reach most often.
    @property
    def formatCombo(self) -> QComboBox:
        return self.formatEditor.formatCombo

    @property
    def qualitySpin(self) -> QSpinBox:
        return self.formatEditor.qualitySpin

    @property
    def presetCombo(self) -> QComboBox:
        return self.presets.combo

    # --- layout ----------------------------------------------------------------------------
    def _two_columns(self) -> tuple[tuple[QGroupBox, ...], tuple[QGroupBox, ...]]:
        fmt, size, file_size, meta, names = self._groups
        return (fmt, meta), (size, file_size, names)

    def _arrange(self, one_column: bool) -> None:
        """Two columns of groups when there is room, else one (the panel then scrolls)."""
        if one_column == self._one_column:
            return
        self._one_column = one_column
        left, right = (self._columns.itemAt(i).layout() for i in range(2))
        for column in (left, right):
            while column.count():
                column.takeAt(0)
        fmt, size, file_size, meta, names = self._groups
        placement = ((fmt, size, file_size, meta, names), ()) if one_column else self._two_columns()
        for column, groups in zip((left, right), placement, strict=True):
            for group in groups:
                column.addWidget(group)
            column.addStretch(1)
        self._columns.setStretch(1, 0 if one_column else 1)

    def resizeEvent(self, event: QResizeEvent) -> None:
        two = (
            sum(max(g.minimumSizeHint().width() for g in col) for col in self._two_columns())
            + self._columns.spacing()
        )
        self._arrange(one_column=event.size().width() < two)
        super().resizeEvent(event)

    def preferred_height(self) -> int:
        """The height that shows every field without scrolling, in two columns."""
        spacing = self.layout().spacing()
        columns = max(
            sum(g.sizeHint().height() for g in col) + (len(col) - 1) * spacing
            for col in self._two_columns()
        )
        return self.presets.sizeHint().height() + spacing + columns + 2 * spacing

    # --- the recipe ------------------------------------------------------------------------
    def recipe(self) -> Recipe:
        """The recipe the fields describe; raises RecipeError when one is unusable."""
        return self._base.replace(
            **self.formatEditor.values(),
            resize=self.resizeEditor.resize_value(),
            **self.compressionEditor.values(),
            metadata=self.metadataCombo.currentData(),
            keep_icc=self.keepIccCheck.isChecked(),
            to_srgb=self.toSrgbCheck.isChecked(),
            auto_orient=self.autoOrientCheck.isChecked(),
            **self.namingEditor.values(),
        )

    @Slot(object)
    def set_recipe(self, recipe: Recipe) -> None:
        self._loading = True
        try:
            self._base = without_preferences(recipe)
            self.formatEditor.set_values(recipe)
            self.resizeEditor.set_resize(recipe.resize)
            self.compressionEditor.set_values(recipe)
            self.metadataCombo.setCurrentIndex(max(0, self.metadataCombo.findData(recipe.metadata)))
            self.keepIccCheck.setChecked(recipe.keep_icc)
            self.toSrgbCheck.setChecked(recipe.to_srgb)
            self.autoOrientCheck.setChecked(recipe.auto_orient)
            self.namingEditor.set_values(recipe)
        finally:
            self._loading = False
        self._changed()

    @Slot(object)
    def set_example_source(self, path: str | None) -> None:
        """Use this image (the first queued one) for the live naming example."""
        self._example_path = path
        self._changed()

    @Slot()
    def _changed(self) -> None:
        if self._loading:
            return
        self.formatEditor.update_enabled()
        try:
            recipe: Recipe | None = self.recipe()
            error = None
        except RecipeError as exc:
            recipe, error = None, exc
        self.namingEditor.show_example(recipe, error, self._example_path)
        self.presets.sync(recipe)
        self.recipeChanged.emit(recipe)
