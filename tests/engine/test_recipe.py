from __future__ import annotations

import json

import pytest

from pixmill.engine.recipe import Recipe, RecipeError, Resize, check_template

pytestmark = pytest.mark.timeout(30)


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


@pytest.mark.parametrize(
    "changes, words",
    [
        ({"format": "jpg2000"}, "unknown format"),
        ({"quality": 0}, "quality"),
        ({"quality": 101}, "quality"),
        ({"metadata": "some"}, "metadata"),
        ({"on_conflict": "ask"}, "conflict"),
        ({"background": "red"}, "background"),
        ({"name_template": "{stem}_{nope}"}, "unknown name token"),
        ({"name_template": "  "}, "empty"),
        ({"resize": {"mode": "fit", "width": 0, "height": 10}}, "width and height"),
        ({"resize": {"mode": "stretch"}}, "resize mode"),
        ({"bogus": 1}, "unknown recipe field"),
    ],
)
def test_invalid_recipes_are_refused_with_a_clear_message(changes, words):
    data = Recipe().to_dict() | changes
    with pytest.raises(RecipeError, match=words):
        Recipe.from_dict(data)


def test_template_allows_format_specs():
    check_template("{stem}_{index:04d}")
    with pytest.raises(RecipeError):
        check_template("{stem")
