"""The bridge fed directly with listener calls from plain threads: no processes, no window."""

from __future__ import annotations

import threading
import time

import pytest

from pixmill.engine.events import Progress
from pixmill.engine.report import Report
from pixmill.engine.result import make_result
from pixmill.gui.bridge import BackgroundTask, BatchBridge
from pixmill.gui.results import ResultsModel

pytestmark = pytest.mark.timeout(30)


def _result(i: int, status: str = "ok") -> dict:
    r = make_result(i, f"/in/img{i}.png", status, None if status == "ok" else "broken")
    if status == "ok":
        r.update(target=f"/out/img{i}.webp", bytes_out=10, width=20, height=10, ms=1.0)
    return r


def _progress(done: int, total: int) -> Progress:
    return Progress(done, total, done, 0, 0, 0, 1.0, 10.0, 100.0, 1.0)


def _in_thread(fn) -> threading.Thread:
    t = threading.Thread(target=fn, daemon=True)
    t.start()
    return t


def test_results_from_another_thread_arrive_in_order_and_coalesced(qtbot):
    bridge = BatchBridge()
    batches: list[list[dict]] = []
    bridge.resultsReady.connect(batches.append)
    listener = bridge.listener()

    def feed():
        listener.batch_started(1000)
        for i in range(1000):
            listener.job_finished(_result(i))

    _in_thread(feed).join()
    qtbot.waitUntil(lambda: sum(map(len, batches)) == 1000, timeout=10000)
    delivered = [r["index"] for b in batches for r in b]
    assert delivered == list(range(1000))
    assert len(batches) < 100, "results must be flushed in batches, not one signal per file"


def test_a_steady_trickle_wakes_the_gui_thread_once_a_flush_not_once_a_file(qtbot):
    """Each wake is a queued event that takes the GIL on the GUI thread: results arriving
    one at a time, with the GUI thread idle between them, must still wake it only about as
    often as the bridge flushes (30 times a second), not once a file."""
    bridge = BatchBridge()
    delivered: list[dict] = []
    bridge.resultsReady.connect(delivered.extend)
    wakes = []
    bridge._mail.connect(lambda relay: wakes.append(relay))  # noqa: SLF001 - what is counted
    listener = bridge.listener()
    listener.batch_started(300)
    began = time.monotonic()

    def trickle():
        for i in range(300):
            listener.job_finished(_result(i))
            time.sleep(0.002)  # 500 files a second, each after the GUI thread could wake

    feeder = _in_thread(trickle)
    qtbot.waitUntil(lambda: len(delivered) == 300, timeout=10000)
    feeder.join()
    flushes_possible = (time.monotonic() - began) / 0.033 + 2
    assert [r["index"] for r in delivered] == list(range(300))
    assert len(wakes) <= flushes_possible, (len(wakes), flushes_possible)


def test_only_the_newest_progress_is_shown_and_finish_comes_last(qtbot):
    bridge = BatchBridge()
    seen: list[tuple[str, object]] = []
    bridge.progressChanged.connect(lambda p: seen.append(("progress", p.done)))
    bridge.resultsReady.connect(lambda rs: seen.append(("results", len(rs))))
    bridge.batchFinished.connect(lambda rep: seen.append(("finished", rep.summary["total"])))
    listener = bridge.listener()
    results = [_result(i) for i in range(50)]

    def feed():
        listener.batch_started(50)
        for i, r in enumerate(results):
            listener.job_finished(r)
            listener.progress(_progress(i + 1, 50))
        listener.batch_finished(Report(results, 1.0))

    with qtbot.waitSignal(bridge.batchFinished, timeout=5000):
        _in_thread(feed)
    assert seen[-1] == ("finished", 50)
    progress = [v for k, v in seen if k == "progress"]
    assert progress[-1] == 50 and len(progress) < 50
    assert sum(v for k, v in seen if k == "results") == 50


def test_current_file_is_coalesced_to_the_latest(qtbot):
    bridge = BatchBridge()
    files: list[str] = []
    bridge.currentFile.connect(files.append)
    listener = bridge.listener()
    _in_thread(lambda: [listener.job_started(i, f"/in/{i}.png") for i in range(200)]).join()
    qtbot.waitUntil(lambda: bool(files) and files[-1] == "/in/199.png", timeout=5000)
    assert len(files) < 200


@pytest.mark.timeout(120)
def test_fifty_thousand_cross_thread_emits_do_not_crash(qtbot):
    """Regression: PySide6 6.12.0 on Python 3.11 aborted the interpreter after ~570
    Signal(object) emits (a leaked reference to True). Every emit here crosses threads."""
    bridge = BatchBridge()
    model = ResultsModel()
    bridge.resultsReady.connect(model.append_results)
    listener = bridge.listener()
    n = 50_000

    def feed():
        listener.batch_started(n)
        for i in range(n):
            listener.job_finished(_result(i, "failed" if i % 100 == 0 else "ok"))
            if i % 500 == 0:
                listener.progress(_progress(i, n))
        listener.batch_finished(Report([], 1.0))

    with qtbot.waitSignal(bridge.batchFinished, timeout=90000):
        _in_thread(feed)
    assert model.rowCount() == n
    assert model.count("failed") == n // 100
    assert model.result(n - 1)["index"] == n - 1


def test_a_relay_outliving_its_bridge_is_harmless(qtbot, monkeypatch):
    """The runner keeps calling the listener after the window (and its bridge) is gone:
    every call must return quietly, on the runner's thread and on any other."""
    bridge = BatchBridge()
    listener = bridge.listener()
    bridge.deleteLater()
    qtbot.waitUntil(lambda: _deleted(bridge), timeout=2000)

    def every_event():
        listener.batch_started(1)
        listener.job_started(1, "/in/img1.png")
        listener.job_finished(_result(1))
        listener.progress(_progress(1, 1))
        listener.batch_finished(Report([_result(1)], 1.0))

    escaped: list[BaseException | None] = []
    monkeypatch.setattr(threading, "excepthook", lambda args: escaped.append(args.exc_value))
    _in_thread(every_event).join()
    assert escaped == [], f"the relay raised in its thread: {escaped!r}"
    every_event()  # and here, where an exception would fail the test directly


def _deleted(obj) -> bool:
    try:
        obj.objectName()
    except RuntimeError:
        return True
    return False


def test_background_task_reports_value_error_and_cancel(qtbot):
    ok = BackgroundTask(lambda cancelled: 42, "t")
    with qtbot.waitSignal(ok.finished, timeout=5000) as got:
        ok.start()
    assert got.args == [42] and not ok.running

    def boom(cancelled):
        raise ValueError("nope")

    bad = BackgroundTask(boom, "t")
    with qtbot.waitSignal(bad.failed, timeout=5000) as got:
        bad.start()
    assert isinstance(got.args[0], ValueError)

    started = threading.Event()

    def slow(cancelled):
        started.set()
        while not cancelled():
            time.sleep(0.01)
        return "too late"

    slow_task = BackgroundTask(slow, "t")
    with qtbot.waitSignal(slow_task.cancelled, timeout=5000):
        slow_task.start()
        started.wait(5)
        slow_task.cancel()
