"""The recipe panel: every field round-trips, quality only where it applies, the live naming
example, and presets (built-in and the user's own, which the CLI reads)."""

from __future__ import annotations

import json

import pytest

from pixmill.engine.cli import build_parser, recipe_from_args
from pixmill.engine.formats import FORMATS, QUALITY_FORMATS
from pixmill.engine.presets import PresetStore, load_recipe_file
from pixmill.engine.recipe import DEFAULT_MAX_MEGAPIXELS, Recipe, Resize
from pixmill.gui.preset_bar import CUSTOM
from pixmill.gui.recipe_panel import RecipePanel

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def panel(qtbot, presets_dir):
    p = RecipePanel(PresetStore(presets_dir))
    qtbot.addWidget(p)
    return p


def test_every_recipe_field_round_trips_through_the_panel(panel):
    recipe = Recipe(
        name="Mine",
        description="everything changed",
        format="jpeg",
        quality=61,
        progressive=True,
        webp_lossless=True,
        png_compress_level=2,
        resize=Resize("fill", 640, 480, 900, 33.5, True, "bicubic"),
        auto_orient=False,
        metadata="strip_location",
        keep_icc=False,
        background="#102030",
        keep_frames=False,
        to_srgb=True,
        raw_preview=True,
        name_template="{parent}_{stem}_{width}x{height}",
        preserve_tree=False,
        recursive=False,
        on_conflict="overwrite",
        keep_dates=True,
    )
    panel.set_recipe(recipe)
    assert panel.recipe() == recipe
    for mode in ("none", "fit", "long_edge", "percent", "exact", "fill"):
        changed = recipe.replace(resize=Resize(mode, 640, 480, 900, 33.5, False, "nearest"))
        panel.set_recipe(changed)
        assert panel.recipe() == changed


@pytest.mark.parametrize(
    ("fmt", "lossless", "enabled"),
    [
        ("jpeg", False, True),
        ("webp", False, True),
        ("webp", True, False),
        ("avif", False, True),
        ("heic", False, True),
        ("jxl", False, True),
        ("png", False, False),
        ("tiff", False, False),
        ("gif", False, False),
        ("same", False, True),
    ],
)
def test_quality_is_enabled_only_where_it_applies(panel, fmt, lossless, enabled):
    panel.set_recipe(Recipe(format=fmt, webp_lossless=lossless))
    assert panel.qualitySpin.isEnabled() is enabled
    assert panel.formatEditor.qualitySlider.isEnabled() is enabled
    assert panel.formatEditor.pngLevelSpin.isEnabled() is (fmt in ("png", "same"))
    assert panel.formatEditor.progressiveCheck.isEnabled() is (fmt in ("jpeg", "same"))


def test_the_naming_example_follows_template_format_and_size(panel, images, tmp_path):
    example = panel.namingEditor.exampleLabel
    panel.set_recipe(Recipe(format="webp", resize=Resize("long_edge", long_edge=2000)))
    assert example.text() == "IMG_0042.jpg → IMG_0042.webp"
    panel.namingEditor.templateEdit.setText("{stem}_{width}px")
    assert example.text() == "IMG_0042.jpg → IMG_0042_2000px.webp"
    panel.formatCombo.setCurrentIndex(panel.formatCombo.findData("jpeg"))
    assert example.text() == "IMG_0042.jpg → IMG_0042_2000px.jpg"

    real = images(tmp_path / "shots", 1, size=(200, 150), prefix="beach")[0]
    panel.set_example_source(str(real))
    assert example.text() == "beach00.png → beach00_200px.jpg"  # never enlarged

    panel.namingEditor.templateEdit.setText("{stem}_{nope}")
    assert "unknown name token {nope}" in example.text()
    with pytest.raises(Exception, match="nope"):
        panel.recipe()


def test_choosing_a_preset_and_editing_it_shows_custom(panel):
    name, recipe = next((p.name, p.recipe) for p in PresetStore().builtin())
    assert panel.presets.select(name)
    assert panel.recipe().replace(name="", description="") == recipe.replace(
        name="", description=""
    )
    assert panel.presetCombo.currentText() == name
    panel.qualitySpin.setValue(recipe.quality - 1 if recipe.quality > 1 else 2)
    assert panel.presetCombo.currentText() == CUSTOM
    panel.qualitySpin.setValue(recipe.quality)
    assert panel.presetCombo.currentText() == name, "back to the preset's values"


def test_user_presets_are_json_files_the_cli_reads(panel, presets_dir, tmp_path):
    panel.set_recipe(Recipe(format="webp", quality=55, resize=Resize("fit", 300, 200)))
    preset = panel.presets.save("Small WebP")
    assert preset.path is not None and preset.path.parent == presets_dir
    assert json.loads(preset.path.read_text())["quality"] == 55
    assert load_recipe_file(preset.path).format == "webp"

    args = build_parser().parse_args(["convert", "in", "-o", "out", "--preset", str(preset.path)])
    from_cli = recipe_from_args(args)
    assert from_cli.quality == 55 and from_cli.resize == Resize("fit", 300, 200)

    # A fresh panel (a restart) lists it and loads it.
    again = RecipePanel(PresetStore(presets_dir))
    items = [again.presetCombo.itemText(i) for i in range(again.presetCombo.count())]
    assert "Small WebP  (mine)" in items
    assert again.presets.select("Small WebP")
    assert again.recipe().quality == 55
    again.presets.delete_current()
    assert not preset.path.exists()
    again.deleteLater()


def test_importing_a_recipe_file_adds_it_to_the_presets(panel, tmp_path, presets_dir):
    source = tmp_path / "shared.json"
    source.write_text(Recipe(name="Shared", format="png", png_compress_level=9).to_json())
    preset = panel.presets.import_file(source)
    assert preset.name == "Shared" and preset.path.parent == presets_dir
    assert panel.recipe().png_compress_level == 9
    with pytest.raises(Exception, match="quality"):
        bad = tmp_path / "bad.json"
        bad.write_text('{"quality": 500}')
        panel.presets.import_file(bad)


def test_a_built_in_name_cannot_be_taken(panel):
    name = PresetStore().builtin()[0].name
    with pytest.raises(Exception, match="built-in"):
        panel.presets.save(name)


def test_new_formats_have_their_names_and_every_quality_format_enables_quality(panel):
    combo = panel.formatCombo
    labels = {combo.itemData(i): combo.itemText(i) for i in range(combo.count())}
    assert list(labels) == list(FORMATS)
    assert labels["heic"] == "HEIC" and labels["jxl"] == "JPEG XL"
    for fmt in QUALITY_FORMATS:
        panel.set_recipe(Recipe(format=fmt))
        assert panel.qualitySpin.isEnabled(), fmt
    panel.set_recipe(Recipe(format="same"))
    assert "HEIC and JPEG XL outputs" in panel.qualitySpin.toolTip()


def test_srgb_and_raw_preview_checkboxes_edit_the_recipe(panel, qtbot):
    srgb = panel.findChild(type(panel.keepIccCheck), "toSrgbCheck")
    raw = panel.findChild(type(panel.keepIccCheck), "rawPreviewCheck")
    assert srgb is not None and raw is not None
    assert "sRGB" in srgb.toolTip() and "profile" in srgb.toolTip()
    assert "preview" in raw.toolTip() and raw.isEnabled()
    assert not panel.recipe().to_srgb and not panel.recipe().raw_preview
    with qtbot.waitSignal(panel.recipeChanged) as changed:
        srgb.click()
    assert changed.args[0].to_srgb
    raw.click()
    assert panel.recipe() == Recipe(to_srgb=True, raw_preview=True)
    panel.set_recipe(Recipe(format="png"))  # RAW preview is an input option: any output
    assert raw.isEnabled() and not raw.isChecked() and not srgb.isChecked()


def test_srgb_and_raw_preview_round_trip_through_a_preset(panel, presets_dir):
    panel.set_recipe(Recipe(format="webp", to_srgb=True, raw_preview=True))
    preset = panel.presets.save("Phone RAW")
    data = json.loads(preset.path.read_text())
    assert data["to_srgb"] is True and data["raw_preview"] is True
    assert load_recipe_file(preset.path).to_srgb, "the CLI reads what the window saved"

    again = RecipePanel(PresetStore(presets_dir))
    try:
        assert again.recipe() == Recipe()
        assert again.presets.select("Phone RAW")
        assert again.toSrgbCheck.isChecked() and again.formatEditor.rawPreviewCheck.isChecked()
        assert again.recipe() == preset.recipe
        again.toSrgbCheck.click()
        assert again.presetCombo.currentText() == CUSTOM
        again.toSrgbCheck.click()
        assert again.presetCombo.currentText() == "Phone RAW  (mine)"
    finally:
        again.deleteLater()


def test_the_megapixel_limit_is_a_preference_not_part_of_the_form(panel, presets_dir):
    shared = presets_dir.parent / "limited.json"
    shared.write_text(Recipe(name="Limited", quality=70, max_megapixels=12.0).to_json())
    preset = panel.presets.import_file(shared)
    assert panel.recipe().max_megapixels == DEFAULT_MAX_MEGAPIXELS
    assert panel.presets.current() == preset, "the preset still matches the form"
