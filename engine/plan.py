"""Planning: sources -> Jobs with their final targets, every collision decided up front, and
the dry-run listing of that plan.

Outputs never overwrite a source of the batch, and two sources never share a target: the
later one is renamed (photo-1.webp) or skipped, by the recipe's policy. Nothing here writes.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable

from . import naming
from .formats import output_format
from .i18n import N_, _
from .job import Job, Plan, Source
from .naming import renamed, render_name, uses_size
from .piecemeal import let_go
from .recipe import Recipe
from .scan import ScanOptions, collect_sources

#: The folder outputs go to when there is no output folder: next to each source.
DEFAULT_SUBFOLDER = "converted"
#: Why the skip policy skips a file whose target is already there.
TARGET_EXISTS = N_("target exists")


def scan_options(
    recursive: bool, output_dir: str | os.PathLike[str] | None, subfolder: str = DEFAULT_SUBFOLDER
) -> ScanOptions:
    """What a scan must skip for outputs that go to output_dir (None: a subfolder next to
    each source; "": not chosen yet, nothing to skip), so that a batch never converts its
    own outputs."""
    if output_dir is None:
        return ScanOptions(recursive, exclude_names=(subfolder,))
    if not os.fspath(output_dir):
        return ScanOptions(recursive)
    return ScanOptions(recursive, exclude_dirs=(os.fspath(output_dir),))


class _DirListing:
    """Case-folded names present in target folders, listed once per folder."""

    def __init__(self) -> None:
        self._cache: dict[str, set[str]] = {}

    def exists(self, path: str) -> bool:
        return self.has(*naming._path.split(path))

    def has(self, folder: str, name: str) -> bool:
        """Whether folder holds name (exists() of their join)."""
        names = self._cache.get(folder)
        if names is None:
            try:
                names = {n.casefold() for n in os.listdir(folder)}
            except OSError:
                names = set()
            self._cache[folder] = names
        return name.casefold() in names

    def folders(self) -> list[set[str]]:
        """The names listed so far, a set per folder."""
        return list(self._cache.values())


def _unique(path: str, taken: set[str], listing: _DirListing) -> str:
    n = 1
    while True:
        candidate = renamed(path, n)
        key = naming._path.normcase(candidate).casefold()
        if key not in taken and not listing.exists(candidate):
            return candidate
        n += 1


def _target_folder(
    parent: str, root: str | None, out_root: str | None, preserve_tree: bool, subfolder: str
) -> str:
    path = naming._path
    if out_root is None:
        return path.join(parent, subfolder)
    if preserve_tree and root is not None:
        rel = path.relpath(parent, root)
        return out_root if rel == "." else path.join(out_root, rel)
    return out_root


def plan_jobs(
    sources: list[Source],
    recipe: Recipe,
    output_dir: str | os.PathLike[str] | None,
    subfolder: str = DEFAULT_SUBFOLDER,
    sync: bool = True,
) -> list[Job]:
    """Give every source a target path and resolve every collision by the recipe's policy.

    output_dir None means "a subfolder next to each source". Outputs never overwrite a source
    of this batch, and two sources never write the same target (the later one is renamed, or
    skipped under the skip policy)."""
    path = naming._path  # os.path; ntpath in the tests of the Windows rules
    out_root = path.abspath(os.fspath(output_dir)) if output_dir is not None else None
    source_keys = {path.normcase(s.path).casefold() for s in sources}
    taken: set[str] = set()
    listing = _DirListing()
    jobs: list[Job] = []
    probe = None
    if uses_size(recipe.name_template):
        from .geometry import probe_output_size as probe  # reads headers: loads Pillow
    folders: dict[tuple[str, str | None], str] = {}
    for i, src in enumerate(sources, start=1):
        fmt, ext = output_format(recipe.format, src.path)
        parent = path.dirname(src.path)
        folder = folders.get((parent, src.root))
        if folder is None:
            folder = folders[(parent, src.root)] = _target_folder(
                parent, src.root, out_root, recipe.preserve_tree, subfolder
            )
        size = probe(src.path, recipe) if probe is not None else (0, 0)
        name = render_name(recipe, src, i, size) + ext
        target = planned = path.join(folder, name)
        key = path.normcase(target).casefold()
        action, reason = "convert", ""
        if key in taken:
            if recipe.on_conflict == "skip":
                action, reason = "skip", N_("another file in this batch already makes this target")
            else:
                target = _unique(target, taken, listing)
        elif key in source_keys:
            if recipe.on_conflict == "skip":
                action, reason = "skip", N_("target exists (it is a source)")
            else:
                target = _unique(target, taken, listing)  # never overwrite a source
        elif listing.has(folder, name):
            if recipe.on_conflict == "skip":
                action, reason = "skip", TARGET_EXISTS
            elif recipe.on_conflict == "rename":
                target = _unique(target, taken, listing)
        if target != planned:  # renamed
            key = path.normcase(target).casefold()
        taken.add(key)
        jobs.append(
            Job(i, src.path, target, fmt, recipe, action, reason, src.size, src.mtime, sync)
        )
    for keys in (taken, source_keys, *listing.folders()):
        let_go(keys)  # one string each per file: not all at once
    return jobs


def plan(
    inputs: Iterable[str | os.PathLike[str]],
    recipe: Recipe,
    output_dir: str | os.PathLike[str] | None,
    subfolder: str = DEFAULT_SUBFOLDER,
    cancel: Callable[[], bool] | None = None,
    sync: bool = True,
    progress: Callable[[int], None] | None = None,
) -> Plan:
    """Scan inputs and plan every job: the one call the CLI and the window make. sync False
    (--no-sync) publishes without waiting for the disk; progress(n): images found so far."""
    options = scan_options(recipe.recursive, output_dir, subfolder)
    sources, problems = collect_sources(inputs, options, cancel, progress)
    jobs = plan_jobs(sources, recipe, output_dir, subfolder, sync)
    let_go(sources)  # the jobs hold what they need of them
    return Plan(jobs, problems)


def format_plan(p: Plan) -> str:
    """Human-readable dry-run listing."""
    lines = []
    for job in p.jobs:
        if job.action == "skip":
            reason = _(job.reason) if job.reason else job.reason  # _("") is the header
            lines.append(f"skip  {job.source}  ({reason})")
        else:
            lines.append(f"{job.source}  ->  {job.target}")
    for path, msg in p.problems:
        lines.append(f"note  {path}: {msg}")
    lines.append(
        _("{convert} to convert, {skip} to skip").format(
            convert=p.to_convert, skip=len(p.jobs) - p.to_convert
        )
    )
    return "\n".join(lines)
