"""The words and numbers the window shows: durations, rates, sizes and progress lines.

The batch summary's wording is the engine's (report.summary_text), shared with the CLI."""

from __future__ import annotations

from typing import Any

from pixmill.engine.events import Progress
from pixmill.engine.report import human_bytes, human_duration

SEP = " · "


def duration(seconds: float | None) -> str:
    """'—' when unknown, else '4 s', '2 m 05 s' or '1 h 02 m'."""
    return "—" if seconds is None else human_duration(seconds)


def progress_text(p: Progress) -> str:
    """'done / total · files/s · ETA', the overall progress bar's text."""
    text = f"{p.done:,} / {p.total:,}{SEP}{p.files_per_s:.1f} files/s{SEP}ETA {duration(p.eta_s)}"
    return f"Paused{SEP}{text}" if p.paused else text


def percent(p: Progress) -> int:
    return int(p.fraction * 100)


def size_change(result: dict[str, Any]) -> str:
    """'1.2 MB → 340.0 KB' for a written file, else the input size alone."""
    before = result.get("bytes_in")
    after = result.get("bytes_out")
    if before is None:
        return ""
    if after is None:
        return human_bytes(before)
    return f"{human_bytes(before)} → {human_bytes(after)}"


def dimensions(result: dict[str, Any]) -> str:
    w, h = result.get("width"), result.get("height")
    return f"{w} × {h}" if w and h else ""


def milliseconds(ms: float | None) -> str:
    if not ms:
        return ""
    return f"{ms:.0f} ms" if ms < 1000 else f"{ms / 1000:.1f} s"
