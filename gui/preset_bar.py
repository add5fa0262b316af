"""The preset row above the recipe: pick a built-in or own preset, save the current recipe as
a preset, import a recipe file, delete an own preset."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QPushButton,
    QWidget,
)

from pixmill.engine.i18n import N_, _
from pixmill.engine.presets import Preset, PresetStore, same_settings
from pixmill.engine.recipe import Recipe, RecipeError

from .settings import without_preferences

CUSTOM = N_("Custom settings")


class PresetBar(QWidget):
    """The preset picker. It shows the preset the current recipe matches, else "Custom".

    Signals:
        presetChosen(object): Recipe, the preset the user picked (load it into the form).
        notice(object): str, what happened (saved, imported, deleted, or why not).
    """

    presetChosen = Signal(object)
    notice = Signal(object)

    def __init__(
        self, store: PresetStore, current: Callable[[], Recipe], parent: QWidget | None = None
    ) -> None:
        """current() returns the recipe in the form (it may raise RecipeError)."""
        super().__init__(parent)
        self.store = store
        self._current = current
        self.combo = QComboBox(self)
        self.combo.setObjectName("presetCombo")
        self.combo.setAccessibleName(_("Preset"))
        self.combo.setMinimumContentsLength(16)
        self.combo.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.combo.activated.connect(self._chosen)
        self.saveButton = QPushButton(_("Save as Preset…"), self)
        self.saveButton.setObjectName("savePresetButton")
        self.saveButton.setToolTip(_("Keep these settings as a preset of your own"))
        self.saveButton.clicked.connect(self.ask_save)
        self.importButton = QPushButton(_("Import…"), self)
        self.importButton.setObjectName("importPresetButton")
        self.importButton.setToolTip(_("Add a recipe JSON file to your presets"))
        self.importButton.clicked.connect(self.ask_import)
        self.deleteButton = QPushButton(_("Delete"), self)
        self.deleteButton.setObjectName("deletePresetButton")
        self.deleteButton.setToolTip(_("Delete this preset of yours"))
        self.deleteButton.clicked.connect(self.delete_current)
        label = QLabel(_("&Preset:"), self)
        label.setBuddy(self.combo)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(label)
        row.addWidget(self.combo, 1)
        for b in (self.saveButton, self.importButton, self.deleteButton):
            row.addWidget(b)
        self.reload()

    def reload(self) -> None:
        self.combo.blockSignals(True)
        self.combo.clear()
        self.combo.addItem(_(CUSTOM), None)
        for preset in self.store.builtin():
            self.combo.addItem(preset.name, preset)
            self.combo.setItemData(
                self.combo.count() - 1, preset.recipe.description, Qt.ItemDataRole.ToolTipRole
            )
        user = self.store.user()
        if user:
            self.combo.insertSeparator(self.combo.count())
            for preset in user:
                self.combo.addItem(_("{name}  (mine)").format(name=preset.name), preset)
        self.combo.blockSignals(False)
        try:
            self.sync(self._current())
        except RecipeError:
            self.sync(None)

    def current(self) -> Preset | None:
        return self.combo.currentData()

    def select(self, name: str) -> bool:
        """Pick the preset called name (built-in or own); False if there is none."""
        for i in range(self.combo.count()):
            preset = self.combo.itemData(i)
            if isinstance(preset, Preset) and preset.name == name:
                self.combo.setCurrentIndex(i)
                self.presetChosen.emit(preset.recipe)
                return True
        return False

    @Slot(int)
    def _chosen(self, index: int) -> None:
        preset = self.combo.itemData(index)
        if isinstance(preset, Preset):
            self.presetChosen.emit(preset.recipe)

    def sync(self, recipe: Recipe | None) -> None:
        """Show the preset this recipe matches (the current choice first), else Custom."""
        index = 0
        if recipe is not None:
            order = [self.combo.currentIndex(), *range(1, self.combo.count())]
            for i in order:
                preset = self.combo.itemData(i)
                if isinstance(preset, Preset) and same_settings(
                    without_preferences(preset.recipe), without_preferences(recipe)
                ):
                    index = i
                    break
        self.combo.setCurrentIndex(index)
        preset = self.combo.itemData(index)
        self.deleteButton.setEnabled(isinstance(preset, Preset) and not preset.builtin)

    # --- own presets -----------------------------------------------------------------------
    def save(self, name: str) -> Preset:
        """Save the form's recipe as the user's preset `name` (raises RecipeError)."""
        preset = self.store.save(self._current(), name)
        self.reload()
        self.select(preset.name)
        self.notice.emit(
            _("Saved preset “{name}” to {path}.").format(name=preset.name, path=preset.path)
        )
        return preset

    def import_file(self, path: str | Path) -> Preset:
        preset = self.store.import_file(Path(path))
        self.reload()
        self.select(preset.name)
        self.notice.emit(_("Imported preset “{name}”.").format(name=preset.name))
        return preset

    @Slot()
    def delete_current(self) -> None:
        preset = self.current()
        if preset is None or preset.builtin:
            return
        self.store.delete(preset)
        self.reload()
        self.notice.emit(_("Deleted preset “{name}”.").format(name=preset.name))

    @Slot()
    def ask_save(self) -> None:
        current = self.current()
        suggestion = current.name if current is not None and not current.builtin else ""
        name, ok = QInputDialog.getText(self, _("Save preset"), _("Preset name:"), text=suggestion)
        if ok and name.strip():
            try:
                self.save(name)
            except (RecipeError, OSError) as exc:
                self.notice.emit(_("Could not save the preset: {error}").format(error=exc))

    @Slot()
    def ask_import(self) -> None:
        path, _chosen = QFileDialog.getOpenFileName(
            self, _("Import preset"), str(Path.home()), _("Recipe files (*.json)")
        )
        if path:
            try:
                self.import_file(path)
            except (RecipeError, OSError) as exc:
                self.notice.emit(_("Could not import the preset: {error}").format(error=exc))
