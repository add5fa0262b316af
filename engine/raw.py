"""Camera RAW: a sensor file (DNG, CR2, CR3, NEF, ARW, ORF, RW2, RAF, PEF...) becomes a Pillow
image through LibRaw (rawpy): a real demosaic with the camera's white balance, at half size when
the output is at most half as big, or the full-size JPEG preview the camera embedded when the
recipe asks for it. The camera's EXIF (make, model, exposure, lens, date, GPS) is carried over.

Returns pixels in the sensor's stored orientation with that orientation beside them, so the
geometry resizes first and turns the small result, as it does for JPEG.
"""

from __future__ import annotations

import io
import os
import re
import warnings
from dataclasses import dataclass
from typing import Any

from PIL import Image

from .codecs import RAW_FLIP_ORIENTATION, NotRaw, raw_module, sniff
from .errors import ConversionError
from .geometry import ORIENTATION_TAG, check_pixels, plan_geometry, read_orientation
from .i18n import _
from .recipe import Recipe

#: IFD0 tags that describe the picture rather than the file's storage.
_DESCRIPTIVE = (270, 271, 272, 305, 306, 315, 33432)
_EXIF_IFD, _GPS_IFD = 0x8769, 0x8825
_XMP_TAG = 700
#: Offsets to other IFDs: meaningless once the block is rewritten (Interop, sub-IFDs).
_POINTERS = frozenset({0xA005, 0x8769, 0x8825, 330})


@dataclass
class RawPicture:
    """A decoded RAW: the image, its stored orientation, and what was used to make it."""

    image: Image.Image
    orientation: int
    source: str  #: "demosaic", "demosaic (half size)" or "embedded preview"


def decode(data: bytes, path: str, recipe: Recipe) -> RawPicture:
    """Decode a RAW file's bytes. Raises ConversionError with a message for the user."""
    rawpy = raw_module()
    ext = os.path.splitext(path)[1].lstrip(".").upper() or "RAW"
    try:
        raw = rawpy.imread(io.BytesIO(data))
    except rawpy.LibRawFileUnsupportedError:
        if sniff(data[:32]) not in (None, "raw", "tiff"):
            raise NotRaw() from None
        raise ConversionError(
            _(
                "camera RAW format {format} is not supported (by this file's camera or by LibRaw)"
            ).format(format=ext)
        ) from None
    except rawpy.LibRawError as exc:
        raise ConversionError(
            _("camera RAW file is damaged or unreadable: {error}").format(error=_libraw_text(exc))
        ) from None
    with raw:
        sizes = raw.sizes
        orientation = RAW_FLIP_ORIENTATION.get(sizes.flip, 1)
        width, height = sizes.width, sizes.height
        check_pixels(width, height, recipe.max_megapixels)
        geometry = plan_geometry((width, height), recipe.resize, orientation)
        picture = None
        if recipe.raw_preview:
            picture = _preview(raw, rawpy, geometry.size, orientation)
        if picture is None:
            # Half size only for sizes given in pixels: a percentage is of the full picture.
            half = recipe.resize.mode != "percent" and geometry.draft_request() is not None
            try:
                rgb = raw.postprocess(use_camera_wb=True, half_size=half, user_flip=0, output_bps=8)
            except rawpy.LibRawError as exc:
                raise ConversionError(
                    _("camera RAW data is damaged or unreadable: {error}").format(
                        error=_libraw_text(exc)
                    )
                ) from None
            image = Image.fromarray(rgb, "RGB")
            picture = RawPicture(image, orientation, "demosaic (half size)" if half else "demosaic")
    exif, xmp = _metadata(data)
    # The orientation travels in the EXIF block, where convert_one reads it for every format.
    exif[ORIENTATION_TAG] = picture.orientation
    picture.image.info["exif"] = exif.tobytes()
    # A preview JPEG has read (and Pillow cached) its own stand-in EXIF while opening: forget
    # it, so getexif() reads the camera's block set above.
    picture.image._exif = None
    if xmp and "xmp" not in picture.image.info:
        picture.image.info["xmp"] = xmp
    return picture


def _libraw_text(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return re.sub(r"^b'(.*)'$", r"\1", text)


def _preview(raw: Any, rawpy: Any, needed: tuple[int, int], orientation: int) -> RawPicture | None:
    """The embedded preview, when the camera stored one big enough for the output; None (with
    a warning saying why) otherwise, and the RAW data is demosaiced instead."""
    try:
        thumb = raw.extract_thumb()
    except (rawpy.LibRawNoThumbnailError, rawpy.LibRawUnsupportedThumbnailError):
        warnings.warn(_("no embedded preview in this RAW file: demosaiced instead"), stacklevel=2)
        return None
    except rawpy.LibRawError as exc:
        warnings.warn(
            _("embedded preview unreadable ({error}): demosaiced instead").format(
                error=_libraw_text(exc)
            ),
            stacklevel=2,
        )
        return None
    if thumb.format == rawpy.ThumbFormat.JPEG:
        image = Image.open(io.BytesIO(bytes(thumb.data)))
    else:
        image = Image.fromarray(thumb.data, "RGB")
    # A preview with an orientation of its own says how it is stored (read before decode()
    # replaces its EXIF with the camera's).
    own = read_orientation(image)
    if own != 1:
        orientation = own
    if max(image.size) < 0.9 * max(needed):
        warnings.warn(
            _(
                "the embedded preview is only {width}x{height}, smaller than the output: "
                "demosaiced instead"
            ).format(width=image.width, height=image.height),
            stacklevel=2,
        )
        return None
    return RawPicture(image, orientation, "embedded preview")


def _metadata(data: bytes) -> tuple[Image.Exif, bytes | None]:
    """The camera's EXIF as a portable block (descriptive IFD0 tags, the Exif and GPS IFDs),
    and its XMP, from a TIFF-based RAW's header, a CR3's CMT boxes or a RAF's JPEG. Metadata
    that cannot be read is left out; the pixels still convert."""
    out = Image.Exif()
    if data[4:12] == b"ftypcrx ":
        boxes = [(_cr3_box(data, b"CMT1"), None), (_cr3_box(data, b"CMT2"), _EXIF_IFD)]
        boxes.append((_cr3_box(data, b"CMT4"), _GPS_IFD))
        for body, ifd in boxes:
            tags = _load(body)
            if tags is not None:
                _copy(tags, out, ifd)
        return out, None
    source = _load(_tiff_view(data))
    if source is None:
        return out, None
    _copy(source, out, None)
    for ifd in (_EXIF_IFD, _GPS_IFD):
        try:
            _copy(source.get_ifd(ifd), out, ifd)
        except Exception:  # noqa: BLE001 - a broken sub-IFD is left out
            pass
    xmp = source.get(_XMP_TAG)
    if isinstance(xmp, tuple):
        xmp = bytes(xmp)
    if isinstance(xmp, str):
        xmp = xmp.encode("utf-8")
    return out, (xmp if isinstance(xmp, bytes) and xmp else None)


def _load(body: bytes | None) -> Image.Exif | None:
    if not body:
        return None
    exif = Image.Exif()
    try:
        exif.load(body)
    except Exception:  # noqa: BLE001
        return None
    return exif


def _copy(tags: Any, out: Image.Exif, ifd: int | None) -> None:
    """IFD0's descriptive tags (ifd None), or a whole Exif/GPS IFD without its own pointers."""
    if ifd is None:
        for tag in _DESCRIPTIVE:
            value = tags.get(tag)
            if value not in (None, "", b""):
                out[tag] = value
        return
    sub = {k: v for k, v in dict(tags).items() if k not in _POINTERS}
    if sub:
        out[ifd] = sub


def _tiff_view(data: bytes) -> bytes | None:
    """The file as a TIFF structure Pillow's EXIF reader accepts: TIFF-based RAWs as they are
    (Panasonic and Olympus use their own magic numbers), a RAF's embedded JPEG's EXIF."""
    head = data[:4]
    if head in (b"II*\x00", b"MM\x00*"):
        return data
    if head in (b"IIU\x00", b"IIRO", b"IIRS"):
        return b"II*\x00" + data[4:]
    if head == b"MMOR":
        return b"MM\x00*" + data[4:]
    if data[:15] == b"FUJIFILMCCD-RAW" and len(data) > 92:
        offset = int.from_bytes(data[84:88], "big")
        length = int.from_bytes(data[88:92], "big")
        jpeg = data[offset : offset + length]
        try:
            exif = Image.open(io.BytesIO(jpeg)).info.get("exif")
        except Exception:  # noqa: BLE001
            return None
        if exif and exif.startswith(b"Exif\x00\x00"):
            return exif[6:]
    return None


def _cr3_box(data: bytes, name: bytes) -> bytes | None:
    """The TIFF structure inside one of a CR3's CMT boxes (CMT1: IFD0, CMT2: Exif, CMT4: GPS)."""
    at = data.find(name, 0, 1 << 20)
    if at < 4:
        return None
    size = int.from_bytes(data[at - 4 : at], "big")
    body = data[at + 4 : at - 4 + size]
    return body if body[:4] in (b"II*\x00", b"MM\x00*") else None
