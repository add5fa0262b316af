"""pixmill.engine.formats: the output format table, and the `same` mapping from a source's
extension to its output format (which files are images: test_codecs.py)."""

from __future__ import annotations

import pytest

from pixmill.engine.codecs import IMAGE_EXTENSIONS, is_image_name
from pixmill.engine.formats import (
    EXTENSIONS,
    FORMATS,
    OUTPUT,
    QUALITY_FORMATS,
    RAW_EXTENSIONS,
    output_format,
)

pytestmark = pytest.mark.timeout(10)


def test_every_output_format_has_its_own_extension():
    extensions = [f.extension for f in OUTPUT.values()]
    assert len(set(extensions)) == len(extensions)
    assert all(ext.startswith(".") and ext == ext.lower() for ext in extensions)
    assert {name: f.extension for name, f in OUTPUT.items()} == EXTENSIONS


def test_output_table_is_keyed_by_the_recipe_name():
    assert all(name == f.name for name, f in OUTPUT.items())
    assert set(OUTPUT) == {"jpeg", "png", "webp", "avif", "heic", "jxl", "tiff", "bmp", "gif"}


def test_recipe_formats_are_the_output_formats_same_and_auto():
    assert (*OUTPUT, "same", "auto") == FORMATS
    assert output_format("auto", "/in/a.png") == ("auto", ".webp")  # named by the choice


def test_quality_formats_are_the_lossy_ones():
    assert {"jpeg", "webp", "avif", "heic", "jxl"} == QUALITY_FORMATS
    assert set(OUTPUT) >= QUALITY_FORMATS


def test_formats_without_alpha_are_jpeg_and_bmp():
    assert {name for name, f in OUTPUT.items() if not f.alpha} == {"jpeg", "bmp"}


def test_every_output_extension_is_picked_up_by_a_folder_walk():
    # which is why a batch must never rescan its own output folder
    assert set(EXTENSIONS.values()) <= IMAGE_EXTENSIONS


@pytest.mark.parametrize(
    "name",
    ["a.jpg", "A.JPG", "b.JpEg", "c.PNG", "d.webp", "e.TIFF", "f.tif", "g.Gif", "h.bmp", "i.psd"]
    + ["IMG_0001.HEIC", "j.heif", "k.hif", "l.jxl", "m.DNG", "n.cr3", "o.NEF", "p.arw", "q.svg"],
)
def test_image_names_are_recognised_whatever_the_case(name):
    assert is_image_name(name)


@pytest.mark.parametrize(
    "name", ["notes.txt", "Thumbs.db", "jpg", "archive.jpg.zip", "noext", "photo.jpg~", ".jpg"]
)
def test_other_names_are_not_images(name):
    assert not is_image_name(name)


@pytest.mark.parametrize("fmt", sorted(OUTPUT))
def test_a_named_format_ignores_the_source_type(fmt):
    assert output_format(fmt, "/in/photo.gif") == (fmt, EXTENSIONS[fmt])
    assert output_format(fmt, "/in/scan0001") == (fmt, EXTENSIONS[fmt])


@pytest.mark.parametrize(
    "source, expected",
    [
        ("/in/a.jpg", ("jpeg", ".jpg")),
        ("/in/a.jpeg", ("jpeg", ".jpeg")),
        ("/in/a.JPE", ("jpeg", ".jpe")),
        ("/in/a.jfif", ("jpeg", ".jfif")),
        ("/in/a.png", ("png", ".png")),
        ("/in/a.apng", ("png", ".apng")),
        ("/in/a.webp", ("webp", ".webp")),
        ("/in/a.avif", ("avif", ".avif")),
        ("/in/a.tif", ("tiff", ".tif")),
        ("/in/a.TIFF", ("tiff", ".tiff")),
        ("/in/a.bmp", ("bmp", ".bmp")),
        ("/in/a.dib", ("bmp", ".dib")),
        ("/in/a.gif", ("gif", ".gif")),
    ],
)
def test_same_keeps_the_source_format_and_its_lowercased_extension(source, expected):
    assert output_format("same", source) == expected


@pytest.mark.parametrize(
    "source", ["/in/a.psd", "/in/a.tga", "/in/a.ico", "/in/a.qoi", "/in/scan0001", "/in/a.xyz"]
)
def test_same_turns_source_types_pixmill_cannot_write_into_png(source):
    assert output_format("same", source) == ("png", ".png")


@pytest.mark.parametrize("fmt", sorted(OUTPUT))
def test_same_maps_each_output_extension_back_to_its_format(fmt):
    ext = EXTENSIONS[fmt]
    assert output_format("same", f"/out/photo{ext}") == (fmt, ext)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("/in/IMG_0001.HEIC", ("heic", ".HEIC")),
        ("/in/a.heif", ("heic", ".heif")),
        ("/in/a.jxl", ("jxl", ".jxl")),
        ("/in/a.avif", ("avif", ".avif")),
    ],
)
def test_same_keeps_heic_and_jpeg_xl(source, expected):
    fmt, ext = output_format("same", source)
    assert (fmt, ext.lower()) == (expected[0], expected[1].lower())


@pytest.mark.parametrize("ext", sorted(RAW_EXTENSIONS))
def test_same_makes_a_jpeg_of_camera_raw(ext):
    assert output_format("same", f"/in/IMG_0001{ext}") == ("jpeg", ".jpg")
