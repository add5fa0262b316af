"""The supervisor and its watchdog with real workers: dead workers (retry once or fail with
the reason), outputs published by a worker that then died, the per-file time limit, workers
that cannot start, and the progress the batch thread reports."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from pixmill.engine.plan import plan
from pixmill.engine.recipe import Recipe
from pixmill.engine.runner import BatchRunner
from tests.conftest import child_pids, make_image, stalls
from tests.engine.conftest import (
    Recorder,
    assert_outputs_complete,
    many,
    shut_down,
    wait_for,
)

pytestmark = pytest.mark.timeout(90)


def index_of(jobs, name: str) -> int:
    (index,) = [j.index for j in jobs if Path(j.source).name == name]
    return index


# --- dead workers ----------------------------------------------------------------------------
def test_killed_worker_fails_only_its_file(tmp_path, monkeypatch):
    monkeypatch.setenv("PIXMILL_FAULTS", "crash:poison")
    src = many(tmp_path, 8)
    make_image(src / "poison.jpg")
    runner = BatchRunner(workers=2, crash_retries=1)
    try:
        report = runner.run(plan([src], Recipe(format="png"), tmp_path / "o").jobs)
    finally:
        shut_down(runner)
    by_name = {Path(f["source"]).name: f for f in report.files}
    poison = by_name.pop("poison.jpg")
    assert poison["status"] == "failed"
    assert poison["error"] == (
        "worker crashed while converting poison.jpg (killed by SIGKILL) on 2 tries"
    )
    assert {f["status"] for f in by_name.values()} == {"ok"} and len(by_name) == 8
    assert_outputs_complete(tmp_path / "o")


def test_a_worker_killed_mid_file_is_replaced_and_its_file_retried_at_once(
    tmp_path, monkeypatch, supervision
):
    """The watchdog sees the dead worker and retries its file on a fresh one; the pool is
    not replaced (a stall would replace it: that is the slow way out)."""
    monkeypatch.setenv("PIXMILL_FAULTS", "slow:img005")  # a second before it converts
    src = many(tmp_path, 10)
    jobs = plan([src], Recipe(format="png"), tmp_path / "o").jobs
    victim = index_of(jobs, "img005.jpg")
    runner = BatchRunner(workers=2)
    rec = Recorder()
    try:
        runner.start(jobs, rec)
        assert wait_for(lambda: victim in runner.converting().values(), 30)
        (pid,) = [p for p, i in runner.converting().items() if i == victim]
        survivor = next(p for p in runner.worker_pids() if p != pid)
        os.kill(pid, signal.SIGKILL)
        assert rec.done.wait(60), "batch hung after a worker was killed"
        report = rec.report
        assert [f["status"] for f in report.files] == ["ok"] * 10
        attempts = {f["index"]: f.get("attempts") for f in report.files}
        assert attempts.pop(victim) == 2
        assert set(attempts.values()) == {None}
        assert pid not in runner.worker_pids() and survivor in runner.worker_pids()
        assert stalls(supervision) == []
    finally:
        shut_down(runner)
    assert_outputs_complete(tmp_path / "o")


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
        shut_down(runner)
    statuses = {Path(f["source"]).name: f["status"] for f in report.files}
    assert len(report.files) == 120
    assert statuses.pop("tiny_0037.png") == "failed"
    assert set(statuses.values()) == {"ok"}
    names = sorted(p.name for p in out.iterdir())
    assert len(names) == 119 and not any("-1" in n for n in names), "no file converted twice"
    assert_outputs_complete(out)


def test_kills_during_a_small_file_batch_account_for_every_file(tmp_path):
    src = tmp_path / "in"
    for i in range(300):
        make_image(src / f"s_{i:04d}.png", (48, 32), seed=i)
    out = tmp_path / "o"
    runner = BatchRunner(workers=2, crash_retries=1)
    rec = Recorder()
    killed = []
    try:
        runner.start(plan([src], Recipe(format="png", png_compress_level=9), out).jobs, rec)
        for _ in range(3):
            # Aim at a worker in the middle of a file (its chunk holds more).
            assert wait_for(lambda: runner.converting() or rec.done.is_set(), 30)
            busy = [p for p in runner.converting() if p not in killed]
            if not busy:
                break  # the batch ended first
            os.kill(busy[0], signal.SIGKILL)
            killed.append(busy[0])
        assert killed, "no worker was ever caught converting"
        assert rec.done.wait(60)
    finally:
        shut_down(runner)
    report = rec.report
    assert sorted(f["source"] for f in report.files) == sorted(str(p) for p in src.iterdir())
    for f in report.files:
        assert f["status"] == "ok" or f["error"].startswith("worker crashed while converting")
    written = {p.name for p in out.iterdir()}
    oks = {Path(f["target"]).name for f in report.files if f["status"] == "ok"}
    assert oks <= written
    assert len(oks) == len(written), "an output no ok result owns"
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
        shut_down(runner)
    victim = [f for f in report.files if f["source"].endswith("victim.jpg")][0]
    assert victim["status"] == "ok" and victim["target"] == str(out / "victim.png")
    assert (victim["width"], victim["height"]) == (400, 300)
    assert "attempts" not in victim, "counted done from its published output, not retried"
    assert sorted(p.name for p in out.iterdir()) == [
        "img000.png",
        "img001.png",
        "img002.png",
        "victim.png",
    ]
    assert_outputs_complete(out)


# --- the time limit --------------------------------------------------------------------------
def test_per_file_time_limit_stops_a_stuck_decode(tmp_path, monkeypatch, supervision):
    monkeypatch.setenv("PIXMILL_FAULTS", "hang:stuck")
    src = many(tmp_path, 4)
    make_image(src / "stuck.jpg")
    jobs = plan([src], Recipe(format="png"), tmp_path / "o").jobs
    stuck = index_of(jobs, "stuck.jpg")
    runner = BatchRunner(workers=2, time_limit=1.5)
    rec = Recorder()
    try:
        runner.start(jobs, rec)
        assert wait_for(lambda: stuck in runner.converting().values(), 30)
        (pid,) = [p for p, i in runner.converting().items() if i == stuck]
        assert rec.done.wait(60)
        assert pid not in runner.worker_pids(), "the stuck worker was stopped"
        assert len(runner.worker_pids()) == 2
    finally:
        shut_down(runner)
    report = rec.report
    failed = rec.result(stuck)
    assert failed["status"] == "failed"
    assert failed["error"] == "took longer than the 1.5 s time limit converting stuck.jpg; stopped"
    assert report.count("ok") == 4
    assert stalls(supervision) == []
    assert_outputs_complete(tmp_path / "o")


# --- workers that cannot start ---------------------------------------------------------------
def _batch_with_start_fault(tmp_path, monkeypatch, fault, error, log):
    """Run 12 files on workers started under fault; every file must fail with error, and
    without the pool ever stalling. Returns the runner (still up) and the source folder."""
    monkeypatch.setenv("PIXMILL_FAULTS", fault)
    src = many(tmp_path, 12)
    runner = BatchRunner(workers=2)
    try:
        report = runner.run(plan([src], Recipe(format="png"), tmp_path / "o").jobs)
        assert report.count("failed") == 12 and len(report.files) == 12
        assert {f["error"] for f in report.files} == {error}
        assert not (tmp_path / "o").exists() or not any((tmp_path / "o").iterdir())
        assert stalls(log) == [], "failed by stall after stall instead of at once"
    except BaseException:
        shut_down(runner)
        raise
    return runner, src


def test_workers_that_cannot_start_fail_the_batch_at_once_with_the_reason(
    tmp_path, monkeypatch, supervision
):
    """A worker whose start-up raises (Pillow missing or broken) answers every file with the
    reason, instead of dying and being replaced by one that dies the same way, stall after
    stall (that took two minutes for 40 files). The next batch gets fresh workers."""
    why = "the worker process could not start: ImportError: injected start-up failure"
    runner, src = _batch_with_start_fault(tmp_path, monkeypatch, "start:any", why, supervision)
    try:
        broken = set(runner.worker_pids())
        monkeypatch.delenv("PIXMILL_FAULTS")
        again = runner.run(plan([src], Recipe(format="png"), tmp_path / "o2").jobs)
        assert again.count("ok") == 12
        assert not broken & set(runner.worker_pids())
    finally:
        shut_down(runner)


def test_workers_that_die_while_starting_fail_the_batch_instead_of_stalling(
    tmp_path, monkeypatch, supervision
):
    """Worker processes that exit before they are ready (a library that crashes as it loads)
    never take a task: the Pool starts replacement after replacement. The watchdog counts
    them and fails the batch with the exit code (the stall watchdog alone would take 8 s a
    round), and leaves no process behind."""
    why = "the worker processes could not start (exit code 3)"
    runner, _ = _batch_with_start_fault(tmp_path, monkeypatch, "start-exit:any", why, supervision)
    assert "worker processes keep dying during start-up" in supervision.text
    shut_down(runner)
    assert wait_for(lambda: not child_pids() - _tracker(), 10)


def _tracker() -> set[int]:
    from multiprocessing import resource_tracker

    pid = getattr(resource_tracker._resource_tracker, "_pid", None)
    return {pid} if pid else set()


# --- progress --------------------------------------------------------------------------------
def test_progress_is_reported_during_the_batch_and_agrees_with_the_report(tmp_path, monkeypatch):
    # Two of the twelve files take a second each, so the batch outlasts several progress
    # intervals however fast the machine converts the rest. (How rates and the ETA are
    # computed is tested with a fake clock in test_flight and test_events.)
    monkeypatch.setenv("PIXMILL_FAULTS", "slow:img01")
    src = many(tmp_path, 12)
    rec = Recorder()
    runner = BatchRunner(workers=2)
    try:
        report = runner.run(plan([src], Recipe(format="png"), tmp_path / "o").jobs, rec)
    finally:
        shut_down(runner)
    done = [s.done for s in rec.snapshots]
    assert done == sorted(done), "progress never goes back"
    mid = [s for s in rec.snapshots if 0 < s.done < s.total]
    assert mid, "at least one snapshot mid-batch"
    assert any(s.files_per_s > 0 and s.eta_s is not None for s in mid)
    last = rec.snapshots[-1]
    assert last.fraction == 1.0 and last.eta_s == 0 and not last.paused
    summary = report.summary
    assert (last.done, last.ok, last.failed) == (summary["total"], summary["ok"], 0)
