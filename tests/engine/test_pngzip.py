"""pixmill.engine.pngzip: Pillow's PNG writer with its pixel data filtered by numpy and deflated
by zlib-ng. The pixels read back are the same in every mode; the filter choice is Pillow's own
(the decompressed streams are byte for byte Pillow's); the chunks are Pillow's; the output is
no bigger; what it leaves to Pillow's encoder is Pillow's byte for byte; and pool workers use
it."""

from __future__ import annotations

import io
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, PngImagePlugin

from pixmill.engine import pngzip
from pixmill.engine.recipe import Recipe
from tests.conftest import make_image, photo_array
from tests.engine.images import png_chunks

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(autouse=True)
def registered() -> None:
    assert pngzip.register()


def photo(w: int, h: int, mode: str = "RGB", seed: int = 0) -> Image.Image:
    im = Image.fromarray(photo_array(w, h, seed))
    return im if mode == "RGB" else im.convert(mode)


def save(im: Image.Image, **kw: object) -> bytes:
    buf = io.BytesIO()
    im.save(buf, "PNG", **kw)
    return buf.getvalue()


def pillows_own(im: Image.Image, monkeypatch: pytest.MonkeyPatch, **kw: object) -> bytes:
    """The PNG Pillow writes with its own C encoder."""
    with monkeypatch.context() as m:
        m.delitem(Image.ENCODERS, "zip")
        return save(im, **kw)


def image_data(data: bytes) -> bytes:
    """The decompressed IDAT stream: each row's filter type and its filtered bytes."""
    return zlib.decompress(b"".join(body for kind, body in png_chunks(data) if kind == b"IDAT"))


def transparent_palette() -> Image.Image:
    im = photo(40, 30).convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
    im.info["transparency"] = 3
    return im


MODES = {
    "RGB": lambda: photo(61, 47),
    "RGBA": lambda: photo(61, 47, "RGBA"),
    "L": lambda: photo(61, 47, "L"),
    "LA": lambda: photo(61, 47, "LA"),
    "1": lambda: photo(61, 47, "1"),
    "P": lambda: photo(61, 47).convert("P", palette=Image.Palette.ADAPTIVE),
    "P, 16 colours, transparent": transparent_palette,
    "I;16": lambda: Image.fromarray(photo_array(61, 47, 3)[..., 0].astype(np.uint16) * 257),
    # Rows of 1,200 bytes: the filter costs are summed in 64 bits (16 bits above).
    "RGBA, wide rows": lambda: photo(300, 20, "RGBA"),
    # Noise in rows of 510 bytes, the widest summed in 16 bits: costs near their limit.
    "noise, 170 wide": lambda: Image.frombytes(
        "RGB", (170, 12), np.random.default_rng(5).integers(0, 256, 170 * 12 * 3, np.uint8)
    ),
    "1x1": lambda: photo(1, 1),
    "one column": lambda: photo(1, 9),
    "one row": lambda: photo(9, 1, "RGBA"),
}


@pytest.mark.parametrize("name", MODES)
def test_every_mode_reads_back_to_the_same_pixels_and_the_same_filters_as_pillow(name, monkeypatch):
    im = MODES[name]()
    ours = save(im)
    assert ours[:2] == b"\x89P" and png_chunks(ours)[0][0] == b"IHDR"
    with Image.open(io.BytesIO(ours)) as back:
        back.load()
        assert back.mode == Image.open(io.BytesIO(pillows_own(im, monkeypatch))).mode
        assert back.tobytes() == Image.open(io.BytesIO(pillows_own(im, monkeypatch))).tobytes()
    # Pillow's filter choice, row by row: the streams before deflating are identical.
    assert image_data(ours) == image_data(pillows_own(im, monkeypatch))
    # zlib-ng at the level above the default (78 DA: level 7 or more), not zlib's default.
    idat = next(body for kind, body in png_chunks(ours) if kind == b"IDAT")
    assert idat[:2] == b"\x78\xda"


def test_a_big_picture_is_filtered_in_bands_with_the_row_above_carried_over(monkeypatch):
    monkeypatch.setattr(pngzip, "_BAND_BYTES", 500)  # a band of 2 rows of 61 RGB pixels
    im = photo(61, 47)
    ours = save(im)
    assert image_data(ours) == image_data(pillows_own(im, monkeypatch))
    assert Image.open(io.BytesIO(ours)).tobytes() == im.tobytes()


def test_chunks_and_metadata_are_pillows(monkeypatch):
    im = photo(64, 48)
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "made by a test")
    exif = Image.Exif()
    exif[0x010F] = "Camera maker"
    icc = b"\0" * 128 + b"acsp" + b"\0" * 100  # only carried, never parsed
    kw = {"pnginfo": info, "dpi": (300, 300), "exif": exif, "icc_profile": icc}
    ours, theirs = save(im, **kw), pillows_own(im, monkeypatch, **kw)
    assert [k for k, _ in png_chunks(ours)] == [k for k, _ in png_chunks(theirs)]
    assert [c for c in png_chunks(ours) if c[0] != b"IDAT"] == [
        c for c in png_chunks(theirs) if c[0] != b"IDAT"
    ]


def test_an_animated_png_keeps_every_frame(monkeypatch):
    frames = [photo(40, 30, seed=i) for i in range(3)]
    ours = io.BytesIO()
    frames[0].save(ours, "PNG", save_all=True, append_images=frames[1:], duration=100)
    with Image.open(ours) as back:
        assert back.n_frames == 3
        for i, frame in enumerate(frames):
            back.seek(i)
            assert back.convert("RGB").tobytes() == frame.tobytes()


@pytest.mark.parametrize("level", [1, 3, 6, 9])
def test_the_output_is_no_bigger_than_pillows_at_the_same_level(level, monkeypatch):
    pictures = [photo(64, 64, seed=s) for s in range(6)] + [photo(400, 300, seed=9)]
    ours = sum(len(save(im, compress_level=level)) for im in pictures)
    theirs = sum(len(pillows_own(im, monkeypatch, compress_level=level)) for im in pictures)
    assert ours <= theirs * 1.01, (ours, theirs)


@pytest.mark.parametrize(
    "kw", [{"optimize": True}, {"compress_level": 0}, {"dictionary": b"pixmill" * 10}]
)
def test_what_it_leaves_to_pillow_is_pillows_byte_for_byte(kw, monkeypatch):
    im = photo(50, 40)
    assert save(im, **kw) == pillows_own(im, monkeypatch, **kw)


def test_without_zlib_ng_nothing_is_registered(monkeypatch):
    monkeypatch.setattr(pngzip, "zlib_ng", None)
    monkeypatch.setattr(pngzip, "_registered", False)
    assert pngzip.register() is False


def test_pool_workers_deflate_with_zlib_ng(tmp_path):
    from pixmill.engine.plan import plan
    from pixmill.engine.runner import BatchRunner

    for i in range(3):
        make_image(tmp_path / "in" / f"s{i}.png", (64, 64), seed=i)
    jobs = plan([str(tmp_path / "in")], Recipe(format="png"), str(tmp_path / "out")).jobs
    runner = BatchRunner(workers=1)
    try:
        report = runner.run(jobs)
    finally:
        runner.shutdown()
    assert report.count("ok") == 3
    for f in report.files:
        data = Path(f["target"]).read_bytes()
        idat = next(body for kind, body in png_chunks(data) if kind == b"IDAT")
        assert idat[:2] == b"\x78\xda", f["target"]  # zlib's default level would be 78 9C
        with Image.open(f["source"]) as src, Image.open(f["target"]) as out:
            assert out.tobytes() == src.tobytes()


def pillows_writer(im: Image.Image, kwargs: dict[str, object]) -> bytes:
    """What Pillow's own PNG writer makes with this module's encoder."""
    return save(im, **kwargs)


_PROFILE = b"\0" * 128 + b"acsp" + bytes(range(256)) * 3  # only carried, never parsed


def _exif() -> Image.Exif:
    exif = Image.Exif()
    exif[0x010F] = "Camera maker"
    return exif


SIMPLE = {
    "RGB": (lambda: photo(61, 47), {}),
    "RGBA, level 9": (lambda: photo(33, 20, "RGBA"), {"compress_level": 9}),
    "L, level 1": (lambda: photo(20, 33, "L"), {"compress_level": 1}),
    "LA": (lambda: photo(17, 5, "LA"), {"compress_level": 6}),
    "1x1": (lambda: photo(1, 1), {}),
    "profile and EXIF bytes": (
        lambda: photo(64, 64),
        {"icc_profile": _PROFILE, "exif": b"Exif\0\0" + _exif().tobytes()[6:]},
    ),
    "EXIF without its header, an Exif object": (lambda: photo(9, 9), {"exif": _exif()}),
    "profile from the picture's info": (
        lambda: _with_info(photo(30, 30), icc_profile=_PROFILE),
        {"compress_level": 6},
    ),
    "a profile of None hides the info's": (
        lambda: _with_info(photo(30, 30), icc_profile=_PROFILE),
        {"icc_profile": None},
    ),
}


def _with_info(im: Image.Image, **info: object) -> Image.Image:
    im.info.update(info)
    return im


@pytest.mark.parametrize("name", SIMPLE)
def test_simple_png_is_pillows_file_byte_for_byte(name):
    make, kwargs = SIMPLE[name]
    im = make()
    ours = pngzip.simple_png(im, dict(kwargs))
    assert ours is not None
    assert ours == pillows_writer(im, dict(kwargs))
    with Image.open(io.BytesIO(ours)) as back:
        assert back.tobytes() == im.tobytes()


LEFT_TO_PILLOW = {
    "palette": (lambda: photo(20, 20).convert("P", palette=Image.Palette.ADAPTIVE), {}),
    "1 bit": (lambda: photo(20, 20, "1"), {}),
    "16 bit": (lambda: Image.fromarray(photo_array(9, 9, 3)[..., 0].astype(np.uint16) * 257), {}),
    "transparent colour": (lambda: _with_info(photo(20, 20), transparency=(1, 2, 3)), {}),
    "text": (lambda: photo(20, 20), {"pnginfo": PngImagePlugin.PngInfo()}),
    "dpi": (lambda: photo(20, 20), {"dpi": (300, 300)}),
    "stored, level 0": (lambda: photo(20, 20), {"compress_level": 0}),
    "optimize": (lambda: photo(20, 20), {"optimize": True}),
}


@pytest.mark.parametrize("name", LEFT_TO_PILLOW)
def test_simple_png_leaves_everything_else_to_pillow(name):
    make, kwargs = LEFT_TO_PILLOW[name]
    assert pngzip.simple_png(make(), kwargs) is None


def test_simple_png_needs_the_zlib_ng_encoder(monkeypatch):
    monkeypatch.setattr(pngzip, "_registered", False)
    assert pngzip.simple_png(photo(20, 20), {}) is None


def test_the_engine_writes_simple_pngs_without_pillows_writer(monkeypatch):
    """encode.save: a simple picture never reaches Pillow's PNG writer, and its file is the
    one that writer makes; a palette picture still goes through it."""
    from pixmill.engine import encode

    im = photo(64, 64)
    kwargs = {"compress_level": Recipe(format="png").png_compress_level, "icc_profile": _PROFILE}
    expected = pillows_writer(im, kwargs)
    called = []
    pillow_save = Image.SAVE["PNG"]

    def writer(*args: object, **kw: object) -> None:
        called.append(args[0])
        pillow_save(*args, **kw)

    monkeypatch.setitem(Image.SAVE, "PNG", writer)
    assert encode.to_bytes([im], "png", dict(kwargs)) == expected
    assert called == []
    palette = im.convert("P", palette=Image.Palette.ADAPTIVE)
    encode.to_bytes([palette], "png", {})
    assert called == [palette]
