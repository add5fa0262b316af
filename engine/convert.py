"""convert_one(job) -> result dict: the one function that converts a file, wherever it runs
(a pool worker, a cluster worker, the window's preview). It only orchestrates the rooms:

open the source -> geometry plans the frame -> pixels renders it -> metadata says what to keep
-> encode writes a temp file -> publish names it. Every failure becomes a one-line message
(errors) plus the traceback; convert_one never raises.
"""

from __future__ import annotations

import os
import stat
import time
import traceback
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, BinaryIO

from PIL import Image

from . import encode, metadata, pixels
from .errors import ConversionError, describe_error
from .formats import JPEG_FAMILY, ONE_PICTURE, OUTPUT
from .geometry import plan_geometry, read_orientation
from .job import Job
from .publish import create_temp, publish
from .result import job_result

# Pillow warns between 1x and 2x MAX_IMAGE_PIXELS and raises above 2x; the 2x line is ours.
warnings.simplefilter("ignore", Image.DecompressionBombWarning)


@dataclass(frozen=True)
class Hooks:
    """What the process running convert_one gives it; the defaults suit a one-off call.

    temp_tag goes into temp file names (the pool's tag and the worker's pid, so a dead
    worker's leftovers can be swept); cancelled() is polled between steps; announce(info) is
    called with the finished output's target, inode, size and pixel size just before it is
    published (so a supervisor can tell after a crash whether it landed); published(final)
    right after."""

    temp_tag: str = ""
    cancelled: Callable[[], bool] | None = None
    announce: Callable[[dict[str, Any]], None] | None = None
    published: Callable[[str | None], None] | None = None


NO_HOOKS = Hooks()


def convert_one(job: Job, hooks: Hooks = NO_HOOKS) -> dict[str, Any]:
    """Convert one file. Never raises: returns a plain result dict (see engine.result)."""
    t0 = time.perf_counter()
    result = job_result(job, "failed")
    tmp: str | None = None
    stage = "read"
    cancelled = hooks.cancelled or _never
    try:
        if cancelled():
            result["status"] = "cancelled"
            return result
        with _open_source(job.source) as fp:
            st = os.fstat(fp.fileno())
            result["bytes_in"] = st.st_size
            frames, kwargs = _decode_and_render(fp, job)
        first = frames[0]
        encode.check_size(first, job.format)
        stage = "write"
        fd, tmp = create_temp(os.path.dirname(job.target), hooks.temp_tag)
        with os.fdopen(fd, "w+b") as out:
            encode.save(frames, out, job.format, kwargs)
            written = os.fstat(out.fileno())
        if job.recipe.keep_dates:
            os.utime(tmp, ns=(st.st_atime_ns, st.st_mtime_ns))
        if cancelled():
            result["status"] = "cancelled"
            return result
        stage = "publish"
        if hooks.announce is not None:
            hooks.announce(
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
        if hooks.published is not None:
            hooks.published(final)
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


def _never() -> bool:
    return False


def _open_source(path: str) -> BinaryIO:
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


def _decode_and_render(fp: BinaryIO, job: Job) -> tuple[list[Image.Image], dict[str, Any]]:
    """The output's frames, ready to encode, and the save() arguments for them."""
    recipe, fmt = job.recipe, job.format
    with Image.open(fp) as im:
        orientation = read_orientation(im) if recipe.auto_orient else 1
        icc = im.info.get("icc_profile")
        # Frames that are parts of one picture, not a sequence: an MPO (multi-picture JPEG:
        # Android's Ultra HDR, stereo cameras) holds a gain map, depth map or second view,
        # a PSD its layers. Convert the primary picture or the composite, never an animation.
        n_frames = 1 if im.format in ONE_PICTURE else getattr(im, "n_frames", 1)
        multi = n_frames > 1 and recipe.keep_frames and OUTPUT[fmt].frames
        geometry = plan_geometry(im.size, recipe.resize, orientation)
        planar = False
        if im.format in JPEG_FAMILY and not multi:
            planar = pixels.planar_ok(im, fmt, geometry)
            request = geometry.draft_request()
            if planar or request:
                im.draft("YCbCr" if planar else im.mode, request)
        kwargs = metadata.kept_metadata(im, recipe, fmt, icc, orientation != 1)
        if not multi:
            im.load()
            out, icc_out = pixels.render(im, recipe, fmt, geometry, icc, planar)
            frames = [metadata.detach(out)]
        else:
            frames, durations = [], []
            icc_out = icc
            from PIL import ImageSequence

            for frame in ImageSequence.Iterator(im):
                frame.load()
                frame_geometry = plan_geometry(frame.size, recipe.resize, orientation)
                out, icc_out = pixels.render(frame.copy(), recipe, fmt, frame_geometry, icc)
                frames.append(metadata.detach(out))
                durations.append(frame.info.get("duration", im.info.get("duration", 100)))
            if fmt in ("gif", "webp"):
                kwargs["duration"] = durations
                kwargs["loop"] = im.info.get("loop", 0)
    if icc_out != icc:
        metadata.set_profile(kwargs, icc_out, recipe, fmt)
    kwargs.update(encode.encoder_kwargs(recipe, fmt, planar))
    return frames, kwargs
