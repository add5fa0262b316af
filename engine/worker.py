"""What runs inside a pool worker process: the initializer and the chunk runner.

Kept apart from runner.py so a spawned worker imports only this, convert.py and Pillow; the
main process imports this module for run_chunk's name but never loads convert.py or Pillow.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
import traceback
from typing import Any

from .report import make_result
from .scan import Job

_MESSAGES: Any = None  # the pool's SimpleQueue of start/done messages
_PAUSE: Any = None  # set while the batch is paused: hand the rest of a chunk back
_CURRENT = 0  # the file id being converted, for the "publishing" message
_CURRENT_SOURCE = ""
_FAULTS: list[tuple[str, str]] = []  # (kind, path substring), from PIXMILL_FAULTS
_START_ERROR: str | None = None  # why this worker cannot convert anything, if it cannot


def init_worker(
    messages: Any, cancel: Any, pause: Any, temp_tag: str, memory_limit: int | None
) -> None:
    """Pool initializer: ignore Ctrl-C (the main process cancels cleanly), cap memory, and keep
    the message queue and the cancel and pause events for run_chunk.

    Never raises. A worker whose start-up fails (Pillow missing or broken, say) stays up and
    answers every file it is given with the reason: an initializer that raised would make
    the Pool start a replacement that fails the same way, over and over, while the batch
    waited."""
    global _MESSAGES, _PAUSE, _START_ERROR
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})  # born blocked: see pool
    _MESSAGES = messages
    _PAUSE = pause
    _watch_parent()
    try:
        _start(cancel, temp_tag, memory_limit)
    except BaseException as exc:  # noqa: BLE001 - reported with every file instead
        _START_ERROR = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        sys.stderr.write(f"pixmill worker {os.getpid()} could not start:\n")
        traceback.print_exc()
    _send(("ready", 0, (os.getpid(), _START_ERROR)))


def _start(cancel: Any, temp_tag: str, memory_limit: int | None) -> None:
    _FAULTS[:] = _parse_faults(os.environ.get("PIXMILL_FAULTS", ""))
    for kind, _ in _FAULTS:
        if kind == "start-exit":
            os._exit(3)  # as if a library crashed the process while it was loaded
        if kind == "start":
            raise ImportError("injected start-up failure")
    from . import convert  # the worker's real work; the main process never needs Pillow

    if memory_limit:
        _limit_memory(memory_limit)
    _keep_freed_memory()
    if any(kind == "crash-after-publish" for kind, _ in _FAULTS):
        convert.CONTEXT.published = _crash_after_publish
    # Temp names carry the pid, so the runner can sweep exactly what a dead worker left.
    convert.set_worker_context(f"{temp_tag}{os.getpid()}-", cancel)
    convert.CONTEXT.announce = _announce


def _announce(info: dict[str, Any]) -> None:
    """Tell the runner an output is about to be published (see runner._crashed)."""
    _send(("publishing", _CURRENT, info))


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


_FAULT_KINDS = ("crash", "hang", "alloc", "slow", "crash-after-publish", "start", "start-exit")


def _parse_faults(spec: str) -> list[tuple[str, str]]:
    """PIXMILL_FAULTS="crash:substr,hang:substr,alloc:substr,slow:substr,
    crash-after-publish:substr,start:any,start-exit:any": fault injection for the reliability
    tests and the packaged smoke test ("start" fails every worker's start-up, "start-exit"
    ends every worker process during it). Unset in normal use."""
    out = []
    for item in spec.split(","):
        kind, _, needle = item.strip().partition(":")
        if kind in _FAULT_KINDS and needle:
            out.append((kind, needle))
    return out


def _crash_after_publish(final: str | None) -> None:
    """Die right after the output is in place, before the runner hears of it."""
    if any(k == "crash-after-publish" and n in _CURRENT_SOURCE for k, n in _FAULTS):
        os.kill(os.getpid(), getattr(signal, "SIGKILL", signal.SIGTERM))


def _inject_fault(source: str) -> None:
    for kind, needle in _FAULTS:
        if needle not in source or kind == "crash-after-publish":
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


def _keep_freed_memory() -> None:
    """Let glibc reuse freed image buffers instead of returning them to the kernel.

    Pillow allocates each frame, plane and resize pass afresh. Above glibc's mmap threshold
    every one of those is a new mapping whose pages the kernel must fault in and zero: for a
    12 MP JPEG that was a fifth of the worker's time, all of it system time. With these two
    thresholds raised the buffers come from the heap and are reused, file after file; the
    peak footprint is the same, the worker just keeps it between files."""
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        mallopt = ctypes.CDLL(None).mallopt
    except (ImportError, OSError, AttributeError):  # not glibc
        return
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    m_trim_threshold, m_mmap_threshold = -1, -3
    mallopt(m_mmap_threshold, 32 << 20)  # glibc's own ceiling for this setting
    mallopt(m_trim_threshold, 128 << 20)


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


def run_chunk(items: list[tuple[int, Job]]) -> list[dict[str, Any]]:
    """Convert a chunk of files (one, or several small ones), reporting each on the message
    queue: ("start", file id, pid) before it, ("done", file id, result) after it, or
    ("deferred", file id, None) for the files left when the batch is paused. Never raises;
    returns the results the queue could not carry (normally none)."""
    global _CURRENT, _CURRENT_SOURCE
    pid = os.getpid()
    undelivered: list[dict[str, Any]] = []
    for n, (fid, job) in enumerate(items):
        _CURRENT, _CURRENT_SOURCE = fid, job.source
        if _PAUSE is not None and _PAUSE.is_set():
            for rest, _ in items[n:]:
                _send(("deferred", rest, None))
            break
        _send(("start", fid, pid))
        result = _convert(job)
        result["file"] = fid
        if not _send(("done", fid, result)):
            undelivered.append(result)
    return undelivered


def _convert(job: Job) -> dict[str, Any]:
    """One file's result; never raises."""
    if _START_ERROR is not None:
        why = f"the worker process could not start: {_START_ERROR}"
        return make_result(job.index, job.source, "failed", why, None, job.size)
    from . import convert

    try:
        if _FAULTS:
            _inject_fault(job.source)
        return convert.convert_one(job)
    except BaseException as exc:  # noqa: BLE001 - a worker must always answer
        return make_result(
            job.index,
            job.source,
            "failed",
            convert.describe_error(exc, job),
            None,
            job.size,
            traceback.format_exc(),
        )


def _send(message: tuple[Any, ...]) -> bool:
    try:
        _MESSAGES.put(message)
        return True
    except Exception:
        return False
