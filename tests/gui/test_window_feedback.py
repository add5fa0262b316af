"""Feedback while nothing visible happens yet: Start says why it cannot start, and planning a
batch says what it does and for how long."""

from __future__ import annotations

import threading

import pytest

import pixmill.gui.batch as batch_module

pytestmark = pytest.mark.timeout(60)


def test_start_says_why_it_cannot_start(window, qtbot, tmp_path, images, wait_counted):
    start = window.runBar.startButton
    assert not start.isEnabled()
    assert "Add folders or images first" in start.toolTip()
    images(tmp_path / "in", 2)
    window.add_paths([tmp_path / "in"])
    wait_counted(window)
    assert start.isEnabled() and "Ctrl+Return" in start.toolTip()


def test_planning_a_batch_says_what_it_does_and_for_how_long(
    window, qtbot, tmp_path, images, wait_counted, monkeypatch
):
    images(tmp_path / "in", 3)
    window.output.set_output(str(tmp_path / "out"), False)
    window.add_paths([tmp_path / "in"])
    wait_counted(window)
    gate = threading.Event()
    real = batch_module.plan_batch

    def slow_plan(*args, **kwargs):
        gate.wait(20)  # a big tree being scanned
        return real(*args, **kwargs)

    monkeypatch.setattr(batch_module, "plan_batch", slow_plan)
    assert window.start()
    status = window.statusBar()
    assert "planning the outputs for 3 queued images" in status.currentMessage()
    assert "A batch is being prepared" in window.runBar.startButton.toolTip()
    qtbot.waitUntil(lambda: status.currentMessage().endswith(" 1 s"), timeout=3000)
    with qtbot.waitSignal(window.batchFinished, timeout=30000):
        gate.set()
    assert len(list((tmp_path / "out").iterdir())) == 3


def test_planning_says_how_many_images_it_found_so_far(
    window, qtbot, tmp_path, images, wait_counted, monkeypatch
):
    """The planning thread reports what the scan found (engine.scan's progress): the status
    line counts it while a big tree is still being walked."""
    images(tmp_path / "in", 2)
    window.output.set_output(str(tmp_path / "out"), False)
    window.add_paths([tmp_path / "in"])
    wait_counted(window)
    gate = threading.Event()
    real = batch_module.plan_batch

    def big_tree(paths, recipe, output_dir, cancelled, exclude=(), progress=None):
        assert progress is not None, "the window does not ask the scan for progress"
        progress(12_500)  # as the scan does every few hundred images found
        gate.wait(20)
        return real(paths, recipe, output_dir, cancelled, exclude, progress)

    monkeypatch.setattr(batch_module, "plan_batch", big_tree)
    assert window.start()
    status = window.statusBar()
    qtbot.waitUntil(lambda: "12,500 found so far" in status.currentMessage(), timeout=3000)
    with qtbot.waitSignal(window.batchFinished, timeout=30000):
        gate.set()
    assert len(list((tmp_path / "out").iterdir())) == 2
