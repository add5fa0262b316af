"""pixmill.engine.codecs: the decoders beyond Pillow's own (HEIC, JPEG XL, camera RAW), which
files are images (by extension, or by their first bytes), the formats Pixmill knows but cannot
read, and what a file needs when its codec could not load. Real files, convert_one in-process."""

from __future__ import annotations

import shutil
import struct
from pathlib import Path

import pytest
from PIL import Image

from pixmill.engine import codecs
from pixmill.engine.convert import convert_one
from pixmill.engine.recipe import Recipe
from pixmill.engine.scan import collect_sources
from tests import samples
from tests.conftest import make_image, temp_leftovers
from tests.engine.images import job_for, run

pytestmark = pytest.mark.timeout(60)

codecs.register()

DATA = Path(__file__).parent / "data"


# --- what the decoders open ------------------------------------------------------------------
def test_written_out_decoder_extensions_match_what_the_decoders_open():
    """The drift check: the main process plans folders from DECODER_EXTENSIONS without loading
    Pillow; a Pillow or plugin upgrade that changes what opens must update that list."""
    assert codecs.decoder_extensions() == codecs.DECODER_EXTENSIONS


def test_plugin_and_raw_extensions_are_planned_by_a_folder_walk():
    assert {".heic", ".heif", ".hif", ".jxl", ".avif"} <= codecs.DECODER_EXTENSIONS
    assert {".dng", ".cr3", ".nef", ".arw"} <= codecs.IMAGE_EXTENSIONS - codecs.DECODER_EXTENSIONS
    assert ".svg" in codecs.IMAGE_EXTENSIONS  # planned, then failed with the reason


# --- sniff -----------------------------------------------------------------------------------
def _pillow_head(tmp_path: Path, fmt: str) -> bytes:
    path = tmp_path / f"head.{fmt.lower()}"
    samples.upright_picture((32, 24)).save(path, format=fmt)
    return path.read_bytes()[:32]


REAL_HEADS = {
    "jpeg": lambda t: _pillow_head(t, "JPEG"),
    "png": lambda t: _pillow_head(t, "PNG"),
    "gif": lambda t: _pillow_head(t, "GIF"),
    "webp": lambda t: _pillow_head(t, "WEBP"),
    "avif": lambda t: _pillow_head(t, "AVIF"),
    "tiff": lambda t: _pillow_head(t, "TIFF"),
    "heif": lambda t: samples.heic(t / "a.heic").read_bytes()[:32],
    # a bare codestream (FF 0A) and, with EXIF, an ISO BMFF container ('JXL ' box first)
    "jxl-codestream": lambda t: samples.jxl(t / "a.jxl").read_bytes()[:32],
    "jxl-container": lambda t: samples.jxl(
        t / "b.jxl", exif=samples.exif_bytes({271: "X"})
    ).read_bytes()[:32],
    "psd": lambda t: (DATA / "layered.psd").read_bytes()[:32],
}


@pytest.mark.parametrize("kind", list(REAL_HEADS))
def test_sniff_names_real_files_by_their_first_bytes(tmp_path, kind):
    head = REAL_HEADS[kind](tmp_path)
    assert codecs.sniff(head) == kind.split("-")[0]


def test_a_dng_sniffs_as_the_tiff_it_is_built_on(tmp_path):
    """DNG has no magic of its own: its extension sends it to LibRaw."""
    assert codecs.sniff(samples.dng(tmp_path / "a.dng").read_bytes()[:32]) == "tiff"


def _ftyp(major: bytes, *compatible: bytes) -> bytes:
    body = b"ftyp" + major + b"\0\0\0\0" + b"".join(compatible)
    return struct.pack(">I", 4 + len(body)) + body


@pytest.mark.parametrize(
    ("head", "kind"),
    [
        (_ftyp(b"heic", b"mif1", b"heic"), "heif"),
        (_ftyp(b"heix", b"mif1", b"heix"), "heif"),
        (_ftyp(b"mif1", b"heic"), "heif"),
        (_ftyp(b"msf1", b"hevc"), "heif"),
        (_ftyp(b"avif", b"mif1", b"miaf"), "avif"),
        (_ftyp(b"avis", b"avif", b"msf1"), "avif"),
        (_ftyp(b"crx ", b"crx ", b"isom"), "raw"),  # Canon CR3
        (b"FUJIFILMCCD-RAW 0201FF383501" + bytes(4), "raw"),  # RAF
        (b"IIRO\x08\x00\x00\x00" + bytes(24), "raw"),  # Olympus ORF
        (b"IIRS\x08\x00\x00\x00" + bytes(24), "raw"),  # Olympus ORF (some bodies)
        (b"MMOR\x00\x00\x00\x08" + bytes(24), "raw"),  # Olympus ORF, big-endian
        (b"IIU\x00\x18\x00\x00\x00" + bytes(24), "raw"),  # Panasonic RW2
        (b"MM\x00*\x00\x00\x00\x08" + bytes(24), "tiff"),  # big-endian TIFF
        (b"\x00\x00\x00\x0cJXL \r\n\x87\n" + bytes(20), "jxl"),
        (b"\xff\x0a" + bytes(30), "jxl"),
    ],
)
def test_sniff_knows_camera_and_container_brands(head, kind):
    assert codecs.sniff(head[:32]) == kind


@pytest.mark.parametrize(
    "head",
    [
        b"Dear diary, today I converted a picture.\n",
        _ftyp(b"qt  ", b"qt  "),  # QuickTime .mov
        _ftyp(b"isom", b"isom", b"iso2", b"mp41"),  # MP4
        _ftyp(b"mp42", b"isom"),
        _ftyp(b"M4A ", b"isom"),
        _ftyp(b"isom", b"crx "),  # Canon's brand only as a compatible one: not a CR3
        b"%PDF-1.7\n",
        b"PK\x03\x04" + bytes(28),
        b"",
        b"\xff\xd8",  # too short to say JPEG
    ],
)
def test_sniff_says_nothing_about_non_images(head):
    assert codecs.sniff(head) is None


# --- the folder walk -------------------------------------------------------------------------
def test_folder_walk_plans_new_formats_and_images_without_an_image_name(tmp_path):
    root = tmp_path / "in"
    root.mkdir()
    samples.heic(root / "IMG.HEIC")
    samples.jxl(root / "x.jxl")
    samples.dng(root / "y.dng")
    (root / "z.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg"/>\n')
    make_image(root / "scan0001", (40, 30), format="JPEG")
    make_image(root / "photo.dat", (40, 30), format="JPEG")
    make_image(root / ".hidden.jpg", (40, 30))
    (root / "notes.txt").write_text("a shopping list, not a picture\n" * 3)
    (root / "clip.mov").write_bytes(_ftyp(b"qt  ", b"qt  ") + bytes(200))
    (root / "movie.mp4").write_bytes(_ftyp(b"isom", b"isom", b"mp41") + bytes(200))
    sources, problems = collect_sources([root])
    assert problems == []
    assert sorted(Path(s.path).name for s in sources) == sorted(
        ["IMG.HEIC", "x.jxl", "y.dng", "z.svg", "scan0001", "photo.dat"]
    )


def test_a_jpeg_without_an_image_name_converts(tmp_path):
    src = make_image(tmp_path / "scan0001", (40, 30), format="JPEG")
    res, out = run(src, tmp_path / "out", format="png")
    assert res["status"] == "ok", res["error"]
    assert out.size == (40, 30) and Path(res["target"]).name == "scan0001.png"


# --- formats Pixmill knows but cannot read ---------------------------------------------------
@pytest.mark.parametrize("name", ["drawing.svg", "DRAWING.SVG", "icon.svgz"])
def test_svg_fails_with_its_reason(tmp_path, name):
    src = tmp_path / name
    src.write_text('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>\n')
    res = convert_one(job_for(src, tmp_path / "out", Recipe(format="png")))
    assert res["status"] == "failed"
    assert res["error"] == "SVG vector images are not supported"
    assert not (tmp_path / "out").exists() or temp_leftovers(tmp_path / "out") == []


# --- codecs that could not load --------------------------------------------------------------
@pytest.fixture
def heic_unavailable(monkeypatch):
    """pillow-heif as if it had failed to import: recorded in UNAVAILABLE, and Pillow does not
    know HEIF (the opener was never registered)."""
    monkeypatch.setitem(codecs.UNAVAILABLE, "heic", "ImportError: test")
    monkeypatch.delitem(Image.OPEN, "HEIF")
    monkeypatch.setattr(Image, "ID", [f for f in Image.ID if f != "HEIF"])


@pytest.fixture
def jxl_unavailable(monkeypatch):
    monkeypatch.setitem(codecs.UNAVAILABLE, "jxl", "ImportError: no libjxl")
    monkeypatch.delitem(Image.OPEN, "JXL")
    monkeypatch.setattr(Image, "ID", [f for f in Image.ID if f != "JXL"])


@pytest.mark.parametrize("name", ["IMG_0001.HEIC", "b.heif", "c.hif", "heic-without-name"])
def test_heic_without_its_codec_says_so(tmp_path, heic_unavailable, name):
    src = samples.heic(tmp_path / name)
    res = convert_one(job_for(src, tmp_path / "out", Recipe(format="jpeg")))
    assert res["status"] == "failed"
    assert res["error"] == "HEIC support is not available: ImportError: test"


def test_heic_files_are_still_planned_without_the_codec(tmp_path, heic_unavailable):
    """A file its codec cannot read is reported, never silently left out of the batch."""
    root = tmp_path / "in"
    root.mkdir()
    samples.heic(root / "IMG_0001.HEIC")
    sources, _ = collect_sources([root])
    assert [Path(s.path).name for s in sources] == ["IMG_0001.HEIC"]


def test_writing_heic_without_its_codec_says_so(tmp_path, heic_unavailable):
    src = make_image(tmp_path / "a.png", (40, 30))
    out = tmp_path / "out"
    res = convert_one(job_for(src, out, Recipe(format="heic")))
    assert res["status"] == "failed"
    assert res["error"] == "HEIC support is not available: ImportError: test"
    assert not out.exists() or list(out.iterdir()) == []


def test_jxl_without_its_codec_says_so_reading_and_writing(tmp_path, jxl_unavailable):
    src = samples.jxl(tmp_path / "a.jxl")
    shutil.copy(src, tmp_path / "jxl-without-name")
    for path in (src, tmp_path / "jxl-without-name"):
        res = convert_one(job_for(path, tmp_path / "out", Recipe(format="png")))
        assert res["error"] == "JPEG XL support is not available: ImportError: no libjxl", path
    png = make_image(tmp_path / "b.png", (40, 30))
    res = convert_one(job_for(png, tmp_path / "out", Recipe(format="jxl")))
    assert res["status"] == "failed"
    assert res["error"] == "JPEG XL support is not available: ImportError: no libjxl"


def test_raw_without_its_codec_says_so(tmp_path, monkeypatch):
    monkeypatch.setitem(codecs.UNAVAILABLE, "raw", "ImportError: no rawpy")
    dng = samples.dng(tmp_path / "a.dng")
    # An Olympus header in a file without a RAW name goes to LibRaw by its first bytes.
    orf = tmp_path / "card-dump.bin"
    orf.write_bytes(b"IIRO\x08\x00\x00\x00" + bytes(4000))
    for src in (dng, orf):
        res = convert_one(job_for(src, tmp_path / "out", Recipe(format="jpeg")))
        assert res["status"] == "failed"
        assert res["error"] == "camera RAW support is not available: ImportError: no rawpy"
        assert not res["error"].startswith("file is damaged")


def test_a_raw_header_without_a_raw_name_goes_to_libraw(tmp_path):
    orf = tmp_path / "card-dump.bin"
    orf.write_bytes(b"IIRO\x08\x00\x00\x00" + bytes(4000))
    res = convert_one(job_for(orf, tmp_path / "out", Recipe(format="jpeg")))
    assert res["status"] == "failed"
    assert res["error"].startswith("camera RAW "), res["error"]


def test_versions_name_the_codec_libraries(monkeypatch):
    v = codecs.versions()
    for key in ("Pillow", "pillow-heif", "libheif", "pillow-jxl-plugin", "rawpy", "LibRaw"):
        assert v.get(key), key
    monkeypatch.setitem(codecs.UNAVAILABLE, "heic", "ImportError: test")
    v = codecs.versions()
    assert "libheif" not in v and v["heic"] == "not available: ImportError: test"
