"""Short garbage-collector pauses, and a GIL the GUI thread gets back quickly, while a big
batch is planned and run (issue 19).

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

Meanwhile the GIL's switch interval is GIL_SWITCH_S instead of CPython's 5 ms. The GUI thread
takes and drops the GIL many times an event (every call from Qt into Python does), and while
the planner thread walks 100,000 files in pure Python each take waited up to a whole
interval: at Start the window was blocked 100 ms for 50 ms of its own work. With 1 ms the
planner hands over sooner; switching more often costs it nothing measurable.
"""

from __future__ import annotations

import gc
import sys

from PySide6.QtCore import QObject, QTimer, Slot

#: How often a running batch's new objects are collected and frozen (milliseconds). Each
#: collection walks what was made since the last one: at 50 ms the longest took 28 ms while
#: 100,000 results came in.
PACE_MS = 25
#: The GIL's switch interval while anything holds the pacer (seconds; CPython's is 0.005).
GIL_SWITCH_S = 0.001


class CollectorPacer(QObject):
    """Collects and freezes every PACE_MS, and keeps the GIL's switch interval at
    GIL_SWITCH_S, while anything holds it (GUI thread): the batch controller while a batch is
    prepared or runs, the window while the sources are counted.

    Attributes:
        active: whether the pacing timer runs.
    """

    def __init__(self, parent: QObject | None = None, interval_ms: int = PACE_MS) -> None:
        super().__init__(parent)
        self._holders: set[str] = set()
        self._was_enabled = True
        self._switch_interval = sys.getswitchinterval()
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
            self._switch_interval = sys.getswitchinterval()
            sys.setswitchinterval(min(self._switch_interval, GIL_SWITCH_S))
            self._timer.start()
        elif not self._holders and self._timer.isActive():
            self._timer.stop()
            sys.setswitchinterval(self._switch_interval)
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
