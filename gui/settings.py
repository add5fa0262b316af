"""What the window remembers between runs, stored with QSettings: typed values only.

The recipe (as its JSON), the output choice (and "only new or changed files"), the pool size,
the window geometry, splitter positions and which sections are shown, the folders the file
dialogs last showed, and the Preferences (settings of the application rather than of a
recipe, edited in the Preferences dialog). The window decides what to store and puts it back
itself (MainWindow.save_state / restore_state).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QByteArray, QSettings

from pixmill.engine.recipe import DEFAULT_MAX_MEGAPIXELS, Recipe, RecipeError

ORGANIZATION = "Pixmill"
APPLICATION = "Pixmill"


def default_settings() -> QSettings:
    return QSettings(
        QSettings.Format.IniFormat, QSettings.Scope.UserScope, ORGANIZATION, APPLICATION
    )


#: The largest megapixel limit a recipe accepts (engine.recipe.Recipe.validate).
MAX_MEGAPIXELS_LIMIT = 1_000_000


@dataclass(frozen=True)
class Preferences:
    """Settings of the application, not choices of a recipe: presets and the saved recipe do
    not carry them; the window puts them into the recipe of each batch it starts.

    A new preference is a field here, its key in WindowSettings.preferences/set_preferences
    and a row in preferences.PreferencesDialog.
    """

    #: Decoded megapixels a file may have (0: no limit); larger files are refused.
    max_megapixels: float = DEFAULT_MAX_MEGAPIXELS
    #: "system", "light" or "dark" (theme.SCHEMES).
    color_scheme: str = "system"
    #: The language's code ("zh_CN"), or "" to follow the system's; applied at start-up.
    language: str = ""
    #: A Dask scheduler's address the batches run on ("": this computer), and the path maps
    #: ("LOCAL=REMOTE") from this computer's folders to its workers'.
    cluster_address: str = ""
    cluster_path_maps: tuple[str, ...] = ()

    def cluster(self) -> Any:
        """The engine.cluster.ClusterSpec the batches run on, or None for this computer.
        Raises engine.cluster.ClusterError for a path map that is not LOCAL=REMOTE."""
        if not self.cluster_address:
            return None
        from pixmill.engine.cluster import ClusterSpec, parse_path_map

        maps = tuple(parse_path_map(m) for m in self.cluster_path_maps)
        return ClusterSpec(self.cluster_address, maps)

    def apply(self, recipe: Recipe) -> Recipe:
        """The recipe a batch runs: the form's choices with these preferences in force."""
        return recipe.replace(max_megapixels=self.max_megapixels)


COLOR_SCHEMES = ("system", "light", "dark")


def without_preferences(recipe: Recipe) -> Recipe:
    """The recipe's own choices, with every field the preferences own at its default."""
    return Preferences().apply(recipe)


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

    def update_only(self) -> bool:
        return self.q.value("output/updateOnly", False, type=bool)

    def set_update_only(self, on: bool) -> None:
        self.q.setValue("output/updateOnly", on)

    def workers(self, default: int) -> int:
        try:
            return int(self.q.value("pool/workers", default))
        except (TypeError, ValueError):
            return default

    def set_workers(self, n: int) -> None:
        self.q.setValue("pool/workers", n)

    # --- preferences -----------------------------------------------------------------------
    def preferences(self) -> Preferences:
        default = Preferences()
        try:
            mp = float(self.q.value("preferences/maxMegapixels", default.max_megapixels))
        except (TypeError, ValueError):
            mp = default.max_megapixels
        if not (0 <= mp <= MAX_MEGAPIXELS_LIMIT):  # also NaN
            mp = default.max_megapixels
        scheme = self.q.value("preferences/colorScheme", default.color_scheme, type=str)
        if scheme not in COLOR_SCHEMES:
            scheme = default.color_scheme
        language = self.language()
        address = self.q.value(
            "preferences/clusterAddress", os.environ.get("PIXMILL_CLUSTER", ""), type=str
        )
        maps = self.q.value("preferences/clusterPathMaps", [], type=list) or []
        return Preferences(
            max_megapixels=mp,
            color_scheme=scheme,
            language=language,
            cluster_address=(address or "").strip(),
            cluster_path_maps=tuple(str(m) for m in maps if str(m).strip()),
        )

    def language(self) -> str:
        """The language chosen in Preferences ("" for the system's); read at start-up, before
        any window exists."""
        value = self.q.value("preferences/language", "", type=str)
        return value if isinstance(value, str) and value.replace("_", "").isalnum() else ""

    def set_preferences(self, preferences: Preferences) -> None:
        self.q.setValue("preferences/maxMegapixels", preferences.max_megapixels)
        self.q.setValue("preferences/colorScheme", preferences.color_scheme)
        self.q.setValue("preferences/language", preferences.language)
        self.q.setValue("preferences/clusterAddress", preferences.cluster_address)
        self.q.setValue("preferences/clusterPathMaps", list(preferences.cluster_path_maps))

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

    def shown(self, section: str) -> bool:
        return self.q.value(f"window/show/{section}", True, type=bool)

    def set_shown(self, section: str, on: bool) -> None:
        self.q.setValue(f"window/show/{section}", on)

    def last_dir(self, kind: str) -> str:
        return self.q.value(f"dialogs/{kind}", "", type=str)

    def set_last_dir(self, kind: str, folder: str) -> None:
        self.q.setValue(f"dialogs/{kind}", folder)

    def sync(self) -> None:
        self.q.sync()
