"""What runs inside a pool worker process: its start-up (signals, memory ceiling, allocator,
the hooks convert_one gets) and run_chunk, which converts a chunk of files and reports each
on the pool's message queue.

The main process imports this module for run_chunk's name only; a spawned worker imports it,
convert.py and Pillow, never the runner, the pool or Qt. Its messages are in the language of
the environment it was started with (i18n.py: PIXMILL_LANGUAGE, then LANGUAGE, LC_ALL...).
"""

from __future__ import annotations

import dataclasses
import os
import signal
import sys
import threading
import time
import traceback
from typing import Any

from .errors import describe_error
from .faults import Faults
from .i18n import _
from .job import Job
from .result import job_result


class _Worker:
    """This process's side of the pool: the message queue, the pause event, the hooks for
    convert_one, and why it cannot convert anything (if it cannot)."""

    def __init__(self, messages: Any, pause: Any) -> None:
        self.messages = messages
        self.pause = pause
        self.faults = Faults()
        self.hooks: Any = None
        self.start_error: str | None = None
        self.publisher: Any = None  # a ThreadPoolExecutor, made at the first publish
        self.publish_slots = threading.BoundedSemaphore(_PUBLISH_AHEAD)

    def send(self, message: tuple[Any, ...]) -> bool:
        try:
            self.messages.put(message)
            return True
        except Exception:
            return False

    def publish_later(self, fid: int, made: Any) -> None:
        """Sync and name an encoded file on a publisher thread while this one converts the
        next: waiting for the disk overlaps with work, and the syncs of several small files
        overlap with each other (the file system commits them together). At most
        _PUBLISH_AHEAD files wait; the "done" message goes out once the file has its name."""
        self._submit(self._publish, fid, made)

    def publish_chunk_later(self, made: list[tuple[int, Any]]) -> None:
        """The encoded files of a chunk of small files, published together on a publisher
        thread: their data synced together (publish.sync_many: one syncfs, or one journal
        commit, for the chunk instead of one per file), then their names."""
        self._submit(self._publish_chunk, made)

    def _submit(self, work: Any, *args: Any) -> None:
        """Run work(*args) on a publisher thread once one of the _PUBLISH_AHEAD slots is free
        (work releases it)."""
        if self.publisher is None:
            from concurrent.futures import ThreadPoolExecutor

            self.publisher = ThreadPoolExecutor(_PUBLISH_THREADS, "pixmill-publish")
        self.publish_slots.acquire()
        self.publisher.submit(work, *args)

    def _publish_chunk(self, made: list[tuple[int, Any]]) -> None:
        """One message announces every name the chunk may make (before the first is made),
        one carries every result (after the last): two instead of two per file."""
        from . import convert
        from .publish import sync_many

        try:
            results = []
            written = []
            for fid, one in made:  # the files still in memory get their temp files first
                failed = convert.write_encoded(one, self.hooks)
                if failed is None:
                    written.append((fid, one))
                else:
                    failed["file"] = fid
                    results.append((fid, failed))
            made = written
            synced = False
            try:
                durable = [one for _, one in made if one.job.sync]
                sync_many(
                    [one.fd for one in durable],
                    {os.path.dirname(one.job.target) for one in durable},
                )
                synced = True
            except OSError:
                pass  # each file's own sync will say what is wrong
            self.send(("publishing*", 0, [(fid, one.info) for fid, one in made]))
            hooks = dataclasses.replace(self.hooks, announce=None)
            for fid, one in made:
                if self.faults.after_publish:
                    hooks = dataclasses.replace(hooks, published=self._crash_after(one))
                result = convert.publish_one(one, hooks, synced)
                result["file"] = fid
                results.append((fid, result))
            if not self.send(("done*", 0, results)):
                sys.stderr.write(f"pixmill worker {os.getpid()}: results were lost\n")
        finally:
            self.publish_slots.release()

    def _crash_after(self, made: Any) -> Any:
        return lambda final: self.faults.published(made.job.source)

    def _publish(self, fid: int, made: Any) -> None:
        try:
            self._publish_one(fid, made, False)
        finally:
            self.publish_slots.release()

    def _publish_one(self, fid: int, made: Any, synced: bool) -> None:
        from . import convert

        hooks = dataclasses.replace(
            self.hooks,
            announce=lambda info: self.send(("publishing", fid, info)),
            published=(
                (lambda final: self.faults.published(made.job.source))
                if self.faults.after_publish
                else None
            ),
        )
        result = convert.publish_one(made, hooks, synced)
        result["file"] = fid
        if not self.send(("done", fid, result)):
            sys.stderr.write(f"pixmill worker {os.getpid()}: a result was lost\n")


_WORKER: _Worker | None = None
#: Threads that sync and name a worker's outputs, and files that may wait for them.
_PUBLISH_THREADS = 4
_PUBLISH_AHEAD = 16


def init_worker(
    messages: Any, cancel: Any, pause: Any, temp_tag: str, memory_limit: int | None
) -> None:
    """Pool initializer: ignore Ctrl-C (the main process cancels cleanly), cap memory, and keep
    the message queue and the cancel and pause events for run_chunk.

    Never raises. A worker whose start-up fails (Pillow missing or broken, say) stays up and
    answers every file it is given with the reason: an initializer that raised would make
    the Pool start a replacement that fails the same way, over and over, while the batch
    waited."""
    global _WORKER
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})  # born blocked: see pool
    worker = _WORKER = _Worker(messages, pause)
    _watch_parent()
    try:
        _start(worker, cancel, temp_tag, memory_limit)
    except BaseException as exc:  # noqa: BLE001 - reported with every file instead
        worker.start_error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        sys.stderr.write(f"pixmill worker {os.getpid()} could not start:\n")
        traceback.print_exc()
    worker.send(("ready", 0, (os.getpid(), worker.start_error)))


def _start(worker: _Worker, cancel: Any, temp_tag: str, memory_limit: int | None) -> None:
    # One thread per worker for numpy's BLAS (the quality metric's matrix products): the pool
    # already keeps every core busy, and idle BLAS threads spin.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    worker.faults = Faults.from_env()
    worker.faults.at_start()
    from .convert import Hooks  # the worker's real work; the main process never needs Pillow

    if memory_limit:
        _limit_memory(memory_limit)
    _more_open_files()
    _keep_freed_memory()
    capture = _StderrCapture.install()
    worker.hooks = Hooks(
        # Temp names carry the pid, so the runner can sweep exactly what a dead worker left.
        temp_tag=f"{temp_tag}{os.getpid()}-",
        cancelled=cancel.is_set if cancel is not None else None,
        stderr=capture.take if capture is not None else None,
        write_later=True,  # small outputs are written on a publisher thread
    )


class _StderrCapture:
    """The worker's file descriptor 2, turned into an in-memory file: what libtiff, libjpeg or
    libheif print while a file converts becomes that file's warnings (convert_one asks after
    each file: one fstat when nothing was said) instead of lines between the progress bar.
    Python's own sys.stderr keeps writing to the real terminal."""

    def __init__(self, fd: int) -> None:
        self.fd = fd

    @classmethod
    def install(cls) -> _StderrCapture | None:
        try:
            if hasattr(os, "memfd_create"):
                fd = os.memfd_create("pixmill-stderr", getattr(os, "MFD_CLOEXEC", 0))
            else:
                import tempfile

                fd = os.dup(tempfile.TemporaryFile().fileno())  # noqa: SIM115 - kept by fd
            saved = os.dup(2)
            sys.stderr.flush()
            os.dup2(fd, 2)
        except (OSError, ValueError, AttributeError):
            return None
        # Python-level messages (a worker's own tracebacks) still reach the terminal.
        sys.stderr = open(saved, "w", buffering=1, encoding="utf-8", errors="replace")  # noqa: SIM115
        return cls(fd)

    def take(self) -> str:
        """What was written since the last call (the file is emptied)."""
        try:
            size = os.fstat(self.fd).st_size
            if not size:
                return ""
            os.lseek(self.fd, 0, os.SEEK_SET)  # fd 2 shares this offset
            data = os.read(self.fd, min(size, 1 << 16))
            os.ftruncate(self.fd, 0)
            os.lseek(self.fd, 0, os.SEEK_SET)
        except OSError:
            return ""
        return data.decode("utf-8", "replace")


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


def _more_open_files() -> None:
    """Raise the soft limit on open files (often 1024) towards the hard one: a chunk of small
    files keeps its outputs open from encoding to publishing, and up to _PUBLISH_AHEAD chunks
    may wait for the disk."""
    try:
        import resource

        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        want = 8192 if hard == resource.RLIM_INFINITY else min(8192, hard)
        if soft != resource.RLIM_INFINITY and soft < want:
            resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    except (ImportError, ValueError, OSError):
        pass


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
    worker = _WORKER
    assert worker is not None, "run_chunk runs in a pool worker started by init_worker"
    pid = os.getpid()
    undelivered: list[dict[str, Any]] = []
    # A chunk of several (small) files is published together, with one sync for all.
    together: list[tuple[int, Any]] | None = [] if len(items) > 1 else None
    for n, (fid, job) in enumerate(items):
        if worker.pause is not None and worker.pause.is_set():
            for rest, _job in items[n:]:
                worker.send(("deferred", rest, None))
            break
        worker.send(("start", fid, pid))
        made = _encode(worker, job)
        if not isinstance(made, dict):
            if together is not None:
                together.append((fid, made))
            else:
                worker.publish_later(fid, made)  # its "done" follows from a publisher thread
            continue
        made["file"] = fid
        if not worker.send(("done", fid, made)):
            undelivered.append(made)
    if together:
        worker.publish_chunk_later(together)  # their "done" follow from a publisher thread
    return undelivered


def _encode(worker: _Worker, job: Job) -> Any:
    """One file encoded into its temp file (convert.Encoded), or its final result; never
    raises."""
    if worker.start_error is not None:
        why = _("the worker process could not start: {error}").format(error=worker.start_error)
        return job_result(job, "failed", why)
    from . import convert

    try:
        if worker.faults:
            worker.faults.before_convert(job.source)
        return convert.encode_one(job, worker.hooks)
    except BaseException as exc:  # noqa: BLE001 - a worker must always answer
        return job_result(job, "failed", describe_error(exc, job), traceback=traceback.format_exc())
