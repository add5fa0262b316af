"""pixmill.engine.metadata: which EXIF, XMP, ICC profile and comment an output keeps
(kept_metadata), the orientation reset, strip / strip_location, set_profile() and detach()."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image, ImageCms

from pixmill.engine.metadata import detach, kept_metadata, set_profile
from pixmill.engine.recipe import Recipe, Resize
from tests.conftest import make_image
from tests.engine.images import (
    GPS_IFD,
    MAKE_TAG,
    ORIENTATION_TAG,
    exif_with_gps,
    open_output,
    oriented_source,
    run,
)

pytestmark = pytest.mark.timeout(60)

XMP = (
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
    b'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description '
    b'xmlns:tiff="http://ns.adobe.com/tiff/1.0/" tiff:Orientation="6"/></rdf:RDF></x:xmpmeta>'
)
XMP_WITH_GPS = XMP.replace(b"/>", b' xmlns:exif="http://ns.adobe.com/exif/1.0/" '
                           b'exif:GPSLatitude="52,30.0N"/>')  # fmt: skip


# --- through convert_one ----------------------------------------------------------------------


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


def test_xmp_orientation_is_reset_with_the_exif_one_in_the_output(tmp_path):
    src = tmp_path / "o6.jpg"
    exif = Image.Exif()
    exif[ORIENTATION_TAG] = 6
    Image.new("RGB", (40, 60), (90, 90, 90)).save(src, exif=exif.tobytes(), xmp=XMP)
    _, im = run(src, tmp_path / "o", format="jpeg")
    assert im.size == (60, 40)
    assert im.getexif().get(ORIENTATION_TAG) == 1
    assert b'tiff:Orientation="1"' in im.info["xmp"]
    _, untouched = run(src, tmp_path / "n", format="jpeg", auto_orient=False)
    assert b'tiff:Orientation="6"' in untouched.info["xmp"]


# --- kept_metadata --------------------------------------------------------------------------


def source(tmp_path: Path, name: str = "src.jpg", **save: Any) -> Image.Image:
    """A small real image file written with save's metadata, opened (not loaded)."""
    path = tmp_path / name
    Image.new("RGB", (16, 12), (30, 60, 90)).save(path, **save)
    return open_output(path)


def exif_of(kw: dict[str, Any]) -> Image.Exif:
    exif = Image.Exif()
    exif.load(kw["exif"])
    return exif


def oriented_exif(orientation: int = 6) -> bytes:
    exif = Image.Exif()
    exif.load(exif_with_gps())
    exif[ORIENTATION_TAG] = orientation
    return exif.tobytes()


def test_kept_exif_says_upright_once_the_pixels_are_turned(tmp_path):
    im = source(tmp_path, exif=oriented_exif(6))
    turned = exif_of(kept_metadata(im, Recipe(), "jpeg", None, oriented=True))
    assert turned[ORIENTATION_TAG] == 1 and turned[MAKE_TAG] == "PixmillCam"
    again = open_output(tmp_path / "src.jpg")  # kept_metadata edits the source's own EXIF
    as_stored = exif_of(kept_metadata(again, Recipe(), "jpeg", None, oriented=False))
    assert as_stored[ORIENTATION_TAG] == 6


def test_strip_location_removes_only_the_gps_block(tmp_path):
    im = source(tmp_path, exif=oriented_exif(1))
    keep = exif_of(kept_metadata(im, Recipe(), "webp", None, False))
    assert keep.get_ifd(GPS_IFD)[2] == (52.0, 30.0, 0.0)
    noloc = exif_of(kept_metadata(im, Recipe(metadata="strip_location"), "webp", None, False))
    assert GPS_IFD not in noloc and not noloc.get_ifd(GPS_IFD)
    assert noloc[MAKE_TAG] == "PixmillCam" and noloc[0x0132] == "2024:05:01 10:00:00"


def test_strip_keeps_only_the_colour_profile(tmp_path):
    im = source(tmp_path, exif=exif_with_gps(), xmp=XMP, comment=b"hi")
    assert kept_metadata(im, Recipe(metadata="strip"), "jpeg", b"icc", False) == {
        "icc_profile": b"icc"
    }
    no_icc = Recipe(metadata="strip", keep_icc=False)
    assert kept_metadata(im, no_icc, "jpeg", b"icc", False) == {}


@pytest.mark.parametrize("fmt", ["bmp", "gif"])
def test_formats_without_metadata_get_none(tmp_path, fmt):
    im = source(tmp_path, exif=exif_with_gps(), xmp=XMP, comment=b"hi")
    assert kept_metadata(im, Recipe(), fmt, b"icc", False) == {}


def test_a_tiff_sources_layout_tags_are_not_copied(tmp_path):
    """A TIFF's own EXIF is its pixel layout (size, strips, compression): copied into the
    output it would describe pixels that are not there."""
    exif = Image.Exif()
    exif[MAKE_TAG] = "PixmillCam"
    im = source(tmp_path, "src.tif", exif=exif.tobytes(), compression="tiff_lzw")
    assert {256, 257, 259, 273, 279} <= set(im.getexif())
    for fmt in ("jpeg", "tiff", "png"):
        assert dict(exif_of(kept_metadata(im, Recipe(), fmt, None, False))) == {
            MAKE_TAG: "PixmillCam"
        }


def test_a_jpeg_comment_travels_only_to_jpeg(tmp_path):
    im = source(tmp_path, comment=b"shot on a tuesday")
    assert kept_metadata(im, Recipe(), "jpeg", None, False)["comment"] == b"shot on a tuesday"
    for fmt in ("webp", "png", "tiff"):
        assert "comment" not in kept_metadata(im, Recipe(), fmt, None, False)


def test_xmp_goes_where_the_format_holds_it(tmp_path):
    im = source(tmp_path, xmp=XMP)
    for fmt in ("jpeg", "webp", "avif"):
        assert kept_metadata(im, Recipe(), fmt, None, oriented=False)["xmp"] == XMP
    turned = kept_metadata(im, Recipe(), "jpeg", None, oriented=True)["xmp"]
    assert turned == XMP.replace(b'Orientation="6"', b'Orientation="1"')
    kw = kept_metadata(im, Recipe(), "png", None, oriented=True)
    assert "xmp" not in kw  # PNG keeps XMP in an iTXt chunk
    buf = io.BytesIO()
    Image.new("RGB", (4, 4)).save(buf, "PNG", **kw)
    with Image.open(buf) as png:
        assert png.info["XML:com.adobe.xmp"] == turned.decode()
    assert "xmp" not in kept_metadata(im, Recipe(), "tiff", None, False)


def test_xmp_with_a_location_is_dropped_by_strip_location(tmp_path):
    im = source(tmp_path, xmp=XMP_WITH_GPS)
    assert kept_metadata(im, Recipe(), "jpeg", None, False)["xmp"] == XMP_WITH_GPS
    assert "xmp" not in kept_metadata(im, Recipe(metadata="strip_location"), "jpeg", None, False)
    plain = source(tmp_path, "plain.jpg", xmp=XMP)
    assert kept_metadata(plain, Recipe(metadata="strip_location"), "jpeg", None, False)["xmp"]


def test_the_icc_profile_follows_keep_icc_and_the_format(tmp_path):
    im = source(tmp_path)
    assert kept_metadata(im, Recipe(), "png", b"icc", False) == {"icc_profile": b"icc"}
    assert kept_metadata(im, Recipe(keep_icc=False), "png", b"icc", False) == {}
    assert kept_metadata(im, Recipe(), "png", None, False) == {}


# --- set_profile and detach ---------------------------------------------------------------------


def test_set_profile_replaces_the_sources_profile_with_the_pixels_one():
    kw = {"icc_profile": b"cmyk", "quality": 80}
    set_profile(kw, b"srgb", Recipe(), "jpeg")
    assert kw == {"icc_profile": b"srgb", "quality": 80}


@pytest.mark.parametrize(
    "icc, recipe, fmt",
    [
        (None, Recipe(), "jpeg"),
        (b"srgb", Recipe(keep_icc=False), "jpeg"),
        (b"srgb", Recipe(), "bmp"),
    ],
)
def test_set_profile_drops_a_profile_that_no_longer_describes_the_pixels(icc, recipe, fmt):
    kw = {"icc_profile": b"cmyk", "quality": 80}
    set_profile(kw, icc, recipe, fmt)
    assert kw == {"quality": 80}


def test_detach_leaves_the_encoder_nothing_to_copy_on_its_own(tmp_path):
    im = source(tmp_path, exif=exif_with_gps(), xmp=XMP, comment=b"hi", icc_profile=b"x" * 40)
    im.info["photoshop"] = {1: b"x"}
    im.info["XML:com.adobe.xmp"] = "<x/>"
    assert {"exif", "xmp", "comment", "icc_profile"} <= set(im.info)
    assert detach(im) is im
    assert not {"exif", "xmp", "comment", "icc_profile", "photoshop", "XML:com.adobe.xmp"} & set(
        im.info
    )
    assert "jfif" in im.info  # what is not metadata stays
    buf = io.BytesIO()
    im.save(buf, "JPEG")
    with Image.open(buf) as out:
        assert MAKE_TAG not in out.getexif() and "comment" not in out.info
        assert "icc_profile" not in out.info and "xmp" not in out.info
