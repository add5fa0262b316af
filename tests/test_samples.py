"""The sample generators (tests/samples.py) make what their docstrings say."""

from __future__ import annotations

import io
import struct

import numpy as np
import pytest
from PIL import Image, ImageCms, ImageOps

from tests import samples

pytestmark = pytest.mark.timeout(60)

pillow_heif = pytest.importorskip("pillow_heif")
pytest.importorskip("pillow_jxl")
rawpy = pytest.importorskip("rawpy")
pytest.importorskip("pidng")

pillow_heif.register_heif_opener()


def close(a, b, tol: int = 3) -> bool:
    return all(abs(int(x) - int(y)) <= tol for x, y in zip(a, b, strict=True))


# --- the upright picture -----------------------------------------------------------------------
@pytest.mark.parametrize("size", [(64, 48), (48, 64), (48, 48), (9, 7)])
def test_only_the_upright_orientation_looks_upright(size):
    up = samples.upright_picture(size)
    assert up.size == size and samples.is_upright(up)
    assert samples.is_upright(up.resize((size[0] * 3, size[1] * 2)))
    for orientation in range(2, 9):
        stored = samples.stored_picture(up, orientation)
        assert not samples.is_upright(stored), orientation
        # and exif_transpose of the stored picture with that orientation undoes it
        stored.getexif()[samples.ORIENTATION_TAG] = orientation
        assert samples.is_upright(ImageOps.exif_transpose(stored)), orientation


def test_flat_colour_picture():
    im = samples.upright_picture((10, 8), color=(1, 2, 3))
    assert im.getcolors() == [(80, (1, 2, 3))]


# --- ICC profiles ------------------------------------------------------------------------------
def _one(colour, src, dst):
    im = Image.new("RGB", (1, 1), colour)
    return ImageCms.profileToProfile(im, src, dst, outputMode="RGB").getpixel((0, 0))


@pytest.fixture(scope="module")
def srgb():
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


@pytest.mark.parametrize(
    "make, name, colorants",
    [
        (
            samples.p3_profile,
            "Display P3 (Pixmill test)",
            ((0.5151, 0.2412, -0.0011), (0.2920, 0.6922, 0.0419), (0.1571, 0.0666, 0.7841)),
        ),
        (
            samples.adobe_rgb_profile,
            "Adobe RGB (1998) (Pixmill test)",
            ((0.6097, 0.3111, 0.0195), (0.2053, 0.6257, 0.0609), (0.1492, 0.0632, 0.7446)),
        ),
    ],
)
def test_profiles_are_real_v2_matrix_trc_profiles(make, name, colorants):
    data = make()
    assert data == make()  # reproducible
    assert struct.unpack(">I", data[:4])[0] == len(data) and len(data) % 4 == 0
    assert data[36:40] == b"acsp" and data[12:24] == b"mntrRGB XYZ "
    prof = ImageCms.ImageCmsProfile(io.BytesIO(data))
    assert ImageCms.getProfileDescription(prof).strip() == name
    assert prof.profile.version == pytest.approx(2.1)
    assert prof.profile.is_matrix_shaper
    got = (prof.profile.red_colorant, prof.profile.green_colorant, prof.profile.blue_colorant)
    for (xyz, _xyy), want in zip(got, colorants, strict=True):
        assert xyz == pytest.approx(want, abs=2e-4)
    # the colorants add up to the D50 white of the connection space
    total = np.sum([g[0] for g in got], axis=0)
    assert total == pytest.approx(samples.D50, abs=2e-4)


@pytest.mark.parametrize(
    "colour, to_srgb, from_srgb",
    [
        ((255, 0, 0), (255, 0, 0), (234, 51, 35)),
        ((0, 255, 0), (0, 255, 0), (117, 251, 76)),
        ((200, 100, 50), (215, 93, 31), None),
        ((234, 51, 35), (255, 0, 0), None),
        ((128, 128, 128), (128, 128, 128), (128, 128, 128)),
    ],
)
def test_p3_conversions_measured_in_the_docstring(srgb, colour, to_srgb, from_srgb):
    p3 = ImageCms.ImageCmsProfile(io.BytesIO(samples.p3_profile()))
    assert close(_one(colour, p3, srgb), to_srgb, 2)
    if from_srgb is not None:
        assert close(_one(colour, srgb, p3), from_srgb, 2)


def test_adobe_rgb_conversions_measured_in_the_docstring(srgb):
    adobe = ImageCms.ImageCmsProfile(io.BytesIO(samples.adobe_rgb_profile()))
    assert close(_one((255, 0, 0), srgb, adobe), (219, 0, 0), 2)
    assert close(_one((0, 255, 0), srgb, adobe), (144, 255, 60), 2)
    assert close(_one((200, 100, 50), adobe, srgb), (227, 100, 42), 2)
    assert close(_one((128, 128, 128), adobe, srgb), (129, 129, 129), 1)


# --- HEIC ------------------------------------------------------------------------------------
def _has_box(data: bytes, kind: bytes) -> bool:
    return data.find(kind) > 0  # property boxes sit in the small meta box


@pytest.mark.parametrize("orientation", range(1, 9))
def test_heic_is_stored_like_an_iphone_and_decodes_upright(tmp_path, orientation):
    path = samples.heic(tmp_path / "a.heic", orientation=orientation)
    data = path.read_bytes()
    assert data[4:12] == b"ftypheic"
    assert _has_box(data, b"irot") == (orientation in (3, 5, 6, 7, 8))
    assert _has_box(data, b"imir") == (orientation in (2, 4, 5, 7))
    with Image.open(path) as im:
        assert im.format == "HEIF" and im.mode == "RGB"
        assert im.size == (64, 48)
        assert im.n_frames == 1
        assert samples.is_upright(im)
        assert im.info["original_orientation"] == (None if orientation == 1 else orientation)
        exif = im.getexif()
        assert exif[samples.MAKE_TAG] == "Pixmill"
        assert exif.get(samples.ORIENTATION_TAG) == 1  # reset: already applied
        assert samples.is_upright(ImageOps.exif_transpose(im))
    # the EXIF item in the file keeps the orientation (open_heif does not reset it)
    raw_exif = Image.Exif()
    raw_exif.load(pillow_heif.open_heif(path).info["exif"])
    assert raw_exif[samples.ORIENTATION_TAG] == orientation


def test_heic_odd_size_lossless_and_no_make(tmp_path):
    path = samples.heic(tmp_path / "o.heic", (63, 47), orientation=6, quality=-1, exif_make=None)
    with Image.open(path) as im:
        assert im.size == (63, 47) and samples.is_upright(im)
        assert samples.MAKE_TAG not in im.getexif()


@pytest.mark.parametrize("bits", [10, 12])
def test_heic_deep(tmp_path, bits):
    path = samples.heic(tmp_path / "d.heic", bit_depth=bits, orientation=8)
    with Image.open(path) as im:
        assert im.mode == "RGB" and im.info["bit_depth"] == bits
        assert samples.is_upright(im)
    deep = pillow_heif.open_heif(path, convert_hdr_to_8bit=False)
    assert deep.mode == "RGB;16" and deep.info["bit_depth"] == bits
    with Image.open(samples.heic(tmp_path / "e.heic")) as im:
        assert im.info["bit_depth"] == 8


def test_heic_icc_xmp_thumbnail(tmp_path):
    xmp = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"/>'
    p3 = samples.p3_profile()
    path = samples.heic(tmp_path / "c.heic", icc=p3, xmp=xmp, thumbnail=True, color=(255, 0, 0))
    with Image.open(path) as im:
        assert im.info["icc_profile"] == p3
        assert im.info.get("nclx_profile") is None
        assert im.info["xmp"] == xmp
        assert im.info["thumbnails"] == [32]
        assert close(im.getpixel((32, 24)), (255, 0, 0), 4)
    with Image.open(samples.heic(tmp_path / "n.heic")) as im:
        assert "icc_profile" not in im.info or not im.info["icc_profile"]
        assert im.info.get("nclx_profile") is not None
        assert im.info["thumbnails"] == []


def test_heic_extra_images_and_depth(tmp_path):
    path = samples.heic(tmp_path / "m.heic", orientation=6, extra_images=2, depth=True)
    with Image.open(path) as im:
        assert im.n_frames == 3 and im.info["primary"]
        assert samples.is_upright(im)
        depth = im.info["depth_images"]
        assert len(depth) == 1
        dim = depth[0].to_pillow()
        assert dim.mode == "L" and dim.size == (24, 32)
        assert dim.getpixel((0, 0)) < 10 and dim.getpixel((23, 31)) > 245
        for k in (1, 2):
            im.seek(k)
            assert not im.info["primary"]
            assert im.size == (16 + 8 * k, 16 + 4 * k)
            assert close(im.convert("RGB").getpixel((4, 4)), samples.EXTRA_COLOURS[k - 1], 6)
    with Image.open(samples.heic(tmp_path / "d.heic", depth=True)) as im:
        assert im.n_frames == 1 and len(im.info["depth_images"]) == 1
        assert im.info["depth_images"][0].to_pillow().size == (32, 24)
        assert samples.is_upright(im)
    with Image.open(samples.heic(tmp_path / "p.heic")) as im:
        assert im.info["depth_images"] == []


def test_heic_rejects_bad_arguments(tmp_path):
    with pytest.raises(ValueError):
        samples.heic(tmp_path / "x.heic", bit_depth=16)
    with pytest.raises(ValueError):
        samples.heic(tmp_path / "x.heic", orientation=9)


# --- JPEG XL ---------------------------------------------------------------------------------
def test_jxl_lossy_with_exif(tmp_path):
    exif = Image.Exif()
    exif[samples.MAKE_TAG] = "Pixmill"
    path = samples.jxl(tmp_path / "a.jxl", exif=exif)
    assert path.read_bytes()[:12] == b"\0\0\0\x0cJXL \r\n\x87\n"
    with Image.open(path) as im:
        assert im.format == "JXL" and im.mode == "RGB" and im.size == (64, 48)
        assert im.n_frames == 1
        assert samples.is_upright(im)
        assert im.getexif()[samples.MAKE_TAG] == "Pixmill"
        # no profile can be written: the decoder makes up an sRGB one
        prof = ImageCms.ImageCmsProfile(io.BytesIO(im.info["icc_profile"]))
        assert "sRGB" in ImageCms.getProfileDescription(prof)


def test_jxl_lossless_is_exact(tmp_path):
    path = samples.jxl(tmp_path / "l.jxl", (40, 30), lossless=True)
    assert path.read_bytes()[:2] == b"\xff\x0a"  # a bare codestream
    with Image.open(path) as im:
        assert "exif" not in im.info
        assert im.tobytes() == samples.upright_picture((40, 30)).tobytes()


def test_jxl_with_icc_goes_through_jpeg_reconstruction(tmp_path):
    p3 = samples.p3_profile()
    exif = Image.Exif()
    exif[samples.ORIENTATION_TAG] = 6
    path = samples.jxl(tmp_path / "c.jxl", icc=p3, exif=exif.tobytes())
    assert b"jbrd" in path.read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.jxl"]  # no temp JPEG left
    with Image.open(path) as im:
        assert im.format == "JXL" and im.size == (64, 48)
        assert im.info["icc_profile"] == p3
        assert im.getexif()[samples.ORIENTATION_TAG] == 6
        assert samples.is_upright(im)
    with pytest.raises(ValueError):
        samples.jxl(tmp_path / "x.jxl", icc=p3, lossless=True)


# --- DNG -------------------------------------------------------------------------------------
FLIP = {1: 0, 2: 1, 3: 3, 4: 2, 5: 4, 6: 6, 7: 7, 8: 5}


def _hue(px) -> str:
    r, g, b = (int(v) for v in px)
    for name, (a, o1, o2) in {"red": (r, g, b), "green": (g, r, b), "blue": (b, r, g)}.items():
        if a > o1 + 60 and a > o2 + 60:
            return name
    return "?"


def _scene_of(rgb: np.ndarray) -> tuple[str, str, str]:
    """(top band, lower left, lower right) hues of a demosaiced (h, w, 3) picture."""
    h, w = rgb.shape[:2]
    return (
        _hue(rgb[h // 8, w // 2]),
        _hue(rgb[3 * h // 4, w // 4]),
        _hue(rgb[3 * h // 4, 3 * w // 4]),
    )


@pytest.mark.parametrize("orientation", range(1, 9))
def test_dng_demosaics_upright_with_camera_white_balance(tmp_path, orientation):
    path = samples.dng(tmp_path / "a.dng", orientation=orientation)
    with rawpy.imread(str(path)) as raw:
        swapped = orientation >= 5
        assert (raw.sizes.width, raw.sizes.height) == ((48, 64) if swapped else (64, 48))
        assert raw.sizes.flip == FLIP[orientation]
        assert raw.raw_pattern.tolist() == [[0, 1], [3, 2]] and raw.color_desc == b"RGBG"
        assert raw.camera_whitebalance == pytest.approx([2.0, 1.0, 1.5, 0.0], abs=1e-3)
        rgb = raw.postprocess(use_camera_wb=True)
    assert rgb.shape == (48, 64, 3)
    assert _scene_of(rgb) == ("blue", "red", "green")
    h, w = rgb.shape[:2]
    assert close(rgb[3 * h // 4, w // 4], (255, 84, 85), 4)
    assert close(rgb[3 * h // 4, 3 * w // 4], (85, 202, 85), 4)


@pytest.mark.parametrize("bits", [8, 10, 12, 14, 16])
def test_dng_bit_depths(tmp_path, bits):
    path = samples.dng(tmp_path / "b.dng", bits=bits)
    with rawpy.imread(str(path)) as raw:
        assert raw.white_level == (1 << bits) - 1
        black = {8: 0, 10: 16, 12: 64, 14: 256, 16: 1024}[bits]
        assert raw.black_level_per_channel == [black] * 4
        assert int(raw.raw_image.max()) <= (1 << bits) - 1
        assert _scene_of(raw.postprocess(use_camera_wb=True)) == ("blue", "red", "green")


def test_dng_metadata(tmp_path):
    path = samples.dng(tmp_path / "m.dng", make="Acme", model="R1", orientation=6)
    data = path.read_bytes()
    assert data[:4] == b"II*\0"
    with pytest.raises(Image.UnidentifiedImageError), Image.open(path):
        pass
    exif = Image.Exif()
    exif.load(data)
    assert (exif[271], exif[272], exif[274]) == ("Acme", "R1", 6)
    assert exif[306] == "2026:01:02 03:04:05" and exif[50708] == "Acme R1"
    assert exif.get_ifd(samples.EXIF_IFD_TAG)[samples.DATETIME_ORIGINAL_TAG] == (
        "2026:01:02 03:04:05"
    )
    with rawpy.imread(str(path)) as raw:
        assert raw.other.timestamp.isoformat() == "2026-01-02T03:04:05"
        assert raw.lens.make == "" and raw.lens.model == ""
        assert raw.daylight_whitebalance[:3] == pytest.approx([1, 1, 1], abs=0.01)
        with pytest.raises(rawpy.LibRawNoThumbnailError):
            raw.extract_thumb()


@pytest.mark.parametrize("orientation", [1, 6])
def test_dng_preview(tmp_path, orientation):
    path = samples.dng(tmp_path / "p.dng", orientation=orientation, preview=True)
    with rawpy.imread(str(path)) as raw:
        thumb = raw.extract_thumb()
        assert thumb.format == rawpy.ThumbFormat.JPEG
        assert _scene_of(raw.postprocess(use_camera_wb=True)) == ("blue", "red", "green")
    with Image.open(io.BytesIO(thumb.data)) as im:
        assert im.format == "JPEG"
        assert im.size == ((48, 64) if orientation == 6 else (64, 48))
        im.getexif()[samples.ORIENTATION_TAG] = orientation
        up = np.asarray(ImageOps.exif_transpose(im))
    assert up.shape == (48, 64, 3)
    assert close(up[24, 32], (255, 255, 0), 12)  # the yellow mark: not a demosaic
    assert _scene_of(up) == ("blue", "red", "green")


def test_dng_rejects_bad_arguments(tmp_path):
    for kw in (
        {"size": (63, 48)},
        {"bits": 11},
        {"orientation": 0},
        {"size": (66, 48), "bits": 10},
    ):
        with pytest.raises(ValueError):
            samples.dng(tmp_path / "x.dng", **kw)


# --- APNG ------------------------------------------------------------------------------------
def _seek_outcome(path, frame: int) -> str:
    with Image.open(path) as im:
        try:
            im.seek(frame)
            im.load()
        except (EOFError, OSError, SyntaxError, ValueError) as exc:
            return type(exc).__name__
        return "ok"


@pytest.mark.parametrize("kind", list(samples.APNG_BEHAVIOUR))
@pytest.mark.filterwarnings("ignore:Invalid APNG:UserWarning")  # only for _seek_outcome
def test_apng_broken(tmp_path, kind):
    warns, n_frames, seek1, seek_last = samples.APNG_BEHAVIOUR[kind]
    path = samples.apng_broken(tmp_path / f"{kind}.png", kind)
    with Image.open(path) as im:
        assert im.format == "PNG" and im.size == (32, 24)
        assert im.n_frames == n_frames
        assert im.is_animated == (n_frames > 1)
        assert im.convert("RGB").getpixel((5, 5)) == samples.RED
    with pytest.warns(UserWarning, match="Invalid APNG") if warns else NoWarning():
        Image.open(path).close()
    assert _seek_outcome(path, 1) == seek1
    assert _seek_outcome(path, n_frames - 1) == seek_last


class NoWarning:
    """A context manager that fails on any warning (the suite's filter is 'error' anyway)."""

    def __enter__(self):
        import warnings

        self._ctx = warnings.catch_warnings(record=True)
        self._seen = self._ctx.__enter__()
        warnings.simplefilter("always")

    def __exit__(self, *exc):
        self._ctx.__exit__(*exc)
        assert not self._seen, [str(w.message) for w in self._seen]


def test_apng_broken_unknown_kind(tmp_path):
    with pytest.raises(ValueError):
        samples.apng_broken(tmp_path / "x.png", "nope")


def test_apng_kinds_are_all_broken_only_in_animation(tmp_path):
    """The later frames of the valid-looking kinds really are the green and blue ones."""
    path = samples.apng_broken(tmp_path / "few.png", "num_frames_too_few")
    with Image.open(path) as im:
        im.seek(1)
        assert im.convert("RGB").getpixel((5, 5)) == samples.APNG_COLOURS[1]
    path = samples.apng_broken(tmp_path / "many.png", "num_frames_too_many")
    with Image.open(path) as im:
        im.seek(2)
        assert im.convert("RGB").getpixel((5, 5)) == samples.APNG_COLOURS[2]
        with pytest.raises(OSError, match="Truncated"):
            im.seek(3)
        assert im.tell() == 2


# --- GIF and TIFF ----------------------------------------------------------------------------
def test_gif_frame_beyond_canvas_grows_the_image(tmp_path):
    path = samples.gif_frames_beyond_canvas(tmp_path / "g.gif")
    with Image.open(path) as im:
        assert im.size == (32, 24) and im.n_frames == 3
        assert im.size == (32, 24)  # counting frames does not grow it
        im.seek(1)
        im.load()
        assert im.size == (40, 30) and im.mode == "RGB"
        assert im.getpixel((39, 29)) == samples.BLUE
        assert im.getpixel((36, 2)) == samples.GREY  # new area: background
        im.seek(2)
        im.load()
        assert im.size == (40, 30) and im.getpixel((2, 2)) == samples.RED
        im.seek(0)
        assert im.size == (40, 30)


def test_gif_mixed_frames(tmp_path):
    path = samples.gif_mixed_frames(tmp_path / "m.gif")
    at = [(6, 5), (20, 22), (1, 29)]
    want = [
        [samples.GREY, samples.GREY, samples.GREY],
        [samples.RED, samples.GREY, samples.GREY],
        [samples.GREY, samples.BLUE, samples.GREY],
        [samples.GREY, samples.GREY, samples.GREEN],
    ]
    with Image.open(path) as im:
        assert im.n_frames == 4
        for frame, expected in enumerate(want):
            im.seek(frame)
            im.load()
            assert im.size == (40, 30)
            rgb = im.convert("RGB")
            assert [rgb.getpixel(p) for p in at] == expected, frame
            assert im.disposal_method == (1, 2, 3, 1)[frame]


@pytest.mark.parametrize("sizes", [((40, 30), (20, 50)), ((8, 8), (30, 10), (10, 30))])
def test_tiff_pages_of_sizes(tmp_path, sizes):
    path = samples.tiff_pages_of_sizes(tmp_path / "t.tif", sizes)
    with Image.open(path) as im:
        assert im.n_frames == len(sizes)
        for k, size in enumerate(sizes):
            im.seek(k)
            assert im.size == size
            assert im.getpixel((0, 0)) == samples.GIF_PALETTE[1 + k]
    with Image.open(samples.tiff_pages_of_sizes(tmp_path / "d.tif")) as im:
        assert im.n_frames == 2


def test_big_jpeg(tmp_path):
    path = samples.big_jpeg(tmp_path / "b.jpg")
    with Image.open(path) as im:
        assert im.format == "JPEG" and im.size == (8000, 6000)
    with Image.open(samples.big_jpeg(tmp_path / "s.jpg", (400, 300))) as im:
        assert im.size == (400, 300)
        assert close(im.getpixel((70, 60)), samples.RED, 8)
        assert close(im.getpixel((320, 180)), samples.BLUE, 8)
        assert close(im.getpixel((390, 20)), samples.GREY, 8)
