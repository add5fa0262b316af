"""Pixels: bring any decoded mode to one the target format takes (CMYK through its profile,
16-bit scaled, palettes expanded, alpha flattened for JPEG/BMP), and render a frame with its
geometry plan: resize, fill crop, turn upright. Also the planar path for JPEG -> JPEG.

Pure image work on Pillow images; no files and no metadata here.
"""

from __future__ import annotations

import functools
import io

from PIL import Image

from .formats import JPEG_FAMILY, OUTPUT
from .geometry import Geometry
from .recipe import Recipe, parse_color

_RESAMPLE = {
    "lanczos": Image.Resampling.LANCZOS,
    "bicubic": Image.Resampling.BICUBIC,
    "bilinear": Image.Resampling.BILINEAR,
    "nearest": Image.Resampling.NEAREST,
}
#: The transposition that turns a picture stored with an EXIF orientation upright.
TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
_SIXTEEN_BIT = frozenset({"I;16", "I;16B", "I;16L", "I;16N", "I"})

_SRGB: bytes | None = None


def _srgb_bytes() -> bytes:
    from PIL import ImageCms

    global _SRGB
    if _SRGB is None:
        _SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    return _SRGB


def _cmyk_to_rgb(im: Image.Image, icc: bytes | None) -> tuple[Image.Image, bytes | None]:
    """CMYK -> RGB through the embedded profile when there is one. Returns the new image and
    the ICC profile that now describes it."""
    from PIL import ImageCms  # only CMYK sources need colour management

    if icc:
        try:
            src = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            dst = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
            out = ImageCms.profileToProfile(im, src, dst, outputMode="RGB")
            if out is not None:
                return out, _srgb_bytes()
        except (ImageCms.PyCMSError, OSError, ValueError):
            pass
    return im.convert("RGB"), None


@functools.lru_cache(maxsize=32)
def is_srgb(icc: bytes) -> bool:
    """Whether a profile says it is sRGB (by its description: the copies cameras and editors
    embed differ in bytes, not in meaning)."""
    from PIL import ImageCms

    try:
        name = ImageCms.getProfileDescription(ImageCms.ImageCmsProfile(io.BytesIO(icc)))
    except (ImageCms.PyCMSError, OSError, ValueError):
        return False
    return "srgb" in name.lower().replace(" ", "")


def to_srgb(im: Image.Image, icc: bytes | None) -> tuple[Image.Image, bytes | None]:
    """Convert RGB(A) pixels described by a wide-gamut profile (Display P3, Adobe RGB...) to
    sRGB through that profile (relative colorimetric). Returns the image and the profile now
    describing it: Pillow's small sRGB profile, or the old one when nothing was converted."""
    if not icc or im.mode not in ("RGB", "RGBA") or is_srgb(icc):
        return im, icc
    from PIL import ImageCms

    try:
        src = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        if src.profile.xcolor_space.strip() != "RGB":
            return im, icc
        dst = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
        alpha = im.getchannel("A") if im.mode == "RGBA" else None
        rgb = im.convert("RGB") if alpha is not None else im
        out = ImageCms.profileToProfile(
            rgb, src, dst, renderingIntent=ImageCms.Intent.RELATIVE_COLORIMETRIC, outputMode="RGB"
        )
    except (ImageCms.PyCMSError, OSError, ValueError):
        return im, icc
    if out is None:
        return im, icc
    if alpha is not None:
        out.putalpha(alpha)
    return out, _srgb_bytes()


def _sixteen_to_eight(im: Image.Image) -> Image.Image:
    """16-bit (or 32-bit integer) grey to 8 bits by scaling, never by clamping."""
    i32 = im if im.mode == "I" else im.convert("I")
    if im.mode == "I":
        lo, hi = i32.getextrema()
        if lo >= 0 and hi <= 255:  # already 8-bit values in a 32-bit container
            return i32.convert("L")
    return i32.point(lambda v: v * (255 / 65535) + 0.5).convert("L")


def _normalise_mode(
    im: Image.Image, fmt: str, icc: bytes | None
) -> tuple[Image.Image, bytes | None]:
    """Bring any input mode to one that resizes well and that the target can take."""
    mode = im.mode
    if mode == "CMYK":
        return _cmyk_to_rgb(im, icc)
    if mode in ("P", "PA"):
        alpha = mode == "PA" or "transparency" in im.info
        return im.convert("RGBA" if alpha else "RGB"), icc
    if mode == "1":
        return im.convert("L"), icc
    if mode == "La":
        return im.convert("LA"), icc
    if mode == "RGBa":
        return im.convert("RGBA"), icc
    if mode in _SIXTEEN_BIT:
        if fmt in ("png", "tiff"):
            if mode in ("I;16B", "I;16L", "I;16N"):
                # Pillow converts these to I;16 by clamping at 255: go through 32 bits.
                im = im.convert("I")
            return (im if im.mode == "I;16" else im.convert("I;16")), icc
        return _sixteen_to_eight(im), icc
    if mode == "F":
        return im.convert("L"), icc
    if mode not in ("RGB", "RGBA", "L", "LA"):
        return im.convert("RGBA" if "A" in mode else "RGB"), icc
    return im, icc


def _flatten(im: Image.Image, background: tuple[int, int, int]) -> Image.Image:
    base = Image.new("RGB", im.size, background)
    rgba = im.convert("RGBA")
    base.paste(rgba, mask=rgba.getchannel("A"))
    return base


def _output_mode(im: Image.Image, fmt: str, background: tuple[int, int, int]) -> Image.Image:
    mode = im.mode
    has_alpha = mode in ("RGBA", "LA")
    if not OUTPUT[fmt].alpha:
        if has_alpha:
            if im.getchannel("A").getextrema()[0] == 255:
                return im.convert("RGB" if mode == "RGBA" else "L")
            return _flatten(im, background)
        return im if mode in ("RGB", "L") else im.convert("RGB")
    if fmt in ("webp", "avif"):
        if mode == "L":
            return im.convert("RGB")
        if mode == "LA":
            return im.convert("RGBA")
    if fmt == "gif" and mode == "I;16":
        return _sixteen_to_eight(im)
    return im


def _stored_as_ycbcr(im: Image.Image) -> bool:
    """Whether libjpeg can hand this three-component JPEG over as YCbCr planes: the same
    test libjpeg makes (JFIF marker, then Adobe's transform flag, then component ids)."""
    if getattr(im, "layers", 0) != 3:
        return False
    if "jfif" in im.info:
        return True
    if "adobe" in im.info:
        return im.info.get("adobe_transform") == 1
    return [layer[0] for layer in getattr(im, "layer", [])] != [82, 71, 66]  # "R", "G", "B"


def planar_ok(im: Image.Image, fmt: str, geometry: Geometry) -> bool:
    """Whether this JPEG, resized into a JPEG, can take the path that never leaves YCbCr
    (see _render_planar). Asked before the decode, so that libjpeg is told to keep YCbCr."""
    if fmt != "jpeg" or im.format not in JPEG_FAMILY or im.mode != "RGB":
        return False
    if not _stored_as_ycbcr(im):  # an Adobe JPEG stored as RGB
        return False
    return geometry.resizes


def _render_planar(frame: Image.Image, recipe: Recipe, geometry: Geometry) -> Image.Image:
    """Resize a YCbCr-decoded JPEG for a 4:2:0 JPEG output, plane by plane.

    The encoder will average every 2x2 block of chroma, so full-size chroma is wasted work:
    luma is resized to the output size, chroma to half of it, and each chroma sample is
    then repeated over its 2x2 block, which the encoder averages back to exactly that
    sample. One full-size plane instead of three, and no colour conversion
    on either side. For odd sizes the half-size chroma grid is stretched over the whole
    output, so it drifts by at most one pixel at the far edge."""
    resample = _RESAMPLE[recipe.resize.filter]
    size = geometry.size
    box = geometry.box(frame.size)
    tw, th = size
    shrinking = tw < frame.width and th < frame.height
    op = TRANSPOSE.get(geometry.orientation)
    luma, cb, cr = frame.split()
    luma = luma.resize(
        size, resample, box=box, reducing_gap=3.0 if shrinking and box is None else None
    )
    if op is not None:
        luma = luma.transpose(op)
    ow, oh = luma.size
    planes = [luma]
    hw, hh = (tw + 1) // 2, (th + 1) // 2
    full = box if box is not None else (0, 0, frame.width, frame.height)
    # A 2x box average first where the chroma shrinks at least 2x (from a 4:2:0 source this
    # mostly undoes the decoder's upsampling); never more, big boxes would soften it.
    fx = 2 if (full[2] - full[0]) >= 2 * hw else 1
    fy = 2 if (full[3] - full[1]) >= 2 * hh else 1
    cbox = (full[0] / fx, full[1] / fy, full[2] / fx, full[3] / fy)
    for chroma in (cb, cr):
        if fx > 1 or fy > 1:
            chroma = chroma.reduce((fx, fy))
        half = chroma.resize((hw, hh), resample, box=cbox)
        if op is not None:
            half = half.transpose(op)
        planes.append(half.resize((ow, oh), Image.Resampling.NEAREST, box=(0, 0, ow / 2, oh / 2)))
    return Image.merge("YCbCr", planes)


def render(
    frame: Image.Image,
    recipe: Recipe,
    fmt: str,
    geometry: Geometry,
    icc: bytes | None,
    planar: bool = False,
) -> tuple[Image.Image, bytes | None]:
    """One decoded frame, ready for the encoder: mode, resize (with the fill crop), turned
    upright, in a mode fmt takes. Returns the image and the ICC profile that describes it
    (a CMYK source converted to sRGB gets sRGB's)."""
    if planar:
        return _render_planar(frame, recipe, geometry), icc
    tw, th = geometry.size
    box = geometry.box(frame.size)
    im, icc = _normalise_mode(frame, fmt, icc)
    if box is not None or (tw, th) != im.size:
        resample = _RESAMPLE[recipe.resize.filter]
        shrinking = tw < im.width and th < im.height
        im = im.resize(
            (tw, th), resample, box=box, reducing_gap=3.0 if shrinking and box is None else None
        )
    if geometry.orientation != 1:
        im = im.transpose(TRANSPOSE[geometry.orientation])
    if recipe.to_srgb or (icc and not OUTPUT[fmt].icc):
        # Asked for, or the format cannot carry the profile: untagged pixels are read as
        # sRGB, so a wide-gamut source must become sRGB to keep its colours.
        im, icc = to_srgb(im, icc)
    im = _output_mode(im, fmt, parse_color(recipe.background))
    if im is frame and hasattr(frame, "fp"):
        # Unchanged pixels: wrap them in a plain Image (no copy) so encoders that inspect
        # frames (AVIF, WebP) never seek in the source file object (a flat PSD has 0).
        im = frame._new(frame.im)
    return im, icc
