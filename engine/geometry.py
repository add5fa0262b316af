"""Geometry: the output size a recipe gives an image, and the one plan per frame that the
decoder (JPEG draft size), pixels (resize, fill crop, turn) and naming ({width}) all read.

Sizes are worked out for the upright picture and handed back in the stored orientation:
Pixmill resizes there and turns the small result, never the big source. Pillow-free at import.
"""

from __future__ import annotations

import functools
import math
import warnings
from dataclasses import dataclass
from typing import Any

from .errors import ConversionError
from .i18n import _
from .recipe import Recipe, Resize

ORIENTATION_TAG = 0x0112
#: EXIF orientations whose upright picture has width and height swapped.
SWAPS_AXES = frozenset({5, 6, 7, 8})
_ORIENTATIONS = frozenset(range(1, 9))


def target_geometry(w: int, h: int, rz: Resize) -> tuple[int, int, tuple[float, float] | None]:
    """Output size for a (w, h) upright image, and the centred crop (in source pixels) that
    fill mode takes first, or None."""
    mode = rz.mode
    if mode == "none":
        return w, h, None
    if mode == "exact":
        tw, th = rz.width, rz.height
        if not rz.upscale and (tw > w or th > h):
            f = min(w / tw, h / th)
            tw, th = max(1, round(tw * f)), max(1, round(th * f))
        return tw, th, None
    if mode == "fill":
        tw, th = rz.width, rz.height
        s = max(tw / w, th / h)
        if not rz.upscale and s > 1:
            f = min(1.0, w / tw, h / th)
            tw, th = max(1, round(tw * f)), max(1, round(th * f))
            s = max(tw / w, th / h)
        crop = (min(w, tw / s), min(h, th / s))
        if abs(crop[0] - w) < 0.5 and abs(crop[1] - h) < 0.5:
            crop = None
        return tw, th, crop
    if mode == "fit":
        s = min(rz.width / w, rz.height / h)
    elif mode == "long_edge":
        s = rz.long_edge / max(w, h)
    else:  # percent
        s = rz.percent / 100.0
    if not rz.upscale:
        s = min(s, 1.0)
    return max(1, round(w * s)), max(1, round(h * s)), None


def check_pixels(width: int, height: int, limit: float) -> None:
    """Refuse a picture that would decode to more than limit megapixels (0: no limit), before
    anything is decoded."""
    megapixels = width * height / 1e6
    if limit and megapixels > limit:
        shown = f"{megapixels:.0f}" if megapixels >= 10 else f"{megapixels:.2g}"
        raise ConversionError(
            _(
                "image is {megapixels} megapixels, above the {limit} megapixel safety limit "
                "(possible decompression bomb; see --max-megapixels or Preferences)"
            ).format(megapixels=shown, limit=f"{limit:g}")
        )


def read_orientation(im: Any) -> int:
    """The EXIF orientation of an open Pillow image (1 when absent or broken)."""
    try:
        value = int(im.getexif().get(ORIENTATION_TAG, 1))
    except Exception:  # a broken EXIF block must not stop the conversion
        return 1
    return value if value in _ORIENTATIONS else 1


@dataclass(frozen=True)
class Geometry:
    """The plan for one frame, in its stored orientation.

    raw_size is the frame's full size before any JPEG draft; size the output size before
    turning; crop the fill crop (width, height) in raw pixels, or None; scale the factor from
    source to output pixels inside the crop."""

    orientation: int
    raw_size: tuple[int, int]
    size: tuple[int, int]
    crop: tuple[float, float] | None
    scale: float

    @property
    def resizes(self) -> bool:
        return self.crop is not None or self.size != self.raw_size

    def box(self, frame_size: tuple[int, int]) -> tuple[float, float, float, float] | None:
        """The fill crop as a box in a frame's own pixels (a drafted frame is smaller than
        raw_size), or None."""
        if self.crop is None:
            return None
        rw, rh = self.raw_size
        fx, fy = frame_size[0] / rw, frame_size[1] / rh
        cw, ch = self.crop
        left, top = (rw - cw) / 2 * fx, (rh - ch) / 2 * fy
        return left, top, left + cw * fx, top + ch * fy

    def draft_request(self) -> tuple[int, int] | None:
        """The size to ask libjpeg for, so that it decodes at 1/2, 1/4 or 1/8 scale when the
        output is at most that big; None when no scaled decode helps. It is the exact size
        the resize needs (for fill, the size the whole frame must have so that the crop still
        covers the target): a square box would often decode at full size."""
        rw, rh = self.raw_size
        tw, th = self.size
        if self.crop is not None:
            tw, th = math.ceil(rw * self.scale), math.ceil(rh * self.scale)
        if tw * 2 <= rw and th * 2 <= rh:
            return tw, th
        return None


def plan_geometry(raw_size: tuple[int, int], resize: Resize, orientation: int) -> Geometry:
    """target_geometry for the upright picture, given back in the stored orientation."""
    swaps = orientation in SWAPS_AXES
    rw, rh = raw_size
    up_w, up_h = (rh, rw) if swaps else (rw, rh)
    out_w, out_h, crop = target_geometry(up_w, up_h, resize)
    size = (out_h, out_w) if swaps else (out_w, out_h)
    if crop is None:
        return Geometry(orientation, raw_size, size, None, 1.0)
    stored_crop = (crop[1], crop[0]) if swaps else crop
    return Geometry(orientation, raw_size, size, stored_crop, out_w / crop[0])


@functools.cache
def _pillow() -> Any:
    """PIL.Image, loaded on first use: only naming templates with {width}/{height} need it
    in the main process."""
    from PIL import Image

    from . import codecs

    codecs.register()
    # Only headers are read here; the recipe's safety limit applies where files decode.
    Image.MAX_IMAGE_PIXELS = None
    return Image


def _is_raw(path: str) -> bool:
    from .codecs import is_raw_name

    return is_raw_name(path)


def probe_output_size(path: str, recipe: Recipe) -> tuple[int, int]:
    """The output size a recipe would give this file, reading only its header; (0, 0) when
    the file cannot be read (the conversion itself will then report why)."""
    Image = _pillow()
    try:
        # The conversion reports what the decoders say about the file; the planning stays
        # quiet (a warning here would land between the progress bar's lines).
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if _is_raw(path):
                from .codecs import raw_size

                w, h, orient = raw_size(path)
            else:
                with Image.open(path) as im:
                    w, h = im.size
                    orient = read_orientation(im)
    except Exception:
        return 0, 0
    if not recipe.auto_orient:
        orient = 1
    if orient in SWAPS_AXES:
        w, h = h, w
    tw, th, _crop = target_geometry(w, h, recipe.resize)
    return tw, th
