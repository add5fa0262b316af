"""The batch journal through the window: resuming or discarding a batch whose process died,
"Only new or changed files", and batches that run without (or are refused by) the journal.

An interrupted batch is made for real: `pixmill convert` in its own process group, killed with
SIGKILL once some outputs exist. Every test has its own journal (tests/conftest.py).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from PIL import Image
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QCheckBox, QPushButton, QWidget

from pixmill.engine import session as engine_session
from pixmill.engine.journal import Journal, JournalError
from pixmill.engine.plan import plan
from pixmill.engine.recipe import Recipe
from pixmill.engine.session import start_batch

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="uses process groups")

#: The CLI's slow-ish recipe (a few files a second per worker at this size).
SLOW_ARGS = ["--format", "png", "--png-level", "9", "--scale", "400", "--upscale"]
FILES = 40


def kill_mid_batch(src: Path, out: Path, at_least: int = 6) -> None:
    """Run `pixmill convert` on src and SIGKILL it (and its workers) once at_least outputs
    exist: the journal then holds an interrupted batch."""
    cmd = [sys.executable, "-m", "pixmill", "convert", str(src), "-o", str(out), *SLOW_ARGS]
    proc = subprocess.Popen(
        [*cmd, "--workers", "2", "--quiet"],
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        while not out.is_dir() or len(list(out.glob("*.png"))) < at_least:
            if proc.poll() is not None:
                pytest.fail(f"pixmill convert ended early: {proc.stderr.read().decode()}")
            assert time.monotonic() < deadline, "no outputs after 30 s"
            time.sleep(0.02)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        proc.stderr.close()
    assert len(list(out.glob("*.png"))) < FILES, "the batch must die before its end"


@pytest.fixture
def interrupted(tmp_path, images) -> tuple[Path, Path]:
    """(sources, output folder) of a batch that was killed halfway."""
    src, out = tmp_path / "src", tmp_path / "out"
    images(src, FILES, size=(160, 120))
    kill_mid_batch(src, out)
    return src, out


def batch_state(batch_id: int) -> str:
    with Journal.open() as journal:
        info = journal.batch(batch_id)
    assert info is not None
    return info.state


def bar_button(window, name: str) -> QPushButton:
    button = window.messageBar.findChild(QPushButton, name)
    assert button is not None, f"no {name} in the message bar"
    return button


def run(qtbot, window, timeout: int = 60000):
    with qtbot.waitSignal(window.batchFinished, timeout=timeout) as finished:
        assert window.start()
    return finished.args[0]


@pytest.mark.timeout(90)
def test_resume_offered_at_start_finishes_every_file_once(
    qtbot, make_window, interrupted, leftovers
):
    src, out = interrupted
    window = make_window()
    window.output.set_workers(2)
    window.show()

    # Offered by itself once the window is up.
    qtbot.waitUntil(lambda: bool(window.messageBar.actionButtons))
    text = window.messageBar.text()
    assert text.startswith("The last batch stopped before it finished: ")
    assert f"of {FILES} files done (PNG, 400%) to {out}." in text
    resume = bar_button(window, "resumeBatchButton")
    discard = bar_button(window, "discardBatchButton")
    assert (resume.text(), discard.text()) == ("Resume", "Discard")
    assert resume.isVisible() and discard.isVisible()
    info = window.offer_resume()
    assert info is not None and info.output == str(out), "offer_resume() offers it on request"

    with qtbot.waitSignal(window.batchFinished, timeout=60000) as finished:
        qtbot.mouseClick(bar_button(window, "resumeBatchButton"), Qt.MouseButton.LeftButton)
        assert window.batch.busy
        assert window.offer_resume() is None, "never offered while a batch runs"
        assert window.messageBar.text() == ""
    report = finished.args[0]

    # The window shows the batch it resumed.
    assert window.sources.paths() == [str(src)]
    assert window.recipePanel.recipe().format == "png"
    assert window.output.output_dir() == str(out)
    # Every file exactly once, under its own name, nothing half-written left.
    names = sorted(p.name for p in out.iterdir())
    assert names == [f"img{i:02d}.png" for i in range(FILES)]
    assert leftovers(out) == []
    for name in names:
        with Image.open(out / name) as im:
            im.load()
            assert im.size == (640, 480)
    assert not report.cancelled and report.summary["total"] == FILES
    assert report.summary["ok"] == FILES
    model = window.results.model
    sources = sorted(r["source"] for r in model.all_results())
    assert sources == sorted(str(p) for p in src.iterdir())
    assert model.rowCount() == FILES
    assert window.runBar.progressBar.format() == f"Done · {FILES} / {FILES}"
    assert window.windowTitle() == "Pixmill"
    assert batch_state(info.id) == "finished"
    assert window.offer_resume() is None


@pytest.mark.timeout(60)
def test_discard_gives_the_batch_up_and_sweeps_its_temp_files(
    qtbot, make_window, interrupted, leftovers
):
    src, out = interrupted
    kept = sorted(p.name for p in out.glob("*.png"))
    window = make_window()
    info = window.offer_resume()
    assert info is not None and info.output == str(out)
    bar_button(window, "discardBatchButton").click()
    assert window.messageBar.findChild(QPushButton, "resumeBatchButton") is None
    qtbot.waitUntil(lambda: window.messageBar.text().startswith("Discarded "), timeout=10000)

    assert "The files it finished stay." in window.messageBar.text()
    assert batch_state(info.id) == "discarded"
    assert leftovers(out) == []
    assert sorted(p.name for p in out.glob("*.png")) == kept
    assert window.offer_resume() is None
    assert window.messageBar.findChild(QPushButton, "discardBatchButton") is None
    window.messageBar.dismiss()
    assert window.messageBar.text() == ""


@pytest.mark.timeout(90)
def test_only_new_or_changed_files_skips_what_is_up_to_date(
    qtbot, make_window, window, images, tmp_path
):
    src, out = tmp_path / "src", tmp_path / "out"
    sources = images(src, 4)
    window.add_paths([src])
    window.recipePanel.set_recipe(Recipe(format="webp", quality=60))
    window.output.set_output(str(out), next_to_source=False)
    check = window.findChild(QCheckBox, "updateCheck")
    assert check is window.output.updateCheck
    assert check.text() == "Only new or changed files" and not check.isChecked()
    assert "up to date" in check.toolTip()

    assert run(qtbot, window).summary["ok"] == 4
    check.setChecked(True)
    report = run(qtbot, window)
    assert report.summary["skipped"] == 4 and report.summary["ok"] == 0
    results = window.results.model.all_results()
    assert {(r["status"], r["error"]) for r in results} == {("skipped", "up to date")}
    assert window.settings.update_only(), "the choice is remembered"

    changed = sources[2]
    Image.new("RGB", (50, 40), "red").save(changed)
    os.utime(changed, (time.time() + 5, time.time() + 5))
    report = run(qtbot, window)
    assert report.summary["ok"] == 1 and report.summary["skipped"] == 3
    (converted,) = [r for r in window.results.model.all_results() if r["status"] == "ok"]
    assert converted["source"] == str(changed)
    assert sorted(p.name for p in out.iterdir()) == [f"img{i:02d}.webp" for i in range(4)]
    with Image.open(out / "img02.webp") as im:
        assert im.size == (50, 40), "the changed source's output was made again, in place"
    window.close()
    assert make_window().output.updateCheck.isChecked(), "a new window starts with it on"


@pytest.mark.timeout(60)
def test_without_a_journal_the_batch_runs_and_says_it_cannot_be_resumed(
    qtbot, window, images, tmp_path
):
    data = Path(os.environ["XDG_DATA_HOME"]) / "Pixmill"
    shutil.rmtree(data, ignore_errors=True)
    data.parent.mkdir(parents=True, exist_ok=True)
    data.write_text("a file where the data folder should be")
    with pytest.raises(JournalError):
        Journal.open()
    src, out = tmp_path / "src", tmp_path / "out"
    images(src, 3)
    window.add_paths([src])
    window.output.set_output(str(out), next_to_source=False)
    warnings: list[str] = []
    window.batch.warning.connect(warnings.append)

    report = run(qtbot, window)

    assert report.summary["ok"] == 3
    assert len(list(out.iterdir())) == 3
    assert warnings and "cannot be resumed" in warnings[0]
    text = window.messageBar.text()
    assert "cannot be resumed" in text and text[0].isupper() and text.endswith(".")
    assert window.offer_resume() is None


@pytest.mark.timeout(60)
def test_a_journal_that_fails_mid_batch_warns_from_the_gui_thread(
    qtbot, window, images, tmp_path, monkeypatch
):
    def broken(*args: object) -> None:
        raise JournalError("the batch journal cannot be written: disk I/O error")

    monkeypatch.setattr(Journal, "record", broken)
    monkeypatch.setattr(engine_session, "_MAX_WRITE_FAILURES", 1)
    src, out = tmp_path / "src", tmp_path / "out"
    images(src, 3)
    window.add_paths([src])
    window.output.set_output(str(out), next_to_source=False)
    threads: list[threading.Thread] = []
    window.batch.warning.connect(lambda text: threads.append(threading.current_thread()))

    report = run(qtbot, window)

    assert report.summary["ok"] == 3
    qtbot.waitUntil(lambda: bool(threads))
    assert threads == [threading.main_thread()]
    assert window.messageBar.text() == (
        "The batch journal cannot be written: disk I/O error; this batch cannot be resumed."
    )


@pytest.mark.timeout(60)
def test_a_folder_another_batch_writes_into_is_refused(qtbot, window, images, tmp_path):
    src, out = tmp_path / "src", tmp_path / "out"
    images(src, 3)
    recipe = Recipe()
    other = start_batch(plan([str(src)], recipe, str(out)), recipe, [str(src)], str(out), "cli")
    try:
        window.add_paths([src])
        window.output.set_output(str(out), next_to_source=False)
        with qtbot.waitSignal(window.batch.problem, timeout=20000) as problem:
            assert window.start()
        assert problem.args[0].startswith(f"Another Pixmill batch is writing into {out}")
        qtbot.waitUntil(lambda: not window.batch.busy)
        assert "nother Pixmill batch is writing into" in window.messageBar.text()
        assert window.runBar.startButton.isEnabled()
        assert not out.exists() or list(out.iterdir()) == []
    finally:
        other.close()
    assert run(qtbot, window).summary["ok"] == 3, "free again once the other batch ended"


#: A process that records a batch writing beside its sources and dies before any file.
DIE_AFTER_START = """
import os, sys
from pixmill.engine.plan import plan
from pixmill.engine.recipe import Recipe
from pixmill.engine.session import start_batch
recipe = Recipe(format="webp", name="Little web")
start_batch(plan([sys.argv[1]], recipe, None), recipe, [sys.argv[1]], None, "window")
os._exit(9)
"""


@pytest.mark.timeout(60)
def test_a_batch_beside_its_sources_resumes_there(qtbot, make_window, images, tmp_path):
    src = tmp_path / "photos"
    images(src, 3)
    subprocess.run([sys.executable, "-c", DIE_AFTER_START, str(src)], check=False, timeout=60)
    window = make_window()
    window.output.set_output(str(tmp_path / "elsewhere"), next_to_source=False)
    window.output.set_workers(1)

    info = window.offer_resume()
    assert info is not None and info.output is None
    assert window.messageBar.text() == (
        "The last batch stopped before it finished: 0 of 3 files done (Little web) "
        "to a “converted” subfolder next to each source."
    )
    with qtbot.waitSignal(window.batchFinished, timeout=60000) as finished:
        qtbot.mouseClick(bar_button(window, "resumeBatchButton"), Qt.MouseButton.LeftButton)

    assert finished.args[0].summary["ok"] == 3
    assert sorted(p.name for p in (src / "converted").iterdir()) == [
        f"img{i:02d}.webp" for i in range(3)
    ]
    assert window.output.output_dir() is None
    assert window.output.folder_text() == str(tmp_path / "elsewhere"), "kept for next time"
    assert window.results.output_folder() == str(src / "converted")
    assert window.recipePanel.recipe().format == "webp"


def test_message_bar_buttons_go_with_their_message(qtbot):
    from pixmill.gui.message_bar import WARNING, MessageBar

    window = QWidget()  # never shown: the bar is not a window of its own
    qtbot.addWidget(window)
    bar = MessageBar(window)
    clicks: list[str] = []
    bar.show_message("Pick one.", WARNING, [("Yes", "yesButton", lambda: clicks.append("y"))])
    assert [b.objectName() for b in bar.actionButtons] == ["yesButton"]
    assert not bar._timer.isActive(), "a message with buttons waits for an answer"
    bar.show_message("Something else.")
    assert bar.actionButtons == [] and bar.findChild(QPushButton, "yesButton") is None
    bar.show_message("Again?", actions=[("Yes", "yesButton", lambda: clicks.append("y"))])
    bar.findChild(QPushButton, "yesButton").click()
    assert clicks == ["y"] and bar.isHidden() and bar.actionButtons == []


@pytest.mark.timeout(60)
def test_cancel_while_resuming_lets_go_of_the_batch(qtbot, make_window, interrupted, monkeypatch):
    from pixmill.gui import batch as gui_batch

    src, out = interrupted
    cancelled = threading.Event()

    def resume_then_wait(*args: object, **kwargs: object):
        opened = engine_session.resume_batch(*args, **kwargs)
        assert cancelled.wait(20), "the test cancels while the batch is being picked up"
        return opened

    monkeypatch.setattr(gui_batch, "resume_batch", resume_then_wait)
    window = make_window()
    info = window.offer_resume()
    assert info is not None
    bar_button(window, "resumeBatchButton").click()
    assert window.batch.state == "preparing"
    assert window.runBar.progressBar.format() == "Checking…"
    window.cancel()
    cancelled.set()
    qtbot.waitUntil(lambda: window.batch.state == "idle", timeout=20000)

    assert batch_state(info.id) == "cancelled"
    recipe = Recipe()
    again = start_batch(plan([str(src)], recipe, str(out)), recipe, [str(src)], str(out), "cli")
    again.close()  # the folder's lock was free
    assert window.results.model.rowCount() == 0
