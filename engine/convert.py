"""convert_one(job) -> result dict: the one function that converts a file, wherever it runs
(a pool worker, a cluster worker, the window's preview). It only orchestrates the rooms:

open the source -> geometry plans the frame -> pixels renders it -> metadata says what to keep
-> encode writes a temp file -> publish names it. Every failure becomes a one-line message
(errors) plus the traceback; convert_one never raises.
"""

from __future__ import annotations

import io
import os
import stat
import time
import traceback
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, BinaryIO

from PIL import Image

from . import codecs, compress, encode, frames, metadata, pixels
from .errors import ConversionError, describe_error
from .formats import EXTENSIONS, JPEG_FAMILY, ONE_PICTURE, OUTPUT
from .geometry import check_pixels, plan_geometry, read_orientation
from .i18n import _
from .job import Job
from .publish import create_temp, publish, sync_data
from .result import job_result

codecs.register()
#: Warnings a file may collect; the rest are counted, not kept.
_MAX_WARNINGS = 20


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
    #: What the C libraries printed on stderr since the last call (a pool worker captures
    #: its stderr so that libtiff's and libjpeg's complaints become the file's warnings).
    stderr: Callable[[], str] | None = None
    #: A small output encoded in memory stays there (Encoded.data) until publish_one writes
    #: it: a pool worker publishes on a thread of its own, and creating a file can wait for
    #: the file system's journal (a commit under way), which the converting thread should not.
    write_later: bool = False


NO_HOOKS = Hooks()


def convert_one(job: Job, hooks: Hooks = NO_HOOKS) -> dict[str, Any]:
    """Convert one file. Never raises: returns a plain result dict (see engine.result)."""
    made = encode_one(job, hooks)
    return made if isinstance(made, dict) else publish_one(made, hooks)


@dataclass
class Encoded:
    """A file converted into its temp file, waiting to be synced and named (publish_one).
    result is its record so far; info what the supervisor is told before the publish. fd:
    the temp file, still open; tmp: its path, None for a file without a name (publish.py).
    Or, with Hooks.write_later, a small file still in memory: data, and the source's times
    when the recipe keeps them (no temp file, fd None, until write_encoded)."""

    job: Job
    result: dict[str, Any]
    fd: int | None
    tmp: str | None
    info: dict[str, Any]
    data: bytes | None = None
    times: tuple[int, int] | None = None


def encode_one(job: Job, hooks: Hooks = NO_HOOKS) -> dict[str, Any] | Encoded:
    """The first half of convert_one: read, render and encode into a temp file beside the
    target. Returns the Encoded file, or the final result when the file failed or the batch
    was cancelled (nothing left behind then). Never raises."""
    t0 = time.perf_counter()
    result = job_result(job, "failed")
    fd: int | None = None
    tmp: str | None = None
    stage = "read"
    said: list[str] = []
    try:
        if (hooks.cancelled or _never)():
            result["status"] = "cancelled"
            return result
        with _collect_warnings(said, hooks):
            with _open_source(job.source) as fp:
                st = fp.st if isinstance(fp, _SmallSource) else os.fstat(fp.fileno())
                result["bytes_in"] = st.st_size
                rendered, kwargs = _decode_and_render(fp, job)
            first = rendered[0]
            encode.check_size(first, job.encoding)
            stage = "write"
            codecs.check_writable(job.encoding)
            target, data = job.target, None
            if job.recipe.searches:
                stage = "encode"
                target, data = _choose(rendered, kwargs, job, st.st_size, result, said)
                stage = "write"
            if (
                data is None
                and st.st_size <= _SMALL
                and first.width * first.height <= _SMALL_PIXELS
            ):
                data = encode.to_bytes(rendered, job.format, kwargs)  # then one write
            times = (st.st_atime_ns, st.st_mtime_ns) if job.recipe.keep_dates else None
            info = {"target": target, "width": first.width, "height": first.height}
            if data is not None and hooks.write_later and len(data) <= _WRITE_LATER:
                info.update(inode=None, bytes_out=len(data))
                return Encoded(job, result, None, None, info, data, times)
            fd, tmp = create_temp(os.path.dirname(job.target), hooks.temp_tag)
            if data is not None:
                written = _write_all(fd, data, times, tmp)
            else:
                with os.fdopen(fd, "w+b", closefd=False) as out:
                    encode.save(rendered, out, job.format, kwargs)
                    out.flush()
                    written = _stamped(fd, times, tmp)
        info.update(inode=[written.st_dev, written.st_ino], bytes_out=written.st_size)
        made = Encoded(job, result, fd, tmp, info)
        fd = tmp = None
        return made
    except BaseException as exc:  # noqa: BLE001 - everything becomes a per-file message
        _failed(result, exc, job, stage, tmp)
        return result
    finally:
        _discard(fd, tmp)
        result["warnings"] = said
        result["ms"] = round((time.perf_counter() - t0) * 1000.0, 2)


def write_encoded(made: Encoded, hooks: Hooks = NO_HOOKS) -> dict[str, Any] | None:
    """A file encode_one left in memory (Hooks.write_later) written into its temp file, as
    encode_one writes the others: None then (made has its fd, tmp and inode now), or the
    file's final result when that failed (nothing left behind). Does nothing for a file
    already written. Never raises."""
    if made.data is None:
        return None
    t0 = time.perf_counter()
    job, result = made.job, made.result
    fd: int | None = None
    tmp: str | None = None
    try:
        fd, tmp = create_temp(os.path.dirname(job.target), hooks.temp_tag)
        written = _write_all(fd, made.data, made.times, tmp)
        made.info["inode"] = [written.st_dev, written.st_ino]
        made.fd, made.tmp, made.data = fd, tmp, None
        fd = tmp = None
        return None
    except BaseException as exc:  # noqa: BLE001 - everything becomes a per-file message
        _failed(result, exc, job, "write", tmp)
        return result
    finally:
        _discard(fd, tmp)
        result["ms"] = round(result["ms"] + (time.perf_counter() - t0) * 1000.0, 2)


def publish_one(made: Encoded, hooks: Hooks = NO_HOOKS, synced: bool = False) -> dict[str, Any]:
    """The second half of convert_one: the temp file's data to the disk (unless the job says
    not to), then its final name (by the policy; replacing for a refresh). A pool worker runs
    this on a thread of its own while it converts the next file, so waiting for the disk
    costs no conversion time. synced: the caller has synced the file system the temp file is
    on since it was written (no sync of its own then). Never raises."""
    failed = write_encoded(made, hooks)
    if failed is not None:
        return failed
    t0 = time.perf_counter()
    job, result, fd, tmp = made.job, made.result, made.fd, made.tmp
    assert fd is not None
    stage = "write"
    try:
        if job.sync and not synced:  # synced: the caller synced it (publish.sync_many)
            sync_data(fd)  # the data is on the disk before the name exists
        if (hooks.cancelled or _never)():
            result["status"] = "cancelled"
            return result
        stage = "publish"
        if hooks.announce is not None:
            hooks.announce(made.info)
        target = made.info["target"]
        policy = "overwrite" if job.replace else job.recipe.on_conflict
        if target != job.target and policy == "overwrite":
            policy = "rename"  # a name the plan did not check: it could be a source's
        final = publish(tmp, target, policy, fd, hooks.temp_tag)
        tmp = None
        if hooks.published is not None:
            hooks.published(final)
        if final is None:
            result.update(status="skipped", error=_("target appeared while converting"))
        else:
            info = made.info
            result.update(
                status="ok",
                target=final,
                bytes_out=info["bytes_out"],
                width=info["width"],
                height=info["height"],
            )
    except BaseException as exc:  # noqa: BLE001 - everything becomes a per-file message
        _failed(result, exc, job, stage, tmp)
    finally:
        _close(fd)
        if tmp is not None:
            _unlink(tmp)
        result["ms"] = round(result["ms"] + (time.perf_counter() - t0) * 1000.0, 2)
    return result


def _choose(
    rendered: list[Image.Image],
    kwargs: dict[str, Any],
    job: Job,
    size_in: int,
    result: dict[str, Any],
    said: list[str],
) -> tuple[str, bytes]:
    """The target and bytes of a job whose encoding is chosen per image (compress.py), or
    the source's own bytes when the output would not be smaller enough."""
    choice = compress.choose(rendered, kwargs, job.encoding, job.recipe)
    for line in choice.warnings:
        _add_warning(said, line)
    result.update(format=choice.format, quality=choice.quality, score=choice.score)
    target = job.target
    if choice.format != job.format:
        target = os.path.splitext(job.target)[0] + EXTENSIONS[choice.format]
    recipe = job.recipe
    if recipe.skip_larger and len(choice.data) >= size_in * (1 - recipe.min_saving / 100):
        why = compress.cannot_keep(job.source, recipe, rendered[0].size)
        if why is None:
            with open(job.source, "rb") as f:
                data = f.read()
            result.update(kept_original=True, format=None, quality=None, score=None)
            return os.path.splitext(target)[0] + os.path.splitext(job.source)[1], data
        if why:  # not the original's format or size: nothing to say, it is not the same
            _add_warning(
                said,
                _("kept the converted file although it is not smaller: {reason}").format(
                    reason=why
                ),
            )
    return target, choice.data


def _failed(
    result: dict[str, Any], exc: BaseException, job: Job, stage: str, tmp: str | None
) -> None:
    result["error"] = describe_error(exc, job, stage, tmp)
    result["traceback"] = traceback.format_exc()
    if isinstance(exc, KeyboardInterrupt | SystemExit):
        result["status"] = "cancelled"


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def _discard(fd: int | None, tmp: str | None) -> None:
    """What is left of a temp file given up on (either may be None): closed, unlinked."""
    if fd is not None:
        _close(fd)
    if tmp is not None:
        _unlink(tmp)


def _close(fd: int) -> None:
    try:
        os.close(fd)
    except OSError:
        pass


@contextmanager
def _collect_warnings(said: list[str], hooks: Hooks) -> Iterator[None]:
    """Keep what the decoders say about this file (Python warnings, and what C libraries
    printed on a captured stderr) as its warnings list, instead of in the user's terminal."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        # Pillow warns between half the limit and the limit: below it, nothing to say.
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            yield
        finally:
            for w in caught:
                _add_warning(said, f"{w.category.__name__}: {w.message}")
            if hooks.stderr is not None:
                for line in hooks.stderr().splitlines():
                    _add_warning(said, line)


def _add_warning(said: list[str], text: str) -> None:
    text = " ".join(text.split())
    if not text or text in said:
        return
    if len(said) < _MAX_WARNINGS:
        said.append(text[:300])
    elif len(said) == _MAX_WARNINGS:
        said.append(_("(more warnings left out)"))


def _never() -> bool:
    return False


#: Sources up to this size are read whole, in one call (Pillow's many small reads and seeks
#: then cost no system calls), and outputs of at most _SMALL_PIXELS from them are encoded in
#: memory and written in one call: many small files are bound by system calls, not pixels.
_SMALL = 256 << 10
_SMALL_PIXELS = 1 << 20


class _SmallSource(io.BytesIO):
    """A small source file, read whole; st: its fstat."""

    def __init__(self, data: bytes, st: os.stat_result) -> None:
        super().__init__(data)
        self.st = st


def _read_whole(fd: int, size: int) -> bytes:
    parts = []
    while size > 0:
        part = os.read(fd, size)
        if not part:
            break  # shorter than it was a moment ago: the decoder will say it is cut short
        parts.append(part)
        size -= len(part)
    return b"".join(parts)


def _write_all(
    fd: int, data: bytes, times: tuple[int, int] | None, tmp: str | None
) -> os.stat_result:
    """data into the new file fd (path tmp, None for a file without a name), every byte or
    an OSError (a short write, on a full disk say, is finished or fails, never taken for
    success); then _stamped."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
    return _stamped(fd, times, tmp)


def _stamped(fd: int, times: tuple[int, int] | None, tmp: str | None) -> os.stat_result:
    """The written file fd given the source's access and modification times (when the recipe
    keeps them); its fstat."""
    if times is not None:
        where: int | str | None = fd if os.utime in os.supports_fd else tmp
        os.utime(where, ns=times)
    return os.fstat(fd)


#: The largest output encode_one leaves in memory for write_encoded (Hooks.write_later): a
#: worker holds at most a few chunks of them (worker._PUBLISH_AHEAD).
_WRITE_LATER = 64 << 10


def _open_source(path: str) -> BinaryIO:
    """Open read-only without blocking even if the path is (or became) a FIFO or device,
    and refuse anything that is not a non-empty regular file. A small file comes back read
    whole (a _SmallSource)."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    fd = os.open(path, flags)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise ConversionError(_("not a regular file"))
        if st.st_size == 0:
            raise ConversionError(_("file is empty"))
        if st.st_size <= _SMALL:  # a regular file: O_NONBLOCK changes nothing for its reads
            source = _SmallSource(_read_whole(fd, st.st_size), st)
            os.close(fd)
            return source
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def _decode_and_render(fp: BinaryIO, job: Job) -> tuple[list[Image.Image], dict[str, Any]]:
    """The output's frames, ready to encode, and the save() arguments for them."""
    if codecs.is_raw_name(job.source):
        try:
            return _render_raw(fp, job)
        except codecs.NotRaw:
            fp.seek(0)  # a JPEG or HEIC named .dng, say: Pillow may know it
    # The decompression-bomb limit is the recipe's. Pillow refuses above twice its
    # MAX_IMAGE_PIXELS as soon as a header is read; a JPEG is let through that check, because
    # it may decode at 1/8 scale in a few megabytes: _check_decode judges it after draft().
    limit = job.recipe.max_megapixels
    Image.MAX_IMAGE_PIXELS = int(limit * 1e6 / 2) if limit else None
    try:
        im = Image.open(fp)
    except Image.DecompressionBombError:
        if _sniff(fp) != "jpeg":
            raise
        fp.seek(0)
        Image.MAX_IMAGE_PIXELS = None
        im = Image.open(fp)
    except Image.UnidentifiedImageError:
        head = _head(fp)
        kind = codecs.sniff(head)
        if kind == "raw":
            fp.seek(0)
            return _render_raw(fp, job)
        if kind == "tiff":  # a TIFF Pillow cannot read may be a camera RAW under another name
            fp.seek(0)
            try:
                return _render_raw(fp, job)
            except (codecs.NotRaw, ConversionError):
                pass
        reason = codecs.unreadable_reason(job.source, head)
        if reason:
            raise ConversionError(reason) from None
        raise
    except RuntimeError as exc:
        # pillow-jxl-plugin decodes while opening and raises libjxl's multi-line text.
        if _sniff(fp) != "jxl":
            raise
        first = str(exc).strip().splitlines()[0].strip().rstrip(".") if str(exc).strip() else ""
        if first:
            why = _("JPEG XL file is damaged or unsupported ({reason})").format(reason=first)
        else:
            why = _("JPEG XL file is damaged or unsupported")
        raise ConversionError(why) from None
    if im.format == "TIFF" and _DNG_VERSION in getattr(im, "tag_v2", {}):
        # A DNG under another name: Pillow would convert its small preview.
        im.close()
        fp.seek(0)
        return _render_raw(fp, job)
    with im:
        try:
            return _render(im, job)
        except frames.BrokenAnimation as exc:
            # An APNG whose animation is broken still has its still image, which is what
            # Pillow and browsers show: convert that and say so.
            warnings.warn(
                _("the animation is broken ({reason}): converted the still image only").format(
                    reason=exc.reason
                ),
                stacklevel=1,
            )
    fp.seek(0)
    with Image.open(fp) as still:
        return _render(still, job, still_only=True)


def _head(fp: BinaryIO) -> bytes:
    """The source's first bytes (only read once a decoder has refused the file)."""
    fp.seek(0)
    return fp.read(32)


def _sniff(fp: BinaryIO) -> str | None:
    return codecs.sniff(_head(fp))


def _render_raw(fp: BinaryIO, job: Job) -> tuple[list[Image.Image], dict[str, Any]]:
    from . import raw  # rawpy (LibRaw, numpy) loads on the first RAW file

    picture = raw.decode(fp.read(), job.source, job.recipe)
    with picture.image as im:
        return _render(im, job)


def _check_decode(im: Image.Image, job: Job) -> None:
    """The recipe's pixel limit on a frame about to be decoded (its size is known from the
    header, and after draft() for a JPEG)."""
    check_pixels(im.width, im.height, job.recipe.max_megapixels)


_DNG_VERSION = 50706  #: the TIFF tag that makes a TIFF a DNG

#: Fewer bytes per pixel than the sparsest complete JPEG holds (about 2 bits per 8x8 block).
_JPEG_MIN_BYTES_PER_PIXEL = 1 / 512


def _check_density(im: Image.Image, job: Job) -> None:
    """A JPEG declaring more pixels than the limit is decoded at reduced size when the output
    is small, but one whose file is far too small to hold those pixels is a bomb (a patched
    header), refused before libjpeg pads gigapixels of missing data."""
    limit = job.recipe.max_megapixels
    declared = im.width * im.height
    if limit and declared > limit * 1e6 and 0 < job.size < declared * _JPEG_MIN_BYTES_PER_PIXEL:
        raise ConversionError(
            _(
                "image declares {megapixels} megapixels in {size} bytes, far too little data "
                "for that (possible decompression bomb)"
            ).format(megapixels=f"{declared / 1e6:.0f}", size=job.size)
        )


def _render(
    im: Image.Image, job: Job, still_only: bool = False
) -> tuple[list[Image.Image], dict[str, Any]]:
    recipe, fmt = job.recipe, job.encoding
    orientation = read_orientation(im) if recipe.auto_orient else 1
    # pillow-heif applies the HEIF container's rotation while decoding and says which it was:
    # the pixels are upright already, but an XMP block may still carry the old orientation.
    turned = im.info.get("original_orientation") not in (None, 1)
    icc = im.info.get("icc_profile")
    # Frames that are parts of one picture, not a sequence: an MPO (multi-picture JPEG:
    # Android's Ultra HDR, stereo cameras) holds a gain map, depth map or second view, a PSD
    # its layers, a HEIF a burst or alternatives next to its primary image. Convert the
    # primary picture or the composite, never an animation.
    n_frames = 1 if still_only or im.format in ONE_PICTURE else getattr(im, "n_frames", 1)
    multi = n_frames > 1 and recipe.keep_frames and OUTPUT[fmt].frames
    kwargs = metadata.kept_metadata(im, recipe, fmt, icc, orientation != 1 or turned)
    if multi:
        sequence = frames.read_frames(im, lambda f: _check_decode(f, job))
        rendered, icc_out = frames.render_frames(sequence, recipe, fmt, orientation, icc)
        if fmt in ("gif", "webp"):
            kwargs["duration"] = [f.duration for f in sequence.frames]
            kwargs["loop"] = sequence.loop
        kwargs.update(encode.encoder_kwargs(recipe, fmt))
    else:
        geometry = plan_geometry(im.size, recipe.resize, orientation)
        planar = False
        if im.format in JPEG_FAMILY:
            _check_density(im, job)
            # The planar path never leaves YCbCr, so it cannot convert colours.
            recolour = (recipe.to_srgb or not OUTPUT[fmt].icc) and icc and not pixels.is_srgb(icc)
            # A quality target may need full-resolution chroma, which the planar path drops.
            planar = (
                not recolour and not recipe.score_target and pixels.planar_ok(im, fmt, geometry)
            )
            request = geometry.draft_request()
            if planar or request:
                im.draft("YCbCr" if planar else im.mode, request)
        _check_decode(im, job)
        im.load()
        out, icc_out = pixels.render(im, recipe, fmt, geometry, icc, planar)
        rendered = [metadata.detach(out)]
        kwargs.update(encode.encoder_kwargs(recipe, fmt, planar))
    if icc_out != icc:
        metadata.set_profile(kwargs, icc_out, recipe, fmt)
    return rendered, kwargs
