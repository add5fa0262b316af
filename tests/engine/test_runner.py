"""The real spawn Pool with real workers: supervision, cancel, pause, listeners."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import pytest
from PIL import Image

from pixmill.engine.events import BatchListener, Progress
from pixmill.engine.plan import plan
from pixmill.engine.recipe import Recipe, Resize
from pixmill.engine.runner import BatchRunner
from tests.conftest import child_pids, make_image, temp_leftovers, tree_hashes

pytestmark = pytest.mark.timeout(90)


class Recorder(BatchListener):
    def __init__(self) -> None:
        self.started: list[int] = []
        self.finished: list[dict] = []
        self.snapshots: list[Progress] = []
        self.report = None
        self.first_start = threading.Event()
        self.done = threading.Event()

    def job_started(self, index, source):
        self.started.append(index)
        self.first_start.set()

    def job_finished(self, result):
        self.finished.append(result)

    def progress(self, snapshot):
        self.snapshots.append(snapshot)

    def batch_finished(self, report):
        self.report = report
        self.done.set()


@pytest.fixture
def runner():
    r = BatchRunner(workers=2)
    yield r
    r.shutdown()
    deadline = time.monotonic() + 5
    while child_pids() and time.monotonic() < deadline:
        time.sleep(0.05)


def many(tmp_path: Path, n: int, size=(160, 120)) -> Path:
    src = tmp_path / "in"
    for i in range(n):
        make_image(src / f"img{i:03d}.jpg", size, seed=i, quality=85)
    return src


def assert_outputs_complete(out: Path) -> None:
    assert temp_leftovers(out) == []
    for p in out.rglob("*"):
        if p.is_file():
            with Image.open(p) as im:
                im.load()


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
    assert rec.snapshots[-1].done == 14 and rec.snapshots[-1].eta_s == 0
    assert tree_hashes(src) == before
    assert_outputs_complete(tmp_path / "o")
    assert report.exit_code == 1


def test_planned_skips_are_reported_without_reaching_a_worker(tmp_path, runner):
    src = many(tmp_path, 2)
    out = tmp_path / "o"
    make_image(out / "img000.png")
    p = plan([src], Recipe(format="png", on_conflict="skip"), out)
    report = runner.run(p.jobs)
    assert [f["status"] for f in report.files] == ["skipped", "ok"]
    assert report.exit_code == 0


def test_pool_stays_warm_between_batches_and_resizes_on_request(tmp_path, runner):
    src = many(tmp_path, 4)
    runner.run(plan([src], Recipe(format="png"), tmp_path / "a").jobs)
    pids = sorted(runner.worker_pids())
    runner.run(plan([src], Recipe(format="png"), tmp_path / "b").jobs)
    assert sorted(runner.worker_pids()) == pids and len(pids) == 2
    runner.workers = 1
    runner.run(plan([src], Recipe(format="png"), tmp_path / "c").jobs)
    assert len(runner.worker_pids()) == 1


def test_workers_never_import_qt(tmp_path, runner):
    pytest.importorskip("PySide6.QtCore")  # loaded in this (parent) process on purpose
    src = many(tmp_path, 2)
    runner.run(plan([src], Recipe(format="png"), tmp_path / "o").jobs)
    for pid in runner.worker_pids():
        maps = Path(f"/proc/{pid}/maps").read_text()
        assert "QtCore" not in maps and "pyside" not in maps.lower()
        modules = Path(f"/proc/{pid}/cmdline").read_bytes()
        assert b"PySide6" not in modules


def test_killed_worker_fails_only_its_file(tmp_path, monkeypatch):
    monkeypatch.setenv("PIXMILL_FAULTS", "crash:poison")
    src = many(tmp_path, 8)
    make_image(src / "poison.jpg")
    runner = BatchRunner(workers=2, crash_retries=1)
    try:
        report = runner.run(plan([src], Recipe(format="png"), tmp_path / "o").jobs)
    finally:
        runner.shutdown()
    by_name = {Path(f["source"]).name: f for f in report.files}
    assert by_name["poison.jpg"]["status"] == "failed"
    assert "worker crashed while converting poison.jpg" in by_name["poison.jpg"]["error"]
    assert sum(f["status"] == "ok" for f in report.files) == 8
    assert_outputs_complete(tmp_path / "o")


def test_a_worker_killed_from_outside_mid_batch_does_not_hang_it(tmp_path, runner, monkeypatch):
    monkeypatch.setenv("PIXMILL_FAULTS", "slow:img00")
    runner.shutdown()  # pick up the environment in fresh workers
    src = many(tmp_path, 10)
    rec = Recorder()
    runner.start(plan([src], Recipe(format="png"), tmp_path / "o").jobs, rec)
    assert rec.first_start.wait(20)
    time.sleep(0.3)
    victim = runner.worker_pids()[0]
    os.kill(victim, signal.SIGKILL)
    assert rec.done.wait(60), "batch hung after a worker was killed"
    report = rec.report
    assert len(report.files) == 10
    assert all(f["status"] in ("ok", "failed") for f in report.files)
    assert report.count("ok") >= 9  # the victim's file is retried once on a fresh worker
    assert_outputs_complete(tmp_path / "o")


def test_per_file_time_limit_stops_a_stuck_decode(tmp_path, monkeypatch):
    monkeypatch.setenv("PIXMILL_FAULTS", "hang:stuck")
    src = many(tmp_path, 4)
    make_image(src / "stuck.jpg")
    runner = BatchRunner(workers=2, time_limit=1.5)
    try:
        t0 = time.monotonic()
        report = runner.run(plan([src], Recipe(format="png"), tmp_path / "o").jobs)
        elapsed = time.monotonic() - t0
    finally:
        runner.shutdown()
    stuck = [f for f in report.files if f["source"].endswith("stuck.jpg")][0]
    assert stuck["status"] == "failed" and "time limit" in stuck["error"]
    assert report.count("ok") == 4
    assert elapsed < 30


def test_memory_ceiling_turns_runaway_allocation_into_a_clean_failure(tmp_path, monkeypatch):
    monkeypatch.setenv("PIXMILL_FAULTS", "alloc:hog")
    src = many(tmp_path, 2)
    make_image(src / "hog.jpg")
    runner = BatchRunner(workers=2, memory_limit=1 << 30)
    try:
        report = runner.run(plan([src], Recipe(format="png"), tmp_path / "o").jobs)
    finally:
        runner.shutdown()
    hog = [f for f in report.files if f["source"].endswith("hog.jpg")][0]
    assert hog["status"] == "failed" and "not enough memory" in hog["error"]
    assert report.count("ok") == 2


def test_cancel_mid_batch_leaves_no_temp_files_partial_outputs_or_workers(tmp_path):
    src = many(tmp_path, 40, size=(1200, 900))
    before = tree_hashes(src)
    runner = BatchRunner(workers=2)
    rec = Recorder()
    jobs = plan([src], Recipe(format="png", png_compress_level=9), tmp_path / "o").jobs
    runner.start(jobs, rec)
    assert rec.first_start.wait(20)
    time.sleep(0.4)
    t0 = time.monotonic()
    runner.cancel()
    assert rec.done.wait(10)
    assert time.monotonic() - t0 < 1.0, "cancel must report well under a second"
    report = rec.report
    assert report.cancelled and report.exit_code == 130
    assert len(report.files) == 40
    assert report.count("cancelled") > 0
    assert_outputs_complete(tmp_path / "o")
    runner.shutdown()
    time.sleep(0.2)
    assert child_pids() == set()
    assert tree_hashes(src) == before


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


def test_pause_stops_feeding_and_resume_finishes(tmp_path, runner):
    src = many(tmp_path, 30, size=(600, 450))
    rec = Recorder()
    runner.start(plan([src], Recipe(format="png"), tmp_path / "o").jobs, rec)
    assert rec.first_start.wait(20)
    runner.pause()
    time.sleep(1.5)  # in-flight files drain
    count = len(rec.finished)
    time.sleep(1.0)
    assert len(rec.finished) == count, "nothing new finishes while paused"
    assert count < 30
    assert rec.snapshots[-1].paused
    runner.resume()
    assert rec.done.wait(60)
    assert rec.report.count("ok") == 30


def test_progress_reports_rate_and_eta(tmp_path, monkeypatch):
    # Two of the twelve files take a second each, so the batch outlasts several progress
    # intervals however fast the machine converts the rest.
    monkeypatch.setenv("PIXMILL_FAULTS", "slow:img01")
    src = many(tmp_path, 12)
    rec = Recorder()
    runner = BatchRunner(workers=2)
    try:
        runner.run(plan([src], Recipe(format="png"), tmp_path / "o").jobs, rec)
    finally:
        runner.shutdown()
    mid = [s for s in rec.snapshots if 0 < s.done < s.total]
    assert mid, "at least one snapshot mid-batch"
    assert all(s.files_per_s > 0 and s.eta_s is not None for s in mid)
    last = rec.snapshots[-1]
    assert last.fraction == 1.0
    # The whole batch fits in the 10 s rate window: bytes/s over files/s is the mean size.
    sizes = [f["bytes_in"] for f in rec.report.files]
    assert last.bytes_per_s / last.files_per_s == pytest.approx(sum(sizes) / len(sizes))


def test_a_crash_inside_a_chunk_of_small_files_loses_and_duplicates_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("PIXMILL_FAULTS", "crash:tiny_0037")
    src = tmp_path / "in"
    for i in range(120):
        make_image(src / f"tiny_{i:04d}.png", (24, 16), seed=i)
    out = tmp_path / "o"
    runner = BatchRunner(workers=2)
    try:
        report = runner.run(plan([src], Recipe(format="png"), out).jobs)
    finally:
        runner.shutdown()
    statuses = {Path(f["source"]).name: f["status"] for f in report.files}
    assert len(report.files) == 120
    assert statuses.pop("tiny_0037.png") == "failed"
    assert set(statuses.values()) == {"ok"}
    names = sorted(p.name for p in out.iterdir())
    assert len(names) == 119 and not any("-1" in n for n in names), "no file converted twice"
    assert_outputs_complete(out)


def test_random_kills_during_a_small_file_batch_account_for_every_file(tmp_path):
    src = tmp_path / "in"
    for i in range(300):
        make_image(src / f"s_{i:04d}.png", (48, 32), seed=i)
    out = tmp_path / "o"
    runner = BatchRunner(workers=2, crash_retries=1)
    rec = Recorder()
    try:
        runner.start(plan([src], Recipe(format="png", png_compress_level=9), out).jobs, rec)
        assert rec.first_start.wait(20)
        for _ in range(3):
            time.sleep(0.15)
            pids = runner.worker_pids()
            if pids and not rec.done.is_set():
                os.kill(pids[0], signal.SIGKILL)
        assert rec.done.wait(60)
    finally:
        runner.shutdown()
    report = rec.report
    assert sorted(f["source"] for f in report.files) == sorted(str(p) for p in src.iterdir())
    assert all(f["status"] in ("ok", "failed") for f in report.files)
    written = {p.name for p in out.iterdir()}
    oks = {Path(f["target"]).name for f in report.files if f["status"] == "ok"}
    assert oks <= written
    assert_outputs_complete(out)


@pytest.mark.parametrize("policy", ["rename", "skip", "overwrite"])
def test_a_worker_that_dies_right_after_publishing_is_not_converted_twice(
    tmp_path, monkeypatch, policy
):
    monkeypatch.setenv("PIXMILL_FAULTS", "crash-after-publish:victim")
    src = many(tmp_path, 3)
    make_image(src / "victim.jpg", (400, 300))
    out = tmp_path / "o"
    runner = BatchRunner(workers=2)
    try:
        report = runner.run(plan([src], Recipe(format="png", on_conflict=policy), out).jobs)
    finally:
        runner.shutdown()
    victim = [f for f in report.files if f["source"].endswith("victim.jpg")][0]
    assert victim["status"] == "ok" and victim["target"] == str(out / "victim.png")
    assert (victim["width"], victim["height"]) == (400, 300)
    assert sorted(p.name for p in out.iterdir()) == [
        "img000.png",
        "img001.png",
        "img002.png",
        "victim.png",
    ]
    assert_outputs_complete(out)


def _batch_with_start_fault(tmp_path, monkeypatch, fault, error, seconds):
    """Run 12 files on workers started under fault; every file must fail with error, within
    seconds. Returns the runner (still up) and the source folder."""
    monkeypatch.setenv("PIXMILL_FAULTS", fault)
    src = many(tmp_path, 12)
    runner = BatchRunner(workers=2)
    try:
        t0 = time.monotonic()
        report = runner.run(plan([src], Recipe(format="png"), tmp_path / "o").jobs)
        assert time.monotonic() - t0 < seconds
        assert report.count("failed") == 12 and len(report.files) == 12
        assert {f["error"] for f in report.files} == {error}
        assert not (tmp_path / "o").exists() or not any((tmp_path / "o").iterdir())
    except BaseException:
        runner.shutdown()
        raise
    return runner, src


def test_workers_that_cannot_start_fail_the_batch_at_once_with_the_reason(tmp_path, monkeypatch):
    """A worker whose start-up raises (Pillow missing or broken) answers every file with the
    reason, instead of dying and being replaced by one that dies the same way, stall after
    stall (that took two minutes for 40 files). The next batch gets fresh workers."""
    why = "the worker process could not start: ImportError: injected start-up failure"
    runner, src = _batch_with_start_fault(tmp_path, monkeypatch, "start:any", why, 20)
    try:
        monkeypatch.delenv("PIXMILL_FAULTS")
        again = runner.run(plan([src], Recipe(format="png"), tmp_path / "o2").jobs)
        assert again.count("ok") == 12
    finally:
        runner.shutdown()


def test_workers_that_die_while_starting_fail_the_batch_instead_of_stalling(tmp_path, monkeypatch):
    """Worker processes that exit before they are ready (a library that crashes as it loads)
    never take a task: the Pool starts replacement after replacement. The runner notices and
    fails the batch with the exit code within seconds (the stall watchdog alone would take
    8 s a round), and leaves no process behind."""
    why = "the worker processes could not start (exit code 3)"
    runner, _ = _batch_with_start_fault(tmp_path, monkeypatch, "start-exit:any", why, 6.0)
    runner.shutdown()
    deadline = time.monotonic() + 5
    while child_pids() - _tracker() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert child_pids() - _tracker() == set()


def _tracker() -> set[int]:
    from multiprocessing import resource_tracker

    pid = getattr(resource_tracker._resource_tracker, "_pid", None)
    return {pid} if pid else set()


def test_the_pool_worker_handler_waits_instead_of_spinning(tmp_path, monkeypatch):
    """multiprocessing's stock worker handler also waits on the result pipe and loops while a
    result sits unread: over a thousand laps for a batch like this one, CPU that two busy
    workers on two cores pay for. Ours wakes when a worker exits or the pool changes."""
    import multiprocessing.pool

    laps = []
    original = multiprocessing.pool.Pool._maintain_pool  # the handler calls it on the base class

    def counting(*args, **kwargs):
        laps.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(multiprocessing.pool.Pool, "_maintain_pool", staticmethod(counting))
    src = tmp_path / "in"
    for i in range(16):  # above the small-file size: one file per pool task, one result each
        make_image(src / f"big{i:02d}.png", (700, 500), seed=i, compress_level=0)
    runner = BatchRunner(workers=2)
    try:
        report = runner.run(plan([src], Recipe(format="png"), tmp_path / "o").jobs)
        assert report.count("ok") == 16
        assert len(laps) <= 6, f"{len(laps)} worker-handler laps for 16 results"
        victim = runner.worker_pids()[0]
        os.kill(victim, signal.SIGKILL)  # a dead worker must still wake it and be replaced
        deadline = time.monotonic() + 10
        while (victim in runner.worker_pids() or len(runner.worker_pids()) < 2) and (
            time.monotonic() < deadline
        ):
            time.sleep(0.05)
        assert victim not in runner.worker_pids() and len(runner.worker_pids()) == 2
    finally:
        runner.shutdown()
