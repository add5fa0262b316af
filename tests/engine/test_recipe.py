"""pixmill.engine.recipe: the frozen Recipe and Resize, their validation and JSON round trip,
parse_color and check_template."""

from __future__ import annotations

import dataclasses
import json

import pytest

from pixmill.engine.recipe import (
    NAME_TOKENS,
    Recipe,
    RecipeError,
    Resize,
    check_template,
    parse_color,
)

pytestmark = pytest.mark.timeout(10)


def test_recipe_round_trips_through_json():
    r = Recipe(
        name="mine",
        format="webp",
        quality=77,
        webp_lossless=True,
        resize=Resize("fill", width=300, height=200, upscale=True, filter="bicubic"),
        metadata="strip_location",
        keep_icc=False,
        background="#102030",
        name_template="{parent}_{stem}_{width}x{height}",
        preserve_tree=False,
        on_conflict="skip",
        keep_dates=True,
    )
    again = Recipe.from_json(r.to_json())
    assert again == r
    assert json.loads(r.to_json())["resize"]["mode"] == "fill"


def test_defaults_never_overwrite_and_keep_metadata():
    r = Recipe()
    assert r.on_conflict == "rename"
    assert r.auto_orient and r.keep_icc and r.metadata == "keep"
    assert r.resize.mode == "none" and not r.resize.upscale


def test_missing_fields_take_their_defaults():
    r = Recipe.from_dict({"format": "png", "resize": {"mode": "long_edge", "long_edge": 64}})
    assert r == Recipe(format="png", resize=Resize("long_edge", long_edge=64))
    assert Recipe.from_json("{}") == Recipe()


@pytest.mark.parametrize(
    "changes, words",
    [
        ({"format": "jpg2000"}, "unknown format"),
        ({"quality": 0}, "quality"),
        ({"quality": 101}, "quality"),
        ({"png_compress_level": 10}, "PNG compression level"),
        ({"png_compress_level": -1}, "PNG compression level"),
        ({"metadata": "some"}, "metadata"),
        ({"on_conflict": "ask"}, "conflict"),
        ({"background": "red"}, "background"),
        ({"name_template": "{stem}_{nope}"}, "unknown name token"),
        ({"name_template": "  "}, "empty"),
        ({"resize": {"mode": "fit", "width": 0, "height": 10}}, "width and height"),
        ({"resize": {"mode": "exact", "width": 10, "height": 0}}, "width and height"),
        ({"resize": {"mode": "fill", "width": 10}}, "width and height"),
        ({"resize": {"mode": "long_edge", "long_edge": 0}}, "long_edge"),
        ({"resize": {"mode": "percent", "percent": 0}}, "percent"),
        ({"resize": {"mode": "percent", "percent": 10000.5}}, "percent"),
        ({"resize": {"mode": "stretch"}}, "resize mode"),
        ({"resize": {"filter": "box"}}, "resampling filter"),
        ({"resize": {"mode": "fit", "widht": 10}}, "unknown resize field"),
        ({"resize": "fit"}, "'resize' must be an object"),
        ({"bogus": 1}, "unknown recipe field"),
        ({"quality": "high"}, "not supported"),
    ],
)
def test_invalid_recipes_are_refused_with_a_clear_message(changes, words):
    data = Recipe().to_dict() | changes
    with pytest.raises(RecipeError, match=words):
        Recipe.from_dict(data)


@pytest.mark.parametrize("text", ["[1, 2]", '"webp"', "null"])
def test_a_recipe_must_be_a_json_object(text):
    with pytest.raises(RecipeError, match="JSON object"):
        Recipe.from_json(text)


def test_invalid_json_is_a_recipe_error():
    with pytest.raises(RecipeError, match="not valid JSON"):
        Recipe.from_json("{format: webp}")


def test_recipes_are_frozen_and_replace_revalidates():
    r = Recipe(format="png")
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.format = "jpeg"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.resize.width = 5  # type: ignore[misc]
    assert r.replace(quality=50) == Recipe(format="png", quality=50)
    with pytest.raises(RecipeError, match="quality"):
        r.replace(quality=500)
    assert r.format == "png"


def test_constructing_an_invalid_recipe_raises():
    with pytest.raises(RecipeError, match="unknown format"):
        Recipe(format="jpg")
    with pytest.raises(RecipeError, match="long_edge"):
        Recipe(resize=Resize("long_edge"))


def test_resize_from_dict_accepts_a_resize_instance():
    rz = Resize("percent", percent=50)
    assert Recipe.from_dict({"resize": rz}).resize is rz


@pytest.mark.parametrize(
    "resize, text",
    [
        (Resize(), "original size"),
        (Resize("fit", 800, 600), "fit within 800x600"),
        (Resize("long_edge", long_edge=2048), "long edge 2048 px"),
        (Resize("percent", percent=50.0), "50%"),
        (Resize("percent", percent=12.5), "12.5%"),
        (Resize("exact", 100, 50), "exactly 100x50"),
        (Resize("fill", 1080, 1080), "fill 1080x1080 (crop)"),
    ],
)
def test_resize_describes_itself(resize, text):
    assert resize.describe() == text


def test_recipe_description_shows_quality_only_where_it_counts():
    assert Recipe(format="jpeg", quality=80).describe() == "JPEG, q80, original size"
    assert Recipe(format="png", quality=80).describe() == "PNG, original size"
    assert Recipe(format="webp", webp_lossless=True).describe() == "WEBP, original size"
    assert Recipe(format="webp", quality=70).describe() == "WEBP, q70, original size"
    same = Recipe(resize=Resize("long_edge", long_edge=500))
    assert same.describe() == "same format, long edge 500 px"


@pytest.mark.parametrize(
    "text, rgb",
    [
        ("#ffffff", (255, 255, 255)),
        ("#102030", (16, 32, 48)),
        ("#AbCdEf", (171, 205, 239)),
        ("#fa0", (255, 170, 0)),
        ("  #000  ", (0, 0, 0)),
        ("102030", (16, 32, 48)),
    ],
)
def test_parse_color_reads_long_and_short_hex(text, rgb):
    assert parse_color(text) == rgb


@pytest.mark.parametrize("text", ["", "#", "red", "#ffff", "#gggggg", "#12345", "#1234567"])
def test_parse_color_refuses_anything_else(text):
    with pytest.raises(RecipeError, match="#rrggbb"):
        parse_color(text)


def test_template_allows_format_specs():
    check_template("{stem}_{index:04d}")
    with pytest.raises(RecipeError):
        check_template("{stem")


def test_template_accepts_every_documented_token_and_literal_braces():
    check_template("_".join("{" + t + "}" for t in NAME_TOKENS))
    check_template("{{literal}}_{stem}")


@pytest.mark.parametrize("template", ["{stem}_{0}", "{}", "{stem[0]x}", "{index:q}", "{stem:d}"])
def test_template_refuses_positional_fields_and_bad_specs(template):
    with pytest.raises(RecipeError, match="not valid|unknown name token"):
        check_template(template)


def test_unknown_token_message_lists_the_known_ones():
    with pytest.raises(RecipeError) as info:
        check_template("{size}")
    assert "{size}" in str(info.value)
    assert all("{" + t + "}" in str(info.value) for t in NAME_TOKENS)
