"""pixmill.engine.pixels: mode normalisation, flattening for formats without alpha, render(),
and the planar JPEG -> JPEG path (planar_ok, _render_planar)."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image, ImageCms
from PIL.JpegImagePlugin import get_sampling

from pixmill.engine import convert, pixels
from pixmill.engine.geometry import Geometry, plan_geometry
from pixmill.engine.recipe import Recipe, Resize
from tests.engine.images import (
    corner_marked,
    job_for,
    oriented_source,
    run,
    srgb_profile,
    store_oriented,
    stored_for,
)

pytestmark = pytest.mark.timeout(60)


NO_RESIZE = Resize()


def geometry_for(im: Image.Image, resize: Resize = NO_RESIZE, orientation: int = 1) -> Geometry:
    """The plan for a whole frame im."""
    return plan_geometry(im.size, resize, orientation)


def jpeg(im: Image.Image, **save: object) -> Image.Image:
    """im written as a JPEG and opened again (not loaded)."""
    buf = io.BytesIO()
    im.save(buf, "JPEG", **save)
    return Image.open(io.BytesIO(buf.getvalue()))


# --- through convert_one ----------------------------------------------------------------------


def test_cmyk_becomes_rgb(tmp_path):
    src = tmp_path / "cmyk.jpg"
    Image.new("CMYK", (40, 30), (0, 255, 255, 0)).save(src)  # pure red in CMYK
    _, im = run(src, tmp_path / "out", format="png")
    assert im.mode == "RGB"
    r, g, b = im.getpixel((20, 15))
    assert r > 200 and g < 60 and b < 60


def test_cmyk_goes_through_the_embedded_profile_when_there_is_one(tmp_path):
    rgb = Image.new("RGB", (8, 8), (10, 200, 30))
    cmyk = rgb.convert("CMYK")
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    out, icc = pixels._cmyk_to_rgb(cmyk, srgb)  # an unusable CMYK profile falls back
    assert out.mode == "RGB" and (icc is None or icc)


def test_sixteen_bit_png_is_scaled_not_clamped(tmp_path):
    arr = np.tile(np.linspace(0, 65535, 64, dtype=np.uint16), (16, 1))
    src = tmp_path / "deep.png"
    Image.fromarray(arr).save(src)
    _, jpg = run(src, tmp_path / "j", format="jpeg")
    vals = np.asarray(jpg.convert("L")).astype(int)[8]
    assert vals[0] < 8 and vals[-1] > 247 and 100 < vals[32] < 155
    _, png = run(src, tmp_path / "p", format="png")
    assert png.mode.startswith("I")
    assert np.asarray(png).max() > 60000


@pytest.mark.parametrize("fmt", ["png", "tiff"])
def test_big_endian_sixteen_bit_tiff_keeps_its_values(tmp_path, fmt):
    arr = np.tile(np.linspace(0, 65535, 64).astype(">u2"), (8, 1))
    src = tmp_path / "deep-be.tif"
    Image.fromarray(arr).save(src)
    with Image.open(src) as probe:
        assert probe.mode == "I;16B"
    _, out = run(src, tmp_path / "o", format=fmt)
    values = np.asarray(out.convert("I")).astype(int)[0]
    assert np.abs(values - arr[0].astype(int)).max() <= 1


def test_palette_with_transparency_to_jpeg_uses_the_background(tmp_path):
    im = Image.new("P", (20, 20), 0)
    im.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    im.paste(1, (0, 0, 10, 20))
    im.info["transparency"] = 0
    src = tmp_path / "pal.png"
    im.save(src, transparency=0)
    _, out = run(src, tmp_path / "o", format="jpeg", background="#00ff00")
    left, right = out.getpixel((3, 10)), out.getpixel((16, 10))
    assert left[0] > 200 and left[1] < 60
    assert right[1] > 200 and right[0] < 60
    _, png = run(src, tmp_path / "p", format="png")
    assert png.mode in ("RGBA", "P") and png.convert("RGBA").getpixel((16, 10))[3] == 0


@pytest.mark.parametrize("fmt", ["jpeg", "webp", "png", "bmp"])
def test_la_images(tmp_path, fmt):
    src = tmp_path / "la.png"
    base = Image.new("LA", (30, 20), (100, 255))
    base.paste((50, 0), (0, 0, 15, 20))
    base.save(src)
    res, out = run(src, tmp_path / "o", format=fmt, background="#ffffff")
    assert res["status"] == "ok"
    if fmt in ("jpeg", "bmp"):
        assert out.convert("L").getpixel((5, 10)) > 240  # transparent -> white background


# --- mode normalisation -----------------------------------------------------------------------


def _palette(mode: str) -> Image.Image:
    im = Image.new(mode, (4, 4), 1 if mode == "P" else (1, 77))
    im.putpalette([0, 0, 0, 10, 20, 30] + [0] * 762)
    return im


@pytest.mark.parametrize(
    "make, fmt, mode, pixel",
    [
        (lambda: Image.new("1", (4, 4), 1), "png", "L", 255),
        (lambda: Image.new("LA", (4, 4), (100, 128)).convert("La"), "png", "LA", (99, 128)),
        (
            lambda: Image.new("RGBA", (4, 4), (100, 50, 200, 128)).convert("RGBa"),
            "png",
            "RGBA",
            (99, 49, 199, 128),
        ),
        (lambda: Image.new("F", (4, 4), 123.4), "png", "L", 123),
        (lambda: _palette("P"), "png", "RGB", (10, 20, 30)),
        (lambda: _palette("PA"), "png", "RGBA", (10, 20, 30, 77)),
        (lambda: Image.new("HSV", (4, 4), (0, 255, 255)), "png", "RGB", (255, 0, 0)),
        (lambda: Image.new("YCbCr", (4, 4), (76, 85, 255)), "png", "RGB", (254, 0, 0)),
        (lambda: Image.new("I;16", (4, 4), 40000), "png", "I;16", 40000),
        (lambda: Image.new("I;16", (4, 4), 40000), "tiff", "I;16", 40000),
        (lambda: Image.new("I;16", (4, 4), 65535), "jpeg", "L", 255),
        (lambda: Image.new("I;16", (4, 4), 32768), "webp", "L", 128),
        (lambda: Image.new("I;16B", (4, 4), 32768), "jpeg", "L", 128),
        (lambda: Image.new("I", (4, 4), 40000), "png", "I;16", 40000),
        (lambda: Image.new("I", (4, 4), 200), "jpeg", "L", 200),  # 8-bit values in 32 bits
        (lambda: Image.new("I", (4, 4), 65535), "gif", "L", 255),
        (lambda: Image.new("L", (4, 4), 7), "jpeg", "L", 7),
        (lambda: Image.new("RGBA", (4, 4), (1, 2, 3, 4)), "jpeg", "RGBA", (1, 2, 3, 4)),
    ],
)
def test_every_mode_is_brought_to_one_that_resizes_and_encodes(make, fmt, mode, pixel):
    out, icc = pixels._normalise_mode(make(), fmt, b"profile")
    assert out.mode == mode
    assert out.getpixel((1, 1)) == pixel
    assert icc == b"profile"


def test_a_palette_with_a_transparent_index_gains_alpha():
    im = _palette("P")
    im.putpixel((0, 0), 0)
    im.info["transparency"] = 0
    out, _ = pixels._normalise_mode(im, "png", None)
    assert out.mode == "RGBA"
    assert out.getpixel((0, 0))[3] == 0 and out.getpixel((1, 1)) == (10, 20, 30, 255)


def test_sixteen_to_eight_scales_the_whole_range():
    arr = np.array([[0, 257, 32768, 65535]], np.uint16)
    out = pixels._sixteen_to_eight(Image.fromarray(arr))
    assert out.mode == "L"
    assert list(np.asarray(out)[0]) == [0, 1, 128, 255]


def test_cmyk_without_a_usable_profile_converts_plainly_and_drops_the_profile():
    cmyk = Image.new("CMYK", (4, 4), (0, 255, 255, 0))
    for icc in (None, b"", srgb_profile(), b"not an icc profile"):
        out, new_icc = pixels._normalise_mode(cmyk, "jpeg", icc)
        assert out.mode == "RGB" and out.getpixel((0, 0)) == (255, 0, 0)
        assert new_icc is None  # the source's profile described CMYK, not these pixels


# --- output mode and flattening ------------------------------------------------------------------


def test_half_transparent_pixels_are_blended_onto_the_background_for_jpeg():
    im = Image.new("RGBA", (4, 4), (255, 0, 0, 128))
    im.putpixel((0, 0), (0, 0, 0, 0))
    out = pixels._output_mode(im, "jpeg", (0, 0, 255))
    assert out.mode == "RGB"
    r, g, b = out.getpixel((1, 1))
    assert abs(r - 128) <= 1 and g == 0 and abs(b - 127) <= 1
    assert out.getpixel((0, 0)) == (0, 0, 255)


@pytest.mark.parametrize(
    "mode, colour, fmt, out_mode",
    [
        ("RGBA", (9, 8, 7, 255), "jpeg", "RGB"),  # opaque alpha: dropped, nothing blended
        ("LA", (9, 255), "bmp", "L"),
        ("L", 9, "webp", "RGB"),
        ("LA", (9, 200), "avif", "RGBA"),
        ("RGBA", (9, 8, 7, 200), "png", "RGBA"),
        ("RGB", (9, 8, 7), "bmp", "RGB"),
        ("I;16", 65535, "gif", "L"),
    ],
)
def test_output_mode_is_one_the_format_takes(mode, colour, fmt, out_mode):
    im = Image.new(mode, (4, 4), colour)
    out = pixels._output_mode(im, fmt, (255, 0, 0))
    assert out.mode == out_mode
    expected = Image.new(mode, (4, 4), colour)
    expected = expected if mode != "I;16" else pixels._sixteen_to_eight(expected)
    assert out.getpixel((2, 2)) == expected.convert(out_mode).getpixel((2, 2))


# --- render ---------------------------------------------------------------------------------


@pytest.mark.parametrize("orientation", range(1, 9))
def test_render_resizes_then_turns_the_frame_upright(orientation):
    stored = stored_for(corner_marked(60, 40), orientation)
    resize = Resize("percent", percent=50)
    out, _ = pixels.render(
        stored, Recipe(format="png"), "png", geometry_for(stored, resize, orientation), None
    )
    assert out.size == (30, 20)
    rgb = np.asarray(out, np.int16)
    assert rgb[1, 1, 0] > 200 and rgb[1, 1, 1] < 80, "red corner must be top-left"
    assert rgb[-2, -2, 1] > 150


def test_render_flattens_onto_the_recipes_background():
    im = Image.new("RGBA", (10, 10), (0, 0, 0, 0))
    recipe = Recipe(format="jpeg", background="#0f0")
    out, _ = pixels.render(im, recipe, "jpeg", geometry_for(im), None)
    assert out.mode == "RGB" and out.getpixel((5, 5)) == (0, 255, 0)


def test_render_of_unchanged_pixels_never_hands_the_encoder_the_source_file(tmp_path):
    src = tmp_path / "a.png"
    Image.new("RGB", (12, 8), (1, 2, 3)).save(src)
    with Image.open(src) as frame:
        frame.load()
        out, _ = pixels.render(frame, Recipe(format="png"), "png", geometry_for(frame), None)
        assert out is not frame and not hasattr(out, "fp")
        assert out.size == (12, 8) and out.tobytes() == frame.tobytes()


def test_render_gives_back_the_profile_that_describes_its_pixels():
    cmyk = Image.new("CMYK", (6, 6), (0, 0, 0, 0))
    out, icc = pixels.render(cmyk, Recipe(format="png"), "png", geometry_for(cmyk), b"cmyk?")
    assert out.mode == "RGB" and icc is None
    rgb = Image.new("RGB", (6, 6))
    assert pixels.render(rgb, Recipe(format="png"), "png", geometry_for(rgb), b"p")[1] == b"p"


# --- the planar path: planar_ok and _render_planar ------------------------------------------------


def test_planar_ok_only_for_a_ycbcr_jpeg_resized_into_a_jpeg():
    half = Resize("percent", percent=50)
    photo = jpeg(Image.new("RGB", (64, 48), (10, 120, 200)))
    assert pixels._stored_as_ycbcr(photo)
    assert pixels.planar_ok(photo, "jpeg", geometry_for(photo, half))
    assert not pixels.planar_ok(photo, "jpeg", geometry_for(photo))  # no resize
    assert not pixels.planar_ok(photo, "webp", geometry_for(photo, half))
    grey = jpeg(Image.new("L", (64, 48), 9))
    assert not pixels.planar_ok(grey, "jpeg", geometry_for(grey, half))
    cmyk = jpeg(Image.new("CMYK", (64, 48), (0, 0, 0, 9)))
    assert not pixels.planar_ok(cmyk, "jpeg", geometry_for(cmyk, half))
    stored_rgb = jpeg(Image.new("RGB", (64, 48)), keep_rgb=True)
    assert not pixels._stored_as_ycbcr(stored_rgb)
    assert not pixels.planar_ok(stored_rgb, "jpeg", geometry_for(stored_rgb, half))
    png = io.BytesIO()
    Image.new("RGB", (64, 48)).save(png, "PNG")
    with Image.open(png) as im:
        assert not pixels.planar_ok(im, "jpeg", geometry_for(im, half))


@pytest.mark.parametrize("orientation", [1, 6])
def test_planar_chroma_is_one_sample_per_2x2_block(orientation):
    """The chroma planes come out laid out for 4:2:0: each sample repeated over its 2x2 block,
    so the encoder's averaging gives exactly that sample back."""
    src = jpeg(stored_for(Image.fromarray(colourful(320, 240)), orientation), quality=92)
    recipe = Recipe(format="jpeg", resize=Resize("fit", width=100, height=100))
    g = geometry_for(src, recipe.resize, orientation)
    src.draft("YCbCr", g.draft_request())
    src.load()
    assert src.mode == "YCbCr"
    out, _ = pixels.render(src, recipe, "jpeg", g, None, planar=True)
    assert out.mode == "YCbCr" and out.size == (100, 75)
    y, cb, cr = (np.asarray(p, np.int16) for p in out.split())
    for plane in (cb, cr):
        blocks = plane[:74, :100].reshape(37, 2, 50, 2)
        assert (blocks == blocks[:, :1, :, :1]).all()
        assert plane.std() > 5  # real colour, not a constant plane
    assert y.std() > 5


def colourful(w: int, h: int) -> np.ndarray:
    """Photo-like texture with saturated colour patches and hard colour edges: chroma that
    is misplaced, flipped or smeared shows up at once."""
    rng = np.random.default_rng(3)
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    arr = np.stack(
        [
            128 + 90 * np.sin(x / 37.0),
            128 + 90 * np.cos(y / 23.0),
            128 + 60 * np.sin((x + y) / 51.0),
        ],
        axis=-1,
    )
    arr = (arr + rng.normal(0, 5, (h, w, 1))).astype(np.int16)  # grain in luma, like a camera's
    hues = [(230, 20, 20), (20, 200, 40), (30, 40, 230), (240, 220, 10), (200, 20, 210)]
    step = max(8, w // 13)
    for i, y in enumerate(range(0, h - step, step * 2)):
        for j, x in enumerate(range(0, w - step, step * 2)):
            arr[y : y + step, x : x + step] = hues[(i + j) % len(hues)]
    return arr.clip(0, 255).astype(np.uint8)


# The planar path must give the same picture as the ordinary RGB path, whatever the
# orientation, crop, odd output size or source subsampling, and must step aside for JPEGs
# libjpeg cannot hand over as YCbCr.


def source(tmp: Path, size: tuple[int, int], orientation: int, subsampling: str) -> Path:
    upright = Image.fromarray(colourful(*size))
    path = tmp / f"src-{orientation}-{subsampling.replace(':', '')}.jpg"
    store_oriented(upright, path, orientation, quality=92, subsampling=subsampling)
    upright.save(path.with_suffix(".png"))
    return path


def convert_both(
    src: Path, out: Path, monkeypatch: pytest.MonkeyPatch, **recipe: object
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(planar output, RGB-path output, ideal) as RGB arrays; fails unless the planar path
    ran. The ideal is the lossless upright picture through the same recipe into PNG."""
    calls = []
    real = pixels._render_planar

    def spy(*a: Any, **k: Any) -> Image.Image:
        calls.append(1)
        return real(*a, **k)

    monkeypatch.setattr(pixels, "_render_planar", spy)
    rec = Recipe(format="jpeg", quality=90, **recipe)
    planar = convert.convert_one(job_for(src, out / "planar", rec))
    assert planar["status"] == "ok", planar
    assert calls, "the planar path was not taken"
    monkeypatch.setattr(pixels, "planar_ok", lambda *a: False)
    rgb = convert.convert_one(job_for(src, out / "rgb", rec))
    assert rgb["status"] == "ok", rgb
    lossless = src.with_suffix(".png")
    ideal = convert.convert_one(job_for(lossless, out / "ideal", Recipe(format="png", **recipe)))
    assert ideal["status"] == "ok", ideal
    assert len(calls) == 1
    with Image.open(planar["target"]) as a, Image.open(rgb["target"]) as b:
        assert a.size == b.size
        assert a.mode == b.mode == "RGB"
        assert get_sampling(a) == 2  # 4:2:0, which the planar chroma is laid out for
        arrays = np.asarray(a, np.int16), np.asarray(b, np.int16)
    with Image.open(ideal["target"]) as c:
        return *arrays, np.asarray(c.convert("RGB"), np.int16)


def _ycbcr(rgb: np.ndarray) -> np.ndarray:
    return np.asarray(Image.fromarray(rgb.astype(np.uint8)).convert("YCbCr"), np.float64)


def assert_no_worse(planar: np.ndarray, rgb: np.ndarray, ideal: np.ndarray) -> None:
    """Against the ideal, luma is as good as the RGB path's and chroma nearly so.

    Chroma filtered straight to half size is softer than full-size chroma that the encoder
    averages 2x2: on the benchmark photos its error is about 1 % higher, on this test's hard
    saturated edges 20-45 % (most for a squashing exact resize). Pillow's 2x2 reduce rounds
    halves up, which lifts chroma by about 0.1-0.2 of a level on average (up to one level of
    R in the squashed case). Chroma that is misplaced, flipped or turned the wrong way fails
    by far more than any of that."""
    p, r, i = _ycbcr(planar), _ycbcr(rgb), _ycbcr(ideal)
    for c, slack in ((0, 1.03), (1, 1.5), (2, 1.5)):
        err_planar = np.abs(p[..., c] - i[..., c]).mean()
        err_rgb = np.abs(r[..., c] - i[..., c]).mean()
        assert err_planar <= err_rgb * slack + 0.05, (c, err_planar, err_rgb)
    cast = np.abs(planar.mean(axis=(0, 1)) - ideal.mean(axis=(0, 1)))
    cast_rgb = np.abs(rgb.mean(axis=(0, 1)) - ideal.mean(axis=(0, 1)))
    assert (cast <= cast_rgb + 1.0).all(), (cast, cast_rgb)


@pytest.mark.parametrize("orientation", range(1, 9))
def test_planar_gives_the_picture_of_the_rgb_path_in_every_orientation(
    tmp_path, monkeypatch, orientation
):
    # 641x427 upright -> 401x267: odd both ways, and a 1/2 draft before the resize
    src = source(tmp_path, (641, 427), orientation, "4:2:0")
    arrays = convert_both(src, tmp_path, monkeypatch, resize=Resize("fit", width=401, height=401))
    assert arrays[0].shape == (267, 401, 3)
    assert_no_worse(*arrays)


@pytest.mark.parametrize(
    "resize, shape",
    [
        (Resize("fill", width=301, height=301), (301, 301, 3)),
        (Resize("exact", width=333, height=111), (111, 333, 3)),
        (Resize("percent", percent=37), (158, 237, 3)),
        (Resize("long_edge", long_edge=900, upscale=True), (600, 900, 3)),
        (Resize("fit", width=640, height=400, filter="bicubic"), (400, 600, 3)),
    ],
)
@pytest.mark.parametrize("subsampling", ["4:2:0", "4:4:4"])
def test_planar_gives_the_picture_of_the_rgb_path_for_crops_stretches_upscales(
    tmp_path, monkeypatch, resize, shape, subsampling
):
    src = source(tmp_path, (640, 427), 6, subsampling)
    arrays = convert_both(src, tmp_path, monkeypatch, resize=resize)
    assert arrays[0].shape == shape
    assert_no_worse(*arrays)


@pytest.mark.parametrize("size", [(1, 1), (3, 1), (1, 5), (2, 2)])
def test_planar_path_gives_tiny_outputs(tmp_path, size):
    src = source(tmp_path, (64, 48), 6, "4:2:0")
    rec = Recipe(format="jpeg", resize=Resize("exact", width=size[0], height=size[1]))
    res = convert.convert_one(job_for(src, tmp_path / "o", rec))
    assert res["status"] == "ok", res
    with Image.open(res["target"]) as im:
        assert im.size == size


def test_planar_path_keeps_flat_colours(tmp_path):
    """Flat saturated colours come out as they went in (no YCbCr/RGB mix-up)."""
    arr = np.zeros((200, 300, 3), np.uint8)
    arr[:, :100] = (220, 30, 30)
    arr[:, 100:200] = (30, 200, 60)
    arr[:, 200:] = (40, 50, 220)
    src = tmp_path / "flat.jpg"
    Image.fromarray(arr).save(src, quality=95)
    rec = Recipe(format="jpeg", quality=95, resize=Resize("percent", percent=50))
    res = convert.convert_one(job_for(src, tmp_path / "o", rec))
    with Image.open(res["target"]) as im:
        out = np.asarray(im, np.int16)
    for x, colour in ((20, (220, 30, 30)), (75, (30, 200, 60)), (130, (40, 50, 220))):
        assert np.abs(out[50, x] - colour).max() <= 6, (x, out[50, x])


def test_rgb_coded_jpeg_takes_the_ordinary_path(tmp_path, monkeypatch):
    """An Adobe JPEG stored as RGB cannot be decoded as YCbCr: it must not be tried."""
    arr = colourful(320, 240)
    src = tmp_path / "rgb.jpg"
    Image.fromarray(arr).save(src, quality=95, keep_rgb=True)
    with Image.open(src) as im:
        assert not pixels._stored_as_ycbcr(im)
    called = []
    monkeypatch.setattr(pixels, "_render_planar", lambda *a, **k: called.append(1))
    rec = Recipe(format="jpeg", quality=95, resize=Resize("percent", percent=50))
    res = convert.convert_one(job_for(src, tmp_path / "o", rec))
    assert res["status"] == "ok", res
    assert not called
    with Image.open(src) as decoded, Image.open(res["target"]) as im:
        ref = decoded.resize(im.size, Image.Resampling.LANCZOS)
        diff = np.abs(np.asarray(im, np.int16) - np.asarray(ref, np.int16))
        assert diff.mean() < 6, diff.mean()  # 4:2:0 at saturated edges: the bulk of it
        cast = np.asarray(im, np.float64).mean(axis=(0, 1)) - np.asarray(ref).mean(axis=(0, 1))
        assert np.abs(cast).max() < 1.0, cast


@pytest.mark.parametrize("fmt", ["png", "webp"])
def test_other_targets_take_the_ordinary_path(tmp_path, monkeypatch, fmt):
    src = oriented_source(tmp_path / "o6.jpg", 6)
    monkeypatch.setattr(pixels, "_render_planar", lambda *a, **k: pytest.fail("planar"))
    rec = Recipe(format=fmt, resize=Resize("percent", percent=50))
    assert convert.convert_one(job_for(src, tmp_path / "o", rec))["status"] == "ok"
