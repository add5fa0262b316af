"""What runs inside a pool worker process: the initializer and the task wrapper.

Kept apart from runner.py so a spawned worker imports only this, convert.py and Pillow.
"""

from __future__ import annotations

import os
import signal
import traceback
from typing import Any

from . import convert
from .scan import Job

_STARTS: Any = None  # multiprocessing queue of (task id, pid), one per pool


def init_worker(starts: Any, cancel: Any, temp_tag: str, memory_limit: int | None) -> None:
    """Pool initializer: ignore Ctrl-C (the main process cancels cleanly), cap memory, and keep
    the start queue and cancel event for run_task."""
    global _STARTS
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if memory_limit:
        _limit_memory(memory_limit)
    _STARTS = starts
    convert.set_worker_context(temp_tag, cancel)


def _limit_memory(limit: int) -> None:
    """Cap the address space so a runaway decode raises MemoryError here instead of waking
    the system's out-of-memory killer."""
    try:
        import resource
    except ImportError:  # Windows: the pixel-count safety limit is the guard there
        return
    try:
        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        if hard != resource.RLIM_INFINITY:
            limit = min(limit, hard)
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    except (ValueError, OSError):
        pass


def run_task(task_id: int, job: Job) -> dict[str, Any]:
    """Announce the start (so the supervisor knows which pid holds which file), convert, and
    return a plain dict. Never raises."""
    try:
        if _STARTS is not None:
            _STARTS.put((task_id, os.getpid()))
    except Exception:  # supervision is best effort; the conversion still runs
        pass
    try:
        result = convert.convert_one(job)
    except BaseException as exc:  # noqa: BLE001 - a worker must always answer
        result = {
            "index": job.index,
            "source": job.source,
            "target": None,
            "status": "failed",
            "error": convert.describe_error(exc, job),
            "traceback": traceback.format_exc(),
            "bytes_in": job.size,
            "bytes_out": None,
            "width": None,
            "height": None,
            "ms": 0.0,
        }
    result["task"] = task_id
    return result
