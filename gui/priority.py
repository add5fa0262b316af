"""The window's worker processes yield the CPU to the window (issue 19).

On a busy machine (two cores, two workers converting, anything else running) the GUI thread
waited 0.1-0.25 s at a time for a CPU while converting 20,000 small files: scheduled as an
equal of the workers it feeds, it could not paint. Workers at a lower priority (a higher
niceness) lose nothing when the machine has cores to spare, and give way to the window when
it has not. Only the window does this (the CLI's workers are the user's whole job); only
raising niceness is asked, which needs no privilege. Where the system has no setpriority
(Windows) nothing happens.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

#: The niceness the window gives its pool's workers (0 is the user's default, 19 the lowest).
WORKER_NICENESS = 10


class WorkerPriority:
    """Lowers the priority of worker processes, each once (pool workers come and go: call
    lower() with the current pids whenever they may have changed; it is cheap)."""

    def __init__(self, niceness: int = WORKER_NICENESS) -> None:
        self.niceness = niceness
        self._done: set[int] = set()

    def lower(self, pids: Iterable[int]) -> list[int]:
        """Give every pid not seen before the niceness; returns the pids changed now."""
        setpriority = getattr(os, "setpriority", None)
        if setpriority is None:
            return []
        changed = []
        current = set(pids)
        for pid in current - self._done:
            try:
                if os.getpriority(os.PRIO_PROCESS, pid) < self.niceness:
                    setpriority(os.PRIO_PROCESS, pid, self.niceness)
                    changed.append(pid)
            except OSError:  # gone already, or not ours to change
                pass
            self._done.add(pid)
        self._done &= current  # a pid of a worker that is gone may come back as another one
        return changed
