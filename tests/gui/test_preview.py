"""The before/after preview: made by the engine in the warm pool, quick on a 12-megapixel
photo, redone when the recipe changes, cancelled when the file changes."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from pixmill.gui.preview_view import ACTUAL, SIDE

pytestmark = pytest.mark.timeout(120)

#: Longer than the preview's own wait after a change of file.
SELECT_WAIT_MS = 300


def photo_12mp(path: Path) -> Path:
    """4000x3000: gradients and noise, which compress like a photograph."""
    h, w = 3000, 4000
    y = np.linspace(0, 1, h, dtype=np.float32)[:, None]
    x = np.linspace(0, 1, w, dtype=np.float32)[None, :]
    rng = np.random.default_rng(12)
    pixels = np.empty((h, w, 3), dtype=np.float32)
    pixels[..., 0] = 60 + 150 * x
    pixels[..., 1] = 40 + 170 * y
    pixels[..., 2] = 120 + 80 * np.sin(6 * x + 4 * y)
    pixels += rng.normal(0, 12, (h, w, 3)).astype(np.float32)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels.clip(0, 255).astype(np.uint8)).save(path, quality=92)
    return path


def shown_bytes(window) -> int | None:
    """The output's bytes the info line shows, once it is up to date."""
    panel = window.previewPanel
    found = re.search(r"\(([\d,]+) bytes\)", panel.infoLabel.text())
    return int(found.group(1).replace(",", "")) if found and not panel.stale else None


def warm_window(make_window, qtbot, folder: Path):
    """The window as a user has it: sources added, so the worker pool warmed up."""
    window = make_window(warm_pool=True)
    window.output.set_workers(1)
    window.show()
    window.add_paths([folder])
    qtbot.waitUntil(lambda: window.sources.queue.rowCount() > 0, timeout=15000)
    qtbot.waitUntil(lambda: not window.batch._helpers, timeout=20000)  # the pool is up
    qtbot.wait(1500)  # and its worker has imported the engine
    return window


def select(window, name: str) -> None:
    model = window.sources.queue
    row = next(r for r in range(model.rowCount()) if os.path.basename(model.path(r)) == name)
    window.sources.queueView.setCurrentIndex(model.index(row, 0))


def test_a_12_megapixel_preview_shows_its_bytes_within_two_seconds(make_window, qtbot, tmp_path):
    photo_12mp(tmp_path / "in" / "big.jpg")
    window = warm_window(make_window, qtbot, tmp_path / "in")
    started = time.perf_counter()
    select(window, "big.jpg")
    qtbot.waitUntil(lambda: shown_bytes(window) is not None, timeout=10000)
    latency = time.perf_counter() - started
    print(f"12 MP preview: info line after {latency * 1000:.0f} ms")
    assert latency < 2.0
    text = window.previewPanel.infoLabel.text()
    assert "JPEG" in text and "4,000 × 3,000 px" in text and " ms" in text
    # The pictures follow, the split line shows both halves.
    canvas = window.previewPanel.canvas
    qtbot.waitUntil(canvas.has_pictures, timeout=10000)
    assert not canvas.stale
    window.previewPanel.slider.setValue(250)
    assert canvas.split == pytest.approx(0.25)
    image = canvas.grab().toImage()
    assert not image.isNull()
    for mode in (SIDE, ACTUAL):  # both paint without trouble
        canvas.set_mode(mode) if mode == SIDE else canvas.set_zoom(mode)
        canvas.repaint()


def test_changing_the_quality_changes_the_previewed_bytes(make_window, qtbot, tmp_path):
    photo_12mp(tmp_path / "in" / "big.jpg")
    window = warm_window(make_window, qtbot, tmp_path / "in")
    window.recipePanel.qualitySpin.setValue(90)
    select(window, "big.jpg")
    qtbot.waitUntil(lambda: shown_bytes(window) is not None, timeout=10000)
    at_90 = shown_bytes(window)

    with qtbot.waitSignal(window.preview.started, timeout=5000) as redo:
        changed = time.perf_counter()
        window.recipePanel.qualitySpin.setValue(40)
        assert window.previewPanel.stale  # marked at once, while the new one is made
        assert window.previewPanel.canvas.stale or not window.previewPanel.canvas.has_pictures()
    assert time.perf_counter() - changed <= 0.5 + 0.1  # debounced, not delayed
    assert redo.args[0][1].endswith("big.jpg")
    qtbot.waitUntil(lambda: shown_bytes(window) is not None, timeout=10000)
    at_40 = shown_bytes(window)
    assert at_40 < at_90 * 0.8


def test_choosing_another_file_cancels_the_preview_before(make_window, qtbot, tmp_path):
    photo_12mp(tmp_path / "in" / "a_big.jpg")
    Image.new("RGB", (640, 480), (200, 40, 40)).save(tmp_path / "in" / "b_small.jpg")
    Image.new("RGB", (320, 200), (40, 200, 40)).save(tmp_path / "in" / "c_small.png")
    window = warm_window(make_window, qtbot, tmp_path / "in")
    preview = window.preview
    started: list[tuple[int, str]] = []
    cancelled: list[tuple[int, str]] = []
    described: list[str] = []
    preview.started.connect(started.append)
    preview.cancelled.connect(cancelled.append)
    preview.described.connect(lambda outcome: described.append(outcome.text))

    with qtbot.waitSignal(preview.started, timeout=5000):
        select(window, "a_big.jpg")
    select(window, "b_small.jpg")  # while the big one converts
    select(window, "c_small.png")
    qtbot.waitUntil(lambda: shown_bytes(window) is not None, timeout=15000)

    names = [os.path.basename(source) for _, source in started]
    assert names == ["a_big.jpg", "c_small.png"]  # b was dropped before it reached the pool
    assert [os.path.basename(s) for _, s in cancelled] == ["a_big.jpg"]
    assert described and all("320 × 200" in text for text in described)
    assert "320 × 200" in window.previewPanel.infoLabel.text()
    qtbot.waitUntil(lambda: not preview.busy, timeout=10000)
    qtbot.wait(100)
    scratch = preview._scratch.folder
    assert os.listdir(scratch) == []  # the cancelled job's output was thrown away
    window.close()
    qtbot.waitUntil(lambda: not os.path.exists(scratch), timeout=5000)


def test_double_clicking_a_converted_file_previews_it(window, qtbot, tmp_path, images):
    images(tmp_path / "in", 2, size=(300, 200))
    window.output.set_output(str(tmp_path / "out"), False)
    window.add_paths([tmp_path / "in"])
    qtbot.waitUntil(lambda: window.sources.queue.rowCount() == 2, timeout=10000)
    with qtbot.waitSignal(window.batchFinished, timeout=30000):
        assert window.start()
    assert window.workTabs.currentWidget() is window.results
    results = window.results
    qtbot.waitUntil(lambda: results.model.thumbnails.decoded >= 2, timeout=10000)
    row = results.model.index(1, 0)
    results.open_row(row)
    assert window.workTabs.currentWidget() is window.previewPanel
    assert window.preview.source == results.model.result(1)["source"]
    qtbot.waitUntil(lambda: shown_bytes(window) is not None, timeout=15000)
    assert "300 × 200 px" in window.previewPanel.infoLabel.text()


def test_the_preview_waits_while_a_batch_has_the_pool(window, qtbot, tmp_path, images, slow_recipe):
    images(tmp_path / "in", 4)
    window.recipePanel.set_recipe(slow_recipe)
    window.output.set_output(str(tmp_path / "out"), False)
    window.add_paths([tmp_path / "in"])
    qtbot.waitUntil(lambda: window.sources.queue.rowCount() == 4, timeout=10000)
    started: list[tuple[int, str]] = []
    window.preview.started.connect(started.append)
    with qtbot.waitSignal(window.batchFinished, timeout=60000):
        assert window.start()
        qtbot.waitUntil(lambda: window.batch.state == "running", timeout=20000)
        select(window, "img02.png")
        qtbot.wait(SELECT_WAIT_MS)
        assert started == []  # the batch has the pool
        assert "once the batch" in window.previewPanel.infoLabel.text()
    qtbot.waitUntil(lambda: shown_bytes(window) is not None, timeout=15000)
    assert [os.path.basename(s) for _, s in started] == ["img02.png"]
    assert "800 × 600 px" in window.previewPanel.infoLabel.text()  # the slow recipe's 400 %
