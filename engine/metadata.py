"""Metadata: which EXIF, XMP, ICC profile and comment an output keeps, by the recipe and by
what the target format can hold, with the orientation reset once the pixels are upright and
GPS removed when asked. Builds the encoder's keyword arguments; never touches pixels.
"""

from __future__ import annotations

import re
from typing import Any

from PIL import Image

from .formats import OUTPUT
from .geometry import ORIENTATION_TAG
from .recipe import Recipe

_GPS_IFD_TAG = 0x8825
# TIFF tags that describe pixel storage, not the picture (TIFF 6.0 baseline + extensions),
# plus XMP, Photoshop and ICC blocks which travel separately or not at all.
_LAYOUT_TAGS = frozenset(
    {254, 255, 256, 257, 258, 259, 262, 263, 266, 273, 277, 278, 279, 280, 281, 284, 288, 289}
    | {290, 291, 292, 293, 317, 318, 319, 320, 321, 322, 323, 324, 325, 330, 332, 338, 339}
    | {340, 341, 347, 513, 514, 515, 529, 530, 531, 532, 700, 34377, 34675, 37724}
)
# What Pillow's encoders would otherwise copy from im.info on their own.
_INFO_METADATA = ("icc_profile", "exif", "xmp", "XML:com.adobe.xmp", "comment", "photoshop")
_XMP_ORIENTATION = re.compile(rb"(tiff:Orientation(?:=\"|>))\d")


def _portable_exif(exif: Image.Exif) -> Image.Exif:
    """Drop the tags that describe a TIFF source's own pixel layout (size, strips,
    compression, embedded profiles): copied into an output they corrupt it."""
    for tag in [t for t in exif if t in _LAYOUT_TAGS]:
        del exif[tag]
    return exif


def kept_metadata(
    src: Image.Image, recipe: Recipe, fmt: str, icc: bytes | None, oriented: bool
) -> dict[str, Any]:
    """The save() arguments carrying the source's metadata into fmt. oriented: the pixels
    will be turned upright, so the orientation tags must say 1."""
    kw: dict[str, Any] = {}
    target = OUTPUT[fmt]
    if recipe.keep_icc and icc and target.icc:
        kw["icc_profile"] = icc
    if recipe.metadata == "strip":
        return kw
    if target.exif:
        try:
            exif = _portable_exif(src.getexif())
            if len(exif):
                if oriented and ORIENTATION_TAG in exif:
                    exif[ORIENTATION_TAG] = 1
                if recipe.metadata == "strip_location" and _GPS_IFD_TAG in exif:
                    del exif[_GPS_IFD_TAG]
                kw["exif"] = exif.tobytes()
        except Exception:  # unreadable EXIF is dropped rather than failing the file
            pass
    comment = src.info.get("comment")
    if comment and fmt == "jpeg":
        kw["comment"] = comment
    xmp = src.info.get("xmp")
    if isinstance(xmp, str):
        xmp = xmp.encode("utf-8")
    if xmp:
        if recipe.metadata == "strip_location" and b"GPS" in xmp:
            xmp = None
        elif oriented:
            xmp = _XMP_ORIENTATION.sub(rb"\g<1>1", xmp)
    if xmp:
        if fmt in ("jpeg", "webp", "avif", "heic", "jxl"):
            kw["xmp"] = xmp
        elif fmt == "png":
            from PIL.PngImagePlugin import PngInfo

            info = PngInfo()
            info.add_itxt("XML:com.adobe.xmp", xmp.decode("utf-8", "replace"))
            kw["pnginfo"] = info
    return kw


def set_profile(kwargs: dict[str, Any], icc: bytes | None, recipe: Recipe, fmt: str) -> None:
    """The rendered pixels are now described by icc (a CMYK source converted to sRGB): keep
    that profile instead of the source's, where the recipe and the format keep one."""
    if icc and recipe.keep_icc and OUTPUT[fmt].icc:
        kwargs["icc_profile"] = icc
    else:
        kwargs.pop("icc_profile", None)


def detach(im: Image.Image) -> Image.Image:
    """Drop what Pillow's encoders would copy from im.info on their own: only what
    kept_metadata() passes explicitly may reach the output."""
    for key in _INFO_METADATA:
        im.info.pop(key, None)
    return im
