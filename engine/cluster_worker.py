"""What runs inside a Dask worker process for a cluster batch: the pre-flight check, run_chunk
(convert a chunk of files with the same convert_one halves as a pool worker) and the small
controls the client sends with Client.run (cancel a batch, end a process past its time limit).

The worker side: it imports convert.py and Pillow, never the runner, the supervisor, the CLI
or Qt. Dask is imported only inside these functions, which only ever run on a Dask worker.
Only paths, small dicts and events cross the network; pixels stay on the worker.
"""

from __future__ import annotations

import os
import signal
import sys
import tempfile
import threading
import time
import traceback
from typing import Any

from .errors import describe_error
from .faults import Faults
from .i18n import _
from .job import Job
from .result import job_result
from .worker import _keep_freed_memory as keep_freed_memory  # the pool worker's own

_SIGKILL = getattr(signal, "SIGKILL", signal.SIGTERM)
#: Threads that sync and name a worker process's outputs, and files that may wait for them.
_PUBLISH_THREADS = 4
_PUBLISH_AHEAD = 16
_CLOSING = frozenset({"closing", "closed", "failed", "closing_gracefully"})


class _Process:
    """This worker process's side of cluster batches: its id in temp-file names, the batches
    cancelled here, and whether the memory ceiling is set."""

    def __init__(self) -> None:
        # Not the pid alone: two machines may run workers with the same pid, and the client
        # sweeps a dead worker's temp files by this id.
        self.wid = f"{os.urandom(3).hex()}{os.getpid()}"
        self.cancelled: set[str] = set()
        self.limited = False
        self.lock = threading.Lock()
        self._publisher: Any = None
        self._slots = threading.BoundedSemaphore(_PUBLISH_AHEAD)

    def publish_later(self, made: Any, hooks: Any, send: Any) -> _Publishing:
        """Sync and name an encoded file on a publisher thread (the disk's wait overlaps
        with the next file's work, and small files' syncs with each other). At most
        _PUBLISH_AHEAD files wait."""
        from concurrent.futures import ThreadPoolExecutor

        from . import convert

        with self.lock:
            if self._publisher is None:
                self._publisher = ThreadPoolExecutor(_PUBLISH_THREADS, "pixmill-publish")
        self._slots.acquire()
        item = _Publishing(send)

        def publish() -> None:
            try:
                item.finish(convert.publish_one(made, hooks))
            finally:
                self._slots.release()

        self._publisher.submit(publish)
        return item


class _Publishing:
    """One file on a publisher thread. Its result goes back exactly once: with its chunk's
    return value if it is ready by then, else on its own as a ("done", ...) event (the
    chunk does not wait for the disk: the worker goes on with its next chunk)."""

    def __init__(self, send: Any) -> None:
        self._send = send
        self._lock = threading.Lock()
        self._result: dict[str, Any] | None = None
        self._handed_over = False

    def finish(self, result: dict[str, Any]) -> None:
        with self._lock:
            self._result = result
            if not self._handed_over:
                return
        self._send(_plain(result))

    def take(self) -> dict[str, Any] | None:
        """The result if ready, else None, and the result will follow as an event."""
        with self._lock:
            if self._result is None:
                self._handed_over = True
            return self._result


def _plain(result: dict[str, Any]) -> dict[str, Any]:
    """A result as Dask's events carry them (msgpack: plain values only)."""
    ok = (str, int, float, bool, type(None))
    return {
        k: v if isinstance(v, ok) else [str(x) for x in v] if isinstance(v, list) else str(v)
        for k, v in result.items()
    }


_PROCESS: _Process | None = None


def _process() -> _Process:
    global _PROCESS
    if _PROCESS is None or not _PROCESS.wid.endswith(str(os.getpid())):
        _PROCESS = _Process()
    return _PROCESS


def topic(token: str) -> str:
    """The Dask event topic of one batch's per-file messages."""
    return f"pixmill-{token}"


def expected_versions() -> dict[str, str]:
    """What a worker must match: Pixmill's and Pillow's versions."""
    from PIL import __version__ as pillow

    from . import __version__ as pixmill

    return {"Pixmill": pixmill, "Pillow": pillow}


def check_worker(expect: dict[str, str], inputs: list[str], outputs: list[str]) -> dict[str, Any]:
    """The pre-flight check on one worker (run by Client.run): the versions match expect, the
    format plugins load, each input folder is visible and readable and each output folder
    (or its nearest existing parent) is writable. Returns {"problems": [...], "versions":
    {...}}; never raises."""
    problems: list[str] = []
    found: dict[str, str] = {}
    try:
        from . import codecs

        found = {**expected_versions(), **codecs.versions()}
        for name, want in expect.items():
            if found.get(name) != want:
                problems.append(
                    _("{name} {here} here, {client} on the client").format(
                        name=name, here=found.get(name, _("missing")), client=want
                    )
                )
        for name, why in codecs.UNAVAILABLE.items():
            problems.append(
                _("the {name} format plugin does not load: {why}").format(name=name, why=why)
            )
    except BaseException as exc:  # noqa: BLE001 - reported, not raised
        problems.append(
            _("Pixmill cannot load: {error}").format(error=f"{type(exc).__name__}: {exc}")
        )
    for folder in inputs:
        if not os.path.isdir(folder):
            problems.append(_("input folder {folder} is not visible").format(folder=folder))
        elif not os.access(folder, os.R_OK | os.X_OK):
            problems.append(_("input folder {folder} is not readable").format(folder=folder))
    for folder in outputs:
        why = _unwritable(folder)
        if why:
            problems.append(why)
    return {"problems": problems, "versions": found}


def _unwritable(folder: str) -> str | None:
    """Why the worker cannot write into folder (made when missing), or None."""
    existing = folder
    while not os.path.isdir(existing):
        parent = os.path.dirname(existing)
        if parent == existing or os.path.lexists(existing):
            return _("output folder {folder} is not visible").format(folder=folder)
        existing = parent
    try:
        fd, path = tempfile.mkstemp(prefix=".pixmill-check-", suffix=".tmp", dir=existing)
    except OSError as exc:
        return _("output folder {folder} is not writable: {error}").format(
            folder=folder, error=exc.strerror or exc
        )
    os.close(fd)
    try:
        os.unlink(path)
    except OSError:
        pass
    return None


def cancel(token: str) -> None:
    """Client.run: the batch token's running files stop at their next checkpoint."""
    proc = _process()
    with proc.lock:
        proc.cancelled.add(token)


def end_process(wid: str) -> bool:
    """Client.run: end this worker process if it is the one called wid (a file took longer
    than the time limit here); its nanny starts a fresh one."""
    if _process().wid != wid:
        return False
    os.kill(os.getpid(), _SIGKILL)
    return True


def _limit_memory(limit: int | None | str, worker: Any) -> None:
    """The memory ceiling, once per process: limit more bytes of address space than the
    worker uses now ("auto": the Dask worker's own memory limit, else 80 % of this machine's
    RAM), so a runaway decode raises MemoryError in its file instead of waking the
    out-of-memory killer. The Dask worker's nanny stays the last guard."""
    if limit is None:
        return
    try:
        import resource
    except ImportError:
        return
    if limit == "auto":
        own = getattr(getattr(worker, "memory_manager", None), "memory_limit", None)
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
        limit = max(2 << 30, int(own or total * 0.8))
    try:
        with open("/proc/self/statm") as f:
            used = int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        used = 0
    try:
        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        want = used + int(limit)
        if hard != resource.RLIM_INFINITY:
            want = min(want, hard)
        if soft == resource.RLIM_INFINITY or want < soft:
            resource.setrlimit(resource.RLIMIT_AS, (want, hard))
    except (ValueError, OSError):
        pass


def run_chunk(token: str, items: list[tuple[int, Job]], settings: dict[str, Any]) -> list[Any]:
    """Convert a chunk of files on this Dask worker, telling the client ("start", file id,
    worker id, pid) before each and ("publishing", file id, info) just before its output gets
    its name. As in a pool worker, each output is synced and named on a publisher thread
    while the next file converts. Returns [(file id, result)] for the files of the chunk, in
    order, result None for a file still being published: ("done", file id, result) follows.
    Never raises."""
    from distributed import get_worker

    from . import convert

    worker = get_worker()
    proc = _process()
    with proc.lock:
        if not proc.limited:
            proc.limited = True
            _limit_memory(settings.get("memory_limit"), worker)
            # As in a pool worker: glibc reuses freed image buffers instead of handing them
            # back (Dask's nanny asks for the opposite, MALLOC_TRIM_THRESHOLD_=65536, which
            # suits dataframes, not a decode of the same size file after file).
            keep_freed_memory()
    name = topic(token)
    faults = Faults.from_env()

    def cancelled() -> bool:
        # A worker that lost its scheduler is closing: the client has failed these files,
        # so none may be published now.
        return token in proc.cancelled or worker.status.name in _CLOSING

    out: list[Any] = []
    for fid, job in items:
        if cancelled():
            out.append((fid, job_result(job, "cancelled")))
            continue
        worker.log_event(name, ("start", fid, proc.wid, os.getpid()))
        hooks = convert.Hooks(
            temp_tag=f"{token}{proc.wid}-",
            cancelled=cancelled,
            announce=lambda info, fid=fid: worker.log_event(name, ("publishing", fid, info)),
            published=(lambda final, s=job.source: faults.published(s))
            if faults.after_publish
            else None,
        )
        try:
            if faults:
                # An injected crash kills at once; let the start event leave first, as it
                # does before a real crash deep inside a decode.
                time.sleep(0.05)
                faults.before_convert(job.source)
            made = convert.encode_one(job, hooks)
        except BaseException as exc:  # noqa: BLE001 - a worker must always answer
            tb = traceback.format_exc()
            made = job_result(job, "failed", describe_error(exc, job), traceback=tb)
        if not isinstance(made, dict):
            made = proc.publish_later(
                made, hooks, lambda r, fid=fid: worker.log_event(name, ("done", fid, r))
            )
        out.append((fid, made))
    sys.stderr.flush()
    # None: still being published; its result follows as an event.
    return [(fid, r if isinstance(r, dict) else r.take()) for fid, r in out]
