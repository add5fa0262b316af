"""Codecs: the decoders and encoders beyond Pillow's own (HEIC/HEIF through pillow-heif, JPEG XL
through pillow-jxl-plugin, camera RAW through rawpy/LibRaw), registered once per process, and
which files are images: by the extensions the loaded decoders claim, or by their first bytes.

A codec that cannot load is remembered with its reason, so that the files it would have read
fail with "HEIC support is not available: ..." instead of vanishing from the batch.
"""

from __future__ import annotations

import functools
import os
import threading
from typing import Any

from .errors import ConversionError
from .formats import RAW_EXTENSIONS
from .i18n import N_, _

#: LibRaw's flip value -> the EXIF orientation that turns the stored picture upright.
RAW_FLIP_ORIENTATION = {0: 1, 1: 2, 2: 4, 3: 3, 4: 5, 5: 8, 6: 6, 7: 7}

#: Image formats Pixmill knows but cannot read: counted and reported, never silently skipped.
#: (A format Pillow can open on this machine, EPS with Ghostscript say, is readable instead.)
#: The reasons are marked for translation and translated where they are used.
UNREADABLE = {
    ".svg": N_("SVG vector images are not supported"),
    ".svgz": N_("SVG vector images are not supported"),
    ".eps": N_("EPS needs Ghostscript, which is not installed"),
    ".ps": N_("PostScript needs Ghostscript, which is not installed"),
    ".ai": N_("Adobe Illustrator files are not supported"),
    ".wmf": N_("Windows metafiles are not supported on this system"),
    ".emf": N_("Windows metafiles are not supported on this system"),
    ".exr": N_("OpenEXR images are not supported"),
    ".hdr": N_("Radiance HDR images are not supported"),
    ".xcf": N_("GIMP XCF files are not supported"),
    ".kra": N_("Krita documents are not supported"),
    ".psb": N_("Photoshop large documents (PSB) are not supported"),
    ".jxr": N_("JPEG XR images are not supported"),
    ".wdp": N_("JPEG XR images are not supported"),
    ".hdp": N_("JPEG XR images are not supported"),
}

#: Pillow formats it identifies but cannot decode without a handler Pixmill does not install.
_STUB_FORMATS = frozenset({"BUFR", "GRIB", "HDF5", "MPEG", "WMF"})
#: Formats whose support comes from a plugin: the plugin's name (for messages) by format.
_PLUGIN_EXTENSIONS = {
    "heic": frozenset({".heic", ".heif", ".hif", ".heics", ".heifs"}),
    "jxl": frozenset({".jxl"}),
}
_PLUGIN_NAMES = {"heic": "HEIC", "jxl": "JPEG XL", "raw": N_("camera RAW")}

_lock = threading.Lock()
_registered = False
#: Codec name ("heic", "jxl", "raw") -> why it could not load, for the codecs that could not.
UNAVAILABLE: dict[str, str] = {}


def _why(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def register() -> None:
    """Register the HEIF and JPEG XL plugins with Pillow, once per process (a few ms; rawpy is
    loaded on the first RAW file instead, it costs ~100 ms). Never raises: a plugin that cannot
    load is recorded in UNAVAILABLE."""
    global _registered
    if _registered:
        return
    with _lock:
        if _registered:
            return
        try:
            import pillow_heif

            # pillow-heif's frames are the file's top-level pictures only (thumbnails, depth
            # and auxiliary images are listed in info, never frames); 10-bit and HDR pictures
            # decode to 8 bits.
            pillow_heif.register_heif_opener()
        except Exception as exc:  # noqa: BLE001 - any failure means "not available"
            UNAVAILABLE["heic"] = _why(exc)
        try:
            import pillow_jxl  # noqa: F401 - registers the JXL plugin on import
            from pillow_jxl import JpegXLImagePlugin

            # One decoding thread: the pool already keeps every core busy with a file each.
            JpegXLImagePlugin.DECODE_THREADS = 1
        except Exception as exc:  # noqa: BLE001
            UNAVAILABLE["jxl"] = _why(exc)
        try:
            from . import pngzip

            pngzip.register()  # PNG pixels deflated by zlib-ng (Pillow's zlib without it)
        except Exception:  # noqa: BLE001, S110 - numpy or Pillow broken: Pillow's encoder stays
            pass
        _registered = True


def raw_module() -> Any:
    """rawpy, imported on first use; raises CodecUnavailable with the reason if it cannot load."""
    if "raw" in UNAVAILABLE:
        raise CodecUnavailable("raw", UNAVAILABLE["raw"])
    try:
        import rawpy
    except Exception as exc:  # noqa: BLE001
        UNAVAILABLE["raw"] = _why(exc)
        raise CodecUnavailable("raw", UNAVAILABLE["raw"]) from None
    return rawpy


def raw_size(path: str) -> tuple[int, int, int]:
    """A RAW file's output width, height and orientation, from LibRaw without decoding (for
    naming templates with {width}: Pillow would read a DNG's small TIFF preview instead)."""
    with raw_module().imread(path) as raw:
        sizes = raw.sizes
        return sizes.width, sizes.height, RAW_FLIP_ORIENTATION.get(sizes.flip, 1)


class NotRaw(Exception):
    """A file named like camera RAW holds another kind of image (a JPEG renamed .dng)."""


class CodecUnavailable(ConversionError):
    """A file needs a codec that could not load on this machine."""

    def __init__(self, codec: str, reason: str) -> None:
        name = _(_PLUGIN_NAMES.get(codec, codec))
        super().__init__(
            _("{codec} support is not available: {reason}").format(codec=name, reason=reason)
        )
        self.codec = codec


def check_writable(fmt: str) -> None:
    """Raise CodecUnavailable when the output format fmt needs a plugin that did not load."""
    register()
    if fmt in UNAVAILABLE:
        raise CodecUnavailable(fmt, UNAVAILABLE[fmt])


#: What Pillow and the HEIF and JPEG XL plugins open on this build, by extension: the main
#: process plans folders without loading Pillow (it is on every batch's critical path), so the
#: decoders' own list is written out here. `python -m pixmill.engine.codecs` prints it afresh,
#: and tests/engine/test_codecs.py fails when it no longer matches what the decoders open.
DECODER_EXTENSIONS = frozenset(
    {".apng", ".avif", ".avifs", ".blp", ".bmp", ".bw", ".cur", ".dcx", ".dds", ".dib", ".fit"}
    | {".fits", ".flc", ".fli", ".ftc", ".ftu", ".gbr", ".gif", ".heic", ".heics", ".heif"}
    | {".heifs", ".hif", ".icb", ".icns", ".ico", ".iim", ".im", ".j2c", ".j2k", ".jfif", ".jp2"}
    | {".jpc", ".jpe", ".jpeg", ".jpf", ".jpg", ".jpx", ".jxl", ".msp", ".pbm", ".pcd", ".pcx"}
    | {".pfm", ".pgm", ".png", ".pnm", ".ppm", ".psd", ".pxr", ".qoi", ".ras", ".rgb", ".rgba"}
    | {".sgi", ".tga", ".tif", ".tiff", ".vda", ".vst", ".webp", ".xbm", ".xpm"}
)

#: Extensions of files a folder walk plans: what the decoders open, camera RAW, and the image
#: formats Pixmill knows but cannot read (planned, then failed with the reason).
IMAGE_EXTENSIONS = DECODER_EXTENSIONS | RAW_EXTENSIONS | frozenset(UNREADABLE)


@functools.cache
def _pillow_readable() -> frozenset[str]:
    """Extensions of the formats the loaded Pillow plugins can actually decode here (loads
    Pillow and the plugins)."""
    register()
    from PIL import EpsImagePlugin, Image

    exts = {
        ext
        for ext, fmt in Image.registered_extensions().items()
        if fmt in Image.OPEN and fmt not in _STUB_FORMATS
    }
    if not EpsImagePlugin.has_ghostscript():
        exts -= {".eps", ".ps"}
    return frozenset(exts)


def decoder_extensions() -> frozenset[str]:
    """What the decoders open, asked of the decoders themselves (DECODER_EXTENSIONS is this,
    written out; EPS counts only where Ghostscript is installed, so it is left out there)."""
    return _pillow_readable() - {".eps", ".ps"}


def is_image_name(name: str) -> bool:
    """Whether a folder walk plans a file of this name by its extension alone."""
    return os.path.splitext(name)[1].lower() in IMAGE_EXTENSIONS


def is_raw_name(path: str) -> bool:
    return os.path.splitext(path)[1].lower() in RAW_EXTENSIONS


#: ISO base media file brands of still pictures (HEIF, AVIF) and Canon's CR3.
_PICTURE_BRANDS = frozenset(
    {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs", b"mif1", b"msf1"}
    | {b"avif", b"avis", b"crx ", b"MiHE", b"miaf"}
)


def sniff(head: bytes) -> str | None:
    """What an image file's first 32 bytes say it is ("jpeg", "heif", "raw"...), or None."""
    if head[:3] == b"\xff\xd8\xff":
        return "jpeg"
    if head[:8] == b"\x89PNG\r\n\x1a\n":
        return "png"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head[4:8] == b"ftyp" and head[8:12] in _PICTURE_BRANDS:
        brand = head[8:12]
        return "raw" if brand == b"crx " else ("avif" if brand.startswith(b"avi") else "heif")
    if head[:2] == b"\xff\x0a" or head[:12] == b"\x00\x00\x00\x0cJXL \r\n\x87\n":
        return "jxl"
    if head[:15] == b"FUJIFILMCCD-RAW" or head[:4] in (b"IIRO", b"IIRS", b"MMOR", b"IIU\x00"):
        return "raw"
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return "tiff"
    if head[:4] == b"8BPS":
        return "psd"
    if head[:12] == b"\x00\x00\x00\x0cjP  \r\n\x87\n" or head[:4] == b"\xffO\xffQ":
        return "jpeg2000"
    if head[:4] == b"qoif":
        return "qoi"
    if head[:2] == b"BM" and len(head) >= 14 and head[6:10] == b"\x00\x00\x00\x00":
        return "bmp"
    return None


def sniff_file(path: str) -> str | None:
    """sniff() on a file's first bytes; None when it cannot be read."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except OSError:
        return None
    try:
        return sniff(os.read(fd, 32))
    except OSError:
        return None
    finally:
        os.close(fd)


def unreadable_reason(path: str, head: bytes) -> str | None:
    """Why Pixmill cannot read this file, when it can tell before trying: an image format it
    knows but does not read, or one whose codec did not load. None when it should be tried."""
    ext = os.path.splitext(path)[1].lower()
    if ext in UNREADABLE and ext not in _pillow_readable():
        return _(UNREADABLE[ext])
    kind = sniff(head)
    for codec, exts in _PLUGIN_EXTENSIONS.items():
        if codec in UNAVAILABLE and (ext in exts or kind == _SNIFFED.get(codec)):
            return str(CodecUnavailable(codec, UNAVAILABLE[codec]))
    return None


_SNIFFED = {"heic": "heif", "jxl": "jxl"}


def versions() -> dict[str, str]:
    """The codec libraries' versions (or why they are missing), for --version and reports."""
    register()
    from PIL import __version__ as pillow

    out = {"Pillow": pillow}
    if "heic" not in UNAVAILABLE:
        import pillow_heif

        out["pillow-heif"] = pillow_heif.__version__
        out["libheif"] = str(pillow_heif.libheif_version())
    if "jxl" not in UNAVAILABLE:
        out["pillow-jxl-plugin"] = _dist_version("pillow-jxl-plugin")
    try:
        rawpy = raw_module()
        out["rawpy"] = rawpy.__version__
        out["LibRaw"] = rawpy.libraw_version and ".".join(map(str, rawpy.libraw_version))
    except CodecUnavailable as exc:
        out["rawpy"] = str(exc)
    for name, why in UNAVAILABLE.items():
        if name != "raw":  # already under rawpy
            out.setdefault(name, _("not available: {reason}").format(reason=why))
    return out


def _dist_version(name: str) -> str:
    try:
        from importlib.metadata import version

        return version(name)
    except Exception:  # noqa: BLE001 - a frozen app may lack the metadata
        return _("unknown")


__all__ = [
    "RAW_EXTENSIONS",
    "RAW_FLIP_ORIENTATION",
    "UNAVAILABLE",
    "UNREADABLE",
    "CodecUnavailable",
    "check_writable",
    "IMAGE_EXTENSIONS",
    "DECODER_EXTENSIONS",
    "decoder_extensions",
    "is_image_name",
    "is_raw_name",
    "raw_module",
    "raw_size",
    "register",
    "sniff",
    "sniff_file",
    "unreadable_reason",
    "versions",
]


if __name__ == "__main__":  # print DECODER_EXTENSIONS afresh, sorted
    print(sorted(decoder_extensions()))
