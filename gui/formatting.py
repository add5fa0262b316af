"""The words and numbers the window shows: durations, rates, sizes and progress lines.

The batch summary's wording is the engine's (report.summary_text), shared with the CLI."""

from __future__ import annotations

from typing import Any

from PySide6.QtGui import QFontMetrics

from pixmill.engine.events import Progress
from pixmill.engine.i18n import _, pgettext
from pixmill.engine.report import human_bytes, human_duration

SEP = " · "


def latin_char_width(metrics: QFontMetrics) -> int:
    """The average width of a Latin letter or digit. QFontMetrics.averageCharWidth() of a
    font with CJK glyphs (the default font of a Chinese desktop) is that of its ideographs,
    about twice as wide, and would double every width measured in characters."""
    sample = "abcdefghijklmnopqrstuvwxyz0123456789"
    return max(1, round(metrics.horizontalAdvance(sample) / len(sample)))


def duration(seconds: float | None) -> str:
    """'—' when unknown, else '4 s', '2 m 05 s' or '1 h 02 m'."""
    return "—" if seconds is None else human_duration(seconds)


def progress_text(p: Progress) -> str:
    """'done / total · files/s · ETA', the overall progress bar's text."""
    text = SEP.join(
        [
            f"{p.done:,} / {p.total:,}",
            _("{rate} files/s").format(rate=f"{p.files_per_s:.1f}"),
            _("ETA {duration}").format(duration=duration(p.eta_s)),
        ]
    )
    return pgettext("batch", "Paused") + SEP + text if p.paused else text


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
