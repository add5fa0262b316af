"""Walking the inputs: folders and files in, each image file once out, as Sources.

Owns recursion, symlink loops, hidden and non-regular entries, excluded folders (an output
folder inside an input) and cancellation of long walks. Reads directories, and the first bytes
of files whose name does not say whether they are images; never decodes anything.
"""

from __future__ import annotations

import heapq
import os
import stat
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from .codecs import is_image_name, sniff_file
from .i18n import _
from .job import Source
from .piecemeal import let_go


class ScanCancelled(Exception):
    """Raised by a scan whose cancel callback returned True."""


@dataclass(frozen=True)
class ScanOptions:
    """What a walk enters: subfolders or not, and the folders it skips (by path, and by name
    for "a subfolder next to each source")."""

    recursive: bool = True
    exclude_dirs: tuple[str, ...] = ()
    exclude_names: tuple[str, ...] = ()


def _walk(
    folder: str,
    recursive: bool,
    exclude: Callable[[str, str], bool],
    problems: list[tuple[str, str]],
    cancel: Callable[[], bool] | None,
) -> Iterator[tuple[str, os.stat_result]]:
    """Yield (path, stat) of image files under folder, sorted, following directory symlinks
    once each (loops end), skipping hidden entries, excluded folders and non-regular files."""
    seen: set[tuple[int, int]] = set()
    stack = [folder]
    while stack:
        if cancel is not None and cancel():
            raise ScanCancelled()
        current = stack.pop()
        try:
            st = os.stat(current)
        except OSError as exc:
            problems.append(
                (current, _("cannot open folder: {error}").format(error=exc.strerror or exc))
            )
            continue
        key = (st.st_dev, st.st_ino)
        if key in seen:
            continue
        seen.add(key)
        try:
            with os.scandir(current) as it:
                entries = _by_name(list(it))  # an iterator: consumed runs are freed on the way
        except OSError as exc:
            problems.append(
                (current, _("cannot read folder: {error}").format(error=exc.strerror or exc))
            )
            continue
        subdirs = []
        for entry in entries:
            name = entry.name
            if name.startswith("."):
                continue
            try:
                is_dir = entry.is_dir()  # follows symlinks
            except OSError:
                continue
            if is_dir:
                if recursive and not exclude(entry.path, name):
                    subdirs.append(entry.path)
                continue
            named = is_image_name(name)
            try:
                est = entry.stat()  # follows symlinks; a dangling link raises
            except OSError:
                continue
            if not stat.S_ISREG(est.st_mode):
                continue
            # A file whose name does not say image is planned when its first bytes do (a
            # photo without extension, or with a wrong one): nothing image-like is left out.
            if named or (est.st_size >= 8 and sniff_file(entry.path) is not None):
                yield entry.path, est
        stack.extend(reversed(subdirs))


_PROGRESS_EVERY = 500


def collect_sources(
    inputs: Iterable[str | os.PathLike[str]],
    options: ScanOptions | None = None,
    cancel: Callable[[], bool] | None = None,
    progress: Callable[[int], None] | None = None,
) -> tuple[list[Source], list[tuple[str, str]]]:
    """Find the image files named by inputs (folders and files), each once, in input order
    and sorted within each folder. Returns (sources, problems). progress(n) is told how many
    were found so far, every _PROGRESS_EVERY of them (from this thread: keep it cheap)."""
    options = options or ScanOptions()
    problems: list[tuple[str, str]] = []
    excluded = {os.path.normcase(os.path.realpath(p)) for p in options.exclude_dirs}
    names = set(options.exclude_names)

    def exclude(path: str, name: str) -> bool:
        return name in names or os.path.normcase(os.path.realpath(path)) in excluded

    sources: list[Source] = []
    seen: set[tuple[int, int]] = set()

    def add(path: str, root: str | None, st: os.stat_result) -> None:
        # The same file reached twice (an input given twice, a folder and a file in it, a
        # symlink) is one source; the stat already in hand identifies it without realpath.
        key = (st.st_dev, st.st_ino)
        if key in seen:
            return
        seen.add(key)
        # path is absolute and normal already: an input made so below, or the join of such a
        # folder and an entry's name (never ".", ".." or with a separator).
        sources.append(Source(path, root, st.st_size, st.st_mtime))
        if progress is not None and not len(sources) % _PROGRESS_EVERY:
            progress(len(sources))

    for raw in inputs:
        path = os.path.abspath(os.fspath(raw))
        try:
            st = os.stat(path)
        except OSError as exc:
            problems.append(
                (path, _("not found or not readable: {error}").format(error=exc.strerror or exc))
            )
            continue
        if stat.S_ISDIR(st.st_mode):
            before = len(sources)
            for fpath, fst in _walk(path, options.recursive, exclude, problems, cancel):
                add(fpath, path, fst)
            if len(sources) == before:
                problems.append((path, _("holds no images")))
        elif stat.S_ISREG(st.st_mode):
            add(path, None, st)
        else:
            problems.append((path, _("not a regular file or folder")))
    let_go(seen)  # 100,000 (device, inode) pairs: not all at once
    return sources, problems


#: Entries sorted at once (in C, holding the GIL) by _by_name; bigger folders are sorted in
#: runs of this many and merged.
_SORT_RUN = 4096


def _entry_name(entry: os.DirEntry[str]) -> str:
    return entry.name


def _by_name(entries: list[os.DirEntry[str]]) -> Iterator[os.DirEntry[str]]:
    """entries in name order. One sort of a 100,000-entry folder holds the GIL for 30 ms, and
    freeing the sorted list at the end of the folder 50 ms more, in which the window cannot
    paint. Sorted in runs and merged (heapq.merge is Python, so other threads get the GIL
    between items) it costs a few ms more and never blocks for long. Each entry is let go as
    it is taken (_taken): a run freed whole once merged, 4,096 entries with their stat
    results, still held the GIL for up to 40 ms."""
    if len(entries) <= _SORT_RUN:
        entries.sort(key=_entry_name, reverse=True)
        return _taken(entries)
    runs = [
        _taken(sorted(entries[i : i + _SORT_RUN], key=_entry_name, reverse=True))
        for i in range(0, len(entries), _SORT_RUN)
    ]
    entries.clear()  # the runs hold them now, a run each
    return heapq.merge(*runs, key=_entry_name)


def _taken(run: list[os.DirEntry[str]]) -> Iterator[os.DirEntry[str]]:
    """run (sorted backwards; names in a folder are unique) from its end, each entry out of
    the list as it is yielded, so that it is freed once its taker drops it."""
    while run:
        yield run.pop()
