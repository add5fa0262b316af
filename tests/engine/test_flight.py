"""Flight, the books of one batch, on its own: no processes, no pool (launch() only keeps the
pool it is given, so any object stands in for one)."""

from __future__ import annotations

import logging

import pytest

from pixmill.engine.events import BatchListener, ProgressMeter
from pixmill.engine.flight import Flight, InFlight
from pixmill.engine.job import Job
from pixmill.engine.recipe import Recipe
from pixmill.engine.result import job_result

pytestmark = pytest.mark.timeout(30)

SMALL = 10 << 10
BIG = 4 << 20  # well above the size up to which files share a pool task
POOL = object()  # an opaque stand-in for the WorkerPool a chunk goes to
RECIPE = Recipe()


def job(index: int, size: int = SMALL, action: str = "convert") -> Job:
    return Job(
        index,
        f"/in/img{index:04d}.png",
        f"/out/img{index:04d}.png",
        "png",
        RECIPE,
        action=action,
        size=size,
    )


class Recorder(BatchListener):
    def __init__(self) -> None:
        self.calls: list[tuple] = []

    def job_started(self, index, source):
        self.calls.append(("job_started", index, source))

    def job_finished(self, result):
        self.calls.append(("job_finished", result))


def flight_of(sizes: list[int], listener: BatchListener | None = None) -> Flight:
    return Flight([job(i, s) for i, s in enumerate(sizes)], listener or BatchListener())


def indexes(files: list[InFlight] | None) -> list[int]:
    assert files is not None
    return [f.job.index for f in files]


def drain(flight: Flight, window: int) -> list[list[int]]:
    """Take every chunk, landing each at once (so the window never holds the feed back)."""
    chunks = []
    while (files := flight.next_chunk(window)) is not None:
        chunks.append(indexes(files))
        flight.launch(POOL, files)
        for f in files:
            flight.land(f.fid)
    return chunks


# --- chunking --------------------------------------------------------------------------------
def test_small_files_share_a_task_up_to_the_chunk_limit():
    flight = flight_of([SMALL] * 1000)
    assert indexes(flight.next_chunk(window=8)) == list(range(32))


def test_a_big_file_travels_alone_and_goes_before_the_small_ones():
    flight = flight_of([SMALL, SMALL, BIG, SMALL, SMALL] + [SMALL] * 100)
    assert indexes(flight.next_chunk(window=1)) == [2]
    assert indexes(flight.next_chunk(window=2))[:4] == [0, 1, 3, 4]


def test_big_files_go_biggest_first_then_the_small_ones_in_plan_order():
    # Longest first: the last tasks are the shortest, so no worker idles long at the end.
    sizes = [SMALL, BIG, SMALL, BIG * 3, BIG * 2, SMALL, BIG * 2, 0]
    order = [i for c in drain(flight_of(sizes), window=1) for i in c]
    assert order[:4] == [3, 4, 6, 1], "biggest first; equal sizes keep their plan order"
    assert sorted(order[4:]) == order[4:] == [0, 2, 5, 7]


def test_chunks_shrink_towards_the_end_so_every_worker_stays_busy():
    chunks = drain(flight_of([SMALL] * 400), window=4)
    sizes = [len(c) for c in chunks]
    assert sizes[0] == 32
    assert sizes == sorted(sizes, reverse=True), sizes
    assert sizes[-4:] == [1, 1, 1, 1]  # the last few files go one to a task
    assert [i for c in chunks for i in c] == list(range(400)), "plan order, nothing twice"


def test_a_retry_travels_alone_and_goes_first():
    flight = flight_of([SMALL] * 100)
    first = flight.next_chunk(window=4)
    assert first is not None and len(first) > 1
    flight.launch(POOL, first)
    victim = first[1]
    flight.retry(victim)
    assert victim.attempt == 1 and victim.fid not in flight.files
    assert indexes(flight.next_chunk(window=4)) == [victim.job.index]
    # and a retry waiting behind a small file is not swept into its chunk
    flight.pending.insert(1, victim)
    assert victim not in flight.next_chunk(window=4)


def test_no_chunk_while_the_window_is_full_or_nothing_waits():
    flight = flight_of([BIG] * 3)
    for _ in range(2):
        flight.launch(POOL, flight.next_chunk(window=2))
    assert flight.next_chunk(window=2) is None  # two tasks in the air
    assert flight.next_chunk(window=3) is not None
    assert flight.next_chunk(window=9) is None  # nothing left to send
    assert flight  # but files still wait for their results


def test_skipped_jobs_never_enter_the_queue():
    jobs = [job(0), job(1, action="skip"), job(2)]
    flight = Flight(jobs, BatchListener())
    assert [f.job.index for f in flight.pending] == [0, 2]


# --- leaving the air -------------------------------------------------------------------------
def test_deferred_files_are_requeued_first_in_plan_order():
    flight = flight_of([SMALL] * 40)
    chunk_files = flight.next_chunk(window=4)
    assert chunk_files is not None and len(chunk_files) >= 4
    chunk = flight.launch(POOL, chunk_files)
    waiting = [f.job.index for f in flight.pending]
    flight.defer(chunk_files[3])  # handed back out of order
    flight.defer(chunk_files[1])
    assert chunk_files[1].fid not in flight.files and chunk_files[1].fid not in chunk.files
    flight.requeue_deferred()
    assert not flight.deferred
    assert [f.job.index for f in flight.pending] == [1, 3, *waiting]


def test_an_unfinished_chunk_puts_its_files_back_at_the_front():
    flight = flight_of([SMALL] * 40)
    files = flight.next_chunk(window=4)
    assert files is not None
    chunk = flight.launch(POOL, files)
    waiting = [f.job.index for f in flight.pending]
    flight.unfinished(chunk)
    assert [f.job.index for f in flight.pending] == indexes(files) + waiting
    assert not flight.files and not flight.chunks and not chunk.files
    assert all(f.chunk is None for f in files)


def test_landing_the_last_file_of_a_chunk_drops_the_chunk():
    flight = flight_of([SMALL] * 3)
    files = flight.next_chunk(window=1)
    assert files is not None and len(files) == 2
    chunk = flight.launch(POOL, files)
    assert chunk.pool is POOL
    flight.land(files[0].fid)
    assert chunk.cid in flight.chunks and files[0].chunk is None
    flight.land(None)  # a message without a file id
    flight.land(-1)  # a file no longer in the air
    assert chunk.cid in flight.chunks
    flight.land(files[1].fid)
    assert not flight.chunks and not flight.files
    assert flight  # the third file still waits


# --- results ---------------------------------------------------------------------------------
def test_the_first_result_for_a_file_stands_and_the_listener_hears_it_once(caplog):
    rec = Recorder()
    flight = flight_of([SMALL] * 2, rec)
    first = job_result(job(0), "ok")
    with caplog.at_level(logging.WARNING, logger="pixmill.engine.flight"):
        flight.finish(first)
        flight.finish(job_result(job(0), "failed", "a late second opinion"))
    assert flight.results == {0: first}
    assert rec.calls == [("job_finished", first)]
    assert flight.meter.done == 1
    assert "a second result for file 0 ignored" in caplog.text


def test_settle_and_fail_take_the_file_out_of_the_air():
    rec = Recorder()
    flight = flight_of([BIG] * 2, rec)
    a = flight.next_chunk(window=2)
    b = flight.next_chunk(window=2)
    assert a is not None and b is not None
    flight.launch(POOL, a)
    flight.launch(POOL, b)
    flight.settle(a[0].fid, job_result(a[0].job, "ok"))
    flight.fail(b[0], "worker crashed while converting img0001.png")
    assert not flight and not flight.files and not flight.chunks
    assert flight.results[1]["status"] == "failed"
    assert flight.results[1]["error"] == "worker crashed while converting img0001.png"
    assert [c[1]["index"] for c in rec.calls] == [0, 1]


def test_finished_results_feed_the_progress_meter():
    now = [100.0]
    flight = flight_of([SMALL] * 4)
    flight.meter = ProgressMeter(4, clock=lambda: now[0])
    for i, (status, size) in enumerate([("ok", 100), ("ok", 300)]):
        now[0] += 1.0
        flight.finish(job_result(job(i), status) | {"bytes_in": size})
    flight.meter.tick(paused=False)
    snap = flight.meter.snapshot(elapsed=2.0, paused=False)
    assert (snap.done, snap.ok, snap.total) == (2, 2, 4)
    assert snap.files_per_s == pytest.approx(1.0)  # two files in two seconds
    assert snap.bytes_per_s == pytest.approx(200.0)
    assert snap.eta_s == pytest.approx(2.0)


def test_a_listener_that_raises_is_logged_not_raised(caplog):
    class Broken(BatchListener):
        def job_finished(self, result):
            raise RuntimeError("listener bug")

    flight = flight_of([SMALL], Broken())
    with caplog.at_level(logging.ERROR, logger="pixmill.engine.flight"):
        flight.finish(job_result(job(0), "ok"))
    assert 0 in flight.results
    assert "listener job_finished failed" in caplog.text


# --- who converts what -----------------------------------------------------------------------
def test_converting_lists_only_files_a_worker_has_started():
    rec = Recorder()
    flight = flight_of([SMALL] * 10, rec)
    files = flight.next_chunk(window=1)
    assert files is not None and len(files) >= 3
    chunk = flight.launch(POOL, files)
    assert flight.converting() == {}  # submitted, not started
    flight.started(files[1], 4242)
    assert flight.converting() == {4242: 1}
    assert chunk.pid == 4242
    assert rec.calls == [("job_started", 1, "/in/img0001.png")]
    flight.settle(files[1].fid, job_result(files[1].job, "ok"))
    assert flight.converting() == {}
    flight.started(files[2], 4242)
    assert flight.converting() == {4242: 2}
