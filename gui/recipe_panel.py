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

from pixmill.engine.i18n import N_, _
from pixmill.engine.presets import PresetStore
from pixmill.engine.recipe import Recipe, RecipeError

from .compression_editor import CompressionEditor
from .format_editor import FormatEditor
from .naming_editor import NamingEditor
from .preset_bar import PresetBar
from .resize_editor import ResizeEditor
from .settings import without_preferences

METADATA_LABELS = {
    "keep": N_("Keep (EXIF, XMP)"),
    "strip_location": N_("Remove location only"),
    "strip": N_("Remove all"),
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

        fmt_group = QGroupBox(_("Format"))
        self.formatEditor = FormatEditor(_form(fmt_group), self)
        size_group = QGroupBox(_("Size"))
        self.resizeEditor = ResizeEditor(_form(size_group), self)
        file_size_group = QGroupBox(_("File size"))
        self.compressionEditor = CompressionEditor(_form(file_size_group), self)
        meta_group = QGroupBox(_("Metadata"))
        form = _form(meta_group)
        self.metadataCombo = QComboBox()
        self.metadataCombo.setObjectName("metadataCombo")
        self.metadataCombo.setAccessibleName(_("Metadata"))
        for mode, label in METADATA_LABELS.items():
            self.metadataCombo.addItem(_(label), mode)
        self.keepIccCheck = QCheckBox(_("Keep the colour profile (ICC)"))
        self.keepIccCheck.setObjectName("keepIccCheck")
        self.toSrgbCheck = QCheckBox(_("Convert to sRGB"))
        self.toSrgbCheck.setObjectName("toSrgbCheck")
        self.toSrgbCheck.setToolTip(
            _(
                "Convert wide-gamut pictures (Display P3, Adobe RGB…) to sRGB through their "
                "embedded colour profile, and tag the output sRGB: what browsers and most viewers "
                "assume for pictures without a profile"
            )
        )
        self.autoOrientCheck = QCheckBox(_("Turn upright (EXIF orientation)"))
        self.autoOrientCheck.setObjectName("autoOrientCheck")
        form.addRow(_("&Metadata:"), self.metadataCombo)
        form.addRow("", self.keepIccCheck)
        form.addRow("", self.toSrgbCheck)
        form.addRow("", self.autoOrientCheck)
        names_group = QGroupBox(_("Names and folders"))
        self.namingEditor = NamingEditor(_form(names_group), self)

        grid = QWidget()
        self._columns = QHBoxLayout(grid)
        self._columns.setContentsMargins(0, 0, 0, 0)
        for _i in range(3):
            self._columns.addLayout(QVBoxLayout(), 1)
        self._groups = (fmt_group, size_group, file_size_group, meta_group, names_group)
        self._count: int | None = None
        self._arrange(2)
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
    def _placement(self, count: int) -> tuple[tuple[QGroupBox, ...], ...]:
        """The groups of each column when there are count columns (1, 2 or 3)."""
        fmt, size, file_size, meta, names = self._groups
        if count == 3:
            return (fmt,), (size, meta), (file_size, names)
        if count == 2:
            return (fmt, meta), (size, file_size, names)
        return ((fmt, size, file_size, meta, names),)

    def _width(self, count: int) -> int:
        columns = self._placement(count)
        widths = sum(max(g.minimumSizeHint().width() for g in col) for col in columns)
        return widths + (len(columns) - 1) * self._columns.spacing()

    def _arrange(self, count: int) -> None:
        """Three columns of groups when there is room, else two, else one (it then
        scrolls)."""
        if count == self._count:
            return
        self._count = count
        columns = [self._columns.itemAt(i).layout() for i in range(3)]
        for column in columns:
            while column.count():
                column.takeAt(0)
        placement = self._placement(count)
        for i, column in enumerate(columns):
            for group in placement[i] if i < count else ():
                column.addWidget(group)
            column.addStretch(1)
            self._columns.setStretch(i, 1 if i < count else 0)

    def resizeEvent(self, event: QResizeEvent) -> None:
        width = event.size().width()
        self._arrange(next((n for n in (3, 2) if width >= self._width(n)), 1))
        super().resizeEvent(event)

    def two_column_width(self) -> int:
        """The width the groups need in two columns side by side."""
        return self._width(2)

    def three_column_width(self) -> int:
        """The width the groups need in three columns side by side."""
        return self._width(3)

    def preferred_height(self, count: int = 3) -> int:
        """The height that shows every field without scrolling, in count columns."""
        spacing = self.layout().spacing()
        columns = max(
            sum(g.sizeHint().height() for g in col) + (len(col) - 1) * spacing
            for col in self._placement(count)
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
