"""The JPEG -> resized JPEG path that stays in YCbCr (pixels._render_planar).

It must give the same picture as the ordinary RGB path, whatever the orientation, crop,
odd output size or source subsampling, and must step aside for JPEGs libjpeg cannot hand
over as YCbCr."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PIL.JpegImagePlugin import get_sampling

from pixmill.engine import convert, pixels
from pixmill.engine.recipe import Recipe, Resize
from tests.engine.test_convert import job_for, oriented_source, store_oriented

pytestmark = pytest.mark.timeout(60)


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


def source(tmp: Path, size: tuple[int, int], orientation: int, subsampling: str) -> Path:
    upright = Image.fromarray(colourful(*size))
    path = tmp / f"src-{orientation}-{subsampling.replace(':', '')}.jpg"
    store_oriented(upright, path, orientation, quality=92, subsampling=subsampling)
    upright.save(path.with_suffix(".png"))
    return path


def convert_both(
    src: Path, out: Path, monkeypatch, **recipe
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(planar output, RGB-path output, ideal) as RGB arrays; fails unless the planar path
    ran. The ideal is the lossless upright picture through the same recipe into PNG."""
    calls = []
    real = pixels._render_planar

    def spy(*a, **k):
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
def test_same_picture_as_the_rgb_path_in_every_orientation(tmp_path, monkeypatch, orientation):
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
def test_same_picture_for_crops_stretches_upscales(
    tmp_path, monkeypatch, resize, shape, subsampling
):
    src = source(tmp_path, (640, 427), 6, subsampling)
    arrays = convert_both(src, tmp_path, monkeypatch, resize=resize)
    assert arrays[0].shape == shape
    assert_no_worse(*arrays)


@pytest.mark.parametrize("size", [(1, 1), (3, 1), (1, 5), (2, 2)])
def test_tiny_outputs(tmp_path, size):
    src = source(tmp_path, (64, 48), 6, "4:2:0")
    rec = Recipe(format="jpeg", resize=Resize("exact", width=size[0], height=size[1]))
    res = convert.convert_one(job_for(src, tmp_path / "o", rec))
    assert res["status"] == "ok", res
    with Image.open(res["target"]) as im:
        assert im.size == size


def test_colours_survive(tmp_path):
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
