"""The benchmark's own meter: peak RSS of the main process and of its largest descendant."""

from __future__ import annotations

import sys

import measure
import pytest

pytestmark = [
    pytest.mark.timeout(60),
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc"),
]

# A small parent (depth 2) whose child and grandchild each hold 150 MB for a while.
_TREE = """
import subprocess, sys, time
depth = int(sys.argv[1])
if depth:
    child = subprocess.Popen([sys.executable, "-c", sys.argv[2], str(depth - 1), sys.argv[2]])
if depth < 2:
    hoard = bytearray(150 << 20)
    hoard[::4096] = b"x" * len(hoard[::4096])  # touch every page
time.sleep(0.6)
if depth:
    child.wait()
"""


@pytest.mark.parametrize("direct", [True, False], ids=["children-files", "proc-scan"])
def test_peak_rss_of_main_process_and_of_a_grandchild(monkeypatch, direct):
    orig = measure.TreeSampler.__init__

    def init(self, root):
        orig(self, root)
        if not direct:
            self._direct = False

    monkeypatch.setattr(measure.TreeSampler, "__init__", init)
    res = measure.run_measured([sys.executable, "-c", _TREE, "2", _TREE])
    assert res.returncode == 0
    assert res.main_rss_mb is not None and res.main_rss_mb < 60
    assert res.worker_rss_mb is not None and res.worker_rss_mb > 140
    assert res.seconds >= 0.6 and res.cpu_seconds > 0
