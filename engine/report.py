"""The batch report: one result per planned source in plan order, its summary, JSON and CSV
export, and the summary's wording that the CLI and the window both show.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .i18n import _, ngettext
from .result import FILE_FIELDS, STATUSES


@dataclass
class Report:
    """All results of one batch, in plan order, and how long it took."""

    files: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0
    cancelled: bool = False
    _kept: dict[str, Any] | None = field(default=None, init=False, repr=False, compare=False)

    def count(self, status: str) -> int:
        return sum(1 for f in self.files if f["status"] == status)

    @property
    def summary(self) -> dict[str, Any]:
        """Counts per status, bytes in and out of the converted files, and the time: a walk
        over every result, unless keep_summary() was called."""
        if self._kept is not None:
            return dict(self._kept)
        return self._summarize()

    def keep_summary(self) -> dict[str, Any]:
        """Work the summary out once and answer it from now on: for a finished batch's report,
        whose results no longer change, on the thread that finished it (the walk over
        100,000 results took 80 ms wherever the summary was asked for next)."""
        self._kept = self._summarize()
        return dict(self._kept)

    def _summarize(self) -> dict[str, Any]:
        counts = {s: 0 for s in STATUSES}
        bytes_in = bytes_out = 0
        for f in self.files:
            counts[f["status"]] = counts.get(f["status"], 0) + 1
            if f["status"] == "ok":
                bytes_in += f.get("bytes_in") or 0
                bytes_out += f.get("bytes_out") or 0
        return {
            "total": len(self.files),
            **counts,
            "seconds": round(self.seconds, 3),
            "bytes_in": bytes_in,
            "bytes_out": bytes_out,
        }

    @property
    def exit_code(self) -> int:
        """0 all converted or skipped by policy, 1 any failed, 130 cancelled."""
        if self.cancelled:
            return 130
        return 1 if self.count("failed") else 0

    def to_dict(self) -> dict[str, Any]:
        return {"summary": self.summary, "files": [_entry(f) for f in self.files]}

    def write_json(self, path: str | os.PathLike[str]) -> None:
        """The report as JSON: the summary indented, then one file per line. Written as it
        is made, so a report of 100,000 files never exists twice in memory as one string
        (it took 2.7 s and a few hundred MB as one indented dump)."""
        encode = json.JSONEncoder().encode  # compact: the C encoder
        summary = json.dumps(self.summary, indent=2).replace("\n", "\n  ")

        def parts() -> Iterator[str]:
            yield '{\n  "summary": ' + summary + ',\n  "files": ['
            sep = "\n    "
            for f in self.files:
                yield sep + encode(_entry(f))
                sep = ",\n    "
            yield "\n  ]\n}\n"

        _atomic_write(Path(path), parts())

    def write_csv(self, path: str | os.PathLike[str]) -> None:
        import io

        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=list(FILE_FIELDS), extrasaction="ignore")
        writer.writeheader()
        for f in self.files:
            row = {k: ("" if f.get(k) is None else f.get(k)) for k in FILE_FIELDS}
            row["warnings"] = "\n".join(f.get("warnings") or ())  # one cell, a line each
            writer.writerow(row)
        _atomic_write(Path(path), buf.getvalue())

    def save(self, path: str | os.PathLike[str]) -> None:
        """JSON or CSV, by the file's extension."""
        if str(path).lower().endswith(".csv"):
            self.write_csv(path)
        else:
            self.write_json(path)


def _entry(f: dict[str, Any]) -> dict[str, Any]:
    """One file's entry in the JSON report."""
    entry = {k: f.get(k) for k in _JSON_FIELDS}
    entry["warnings"] = entry["warnings"] or []
    return entry


_JSON_FIELDS = (*FILE_FIELDS, "traceback")


def _atomic_write(path: Path, text: str | Iterable[str]) -> None:
    """Write text (or its parts) to path in one step: a failed write (a full disk) leaves the
    previous file whole and no part file behind."""
    tmp = path.with_name(f".{path.name}.part")
    try:
        _write_parts(tmp, [text] if isinstance(text, str) else text)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _write_parts(path: Path, parts: Iterable[str]) -> None:
    with open(path, "w", encoding="utf-8") as f:
        f.writelines(parts)


def human_bytes(n: float) -> str:
    """Decimal units, as the desktop's file managers and the size cap count them
    (1 KB = 1000 bytes)."""
    for unit in ("B", "KB", "MB", "GB"):
        if abs(n) < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} GB"  # the units are the same in every language Pixmill speaks


def human_duration(seconds: float) -> str:
    """'4 s', '2 m 05 s' or '1 h 02 m'."""
    s = int(round(max(0.0, seconds)))
    if s >= 3600:
        # Translators: hours and minutes, e.g. "1 h 02 m".
        return _("{hours} h {minutes} m").format(hours=s // 3600, minutes=f"{s % 3600 // 60:02d}")
    if s >= 60:
        # Translators: minutes and seconds, e.g. "2 m 05 s".
        return _("{minutes} m {seconds} s").format(minutes=s // 60, seconds=f"{s % 60:02d}")
    # Translators: whole seconds, e.g. "4 s".
    return _("{seconds} s").format(seconds=s)


def summary_text(summary: dict[str, Any], cancelled: bool = False, plain: bool = False) -> str:
    """One line: converted, skipped, failed, cancelled, bytes saved and time (from
    Report.summary). The window and the CLI say it the same way; plain uses ASCII
    punctuation only, for terminals that may not show "·" and "→"."""
    sep, arrow = (", ", "->") if plain else (" · ", "→")
    ok, skipped, failed = summary["ok"], summary["skipped"], summary["failed"]
    parts = [
        ngettext("{count} converted", "{count} converted", ok).format(count=f"{ok:,}"),
        ngettext("{count} skipped", "{count} skipped", skipped).format(count=f"{skipped:,}"),
        ngettext("{count} failed", "{count} failed", failed).format(count=f"{failed:,}"),
    ]
    n = summary.get("cancelled")
    if n:
        parts.append(ngettext("{count} cancelled", "{count} cancelled", n).format(count=f"{n:,}"))
    if summary["ok"] and summary["bytes_in"]:
        saved = summary["bytes_in"] - summary["bytes_out"]
        sizes = {
            "amount": human_bytes(abs(saved)),
            "before": human_bytes(summary["bytes_in"]),
            "arrow": arrow,
            "after": human_bytes(summary["bytes_out"]),
        }
        if saved >= 0:
            # Translators: e.g. "saved 3.1 MB (4.2 MB → 1.1 MB)".
            parts.append(_("saved {amount} ({before} {arrow} {after})").format(**sizes))
        else:
            parts.append(_("grew by {amount} ({before} {arrow} {after})").format(**sizes))
    # Translators: how long the batch took, e.g. "in 4.2 s".
    parts.append(_("in {duration}").format(duration=elapsed_text(summary["seconds"])))
    text = sep.join(parts)
    return _("Cancelled: {summary}").format(summary=text) if cancelled else text


def elapsed_text(seconds: float) -> str:
    """A batch's running time, with a tenth of a second below a minute."""
    if seconds < 60:
        # Translators: seconds with a tenth, e.g. "4.2 s".
        return _("{seconds} s").format(seconds=f"{seconds:.1f}")
    return human_duration(seconds)
