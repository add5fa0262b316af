"""Letting go of big containers a slice at a time (issue 19).

Freeing a list, set or dict of 100,000 objects is one C call that holds the GIL until the last
item is gone. At the end of planning, the scan's sources, its set of files seen and the target
keys held it 15-45 ms each on the planner thread, in which the window's thread could not run
(it waits for the GIL between every call from Qt into Python). let_go empties a container in
slices instead, and another thread may take the GIL between them.
"""

from __future__ import annotations

from typing import Any

#: Items freed in one go (well under a millisecond of holding the GIL).
SLICE = 2048


def let_go(container: list[Any] | set[Any] | dict[Any, Any]) -> None:
    """Empty container (a list, set or dict) a slice at a time; the caller's other
    references to its items keep them alive as usual."""
    if isinstance(container, list):
        while container:
            del container[-SLICE:]
        return
    pop = container.popitem if isinstance(container, dict) else container.pop
    while container:
        for _ in range(min(SLICE, len(container))):
            pop()
