"""What the window remembers between runs, stored with QSettings.

The recipe (as its JSON), the preset it came from, the output choice, the pool size, the
window geometry and splitter positions, and the folders the file dialogs last showed.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QByteArray, QSettings
from PySide6.QtGui import QGuiApplication

from engine.recipe import Recipe, RecipeError

if TYPE_CHECKING:
    from .main_window import MainWindow

ORGANIZATION = "Pixmill"
APPLICATION = "Pixmill"


def default_settings() -> QSettings:
    return QSettings(
        QSettings.Format.IniFormat, QSettings.Scope.UserScope, ORGANIZATION, APPLICATION
    )


class WindowSettings:
    """Typed access to the keys the window persists (values of the wrong type read as unset)."""

    def __init__(self, qsettings: QSettings) -> None:
        self.q = qsettings

    # --- recipe ----------------------------------------------------------------------------
    def recipe(self) -> Recipe | None:
        text = self.q.value("recipe/json", "", type=str)
        if not text:
            return None
        try:
            return Recipe.from_json(text)
        except RecipeError:
            return None  # an older or hand-edited file: start from the defaults

    def set_recipe(self, recipe: Recipe) -> None:
        self.q.setValue("recipe/json", recipe.to_json())

    # --- output and pool -------------------------------------------------------------------
    def output_folder(self) -> str:
        return self.q.value("output/folder", "", type=str)

    def next_to_source(self) -> bool:
        return self.q.value("output/nextToSource", True, type=bool)

    def set_output(self, folder: str, next_to_source: bool) -> None:
        self.q.setValue("output/folder", folder)
        self.q.setValue("output/nextToSource", next_to_source)

    def workers(self, default: int) -> int:
        try:
            return int(self.q.value("pool/workers", default))
        except (TypeError, ValueError):
            return default

    def set_workers(self, n: int) -> None:
        self.q.setValue("pool/workers", n)

    # --- window ----------------------------------------------------------------------------
    def geometry(self) -> QByteArray | None:
        value = self.q.value("window/geometry")
        return value if isinstance(value, QByteArray) and not value.isEmpty() else None

    def set_geometry(self, data: QByteArray) -> None:
        self.q.setValue("window/geometry", data)

    def splitter(self, name: str) -> QByteArray | None:
        value = self.q.value(f"window/{name}")
        return value if isinstance(value, QByteArray) and not value.isEmpty() else None

    def set_splitter(self, name: str, data: QByteArray) -> None:
        self.q.setValue(f"window/{name}", data)

    def last_dir(self, kind: str) -> str:
        return self.q.value(f"dialogs/{kind}", "", type=str)

    def set_last_dir(self, kind: str, folder: str) -> None:
        self.q.setValue(f"dialogs/{kind}", folder)

    def sync(self) -> None:
        self.q.sync()


def restore_window(window: MainWindow, s: WindowSettings) -> None:
    """Put back the recipe, output, pool size, geometry and splitters of the last run."""
    recipe = s.recipe()
    if recipe is not None:
        window.recipePanel.set_recipe(recipe)
    window.output.set_output(s.output_folder(), s.next_to_source())
    window.output.set_workers(s.workers(window.output.cpus))
    window.output.set_start_dir(s.last_dir("sources") or str(Path.home()))
    window.results.report_dir = s.last_dir("reports")
    geometry = s.geometry()
    if geometry is None or not window.restoreGeometry(geometry):
        screen = QGuiApplication.primaryScreen().availableGeometry()
        window.resize(min(1280, screen.width()), min(800, screen.height()))
    setup, main = s.splitter("setup"), s.splitter("main")
    if setup is not None:
        window.setupSplitter.restoreState(setup)
    if main is None or not window.mainSplitter.restoreState(main):
        window.default_splitter_sizes()


def save_window(window: MainWindow, s: WindowSettings) -> None:
    try:
        s.set_recipe(window.recipePanel.recipe())
    except RecipeError:
        pass  # keep the last usable recipe
    s.set_output(window.output.folder_text(), window.output.output_dir() is None)
    s.set_workers(window.output.workers())
    s.set_last_dir("reports", window.results.report_dir)
    s.set_geometry(window.saveGeometry())
    s.set_splitter("setup", window.setupSplitter.saveState())
    s.set_splitter("main", window.mainSplitter.saveState())
    s.sync()
