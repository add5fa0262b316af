"""The queue of images: thumbnails for the visible rows only, a smooth event loop with 20,000
queued files, and single files taken out of the batch."""

from __future__ import annotations

import gc
import io
import os
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QLabel

from pixmill.gui.queue_view import GRID

pytestmark = pytest.mark.timeout(120)


def jpeg_bytes(seed: int, size: tuple[int, int] = (320, 240)) -> bytes:
    rng = np.random.default_rng(seed)
    w, h = size
    y, x = np.mgrid[0:h, 0:w]
    base = rng.integers(30, 200, 3)
    pixels = base + 0.2 * (x[..., None] + y[..., None]) + rng.normal(0, 10, (h, w, 3))
    out = io.BytesIO()
    Image.fromarray(pixels.clip(0, 255).astype(np.uint8)).save(out, "JPEG", quality=85)
    return out.getvalue()


def write_queue(folder: Path, count: int) -> None:
    """count real JPEGs (eight different pictures, round robin), on the disk before the
    window sees them (writing back 20,000 new files is not what is measured)."""
    folder.mkdir(parents=True)
    blobs = [jpeg_bytes(i) for i in range(8)]
    for i in range(count):
        (folder / f"photo{i:05d}.jpg").write_bytes(blobs[i % 8])
    os.sync()


class GapMeter:
    """A repeating 10 ms timer that records the longest gap between its ticks."""

    def __init__(self, parent) -> None:
        self.longest = 0.0
        self._last = time.perf_counter()
        # Owned by the window: a garbage-collected parentless QTimer may be deleted on
        # whichever thread the collector runs on, which Qt does not allow.
        self.timer = QTimer(parent)
        self.timer.setInterval(10)
        self.timer.timeout.connect(self._tick)

    def _tick(self) -> None:
        now = time.perf_counter()
        self.longest = max(self.longest, now - self._last)
        self._last = now

    def restart(self) -> float:
        """The longest gap so far; measuring starts again."""
        longest, self.longest = self.longest, 0.0
        return longest

    def start(self) -> None:
        self._last = time.perf_counter()
        self.timer.start()


def shown_and_loaded(view) -> bool:
    rows = view.visible_rows()
    model = view.model()
    return len(rows) > 0 and all(model.loader.info(model.path(r)) is not None for r in rows)


def test_thumbnails_of_20000_queued_files_load_for_visible_rows_without_stalling(
    window, qtbot, tmp_path
):
    write_queue(tmp_path / "many", 20_000)
    view = window.sources.queueView
    loader = window.sources.queue.loader
    meter = GapMeter(window)
    # What a hundred tests before this one left for the garbage collector is not the
    # window's: collect it now, and keep it out of the collections to come.
    gc.collect()
    gc.freeze()
    meter.start()
    window.add_paths([tmp_path / "many"])
    # Counting the folder (the sources' scan, on its own thread) comes first; the queue
    # and its thumbnails are what this test is about, from the moment the count is in.
    with qtbot.waitSignal(window.sources.scanningChanged, timeout=30000):
        pass
    counting = meter.restart()
    assert window.sources.queue.rowCount() == 20_000
    qtbot.waitUntil(lambda: shown_and_loaded(view), timeout=10000)
    first_screen = loader.decoded
    visible = len(view.visible_rows())
    # Scroll to the middle: that screen loads, nothing in between is decoded.
    view.scrollTo(window.sources.queue.index(10_000, 0))
    qtbot.waitUntil(lambda: view.visible_rows().start > 9_000, timeout=5000)
    qtbot.waitUntil(lambda: shown_and_loaded(view), timeout=10000)
    qtbot.wait(200)  # anything still queued would be decoded now
    meter.timer.stop()
    gc.unfreeze()

    print(
        f"longest event-loop gap: {meter.longest * 1000:.1f} ms with 20,000 queued files "
        f"({counting * 1000:.1f} ms while the folder was counted)"
    )
    assert meter.longest < 0.050, f"the event loop stalled {meter.longest * 1000:.0f} ms"
    ahead = 4  # rows past the screen fetched for a smooth scroll
    assert 0 < first_screen <= visible + ahead
    assert loader.decoded <= 2 * (visible + ahead)
    model = window.sources.queue
    row = view.visible_rows().start
    text = model.index(row, 0).data()
    assert f"photo{row:05d}.jpg" in text and "320 × 240" in text


def test_grid_mode_decodes_only_what_it_shows(window, qtbot, tmp_path):
    write_queue(tmp_path / "grid", 3000)
    view = window.sources.queueView
    view.set_mode(GRID)
    window.add_paths([tmp_path / "grid"])
    qtbot.waitUntil(lambda: window.sources.queue.rowCount() == 3000, timeout=20000)
    qtbot.waitUntil(lambda: shown_and_loaded(view), timeout=10000)
    qtbot.wait(200)
    visible = len(view.visible_rows())
    per_line = view.viewport().width() // view.gridSize().width()
    assert per_line >= 3 and visible > per_line  # a grid: several thumbnails a line
    # What is on screen, the few rows fetched ahead, and at most one line that was on
    # screen while the grid settled its width.
    assert window.sources.queue.loader.decoded <= visible + 4 + per_line


def test_a_file_removed_from_the_queue_is_not_converted(window, qtbot, tmp_path, images):
    images(tmp_path / "in", 3)
    window.output.set_output(str(tmp_path / "out"), False)
    window.add_paths([tmp_path / "in"])
    model = window.sources.queue
    qtbot.waitUntil(lambda: model.rowCount() == 3, timeout=10000)
    view = window.sources.queueView
    view.setCurrentIndex(model.index(1, 0))
    removed = view.remove_selected()
    assert [Path(p).name for p in removed] == ["img01.png"]
    assert model.rowCount() == 2
    assert "2 images" in window.sources.totalsLabel.text()

    with qtbot.waitSignal(window.batchFinished, timeout=30000) as finished:
        assert window.start()
    report = finished.args[0]
    assert sorted(Path(f["source"]).name for f in report.files) == ["img00.png", "img02.png"]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["img00.png", "img02.png"]


def test_the_view_shows_the_plain_rows_and_takes_the_queue_models_indexes(window, qtbot, tmp_path):
    from PySide6.QtCore import QStringListModel
    from PySide6.QtWidgets import QListView, QStyleOptionViewItem

    write_queue(tmp_path / "in", 30)
    window.add_paths([tmp_path / "in"])
    model = window.sources.queue
    qtbot.waitUntil(lambda: model.rowCount() == 30, timeout=10000)
    view = window.sources.queueView
    # Qt's own view of it: the plain C++ rows, not the Python model (no GIL per row).
    rows = QListView.model(view)
    assert rows is model.rows and type(rows) is QStringListModel
    view.setCurrentIndex(model.index(7, 0))
    current = view.currentIndex()
    assert current.model() is model and current.row() == 7
    assert view.selected_paths() == [model.path(7)]
    # The delegate paints what the QueueModel says for the row the view gives it.
    option = QStyleOptionViewItem()
    view.itemDelegate().initStyleOption(option, rows.index(7, 0))
    assert option.text.startswith("photo00007.jpg") and "KB" in option.text

    # Rows on screen get their names in the plain model (for accessibility tools).
    window.show()
    qtbot.waitUntil(lambda: len(view.visible_rows()) > 0, timeout=5000)
    view.update_visible()  # what the view does once it has settled after a scroll
    shown = view.visible_rows()
    assert [rows.index(r, 0).data() for r in shown] == [
        os.path.basename(model.path(r)) for r in shown
    ]
    assert not rows.index(29, 0).data() or 29 in shown  # rows off screen are not named


def test_rows_on_screen_are_found_at_every_pixel_of_a_scroll(window, qtbot, tmp_path):
    """Scrolled by the pixel, the viewport's top line can fall in the spacing between two
    rows: the rows on screen (those whose thumbnails are fetched) must still be found."""
    from pixmill.gui.queue_view import LIST

    write_queue(tmp_path / "in", 60)
    window.add_paths([tmp_path / "in"])
    model = window.sources.queue
    qtbot.waitUntil(lambda: model.rowCount() == 60, timeout=10000)
    view = window.sources.queueView
    window.show()
    for mode in (LIST, GRID):
        view.set_mode(mode)
        qtbot.waitUntil(lambda: view.verticalScrollBar().maximum() > 0, timeout=5000)
        bar = view.verticalScrollBar()
        step = (
            view.visualRect(model.rows.index(1, 0)).top()
            - view.visualRect(model.rows.index(0, 0)).top()
            or view.gridSize().height()
        )
        wrong = []
        for offset in range(min(step + 4, bar.maximum())):
            bar.setValue(offset)
            shown = view.visible_rows()
            bottom = lambda row: view.visualRect(model.rows.index(row, 0)).bottom()  # noqa: E731
            # the first row shown reaches into the viewport; the row before it is wholly above
            if not shown or bottom(shown.start) < 0 or shown.start and bottom(shown.start - 1) >= 0:
                wrong.append(offset)
        assert wrong == [], f"{mode}: wrong first row at scroll offsets {wrong}"


def test_the_count_above_the_queue_says_how_many_images_are_queued(window, qtbot, tmp_path):
    write_queue(tmp_path / "in", 12)
    window.add_paths([tmp_path / "in"])
    model = window.sources.queue
    qtbot.waitUntil(lambda: model.rowCount() == 12, timeout=10000)
    label = window.findChild(QLabel, "queueCountLabel")
    assert label.text() == "12 images"
    window.sources.queueView.setCurrentIndex(model.index(3, 0))
    window.sources.queueView.remove_selected()
    assert label.text() == "11 images"


def test_row_of_finds_rows_near_and_far_and_follows_removals(qapp):
    from pixmill.gui.queue_model import QueueModel

    model = QueueModel()
    paths = [f"/photos/{i:06d}.png" for i in range(10_000)]
    model.set_files(paths, [100] * len(paths))
    # Equal strings, not the very objects the model holds (a loader may hand back copies).
    for row in (0, 7, 9_999, 4_321, 4_320, 12):
        assert model.row_of("".join(paths[row])) == row
    assert model.row_of("/photos/not-queued.png") == -1
    model.remove_rows([0, 1])
    assert model.row_of(paths[9_999]) == 9_997
    assert model.row_of(paths[1]) == -1
    model.set_files(paths[::-1], [100] * len(paths))
    assert model.row_of(paths[0]) == 9_999
