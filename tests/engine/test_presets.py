"""Presets: the built-in recipes, the user's own files, and finding either by name or path."""

from __future__ import annotations

import pytest

from pixmill.engine.presets import PresetStore, find_preset, load_recipe_file, save_recipe_file
from pixmill.engine.recipe import Recipe, RecipeError, Resize


def test_builtin_presets_exist_and_are_valid(tmp_path):
    presets = {p.name: p.recipe for p in PresetStore(tmp_path).builtin()}
    for name in (
        "Web 2048 WebP",
        "Email 1280 JPEG",
        "Thumbnails 256",
        "Lossless PNG archive",
        "Square 1080 (fill)",
    ):
        assert name in presets, name
    assert presets["Web 2048 WebP"].format == "webp"
    assert presets["Web 2048 WebP"].resize.long_edge == 2048
    assert presets["Square 1080 (fill)"].resize.mode == "fill"
    assert find_preset("email 1280 jpeg").resize.width == 1280


def test_user_preset_file_round_trip(tmp_path):
    r = Recipe(name="Shop", format="jpeg", quality=70, resize=Resize("long_edge", long_edge=900))
    path = tmp_path / "shop.json"
    save_recipe_file(r, path)
    assert load_recipe_file(path) == r
    assert find_preset(str(path)) == r


def test_broken_preset_file_names_the_file(tmp_path):
    path = tmp_path / "broken.json"
    path.write_text("{not json")
    with pytest.raises(RecipeError, match="broken.json"):
        load_recipe_file(path)
