"""Fault-injection suite: real pools, real SIGKILLs, real full disks.

The shared kit (corpus, invariants, trial runners) lives in tests/torture/faultkit so the
torture driver runs exactly the same trials for longer.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator

import pytest

_TORTURE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "torture")
if _TORTURE not in sys.path:
    sys.path.insert(0, _TORTURE)

from faultkit import batch, procs  # noqa: E402

if not sys.platform.startswith("linux"):
    collect_ignore_glob = ["test_*.py"]  # the kit reads /proc and uses POSIX signals


@pytest.fixture(autouse=True)
def _no_process_outlives_a_test() -> Iterator[None]:
    """Invariant 4 at test granularity: orphans re-parent to us (subreaper), and every
    child started during the test must be gone when it ends."""
    import multiprocessing.resource_tracker as rt

    procs.set_subreaper(True)
    before = procs.children()
    yield
    batch.close_all()
    tracker = getattr(rt._resource_tracker, "_pid", None)
    left = procs.children() - before - {tracker}
    survivors = procs.wait_gone([w for w in map(procs.ident, left) if w], timeout=8.0)
    procs.reap_orphans()
    procs.set_subreaper(False)
    assert not survivors, "processes outlived the test: " + ", ".join(
        procs.describe(w) for w in survivors
    )
