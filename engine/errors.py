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
            return (
                f"image is {px / 1e6:.0f} megapixels, above the {lim / 1e6:.4g} megapixel "
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


def how_it_ended(exitcode: int | None) -> str:
    """A dead worker's exit, for a message: " (killed by SIGKILL)", " (exit code 3)" or ""."""
    if exitcode is not None and exitcode < 0:
        try:
            return f" (killed by {signal.Signals(-exitcode).name})"
        except ValueError:
            return f" (signal {-exitcode})"
    return f" (exit code {exitcode})" if exitcode else ""
