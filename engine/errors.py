"""Errors in the user's words: every exception a conversion can meet becomes one short line
("file is truncated or damaged", "disk full: ..."), and a dead worker's exit code a phrase.

The traceback travels beside the line, for the log and the report, never instead of it.
"""

from __future__ import annotations

import errno
import os
import re
import signal
from typing import TYPE_CHECKING

from .i18n import _

if TYPE_CHECKING:
    from .job import Job


class ConversionError(Exception):
    """A failure whose message is already written for the user."""


def describe_error(
    exc: BaseException, job: Job | None = None, stage: str = "read", tmp: str | None = None
) -> str:
    """A one-line message a user understands. stage says where it happened: "read" (opening
    and decoding the source), "write" (encoding the output) or "publish"."""
    from PIL import Image, UnidentifiedImageError  # loaded already wherever files convert

    if isinstance(exc, ConversionError):
        return str(exc)
    if isinstance(exc, Image.DecompressionBombError):
        m = re.search(r"\((\d+) pixels\).*?limit of (\d+)", str(exc))
        if m:
            px, lim = int(m.group(1)), int(m.group(2))
            return _(
                "image is {megapixels} megapixels, above the {limit} megapixel safety limit "
                "(possible decompression bomb)"
            ).format(megapixels=f"{px / 1e6:.0f}", limit=f"{lim / 1e6:.4g}")
        return _("image is too large (possible decompression bomb)")
    if isinstance(exc, UnidentifiedImageError):
        return _("not an image, or a format Pixmill cannot read")
    if isinstance(exc, MemoryError):
        return _("not enough memory to convert this image")
    if isinstance(exc, KeyboardInterrupt | SystemExit):
        return _("cancelled")
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
        return _("file is damaged or unsupported: {error}").format(error=text)
    if job is None:
        return _("could not write the output file: {error}").format(error=text)
    return _("could not write the {format} file: {error}").format(
        format=job.format.upper(), error=text
    )


def _full_disk_reason(exc: BaseException, job: Job | None, tmp: str | None) -> str | None:
    """Encoders (libtiff above all) often hide ENOSPC/EFBIG behind their own messages: ask the
    file system whether the disk or the file-size limit is the real reason."""
    code = getattr(exc, "errno", None)
    if code == errno.ENOSPC:
        return _disk_full()
    if code == errno.EFBIG:
        return _too_large()
    folder = os.path.dirname(job.target) if job is not None else None
    if folder:
        try:
            vfs = os.statvfs(folder)
            if vfs.f_bavail * vfs.f_frsize < (1 << 20):
                return _disk_full()
        except (OSError, AttributeError):
            pass
    if tmp:
        try:
            import resource

            soft = resource.getrlimit(resource.RLIMIT_FSIZE)[0]
            if soft != resource.RLIM_INFINITY and os.path.getsize(tmp) >= soft - 65536:
                return _too_large()
        except (ImportError, OSError, ValueError):
            pass
    return None


def _disk_full() -> str:
    return _("disk full: no space left for the output")


def _too_large() -> str:
    return _("output file too large for the destination (file size limit)")


def _describe_os_error(exc: OSError) -> str:
    text = str(exc)
    low = text.lower()
    if "truncated" in low or "broken data stream" in low or "premature end" in low:
        return _("file is truncated or damaged")
    code = exc.errno
    name = exc.filename or ""
    if code == errno.ENOSPC:
        return _disk_full()
    if code == errno.EFBIG:
        return _too_large()
    if code in (errno.EACCES, errno.EPERM):
        return _("permission denied: {path}").format(path=name) if name else _("permission denied")
    if code == errno.EROFS:
        return _("the output drive is read-only")
    if code == errno.ENOENT:
        if name:
            return _("file or folder not found (moved or deleted?): {path}").format(path=name)
        return _("not found")
    if code == errno.ENOMEM:
        return _("not enough memory to convert this image")
    if code is not None and exc.strerror:
        # The system's own words (strerror follows the C library's locale, not ours).
        return f"{exc.strerror}: {name}" if name else exc.strerror
    if text:
        return _("cannot read or write the image: {error}").format(error=text)
    return _("input/output error")


def how_it_ended(exitcode: int | None) -> str:
    """A dead worker's exit, for a message: " (killed by SIGKILL)", " (exit code 3)" or ""."""
    if exitcode is not None and exitcode < 0:
        try:
            return _(" (killed by {signal})").format(signal=signal.Signals(-exitcode).name)
        except ValueError:
            return _(" (signal {number})").format(number=-exitcode)
    return _(" (exit code {code})").format(code=exitcode) if exitcode else ""
