"""Planning: input folders and files -> a list of Jobs, each with its final target path.

Owns folder walking (recursion, symlink loops, non-regular files), the image-file filter,
folder-tree preservation, the naming template and every collision decision. Nothing here
writes to disk; a dry run is just printing the plan.
"""

from __future__ import annotations

import os
import re
import stat
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from .recipe import EXTENSIONS, Recipe

#: Extensions of the files a folder walk picks up (explicitly named files are always planned).
IMAGE_EXTENSIONS = frozenset(
    [
        ".jpg",
        ".jpeg",
        ".jpe",
        ".jfif",
        ".png",
        ".apng",
        ".webp",
        ".avif",
        ".tif",
        ".tiff",
        ".bmp",
        ".dib",
        ".gif",
        ".ico",
        ".ppm",
        ".pgm",
        ".pbm",
        ".pnm",
        ".tga",
        ".psd",
        ".pcx",
        ".qoi",
        ".sgi",
        ".dds",
        ".jp2",
        ".j2k",
        ".jpx",
        ".im",
        ".xbm",
    ]
)

#: Source extension -> output format, for format "same".
_SAME_FORMAT = {
    ".jpg": "jpeg",
    ".jpeg": "jpeg",
    ".jpe": "jpeg",
    ".jfif": "jpeg",
    ".png": "png",
    ".apng": "png",
    ".webp": "webp",
    ".avif": "avif",
    ".tif": "tiff",
    ".tiff": "tiff",
    ".bmp": "bmp",
    ".dib": "bmp",
    ".gif": "gif",
}

TEMP_PREFIX = ".pixmill-"
TEMP_SUFFIX = ".tmp"
DEFAULT_SUBFOLDER = "converted"

_UNSAFE_NAME = re.compile(r'[\x00-\x1f/\\:*?"<>|]')


@dataclass(frozen=True)
class Source:
    """One input image: its path, the input folder it was found under (None for a file given
    directly), and the size and modification time read while scanning."""

    path: str
    root: str | None
    size: int = 0
    mtime: float = 0.0


@dataclass(frozen=True)
class Job:
    """One planned conversion. action is "convert", or "skip" with a reason."""

    index: int
    source: str
    target: str
    format: str
    recipe: Recipe
    action: str = "convert"
    reason: str = ""
    size: int = 0
    mtime: float = 0.0


@dataclass
class Plan:
    jobs: list[Job] = field(default_factory=list)
    #: (input path, message) for inputs that could not be used or were partly unreadable.
    problems: list[tuple[str, str]] = field(default_factory=list)

    @property
    def to_convert(self) -> int:
        return sum(1 for j in self.jobs if j.action == "convert")


class ScanCancelled(Exception):
    """Raised by a scan whose cancel callback returned True."""


# --- walking ---------------------------------------------------------------------------------
def is_image_name(name: str) -> bool:
    return os.path.splitext(name)[1].lower() in IMAGE_EXTENSIONS


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
            problems.append((current, f"cannot open folder: {exc.strerror or exc}"))
            continue
        key = (st.st_dev, st.st_ino)
        if key in seen:
            continue
        seen.add(key)
        try:
            with os.scandir(current) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            problems.append((current, f"cannot read folder: {exc.strerror or exc}"))
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
            if not is_image_name(name):
                continue
            try:
                est = entry.stat()  # follows symlinks; a dangling link raises
            except OSError:
                continue
            if stat.S_ISREG(est.st_mode):
                yield entry.path, est
        stack.extend(reversed(subdirs))


def collect_sources(
    inputs: Iterable[str | os.PathLike[str]],
    recursive: bool = True,
    exclude_dirs: Iterable[str | os.PathLike[str]] = (),
    exclude_names: Iterable[str] = (),
    cancel: Callable[[], bool] | None = None,
) -> tuple[list[Source], list[tuple[str, str]]]:
    """Find the image files named by inputs (folders and files), each once.

    exclude_dirs are never entered (an output folder inside an input folder); folders whose
    name is in exclude_names are skipped too ("a subfolder next to each source").
    Returns (sources, problems)."""
    problems: list[tuple[str, str]] = []
    excluded = {os.path.normcase(os.path.realpath(p)) for p in exclude_dirs}
    names = set(exclude_names)

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
        sources.append(Source(os.path.abspath(path), root, st.st_size, st.st_mtime))

    for raw in inputs:
        path = os.path.abspath(os.fspath(raw))
        try:
            st = os.stat(path)
        except OSError as exc:
            problems.append((path, f"not found or not readable: {exc.strerror or exc}"))
            continue
        if stat.S_ISDIR(st.st_mode):
            before = len(sources)
            for fpath, fst in _walk(path, recursive, exclude, problems, cancel):
                add(fpath, path, fst)
            if len(sources) == before:
                problems.append((path, "holds no images"))
        elif stat.S_ISREG(st.st_mode):
            add(path, None, st)
        else:
            problems.append((path, "not a regular file or folder"))
    return sources, problems


# --- naming ----------------------------------------------------------------------------------
def output_format(recipe: Recipe, source: str) -> tuple[str, str]:
    """(format, extension) of the output for this source."""
    if recipe.format != "same":
        return recipe.format, EXTENSIONS[recipe.format]
    ext = os.path.splitext(source)[1].lower()
    fmt = _SAME_FORMAT.get(ext)
    if fmt is None:
        return "png", ".png"
    return fmt, ext


def _safe_name(name: str, fallback: str) -> str:
    name = _UNSAFE_NAME.sub("_", name).strip().rstrip(".")
    if name in ("", ".", ".."):
        return fallback
    return name[:200]


class _Tokens(dict):
    """Naming tokens, each worked out only when the template asks for it."""

    def __init__(self, source: Source, index: int, size: tuple[int, int]) -> None:
        super().__init__()
        self.source, self.index, self.size = source, index, size

    def __missing__(self, key: str) -> object:
        path = self.source.path
        if key == "ext":
            return os.path.splitext(path)[1].lstrip(".").lower()
        if key == "width":
            return self.size[0]
        if key == "height":
            return self.size[1]
        if key == "index":
            return self.index
        if key == "parent":
            return os.path.basename(os.path.dirname(path))
        if key == "date":
            return time.strftime("%Y-%m-%d", time.localtime(self.source.mtime))
        raise KeyError(key)


def render_name(recipe: Recipe, source: Source, index: int, size: tuple[int, int]) -> str:
    """The output file name (without extension) the naming template gives this source."""
    stem = os.path.splitext(os.path.basename(source.path))[0]
    template = recipe.name_template
    if template == "{stem}":
        name = stem
    else:
        tokens = _Tokens(source, index, size)
        tokens["stem"] = stem
        name = template.format_map(tokens)
    return _safe_name(name, stem or "image")


def _uses_size(template: str) -> bool:
    return "{width" in template or "{height" in template


class _DirListing:
    """Case-folded names present in target folders, listed once per folder."""

    def __init__(self) -> None:
        self._cache: dict[str, set[str]] = {}

    def exists(self, path: str) -> bool:
        folder, name = os.path.split(path)
        names = self._cache.get(folder)
        if names is None:
            try:
                names = {n.casefold() for n in os.listdir(folder)}
            except OSError:
                names = set()
            self._cache[folder] = names
        return name.casefold() in names


def renamed(path: str, n: int) -> str:
    """The n-th renamed sibling of a target: photo.webp -> photo-n.webp (n 0: the target)."""
    if n == 0:
        return path
    stem, ext = os.path.splitext(path)
    return f"{stem}-{n}{ext}"


def _unique(path: str, taken: set[str], listing: _DirListing) -> str:
    n = 1
    while True:
        candidate = renamed(path, n)
        if os.path.normcase(candidate).casefold() not in taken and not listing.exists(candidate):
            return candidate
        n += 1


def _target_folder(
    parent: str, root: str | None, out_root: str | None, preserve_tree: bool, subfolder: str
) -> str:
    if out_root is None:
        return os.path.join(parent, subfolder)
    if preserve_tree and root is not None:
        rel = os.path.relpath(parent, root)
        return out_root if rel == "." else os.path.join(out_root, rel)
    return out_root


def plan_jobs(
    sources: list[Source],
    recipe: Recipe,
    output_dir: str | os.PathLike[str] | None,
    subfolder: str = DEFAULT_SUBFOLDER,
) -> list[Job]:
    """Give every source a target path and resolve every collision by the recipe's policy.

    output_dir None means "a subfolder next to each source". Outputs never overwrite a source
    of this batch, and two sources never write the same target (the later one is renamed, or
    skipped under the skip policy)."""
    out_root = os.path.abspath(os.fspath(output_dir)) if output_dir is not None else None
    source_keys = {os.path.normcase(s.path).casefold() for s in sources}
    taken: set[str] = set()
    listing = _DirListing()
    jobs: list[Job] = []
    needs_size = _uses_size(recipe.name_template)
    if needs_size:  # reads image headers: only then is Pillow worth loading here
        from .convert import probe_output_size
    folders: dict[tuple[str, str | None], str] = {}
    for i, src in enumerate(sources, start=1):
        fmt, ext = output_format(recipe, src.path)
        parent = os.path.dirname(src.path)
        folder = folders.get((parent, src.root))
        if folder is None:
            folder = folders[(parent, src.root)] = _target_folder(
                parent, src.root, out_root, recipe.preserve_tree, subfolder
            )
        size = probe_output_size(src.path, recipe) if needs_size else (0, 0)
        target = os.path.join(folder, render_name(recipe, src, i, size) + ext)
        key = os.path.normcase(target).casefold()
        action, reason = "convert", ""
        if key in taken:
            if recipe.on_conflict == "skip":
                action, reason = "skip", "another file in this batch already makes this target"
            else:
                target = _unique(target, taken, listing)
        elif key in source_keys:
            if recipe.on_conflict == "skip":
                action, reason = "skip", "target exists (it is a source)"
            else:
                target = _unique(target, taken, listing)  # never overwrite a source
        elif listing.exists(target):
            if recipe.on_conflict == "skip":
                action, reason = "skip", "target exists"
            elif recipe.on_conflict == "rename":
                target = _unique(target, taken, listing)
        taken.add(os.path.normcase(target).casefold())
        jobs.append(Job(i, src.path, target, fmt, recipe, action, reason, src.size, src.mtime))
    return jobs


def plan(
    inputs: Iterable[str | os.PathLike[str]],
    recipe: Recipe,
    output_dir: str | os.PathLike[str] | None,
    subfolder: str = DEFAULT_SUBFOLDER,
    cancel: Callable[[], bool] | None = None,
) -> Plan:
    """Scan inputs and plan every job: the one call the CLI and the window make."""
    exclude = [output_dir] if output_dir is not None else []
    names = [subfolder] if output_dir is None else []
    sources, problems = collect_sources(inputs, recipe.recursive, exclude, names, cancel)
    return Plan(plan_jobs(sources, recipe, output_dir, subfolder), problems)


def format_plan(p: Plan) -> str:
    """Human-readable dry-run listing."""
    lines = []
    for job in p.jobs:
        if job.action == "skip":
            lines.append(f"skip  {job.source}  ({job.reason})")
        else:
            lines.append(f"{job.source}  ->  {job.target}")
    for path, msg in p.problems:
        lines.append(f"note  {path}: {msg}")
    lines.append(f"{p.to_convert} to convert, {len(p.jobs) - p.to_convert} to skip")
    return "\n".join(lines)


def temp_files(folder: str, prefix: str = TEMP_PREFIX) -> list[Path]:
    """Pixmill temp files left in a folder (for sweeping after a cancel or a crash)."""
    try:
        names = os.listdir(folder)
    except OSError:
        return []
    return [Path(folder, n) for n in names if n.startswith(prefix) and n.endswith(TEMP_SUFFIX)]
