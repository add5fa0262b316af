"""convert_one on real files, in this process (the pool is tested in test_runner.py)."""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageCms

from pixmill.engine.convert import convert_one
from pixmill.engine.formats import output_format
from pixmill.engine.geometry import target_geometry
from pixmill.engine.job import Job, Source
from pixmill.engine.plan import plan_jobs
from pixmill.engine.recipe import Recipe, Resize
from tests.conftest import make_image, photo_array

pytestmark = pytest.mark.timeout(60)

SOURCE_KINDS = {
    "jpeg": ("src.jpg", {"quality": 90}),
    "png": ("src.png", {}),
    "webp": ("src.webp", {"quality": 90}),
    "avif": ("src.avif", {"quality": 80}),
    "tiff": ("src.tif", {}),
    "bmp": ("src.bmp", {}),
    "gif": ("src.gif", {}),
}
TARGETS = ["jpeg", "png", "webp", "avif", "tiff", "bmp", "gif", "same"]


def job_for(src: Path, out: Path, recipe: Recipe) -> Job:
    st = src.stat()
    return plan_jobs([Source(str(src), None, st.st_size, st.st_mtime)], recipe, out)[0]


def run(src: Path, out: Path, **kw) -> tuple[dict, Image.Image | None]:
    res = convert_one(job_for(src, out, Recipe(**kw)))
    if res["status"] != "ok":
        return res, None
    im = Image.open(res["target"])
    im.load()
    return res, im


@pytest.mark.parametrize("src_kind", list(SOURCE_KINDS))
@pytest.mark.parametrize("target", TARGETS)
def test_every_format_pair_converts(tmp_path, src_kind, target):
    name, save = SOURCE_KINDS[src_kind]
    src = make_image(tmp_path / name, (96, 64), **save)
    res, im = run(src, tmp_path / "out", format=target)
    assert res["status"] == "ok", res["error"]
    expected = src_kind if target == "same" else target
    assert im.format.lower() == {"jpeg": "jpeg"}.get(expected, expected)
    assert im.size == (96, 64) == (res["width"], res["height"])
    assert res["bytes_out"] == os.path.getsize(res["target"]) > 0
    assert Path(res["target"]).suffix == output_format(target, str(src))[1]


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
    arr = np.zeros((100, 300, 3), np.uint8)
    arr[:, :100, 0] = 255
    arr[:, 100:200, 1] = 255
    arr[:, 200:, 2] = 255
    src = tmp_path / "bands.png"
    Image.fromarray(arr).save(src)
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


# The transpose that stores an upright picture so that EXIF orientation N gives it back.
_STORE_FOR_ORIENTATION = {
    1: None,
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_90,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_270,
}


def store_oriented(upright: Image.Image, path: Path, orientation: int, **save) -> Path:
    """Save `upright` turned so that a viewer applying EXIF `orientation` shows it upright."""
    op = _STORE_FOR_ORIENTATION[orientation]
    stored = upright if op is None else upright.transpose(op)
    exif = Image.Exif()
    exif[0x0112] = orientation
    stored.save(path, exif=exif.tobytes(), **save)
    return path


def oriented_source(path: Path, orientation: int) -> Path:
    """A 60x40 upright image with a red top-left corner, stored as orientation N expects."""
    arr = np.full((40, 60, 3), 200, np.uint8)
    arr[:10, :10] = (255, 0, 0)
    return store_oriented(Image.fromarray(arr), path, orientation, quality=95)


@pytest.mark.parametrize("orientation", range(1, 9))
@pytest.mark.parametrize("fmt", ["jpeg", "png", "webp"])
def test_exif_orientations_come_out_upright(tmp_path, orientation, fmt):
    src = oriented_source(tmp_path / f"o{orientation}.jpg", orientation)
    res, im = run(src, tmp_path / "out", format=fmt, resize=Resize("percent", percent=50))
    assert im.size == (30, 20)
    rgb = np.asarray(im.convert("RGB")).astype(int)
    assert rgb[1, 1, 0] > 200 and rgb[1, 1, 1] < 80, "red corner must be top-left"
    assert rgb[-2, -2, 0] < 230 or rgb[-2, -2, 1] > 150
    if fmt != "png" or "exif" in im.info:
        assert im.getexif().get(0x0112, 1) == 1  # orientation reset: viewers must not turn it


def test_no_auto_orient_keeps_the_tag(tmp_path):
    src = oriented_source(tmp_path / "o6.jpg", 6)
    _, im = run(src, tmp_path / "out", format="jpeg", auto_orient=False)
    assert im.size == (40, 60)
    assert im.getexif().get(0x0112) == 6


def exif_with_gps() -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "PixmillCam"  # Make
    exif[0x0132] = "2024:05:01 10:00:00"
    gps = exif.get_ifd(0x8825)
    gps[1] = "N"
    gps[2] = (52.0, 30.0, 0.0)
    return exif.tobytes()


@pytest.mark.parametrize("fmt", ["jpeg", "webp", "png", "tiff", "avif"])
def test_metadata_keep_strip_and_strip_location(tmp_path, fmt):
    src = make_image(tmp_path / "m.jpg", (80, 60), quality=90, exif=exif_with_gps())
    _, kept = run(src, tmp_path / "keep", format=fmt, metadata="keep")
    ex = kept.getexif()
    assert ex.get(0x010F) == "PixmillCam"
    assert ex.get_ifd(0x8825).get(1) == "N"
    _, noloc = run(src, tmp_path / "noloc", format=fmt, metadata="strip_location")
    ex = noloc.getexif()
    assert ex.get(0x010F) == "PixmillCam"
    assert not ex.get_ifd(0x8825)
    _, bare = run(src, tmp_path / "bare", format=fmt, metadata="strip")
    assert bare.getexif().get(0x010F) is None


def icc_bytes() -> bytes:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("LAB")).tobytes()


@pytest.mark.parametrize("fmt", ["jpeg", "png", "webp", "tiff"])
def test_icc_is_kept_by_default_and_dropped_on_request(tmp_path, fmt):
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    src = make_image(tmp_path / "c.jpg", (50, 40), icc_profile=icc, quality=90)
    _, im = run(src, tmp_path / "a", format=fmt)
    assert im.info.get("icc_profile") == icc
    _, im2 = run(src, tmp_path / "b", format=fmt, keep_icc=False)
    assert not im2.info.get("icc_profile")
    _, im3 = run(src, tmp_path / "c", format=fmt, metadata="strip")
    assert im3.info.get("icc_profile") == icc  # "strip" keeps colour unless asked


def test_cmyk_becomes_rgb(tmp_path):
    src = tmp_path / "cmyk.jpg"
    Image.new("CMYK", (40, 30), (0, 255, 255, 0)).save(src)  # pure red in CMYK
    _, im = run(src, tmp_path / "out", format="png")
    assert im.mode == "RGB"
    r, g, b = im.getpixel((20, 15))
    assert r > 200 and g < 60 and b < 60


def test_cmyk_goes_through_the_embedded_profile_when_there_is_one(tmp_path):
    from pixmill.engine import pixels

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


def animated(path: Path, frames: int = 4) -> Path:
    ims = [Image.new("RGB", (40, 30), (60 * i, 255 - 60 * i, 0)) for i in range(frames)]
    ims[0].save(path, save_all=True, append_images=ims[1:], duration=80, loop=0)
    return path


@pytest.mark.parametrize("fmt", ["webp", "gif"])
def test_animation_is_kept_where_the_target_holds_it(tmp_path, fmt):
    src = animated(tmp_path / "anim.gif")
    _, out = run(src, tmp_path / "o", format=fmt, resize=Resize("percent", percent=50))
    assert getattr(out, "n_frames", 1) == 4
    assert out.size == (20, 15)


def test_animation_becomes_first_frame_elsewhere_or_on_request(tmp_path):
    src = animated(tmp_path / "anim.gif")
    _, jpg = run(src, tmp_path / "j", format="jpeg")
    assert getattr(jpg, "n_frames", 1) == 1
    _, first = run(src, tmp_path / "w", format="webp", keep_frames=False)
    assert getattr(first, "n_frames", 1) == 1


def test_multipage_tiff_keeps_pages(tmp_path):
    pages = [Image.new("RGB", (50, 40), c) for c in ("red", "green", "blue")]
    src = tmp_path / "doc.tif"
    pages[0].save(src, save_all=True, append_images=pages[1:])
    _, out = run(src, tmp_path / "o", format="tiff", resize=Resize("percent", percent=50))
    assert out.n_frames == 3 and out.size == (25, 20)
    _, png = run(src, tmp_path / "p", format="png")
    assert getattr(png, "n_frames", 1) == 1


@pytest.mark.parametrize("fmt", ["jpeg", "webp", "tiff", "png", "gif"])
def test_mpo_converts_its_primary_picture(tmp_path, fmt):
    """A multi-picture JPEG (Android Ultra HDR, stereo cameras) is one photograph plus a gain
    map, depth map or second view: the output is the photograph alone, one frame, through
    the JPEG fast paths, never a two-frame animation or document."""
    primary = Image.fromarray(photo_array(1200, 800, seed=4))
    gain_map = Image.new("RGB", (300, 200), (128, 128, 128))
    src = tmp_path / "PXL_0001.jpg"
    primary.save(src, "MPO", save_all=True, append_images=[gain_map], quality=92)
    with Image.open(src) as probe:
        assert probe.format == "MPO" and probe.n_frames == 2
    res, out = run(src, tmp_path / "o", format=fmt, resize=Resize("fit", width=400, height=400))
    assert res["status"] == "ok", res
    assert out.size == (400, 267)
    assert getattr(out, "n_frames", 1) == 1
    ref = primary.resize(out.size, Image.Resampling.LANCZOS)
    diff = np.abs(np.asarray(out.convert("RGB"), np.int16) - np.asarray(ref, np.int16))
    assert diff.mean() < (12 if fmt == "gif" else 4), diff.mean()


@pytest.mark.parametrize("fmt", ["webp", "tiff", "gif", "png"])
def test_layered_psd_converts_its_composite(tmp_path, fmt):
    """Pillow shows a PSD's layers as frames; they are not an animation. data/layered.psd
    (written by ImageMagick): a red-to-blue gradient composite over two flat layers."""
    src = Path(__file__).parent / "data" / "layered.psd"
    with Image.open(src) as probe:
        assert probe.format == "PSD" and probe.n_frames == 2
    res, out = run(src, tmp_path / "o", format=fmt)
    assert res["status"] == "ok", res
    assert out.size == (40, 30) and getattr(out, "n_frames", 1) == 1
    rgb = out.convert("RGB")
    top, bottom = rgb.getpixel((20, 0)), rgb.getpixel((20, 29))
    assert top[0] > 200 and top[2] < 60, top
    assert bottom[2] > 200 and bottom[0] < 60, bottom


@pytest.mark.parametrize(
    "content, words",
    [
        (b"", "empty"),
        (b"hello, this is not a picture" * 10, "not an image"),
        (None, "truncated"),
    ],
)
def test_bad_inputs_fail_alone_with_a_clear_message(tmp_path, content, words):
    src = tmp_path / "bad.jpg"
    if content is None:
        make_image(tmp_path / "good.jpg", (400, 300), quality=90)
        data = (tmp_path / "good.jpg").read_bytes()
        content = data[: len(data) // 2]
    src.write_bytes(content)
    res = convert_one(job_for(src, tmp_path / "out", Recipe(format="png")))
    assert res["status"] == "failed"
    assert words in res["error"]
    assert res["traceback"]
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_decompression_bomb_fails_cleanly(tmp_path):
    # A tiny PNG whose header declares 20000 x 20000 pixels (400 megapixels).
    buf = io.BytesIO()
    Image.new("1", (20000, 20000)).save(buf, "PNG", optimize=True)
    src = tmp_path / "bomb.png"
    src.write_bytes(buf.getvalue())
    assert src.stat().st_size < 200_000
    res = convert_one(job_for(src, tmp_path / "out", Recipe(format="jpeg")))
    assert res["status"] == "failed"
    assert "400 megapixels" in res["error"] and "179 megapixel" in res["error"]


def test_webp_size_limit_is_reported(tmp_path):
    src = make_image(tmp_path / "wide.png", (17000, 4), mode="L")
    res = convert_one(job_for(src, tmp_path / "out", Recipe(format="webp")))
    assert res["status"] == "failed" and "16383" in res["error"]


def test_output_appears_atomically_and_keeps_dates(tmp_path):
    src = make_image(tmp_path / "a.jpg", quality=90)
    os.utime(src, (1_600_000_000, 1_600_000_000))
    res, _ = run(src, tmp_path / "out", format="png", keep_dates=True)
    assert os.stat(res["target"]).st_mtime == 1_600_000_000
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["a.png"]
    mode = os.stat(res["target"]).st_mode & 0o777
    assert mode & 0o044, "outputs are readable by others like any saved file"


def test_a_target_that_appears_meanwhile_is_never_clobbered(tmp_path):
    src = make_image(tmp_path / "a.jpg", quality=90)
    job = job_for(src, tmp_path / "out", Recipe(format="png"))
    make_image(tmp_path / "out" / "a.png", (10, 10))  # appears after planning
    before = (tmp_path / "out" / "a.png").read_bytes()
    res = convert_one(job)
    assert res["status"] == "ok" and Path(res["target"]).name == "a-1.png"
    assert (tmp_path / "out" / "a.png").read_bytes() == before
    skip_job = job_for(src, tmp_path / "out2", Recipe(format="png", on_conflict="skip"))
    make_image(tmp_path / "out2" / "a.png", (10, 10))
    assert convert_one(skip_job)["status"] == "skipped"


def test_source_is_never_modified(tmp_path):
    src = make_image(tmp_path / "a.jpg", quality=90, exif=exif_with_gps())
    before = src.read_bytes()
    mtime = src.stat().st_mtime_ns
    for fmt in ("jpeg", "png", "webp"):
        run(src, tmp_path / fmt, format=fmt, metadata="strip", keep_dates=True)
    assert src.read_bytes() == before and src.stat().st_mtime_ns == mtime


def test_unwritable_output_folder_is_a_clear_error(tmp_path):
    if os.geteuid() == 0:
        # root ignores permission bits: a file where the folder should be blocks it instead
        (tmp_path / "out").write_text("x")
        res = convert_one(job_for(make_image(tmp_path / "a.jpg"), tmp_path / "out", Recipe()))
        assert res["status"] == "failed" and res["error"]
        return
    out = tmp_path / "out"
    out.mkdir()
    out.chmod(0o500)
    res = convert_one(job_for(make_image(tmp_path / "a.jpg"), out, Recipe()))
    assert res["status"] == "failed" and "permission denied" in res["error"]


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
