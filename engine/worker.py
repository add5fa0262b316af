"""What runs inside a pool worker process: the initializer and the task wrapper.

Kept apart from runner.py so a spawned worker imports only this, convert.py and Pillow.
"""

from __future__ import annotations

import os
import signal
import threading
import time
import traceback
from typing import Any

from . import convert
from .scan import Job

_STARTS: Any = None  # multiprocessing queue of (task id, pid), one per pool
_FAULTS: list[tuple[str, str]] = []  # (kind, path substring), from PIXMILL_FAULTS


def init_worker(starts: Any, cancel: Any, temp_tag: str, memory_limit: int | None) -> None:
    """Pool initializer: ignore Ctrl-C (the main process cancels cleanly), cap memory, and keep
    the start queue and cancel event for run_task."""
    global _STARTS
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if memory_limit:
        _limit_memory(memory_limit)
    _STARTS = starts
    _watch_parent()
    _FAULTS[:] = _parse_faults(os.environ.get("PIXMILL_FAULTS", ""))
    convert.set_worker_context(temp_tag, cancel)


def _watch_parent() -> None:
    """Exit when the main process is gone (killed outright, so it could not stop its pool):
    an orphaned worker would otherwise wait on the task queue forever."""
    parent = os.getppid()

    def watch() -> None:
        while True:
            time.sleep(1.0)
            if os.getppid() != parent:
                os._exit(0)

    threading.Thread(target=watch, name="pixmill-parent-watch", daemon=True).start()


def _parse_faults(spec: str) -> list[tuple[str, str]]:
    """PIXMILL_FAULTS="crash:substr,hang:substr,alloc:substr,slow:substr": fault injection for
    the reliability tests and the packaged smoke test. Unset in normal use."""
    out = []
    for item in spec.split(","):
        kind, _, needle = item.strip().partition(":")
        if kind in ("crash", "hang", "alloc", "slow") and needle:
            out.append((kind, needle))
    return out


def _inject_fault(source: str) -> None:
    for kind, needle in _FAULTS:
        if needle not in source:
            continue
        if kind == "crash":
            os.kill(os.getpid(), getattr(signal, "SIGKILL", signal.SIGTERM))
        elif kind == "hang":
            while True:
                time.sleep(3600)
        elif kind == "alloc":
            hoard = []
            while True:
                hoard.append(bytearray(64 << 20))
        elif kind == "slow":
            time.sleep(1.0)


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
        if _FAULTS:
            _inject_fault(job.source)
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
