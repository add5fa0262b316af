"""Thumbnails for the window: a reduced decode, always upright, with the full picture's
upright size."""

from __future__ import annotations

import pytest
from PIL import Image

from pixmill.engine.thumbnails import read_thumbnail
from tests.conftest import make_image

pytestmark = pytest.mark.timeout(30)


def test_a_big_jpeg_is_read_at_a_reduced_scale_and_turned_upright(tmp_path):
    path = make_image(tmp_path / "turned.jpg", (4000, 3000), quality=85, exif=_orientation(6))
    thumb = read_thumbnail(str(path), 96)
    assert (thumb.full_width, thumb.full_height) == (3000, 4000)  # upright: portrait
    assert thumb.height == 96 and thumb.width == 72
    assert len(thumb.rgb) == thumb.width * thumb.height * 3


def test_other_formats_and_transparency(tmp_path):
    path = make_image(tmp_path / "alpha.png", (640, 320), mode="RGBA")
    thumb = read_thumbnail(str(path), 64)
    assert (thumb.width, thumb.height, thumb.full_width, thumb.full_height) == (64, 32, 640, 320)


def test_a_file_that_is_not_a_picture_raises(tmp_path):
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"not a picture at all")
    with pytest.raises(Exception):  # noqa: B017 - whatever Pillow says; the view shows none
        read_thumbnail(str(bad), 64)


def _orientation(value: int) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = value
    return exif.tobytes()
