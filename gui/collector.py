"""Short garbage-collector pauses while a big batch is planned and run (issue 19).

CPython's cyclic garbage collector runs on whichever thread happens to allocate, holds the
GIL while it works, and a full collection walks every object it tracks. A batch of 100,000
files keeps about six tracked objects per file alive (planned jobs, result rows, the
report's records), so a full collection took 0.1 s at 20,000 files and grows with the batch:
the window could not paint meanwhile, whichever thread had started it.

While a batch is prepared or runs, and while the sources are counted, CollectorPacer turns
the automatic collections off, collects every PACE_MS from the GUI thread and then freezes
what survived (gc.freeze moves it into the permanent generation, which no collection walks).
Each collection then walks only the objects made since the last freeze, so no pause grows
with the batch, and none runs on another thread while holding the GIL. The last batch's
objects stay frozen until they are dropped (reference counting frees them as usual); only a
reference cycle that dies after it was frozen stays until the process ends. Cycles are rare in
what a batch keeps (plain dicts, jobs, reports), and each freeze collects first, so garbage is
never frozen. (Unfreezing when the next batch starts was tried: the full collection of
everything then took 50 ms at Start.)
"""

from __future__ import annotations

import gc

from PySide6.QtCore import QObject, QTimer, Slot

#: How often a running batch's new objects are collected and frozen (milliseconds).
PACE_MS = 50


class CollectorPacer(QObject):
    """Collects and freezes every PACE_MS while anything holds it (GUI thread): the batch
    controller while a batch is prepared or runs, the window while the sources are counted.

    Attributes:
        active: whether the pacing timer runs.
    """

    def __init__(self, parent: QObject | None = None, interval_ms: int = PACE_MS) -> None:
        super().__init__(parent)
        self._holders: set[str] = set()
        self._was_enabled = True
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self.settle)

    @property
    def active(self) -> bool:
        return self._timer.isActive()

    def hold(self, holder: str, on: bool) -> None:
        """holder ("batch", "scan") starts (on) or stops making many objects. Pacing starts
        with the first holder, at once (what piled up before need not be walked again), and
        ends with the last one, with one more freeze (the batch's results, the files found)."""
        if on:
            self._holders.add(holder)
        else:
            self._holders.discard(holder)
        if self._holders and not self._timer.isActive():
            self.settle(full=True)
            # Only the ticks collect meanwhile: an automatic collection runs on whichever
            # thread allocates (the planner making 100,000 jobs) and held the GIL 50 ms.
            self._was_enabled = gc.isenabled()
            gc.disable()
            self._timer.start()
        elif not self._holders and self._timer.isActive():
            self._timer.stop()
            if self._was_enabled:
                gc.enable()
            self.settle(full=True)

    @Slot()
    def settle(self, full: bool = False) -> None:
        """Collect, then freeze the survivors. On a tick only the young generations are
        collected (a full collection of the 100,000 jobs a plan makes in one tick took 49 ms
        on the GUI thread): a reference cycle that died in the old one is frozen with the
        rest. full: everything made since the last freeze."""
        gc.collect(2 if full else 1)
        gc.freeze()
