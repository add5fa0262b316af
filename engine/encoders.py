"""Encoders beyond Pillow's defaults, each optional, each with Pillow as its fallback:

- JPEG by jpegli (pyjpegli): 8-17% fewer bytes than libjpeg-turbo at the same SSIMULACRA2 on
  photos (median over 12 photos: 15% at scores 55-70, 9% at 80-85; MozJPEG's pass on top of
  each, 10-17%), for twice libjpeg-turbo's encoding time, which is small (about 5 ms of CPU
  per megapixel). tests/benchmarks/encoders_bench.py measures it.
- MozJPEG's lossless re-optimisation (mozjpeg-lossless-optimization): the same DCT
  coefficients, so the same decoded pixels, in a progressive file with optimal Huffman tables.
- oxipng (pyoxipng): lossless PNG re-compression, every chunk kept.
- libimagequant (imagequant): a palette of at most N colours (alpha kept) for a small,
  lossy PNG.

Every function encodes into memory and returns bytes (or an image), so the quality search can
call them many times per picture. The packages are imported on first use; one that cannot
load is remembered in UNAVAILABLE with the reason, the work falls back to Pillow, and an
EncoderFallbackWarning says why, once per process and package.

Threads: the pool already keeps every core busy with a file each, so every call here runs on
one thread. jpegli, MozJPEG and libimagequant (2.x, built without OpenMP) never start threads;
oxipng runs on rayon, whose pool is sized once per process from RAYON_NUM_THREADS: it is set
to 1 around the first oxipng call (see _oxipng). pyjpegli, MozJPEG and libimagequant release
the GIL while they work (another Python thread kept running beside them). No call keeps state
between calls, so any of them may run on several threads at once.

Quality: `quality` is Pillow's (libjpeg-turbo's) 1..100 whichever encoder writes the file.
The two scales agree around 50-60, but above that jpegli's numbers look worse than
libjpeg-turbo's (turbo's q85 looks like jpegli's q87-88), so jpegli is given
jpegli_quality(quality): the jpegli quality whose output has, over the benchmark photos, the
same median SSIMULACRA2 as libjpeg-turbo's at `quality`. Per photo the two still differ by up
to about 2.5 points either way. The mapping is monotonic, so a search over quality sees size
and score rise with it.

Metadata: whatever the encoder, a JPEG carries the same segments as Pillow writes them, in
Pillow's order (JFIF APP0, APP1 Exif, APP1 XMP, APP2 ICC_PROFILE chunks, COM): jpegli's output
has none, so insert_metadata() writes them after encoding.
"""

from __future__ import annotations

import io
import os
import threading
import warnings
from itertools import pairwise
from typing import TYPE_CHECKING, Any

from .i18n import N_, _

if TYPE_CHECKING:  # Pillow loads with the first function that needs it
    from PIL import Image

#: Names encode_jpeg() takes.
JPEG_ENCODERS = ("libjpeg-turbo", "jpegli", "auto")

#: Package short name -> (import name, distribution name).
_PACKAGES = {
    "jpegli": ("pyjpegli", "pyjpegli"),
    "mozjpeg": ("mozjpeg_lossless_optimization", "mozjpeg-lossless-optimization"),
    "oxipng": ("oxipng", "pyoxipng"),
    "imagequant": ("imagequant", "imagequant"),
    "zlib-ng": ("zlib_ng", "zlib-ng"),  # engine/pngzip.py: every PNG's pixel data
}
#: What each package's absence costs, for the one warning.
_INSTEAD = {
    "jpegli": N_("JPEG is encoded by libjpeg-turbo"),
    "mozjpeg": N_("JPEG files are left as encoded"),
    "oxipng": N_("PNG files are left as Pillow wrote them"),
    "imagequant": N_("palette PNGs are made by Pillow's quantizer"),
    "zlib-ng": N_("PNG pixel data is deflated by the system's zlib"),
}

_lock = threading.Lock()
_loaded: dict[str, Any] = {}
#: Package short name -> why it could not load, for the packages that could not.
UNAVAILABLE: dict[str, str] = {}
_warned: set[str] = set()
_rayon_sized = False


class EncoderFallbackWarning(RuntimeWarning):
    """An optional encoder could not load: Pillow did the work instead."""


def _why(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def _module(name: str, warn: bool = True) -> Any | None:
    """The package behind name, imported on first use; None (and the reason in UNAVAILABLE)
    when it cannot load. warn: say why with an EncoderFallbackWarning, once per process."""
    module = _loaded.get(name)
    if module is not None:
        return module
    with _lock:
        if name not in _loaded and name not in UNAVAILABLE:
            try:
                _loaded[name] = __import__(_PACKAGES[name][0])
            except Exception as exc:  # noqa: BLE001 - any failure means "not available"
                UNAVAILABLE[name] = _why(exc)
        module = _loaded.get(name)
        first = module is None and warn and name not in _warned
        if first:
            _warned.add(name)
    if first:
        warnings.warn(
            _("{package} is not available ({error}): {instead}").format(
                package=_PACKAGES[name][1], error=UNAVAILABLE[name], instead=_(_INSTEAD[name])
            ),
            EncoderFallbackWarning,
            stacklevel=3,
        )
    return module


def available() -> dict[str, str | None]:
    """Each encoder and its version ("libjpeg-turbo" is Pillow's), or None when its package
    cannot load (UNAVAILABLE then says why). Imports the packages; warns about none."""
    from importlib import metadata

    from PIL import features

    found: dict[str, str | None] = {"libjpeg-turbo": features.version("libjpeg_turbo")}
    for name, (_module_name, dist) in _PACKAGES.items():
        if _module(name, warn=False) is None:
            found[name] = None
            continue
        try:
            version = f"{dist} {metadata.version(dist)}"
        except metadata.PackageNotFoundError:  # a frozen bundle without the dist-info
            version = dist
        if name == "imagequant":
            native = _libimagequant_version()
            if native:
                version += f" (libimagequant {native})"
        found[name] = version
    return found


def _libimagequant_version() -> str | None:
    try:
        from imagequant import _libimagequant  # the wrapper's cffi module

        v = int(_libimagequant.lib.liq_version())  # e.g. 21501 for 2.15.1
    except Exception:  # noqa: BLE001 - only a detail of the listing
        return None
    return f"{v // 10000}.{v // 100 % 100}.{v % 100}"


# --- JPEG ------------------------------------------------------------------------------------

#: libjpeg-turbo (Pillow) quality -> the jpegli quality with the same SSIMULACRA2, median over
#: the benchmark photos (the corpus's 12 camera JPEGs fitted to 1600 px, 4:2:0; the per-photo
#: values spread by about +-3 around it: encoders_bench.py, results/encoders-*.json). Between
#: the points it is interpolated linearly, then rounded; outside them it moves one for one.
_JPEGLI_FOR_TURBO = (
    (40, 40.2),
    (45, 43.1),
    (50, 49.9),
    (55, 55.1),
    (60, 60.6),
    (65, 66.9),
    (70, 72.8),
    (75, 78.0),
    (80, 83.2),
    (85, 87.5),
    (90, 91.3),
    (95, 95.0),
)


def jpegli_quality(quality: int) -> int:
    """The jpegli quality that looks like libjpeg-turbo's `quality` (same median SSIMULACRA2
    on photos). Monotonic: a higher quality never maps to a lower one."""
    points = _JPEGLI_FOR_TURBO
    (t_lo, j_lo), (t_hi, j_hi) = points[0], points[-1]
    if quality <= t_lo:
        q = j_lo - (t_lo - quality)
    elif quality >= t_hi:
        q = j_hi + (quality - t_hi)
    else:
        (t0, j0), (t1, j1) = next((a, b) for a, b in pairwise(points) if quality <= b[0])
        q = j0 + (j1 - j0) * (quality - t0) / (t1 - t0)
    return max(1, min(100, round(q)))


def jpeg_encoder_for(
    mode: str,
    encoder: str,
    *,
    subsampling: str | int | None = None,
    progressive: bool = False,
) -> str:
    """Which encoder encode_jpeg() uses for an image of this mode: "jpegli" or
    "libjpeg-turbo". jpegli (through pyjpegli) takes 8-bit RGB only (a YCbCr image is turned
    to RGB for it) and always subsamples chroma 4:2:0; its progressive files come from
    MozJPEG's lossless pass. Anything else, or a missing package, is libjpeg-turbo's."""
    if encoder not in JPEG_ENCODERS:
        raise ValueError(f"unknown JPEG encoder {encoder!r} (use {', '.join(JPEG_ENCODERS)})")
    if encoder == "libjpeg-turbo":
        return encoder
    if mode not in ("RGB", "YCbCr") or subsampling not in (None, -1, 2, "4:2:0"):
        return "libjpeg-turbo"
    if _module("jpegli") is None:
        return "libjpeg-turbo"
    if progressive and _module("mozjpeg") is None:
        return "libjpeg-turbo"
    return "jpegli"


def encode_jpeg(
    image: Image.Image,
    quality: int,
    *,
    progressive: bool = False,
    subsampling: str | int | None = None,
    exif: bytes | Image.Exif | None = None,
    icc_profile: bytes | None = None,
    xmp: bytes | None = None,
    comment: bytes | str | None = None,
    encoder: str,
) -> bytes:
    """One JPEG file's bytes.

    quality is Pillow's 1..100 for every encoder (jpegli gets jpegli_quality(quality)).
    subsampling: None for each encoder's default (4:2:0 for both), or Pillow's values; the
    planar path's YCbCr images come with "4:2:0". The metadata arguments are Pillow's save()
    arguments and land in the file exactly as Pillow writes them. encoder: "libjpeg-turbo"
    (Pillow: the same bytes as Image.save with these arguments), "jpegli", or "auto" (jpegli
    wherever jpeg_encoder_for() allows it; they are the same thing today, "auto" is what
    callers should ask for so that the choice can follow future measurements).

    jpegli takes packed RGB: each call copies the pixels out (about 1 ms per megapixel), and
    converts a YCbCr image to RGB first (about 3 ms per megapixel): a search that encodes one
    image many times should hand it over in RGB."""
    chosen = jpeg_encoder_for(image.mode, encoder, subsampling=subsampling, progressive=progressive)
    if chosen == "jpegli":
        return _jpegli(image, quality, progressive, exif, icc_profile, xmp, comment)
    kw: dict[str, Any] = {"quality": quality, "progressive": progressive}
    if subsampling is not None:
        kw["subsampling"] = subsampling
    for key, value in (("exif", exif), ("icc_profile", icc_profile), ("xmp", xmp)):
        if value:
            kw[key] = value
    # Always given, so that Pillow never falls back to a comment left in image.info: both
    # encoders write exactly the metadata passed here.
    kw["comment"] = comment or b""
    out = io.BytesIO()
    image.save(out, format="JPEG", **kw)
    return out.getvalue()


def _jpegli(
    image: Image.Image,
    quality: int,
    progressive: bool,
    exif: bytes | Image.Exif | None,
    icc_profile: bytes | None,
    xmp: bytes | None,
    comment: bytes | str | None,
) -> bytes:
    # Build the segments first: too-long metadata fails before any encoding, as in Pillow.
    segments = metadata_segments(exif=exif, icc_profile=icc_profile, xmp=xmp, comment=comment)
    rgb = image if image.mode == "RGB" else image.convert("RGB")
    data = _loaded["jpegli"].encode(
        rgb.tobytes(), rgb.width, rgb.height, quality=jpegli_quality(quality)
    )
    if progressive:
        # jpegli writes baseline (with optimal Huffman tables); MozJPEG's lossless pass makes
        # it progressive without touching a coefficient.
        data = _loaded["mozjpeg"].optimize(data)
    return _insert_segments(data, segments)


# --- JPEG markers ----------------------------------------------------------------------------

_SOI = b"\xff\xd8"
#: The JFIF APP0 segment libjpeg writes for Pillow (version 1.01, no units, 1:1, no thumbnail).
_JFIF = b"\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
#: A segment's length field counts itself: at most 65533 bytes of data.
_MAX_SEGMENT_DATA = 65533
_XMP_HEADER = b"http://ns.adobe.com/xap/1.0/\x00"
_ICC_HEADER = b"ICC_PROFILE\x00"
#: Profile bytes per APP2 segment: the data limit less the header, sequence number and count.
ICC_CHUNK = _MAX_SEGMENT_DATA - len(_ICC_HEADER) - 2


def _segment(marker: int, data: bytes) -> bytes:
    return bytes((0xFF, marker)) + (len(data) + 2).to_bytes(2, "big") + data


def metadata_segments(
    *,
    exif: bytes | Image.Exif | None = None,
    icc_profile: bytes | None = None,
    xmp: bytes | None = None,
    comment: bytes | str | None = None,
) -> bytes:
    """The APP1 Exif, APP1 XMP, APP2 ICC_PROFILE and COM segments Pillow writes for these
    save() arguments, in its order, with its limits (ValueError: "... is too long"). exif is
    written as given (Image.Exif.tobytes() starts with Pillow's b"Exif\\0\\0")."""
    parts = []
    if exif is not None and not isinstance(exif, bytes | bytearray | memoryview):
        exif = exif.tobytes()  # an Image.Exif
    if exif:
        if len(exif) > _MAX_SEGMENT_DATA:
            raise ValueError("EXIF data is too long")
        parts.append(_segment(0xE1, bytes(exif)))
    if xmp:
        if len(xmp) > _MAX_SEGMENT_DATA - len(_XMP_HEADER):
            raise ValueError("XMP data is too long")
        parts.append(_segment(0xE1, _XMP_HEADER + bytes(xmp)))
    if icc_profile:
        chunks = [icc_profile[i : i + ICC_CHUNK] for i in range(0, len(icc_profile), ICC_CHUNK)]
        if len(chunks) > 255:
            raise ValueError("ICC profile is too long")
        for seq, chunk in enumerate(chunks, 1):
            parts.append(_segment(0xE2, _ICC_HEADER + bytes((seq, len(chunks))) + chunk))
    if comment:
        if isinstance(comment, str):
            comment = comment.encode("utf-8")
        if len(comment) > _MAX_SEGMENT_DATA:
            raise ValueError("Comment is too long")
        parts.append(_segment(0xFE, bytes(comment)))
    return b"".join(parts)


def insert_metadata(
    jpeg: bytes,
    *,
    exif: bytes | Image.Exif | None = None,
    icc_profile: bytes | None = None,
    xmp: bytes | None = None,
    comment: bytes | str | None = None,
) -> bytes:
    """jpeg with these metadata segments after its JFIF APP0 (one is added when it has
    none), as Pillow would have written them. The file's own segments stay as they are."""
    segments = metadata_segments(exif=exif, icc_profile=icc_profile, xmp=xmp, comment=comment)
    return _insert_segments(jpeg, segments)


def _insert_segments(jpeg: bytes, segments: bytes) -> bytes:
    if jpeg[:2] != _SOI:
        raise ValueError("not a JPEG file (no SOI marker)")
    at = 2
    while jpeg[at : at + 2] == b"\xff\xe0":  # leading APP0 segments (JFIF, JFXX) stay first
        at += 2 + int.from_bytes(jpeg[at + 2 : at + 4], "big")
    head = jpeg[:at] if at > 2 else _SOI + _JFIF
    return head + segments + jpeg[at:]


# --- lossless JPEG re-optimisation ---------------------------------------------------------------


def optimize_jpeg(data: bytes) -> bytes:
    """data losslessly re-optimised by MozJPEG (jpegtran -optimize -progressive -copy all):
    the same coefficients, so the same decoded pixels, and every marker segment kept. The
    result is always progressive. Returns data itself when MozJPEG is unavailable, cannot
    read it, or does not make it smaller. About 35 ms of CPU per megapixel (ten times
    libjpeg-turbo's encode): meant for the final file, not for every candidate of a search."""
    mozjpeg = _module("mozjpeg")
    if mozjpeg is None:
        return data
    try:
        out = mozjpeg.optimize(data, copy=mozjpeg.COPY_MARKERS.ALL)
    except ValueError:  # MozJPEG could not read it: keep what we have
        return data
    return out if len(out) < len(data) else data


# --- PNG -------------------------------------------------------------------------------------

#: oxipng's levels: 0 (fastest) .. 6 (slowest); 2 is oxipng's default.
PNG_LEVELS = range(7)


def _oxipng() -> Any | None:
    """oxipng, with its rayon pool sized to one thread: rayon reads RAYON_NUM_THREADS once, when
    the pool starts inside the first call, so the variable is set around that call only."""
    global _rayon_sized
    oxipng = _module("oxipng")
    if oxipng is None or _rayon_sized:
        return oxipng
    with _lock:
        if not _rayon_sized:
            before = os.environ.get("RAYON_NUM_THREADS")
            os.environ["RAYON_NUM_THREADS"] = "1"
            try:
                # A tiny PNG: level 1 tries filters in parallel, which starts the pool.
                oxipng.optimize_from_memory(_tiny_png(), level=1, force=True)
            except Exception:  # noqa: BLE001 - the real call reports its own errors
                pass
            finally:
                if before is None:
                    del os.environ["RAYON_NUM_THREADS"]
                else:
                    os.environ["RAYON_NUM_THREADS"] = before
            _rayon_sized = True
    return oxipng


def _tiny_png() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (4, 4), (1, 2, 3)).save(out, format="PNG")
    return out.getvalue()


def _has_chunk(png: bytes, name: bytes) -> bool:
    """Whether the PNG has a chunk of this type before its image data."""
    at = 8
    while at + 8 <= len(png):
        kind = png[at + 4 : at + 8]
        if kind == name:
            return True
        if kind == b"IDAT":
            return False
        at += 12 + int.from_bytes(png[at : at + 4], "big")
    return False


def optimize_png(data: bytes, level: int = 2) -> bytes:
    """data losslessly re-compressed by oxipng at level (0..6): the same pixels, every chunk
    kept (no stripping), interlacing unchanged, transparent pixels' colours unchanged. A PNG
    with an ICC profile is never reduced to greyscale (oxipng 9 would keep the RGB profile on
    a greyscale image, which decoders reject). Returns data itself when oxipng is unavailable,
    fails, or does not make it smaller."""
    if level not in PNG_LEVELS:
        raise ValueError(f"oxipng level must be 0..6, not {level}")
    oxipng = _oxipng()
    if oxipng is None:
        return data
    try:
        out = oxipng.optimize_from_memory(
            data,
            level=level,
            strip=oxipng.StripChunks.none(),
            interlace=None,
            optimize_alpha=False,
            grayscale_reduction=not _has_chunk(data, b"iCCP"),
        )
    except Exception:  # noqa: BLE001 - oxipng.PngError, or a panic surfacing as another type
        return data
    return out if len(out) < len(data) else data


def quantize(image: Image.Image, colors: int, *, dither: float = 1.0) -> Image.Image:
    """image as a palette ("P") image of at most `colors` colours (2..256), transparency kept
    (the palette carries alpha where the image has any). By libimagequant (speed 4, its
    default, with Floyd-Steinberg dithering at `dither`, 0..1); without it, by Pillow: median
    cut for opaque images, fast octree for ones with alpha (the only Pillow method that keeps
    it), neither dithered. Metadata is the caller's (image.info is not copied). image is in an
    8-bit mode: Pillow's conversion to RGBA clamps 16-bit values, so reduce those first."""
    from PIL import Image

    if not 1 <= colors <= 256:
        raise ValueError(f"colors must be 1..256, not {colors}")
    rgba = image if image.mode == "RGBA" else image.convert("RGBA")
    alpha = rgba.getchannel("A").getextrema()[0] < 255
    iq = _module("imagequant")
    if iq is None:
        if alpha:
            return rgba.quantize(colors, method=Image.Quantize.FASTOCTREE)
        rgb = image if image.mode == "RGB" else rgba.convert("RGB")
        return rgb.quantize(colors, method=Image.Quantize.MEDIANCUT)
    indices, palette = iq.quantize_raw_rgba_bytes(
        rgba.tobytes(), rgba.width, rgba.height, dithering_level=dither, max_colors=colors
    )
    out = Image.frombytes("P", rgba.size, indices)
    if alpha:
        out.putpalette(palette, rawmode="RGBA")
    else:  # opaque: an RGB palette, so that no tRNS chunk is written
        out.putpalette([v for i, v in enumerate(palette) if i % 4 != 3], rawmode="RGB")
    return out


if __name__ == "__main__":
    for _name, _version in available().items():
        print(f"{_name:14} {_version or 'not available: ' + UNAVAILABLE.get(_name, '?')}")
