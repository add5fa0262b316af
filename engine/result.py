"""The result record: one plain dict per file, made by a worker (or by the runner for files it
settles itself) and carried back across the process boundary as it is.

Keys: index, source, target, status (one of STATUSES), error (one line for the user),
traceback, bytes_in, bytes_out, width, height, ms, warnings (what the decoders and encoders
said about the file, one line each); when the encoding was chosen per image (compress.py):
format (the one chosen), quality (the setting chosen), score (its SSIMULACRA2 score) and
kept_original (the source's own bytes were kept, the output not being smaller); "attempts"
when a crash cost a retry.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .job import Job

STATUSES = ("ok", "skipped", "failed", "cancelled")

#: The report's per-file fields, in column order (the traceback follows in JSON only).
FILE_FIELDS = (
    "source",
    "target",
    "status",
    "error",
    "bytes_in",
    "bytes_out",
    "width",
    "height",
    "ms",
    "warnings",
    "format",
    "quality",
    "score",
    "kept_original",
)


def make_result(
    index: int,
    source: str,
    status: str,
    error: str | None = None,
    target: str | None = None,
    bytes_in: int = 0,
    traceback: str | None = None,
) -> dict[str, Any]:
    """A result with no output yet (sizes and time unset)."""
    return {
        "index": index,
        "source": source,
        "target": target,
        "status": status,
        "error": error,
        "traceback": traceback,
        "bytes_in": bytes_in,
        "bytes_out": None,
        "width": None,
        "height": None,
        "ms": 0.0,
        "warnings": [],
        "format": None,
        "quality": None,
        "score": None,
        "kept_original": False,
    }


def job_result(
    job: Job,
    status: str,
    error: str | None = None,
    target: str | None = None,
    traceback: str | None = None,
) -> dict[str, Any]:
    """The result of a planned job that produced no new output (skipped, cancelled, failed)."""
    return make_result(job.index, job.source, status, error, target, job.size, traceback)
