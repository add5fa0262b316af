"""Small pictures for the window's queue and results: the embedded EXIF thumbnail when it is
big enough, else a reduced decode (JPEG draft at 1/2-1/8 scale, reduce() for other formats),
turned upright. Also the picture's full pixel size, read from its header.

For display only: no output file is ever made here. No Qt: the window turns the RGB bytes
into a QImage on its own thread.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PIL.Image import Image as PILImage

#: EXIF IFD1 tags: where the embedded JPEG thumbnail starts and how long it is.
_THUMB_OFFSET, _THUMB_LENGTH = 0x0201, 0x0202
_ORIENTATION = 0x0112


@dataclass(frozen=True)
class Thumbnail:
    """An upright RGB thumbnail (rgb: width*height*3 bytes, rows packed) and the full
    picture's upright pixel size (0, 0 when the header did not say)."""

    width: int
    height: int
    rgb: bytes
    full_width: int
    full_height: int


def read_thumbnail(path: str, box: int) -> Thumbnail:
    """A thumbnail that fits in box x box pixels; raises OSError (or a Pillow error) when the
    file cannot be read."""
    from PIL import Image

    with open_picture(path) as im:
        full = im.size
        orientation = orientation_of(im)
        small = _embedded(im, box) if im.format == "JPEG" else None
        if small is None:
            small = _reduced(im, box)
    if orientation in (5, 6, 7, 8):
        full = (full[1], full[0])
    small = upright(small, orientation)
    small.thumbnail((box, box), Image.Resampling.BILINEAR)
    rgb = _as_rgb(small)
    return Thumbnail(rgb.width, rgb.height, rgb.tobytes(), full[0], full[1])


#: Extensions whose decoder is a plugin (engine.codecs): only these load it. Loading
#: pillow-heif's libraries holds the interpreter for tens of milliseconds, which a window's
#: thumbnail thread must not do for a folder of JPEGs.
_PLUGIN_SUFFIXES = frozenset({".heic", ".heif", ".hif", ".heics", ".heifs", ".jxl"})


def open_picture(path: str) -> PILImage:
    """Image.open(path), with the codec plugins loaded only for the files that need them; a
    camera RAW file opens as the JPEG preview the camera embedded (LibRaw)."""
    from PIL import Image

    from . import codecs
    from .formats import RAW_EXTENSIONS
    from .i18n import _

    suffix = os.path.splitext(path)[1].lower()
    if suffix in RAW_EXTENSIONS:
        with codecs.raw_module().imread(path) as raw:
            thumb = raw.extract_thumb()
        if thumb.format.name != "JPEG":
            raise ValueError(_("the RAW file has no JPEG preview"))
        return Image.open(io.BytesIO(bytes(thumb.data)))
    if suffix in _PLUGIN_SUFFIXES:
        codecs.register()
    try:
        return Image.open(path)
    except Image.UnidentifiedImageError:
        codecs.register()  # a HEIC or JPEG XL under another name
        return Image.open(path)


def orientation_of(im: PILImage) -> int:
    """The EXIF orientation (1-8) of an open picture; 1 when it has none."""
    try:
        value = int(im.getexif().get(_ORIENTATION, 1))
    except Exception:
        return 1
    return value if 1 <= value <= 8 else 1


def _embedded(im: PILImage, box: int) -> PILImage | None:
    """The EXIF thumbnail (stored in the file's APP1 segment), if it fills most of the box on
    its long side: reading it costs a few kilobytes instead of a decode (0.6 ms against
    20-60 ms for a reduced decode of a camera's photo, measured here)."""
    from PIL import Image

    raw = getattr(im, "info", {}).get("exif")
    if not raw:
        return None
    try:
        from PIL.ExifTags import IFD

        ifd1 = im.getexif().get_ifd(IFD.IFD1)
        start, length = int(ifd1.get(_THUMB_OFFSET, 0)), int(ifd1.get(_THUMB_LENGTH, 0))
        tiff = raw[6:] if raw.startswith(b"Exif\x00\x00") else raw
        if not start or not length or start + length > len(tiff):
            return None
        thumb = Image.open(io.BytesIO(tiff[start : start + length]))
        if max(thumb.size) < box * 3 // 4:
            return None
        thumb.load()
        return _same_shape(thumb, im.size)
    except Exception:
        return None


def _same_shape(thumb: PILImage, size: tuple[int, int]) -> PILImage:
    """thumb cropped (centred) to the shape of a size picture: cameras store a 4:3 thumbnail
    of a 3:2 photo with black bars above and below."""
    tw, th = thumb.size
    w, h = size
    if abs(tw * h - th * w) <= 0.02 * tw * h:
        return thumb
    if tw * h > th * w:  # the thumbnail is wider: keep its full height
        cw = max(1, round(th * w / h))
        return thumb.crop(((tw - cw) // 2, 0, (tw - cw) // 2 + cw, th))
    ch = max(1, round(tw * h / w))
    return thumb.crop((0, (th - ch) // 2, tw, (th - ch) // 2 + ch))


def _reduced(im: PILImage, box: int) -> PILImage:
    """Decode at the smallest scale that still covers box (libjpeg's draft for JPEG)."""
    w, h = im.size
    scale = box / max(w, h, 1)
    want = (max(1, round(w * scale)), max(1, round(h * scale)))
    if im.format == "JPEG":
        im.draft("RGB", want)
    im.load()
    factor = int(min(im.size[0] / want[0], im.size[1] / want[1]))
    if factor >= 2:
        return im.reduce(factor)
    return im.copy()


def upright(im: PILImage, orientation: int) -> PILImage:
    """im turned as its EXIF orientation (1-8) says (the main picture's tag: an embedded or
    reduced picture does not always carry it)."""
    from PIL import Image

    t = Image.Transpose
    turn = {
        2: t.FLIP_LEFT_RIGHT,
        3: t.ROTATE_180,
        4: t.FLIP_TOP_BOTTOM,
        5: t.TRANSPOSE,
        6: t.ROTATE_270,
        7: t.TRANSVERSE,
        8: t.ROTATE_90,
    }.get(orientation)
    return im.transpose(turn) if turn is not None else im


def _as_rgb(im: PILImage) -> PILImage:
    """RGB for display; transparency is shown over a light grey."""
    from PIL import Image

    if im.mode == "RGB":
        return im
    if im.mode in ("RGBA", "LA", "PA") or "transparency" in im.info:
        rgba = im.convert("RGBA")
        back = Image.new("RGBA", rgba.size, (200, 200, 200, 255))
        return Image.alpha_composite(back, rgba).convert("RGB")
    if im.mode in ("I;16", "I;16B", "I;16L", "I"):
        return im.point(lambda v: v / 256).convert("RGB")
    return im.convert("RGB")
