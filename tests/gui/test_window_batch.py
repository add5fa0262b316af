"""Real batches through the window: real pool, real files."""

from __future__ import annotations

import csv
import json

import pytest
from PIL import Image

from pixmill.engine.recipe import Recipe, Resize


def _run(qtbot, window, timeout: int = 60000):
    with qtbot.waitSignal(window.batchFinished, timeout=timeout) as finished:
        assert window.start()
    return finished.args[0]


def _set_recipe(window, recipe: Recipe) -> None:
    window.recipePanel.set_recipe(recipe)


@pytest.mark.timeout(90)
def test_a_batch_runs_to_completion_and_writes_every_output(qtbot, window, images, tmp_path):
    src = tmp_path / "src"
    images(src, 5)
    images(src / "sub", 2, prefix="s")
    out = tmp_path / "out"
    window.add_paths([src])
    _set_recipe(window, Recipe(format="webp", quality=70, resize=Resize("fit", 100, 100)))
    window.output.set_output(str(out), next_to_source=False)
    titles: list[str] = []
    window.windowTitleChanged.connect(titles.append)

    report = _run(qtbot, window)

    assert report.summary["ok"] == 7 and not report.cancelled
    written = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.webp"))
    assert written == [f"img{i:02d}.webp" for i in range(5)] + ["sub/s00.webp", "sub/s01.webp"]
    with Image.open(out / "img00.webp") as im:
        assert max(im.size) == 100
    assert window.results.model.rowCount() == 7
    assert window.runBar.progressBar.format() == "Done · 7 / 7"
    assert window.runBar.progressBar.value() == window.runBar.progressBar.maximum()
    summary = window.results.summaryLabel.text()
    assert "7 converted" in summary and "0 failed" in summary and "saved" in summary
    assert any(t.endswith("% · Pixmill") for t in titles), titles
    assert window.windowTitle() == "Pixmill"
    assert window.results.openFolderButton.isEnabled()
    assert window.results.output_folder() == str(out)
    assert window.runBar.startButton.isEnabled() and not window.runBar.cancelButton.isEnabled()


@pytest.mark.timeout(90)
def test_progress_text_reads_done_total_rate_and_eta(qtbot, window, images, tmp_path):
    images(tmp_path / "src", 6)
    window.add_paths([tmp_path / "src"])
    window.output.set_output(str(tmp_path / "out"), next_to_source=False)
    texts: list[str] = []
    window.batch.progressChanged.connect(lambda p: texts.append(window.runBar.progressBar.format()))
    _run(qtbot, window)
    assert texts, "progress must reach the bar"
    last = texts[-1]
    assert last.startswith("6 / 6 · ") and " files/s · ETA " in last, last


@pytest.mark.timeout(90)
def test_corrupt_files_are_error_rows_while_the_rest_convert(
    qtbot, window, images, corrupt, tmp_path
):
    src = tmp_path / "src"
    images(src, 4)
    corrupt(src, "broken.jpg")
    corrupt(src, "also-broken.png")
    out = tmp_path / "out"
    window.add_paths([src])
    _set_recipe(window, Recipe(format="jpeg"))
    window.output.set_output(str(out), next_to_source=False)

    report = _run(qtbot, window)

    assert report.summary["ok"] == 4 and report.summary["failed"] == 2
    assert len(list(out.glob("*.jpg"))) == 4
    model = window.results.model
    assert model.count("failed") == 2
    window.results.errorsOnlyCheck.setChecked(True)
    assert model.rowCount() == 2
    names = {model.result(r)["source"].rsplit("/", 1)[-1] for r in range(2)}
    assert names == {"broken.jpg", "also-broken.png"}
    dialog = window.results.show_details(model.index(0, 0))
    assert dialog is not None
    assert model.result(0)["error"] in dialog.text.toPlainText()
    dialog.close()
    assert "2 failed" in window.results.summaryLabel.text()
    assert window.messageBar.text().startswith("2 files could not be converted.")


@pytest.mark.timeout(90)
def test_next_to_each_source_and_reports_in_json_and_csv(qtbot, window, images, tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    images(a, 2)
    images(b, 1, prefix="b")
    window.add_paths([a, b])
    _set_recipe(window, Recipe(format="png"))
    window.output.set_output("", next_to_source=True)

    report = _run(qtbot, window)

    assert report.summary["ok"] == 3
    assert sorted(p.name for p in (a / "converted").iterdir()) == ["img00.png", "img01.png"]
    assert [p.name for p in (b / "converted").iterdir()] == ["b00.png"]
    assert window.results.output_folder() == str(tmp_path)

    window.results.save_report(str(tmp_path / "report.json"))
    data = json.loads((tmp_path / "report.json").read_text())
    assert data["summary"]["ok"] == 3 and len(data["files"]) == 3
    window.results.save_report(str(tmp_path / "report.csv"))
    with (tmp_path / "report.csv").open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert {r["status"] for r in rows} == {"ok"} and len(rows) == 3

    # A second Start does not pick up the "converted" subfolders as sources.
    report = _run(qtbot, window)
    assert report.summary["total"] == 3


@pytest.mark.timeout(120)
def test_pool_size_from_the_spin_box_reaches_the_runner(qtbot, window, images, tmp_path):
    images(tmp_path / "src", 4)
    window.add_paths([tmp_path / "src"])
    window.output.set_output(str(tmp_path / "out"), next_to_source=False)
    runner = window.batch.runner
    spin = window.findChild(type(window.output.poolSizeSpin), "poolSizeSpin")
    assert spin.minimum() == 1 and spin.maximum() == 2 * window.output.cpus

    spin.setValue(1)
    _run(qtbot, window)
    assert runner.workers == 1
    assert len(runner.worker_pids()) == 1
    first_pids = set(runner.worker_pids())

    _run(qtbot, window)
    assert set(runner.worker_pids()) == first_pids, "the pool stays warm between batches"

    spin.setValue(2)
    assert runner.workers == 1, "a new size applies at the next Start, not while editing"
    _run(qtbot, window)
    assert runner.workers == 2
    assert len(runner.worker_pids()) == 2


@pytest.mark.timeout(120)
def test_cancel_mid_batch_stops_and_leaves_no_partial_files(
    qtbot, window, images, tmp_path, slow_recipe, leftovers
):
    src = tmp_path / "src"
    images(src, 30, size=(300, 225))
    out = tmp_path / "out"
    window.add_paths([src])
    _set_recipe(window, slow_recipe)
    window.output.set_output(str(out), next_to_source=False)

    with qtbot.waitSignal(window.batchFinished, timeout=60000) as finished:
        window.start()
        qtbot.waitUntil(lambda: window.results.model.count("ok") >= 1, timeout=30000)
        assert window.runBar.cancelButton.isEnabled()
        window.runBar.cancelButton.click()
        assert window.batch.state == "cancelling"
        assert not window.runBar.pauseButton.isEnabled()
    report = finished.args[0]

    assert report.cancelled
    assert report.summary["cancelled"] > 0
    assert report.summary["ok"] < 30
    assert leftovers(tmp_path) == []
    outputs = sorted(out.glob("*.png"))
    assert len(outputs) == report.summary["ok"]
    for path in outputs:  # every file under a real name is complete
        with Image.open(path) as im:
            im.load()
            assert im.size == (1200, 900)
    assert window.runBar.progressBar.format().startswith("Cancelled · ")
    assert window.results.summaryLabel.text().startswith("Cancelled: ")
    assert window.runBar.startButton.isEnabled()


@pytest.mark.timeout(120)
def test_pause_holds_new_files_and_resume_finishes(qtbot, window, images, tmp_path, slow_recipe):
    src = tmp_path / "src"
    images(src, 16, size=(300, 225))
    window.add_paths([src])
    _set_recipe(window, slow_recipe)
    window.output.set_output(str(tmp_path / "out"), next_to_source=False)

    with qtbot.waitSignal(window.batchFinished, timeout=90000) as finished:
        window.start()
        qtbot.waitUntil(lambda: window.results.model.count() >= 1, timeout=30000)
        window.runBar.pauseButton.click()
        assert window.batch.state == "paused"
        assert window.runBar.pauseButton.text() == "Resume"
        assert window.batch.runner.paused
        # Files already handed to the worker finish; then nothing moves.
        qtbot.waitUntil(
            lambda: window.runBar.progressBar.format().startswith("Paused · "), timeout=10000
        )
        qtbot.wait(1500)
        held = window.results.model.count()
        qtbot.wait(800)
        assert window.results.model.count() == held < 16
        assert window.windowTitle().startswith("Paused at ")
        window.runBar.pauseButton.click()
        assert window.batch.state == "running"
        assert window.runBar.pauseButton.text() == "Pause"
    report = finished.args[0]
    assert report.summary["ok"] == 16 and not report.cancelled


@pytest.mark.timeout(120)
def test_closing_during_a_batch_asks_then_cancels_cleanly(
    qtbot, make_window, images, tmp_path, slow_recipe, leftovers
):
    window = make_window()
    window.output.set_workers(1)
    window.show()
    asked: list[bool] = []

    def confirm() -> bool:
        asked.append(True)
        return len(asked) > 1  # "No" the first time, "Yes" the second

    window.confirm_quit = confirm
    src = tmp_path / "src"
    images(src, 20, size=(300, 225))
    window.add_paths([src])
    _set_recipe(window, slow_recipe)
    window.output.set_output(str(tmp_path / "out"), next_to_source=False)
    window.start()
    qtbot.waitUntil(lambda: window.results.model.count() >= 1, timeout=30000)

    assert not window.close()
    assert window.isVisible() and window.batch.busy, "answering No keeps the batch going"

    with qtbot.waitSignal(window.batchFinished, timeout=30000) as finished:
        window.close()
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=30000)
    assert finished.args[0].cancelled
    assert window.batch.runner.worker_pids() == []
    assert leftovers(tmp_path) == []
    assert len(asked) == 2


@pytest.mark.timeout(90)
def test_a_batch_started_while_the_sources_are_counted_is_planned_after_the_count(
    qtbot, window, images, tmp_path
):
    """The count and the planner are both pure Python: the plan waits for the count (one
    thread at a time wants the GIL with the GUI thread), and a cancel meanwhile ends it."""
    from pixmill.gui.batch import IDLE, PLAN_AFTER_MS, PREPARING

    images(tmp_path / "src", 3)
    window.output.set_output(str(tmp_path / "out"), next_to_source=False)
    window.add_paths([tmp_path / "src"])
    qtbot.waitUntil(lambda: not window.sources.is_scanning(), timeout=10000)
    planned = []
    window.batch.planned.connect(planned.append)

    window.sources.scanningChanged.emit(True)  # as when a count of a big folder is under way
    assert window.start()
    qtbot.wait(PLAN_AFTER_MS * 8)
    assert window.batch.state == PREPARING and planned == [], "no planning while counting"
    with qtbot.waitSignal(window.batchFinished, timeout=60000) as finished:
        window.sources.scanningChanged.emit(False)  # the count is in
    assert len(planned) == 1 and finished.args[0].summary["ok"] == 3

    window.sources.scanningChanged.emit(True)
    assert window.start()
    qtbot.wait(PLAN_AFTER_MS * 3)
    window.cancel()
    qtbot.waitUntil(lambda: window.batch.state == IDLE, timeout=5000)
    assert len(planned) == 1, "a cancelled batch is never planned"
    window.sources.scanningChanged.emit(False)


@pytest.mark.timeout(90)
def test_the_recipe_and_output_settings_are_locked_while_a_batch_is_under_way(
    qtbot, window, images, tmp_path
):
    images(tmp_path / "src", 3)
    window.output.set_output(str(tmp_path / "out"), next_to_source=False)
    window.add_paths([tmp_path / "src"])
    qtbot.waitUntil(lambda: not window.sources.is_scanning(), timeout=10000)
    locked = []
    window.batch.planned.connect(
        lambda _plan: locked.append((window.recipePanel.isEnabled(), window.output.isEnabled()))
    )
    with qtbot.waitSignal(window.batchFinished, timeout=60000):
        assert window.start()
    assert locked == [(False, False)], "greyed out before the batch was planned"
    assert window.recipePanel.isEnabled() and window.output.isEnabled()
