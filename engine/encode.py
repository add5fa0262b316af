"""Encoding: each format's save() arguments from the recipe, its size limits, and writing the
frames into the temp file so that a short write can never pass for a finished file.
"""

from __future__ import annotations

import io
from typing import Any

from PIL import Image

from . import pngzip
from .errors import ConversionError
from .formats import OUTPUT
from .i18n import _
from .recipe import Recipe


def encoder_kwargs(recipe: Recipe, fmt: str, planar: bool = False) -> dict[str, Any]:
    """Quality, compression and the like for fmt. planar: the pixels come from the planar
    JPEG path, whose chroma is laid out for 4:2:0."""
    if fmt == "jpeg":
        kw: dict[str, Any] = {"quality": recipe.quality, "progressive": recipe.progressive}
        if planar:
            kw["subsampling"] = "4:2:0"
        return kw
    if fmt == "webp":
        if recipe.webp_lossless:
            return {"lossless": True, "quality": 80, "method": 4}
        return {"quality": recipe.quality, "method": 4}
    if fmt == "avif":
        return {"quality": recipe.quality}
    if fmt == "heic":
        return {"quality": recipe.quality}
    if fmt == "jxl":
        # One thread: the pool already keeps every core busy with a file each. libjxl takes
        # quality 100 only as its lossless mode.
        kw = {"quality": recipe.quality, "effort": 7, "num_threads": 1}
        if recipe.quality >= 100:
            kw["lossless"] = True
        return kw
    if fmt == "png":
        kw = {"compress_level": recipe.png_compress_level}
        if recipe.png_colors:
            kw[PNG_COLORS] = recipe.png_colors
        return kw
    if fmt == "tiff":
        return {"compression": "tiff_lzw"}
    return {}


def check_size(im: Image.Image, fmt: str) -> None:
    """Refuse an output larger than the format can store, before any encoding."""
    limit = OUTPUT[fmt].max_side
    if limit and max(im.size) > limit:
        raise ConversionError(
            _("output would be {width}x{height}, larger than {format}'s {limit} px limit").format(
                width=im.width, height=im.height, format=fmt.upper(), limit=limit
            )
        )


class _Output:
    """The temp file as Pillow sees it: a file without fileno().

    Given a descriptor, Pillow's JPEG, GIF, BMP and plain TIFF encoders write to it from C and
    take a short write for success: when the disk fills up or a file-size limit is reached
    inside the last chunk, the output is silently cut short and would be published as
    converted. Through write(), Python's buffered file finishes a short write or raises why
    it cannot."""

    def __init__(self, f: Any) -> None:
        self._f = f

    def fileno(self) -> int:
        raise io.UnsupportedOperation("fileno")

    def __getattr__(self, name: str) -> Any:
        return getattr(self._f, name)


#: The save() argument that asks for a palette PNG of at most this many colours (Pixmill's
#: own: taken out before Pillow sees the arguments).
PNG_COLORS = "pixmill_png_colors"


def _quantize(im: Image.Image, colors: int) -> Image.Image:
    """im as a palette image of at most colors colours, transparency kept."""
    from . import encoders

    return encoders.quantize(im, colors)


def to_bytes(frames: list[Image.Image], fmt: str, kwargs: dict[str, Any]) -> bytes:
    """The encoded file in memory (a quality search's candidate)."""
    buf = io.BytesIO()
    save(frames, buf, fmt, kwargs)
    return buf.getvalue()


def save(frames: list[Image.Image], f: Any, fmt: str, kwargs: dict[str, Any]) -> None:
    """Encode frames (one, or an animation's or document's frames) into the open binary file
    f, which is left flushed."""
    out = _Output(f)
    colors = kwargs.get(PNG_COLORS)
    if colors:
        kwargs = {k: v for k, v in kwargs.items() if k != PNG_COLORS}
        frames = [_quantize(frame, colors) for frame in frames]
    if len(frames) > 1:
        kwargs = {**kwargs, "save_all": True, "append_images": frames[1:]}
    elif fmt == "png":
        data = pngzip.simple_png(frames[0], kwargs)
        if data is not None:  # Pillow's bytes, without its writer's fixed cost
            out.write(data)
            f.flush()
            return
    pil = OUTPUT[fmt].pil
    try:
        frames[0].save(out, format=pil, **kwargs)
    except RuntimeError:
        # libtiff cannot write EXIF sub-IFDs (GPS, Exif) with compression; Pillow's own
        # writer can, uncompressed. Keeping the metadata asked for beats a smaller file.
        if fmt != "tiff" or "exif" not in kwargs or "compression" not in kwargs:
            raise
        out.seek(0)
        out.truncate()
        kwargs = {k: v for k, v in kwargs.items() if k != "compression"}
        frames[0].save(out, format=pil, **kwargs)
    f.flush()
