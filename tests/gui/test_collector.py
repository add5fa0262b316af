"""What keeps the window responsive on a big batch: the collector pacer (while a batch runs,
what survives is frozen out of later collections, garbage is still collected first, pacing
stops with the batch) and the workers' lower priority."""

from __future__ import annotations

import gc
import os
import subprocess
import sys

import pytest

from pixmill.gui.collector import CollectorPacer

pytestmark = pytest.mark.timeout(30)


class _Cycle:
    def __init__(self) -> None:
        self.me = self


@pytest.fixture
def pacer(qtbot):
    p = CollectorPacer(interval_ms=20)
    yield p
    p.hold("test", False)
    gc.unfreeze()  # leave the other tests a collector as they found it


def _frozen(obj: object) -> bool:
    """obj is in no generation of the collector's (lists and dicts are always tracked, so
    it is in the permanent one)."""
    return not any(o is obj for o in gc.get_objects())


def test_survivors_are_frozen_and_garbage_is_collected_first(pacer):
    kept = [{"row": i, "warnings": []} for i in range(5000)]
    garbage = _Cycle()
    probe = id(garbage)
    del garbage
    pacer.hold("test", True)
    assert pacer.active
    assert _frozen(kept) and _frozen(kept[-1])
    assert all(id(o) != probe for o in gc.get_objects() if isinstance(o, _Cycle))
    assert gc.get_freeze_count() >= len(kept)
    pacer.hold("test", False)
    assert not pacer.active


def test_new_objects_are_frozen_on_every_tick_while_held(pacer, qtbot):
    pacer.hold("batch", True)
    pacer.hold("scan", True)
    more = [[i] for i in range(100)]
    assert not _frozen(more)
    qtbot.waitUntil(lambda: _frozen(more), timeout=2000)
    pacer.hold("batch", False)
    assert pacer.active  # the scan still holds it
    pacer.hold("scan", False)
    assert not pacer.active
    later = [[i] for i in range(100)]
    qtbot.wait(100)
    assert not _frozen(later)  # no pacing once nothing holds it


def test_the_gil_switches_sooner_only_while_held(pacer):
    from pixmill.gui.collector import GIL_SWITCH_S

    before = sys.getswitchinterval()
    pacer.hold("batch", True)
    assert sys.getswitchinterval() == pytest.approx(min(before, GIL_SWITCH_S))
    pacer.hold("batch", False)
    assert sys.getswitchinterval() == before


def test_window_paces_while_counting_and_while_a_batch_runs(
    window, images, tmp_path, qtbot, wait_counted
):
    files = images(tmp_path / "in", 3)
    window.output.set_output(str(tmp_path / "out"), False)
    window.add_paths([str(tmp_path / "in")])
    assert window.batch.collector.active  # counting the folder
    wait_counted(window)
    assert not window.batch.collector.active
    with qtbot.waitSignal(window.batchFinished, timeout=20000):
        assert window.start()
        assert window.batch.collector.active
    assert not window.batch.collector.active
    assert window.results.model.rowCount() == len(files)


@pytest.mark.skipif(not hasattr(os, "setpriority"), reason="no setpriority here")
def test_worker_priority_lowers_each_new_process_once():
    from pixmill.gui.priority import WorkerPriority

    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        prio = WorkerPriority(niceness=7)
        assert prio.lower([child.pid]) == [child.pid]
        assert os.getpriority(os.PRIO_PROCESS, child.pid) == 7
        assert prio.lower([child.pid]) == []  # once
        assert prio.lower([2**22 + 12345]) == []  # no such process: ignored
    finally:
        child.kill()
        child.wait()


def test_window_workers_run_below_the_window(window, images, tmp_path, qtbot):
    if not hasattr(os, "setpriority"):
        pytest.skip("no setpriority here")
    images(tmp_path / "in", 2)
    window.output.set_output(str(tmp_path / "out"), False)
    window.add_paths([str(tmp_path / "in")])
    with qtbot.waitSignal(window.batchFinished, timeout=20000):
        assert window.start()
    pids = window.batch.runner.worker_pids()
    assert pids
    mine = os.getpriority(os.PRIO_PROCESS, 0)
    assert all(os.getpriority(os.PRIO_PROCESS, pid) > mine for pid in pids)
