"""Scenario U's pieces that need no runner: changing sources the way a user edits them, and
checking that an incremental run (`pixmill convert --update`) converted exactly what it
should, from its JSON report.

Kept free of the runner's imports so test_measure.py can try them on two tiny files.
"""

from __future__ import annotations

import os
import random
from collections.abc import Iterable, Sequence
from typing import Any

from PIL import Image

#: How the report says a file was skipped by --update (engine/session.py UP_TO_DATE).
UP_TO_DATE = "up to date"


def pick(files: Sequence[str], count: int, seed: int) -> list[str]:
    """count of files, chosen at random but the same for the same seed, in files' order."""
    chosen = set(random.Random(seed).sample(range(len(files)), min(count, len(files))))
    return [f for i, f in enumerate(files) if i in chosen]


def touch_sources(paths: Iterable[str]) -> None:
    """Change each image's content (its top-left pixel, inverted) and save it in place, in
    its own format: a real edit, so the source's size or time changes as an editor's save
    would. Where the file system's clock is too coarse to show the new write, the time is
    moved on by a second so the edit cannot go unseen."""
    for path in paths:
        before = os.stat(path)
        with Image.open(path) as im:
            fmt = im.format
            im.load()
            edited = im.copy()
        pixel = edited.getpixel((0, 0))
        if isinstance(pixel, tuple):
            flipped: Any = tuple(255 - v for v in pixel)
        else:
            flipped = 255 - int(pixel or 0)
        edited.putpixel((0, 0), flipped)
        edited.save(path, fmt)
        after = os.stat(path)
        if (after.st_size, after.st_mtime_ns) == (before.st_size, before.st_mtime_ns):
            ns = before.st_mtime_ns + 1_000_000_000
            os.utime(path, ns=(after.st_atime_ns, ns))


def check_report(report: dict[str, Any], n_files: int, converted: Iterable[str]) -> str | None:
    """None when the report of an --update run over n_files sources shows exactly the
    sources in converted converted and every other one skipped as up to date; otherwise one
    line saying what it shows instead."""
    want = {os.path.abspath(p) for p in converted}
    files = report.get("files") or []
    got_ok = {os.path.abspath(f["source"]) for f in files if f.get("status") == "ok"}
    fresh = [f for f in files if f.get("status") == "skipped" and f.get("error") == UP_TO_DATE]
    others = len(files) - len(got_ok) - len(fresh)
    if len(files) == n_files and got_ok == want and len(fresh) == n_files - len(want):
        return None
    text = (
        f"expected {len(want):,} converted / {n_files - len(want):,} skipped up to date, got "
        f"{len(got_ok):,} converted / {len(fresh):,} skipped up to date"
    )
    if others:
        text += f" / {others:,} other ({_statuses(files)})"
    if len(files) != n_files:
        text += f" ({len(files):,} files in the report)"
    if got_ok != want:
        wrong = sorted(got_ok ^ want)
        text += f"; differs on {len(wrong):,}, e.g. {os.path.basename(wrong[0])}"
    return text


def _statuses(files: Sequence[dict[str, Any]]) -> str:
    """'failed 3, skipped (target exists) 2': what the report holds besides ok and up to date."""
    counts: dict[str, int] = {}
    for f in files:
        status = f.get("status")
        if status == "ok" or (status == "skipped" and f.get("error") == UP_TO_DATE):
            continue
        key = f"{status} ({f.get('error')})" if status == "skipped" else str(status)
        counts[key] = counts.get(key, 0) + 1
    return ", ".join(f"{k} {v:,}" for k, v in sorted(counts.items()))
