"""Presets: the built-in recipes shipped in resources/presets and the user's own, one store for
the CLI (`--preset NAME|FILE.json`, `pixmill presets`) and the window's preset bar.

A user preset is exactly the recipe JSON `pixmill convert --preset FILE.json` reads, kept in
the user's configuration folder (~/.config/Pixmill/Pixmill/presets on Linux).
"""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from .i18n import _
from .recipe import Recipe, RecipeError, Resize


def builtin_presets_dir() -> Path:
    """The folder holding the built-in preset JSON files."""
    import pixmill.resources

    return Path(pixmill.resources.__file__).resolve().parent / "presets"


def user_presets_dir() -> Path:
    """Where the user's presets live: Qt's AppConfigLocation for organisation and application
    "Pixmill", worked out here without Qt so the CLI finds them by name too."""
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Preferences"
    else:
        base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return base / "Pixmill" / "Pixmill" / "presets"


def load_recipe_file(path: Path) -> Recipe:
    """A recipe JSON file; its name defaults to the file's stem."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise RecipeError(
            _("cannot read preset {path}: {error}").format(path=path, error=exc.strerror or exc)
        ) from None
    try:
        recipe = Recipe.from_json(text)
    except RecipeError as exc:
        raise RecipeError(f"{path}: {exc}") from None
    if not recipe.name:
        recipe = recipe.replace(name=Path(path).stem)
    return recipe


def save_recipe_file(recipe: Recipe, path: Path) -> None:
    Path(path).write_text(recipe.to_json() + "\n", encoding="utf-8")


def _effective(recipe: Recipe) -> Recipe:
    """The recipe with its name, description and the size fields its resize mode ignores
    blanked, so two recipes that convert alike compare equal."""
    rz = recipe.resize
    if rz.mode == "none":
        rz = Resize()
    elif rz.mode in ("fit", "exact", "fill"):
        rz = Resize(rz.mode, rz.width, rz.height, upscale=rz.upscale, filter=rz.filter)
    elif rz.mode == "long_edge":
        rz = Resize(rz.mode, long_edge=rz.long_edge, upscale=rz.upscale, filter=rz.filter)
    else:
        rz = Resize(rz.mode, percent=rz.percent, upscale=rz.upscale, filter=rz.filter)
    return recipe.replace(name="", description="", resize=rz)


def same_settings(a: Recipe, b: Recipe) -> bool:
    """True when two recipes convert identically (names and descriptions aside)."""
    return _effective(a) == _effective(b)


@dataclass(frozen=True)
class Preset:
    name: str
    recipe: Recipe
    path: Path | None = None  # None for a built-in preset

    @property
    def builtin(self) -> bool:
        return self.path is None


class PresetStore:
    """Lists, finds, saves, imports and deletes presets. Broken user files are skipped and
    listed in `problems` as (path, message) after each call of user()."""

    def __init__(self, folder: Path | None = None, builtin_folder: Path | None = None) -> None:
        self.folder = Path(folder) if folder is not None else user_presets_dir()
        self.problems: list[tuple[Path, str]] = []
        shipped = builtin_folder if builtin_folder is not None else builtin_presets_dir()
        self._builtin = [
            Preset(r.name, r) for r in map(load_recipe_file, sorted(shipped.glob("*.json")))
        ]

    def builtin(self) -> list[Preset]:
        return list(self._builtin)

    def user(self) -> list[Preset]:
        self.problems = []
        presets = []
        for path in sorted(self.folder.glob("*.json")) if self.folder.is_dir() else []:
            try:
                recipe = load_recipe_file(path)
            except RecipeError as exc:
                self.problems.append((path, str(exc)))
                continue
            presets.append(Preset(recipe.name, recipe, path))
        return presets

    def all(self) -> list[Preset]:
        return self.builtin() + self.user()

    def find(self, name_or_file: str) -> Recipe:
        """A built-in or user preset by (case-insensitive) name, or a recipe JSON file."""
        for preset in self.user() + self.builtin():  # a user's file of the same name wins
            if preset.name.casefold() == name_or_file.casefold():
                return preset.recipe
        path = Path(name_or_file)
        if path.suffix.lower() == ".json" or path.exists():
            return load_recipe_file(path)
        names = ", ".join(p.name for p in self._builtin)
        raise RecipeError(
            _("no preset named {name}; built-in presets: {names}").format(
                name=repr(name_or_file), names=names
            )
        )

    def save(self, recipe: Recipe, name: str) -> Preset:
        """Save recipe under name (replacing the user's preset of that name)."""
        name = name.strip()
        if not name:
            raise RecipeError(_("a preset needs a name"))
        if any(p.name.casefold() == name.casefold() for p in self._builtin):
            raise RecipeError(
                _("“{name}” is the name of a built-in preset; choose another").format(name=name)
            )
        existing = next((p for p in self.user() if p.name == name), None)
        path = existing.path if existing else self._free_path(name)
        assert path is not None
        self.folder.mkdir(parents=True, exist_ok=True)
        recipe = recipe.replace(name=name)
        save_recipe_file(recipe, path)
        return Preset(name, recipe, path)

    def import_file(self, path: Path) -> Preset:
        """Copy a recipe JSON file into the user's presets (raises RecipeError if invalid)."""
        recipe = load_recipe_file(Path(path))
        name = recipe.name
        if any(p.name.casefold() == name.casefold() for p in self._builtin):
            name = _("{name} (imported)").format(name=name)
        return self.save(recipe, name)

    def delete(self, preset: Preset) -> None:
        if preset.path is None:
            raise RecipeError(_("built-in presets cannot be deleted"))
        preset.path.unlink(missing_ok=True)

    def _free_path(self, name: str) -> Path:
        stem = re.sub(r"[^\w\- ]+", "", name).strip().replace(" ", "-").lower() or "preset"
        path = self.folder / f"{stem}.json"
        n = 2
        while path.exists():
            path = self.folder / f"{stem}-{n}.json"
            n += 1
        return path


def find_preset(name_or_file: str) -> Recipe:
    """A built-in or user preset by name, or a recipe JSON file (what `--preset` takes)."""
    return PresetStore().find(name_or_file)
