"""After a batch's process died: what of it is really done on disk, and what must be done
again. Reads the journal's rows and the output folders; writes nothing but the removal of
this batch's own damaged outputs.

A file counts as done when its output is there, complete and the same size the journal
recorded. A file the journal has no result for may still have been published (the process
died between the worker's publish and the journal's record): an output at its planned target
(or a renamed sibling the publish step would have chosen) that appeared after the batch
started, that no other file of the batch claims and that looks complete is adopted as its
output, so resuming never makes `photo-1.jpg` beside the `photo.jpg` the batch wrote itself.
Outputs found empty or cut short are removed and redone.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass, field
from typing import Any

from .formats import AUTO_FORMATS, EXTENSIONS
from .job import Job
from .journal import FileRow
from .naming import renamed
from .recipe import Recipe

#: An output whose status change (its link or rename) is older than the batch's start by
#: more than this is not one of the batch's (file system clocks are coarse).
CLOCK_SLACK = 2.0
#: Renamed siblings looked at for one target.
_MAX_SIBLINGS = 1000


#: Compressed formats whose last 16 bytes are never all zeros: a file that ends so was cut
#: (its size reached the disk, its last blocks did not).
_ZERO_TAIL_SUSPECT = ("webp", "avif", "heic", "jxl")
#: Formats whose end looks_complete cannot check.
_NO_END_MARK = ("tiff", "jxl")


def _key(path: str) -> str:
    return os.path.normcase(path).casefold()


def looks_complete(path: str, fmt: str, size: int | None = None) -> bool:
    """Whether the file at path is a whole file of the format Pixmill wrote: not empty, the
    expected size when size is given, and the format's own end (JPEG's end marker, PNG's
    IEND chunk, the RIFF or box sizes adding up to the file's size) where it has one."""
    try:
        with open(path, "rb") as f:
            end = f.seek(0, os.SEEK_END)
            if end == 0 or (size is not None and end != size):
                return False
            f.seek(0)
            head = f.read(32)
            f.seek(max(0, end - 16))
            tail = f.read(16)
            if fmt in _ZERO_TAIL_SUSPECT and end >= 16 and not tail.strip(b"\x00"):
                return False  # the end never reached the disk: the size did, the data not
            if fmt in ("avif", "heic") or (fmt == "jxl" and head[4:8] == b"JXL "):
                return _boxes_fill(f, end)
    except OSError:
        return False
    return _ends_well(fmt, head, tail, end)


def _ends_well(fmt: str, head: bytes, tail: bytes, end: int) -> bool:
    if fmt == "jpeg":
        return head[:2] == b"\xff\xd8" and tail[-2:] == b"\xff\xd9"
    if fmt == "png":
        return head[:8] == b"\x89PNG\r\n\x1a\n" and tail[-8:] == b"IEND\xaeB`\x82"
    if fmt == "webp":
        return head[:4] == b"RIFF" and head[8:12] == b"WEBP" and _u32le(head, 4) + 8 == end
    if fmt == "gif":
        return head[:3] == b"GIF" and tail[-1:] == b"\x3b"
    if fmt == "bmp":
        return head[:2] == b"BM" and _u32le(head, 2) == end
    if fmt == "tiff":
        if head[:4] not in (b"II*\x00", b"MM\x00*"):
            return False
        fmt_char = "<" if head[:2] == b"II" else ">"
        (ifd,) = struct.unpack(fmt_char + "I", head[4:8])
        return 8 <= ifd < end
    return True  # a bare JPEG XL codestream: no end marker to look for


def _u32le(data: bytes, offset: int) -> int:
    return int.from_bytes(data[offset : offset + 4], "little") if len(data) >= offset + 4 else -1


def _boxes_fill(f: Any, end: int) -> bool:
    """ISO base media boxes (HEIF, AVIF, the JPEG XL container) laid end to end must reach
    exactly the end of the file."""
    pos = 0
    while pos < end:
        f.seek(pos)
        header = f.read(16)
        if len(header) < 8:
            return False
        size = int.from_bytes(header[:4], "big")
        if size == 1:
            if len(header) < 16:
                return False
            size = int.from_bytes(header[8:16], "big")
        elif size == 0:
            return True  # the last box runs to the end of the file
        if size < 8:
            return False
        pos += size
    return pos == end


@dataclass
class Recovery:
    """What resuming a batch does: jobs (every file of the batch, in order, some with a new
    target), done (results that stand, by index: recorded before the crash, or adopted from
    the disk), adopted (the results newly found on disk, to record), redone (damaged
    outputs removed, to be made again)."""

    jobs: list[Job] = field(default_factory=list)
    done: dict[int, dict[str, Any]] = field(default_factory=dict)
    adopted: list[dict[str, Any]] = field(default_factory=list)
    redone: list[str] = field(default_factory=list)


def recover(rows: list[FileRow], recipe: Recipe, sync: bool, started: float) -> Recovery:
    """Sort a batch's files into done and to do, looking at what is on disk (see the module
    docstring). started: when the batch was created (time.time())."""
    out = Recovery()
    claims: dict[str, int] = {}
    for row in rows:
        claims.setdefault(_key(row.target), row.index)
        if row.final:
            claims[_key(row.final)] = row.index
    for row in rows:
        target = None
        if row.action == "skip" or row.status == "skipped":
            if row.action != "skip":
                out.done[row.index] = row.result()
        elif row.status == "ok" and row.final:
            if _intact(row.final, row.format, row.bytes_out):
                out.done[row.index] = row.result()
            else:
                target = row.final  # made again under the same name
                _remove_damaged(row.final, out)
        else:
            found = _find_own_output(row, claims, started, _extensions(row, recipe))
            if found is not None and looks_complete(found, row.format):
                result = row.result()
                result.update(
                    status="ok", target=found, error=None, bytes_out=os.path.getsize(found)
                )
                out.done[row.index] = result
                out.adopted.append(result)
            elif found is not None:
                target = found
                _remove_damaged(found, out)
        out.jobs.append(row.job(recipe, sync, target))
    return out


def _intact(path: str, fmt: str, size: int | None) -> bool:
    """A recorded output is still whole. A complete file of another size was changed by
    someone since and is left alone, except in the formats whose end cannot be checked,
    where a file shorter than written counts as cut short."""
    try:
        now = os.path.getsize(path)
    except OSError:
        return False
    if fmt in _NO_END_MARK and size is not None and now < size:
        return False
    return looks_complete(path, fmt)


def _extensions(row: FileRow, recipe: Recipe) -> list[str]:
    """The extensions row's output may have: the planned one, any format "auto" chooses,
    and the source's own when the original may be kept."""
    exts = [os.path.splitext(row.target)[1]]
    if row.format == "auto":
        exts += [EXTENSIONS[f] for f in AUTO_FORMATS]
    if recipe.skip_larger:
        exts.append(os.path.splitext(row.source)[1])
    return list(dict.fromkeys(exts))


def _find_own_output(
    row: FileRow, claims: dict[str, int], started: float, extensions: list[str]
) -> str | None:
    """The output this batch published for row before its record was written, if any: the
    planned target (under any extension it may have) or the renamed sibling the publish
    step moved to, appearing after the batch started and claimed by no other file of the
    batch."""
    stem = os.path.splitext(row.target)[0]
    for ext in extensions:
        for n in range(_MAX_SIBLINGS):
            candidate = renamed(stem + ext, n)
            try:
                st = os.stat(candidate)
            except OSError:
                break  # the publish step takes the first free name: none further on
            if claims.get(_key(candidate), row.index) != row.index:
                continue
            if st.st_ctime >= started - CLOCK_SLACK:
                return candidate
    return None


def _remove_damaged(path: str, out: Recovery) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    out.redone.append(path)
