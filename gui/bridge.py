"""The one place where work on other threads reaches the GUI thread.

Engine callbacks (the runner's supervisor thread) and background tasks (scans, planning, pool
shutdown) only ever call `signal.emit(payload)` on a QObject that lives in the GUI thread. Qt
queues those emits into the GUI thread, where slots coalesce them: the first result rows and
progress snapshot are shown at once, later ones at most about 30 times a second, never once
per file.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal, Slot

from pixmill.engine.events import BatchListener, Progress, Throttle
from pixmill.engine.report import Report

log = logging.getLogger(__name__)

#: How often coalesced results and progress reach the views (milliseconds, about 30 Hz).
FLUSH_INTERVAL_MS = 33


class BatchBridge(QObject):
    """Turns a BatchRunner's listener calls into coalesced GUI-thread signals.

    Create it in the GUI thread and pass `listener()` to `BatchRunner.start()`. Everything the
    listener receives is re-emitted in the GUI thread, in order.

    Signals:
        batchStarted(object): int, the number of planned files.
        currentFile(object): str, the source a worker started most recently (coalesced).
        resultsReady(object): list[dict], new engine result dicts in arrival order (coalesced).
        progressChanged(object): engine.events.Progress, the newest snapshot (older ones are
            dropped).
        batchFinished(object): engine.report.Report. Every result and the final progress have
            been flushed before it is emitted.
    """

    batchStarted = Signal(object)
    currentFile = Signal(object)
    resultsReady = Signal(object)
    progressChanged = Signal(object)
    batchFinished = Signal(object)

    # Emitted from the runner's supervisor thread; delivered queued into the GUI thread.
    _started = Signal(object)
    _mail = Signal(object)  # a _Relay whose mailbox stopped being empty
    _finished = Signal(object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._pending: list[dict[str, Any]] = []
        self._progress_snapshot: Progress | None = None
        self._current: str | None = None
        self._mailboxes: list[_Relay] = []  # relays with mail not yet taken
        self._throttle = Throttle(FLUSH_INTERVAL_MS / 1000)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._schedule)
        self._started.connect(self._on_started)
        self._mail.connect(self._on_mail)
        self._finished.connect(self._on_finished)

    def listener(self) -> BatchListener:
        """A BatchListener that forwards every call to this bridge (any thread may call it)."""
        return _Relay(self)

    @Slot(object)
    def _on_started(self, total: int) -> None:
        self._pending.clear()
        self._mailboxes.clear()
        self._progress_snapshot = None
        self._current = None
        self._timer.stop()
        self._throttle.reset()
        self.batchStarted.emit(total)

    @Slot(object)
    def _on_mail(self, relay: _Relay) -> None:
        # The mail stays in the relay until the flush takes it: until then the relay's
        # mailbox is not empty, so it does not wake this thread again (one wake a flush).
        if relay not in self._mailboxes:
            self._mailboxes.append(relay)
        self._schedule()

    def _take_mail(self) -> None:
        for relay in self._mailboxes:
            results, current, snapshot = relay.take()
            self._pending.extend(results)
            if current is not None:
                self._current = current
            if snapshot is not None:
                self._progress_snapshot = snapshot
        self._mailboxes.clear()

    @Slot(object)
    def _on_finished(self, report: Report) -> None:
        self._timer.stop()
        self.flush()
        self.batchFinished.emit(report)

    @Slot()
    def _schedule(self) -> None:
        """Flush now if the last flush is long enough ago, else once it is."""
        if self._timer.isActive():
            return
        delay = self._throttle.wait()
        if delay <= 0:
            self.flush()
        else:
            self._timer.start(max(1, math.ceil(delay * 1000)))

    @Slot()
    def flush(self) -> None:
        """Emit what has piled up since the last flush (rows first, then progress)."""
        self._take_mail()
        if self._current is not None:
            current, self._current = self._current, None
            self.currentFile.emit(current)
        if self._pending:
            batch, self._pending = self._pending, []
            self.resultsReady.emit(batch)
        if self._progress_snapshot is not None:
            snap, self._progress_snapshot = self._progress_snapshot, None
            self.progressChanged.emit(snap)


class _Relay(BatchListener):
    """The runner-side half of the bridge: it never touches widgets.

    Start and finish are signals of their own. Results, the current file and progress go
    into a mailbox, and one signal wakes the GUI thread when the mailbox stops being empty;
    the bridge empties it when it flushes: one queued event per flush instead of three a
    file. Each event takes the GIL on the GUI thread, and at 1,000 files a second they kept
    it waiting behind the runner's threads."""

    def __init__(self, bridge: BatchBridge) -> None:
        self._bridge = bridge
        self._lock = threading.Lock()
        self._results: list[dict[str, Any]] = []
        self._current: str | None = None
        self._progress: Progress | None = None

    def _emit(self, signal_name: str, payload: Any) -> None:
        try:
            getattr(self._bridge, signal_name).emit(payload)
        except RuntimeError:  # the window (and its bridge) is already gone
            pass

    def _put(
        self,
        result: dict[str, Any] | None = None,
        current: str | None = None,
        snapshot: Progress | None = None,
    ) -> None:
        """Into the mailbox; the GUI thread is woken when it was empty (once until it takes)."""
        with self._lock:
            wake = not self._results and self._current is None and self._progress is None
            if result is not None:
                self._results.append(result)
            if current is not None:
                self._current = current
            if snapshot is not None:
                self._progress = snapshot
        if wake:
            self._emit("_mail", self)

    def take(self) -> tuple[list[dict[str, Any]], str | None, Progress | None]:
        """(results, newest current file, newest progress) since the last take (GUI thread)."""
        with self._lock:
            mail = (self._results, self._current, self._progress)
            self._results, self._current, self._progress = [], None, None
        return mail

    def batch_started(self, total: int) -> None:
        self._emit("_started", total)

    def job_started(self, index: int, source: str) -> None:
        self._put(current=source)

    def job_finished(self, result: dict[str, Any]) -> None:
        self._put(result=result)

    def progress(self, snapshot: Progress) -> None:
        self._put(snapshot=snapshot)

    def batch_finished(self, report: Report) -> None:
        report.keep_summary()  # here, on the runner's thread: the window reads it next
        self._emit("_finished", report)


class BackgroundTask(QObject):
    """Runs `fn(cancelled)` once on a daemon thread and reports back in the GUI thread.

    `cancelled` is a callable returning True once `cancel()` was called; the function should
    check it (engine scans take it as their `cancel=` argument) and may raise to stop. Exactly
    one of the three signals is emitted, after which the task is done.

    Signals:
        finished(object): the function's return value.
        failed(object): the BaseException it raised.
        cancelled(object): None; cancel() was called before the function returned.
    """

    finished = Signal(object)
    failed = Signal(object)
    cancelled = Signal(object)

    _done = Signal(object)

    def __init__(
        self, fn: Callable[[Callable[[], bool]], Any], name: str, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self._fn = fn
        self._cancel = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"pixmill-{name}", daemon=True)
        self._running = False
        self._done.connect(self._on_done)

    @property
    def running(self) -> bool:
        return self._running

    def start(self) -> None:
        self._running = True
        self._thread.start()

    def cancel(self) -> None:
        self._cancel.set()

    @property
    def cancel_requested(self) -> bool:
        return self._cancel.is_set()

    def _run(self) -> None:
        try:
            outcome: tuple[str, Any] = ("finished", self._fn(self._cancel.is_set))
        except BaseException as exc:  # reported to the GUI thread, never lost
            outcome = ("failed", exc)
        if self._cancel.is_set():
            outcome = ("cancelled", None)
        try:
            self._done.emit(outcome)
        except RuntimeError:  # the owner was deleted while we worked
            pass

    @Slot(object)
    def _on_done(self, outcome: tuple[str, Any]) -> None:
        self._running = False
        kind, payload = outcome
        if kind == "failed":
            log.debug("background task failed", exc_info=payload)
        getattr(self, kind).emit(payload)
