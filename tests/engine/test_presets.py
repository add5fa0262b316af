"""pixmill.engine.presets: the built-in recipes, the user's own files, and finding either by
name or path."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from pixmill.engine.presets import (
    PresetStore,
    builtin_presets_dir,
    find_preset,
    load_recipe_file,
    same_settings,
    save_recipe_file,
    user_presets_dir,
)
from pixmill.engine.recipe import Recipe, RecipeError, Resize

pytestmark = pytest.mark.timeout(10)

BUILTIN_NAMES = (
    "Web 2048 WebP",
    "Email 1280 JPEG",
    "Thumbnails 256",
    "Lossless PNG archive",
    "Square 1080 (fill)",
    "Web smallest (auto format)",
)


@pytest.fixture(autouse=True)
def config_home(tmp_path, monkeypatch) -> Path:
    """Every test gets its own, empty configuration folder: a user's real presets never count."""
    home = tmp_path / "config"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home))
    return home


@pytest.fixture
def store(tmp_path) -> PresetStore:
    return PresetStore(tmp_path / "presets")


def test_builtin_presets_exist_and_are_valid(tmp_path):
    presets = {p.name: p.recipe for p in PresetStore(tmp_path).builtin()}
    for name in BUILTIN_NAMES:
        assert name in presets, name
    assert presets["Web 2048 WebP"].format == "webp"
    assert presets["Web 2048 WebP"].resize.long_edge == 2048
    assert presets["Square 1080 (fill)"].resize.mode == "fill"
    assert presets["Web smallest (auto format)"].format == "auto"
    assert all(presets[n].skip_larger for n in BUILTIN_NAMES if presets[n].to_srgb)  # web ones
    assert find_preset("email 1280 jpeg").resize.width == 1280


def test_builtin_presets_are_shipped_as_package_data():
    files = sorted(builtin_presets_dir().glob("*.json"))
    assert len(files) == len(BUILTIN_NAMES)
    assert all(p.builtin and p.path is None for p in PresetStore().builtin())


@pytest.mark.skipif(sys.platform in ("win32", "darwin"), reason="the XDG layout is Linux's")
def test_user_presets_live_under_xdg_config_home(config_home, monkeypatch, tmp_path):
    assert user_presets_dir() == config_home / "Pixmill" / "Pixmill" / "presets"
    assert PresetStore().folder == user_presets_dir()
    monkeypatch.delenv("XDG_CONFIG_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert user_presets_dir() == tmp_path / "home" / ".config" / "Pixmill" / "Pixmill" / "presets"


def test_user_preset_file_round_trip(tmp_path):
    r = Recipe(name="Shop", format="jpeg", quality=70, resize=Resize("long_edge", long_edge=900))
    path = tmp_path / "shop.json"
    save_recipe_file(r, path)
    assert load_recipe_file(path) == r
    assert find_preset(str(path)) == r


def test_a_recipe_file_without_a_name_is_named_after_the_file(tmp_path):
    path = tmp_path / "Shop Large.json"
    path.write_text('{"format": "png"}')
    assert load_recipe_file(path) == Recipe(name="Shop Large", format="png")


def test_broken_preset_file_names_the_file(tmp_path):
    path = tmp_path / "broken.json"
    path.write_text("{not json")
    with pytest.raises(RecipeError, match="broken.json"):
        load_recipe_file(path)


def test_a_missing_preset_file_is_a_recipe_error(tmp_path):
    with pytest.raises(RecipeError, match="cannot read preset"):
        load_recipe_file(tmp_path / "gone.json")


def test_same_settings_ignores_names_and_the_size_fields_a_mode_does_not_use():
    a = Recipe(name="A", description="x", resize=Resize("long_edge", width=5, long_edge=900))
    b = Recipe(name="B", resize=Resize("long_edge", height=7, percent=3, long_edge=900))
    assert same_settings(a, b)
    assert same_settings(Recipe(resize=Resize(width=1)), Recipe())
    assert same_settings(
        Recipe(resize=Resize("fit", 10, 20, long_edge=4)), Recipe(resize=Resize("fit", 10, 20))
    )
    assert same_settings(
        Recipe(resize=Resize("percent", width=3, percent=50)),
        Recipe(resize=Resize("percent", percent=50)),
    )


def test_same_settings_sees_every_setting_that_changes_the_output():
    base = Recipe(resize=Resize("fit", 10, 20))
    assert not same_settings(base, base.replace(quality=84))
    assert not same_settings(base, base.replace(resize=Resize("fit", 10, 21)))
    assert not same_settings(base, base.replace(resize=Resize("fit", 10, 20, upscale=True)))
    assert not same_settings(base, base.replace(resize=Resize("exact", 10, 20)))
    assert not same_settings(base, base.replace(name_template="{stem}_x"))


def test_save_lists_and_finds_a_user_preset(store):
    saved = store.save(Recipe(format="webp", quality=60), "  My Web  ")
    assert saved.name == "My Web" and not saved.builtin
    assert saved.path == store.folder / "my-web.json"
    assert [p.name for p in store.user()] == ["My Web"]
    assert store.find("my web") == Recipe(name="My Web", format="webp", quality=60)
    assert [p.name for p in store.all()] == [*BUILTIN_NAMES, "My Web"]


def test_saving_under_an_existing_name_replaces_that_file(store):
    first = store.save(Recipe(format="png"), "Mine")
    again = store.save(Recipe(format="gif"), "Mine")
    assert again.path == first.path
    assert [p.recipe.format for p in store.user()] == ["gif"]


def test_different_names_with_the_same_file_stem_get_their_own_files(store):
    one = store.save(Recipe(), "Mine!")
    two = store.save(Recipe(format="png"), "Mine?")
    assert one.path.name == "mine.json" and two.path.name == "mine-2.json"
    assert {p.name for p in store.user()} == {"Mine!", "Mine?"}


@pytest.mark.parametrize("name", ["", "   "])
def test_save_needs_a_name(store, name):
    with pytest.raises(RecipeError, match="needs a name"):
        store.save(Recipe(), name)


def test_save_refuses_a_builtin_name_in_any_case(store):
    with pytest.raises(RecipeError, match="built-in"):
        store.save(Recipe(), "web 2048 webp")
    assert not store.folder.exists()


def test_a_user_file_named_like_a_builtin_wins_find(store):
    store.folder.mkdir(parents=True)
    mine = Recipe(name="Web 2048 WebP", format="png")
    save_recipe_file(mine, store.folder / "web.json")
    assert store.find("WEB 2048 WEBP") == mine
    names = [p.name for p in store.all()]
    assert names.count("Web 2048 WebP") == 2


def test_broken_user_files_are_listed_as_problems_and_the_rest_still_load(store):
    store.folder.mkdir(parents=True)
    save_recipe_file(Recipe(name="Good"), store.folder / "good.json")
    (store.folder / "bad.json").write_text("{not json")
    (store.folder / "worse.json").write_text('{"format": "jpg"}')
    (store.folder / "notes.txt").write_text("not a preset")
    assert [p.name for p in store.user()] == ["Good"]
    assert [path.name for path, _ in store.problems] == ["bad.json", "worse.json"]
    assert "not valid JSON" in store.problems[0][1]
    assert "unknown format" in store.problems[1][1]
    (store.folder / "bad.json").unlink()
    (store.folder / "worse.json").unlink()
    store.user()
    assert store.problems == []


def test_a_missing_user_folder_means_no_user_presets(store):
    assert store.user() == [] and store.problems == []
    assert not store.folder.exists()


def test_import_copies_a_recipe_file_into_the_user_presets(store, tmp_path):
    outside = tmp_path / "from-a-friend.json"
    save_recipe_file(Recipe(name="Friend", format="avif"), outside)
    imported = store.import_file(outside)
    assert imported.name == "Friend" and imported.path.parent == store.folder
    outside.unlink()
    assert store.find("friend").format == "avif"


def test_importing_a_builtin_name_adds_imported(store, tmp_path):
    outside = tmp_path / "copy.json"
    save_recipe_file(Recipe(name="thumbnails 256", format="png"), outside)
    imported = store.import_file(outside)
    assert imported.name == "thumbnails 256 (imported)"
    assert store.find("Thumbnails 256").format == "jpeg"  # the built-in, untouched
    assert store.find("thumbnails 256 (imported)").format == "png"


def test_importing_a_broken_file_raises_and_saves_nothing(store, tmp_path):
    outside = tmp_path / "bad.json"
    outside.write_text('{"quality": 0}')
    with pytest.raises(RecipeError, match="quality"):
        store.import_file(outside)
    assert store.user() == []


def test_delete_removes_a_user_preset_but_never_a_builtin(store):
    saved = store.save(Recipe(), "Gone soon")
    store.delete(saved)
    assert not saved.path.exists() and store.user() == []
    store.delete(saved)  # already gone: nothing to do
    with pytest.raises(RecipeError, match="cannot be deleted"):
        store.delete(store.builtin()[0])


def test_find_takes_a_recipe_file_path(store, tmp_path):
    path = tmp_path / "elsewhere" / "recipe.JSON"
    path.parent.mkdir()
    path.write_text('{"format": "bmp"}')
    assert store.find(str(path)) == Recipe(name="recipe", format="bmp")
    plain = tmp_path / "recipe-without-suffix"
    plain.write_text('{"format": "gif"}')
    assert store.find(str(plain)).format == "gif"


def test_find_names_the_builtins_when_nothing_matches(store):
    with pytest.raises(RecipeError, match="no preset named 'Nope'") as info:
        store.find("Nope")
    assert all(name in str(info.value) for name in BUILTIN_NAMES)


def test_find_of_a_missing_json_path_says_it_cannot_read_it(store, tmp_path):
    with pytest.raises(RecipeError, match="cannot read preset"):
        store.find(str(tmp_path / "missing.json"))


def test_find_preset_reads_the_users_folder(config_home):
    folder = config_home / "Pixmill" / "Pixmill" / "presets"
    folder.mkdir(parents=True)
    save_recipe_file(Recipe(name="Shop 500", format="webp"), folder / "shop.json")
    assert find_preset("SHOP 500").format == "webp"
