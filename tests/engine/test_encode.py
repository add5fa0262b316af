"""pixmill.engine.encode: each format's save() arguments (encoder_kwargs), the formats' size
limits (check_size), and save(), which never lets a short write pass for a finished file."""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from pixmill.engine import encode
from pixmill.engine.convert import convert_one
from pixmill.engine.encode import check_size, encoder_kwargs
from pixmill.engine.errors import ConversionError
from pixmill.engine.recipe import Recipe
from tests.conftest import make_image, photo_array
from tests.engine.images import GPS_IFD, MAKE_TAG, exif_with_gps, job_for, open_output

pytestmark = pytest.mark.timeout(60)


def test_webp_size_limit_is_reported(tmp_path):
    src = make_image(tmp_path / "wide.png", (17000, 4), mode="L")
    res = convert_one(job_for(src, tmp_path / "out", Recipe(format="webp")))
    assert res["status"] == "failed" and "16383" in res["error"]


_FSIZE_CHILD = r"""
import json, os, resource, sys
from PIL import Image
from pixmill.engine.convert import convert_one
from pixmill.engine.recipe import Recipe
from pixmill.engine.job import Job
from pixmill.engine.publish import TEMP_PREFIX
src, out = sys.argv[1], sys.argv[2]
hard = resource.getrlimit(resource.RLIMIT_FSIZE)[1]
for fmt, ext in (("bmp", ".bmp"), ("jpeg", ".jpg"), ("gif", ".gif"), ("tiff", ".tif"),
                 ("png", ".png"), ("webp", ".webp")):
    target = os.path.join(out, fmt + ext)
    job = Job(1, src, target, fmt, Recipe(format=fmt, on_conflict="overwrite"))
    assert convert_one(job)["status"] == "ok"
    size = os.path.getsize(target)
    os.unlink(target)
    # Limits inside the first, a middle and the last 64 KiB chunk the encoders write.
    limits = {size - 1, size - 700, size // 2, 65536 + 10, 2 * 65536 + 10, 3 * 65536 + 10}
    for limit in sorted(n for n in limits if 0 < n < size):
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, hard))
        r = convert_one(job)
        resource.setrlimit(resource.RLIMIT_FSIZE, (hard, hard))
        left = os.path.getsize(target) if os.path.exists(target) else None
        if left is not None:
            try:
                with Image.open(target) as im:
                    im.load()
                decodes = True
            except Exception:
                decodes = False
            os.unlink(target)
        temps = [n for n in os.listdir(out) if n.startswith(TEMP_PREFIX)]
        print(json.dumps([fmt, size, limit, r["status"], r["error"], left,
                          left is not None and decodes, temps]))
"""


@pytest.mark.skipif(os.name != "posix", reason="RLIMIT_FSIZE is POSIX")
def test_an_output_cut_short_by_a_size_limit_is_never_published(tmp_path):
    """A write that crosses RLIMIT_FSIZE (or fills the disk) is cut short by the kernel
    without an error. Pillow's C encoders, handed a file descriptor, took that for success:
    when it happened in the last chunk, a truncated BMP, JPEG or GIF was published as
    converted. Every limit below the real size must now fail the file cleanly."""
    import json
    import subprocess
    import sys

    rng = np.random.default_rng(5)
    src = tmp_path / "noise.png"  # noise: every output format is 100-200 KB, several chunks
    Image.fromarray(rng.integers(0, 255, (230, 300, 3), dtype=np.uint8)).save(src)
    out = tmp_path / "out"
    out.mkdir()
    r = subprocess.run(
        [sys.executable, "-c", _FSIZE_CHILD, str(src), str(out)],
        capture_output=True,
        text=True,
        timeout=50,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert r.returncode == 0, r.stderr[-2000:]
    rows = [json.loads(line) for line in r.stdout.splitlines()]
    assert {row[0] for row in rows} == {"bmp", "jpeg", "gif", "tiff", "png", "webp"}
    assert len(rows) >= 24
    for fmt, size, limit, status, error, left, decodes, temps in rows:
        where = f"{fmt} output of {size} bytes under a {limit}-byte limit"
        assert status == "failed", f"{where}: {status}, {left} bytes left, decodes={decodes}"
        assert error == "output file too large for the destination (file size limit)", where
        assert left is None and temps == [], where


# --- encoder_kwargs -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "recipe, fmt, planar, expected",
    [
        (Recipe(quality=77), "jpeg", False, {"quality": 77, "progressive": False}),
        (
            Recipe(quality=77, progressive=True),
            "jpeg",
            True,
            {"quality": 77, "progressive": True, "subsampling": "4:2:0"},
        ),
        (Recipe(quality=60), "webp", False, {"quality": 60, "method": 4}),
        (
            Recipe(quality=60, webp_lossless=True),
            "webp",
            False,
            {"lossless": True, "quality": 80, "method": 4},
        ),
        (Recipe(quality=55), "avif", False, {"quality": 55}),
        (Recipe(png_compress_level=2), "png", False, {"compress_level": 2}),
        (Recipe(), "tiff", False, {"compression": "tiff_lzw"}),
        (Recipe(quality=10), "bmp", False, {}),
        (Recipe(quality=10), "gif", False, {}),
    ],
)
def test_encoder_kwargs_per_format(recipe, fmt, planar, expected):
    assert encoder_kwargs(recipe, fmt, planar) == expected


def encoded(im: Image.Image, fmt: str, recipe: Recipe, planar: bool = False) -> bytes:
    buf = io.BytesIO()
    encode.save([im], buf, fmt, encoder_kwargs(recipe, fmt, planar))
    return buf.getvalue()


def test_encoder_kwargs_shape_the_written_file():
    photo = Image.fromarray(photo_array(160, 120, seed=2))
    with Image.open(io.BytesIO(encoded(photo, "jpeg", Recipe(progressive=True)))) as im:
        assert im.info.get("progressive")
    with Image.open(io.BytesIO(encoded(photo, "jpeg", Recipe()))) as im:
        assert not im.info.get("progressive")
    small = len(encoded(photo, "jpeg", Recipe(quality=20)))
    assert small < len(encoded(photo, "jpeg", Recipe(quality=95))) / 2
    with Image.open(io.BytesIO(encoded(photo, "webp", Recipe(webp_lossless=True)))) as im:
        assert im.convert("RGB").tobytes() == photo.tobytes()
    with Image.open(io.BytesIO(encoded(photo, "webp", Recipe(quality=90)))) as im:
        assert im.convert("RGB").tobytes() != photo.tobytes()
    stored = len(encoded(photo, "png", Recipe(png_compress_level=0)))
    assert stored > len(encoded(photo, "png", Recipe(png_compress_level=9)))
    with Image.open(io.BytesIO(encoded(photo, "tiff", Recipe()))) as im:
        assert im.info["compression"] == "tiff_lzw"


# --- check_size -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fmt, limit",
    [("webp", 16383), ("jpeg", 65500), ("gif", 65535), ("avif", 65536)],
)
def test_check_size_refuses_a_side_beyond_the_formats_limit(fmt, limit):
    check_size(Image.new("1", (limit, 2)), fmt)
    check_size(Image.new("1", (2, limit)), fmt)
    with pytest.raises(ConversionError) as caught:
        check_size(Image.new("1", (2, limit + 1)), fmt)
    assert str(caught.value) == (
        f"output would be 2x{limit + 1}, larger than {fmt.upper()}'s {limit} px limit"
    )


@pytest.mark.parametrize("fmt", ["png", "tiff", "bmp"])
def test_check_size_lets_formats_without_a_limit_through(fmt):
    check_size(Image.new("1", (70000, 1)), fmt)


# --- save -------------------------------------------------------------------------------------


class _FdSpy(io.BufferedRandom):
    """A real file that records every call to fileno()."""

    def __init__(self, path: Path) -> None:
        super().__init__(io.FileIO(path, "w+"))
        self.fileno_calls = 0

    def fileno(self) -> int:
        self.fileno_calls += 1
        return super().fileno()


@pytest.mark.parametrize("fmt", ["jpeg", "bmp", "gif", "tiff", "png", "webp"])
def test_save_never_hands_the_encoder_a_file_descriptor(tmp_path, fmt):
    """Pillow's C encoders write straight to a descriptor and take a short write for
    success; save() makes them write through Python's file, which cannot."""
    photo = Image.fromarray(photo_array(64, 48))
    with _FdSpy(tmp_path / "direct") as direct:
        photo.save(direct, format=fmt.upper())
    if fmt in ("jpeg", "bmp", "gif", "tiff"):
        assert direct.fileno_calls, "Pillow no longer asks this encoder for a descriptor"
    path = tmp_path / f"out.{fmt}"
    with _FdSpy(path) as f:
        encode.save([photo], f, fmt, encoder_kwargs(Recipe(), fmt))
        assert f.fileno_calls == 0
        assert os.path.getsize(path) == f.tell() > 0  # flushed: all of it is in the file
    out = open_output(path)
    assert out.size == (64, 48) and out.format == fmt.upper()


@pytest.mark.parametrize("fmt, pil", [("tiff", "TIFF"), ("gif", "GIF"), ("webp", "WEBP")])
def test_save_writes_every_frame(tmp_path, fmt, pil):
    frames = [Image.new("RGB", (30, 20), c) for c in ((255, 0, 0), (0, 255, 0), (0, 0, 255))]
    kw: dict[str, Any] = encoder_kwargs(Recipe(), fmt)
    if fmt != "tiff":
        kw.update(duration=[50, 60, 70], loop=0)
    path = tmp_path / f"out.{fmt}"
    with open(path, "w+b") as f:
        encode.save(frames, f, fmt, kw)
    out = open_output(path)
    assert out.format == pil and out.n_frames == 3
    for i, colour in enumerate(((255, 0, 0), (0, 255, 0), (0, 0, 255))):
        out.seek(i)
        r, g, b = out.convert("RGB").getpixel((15, 10))
        assert np.abs(np.array((r, g, b)) - colour).max() < 8, (i, (r, g, b))
    assert "save_all" not in kw  # the caller's arguments are left as they were


def test_tiff_with_exif_sub_ifds_is_written_uncompressed_rather_than_losing_them(tmp_path):
    """libtiff refuses EXIF sub-IFDs (GPS) with compression: save() starts the file over
    without compression, so the metadata asked for is kept."""
    photo = Image.fromarray(photo_array(64, 48))
    with pytest.raises(RuntimeError):
        photo.save(io.BytesIO(), "TIFF", compression="tiff_lzw", exif=exif_with_gps())
    path = tmp_path / "gps.tif"
    kw = {"compression": "tiff_lzw", "exif": exif_with_gps()}
    with open(path, "w+b") as f:
        encode.save([photo], f, "tiff", kw)
    plain = io.BytesIO()
    photo.save(plain, "TIFF", exif=exif_with_gps())
    assert path.read_bytes() == plain.getvalue()  # exactly the uncompressed file
    out = open_output(path)
    assert out.info["compression"] == "raw"
    assert out.tobytes() == photo.tobytes()
    exif = out.getexif()
    assert exif[MAKE_TAG] == "PixmillCam" and exif.get_ifd(GPS_IFD)[1] == "N"


def test_tiff_with_plain_exif_stays_compressed(tmp_path):
    exif = Image.Exif()
    exif[MAKE_TAG] = "PixmillCam"
    path = tmp_path / "plain.tif"
    with open(path, "w+b") as f:
        encode.save(
            [Image.fromarray(photo_array(64, 48))],
            f,
            "tiff",
            {"compression": "tiff_lzw", "exif": exif.tobytes()},
        )
    out = open_output(path)
    assert out.info["compression"] == "tiff_lzw" and out.getexif()[MAKE_TAG] == "PixmillCam"
