"""What a running batch tells its listener: the BatchListener protocol, the Progress snapshot
and the meter that makes it, and the Throttle every face uses to show updates at a human rate.

The CLI's console and the window's bridge are both BatchListeners; all calls come from the
runner's supervisor thread.
"""

from __future__ import annotations

import collections
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .result import STATUSES

if TYPE_CHECKING:
    from .report import Report

log = logging.getLogger(__name__)

#: Throughput is measured over the files finished in this many recent seconds.
RATE_WINDOW = 10.0


@dataclass(frozen=True)
class Progress:
    """A snapshot of a running batch."""

    done: int
    total: int
    ok: int
    skipped: int
    failed: int
    cancelled: int
    elapsed: float
    files_per_s: float
    bytes_per_s: float
    eta_s: float | None
    paused: bool = False

    @property
    def fraction(self) -> float:
        return self.done / self.total if self.total else 1.0


class BatchListener:
    """Receives a batch's events, all from the runner's supervisor thread. Override what you
    need; an exception raised here is logged and never stops result delivery."""

    def batch_started(self, total: int) -> None:
        pass

    def job_started(self, index: int, source: str) -> None:
        pass

    def job_finished(self, result: dict[str, Any]) -> None:
        pass

    def progress(self, snapshot: Progress) -> None:
        pass

    def batch_finished(self, report: Report) -> None:
        pass


class Fanout(BatchListener):
    """Tells several listeners, in order; one that raises does not keep the event from the
    others."""

    def __init__(self, *listeners: BatchListener) -> None:
        self.listeners = listeners

    def _tell(self, name: str, *args: Any) -> None:
        for listener in self.listeners:
            try:
                getattr(listener, name)(*args)
            except BaseException:
                log.exception("listener %s failed", name)

    def batch_started(self, total: int) -> None:
        self._tell("batch_started", total)

    def job_started(self, index: int, source: str) -> None:
        self._tell("job_started", index, source)

    def job_finished(self, result: dict[str, Any]) -> None:
        self._tell("job_finished", result)

    def progress(self, snapshot: Progress) -> None:
        self._tell("progress", snapshot)

    def batch_finished(self, report: Report) -> None:
        self._tell("batch_finished", report)


class ProgressMeter:
    """Counts finished files and measures throughput: the files finished in the last
    RATE_WINDOW seconds, over that window or over the batch's unpaused time if that is
    shorter. snapshot() gives the Progress to show."""

    def __init__(self, total: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.total = total
        self.done = 0
        self.counts = dict.fromkeys(STATUSES, 0)
        self._clock = clock
        self._recent: collections.deque[tuple[float, int]] = collections.deque()
        self._recent_bytes = 0  # the sum of the sizes in _recent
        self._active = 0.0
        self._last = clock()

    def tick(self, paused: bool) -> None:
        """Account the time since the last tick as active unless the batch is paused."""
        now = self._clock()
        if not paused:
            self._active += now - self._last
        self._last = now

    def finished(self, status: str, size: int) -> None:
        self.done += 1
        self.counts[status] = self.counts.get(status, 0) + 1
        self._recent.append((self._clock(), size))
        self._recent_bytes += size

    def snapshot(self, elapsed: float, paused: bool) -> Progress:
        now = self._clock()
        while self._recent and now - self._recent[0][0] > RATE_WINDOW:
            self._recent_bytes -= self._recent.popleft()[1]
        span = min(RATE_WINDOW, max(self._active, 1e-6))
        files_per_s = len(self._recent) / span if self._recent else 0.0
        bytes_per_s = self._recent_bytes / span if self._recent else 0.0
        remaining = self.total - self.done
        eta = remaining / files_per_s if files_per_s > 0 and remaining else None
        if not remaining:
            eta = 0.0
        c = self.counts
        return Progress(
            self.done,
            self.total,
            c["ok"],
            c["skipped"],
            c["failed"],
            c["cancelled"],
            elapsed,
            files_per_s,
            bytes_per_s,
            eta,
            paused,
        )


class Throttle:
    """Runs the first update at once, then at most one per interval: wait() says how long
    the caller must hold an update back (0: show it now, and the clock restarts)."""

    def __init__(self, interval: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.interval = interval
        self._clock = clock
        self._last: float | None = None

    def wait(self) -> float:
        now = self._clock()
        remaining = 0.0 if self._last is None else self._last + self.interval - now
        if remaining <= 0.0:
            self._last = now
            return 0.0
        return remaining

    def reset(self) -> None:
        """Let the next update through at once (a new batch)."""
        self._last = None
