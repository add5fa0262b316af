"""pixmill.engine.geometry: output sizes, the fill crop, EXIF orientation, the per-frame
Geometry plan (box(), draft_request()) and probe_output_size."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from pixmill.engine.geometry import (
    Geometry,
    plan_geometry,
    probe_output_size,
    read_orientation,
    target_geometry,
)
from pixmill.engine.pixels import render
from pixmill.engine.recipe import Recipe, Resize
from tests.conftest import make_image, photo_array
from tests.engine.images import (
    ORIENTATION_TAG,
    bands,
    oriented_source,
    run,
    stored_for,
)

pytestmark = pytest.mark.timeout(60)


@pytest.mark.parametrize(
    "rz, src, expected",
    [
        (Resize("fit", width=200, height=200), (800, 600), (200, 150)),
        (Resize("fit", width=200, height=200), (600, 800), (150, 200)),
        (Resize("fit", width=2000, height=2000), (800, 600), (800, 600)),
        (Resize("fit", width=2000, height=2000, upscale=True), (800, 600), (2000, 1500)),
        (Resize("long_edge", long_edge=400), (600, 800), (300, 400)),
        (Resize("percent", percent=25), (800, 600), (200, 150)),
        (Resize("percent", percent=300), (80, 60), (80, 60)),
        (Resize("exact", width=100, height=300), (800, 600), (100, 300)),
        (Resize("fill", width=300, height=300), (800, 600), (300, 300)),
        (Resize("fill", width=1080, height=1080), (800, 600), (600, 600)),
        (Resize("none"), (800, 600), (800, 600)),
    ],
)
def test_resize_modes_give_the_right_size(tmp_path, rz, src, expected):
    assert target_geometry(*src, rz)[:2] == expected
    path = make_image(tmp_path / "s.jpg", src, quality=90)
    res, im = run(path, tmp_path / "out", format="png", resize=rz)
    assert im.size == expected


def test_fill_crops_the_centre(tmp_path):
    # Left third red, middle green, right third blue: a square fill keeps mostly green.
    src = tmp_path / "bands.png"
    Image.fromarray(bands(300, 100)).save(src)
    _, im = run(src, tmp_path / "out", format="png", resize=Resize("fill", width=50, height=50))
    px = np.asarray(im.convert("RGB")).astype(int)
    assert px[:, :, 1].mean() > 240 and px[:, :, 0].mean() < 10 and px[:, :, 2].mean() < 10


def test_jpeg_draft_path_keeps_quality(tmp_path):
    arr = photo_array(2400, 1800, seed=7)
    src = tmp_path / "big.jpg"
    Image.fromarray(arr).save(src, quality=95)
    _, im = run(src, tmp_path / "o", format="png", resize=Resize("fit", width=600, height=600))
    assert im.size == (600, 450)
    ref = Image.open(src).convert("RGB").resize((600, 450), Image.Resampling.LANCZOS)
    diff = np.abs(np.asarray(im, np.int16) - np.asarray(ref, np.int16))
    assert diff.mean() < 3.0


# --- target_geometry ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "rz, src, crop",
    [
        (Resize("fill", width=300, height=300), (800, 600), (600, 600)),
        (Resize("fill", width=100, height=200), (800, 600), (300, 600)),
        # smaller than the box and no upscale: the box shrinks to fit, the crop keeps its shape
        (Resize("fill", width=1080, height=1080), (800, 600), (600, 600)),
        # the same aspect as the source: nothing to cut
        (Resize("fill", width=400, height=300), (800, 600), None),
        (Resize("fit", width=200, height=200), (800, 600), None),
    ],
)
def test_fill_crop_is_the_centred_part_with_the_target_aspect(rz, src, crop):
    assert target_geometry(*src, rz)[2] == crop


def test_exact_without_upscale_shrinks_the_box_to_the_source():
    assert target_geometry(80, 60, Resize("exact", width=160, height=30)) == (80, 15, None)
    assert target_geometry(80, 60, Resize("exact", width=160, height=30, upscale=True)) == (
        160,
        30,
        None,
    )


def test_a_tiny_percent_never_gives_a_zero_size():
    assert target_geometry(3, 1000, Resize("percent", percent=1))[:2] == (1, 10)


# --- read_orientation -----------------------------------------------------------------------


@pytest.mark.parametrize("orientation", range(1, 9))
def test_read_orientation_gives_the_stored_tag(tmp_path, orientation):
    with Image.open(oriented_source(tmp_path / "o.jpg", orientation)) as im:
        assert read_orientation(im) == orientation


@pytest.mark.parametrize("value", [None, 0, 9, 300])
def test_read_orientation_is_1_when_the_tag_is_missing_or_out_of_range(tmp_path, value):
    path = tmp_path / "o.jpg"
    exif = Image.Exif()
    if value is not None:
        exif[ORIENTATION_TAG] = value
    Image.new("RGB", (8, 6)).save(path, exif=exif.tobytes())
    with Image.open(path) as im:
        assert im.getexif().get(ORIENTATION_TAG) == value
        assert read_orientation(im) == 1


# --- Geometry and plan_geometry ---------------------------------------------------------------


def test_geometry_resizes_only_when_the_size_changes_or_it_crops():
    assert not plan_geometry((800, 600), Resize("none"), 1).resizes
    assert not plan_geometry((800, 600), Resize("fit", width=900, height=900), 6).resizes
    assert not plan_geometry((800, 600), Resize("fill", width=800, height=600), 1).resizes
    assert plan_geometry((800, 600), Resize("fill", width=400, height=300), 1).resizes
    assert plan_geometry((800, 600), Resize("fill", width=800, height=500), 1).resizes


def test_box_is_none_without_a_fill_crop():
    g = plan_geometry((800, 600), Resize("fit", width=100, height=100), 1)
    assert g.box((800, 600)) is None and g.box((200, 150)) is None


def test_box_scales_the_crop_to_a_drafted_frame():
    g = plan_geometry((800, 600), Resize("fill", width=100, height=100), 1)
    assert g.crop == (600, 600) and g.size == (100, 100)
    assert g.box((800, 600)) == (100, 0, 700, 600)
    assert g.box((200, 150)) == (25, 0, 175, 150)  # the frame libjpeg decoded at 1/4


def test_a_fill_on_a_drafted_jpeg_gives_the_picture_of_the_full_decode(tmp_path):
    """box() on the frame libjpeg really decoded at reduced size crops the same region of the
    picture as on the full-size frame."""
    path = tmp_path / "photo.jpg"
    Image.fromarray(photo_array(800, 600, seed=3)).save(path, quality=95)
    recipe = Recipe(format="png", resize=Resize("fill", width=100, height=100))
    g = plan_geometry((800, 600), recipe.resize, 1)
    with Image.open(path) as im:
        im.load()
        full, _ = render(im, recipe, "png", g, None)
    with Image.open(path) as im:
        im.draft("RGB", g.draft_request())
        assert im.size == (200, 150)  # decoded at 1/4
        im.load()
        drafted, _ = render(im, recipe, "png", g, None)
    assert full.size == drafted.size == (100, 100)
    diff = np.abs(np.asarray(full, np.int16) - np.asarray(drafted, np.int16))
    assert diff.mean() < 4, diff.mean()


@pytest.mark.parametrize(
    "raw, resize, orientation, wanted",
    [
        # fit: exactly the output size, so libjpeg scales both sides by the same power of 2
        ((800, 600), Resize("fit", width=200, height=200), 1, (200, 150)),
        ((800, 600), Resize("fit", width=400, height=400), 1, (400, 300)),
        ((800, 600), Resize("fit", width=401, height=401), 1, None),  # less than 2x smaller
        ((800, 600), Resize("none"), 1, None),
        # fill: the size of the whole frame whose crop still covers the target
        ((800, 600), Resize("fill", width=100, height=100), 1, (134, 100)),
        ((800, 600), Resize("fill", width=300, height=300), 1, (400, 300)),
        ((800, 600), Resize("fill", width=500, height=500), 1, None),
        # stored sideways: the request is in stored pixels, the sides swapped
        ((600, 800), Resize("fit", width=200, height=200), 6, (150, 200)),
        ((600, 800), Resize("fit", width=200, height=200), 8, (150, 200)),
        ((600, 800), Resize("fill", width=100, height=50), 6, (75, 100)),
        ((600, 800), Resize("fill", width=100, height=50), 8, (75, 100)),
        ((600, 800), Resize("fill", width=50, height=100), 6, (100, 134)),
        ((600, 800), Resize("fill", width=50, height=100), 8, (100, 134)),
    ],
)
def test_draft_request_asks_for_the_size_the_resize_needs(raw, resize, orientation, wanted):
    g = plan_geometry(raw, resize, orientation)
    assert g.draft_request() == wanted


@pytest.mark.parametrize("orientation", [1, 6, 8])
@pytest.mark.parametrize("mode", ["fit", "fill"])
def test_libjpeg_decodes_the_draft_request_smaller_but_never_below_the_target(
    tmp_path, orientation, mode
):
    """The request, given to a real JPEG's draft(), decodes at 1/2, 1/4 or 1/8 scale and
    still leaves every output pixel (after the crop) backed by at least one source pixel."""
    path = tmp_path / "photo.jpg"
    raw = (960, 720) if orientation == 1 else (720, 960)
    Image.fromarray(photo_array(*raw)).save(path, quality=90)
    resize = Resize(mode, width=200, height=120)
    g = plan_geometry(raw, resize, orientation)
    request = g.draft_request()
    assert request is not None
    with Image.open(path) as im:
        im.draft("RGB", request)
        drafted = im.size
    assert drafted[0] < raw[0] and drafted[1] < raw[1]
    assert drafted[0] >= request[0] and drafted[1] >= request[1]
    box = g.box(drafted) or (0, 0, *drafted)
    assert box[2] - box[0] >= g.size[0] - 1e-9 and box[3] - box[1] >= g.size[1] - 1e-9


@pytest.mark.parametrize("orientation", [5, 6, 7, 8])
def test_plan_geometry_swaps_size_and_crop_for_sideways_orientations(orientation):
    up = target_geometry(200, 300, Resize("fill", width=100, height=50))
    assert up == (100, 50, (200, 100.0))
    g = plan_geometry((300, 200), Resize("fill", width=100, height=50), orientation)
    assert g == Geometry(orientation, (300, 200), (50, 100), (100.0, 200), 0.5)
    assert g.box((300, 200)) == (100, 0, 200, 200)
    fit = plan_geometry((300, 200), Resize("fit", width=100, height=50), orientation)
    assert fit.size == (50, 33) and fit.crop is None and fit.scale == 1.0


@pytest.mark.parametrize("orientation", [1, 2, 3, 4])
def test_plan_geometry_keeps_the_sides_for_upright_and_mirrored_orientations(orientation):
    g = plan_geometry((300, 200), Resize("fill", width=100, height=50), orientation)
    assert g == Geometry(orientation, (300, 200), (100, 50), (300, 150.0), 1 / 3)
    fit = plan_geometry((300, 200), Resize("fit", width=100, height=50), orientation)
    assert fit.size == (75, 50)


@pytest.mark.parametrize("orientation", [5, 6, 7, 8])
def test_a_sideways_fill_crops_the_middle_of_the_upright_picture(orientation):
    """Rendered with its plan, a stored sideways frame gives the centre of the upright
    picture: top third red, middle green, bottom blue, filled into a wide box -> green."""
    upright = Image.fromarray(np.ascontiguousarray(bands(300, 200).transpose(1, 0, 2)))
    assert upright.size == (200, 300)
    stored = stored_for(upright, orientation)
    recipe = Recipe(format="png", resize=Resize("fill", width=100, height=50))
    g = plan_geometry(stored.size, recipe.resize, orientation)
    out, _ = render(stored, recipe, "png", g, None)
    assert out.size == (100, 50)
    px = np.asarray(out, np.int16)
    assert px[..., 1].mean() > 240 and px[..., 0].mean() < 10 and px[..., 2].mean() < 10


# --- probe_output_size ------------------------------------------------------------------------


def test_probe_output_size_reads_the_header_and_turns_sideways_pictures(tmp_path):
    src = oriented_source(tmp_path / "o6.jpg", 6)  # stored 40x60, upright 60x40
    half = Resize("percent", percent=50)
    assert probe_output_size(str(src), Recipe(resize=half)) == (30, 20)
    assert probe_output_size(str(src), Recipe(resize=half, auto_orient=False)) == (20, 30)
    fill = Resize("fill", width=10, height=10)
    assert probe_output_size(str(src), Recipe(resize=fill)) == (10, 10)


def test_probe_output_size_is_zero_for_an_unreadable_file(tmp_path):
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"not a picture at all" * 20)
    assert probe_output_size(str(bad), Recipe()) == (0, 0)
    assert probe_output_size(str(tmp_path / "missing.jpg"), Recipe()) == (0, 0)


def test_probe_output_size_of_a_huge_declared_image_does_not_warn(tmp_path):
    """Between 1x and 2x Pillow's pixel limit Pillow only warns; the probe must answer."""
    path = Path(tmp_path / "big.png")
    Image.new("1", (12000, 10000)).save(path)  # 120 MP: above 89 MP, below 179 MP
    assert probe_output_size(str(path), Recipe()) == (12000, 10000)
