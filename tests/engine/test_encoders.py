"""engine.encoders: jpegli and libjpeg-turbo JPEGs with the same metadata segments as Pillow's,
MozJPEG's lossless pass (same pixels), oxipng (same pixels, chunks kept), libimagequant
palettes (at most N colours, alpha kept), and Pillow doing the work when a package is missing.

Real pictures: the small photographs in tests/engine/data. The packages are dependencies:
every test runs; the fallback tests hide a package to see Pillow take over.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import warnings
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image, JpegImagePlugin
from PIL.PngImagePlugin import PngInfo

from pixmill.engine import encoders
from tests.engine.images import png_chunks
from tests.samples import _curv_srgb, icc_v2_profile

pytestmark = [
    pytest.mark.timeout(60),
    # Where a package is missing, its fallback warns once per process, in whichever test
    # gets there first; the tests of that warning record it themselves (one_warning).
    pytest.mark.filterwarnings("ignore::pixmill.engine.encoders.EncoderFallbackWarning"),
]

DATA = Path(__file__).parent / "data"
PHOTOS = ("metric_coin.jpg", "metric_forest.jpg", "metric_hands.jpg")
ORIENTATION = 0x0112
XMP = (
    b'<?xpacket begin="\xef\xbb\xbf" id="W5M0MpCehiHzreSzNTczkc9d"?>'
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
    b'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description '
    b'xmlns:tiff="http://ns.adobe.com/tiff/1.0/" tiff:Orientation="6"/></rdf:RDF>'
    b'</x:xmpmeta><?xpacket end="w"?>'
)
COMMENT = b"Pixmill test comment"
SRGB_PRIMARIES = ((0.64, 0.33), (0.30, 0.60), (0.15, 0.06))


def photo(name: str = PHOTOS[0]) -> Image.Image:
    with Image.open(DATA / name) as im:
        return im.convert("RGB")


def decode(data: bytes) -> Image.Image:
    im = Image.open(io.BytesIO(data))
    im.load()
    return im


def pixels(data: bytes) -> np.ndarray:
    return np.asarray(decode(data))


@pytest.fixture(scope="module")
def big_icc() -> bytes:
    """A working sRGB-like profile (LittleCMS builds transforms from it) of 135 kB, made big
    by a 30,000-entry tone curve and a long description: three APP2 segments in a JPEG."""
    description = "Big sRGB (Pixmill test) " + "x" * 75_000
    profile = icc_v2_profile(description, SRGB_PRIMARIES, _curv_srgb(30_000))
    assert len(profile) > 2 * encoders.ICC_CHUNK
    return profile


@pytest.fixture(scope="module")
def exif() -> bytes:
    ex = Image.Exif()
    ex[ORIENTATION] = 6
    ex[0x010F] = "Pixmill Camera"
    ex[0x0110] = "Model 14"
    return ex.tobytes()


@pytest.fixture
def metadata(exif: bytes, big_icc: bytes) -> dict[str, Any]:
    return {"exif": exif, "icc_profile": big_icc, "xmp": XMP, "comment": COMMENT}


def segments(data: bytes) -> list[tuple[int, bytes]]:
    """(marker, payload) of a JPEG's segments before its first scan."""
    assert data[:2] == b"\xff\xd8"
    out, at = [], 2
    while data[at + 1] != 0xDA:
        length = int.from_bytes(data[at + 2 : at + 4], "big")
        out.append((data[at + 1], data[at + 4 : at + 2 + length]))
        at += 2 + length
    return out


def metadata_segments(data: bytes) -> list[tuple[int, bytes]]:
    """The APPn and COM segments: what carries metadata."""
    return [(m, p) for m, p in segments(data) if 0xE0 <= m <= 0xEF or m == 0xFE]


def pillow_jpeg(im: Image.Image, **kw: Any) -> bytes:
    out = io.BytesIO()
    im.save(out, format="JPEG", **kw)
    return out.getvalue()


def assert_metadata(data: bytes, md: dict[str, Any]) -> None:
    """Pillow reads back exactly the metadata given."""
    im = decode(data)
    assert im.getexif()[ORIENTATION] == 6
    assert im.getexif()[0x010F] == "Pixmill Camera"
    assert im.info["exif"] == md["exif"]
    assert im.info["icc_profile"] == md["icc_profile"]
    assert im.info["xmp"] == md["xmp"]
    assert im.info["comment"] == md["comment"]


# --- JPEG ------------------------------------------------------------------------------------
def test_libjpeg_turbo_is_pillow_save(metadata: dict[str, Any]) -> None:
    im = photo()
    for progressive in (False, True):
        ours = encoders.encode_jpeg(
            im, 85, progressive=progressive, encoder="libjpeg-turbo", **metadata
        )
        assert ours == pillow_jpeg(im, quality=85, progressive=progressive, **metadata)


def test_libjpeg_turbo_never_writes_a_comment_left_in_info() -> None:
    im = photo()
    im.info["comment"] = b"left over"
    assert "comment" not in decode(encoders.encode_jpeg(im, 80, encoder="libjpeg-turbo")).info


@pytest.mark.parametrize("name", PHOTOS)
def test_jpegli_round_trip(name: str) -> None:
    im = photo(name)
    data = encoders.encode_jpeg(im, 85, encoder="jpegli")
    out = decode(data)
    assert (out.format, out.mode, out.size) == ("JPEG", "RGB", im.size)
    assert JpegImagePlugin.get_sampling(out) == 2  # 4:2:0, as libjpeg-turbo's default
    assert "progressive" not in out.info
    err = np.abs(np.asarray(out, dtype=np.int16) - np.asarray(im, dtype=np.int16))
    assert err.mean() < 4
    assert data != encoders.encode_jpeg(im, 85, encoder="libjpeg-turbo")


def test_auto_is_jpegli_where_it_can_be() -> None:
    assert encoders.jpeg_encoder_for("RGB", "auto") == "jpegli"
    assert encoders.jpeg_encoder_for("YCbCr", "auto", subsampling="4:2:0") == "jpegli"
    assert encoders.jpeg_encoder_for("RGB", "libjpeg-turbo") == "libjpeg-turbo"
    # pyjpegli takes 8-bit RGB only and always subsamples 4:2:0.
    assert encoders.jpeg_encoder_for("L", "auto") == "libjpeg-turbo"
    assert encoders.jpeg_encoder_for("CMYK", "jpegli") == "libjpeg-turbo"
    assert encoders.jpeg_encoder_for("RGB", "jpegli", subsampling="4:4:4") == "libjpeg-turbo"
    im = photo()
    assert encoders.encode_jpeg(im, 80, encoder="auto") == encoders.encode_jpeg(
        im, 80, encoder="jpegli"
    )


def test_unknown_encoder_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown JPEG encoder"):
        encoders.encode_jpeg(photo(), 80, encoder="mozjpeg")


@pytest.mark.parametrize("mode", ["L", "CMYK"])
def test_modes_jpegli_cannot_take_stay_libjpeg_turbo(mode: str) -> None:
    im = photo().convert(mode)
    data = encoders.encode_jpeg(im, 80, encoder="jpegli")
    assert data == pillow_jpeg(im, quality=80)
    assert decode(data).mode == mode


def test_planar_ycbcr_input(metadata: dict[str, Any]) -> None:
    """The planar path's YCbCr image (chroma repeated over 2x2 blocks) encodes through
    jpegli like its RGB equivalent."""
    im = photo()
    y, cb, cr = im.convert("YCbCr").split()
    half = (im.width // 2, im.height // 2)
    cb, cr = (c.resize(half, Image.Resampling.BOX).resize(im.size, Image.NEAREST) for c in (cb, cr))
    ycc = Image.merge("YCbCr", (y, cb, cr))
    data = encoders.encode_jpeg(ycc, 85, subsampling="4:2:0", encoder="auto", **metadata)
    assert data == encoders.encode_jpeg(ycc.convert("RGB"), 85, encoder="jpegli", **metadata)
    want = np.asarray(ycc.convert("RGB"), dtype=np.int16)
    for encoded in (
        data,
        encoders.encode_jpeg(ycc, 85, subsampling="4:2:0", encoder="libjpeg-turbo"),
    ):
        assert np.abs(pixels(encoded).astype(np.int16) - want).mean() < 5
    assert_metadata(data, metadata)


ENCODINGS = [
    pytest.param("libjpeg-turbo", False, id="turbo"),
    pytest.param("libjpeg-turbo", True, id="turbo-progressive"),
    pytest.param("jpegli", False, id="jpegli"),
    pytest.param("jpegli", True, id="jpegli-progressive"),
]


@pytest.mark.parametrize(("encoder", "progressive"), ENCODINGS)
def test_metadata_survives_every_jpeg_path(
    encoder: str, progressive: bool, metadata: dict[str, Any]
) -> None:
    im = photo()
    data = encoders.encode_jpeg(im, 80, progressive=progressive, encoder=encoder, **metadata)
    assert_metadata(data, metadata)
    assert decode(data).info.get("progressive", 0) == int(progressive)
    # The segments, byte for byte and in order, are what Pillow writes.
    assert metadata_segments(data) == metadata_segments(pillow_jpeg(im, quality=80, **metadata))
    optimized = encoders.optimize_jpeg(data)
    assert_metadata(optimized, metadata)
    assert metadata_segments(optimized) == metadata_segments(data)


def test_large_icc_profile_is_split_like_pillow(big_icc: bytes) -> None:
    chunks = [
        p
        for m, p in segments(
            encoders.insert_metadata(pillow_jpeg(photo(), quality=80), icc_profile=big_icc)
        )
        if m == 0xE2
    ]
    assert len(chunks) == 3
    for seq, payload in enumerate(chunks, 1):
        assert payload[:12] == b"ICC_PROFILE\x00"
        assert (payload[12], payload[13]) == (seq, 3)
        assert len(payload) - 14 <= 65519
    assert b"".join(p[14:] for p in chunks) == big_icc
    assert max(len(p) for p in chunks) == 65533  # full segments, as Pillow cuts them


def test_insert_metadata_into_a_bare_jpeg(metadata: dict[str, Any]) -> None:
    """A JPEG without JFIF gets Pillow's JFIF segment first, then the metadata."""
    im = photo()
    plain = pillow_jpeg(im, quality=80)
    bare = plain[:2] + plain[2 + 2 + 16 :]  # drop the JFIF APP0 segment
    assert segments(bare)[0][0] == 0xDB
    data = encoders.insert_metadata(bare, **metadata)
    assert data == pillow_jpeg(im, quality=80, **metadata)
    assert_metadata(data, metadata)
    with pytest.raises(ValueError, match="not a JPEG"):
        encoders.insert_metadata(b"GIF89a", comment=b"x")


def test_comment_as_text_is_utf8() -> None:
    data = encoders.insert_metadata(pillow_jpeg(photo(), quality=80), comment="héllo")
    assert decode(data).info["comment"] == "héllo".encode()


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("exif", b"Exif\x00\x00" + bytes(65528), "EXIF data is too long"),
        ("xmp", bytes(65505), "XMP data is too long"),
        ("comment", bytes(65534), "Comment is too long"),
    ],
)
def test_too_long_metadata_fails_as_in_pillow(field: str, value: bytes, message: str) -> None:
    im = photo()
    with pytest.raises(ValueError, match=message):
        pillow_jpeg(im, quality=80, **{field: value})
    for encoder in ("libjpeg-turbo", "jpegli"):
        with pytest.raises(ValueError, match=message):
            encoders.encode_jpeg(im, 80, encoder=encoder, **{field: value})


def test_jpegli_quality_is_monotonic() -> None:
    mapped = [encoders.jpegli_quality(q) for q in range(1, 101)]
    assert all(1 <= q <= 100 for q in mapped)
    assert mapped == sorted(mapped)
    assert len(set(mapped)) > 80  # a search over quality keeps almost all its steps


def test_jpegli_size_and_score_rise_with_quality() -> None:
    from pixmill.engine.metric import Reference

    im = photo(PHOTOS[1])
    ref = Reference(im)
    sizes, scores = [], []
    for q in (40, 55, 70, 80, 90, 95):
        data = encoders.encode_jpeg(im, q, encoder="jpegli")
        sizes.append(len(data))
        scores.append(ref.score(decode(data)))
    assert sizes == sorted(sizes)
    assert scores == sorted(scores)


# --- MozJPEG ---------------------------------------------------------------------------------
@pytest.mark.parametrize("encoder", ["libjpeg-turbo", "jpegli"])
@pytest.mark.parametrize("name", PHOTOS)
def test_optimize_jpeg_keeps_pixels_and_is_not_larger(encoder: str, name: str) -> None:
    data = encoders.encode_jpeg(photo(name), 85, encoder=encoder)
    optimized = encoders.optimize_jpeg(data)
    assert len(optimized) <= len(data)
    assert np.array_equal(pixels(optimized), pixels(data))
    if optimized is not data:
        assert decode(optimized).info.get("progressive") == 1


def test_optimize_jpeg_never_grows_a_file() -> None:
    data = encoders.optimize_jpeg(encoders.encode_jpeg(photo(), 85, encoder="libjpeg-turbo"))
    assert encoders.optimize_jpeg(data) is data  # already optimal: nothing smaller to be had


def test_optimize_jpeg_keeps_what_it_cannot_read() -> None:
    junk = b"\xff\xd8\xff\xe0 not really a JPEG"
    assert encoders.optimize_jpeg(junk) is junk


# --- PNG -------------------------------------------------------------------------------------


def pixmill_png(im: Image.Image, exif: bytes, icc: bytes) -> bytes:
    """A PNG as Pixmill writes one with every kind of metadata (engine.metadata)."""
    info = PngInfo()
    info.add_itxt("XML:com.adobe.xmp", XMP.decode("utf-8"))
    out = io.BytesIO()
    im.save(out, format="PNG", compress_level=6, icc_profile=icc, exif=exif, pnginfo=info)
    return out.getvalue()


def icc_of(png: bytes) -> bytes:
    (payload,) = [p for kind, p in png_chunks(png) if kind == b"iCCP"]
    name_end = payload.index(b"\x00")
    return zlib.decompress(payload[name_end + 2 :])


@pytest.mark.parametrize("mode", ["RGB", "RGBA"])
def test_optimize_png_keeps_pixels_and_metadata(mode: str, exif: bytes, big_icc: bytes) -> None:
    im = photo(PHOTOS[2])
    if mode == "RGBA":
        im.putalpha(Image.linear_gradient("L").resize(im.size))
    data = pixmill_png(im, exif, big_icc)
    optimized = encoders.optimize_png(data, 2)
    assert len(optimized) < len(data)
    out = decode(optimized)
    assert np.array_equal(np.asarray(out.convert(mode)), np.asarray(im))
    assert out.info["icc_profile"] == big_icc
    assert icc_of(optimized) == big_icc
    assert out.getexif()[ORIENTATION] == 6
    assert out.info["xmp"] == XMP
    before, after = png_chunks(data), png_chunks(optimized)
    for kind in (b"eXIf", b"iTXt"):
        assert [p for k, p in after if k == kind] == [p for k, p in before if k == kind]
    # eXIf, like iCCP, still comes before the image data.
    kinds = [k for k, _ in after]
    assert kinds.index(b"eXIf") < kinds.index(b"IDAT")
    assert kinds.index(b"iCCP") < kinds.index(b"IDAT")


def test_optimize_png_keeps_a_grey_picture_with_an_rgb_profile_in_colour(big_icc: bytes) -> None:
    """oxipng 9 would make it greyscale and keep the RGB profile, which libpng rejects."""
    grey = photo().convert("L").convert("RGB")
    data = pixmill_png(grey, b"", big_icc)
    optimized = encoders.optimize_png(data, 2)
    ihdr = png_chunks(optimized)[0][1]
    assert ihdr[9] not in (0, 4)  # not a greyscale colour type
    assert np.array_equal(np.asarray(decode(optimized).convert("RGB")), np.asarray(grey))
    # Without a profile, greyscale is the smaller choice and oxipng may take it.
    plain = io.BytesIO()
    grey.save(plain, format="PNG")
    assert png_chunks(encoders.optimize_png(plain.getvalue(), 2))[0][1][9] == 0


def test_optimize_png_keeps_an_srgb_profile() -> None:
    """LittleCMS's sRGB profile stays an iCCP chunk (oxipng does not swap it for sRGB)."""
    from PIL import ImageCms

    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    out = io.BytesIO()
    photo().save(out, format="PNG", icc_profile=srgb)
    optimized = encoders.optimize_png(out.getvalue(), 2)
    assert len(optimized) < len(out.getvalue())
    assert decode(optimized).info["icc_profile"] == srgb


def test_optimize_png_keeps_every_apng_frame() -> None:
    frames = [photo(name) for name in PHOTOS[:2]]
    frames = [f.resize(frames[0].size) for f in frames]
    out = io.BytesIO()
    frames[0].save(out, format="PNG", save_all=True, append_images=frames[1:], duration=100)
    optimized = encoders.optimize_png(out.getvalue(), 2)
    assert len(optimized) < len(out.getvalue())
    with Image.open(io.BytesIO(optimized)) as im:
        assert im.n_frames == 2
        for i, want in enumerate(frames):
            im.seek(i)
            assert np.array_equal(np.asarray(im.convert("RGB")), np.asarray(want))


def test_optimize_png_level_and_junk() -> None:
    with pytest.raises(ValueError, match="level"):
        encoders.optimize_png(b"", 7)
    junk = b"\x89PNG\r\n\x1a\nnot a png"
    assert encoders.optimize_png(junk) is junk


def test_oxipng_runs_on_one_thread() -> None:
    """rayon's pool gets one worker, and RAYON_NUM_THREADS is left as it was."""
    code = (
        "import io, os\n"
        "from PIL import Image\n"
        "from pixmill.engine import encoders\n"
        "b = io.BytesIO(); Image.effect_noise((256, 256), 40).save(b, 'PNG')\n"
        "before = len(os.listdir('/proc/self/task'))\n"
        "for level in (1, 2, 4): encoders.optimize_png(b.getvalue(), level)\n"
        "print(before, len(os.listdir('/proc/self/task')), os.environ.get('RAYON_NUM_THREADS'))\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "RAYON_NUM_THREADS"}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    ).stdout.split()
    assert out == [out[0], str(int(out[0]) + 1), "None"]


# --- quantize --------------------------------------------------------------------------------
def with_alpha() -> Image.Image:
    """A photo whose alpha goes from transparent (left) to opaque (right)."""
    im = photo(PHOTOS[1]).convert("RGBA")
    alpha = Image.linear_gradient("L").rotate(90).resize(im.size)
    im.putalpha(alpha.point(lambda v: 0 if v < 40 else 255 if v > 215 else v))
    return im


def colours(im: Image.Image) -> int:
    return len(im.convert("RGBA").getcolors(1 << 20))


@pytest.mark.parametrize("n", [256, 64, 2])
def test_quantize_with_imagequant(n: int) -> None:
    from pixmill.engine.metric import Reference

    src = photo(PHOTOS[1])
    out = encoders.quantize(src, n)
    assert (out.mode, out.size) == ("P", src.size)
    assert colours(out) <= n
    png = io.BytesIO()
    out.save(png, format="PNG")
    back = decode(png.getvalue())
    assert "transparency" not in back.info  # opaque in, no tRNS out
    if n == 256:
        assert Reference(src).score(back.convert("RGB")) > 70


def test_quantize_keeps_alpha() -> None:
    src = with_alpha()
    out = encoders.quantize(src, 64)
    assert colours(out) <= 64
    alpha, want = alpha_after_png(out), np.asarray(src)[..., 3].astype(np.int16)
    assert np.array_equal(alpha[want == 0], want[want == 0])  # transparent stays transparent
    assert np.array_equal(alpha[want == 255], want[want == 255])  # opaque stays opaque
    assert np.abs(alpha - want).max() <= 48


def test_pillow_quantize_keeps_alpha(monkeypatch: pytest.MonkeyPatch) -> None:
    """The fallback (Pillow's fast octree) keeps alpha too, if less exactly."""
    hide(monkeypatch, "imagequant")
    src = with_alpha()
    out, said = one_warning(encoders.quantize, src, 256)
    assert len(said) == 1 and colours(out) <= 256
    alpha, want = alpha_after_png(out), np.asarray(src)[..., 3].astype(np.int16)
    assert np.array_equal(alpha[want == 0], want[want == 0])
    assert np.abs(alpha - want).max() <= 32


def alpha_after_png(im: Image.Image) -> np.ndarray:
    png = io.BytesIO()
    im.save(png, format="PNG")
    return np.asarray(decode(png.getvalue()).convert("RGBA"))[..., 3].astype(np.int16)


def test_quantize_refuses_bad_counts() -> None:
    for n in (0, 257):
        with pytest.raises(ValueError, match="colors"):
            encoders.quantize(photo(), n)


# --- missing packages ------------------------------------------------------------------------
def hide(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    """Make the package behind name fail to import, with fresh bookkeeping."""
    monkeypatch.setattr(encoders, "_loaded", {})
    monkeypatch.setattr(encoders, "UNAVAILABLE", {})
    monkeypatch.setattr(encoders, "_warned", set())
    monkeypatch.setitem(sys.modules, encoders._PACKAGES[name][0], None)


def one_warning(fn: Any, *args: Any, **kw: Any) -> tuple[Any, list[warnings.WarningMessage]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = fn(*args, **kw)
    return out, [w for w in caught if issubclass(w.category, encoders.EncoderFallbackWarning)]


def test_missing_jpegli_falls_back_and_says_why_once(
    monkeypatch: pytest.MonkeyPatch, metadata: dict[str, Any]
) -> None:
    hide(monkeypatch, "jpegli")
    im = photo()
    data, said = one_warning(encoders.encode_jpeg, im, 80, encoder="auto", **metadata)
    assert data == pillow_jpeg(im, quality=80, **metadata)
    assert len(said) == 1
    assert "pyjpegli is not available" in str(said[0].message)
    assert "libjpeg-turbo" in str(said[0].message)
    assert "pyjpegli" in encoders.UNAVAILABLE["jpegli"]
    again, said = one_warning(encoders.encode_jpeg, im, 80, encoder="jpegli", **metadata)
    assert again == data and said == []
    assert encoders.jpeg_encoder_for("RGB", "auto") == "libjpeg-turbo"
    assert encoders.available()["jpegli"] is None


def test_missing_mozjpeg(monkeypatch: pytest.MonkeyPatch) -> None:
    hide(monkeypatch, "mozjpeg")
    im = photo()
    data = encoders.encode_jpeg(im, 80, encoder="libjpeg-turbo")
    out, said = one_warning(encoders.optimize_jpeg, data)
    assert out is data and len(said) == 1
    # Progressive jpegli needs MozJPEG's pass: libjpeg-turbo writes the progressive file.
    prog, said = one_warning(encoders.encode_jpeg, im, 80, progressive=True, encoder="jpegli")
    assert prog == pillow_jpeg(im, quality=80, progressive=True) and said == []
    assert encoders.optimize_jpeg(data) is data


def test_missing_oxipng(monkeypatch: pytest.MonkeyPatch) -> None:
    hide(monkeypatch, "oxipng")
    monkeypatch.setattr(encoders, "_rayon_sized", False)
    png = io.BytesIO()
    photo().save(png, format="PNG")
    out, said = one_warning(encoders.optimize_png, png.getvalue(), 2)
    assert out is not None and out == png.getvalue() and len(said) == 1
    assert "pyoxipng is not available" in str(said[0].message)
    assert one_warning(encoders.optimize_png, png.getvalue())[1] == []


def test_missing_imagequant_uses_pillow(monkeypatch: pytest.MonkeyPatch) -> None:
    hide(monkeypatch, "imagequant")
    src = photo()
    out, said = one_warning(encoders.quantize, src, 32)
    assert len(said) == 1 and "imagequant is not available" in str(said[0].message)
    assert out.mode == "P" and colours(out) <= 32
    assert np.array_equal(
        np.asarray(out), np.asarray(src.quantize(32, method=Image.Quantize.MEDIANCUT))
    )


def test_available_lists_every_encoder() -> None:
    found = encoders.available()
    assert set(found) == {"libjpeg-turbo", "jpegli", "mozjpeg", "oxipng", "imagequant", "zlib-ng"}
    assert found["libjpeg-turbo"]
    for name, version in found.items():
        if version is None:
            assert encoders.UNAVAILABLE[name]


def test_import_is_light() -> None:
    """Importing the module loads none of the optional packages, nor Pillow."""
    code = (
        "import sys\n"
        "import pixmill.engine.encoders\n"
        "heavy = ('pyjpegli', 'mozjpeg_lossless_optimization', 'oxipng', 'imagequant',\n"
        "         'cffi', 'PIL')\n"
        "print([m for m in heavy if m in sys.modules])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
