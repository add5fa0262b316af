"""WorkerPool and PoolKeeper: one spawn pool generation with its message channel, the warm
pool kept between batches, and how pools end. Real worker processes."""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from pixmill.engine.plan import plan
from pixmill.engine.pool import PoolKeeper, WorkerPool
from pixmill.engine.recipe import Recipe
from pixmill.engine.runner import BatchRunner
from tests.conftest import make_image
from tests.engine.conftest import blocked_on, many, shut_down, wait_for

pytestmark = pytest.mark.timeout(90)


@pytest.fixture
def keeper():
    k = PoolKeeper(memory_limit=None)
    yield k
    k.shutdown()


def collect(pool: WorkerPool, until: Callable[[list[tuple]], bool]) -> list[tuple]:
    """Worker messages, in order, until `until` holds for the list so far."""
    got: list[tuple] = []
    assert wait_for(lambda: got.extend(pool.receive()) or until(got), 60, 0.01), got
    return got


def kinds(messages: list[tuple]) -> list[str]:
    return [m[0] for m in messages]


def jobs_for(tmp_path: Path, n: int, fmt: str = "png"):
    return plan([many(tmp_path, n)], Recipe(format=fmt), tmp_path / "out").jobs


def all_ended(procs) -> bool:
    return all(p.exitcode is not None for p in procs)


# --- one generation ----------------------------------------------------------------------
def test_a_worker_says_ready_then_start_and_done_for_each_file(tmp_path, keeper):
    pool = keeper.current(1)
    (job,) = jobs_for(tmp_path, 1)
    answered = threading.Event()
    undelivered: list = []

    def on_done(rest):
        undelivered.extend(rest)
        answered.set()

    pool.submit([(7, job)], on_done, lambda exc: answered.set())
    got = collect(pool, lambda ms: "done" in kinds(ms))
    assert kinds(got) == ["ready", "start", "publishing", "done"]
    (_, _, (pid, error)) = got[0]
    assert error is None and pid in pool.processes()
    assert got[1] == ("start", 7, pid)
    assert got[2][1] == 7 and got[2][2]["target"] == job.target
    assert got[3][1] == 7 and got[3][2]["status"] == "ok"
    assert answered.wait(10) and undelivered == []  # every result travelled as a message
    pool.mark_ready(pid, error)
    assert pool.any_ready and not pool.broken
    assert pool.exitcode(pid) is None and pool.died_starting() == 0


def test_messages_are_read_whole_in_order_however_the_pipe_cuts_them(keeper):
    pool = keeper.current(1)
    collect(pool, lambda got: "ready" in kinds(got))
    big = ("done", 7, {"warnings": ["x" * 300_000]})  # more than the pipe holds at once
    sent = [("start", 1, 2), big] + [("start", n, 2) for n in range(3, 200)]
    # Written from another thread, as a worker would: the big one blocks until read.
    writer = threading.Thread(target=lambda: [pool._messages.put(m) for m in sent])
    writer.start()
    got = collect(pool, lambda got: len(got) >= len(sent))
    writer.join(10)
    assert got == sent
    assert not pool.broken


def test_a_torn_message_is_dropped_and_breaks_the_pool(keeper):
    pool = keeper.current(1)
    collect(pool, lambda got: "ready" in kinds(got))
    pool._messages.put(("start", 1, 2))
    # What a worker killed in the middle of a long message leaves: a size, then not a pickle.
    os.write(pool._messages._writer.fileno(), (12).to_bytes(4, "big") + b"not a pickle")
    got = collect(pool, lambda got: pool.broken)
    assert got == [("start", 1, 2)]


def test_a_paused_pool_hands_files_back_and_reset_clears_the_pause(tmp_path, keeper):
    pool = keeper.current(1)
    a, b = jobs_for(tmp_path, 2)
    pool.set_paused(True)
    pool.submit([(1, a), (2, b)], lambda rest: None, lambda exc: None)
    got = collect(pool, lambda ms: kinds(ms).count("deferred") == 2)
    assert ("deferred", 1, None) in got and ("deferred", 2, None) in got
    assert "start" not in kinds(got)
    assert keeper.current(1) is pool  # same size, not broken: the warm pool, reset
    pool.submit([(3, a)], lambda rest: None, lambda exc: None)
    got = collect(pool, lambda ms: "done" in kinds(ms))
    assert [m for m in got if m[0] == "done"][0][2]["status"] == "ok"


def test_a_cancelled_pool_stops_its_files_and_reset_clears_the_cancel(tmp_path, keeper):
    pool = keeper.current(1)
    (job,) = jobs_for(tmp_path, 1)
    pool.set_cancelled()
    pool.submit([(1, job)], lambda rest: None, lambda exc: None)
    got = collect(pool, lambda ms: "done" in kinds(ms))
    assert got[-1][2]["status"] == "cancelled"
    assert not Path(job.target).exists()
    pool.reset()
    pool.submit([(2, job)], lambda rest: None, lambda exc: None)
    got = collect(pool, lambda ms: "done" in kinds(ms))
    assert got[-1][2]["status"] == "ok" and Path(job.target).exists()


def test_a_worker_that_cannot_convert_breaks_its_pool(tmp_path, keeper, monkeypatch):
    monkeypatch.setenv("PIXMILL_FAULTS", "start:any")
    pool = keeper.current(1)
    (ready,) = collect(pool, lambda ms: "ready" in kinds(ms))
    pid, error = ready[2]
    assert error == "ImportError: injected start-up failure"
    pool.mark_ready(pid, error)
    assert pool.broken and pool.any_ready
    old = list(pool.processes().values())
    monkeypatch.delenv("PIXMILL_FAULTS")
    fresh = keeper.current(1)  # the next batch gets a fresh pool
    assert fresh is not pool and all_ended(old)
    (ready,) = collect(fresh, lambda ms: "ready" in kinds(ms))
    assert ready[2][1] is None


def test_workers_that_die_while_starting_are_counted_with_their_exit_code(keeper, monkeypatch):
    monkeypatch.setenv("PIXMILL_FAULTS", "start-exit:any")
    pool = keeper.current(2)
    first = set(pool.processes())

    def deaths() -> int:
        pool.processes()  # a worker is counted once it has been seen
        return pool.died_starting()

    assert wait_for(lambda: deaths() >= 4, 60, 0.02)
    assert not pool.any_ready
    assert pool.last_exitcode() == 3
    assert all(pool.exitcode(pid) == 3 for pid in first)
    assert pool.exitcode(None) is None


# --- ending a pool -----------------------------------------------------------------------
def test_terminate_is_bounded_when_a_dead_worker_holds_the_task_lock(keeper):
    """An idle worker waits for a task holding the task queue's read lock. Killed there, it
    never lets go, and multiprocessing's Pool.terminate() blocks on that lock for ever.
    WorkerPool.terminate() frees the lock, so the Pool's own shutdown completes too."""
    pool = keeper.current(1)
    (pid,) = pool.processes()
    # Started, said ready, now reading the task pipe with the lock held.
    assert wait_for(lambda: "pipe" in (blocked_on(pid) or ""), 60, 0.01), blocked_on(pid)
    os.kill(pid, signal.SIGKILL)
    # The Pool starts a replacement; it waits for the dead worker's lock.
    assert wait_for(lambda: set(pool.processes()) - {pid}, 30)
    procs = list(pool.processes().values())
    pool.terminate(timeout=0.5)
    assert all_ended(procs)
    assert pool.processes() == {} or all_ended(pool.processes().values())

    def pool_shutdown_finished() -> bool:
        return not any(t.name == "pixmill-terminate" for t in threading.enumerate())

    assert wait_for(pool_shutdown_finished, 20), "Pool.terminate() still blocked on the lock"


def test_the_keeper_keeps_one_warm_pool_and_replaces_it_when_needed(keeper):
    assert keeper.peek() is None  # peeking never starts one
    a = keeper.current(1)
    assert keeper.peek() is a and keeper.current(1) is a
    a_procs = list(a.processes().values())
    b = keeper.current(2)  # another size: a new pool, the old one stopped
    assert b is not a and len(b.processes()) == 2 and all_ended(a_procs)
    b_procs = list(b.processes().values())
    b.broken = True
    c = keeper.current(2)  # a broken pool is never handed out again
    assert c is not b and all_ended(b_procs)
    c_procs = list(c.processes().values())
    keeper.retire(c, wait=False)  # stopped in the background
    assert c.broken and keeper.peek() is None
    assert wait_for(lambda: all_ended(c_procs), 20)
    d = keeper.current(1)
    d_procs = list(d.processes().values())
    keeper.retire(d, wait=True)
    assert all_ended(d_procs)
    e = keeper.current(1)
    e_procs = list(e.processes().values())
    keeper.shutdown()
    assert keeper.peek() is None and all_ended(e_procs)


# --- through the runner ------------------------------------------------------------------
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


def test_memory_ceiling_turns_runaway_allocation_into_a_clean_failure(tmp_path, monkeypatch):
    monkeypatch.setenv("PIXMILL_FAULTS", "alloc:hog")
    src = many(tmp_path, 2)
    make_image(src / "hog.jpg")
    runner = BatchRunner(workers=2, memory_limit=1 << 30)
    try:
        report = runner.run(plan([src], Recipe(format="png"), tmp_path / "o").jobs)
    finally:
        shut_down(runner)
    hog = [f for f in report.files if f["source"].endswith("hog.jpg")][0]
    assert hog["status"] == "failed" and "not enough memory" in hog["error"]
    assert report.count("ok") == 2


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
        assert wait_for(
            lambda: victim not in runner.worker_pids() and len(runner.worker_pids()) == 2, 30
        ), "the dead worker was not replaced"
    finally:
        shut_down(runner)
