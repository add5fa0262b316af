"""Shared by the execution-side tests (test_runner, test_pool, test_supervisor): a BatchRunner
that is shut down after the test, a listener that records everything, image folders, and a
look at what a worker process is blocked on."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PIL import Image

from pixmill.engine.events import BatchListener, Progress
from pixmill.engine.runner import BatchRunner
from tests.conftest import child_pids, make_image, temp_leftovers

_TORTURE = str(Path(__file__).resolve().parents[1] / "torture")
if _TORTURE not in sys.path:
    sys.path.insert(0, _TORTURE)

from faultkit import procs  # noqa: E402 - the fault kit's process helpers, one copy


class Recorder(BatchListener):
    """Every event of a batch, in order, with a flag for the first start and the end."""

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

    def result(self, index: int) -> dict:
        (found,) = [r for r in self.finished if r["index"] == index]
        return found


def shut_down(runner: BatchRunner) -> None:
    """Stop the runner and wait (a little) for its workers to be gone."""
    runner.shutdown()
    deadline = time.monotonic() + 5
    while child_pids() and time.monotonic() < deadline:
        time.sleep(0.05)


@pytest.fixture
def runner() -> Iterator[BatchRunner]:
    r = BatchRunner(workers=2)
    yield r
    shut_down(r)


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


def wait_for(cond: Callable[[], object], timeout: float = 30.0, interval: float = 0.005) -> bool:
    """Poll cond until it holds; False if it never did (the caller asserts on that)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(interval)
    return bool(cond())


blocked_on = procs.blocked_on  # what a process sleeps in, from /proc (the fault kit's)
parked = procs.parked  # whether a worker is held at its next message (workers_held)
