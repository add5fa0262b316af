"""What each output format is and can hold, and what "same format" means for a source.

One table read by the recipe (valid formats), naming (extensions,
the `same` mapping), pixels (alpha), metadata (EXIF, ICC) and encode (Pillow's name, limits).
A new format is one row here plus its encoder arguments in encode.py. Pillow-free.
"""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class OutputFormat:
    """One format Pixmill writes."""

    name: str  #: the recipe's value, e.g. "jpeg"
    pil: str  #: Pillow's format name
    extension: str  #: written for this format
    quality: bool = False  #: has a quality setting
    alpha: bool = True  #: can hold transparency
    frames: bool = False  #: can hold an animation or pages
    exif: bool = False
    icc: bool = False
    max_side: int | None = None  #: the widest side the format can store


_TABLE = (
    OutputFormat("jpeg", "JPEG", ".jpg", quality=True, alpha=False, exif=True, icc=True,
                 max_side=65500),
    OutputFormat("png", "PNG", ".png", exif=True, icc=True),
    OutputFormat("webp", "WEBP", ".webp", quality=True, frames=True, exif=True, icc=True,
                 max_side=16383),
    OutputFormat("avif", "AVIF", ".avif", quality=True, exif=True, icc=True, max_side=65536),
    OutputFormat("heic", "HEIF", ".heic", quality=True, exif=True, icc=True),
    # pillow-jxl-plugin writes EXIF and XMP but no ICC profile: pixels are made sRGB first.
    OutputFormat("jxl", "JXL", ".jxl", quality=True, exif=True, max_side=1 << 30),
    OutputFormat("tiff", "TIFF", ".tif", frames=True, exif=True, icc=True),
    OutputFormat("bmp", "BMP", ".bmp", alpha=False),
    OutputFormat("gif", "GIF", ".gif", frames=True, max_side=65535),
)  # fmt: skip

#: Output formats by recipe name.
OUTPUT: dict[str, OutputFormat] = {f.name: f for f in _TABLE}

#: What a recipe's format may be: every output format, "same" (keep the source's), or
#: "auto" (per image, the smallest of JPEG, WebP and AVIF that reaches the quality target).
FORMATS: tuple[str, ...] = (*OUTPUT, "same", "auto")

#: What format "auto" chooses among, per image (JPEG XL is not among them by default).
AUTO_FORMATS = ("jpeg", "webp", "avif")

#: Formats whose quality setting means something.
QUALITY_FORMATS = frozenset(f.name for f in _TABLE if f.quality)

#: File extension written for each output format.
EXTENSIONS: dict[str, str] = {f.name: f.extension for f in _TABLE}

#: Camera RAW extensions LibRaw reads (its supported-cameras list, by file type): read
#: through rawpy, never written.
RAW_EXTENSIONS = frozenset(
    {".dng", ".cr2", ".cr3", ".crw", ".nef", ".nrw", ".arw", ".srf", ".sr2", ".orf", ".rw2"}
    | {".raf", ".pef", ".ptx", ".srw", ".x3f", ".3fr", ".fff", ".iiq", ".mef", ".mos", ".mrw"}
    | {".erf", ".kdc", ".dcr", ".rwl", ".gpr", ".raw", ".rwz", ".bay", ".cap", ".eip", ".k25"}
)

#: Source extension -> output format, for format "same" (others become PNG).
_SAME_FORMAT = {
    ".jpg": "jpeg",
    ".jpeg": "jpeg",
    ".jpe": "jpeg",
    ".jfif": "jpeg",
    ".png": "png",
    ".apng": "png",
    ".webp": "webp",
    ".avif": "avif",
    ".heic": "heic",
    ".heif": "heic",
    ".hif": "heic",
    ".jxl": "jxl",
    ".tif": "tiff",
    ".tiff": "tiff",
    ".bmp": "bmp",
    ".dib": "bmp",
    ".gif": "gif",
}

#: Pillow formats that libjpeg decodes (so draft() and YCbCr planes work).
JPEG_FAMILY = frozenset({"JPEG", "MPO"})
#: Pillow formats whose extra frames are parts of one picture, not a sequence.
ONE_PICTURE = frozenset({"JPEG", "MPO", "PSD", "HEIF"})


def output_format(recipe_format: str, source: str) -> tuple[str, str]:
    """(format, extension) of the output for this source under a recipe's format."""
    if recipe_format == "auto":
        return "auto", ".webp"  # planned as WebP; the worker names it by what it chose
    if recipe_format != "same":
        return recipe_format, EXTENSIONS[recipe_format]
    ext = os.path.splitext(source)[1].lower()
    fmt = _SAME_FORMAT.get(ext)
    if fmt is None:
        # Camera RAW cannot be written: a photograph becomes a JPEG. Anything else Pixmill
        # cannot write becomes a lossless PNG.
        return ("jpeg", ".jpg") if ext in RAW_EXTENSIONS else ("png", ".png")
    return fmt, ext
