"""Frames: an animation's frames or a document's pages, read once and brought to one size where
the output needs it.

Animations (GIF, APNG, WebP) whose frames differ in size (a GIF frame reaching beyond its
logical screen makes Pillow grow the picture mid-way) are placed top-left on a canvas as big as
the largest frame, as a browser shows them. Pages of a document (a multi-page TIFF scan) keep
their own sizes where the output holds pages of different sizes (TIFF); for an animated output
(WebP, GIF) each page is scaled to fit the first page's size and centred on the background, so
the file stays one output per source and nothing is cropped.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

from PIL import Image

from . import metadata, pixels
from .geometry import plan_geometry
from .i18n import _
from .recipe import Recipe, parse_color

#: Pillow formats whose frames are an animation (timed, drawn over one canvas).
_ANIMATIONS = frozenset({"GIF", "PNG", "WEBP", "AVIF", "FLI", "JXL"})


class BrokenAnimation(Exception):
    """An animation whose later frames cannot be read, though its still image can."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class Frame:
    image: Image.Image
    duration: int = 100


@dataclass
class Sequence:
    """The frames of one source, decoded."""

    frames: list[Frame] = field(default_factory=list)
    loop: int = 0
    animation: bool = True


def read_frames(im: Image.Image, check: Callable[[Image.Image], None]) -> Sequence:
    """Decode every frame of im (check() is called with each before it is decoded). A PNG
    whose animation breaks after its first frame raises BrokenAnimation."""
    sequence = Sequence(loop=im.info.get("loop", 0), animation=im.format in _ANIMATIONS)
    default = im.info.get("duration", 100)
    n = 0
    while True:
        try:
            if n:
                im.seek(n)
            check(im)
            im.load()
        except EOFError:
            break
        except Exception as exc:
            if im.format == "PNG":
                if str(exc):
                    why = _("frame {number}: {error}").format(number=n + 1, error=exc)
                else:
                    why = _("frame {number}").format(number=n + 1)
                raise BrokenAnimation(why) from exc
            raise
        duration = im.info.get("duration", default)
        sequence.frames.append(Frame(im.copy(), int(duration) if duration else default))
        n += 1
        if n >= getattr(im, "n_frames", 1):
            break
    if not sequence.frames:
        raise BrokenAnimation(_("no frame could be read"))
    return sequence


def render_frames(
    sequence: Sequence, recipe: Recipe, fmt: str, orientation: int, icc: bytes | None
) -> tuple[list[Image.Image], bytes | None]:
    """Every frame rendered for fmt (resized, turned, in fmt's mode), all of one size unless
    the output holds pages of different sizes (TIFF). Returns the frames and their profile."""
    images = [f.image for f in sequence.frames]
    sizes = {im.size for im in images}
    if len(sizes) > 1 and fmt != "tiff":
        images = _one_size(images, sequence.animation, recipe)
    out: list[Image.Image] = []
    icc_out = icc
    for image in images:
        geometry = plan_geometry(image.size, recipe.resize, orientation)
        rendered, icc_out = pixels.render(image, recipe, fmt, geometry, icc)
        out.append(metadata.detach(rendered))
    return out, icc_out


def _one_size(images: list[Image.Image], animation: bool, recipe: Recipe) -> list[Image.Image]:
    if animation:
        width = max(im.width for im in images)
        height = max(im.height for im in images)
        warnings.warn(
            _("frames of different sizes placed on a {width}x{height} canvas").format(
                width=width, height=height
            ),
            stacklevel=3,
        )
        return [_on_canvas(im, (width, height), None, (0, 0, 0, 0)) for im in images]
    size = images[0].size
    warnings.warn(
        _("pages of different sizes scaled to fit the first page's {width}x{height}").format(
            width=size[0], height=size[1]
        ),
        stacklevel=3,
    )
    background = (*parse_color(recipe.background), 255)
    return [_on_canvas(im, size, size, background) for im in images]


def _on_canvas(
    im: Image.Image,
    size: tuple[int, int],
    fit: tuple[int, int] | None,
    background: tuple[int, int, int, int],
) -> Image.Image:
    """im on a transparent (or background-coloured) RGBA canvas of size: top-left as it is,
    or scaled to fit and centred when fit is given."""
    if im.size == size:
        return im
    rgba = im.convert("RGBA")
    left = top = 0
    if fit is not None:
        scale = min(fit[0] / im.width, fit[1] / im.height)
        new = (max(1, round(im.width * scale)), max(1, round(im.height * scale)))
        rgba = rgba.resize(new, Image.Resampling.LANCZOS)
        left, top = (size[0] - new[0]) // 2, (size[1] - new[1]) // 2
    canvas = Image.new("RGBA", size, background)
    canvas.paste(rgba, (left, top))
    return canvas
