"""engine.piecemeal.let_go: big containers emptied a slice at a time."""

from __future__ import annotations

import sys

import pytest

from pixmill.engine.piecemeal import SLICE, let_go

pytestmark = pytest.mark.timeout(30)


@pytest.mark.parametrize("n", [0, 1, SLICE, 3 * SLICE + 5])
def test_lists_sets_and_dicts_end_empty_whatever_their_size(n):
    items = [object() for _ in range(n)]
    kept = items[n // 2] if n else None
    before = sys.getrefcount(kept) if n else 0
    containers = [list(items), set(items), {o: i for i, o in enumerate(items)}]
    for c in containers:
        let_go(c)
        assert len(c) == 0
    if n:  # the containers let go of their references; the caller's own one remains
        assert sys.getrefcount(kept) == before


def test_items_only_the_container_held_are_freed_as_it_empties():
    import weakref

    class Item:
        pass

    items = [Item() for _ in range(2 * SLICE + 1)]
    refs = [weakref.ref(o) for o in items]
    let_go(items)
    assert all(r() is None for r in refs)
