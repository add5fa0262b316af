"""Presets: the built-in ones and the user's own, saved as recipe JSON files.

A user preset is exactly the file `pixmill convert --preset FILE.json` reads, kept in the
application's configuration folder (for example ~/.config/Pixmill/presets on Linux).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from engine.recipe import (
    Recipe,
    RecipeError,
    Resize,
    builtin_presets,
    load_recipe_file,
    save_recipe_file,
    user_presets_dir,
)


def default_presets_dir() -> Path:
    """The same folder the CLI searches for `--preset NAME` (engine.recipe)."""
    return user_presets_dir()


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
    """Lists, saves, imports and deletes presets. Broken user files are skipped and listed in
    `problems` as (path, message)."""

    def __init__(self, folder: Path | None = None) -> None:
        self.folder = Path(folder) if folder is not None else default_presets_dir()
        self.problems: list[tuple[Path, str]] = []
        self._builtin = [Preset(n, r) for n, r in builtin_presets().items()]

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
            presets.append(Preset(recipe.name or path.stem, recipe, path))
        return presets

    def all(self) -> list[Preset]:
        return self.builtin() + self.user()

    def save(self, recipe: Recipe, name: str) -> Preset:
        """Save recipe under name (replacing the user's preset of that name)."""
        name = name.strip()
        if not name:
            raise RecipeError("a preset needs a name")
        if any(p.name.casefold() == name.casefold() for p in self._builtin):
            raise RecipeError(f"“{name}” is the name of a built-in preset; choose another")
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
        name = recipe.name or Path(path).stem
        if any(p.name.casefold() == name.casefold() for p in self._builtin):
            name = f"{name} (imported)"
        return self.save(recipe, name)

    def delete(self, preset: Preset) -> None:
        if preset.path is None:
            raise RecipeError("built-in presets cannot be deleted")
        preset.path.unlink(missing_ok=True)

    def _free_path(self, name: str) -> Path:
        stem = re.sub(r"[^\w\- ]+", "", name).strip().replace(" ", "-").lower() or "preset"
        path = self.folder / f"{stem}.json"
        n = 2
        while path.exists():
            path = self.folder / f"{stem}-{n}.json"
            n += 1
        return path
