"""BatchRunner, the one way to run a batch: run, start and wait, pause and resume, cancel,
listeners that fail, and its two test seams (converting(), workers_held()). Real workers."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
from faultkit.procs import writing_into

from pixmill.engine.plan import plan
from pixmill.engine.recipe import Recipe, Resize
from pixmill.engine.runner import BatchRunner
from tests.conftest import child_pids, make_image, temp_leftovers, tree_hashes
from tests.engine.conftest import (
    Recorder,
    assert_outputs_complete,
    blocked_on,
    many,
    parked,
    shut_down,
    wait_for,
)

pytestmark = pytest.mark.timeout(90)


def index_of(jobs, name: str) -> int:
    (index,) = [j.index for j in jobs if Path(j.source).name == name]
    return index


# --- run, start and wait ---------------------------------------------------------------------
def test_a_batch_converts_every_file_and_reports_each_once(tmp_path, runner):
    src = many(tmp_path, 12)
    make_image(src / "sub" / "x.png", (90, 90))
    (src / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0garbage")
    before = tree_hashes(src)
    p = plan(
        [src], Recipe(format="webp", resize=Resize("fit", width=80, height=80)), tmp_path / "o"
    )
    rec = Recorder()
    report = runner.run(p.jobs, rec)
    assert rec.report is report
    assert [f["source"] for f in report.files] == [j.source for j in p.jobs]
    s = report.summary
    assert (s["total"], s["ok"], s["failed"]) == (14, 13, 1)
    bad = [f for f in report.files if f["status"] == "failed"][0]
    assert bad["source"].endswith("broken.jpg")
    assert bad["error"] == "file is truncated or damaged"
    assert sorted(r["index"] for r in rec.finished) == [j.index for j in p.jobs]
    assert sorted(rec.started) == [j.index for j in p.jobs]
    assert rec.snapshots[-1].done == 14 and rec.snapshots[-1].eta_s == 0
    assert tree_hashes(src) == before
    assert_outputs_complete(tmp_path / "o")
    assert report.exit_code == 1


def test_planned_skips_are_reported_without_reaching_a_worker(tmp_path, runner):
    src = many(tmp_path, 2)
    out = tmp_path / "o"
    make_image(out / "img000.png")
    p = plan([src], Recipe(format="png", on_conflict="skip"), out)
    rec = Recorder()
    report = runner.run(p.jobs, rec)
    assert [f["status"] for f in report.files] == ["skipped", "ok"]
    assert rec.started == [p.jobs[1].index], "the skipped file never started"
    assert report.exit_code == 0


def test_warm_up_starts_the_workers_that_the_first_batch_then_uses(tmp_path, runner):
    assert runner.worker_pids() == []
    runner.warm_up()
    pids = sorted(runner.worker_pids())
    assert len(pids) == 2
    runner.run(plan([many(tmp_path, 4)], Recipe(format="png"), tmp_path / "o").jobs)
    assert sorted(runner.worker_pids()) == pids


def test_start_returns_at_once_and_wait_gives_the_report_when_there_is_one(tmp_path, monkeypatch):
    monkeypatch.setenv("PIXMILL_FAULTS", "hang:img001")  # runs until cancelled
    jobs = plan([many(tmp_path, 3)], Recipe(format="png"), tmp_path / "o").jobs
    hung = index_of(jobs, "img001.jpg")
    runner = BatchRunner(workers=2)
    try:
        assert runner.wait() is None and not runner.running  # no batch yet
        rec = Recorder()
        batch = runner.start(jobs, rec)
        assert runner.running and batch.is_alive()
        assert wait_for(lambda: hung in runner.converting().values(), 30)
        assert runner.wait(0.05) is None, "still running: no report yet"
        with pytest.raises(RuntimeError, match="already running"):
            runner.start(jobs)
        runner.cancel()
        report = runner.wait(30)
        assert report is not None and report is rec.report
        assert not runner.running
        assert report.cancelled and rec.result(hung)["status"] == "cancelled"
    finally:
        shut_down(runner)


def test_shutdown_stops_a_running_batch_and_every_worker_and_can_repeat(tmp_path, monkeypatch):
    monkeypatch.setenv("PIXMILL_FAULTS", "hang:img000")
    jobs = plan([many(tmp_path, 2)], Recipe(format="png"), tmp_path / "o").jobs
    hung = index_of(jobs, "img000.jpg")
    runner = BatchRunner(workers=2)
    rec = Recorder()
    runner.start(jobs, rec)
    assert wait_for(lambda: hung in runner.converting().values(), 30)
    runner.shutdown()
    assert rec.done.is_set() and rec.report.cancelled
    assert runner.worker_pids() == []
    runner.shutdown()
    assert wait_for(lambda: not child_pids(), 10), child_pids()


# --- cancel ----------------------------------------------------------------------------------
def test_cancel_mid_batch_leaves_no_temp_files_partial_outputs_or_workers(tmp_path, monkeypatch):
    """One file hangs for ever, so the batch can only end by cancelling it: the runner must
    not wait for files in progress (it gives them a moment, then stops their workers)."""
    monkeypatch.setenv("PIXMILL_FAULTS", "hang:img003")
    src = many(tmp_path, 24, size=(1000, 750))
    before = tree_hashes(src)
    runner = BatchRunner(workers=2)
    rec = Recorder()
    jobs = plan([src], Recipe(format="png", png_compress_level=9), tmp_path / "o").jobs
    hung = index_of(jobs, "img003.jpg")
    runner.start(jobs, rec)
    assert wait_for(lambda: hung in runner.converting().values(), 30)
    (hung_pid,) = [p for p, i in runner.converting().items() if i == hung]
    runner.cancel()
    assert rec.done.wait(30), "cancel waited for a file that never ends"
    report = rec.report
    assert report.cancelled and report.exit_code == 130
    assert len(report.files) == 24
    assert rec.result(hung)["status"] == "cancelled"
    assert all(f["status"] in ("ok", "cancelled") for f in report.files)
    assert report.count("cancelled") > 1, "files that had not started are cancelled too"
    assert wait_for(lambda: not Path(f"/proc/{hung_pid}").exists(), 10), "hung worker lives"
    assert_outputs_complete(tmp_path / "o")
    runner.shutdown()
    assert wait_for(lambda: not child_pids(), 10), child_pids()
    assert tree_hashes(src) == before


# --- listeners -------------------------------------------------------------------------------
def test_a_listener_that_raises_does_not_stop_result_delivery(tmp_path, runner):
    class Angry(Recorder):
        def job_finished(self, result):
            super().job_finished(result)
            raise RuntimeError("listener bug")

        def progress(self, snapshot):
            raise ValueError("also broken")

    src = many(tmp_path, 6)
    rec = Angry()
    report = runner.run(plan([src], Recipe(format="png"), tmp_path / "o").jobs, rec)
    assert len(rec.finished) == 6 and report.count("ok") == 6
    assert rec.report is report


# --- pause and resume ------------------------------------------------------------------------
def test_pause_stops_feeding_and_resume_finishes(tmp_path, runner):
    src = many(tmp_path, 30, size=(600, 450))
    rec = Recorder()
    runner.start(plan([src], Recipe(format="png"), tmp_path / "o").jobs, rec)
    assert rec.first_start.wait(30)
    runner.pause()
    assert runner.paused
    # The files in progress finish; the rest of their chunks are handed back.
    assert wait_for(lambda: not runner.converting(), 30)
    ticks = len(rec.snapshots)
    started, finished = len(rec.started), len(rec.finished)
    # Five more turns of the supervisor's loop (a snapshot every 0.1 s), all paused ...
    assert wait_for(lambda: len(rec.snapshots) >= ticks + 5, 30)
    assert all(s.paused for s in rec.snapshots[ticks:])
    # ... and nothing started or finished meanwhile.
    assert (len(rec.started), len(rec.finished)) == (started, finished)
    assert finished < 30
    runner.resume()
    assert not runner.paused
    assert rec.done.wait(60)
    assert rec.report.count("ok") == 30
    assert not rec.snapshots[-1].paused


# --- the test seams --------------------------------------------------------------------------
def test_converting_names_the_worker_of_a_file_in_progress(tmp_path, monkeypatch):
    """converting() maps each busy worker's pid to its file: killing the pid it names for
    the slow file must cost exactly that file a retry."""
    monkeypatch.setenv("PIXMILL_FAULTS", "slow:img002")
    jobs = plan([many(tmp_path, 6)], Recipe(format="png"), tmp_path / "o").jobs
    slow = index_of(jobs, "img002.jpg")
    runner = BatchRunner(workers=2)
    rec = Recorder()
    try:
        assert runner.converting() == {}
        runner.start(jobs, rec)
        assert wait_for(lambda: slow in runner.converting().values(), 30)
        busy = runner.converting()
        (pid,) = [p for p, i in busy.items() if i == slow]
        assert set(busy) <= set(runner.worker_pids())
        os.kill(pid, signal.SIGKILL)
        assert rec.done.wait(60)
        assert runner.converting() == {}
    finally:
        shut_down(runner)
    attempts = {f["index"]: f.get("attempts") for f in rec.report.files}
    assert attempts.pop(slow) == 2 and set(attempts.values()) == {None}
    assert rec.report.count("ok") == 6


def test_workers_held_parks_a_worker_at_its_next_message_until_released(tmp_path, monkeypatch):
    """Held while its file is converting, the worker finishes the file and then waits to
    announce its output (the announcement comes before the output is moved into place): the
    output stays a complete temp file, and the runner hears nothing until the hold ends."""
    monkeypatch.setenv("PIXMILL_FAULTS", "slow:img000")  # a second before it converts
    out = tmp_path / "o"
    jobs = plan([many(tmp_path, 2)], Recipe(format="png"), out).jobs
    first = index_of(jobs, "img000.jpg")
    runner = BatchRunner(workers=1)
    rec = Recorder()
    try:
        with pytest.raises(RuntimeError, match="no batch"), runner.workers_held():
            pass
        runner.start(jobs, rec)
        assert wait_for(lambda: first in runner.converting().values(), 30)
        (pid,) = runner.converting()
        with runner.workers_held():
            assert wait_for(lambda: parked(pid), 30), blocked_on(pid)
            assert runner.converting() == {pid: first}
            assert rec.finished == [] and rec.started == [first]
            assert not Path(jobs[0].target).exists()
            # The finished output, not yet published: open in the worker without a name
            # (O_TMPFILE), or under a temp name.
            assert writing_into(str(out), [pid])
        assert rec.done.wait(30)
    finally:
        shut_down(runner)
    assert [f["status"] for f in rec.report.files] == ["ok", "ok"]
    assert Path(jobs[0].target).exists() and not temp_leftovers(out)
    assert_outputs_complete(out)
