"""convert_one(job) -> result dict: the pure function a worker runs for one file.

Reads, orients, resizes (fast JPEG draft / reduce paths first), converts modes, keeps the
metadata the recipe asks for and writes the output atomically. Every failure becomes a short
message a user understands plus the traceback text for the log. No Qt here, ever.
"""

from __future__ import annotations

import errno
import io
import math
import os
import re
import stat
import time
import traceback
import warnings
from dataclasses import dataclass
from typing import Any

from PIL import Image, UnidentifiedImageError

from .recipe import Recipe, Resize, parse_color
from .report import make_result
from .scan import TEMP_PREFIX, TEMP_SUFFIX, Job, renamed

# Pillow warns between 1x and 2x MAX_IMAGE_PIXELS and raises above 2x; the 2x line is ours.
warnings.simplefilter("ignore", Image.DecompressionBombWarning)

_RESAMPLE = {
    "lanczos": Image.Resampling.LANCZOS,
    "bicubic": Image.Resampling.BICUBIC,
    "bilinear": Image.Resampling.BILINEAR,
    "nearest": Image.Resampling.NEAREST,
}
_PIL_FORMAT = {
    "jpeg": "JPEG",
    "png": "PNG",
    "webp": "WEBP",
    "avif": "AVIF",
    "tiff": "TIFF",
    "bmp": "BMP",
    "gif": "GIF",
}
_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
_SWAPS_AXES = frozenset({5, 6, 7, 8})
_ORIENTATION_TAG = 0x0112
_GPS_IFD_TAG = 0x8825
_NO_ALPHA = frozenset({"jpeg", "bmp"})
_MULTI_FRAME = frozenset({"gif", "webp", "tiff"})
_JPEG_FAMILY = frozenset({"JPEG", "MPO"})  # Pillow formats that libjpeg decodes (draft, YCbCr)
_ONE_PICTURE = frozenset({"JPEG", "MPO", "PSD"})  # their extra frames are not a sequence
_KEEPS_EXIF = frozenset({"jpeg", "png", "webp", "avif", "tiff"})
_KEEPS_ICC = frozenset({"jpeg", "png", "webp", "avif", "tiff"})
_MAX_SIDE = {"webp": 16383, "jpeg": 65500, "gif": 65535, "avif": 65536}
_SIXTEEN_BIT = frozenset({"I;16", "I;16B", "I;16L", "I;16N", "I"})
# TIFF tags that describe pixel storage, not the picture (TIFF 6.0 baseline + extensions),
# plus XMP, Photoshop and ICC blocks which travel separately or not at all.
_LAYOUT_TAGS = frozenset(
    {254, 255, 256, 257, 258, 259, 262, 263, 266, 273, 277, 278, 279, 280, 281, 284, 288, 289}
    | {290, 291, 292, 293, 317, 318, 319, 320, 321, 322, 323, 324, 325, 330, 332, 338, 339}
    | {340, 341, 347, 513, 514, 515, 529, 530, 531, 532, 700, 34377, 34675, 37724}
)
_INFO_METADATA = ("icc_profile", "exif", "xmp", "XML:com.adobe.xmp", "comment", "photoshop")
_XMP_ORIENTATION = re.compile(rb"(tiff:Orientation(?:=\"|>))\d")


@dataclass
class WorkerContext:
    """Per-process settings a pool's initializer fills in."""

    temp_tag: str = ""
    cancel: Any = None  # a multiprocessing Event, or None
    #: Called with a summary of the finished temp file just before it is published, so a
    #: supervisor can tell after a crash whether the output landed (see engine.recovery).
    announce: Any = None
    #: Called with the final path right after publishing (fault injection only).
    published: Any = None


CONTEXT = WorkerContext()


class ConversionError(Exception):
    """A failure whose message is already written for the user."""


# --- geometry --------------------------------------------------------------------------------
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


def _orientation(im: Image.Image) -> int:
    try:
        value = int(im.getexif().get(_ORIENTATION_TAG, 1))
    except Exception:  # a broken EXIF block must not stop the conversion
        return 1
    return value if value in _TRANSPOSE else 1


def probe_output_size(path: str, recipe: Recipe) -> tuple[int, int]:
    """The output size a recipe would give this file, reading only its header; (0, 0) when
    the file cannot be read (the conversion itself will then report why)."""
    try:
        with Image.open(path) as im:
            w, h = im.size
            orient = _orientation(im) if recipe.auto_orient else 1
    except Exception:
        return 0, 0
    if orient in _SWAPS_AXES:
        w, h = h, w
    tw, th, _ = target_geometry(w, h, recipe.resize)
    return tw, th


# --- pixels ----------------------------------------------------------------------------------
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
            return (im if mode == "I;16" else im.convert("I;16")), icc
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
    if fmt in _NO_ALPHA:
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


def _stored_geometry(
    raw_size: tuple[int, int], recipe: Recipe, orientation: int
) -> tuple[tuple[int, int], tuple[float, float] | None, float]:
    """target_geometry for the upright picture, given back in the stored orientation (we
    resize there and turn the small result, not the big source): the output size before
    turning, the fill crop in source pixels or None, and the scale from source to output."""
    swaps = orientation in _SWAPS_AXES
    rw, rh = raw_size
    up_w, up_h = (rh, rw) if swaps else (rw, rh)
    out_w, out_h, crop = target_geometry(up_w, up_h, recipe.resize)
    size = (out_h, out_w) if swaps else (out_w, out_h)
    if crop is None:
        return size, None, 1.0
    return size, ((crop[1], crop[0]) if swaps else crop), out_w / crop[0]


def _resize_plan(
    size: tuple[int, int], recipe: Recipe, orientation: int, raw_size: tuple[int, int]
) -> tuple[tuple[int, int], tuple[float, float, float, float] | None]:
    """The output size before turning, and the fill crop as a box in the frame's own pixels
    (a drafted frame is smaller than raw_size) or None."""
    out_size, crop, _ = _stored_geometry(raw_size, recipe, orientation)
    if crop is None:
        return out_size, None
    rw, rh = raw_size
    fx, fy = size[0] / rw, size[1] / rh
    cw, ch = crop
    left, top = (rw - cw) / 2 * fx, (rh - ch) / 2 * fy
    return out_size, (left, top, left + cw * fx, top + ch * fy)


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


def _planar_ok(im: Image.Image, recipe: Recipe, fmt: str, orientation: int) -> bool:
    """The JPEG -> resized JPEG path that never leaves YCbCr (see _render_planar)."""
    if fmt != "jpeg" or im.format not in _JPEG_FAMILY or im.mode != "RGB":
        return False
    if not _stored_as_ycbcr(im):  # an Adobe JPEG stored as RGB
        return False
    size, crop, _ = _stored_geometry(im.size, recipe, orientation)
    return crop is not None or size != im.size


def _render_planar(
    frame: Image.Image,
    recipe: Recipe,
    orientation: int,
    size: tuple[int, int],
    box: tuple[float, float, float, float] | None,
) -> Image.Image:
    """Resize a YCbCr-decoded JPEG for a 4:2:0 JPEG output, plane by plane.

    The encoder will average every 2x2 block of chroma, so full-size chroma is wasted work:
    luma is resized to the output size, chroma to half of it, and each chroma sample is
    then repeated over its 2x2 block, which the encoder averages back to exactly that
    sample. One full-size plane instead of three, and no colour conversion
    on either side. For odd sizes the half-size chroma grid is stretched over the whole
    output, so it drifts by at most one pixel at the far edge."""
    resample = _RESAMPLE[recipe.resize.filter]
    tw, th = size
    shrinking = tw < frame.width and th < frame.height
    op = _TRANSPOSE.get(orientation)
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


def _render(
    frame: Image.Image,
    recipe: Recipe,
    fmt: str,
    orientation: int,
    icc: bytes | None,
    raw_size: tuple[int, int],
    planar: bool = False,
) -> tuple[Image.Image, bytes | None]:
    """One frame: mode, resize (with the fill crop), orientation, target mode.

    raw_size is the frame's full size before any JPEG draft, so a drafted frame keeps the
    right crop box."""
    (tw, th), box = _resize_plan(frame.size, recipe, orientation, raw_size)
    if planar:
        return _render_planar(frame, recipe, orientation, (tw, th), box), icc
    im, icc = _normalise_mode(frame, fmt, icc)
    if box is not None or (tw, th) != im.size:
        resample = _RESAMPLE[recipe.resize.filter]
        shrinking = tw < im.width and th < im.height
        im = im.resize(
            (tw, th), resample, box=box, reducing_gap=3.0 if shrinking and box is None else None
        )
    if orientation != 1:
        im = im.transpose(_TRANSPOSE[orientation])
    im = _output_mode(im, fmt, parse_color(recipe.background))
    if im is frame and hasattr(frame, "fp"):
        # Unchanged pixels: wrap them in a plain Image (no copy) so encoders that inspect
        # frames (AVIF, WebP) never seek in the source file object (a flat PSD has 0).
        im = frame._new(frame.im)
    # Pillow's encoders fall back to im.info for profiles and comments: only what
    # _metadata_kwargs passes explicitly may reach the output.
    for key in _INFO_METADATA:
        im.info.pop(key, None)
    return im, icc


# --- metadata --------------------------------------------------------------------------------
def _portable_exif(exif: Image.Exif) -> Image.Exif:
    """Drop the tags that describe a TIFF source's own pixel layout (size, strips,
    compression, embedded profiles): copied into an output they corrupt it."""
    for tag in [t for t in exif if t in _LAYOUT_TAGS]:
        del exif[tag]
    return exif


def _metadata_kwargs(
    src: Image.Image, recipe: Recipe, fmt: str, icc: bytes | None, oriented: bool
) -> dict[str, Any]:
    kw: dict[str, Any] = {}
    if recipe.keep_icc and icc and fmt in _KEEPS_ICC:
        kw["icc_profile"] = icc
    if recipe.metadata == "strip":
        return kw
    if fmt in _KEEPS_EXIF:
        try:
            exif = _portable_exif(src.getexif())
            if len(exif):
                if oriented and _ORIENTATION_TAG in exif:
                    exif[_ORIENTATION_TAG] = 1
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
        if fmt in ("jpeg", "webp", "avif"):
            kw["xmp"] = xmp
        elif fmt == "png":
            from PIL.PngImagePlugin import PngInfo

            info = PngInfo()
            info.add_itxt("XML:com.adobe.xmp", xmp.decode("utf-8", "replace"))
            kw["pnginfo"] = info
    return kw


def _encoder_kwargs(recipe: Recipe, fmt: str) -> dict[str, Any]:
    if fmt == "jpeg":
        return {"quality": recipe.quality, "progressive": recipe.progressive}
    if fmt == "webp":
        if recipe.webp_lossless:
            return {"lossless": True, "quality": 80, "method": 4}
        return {"quality": recipe.quality, "method": 4}
    if fmt == "avif":
        return {"quality": recipe.quality}
    if fmt == "png":
        return {"compress_level": recipe.png_compress_level}
    if fmt == "tiff":
        return {"compression": "tiff_lzw"}
    return {}


# --- writing ---------------------------------------------------------------------------------
def _replace(src: str, dst: str) -> None:
    """os.replace, retried briefly on Windows where a scanner may hold the target."""
    for attempt in range(6):
        try:
            os.replace(src, dst)
            return
        except PermissionError:
            if os.name != "nt" or attempt == 5:
                raise
            time.sleep(0.05 * (attempt + 1))


def publish(tmp: str, target: str, policy: str) -> str | None:
    """Move a finished temp file to its final name without ever clobbering a file that
    appeared since planning (unless the policy is overwrite). Returns the final path, or None
    when the skip policy found the target taken."""
    if policy == "overwrite":
        _replace(tmp, target)
        return target
    candidate = target
    for n in range(1, 10000):
        try:
            os.link(tmp, candidate)
        except FileExistsError:
            pass
        except OSError:  # no hard links here (FAT, some network shares): check, then replace
            if not os.path.lexists(candidate):
                _replace(tmp, candidate)
                return candidate
        else:
            os.unlink(tmp)
            return candidate
        if policy == "skip":
            os.unlink(tmp)
            return None
        candidate = renamed(target, n)
    raise ConversionError("could not find a free output name")


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


def _save(im: Image.Image, out: Any, fmt: str, kwargs: dict[str, Any]) -> None:
    try:
        im.save(out, format=_PIL_FORMAT[fmt], **kwargs)
    except RuntimeError:
        # libtiff cannot write EXIF sub-IFDs (GPS, Exif) with compression; Pillow's own
        # writer can, uncompressed. Keeping the metadata asked for beats a smaller file.
        if fmt != "tiff" or "exif" not in kwargs or "compression" not in kwargs:
            raise
        out.seek(0)
        out.truncate()
        kwargs = {k: v for k, v in kwargs.items() if k != "compression"}
        im.save(out, format=_PIL_FORMAT[fmt], **kwargs)


_FOLDERS_MADE: set[str] = set()


def _create_temp(folder: str) -> tuple[int, str]:
    """A new, exclusive temp file in the target folder (made if needed), with the same
    permissions any saved file gets."""
    flags = os.O_RDWR | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    for attempt in range(100):
        if folder not in _FOLDERS_MADE:
            os.makedirs(folder, exist_ok=True)
            _FOLDERS_MADE.add(folder)
        path = os.path.join(
            folder, f"{TEMP_PREFIX}{CONTEXT.temp_tag}{os.urandom(5).hex()}{TEMP_SUFFIX}"
        )
        try:
            return os.open(path, flags, 0o666), path
        except FileExistsError:
            continue
        except FileNotFoundError:
            if attempt:
                raise
            _FOLDERS_MADE.discard(folder)  # removed since: make it again, once
    raise ConversionError("could not create a temporary file in the output folder")


def _open_source(path: str):
    """Open read-only without blocking even if the path is (or became) a FIFO or device,
    and refuse anything that is not a non-empty regular file."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    fd = os.open(path, flags)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise ConversionError("not a regular file")
        if st.st_size == 0:
            raise ConversionError("file is empty")
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def _cancelled() -> bool:
    ev = CONTEXT.cancel
    return ev is not None and ev.is_set()


def convert_one(job: Job) -> dict[str, Any]:
    """Convert one file. Never raises: returns a plain result dict (see engine.report)."""
    t0 = time.perf_counter()
    result = make_result(job.index, job.source, "failed", bytes_in=job.size)
    tmp: str | None = None
    stage = "read"
    try:
        if _cancelled():
            result["status"] = "cancelled"
            return result
        with _open_source(job.source) as fp:
            st = os.fstat(fp.fileno())
            result["bytes_in"] = st.st_size
            frames, kwargs = _decode_and_render(fp, job)
        first = frames[0]
        limit = _MAX_SIDE.get(job.format)
        if limit and max(first.size) > limit:
            raise ConversionError(
                f"output would be {first.width}x{first.height}, larger than "
                f"{job.format.upper()}'s {limit} px limit"
            )
        if len(frames) > 1:
            kwargs.update(save_all=True, append_images=frames[1:])
        stage = "write"
        fd, tmp = _create_temp(os.path.dirname(job.target))
        with os.fdopen(fd, "w+b") as out:
            _save(first, _Output(out), job.format, kwargs)
            out.flush()
            written = os.fstat(out.fileno())
        if job.recipe.keep_dates:
            os.utime(tmp, ns=(st.st_atime_ns, st.st_mtime_ns))
        if _cancelled():
            result["status"] = "cancelled"
            return result
        stage = "publish"
        if CONTEXT.announce is not None:
            CONTEXT.announce(
                {
                    "target": job.target,
                    "inode": [written.st_dev, written.st_ino],
                    "bytes_out": written.st_size,
                    "width": first.width,
                    "height": first.height,
                }
            )
        final = publish(tmp, job.target, job.recipe.on_conflict)
        tmp = None
        if CONTEXT.published is not None:
            CONTEXT.published(final)
        if final is None:
            result.update(status="skipped", error="target appeared while converting")
        else:
            result.update(
                status="ok",
                target=final,
                bytes_out=written.st_size,
                width=first.width,
                height=first.height,
            )
    except BaseException as exc:  # noqa: BLE001 - everything becomes a per-file message
        result["error"] = describe_error(exc, job, stage, tmp)
        result["traceback"] = traceback.format_exc()
        if isinstance(exc, KeyboardInterrupt | SystemExit):
            result["status"] = "cancelled"
    finally:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass
        result["ms"] = round((time.perf_counter() - t0) * 1000.0, 2)
    return result


def _decode_and_render(fp, job: Job) -> tuple[list[Image.Image], dict[str, Any]]:
    recipe, fmt = job.recipe, job.format
    with Image.open(fp) as im:
        orientation = _orientation(im) if recipe.auto_orient else 1
        icc = im.info.get("icc_profile")
        # Frames that are parts of one picture, not a sequence: an MPO (multi-picture JPEG:
        # Android's Ultra HDR, stereo cameras) holds a gain map, depth map or second view,
        # a PSD its layers. Convert the primary picture or the composite, never an animation.
        n_frames = 1 if im.format in _ONE_PICTURE else getattr(im, "n_frames", 1)
        multi = n_frames > 1 and recipe.keep_frames and fmt in _MULTI_FRAME
        raw_size = im.size
        planar = False
        if im.format in _JPEG_FAMILY and not multi:
            planar = _planar_ok(im, recipe, fmt, orientation)
            request = _draft_size(im, recipe, orientation)
            if planar or request:
                im.draft("YCbCr" if planar else im.mode, request)
        meta = _metadata_kwargs(im, recipe, fmt, icc, orientation != 1)
        if not multi:
            im.load()
            out, icc_out = _render(im, recipe, fmt, orientation, icc, raw_size, planar)
            frames = [out]
        else:
            frames, durations = [], []
            icc_out = icc
            from PIL import ImageSequence

            for frame in ImageSequence.Iterator(im):
                frame.load()
                out, icc_out = _render(frame.copy(), recipe, fmt, orientation, icc, frame.size)
                frames.append(out)
                durations.append(frame.info.get("duration", im.info.get("duration", 100)))
            if fmt in ("gif", "webp"):
                meta["duration"] = durations
                meta["loop"] = im.info.get("loop", 0)
    if icc_out != icc:
        if icc_out and recipe.keep_icc and fmt in _KEEPS_ICC:
            meta["icc_profile"] = icc_out
        else:
            meta.pop("icc_profile", None)
    meta.update(_encoder_kwargs(recipe, fmt))
    if planar:
        meta["subsampling"] = "4:2:0"  # what _render_planar's chroma is laid out for
    return frames, meta


def _draft_size(im: Image.Image, recipe: Recipe, orientation: int) -> tuple[int, int] | None:
    """The size to ask libjpeg for, so that it decodes at 1/2, 1/4 or 1/8 scale when the output
    is at most that big; None when no scaled decode helps.

    The request is the exact size the resize step needs (in stored orientation, and for fill
    the size the whole frame must have so that the crop still covers the target)."""
    rw, rh = im.size
    (tw, th), crop, scale = _stored_geometry(im.size, recipe, orientation)
    if crop is not None:
        tw, th = math.ceil(rw * scale), math.ceil(rh * scale)
    if tw * 2 <= rw and th * 2 <= rh:
        return tw, th
    return None


def describe_error(
    exc: BaseException, job: Job | None = None, stage: str = "read", tmp: str | None = None
) -> str:
    """A one-line message a user understands. stage says where it happened: "read" (opening
    and decoding the source), "write" (encoding the output) or "publish"."""
    if isinstance(exc, ConversionError):
        return str(exc)
    if isinstance(exc, Image.DecompressionBombError):
        m = re.search(r"\((\d+) pixels\).*?limit of (\d+)", str(exc))
        if m:
            px, lim = int(m.group(1)), int(m.group(2))
            return (
                f"image is {px / 1e6:.0f} megapixels, above the {lim / 1e6:.0f} megapixel "
                "safety limit (possible decompression bomb)"
            )
        return "image is too large (possible decompression bomb)"
    if isinstance(exc, UnidentifiedImageError):
        return "not an image, or a format Pixmill cannot read"
    if isinstance(exc, MemoryError):
        return "not enough memory to convert this image"
    if isinstance(exc, KeyboardInterrupt | SystemExit):
        return "cancelled"
    if stage != "read":
        full = _full_disk_reason(exc, job, tmp)
        if full:
            return full
    if isinstance(exc, OSError) and (exc.errno is not None or stage == "read"):
        return _describe_os_error(exc)
    text = str(exc) or type(exc).__name__
    if stage == "read":
        # Decoders raise all kinds of things on damaged data (struct.error, RuntimeError,
        # NotImplementedError, ...): to a user they all mean the same.
        return f"file is damaged or unsupported: {text}"
    return f"could not write the {job.format.upper() if job else 'output'} file: {text}"


def _full_disk_reason(exc: BaseException, job: Job | None, tmp: str | None) -> str | None:
    """Encoders (libtiff above all) often hide ENOSPC/EFBIG behind their own messages: ask the
    file system whether the disk or the file-size limit is the real reason."""
    code = getattr(exc, "errno", None)
    if code == errno.ENOSPC:
        return "disk full: no space left for the output"
    if code == errno.EFBIG:
        return "output file too large for the destination (file size limit)"
    folder = os.path.dirname(job.target) if job is not None else None
    if folder:
        try:
            vfs = os.statvfs(folder)
            if vfs.f_bavail * vfs.f_frsize < (1 << 20):
                return "disk full: no space left for the output"
        except (OSError, AttributeError):
            pass
    if tmp:
        try:
            import resource

            soft = resource.getrlimit(resource.RLIMIT_FSIZE)[0]
            if soft != resource.RLIM_INFINITY and os.path.getsize(tmp) >= soft - 65536:
                return "output file too large for the destination (file size limit)"
        except (ImportError, OSError, ValueError):
            pass
    return None


def _describe_os_error(exc: OSError) -> str:
    text = str(exc)
    low = text.lower()
    if "truncated" in low or "broken data stream" in low or "premature end" in low:
        return "file is truncated or damaged"
    code = exc.errno
    name = exc.filename or ""
    if code == errno.ENOSPC:
        return "disk full: no space left for the output"
    if code == errno.EFBIG:
        return "output file too large for the destination (file size limit)"
    if code in (errno.EACCES, errno.EPERM):
        return f"permission denied: {name}" if name else "permission denied"
    if code == errno.EROFS:
        return "the output drive is read-only"
    if code == errno.ENOENT:
        return f"file or folder not found (moved or deleted?): {name}" if name else "not found"
    if code == errno.ENOMEM:
        return "not enough memory to convert this image"
    if code is not None and exc.strerror:
        return f"{exc.strerror}: {name}" if name else exc.strerror
    return f"cannot read or write the image: {text}" if text else "input/output error"


def set_worker_context(temp_tag: str, cancel: Any) -> None:
    CONTEXT.temp_tag = temp_tag
    CONTEXT.cancel = cancel


__all__ = [
    "ConversionError",
    "convert_one",
    "describe_error",
    "probe_output_size",
    "publish",
    "target_geometry",
]
