"""pixmill.engine.events: the Progress snapshot, the ProgressMeter's counts, throughput and ETA,
and the Throttle; both measured with a fake clock, never by sleeping."""

from __future__ import annotations

import pytest

from pixmill.engine.events import RATE_WINDOW, BatchListener, Progress, ProgressMeter, Throttle
from pixmill.engine.report import Report

pytestmark = pytest.mark.timeout(10)


class FakeClock:
    def __init__(self, now: float = 100.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def run(meter: ProgressMeter, clock: FakeClock, files: int, every: float, size: int = 0) -> None:
    """Finish files one every `every` seconds of unpaused time, ticking as the runner does."""
    for _ in range(files):
        clock.advance(every)
        meter.tick(paused=False)
        meter.finished("ok", size)


def progress(done=1, total=4, **kw) -> Progress:
    values = dict(ok=done, skipped=0, failed=0, cancelled=0, elapsed=0.0)
    values |= dict(files_per_s=0.0, bytes_per_s=0.0, eta_s=None) | kw
    return Progress(done, total, **values)


def test_fraction_is_done_over_total_and_whole_for_an_empty_batch():
    assert progress(1, 4).fraction == 0.25
    assert progress(4, 4).fraction == 1.0
    assert progress(0, 0).fraction == 1.0


def test_meter_counts_each_status(clock):
    meter = ProgressMeter(6, clock)
    for status in ("ok", "ok", "skipped", "failed", "cancelled"):
        meter.finished(status, 0)
    snap = meter.snapshot(elapsed=3.5, paused=True)
    assert (snap.done, snap.total) == (5, 6)
    assert (snap.ok, snap.skipped, snap.failed, snap.cancelled) == (2, 1, 1, 1)
    assert snap.elapsed == 3.5 and snap.paused


def test_rate_counts_files_and_bytes_per_second_of_work(clock):
    meter = ProgressMeter(20, clock)
    run(meter, clock, files=5, every=0.5, size=1000)
    snap = meter.snapshot(0.0, False)
    assert snap.files_per_s == pytest.approx(2.0)
    assert snap.bytes_per_s == pytest.approx(2000.0)


def test_rate_ignores_paused_time(clock):
    meter = ProgressMeter(20, clock)
    run(meter, clock, files=4, every=1.0)
    for _ in range(3):  # three seconds paused, ticking all the while
        clock.advance(1.0)
        meter.tick(paused=True)
    snap = meter.snapshot(0.0, True)
    assert snap.files_per_s == pytest.approx(1.0)  # not 4 files / 7 s
    assert snap.eta_s == pytest.approx(16.0)


def test_rate_forgets_files_older_than_the_window(clock):
    assert RATE_WINDOW == 10.0
    meter = ProgressMeter(100, clock)
    run(meter, clock, files=40, every=0.25, size=10)  # 4 files/s for 10 s
    clock.advance(0.5)
    meter.tick(paused=False)
    run(meter, clock, files=10, every=1.0, size=10)  # then 1 file/s for the last 10 s
    snap = meter.snapshot(0.0, False)
    assert snap.files_per_s == pytest.approx(1.0)
    assert snap.bytes_per_s == pytest.approx(10.0)
    assert snap.eta_s == pytest.approx(50.0)


def test_eta_is_remaining_files_over_the_rate(clock):
    meter = ProgressMeter(10, clock)
    run(meter, clock, files=4, every=0.5)
    assert meter.snapshot(0.0, False).eta_s == pytest.approx(3.0)  # 6 files at 2 files/s


def test_eta_is_unknown_before_any_file_finishes(clock):
    meter = ProgressMeter(10, clock)
    clock.advance(5.0)
    meter.tick(paused=False)
    snap = meter.snapshot(5.0, False)
    assert snap.files_per_s == 0.0 and snap.bytes_per_s == 0.0
    assert snap.eta_s is None


def test_eta_is_zero_when_every_file_is_done(clock):
    meter = ProgressMeter(3, clock)
    run(meter, clock, files=3, every=1.0)
    assert meter.snapshot(0.0, False).eta_s == 0.0
    clock.advance(60.0)  # long after: no recent rate, still done
    assert meter.snapshot(0.0, False).eta_s == 0.0
    assert ProgressMeter(0, clock).snapshot(0.0, False).eta_s == 0.0


def test_throttle_lets_the_first_update_through_at_once(clock):
    assert Throttle(0.1, clock).wait() == 0.0


def test_throttle_holds_back_updates_within_the_interval(clock):
    throttle = Throttle(0.1, clock)
    throttle.wait()
    clock.advance(0.03)
    assert throttle.wait() == pytest.approx(0.07)
    clock.advance(0.03)
    assert throttle.wait() == pytest.approx(0.04)  # a held-back update does not restart it


def test_throttle_restarts_the_interval_at_each_update_shown(clock):
    throttle = Throttle(0.25, clock)  # binary fractions: exact clock arithmetic
    throttle.wait()
    clock.advance(0.25)
    assert throttle.wait() == 0.0
    clock.advance(0.125)
    assert throttle.wait() == 0.125
    clock.advance(1.0)
    assert throttle.wait() == 0.0


def test_throttle_reset_lets_the_next_update_through(clock):
    throttle = Throttle(5.0, clock)
    throttle.wait()
    clock.advance(1.0)
    assert throttle.wait() > 0
    throttle.reset()
    assert throttle.wait() == 0.0
    assert throttle.wait() == pytest.approx(5.0)


def test_a_listener_overrides_only_what_it_needs():
    class Finished(BatchListener):
        def __init__(self) -> None:
            self.reports: list[Report] = []

        def batch_finished(self, report: Report) -> None:
            self.reports.append(report)

    listener = Finished()
    listener.batch_started(2)
    listener.job_started(1, "/in/a.jpg")
    listener.job_finished({"status": "ok"})
    listener.progress(progress())
    listener.batch_finished(Report())
    assert listener.reports == [Report()]
