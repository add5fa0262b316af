"""pixmill.engine.worker: a pool worker's start-up (init_worker, its memory ceiling and allocator
tuning) and run_chunk's messages, in real spawned processes."""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from pixmill.engine.job import Job
from pixmill.engine.recipe import Recipe, Resize
from pixmill.engine.supervisor import _one_per_file
from pixmill.engine.worker import init_worker, run_chunk
from tests.conftest import child_pids, make_image, temp_leftovers
from tests.engine.images import job_for

pytestmark = pytest.mark.timeout(90)

MEMORY_LIMIT = 6 << 30
START_FAILURE = "the worker process could not start: ImportError: injected start-up failure"


class Worker:
    """One spawned pool worker started with init_worker, and its message queue and events."""

    def __init__(self, memory_limit: int | None = None) -> None:
        ctx = mp.get_context("spawn")
        self.messages = ctx.SimpleQueue()
        self.cancel = ctx.Event()
        self.pause = ctx.Event()
        self.pool = ctx.Pool(
            1,
            initializer=init_worker,
            initargs=(self.messages, self.cancel, self.pause, "cafe01-", memory_limit),
        )
        self.pid, self.start_error = self.expect_ready()

    def expect_ready(self) -> tuple[int, str | None]:
        kind, zero, (pid, error) = self.messages.get()
        assert (kind, zero) == ("ready", 0)
        return pid, error

    def run(self, items: list[tuple[int, Job]]) -> tuple[list[dict], list[tuple]]:
        """run_chunk(items) in the worker: what it returned, and the messages it sent until
        every file had its last word ("done" comes from a publisher thread, maybe after
        run_chunk returned; "deferred" from run_chunk itself), spread out one per file as the
        supervisor does."""
        self.raw: list[tuple] = []  # as sent
        undelivered = self.pool.apply(run_chunk, (items,))
        waiting = {fid for fid, _ in items} - {r["file"] for r in undelivered}
        messages = []
        deadline = time.monotonic() + 30
        while waiting and time.monotonic() < deadline:
            if self.messages.empty():
                time.sleep(0.01)
                continue
            # A chunk's "publishing*" and "done*" speak for many files: one message each here.
            raw = self.messages.get()
            self.raw.append(raw)
            for message in _one_per_file([raw]):
                messages.append(message)
                if message[0] in ("done", "deferred"):
                    waiting.discard(message[1])
        assert not waiting, f"no last word for files {waiting}: {messages}"
        return undelivered, messages

    def evaluate(self, expression: str) -> Any:
        # eval is a builtin, so the worker imports nothing of this test module to answer
        return self.pool.apply(eval, (expression,))

    def close(self) -> None:
        self.pool.terminate()
        self.pool.join()


def wait_until_gone(pid: int) -> None:
    deadline = time.monotonic() + 10
    while pid in child_pids() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert pid not in child_pids(), "a worker outlived its pool"


@pytest.fixture(scope="module")
def worker() -> Iterator[Worker]:
    w = Worker(MEMORY_LIMIT)
    yield w
    w.close()
    wait_until_gone(w.pid)


@pytest.fixture
def fresh(worker: Worker) -> Worker:
    worker.cancel.clear()
    worker.pause.clear()
    return worker


def two_jobs(tmp_path: Path) -> list[tuple[int, Job]]:
    recipe = Recipe(format="png", resize=Resize("percent", percent=50))
    a = make_image(tmp_path / "in" / "a.jpg", (80, 60), seed=1, quality=90)
    b = make_image(tmp_path / "in" / "b.png", (40, 20), seed=2)
    return [(7, job_for(a, tmp_path / "out", recipe)), (8, job_for(b, tmp_path / "out", recipe))]


def test_run_chunk_converts_each_file_and_reports_start_publishing_and_done(tmp_path, fresh):
    assert fresh.start_error is None
    undelivered, messages = fresh.run(two_jobs(tmp_path))
    assert undelivered == []
    by_file = {fid: [m for m in messages if m[1] == fid] for fid in (7, 8)}
    for fid, said in by_file.items():
        assert [kind for kind, _, _ in said] == ["start", "publishing", "done"], fid
    assert messages[0][:2] == ("start", 7)  # files start in chunk order
    out = tmp_path / "out"
    for ((_, fid, pid), (_, _, info), (_, _, result)), name, size in zip(
        by_file.values(),
        ("a.png", "b.png"),
        ((40, 30), (20, 10)),
        strict=True,
    ):
        assert pid == fresh.pid
        assert result["file"] == fid and result["status"] == "ok", result
        assert result["target"] == str(out / name) == info["target"]
        st = os.stat(out / name)
        assert info["inode"] == [st.st_dev, st.st_ino]  # announced: the very file published
        assert info["bytes_out"] == result["bytes_out"] == st.st_size
        assert (info["width"], info["height"]) == (result["width"], result["height"]) == size
        with Image.open(out / name) as im:
            assert im.size == size
    assert sorted(p.name for p in out.iterdir()) == ["a.png", "b.png"]


def test_a_chunk_is_announced_and_reported_in_one_message_each(tmp_path, fresh):
    """Several files in one task (small files): a "start" each (the supervisor must know
    which file a dying worker held), then one "publishing*" before any name is made and one
    "done*" after the last."""
    fresh.run(two_jobs(tmp_path))
    assert [(kind, fid) for kind, fid, _ in fresh.raw] == [
        ("start", 7),
        ("start", 8),
        ("publishing*", 0),
        ("done*", 0),
    ]
    assert [fid for fid, _ in fresh.raw[2][2]] == [fid for fid, _ in fresh.raw[3][2]] == [7, 8]


def test_a_chunk_file_whose_output_cannot_be_made_fails_alone(tmp_path, fresh):
    """Small outputs are written on the publisher thread: one that cannot get its temp file
    there (its output folder is a file) fails with that reason, is never announced, and
    the rest of the chunk is published."""
    recipe = Recipe(format="png")
    a = make_image(tmp_path / "in" / "a.png", (30, 20), seed=1)
    b = make_image(tmp_path / "in" / "b.png", (30, 20), seed=2)
    (tmp_path / "blocked").write_bytes(b"not a folder")
    items = [
        (1, job_for(a, tmp_path / "blocked", recipe)),
        (2, job_for(b, tmp_path / "out", recipe)),
    ]
    undelivered, messages = fresh.run(items)
    assert undelivered == []
    results = {fid: payload for kind, fid, payload in messages if kind == "done"}
    assert results[1]["status"] == "failed" and results[1]["error"], results[1]
    assert results[2]["status"] == "ok", results[2]
    announced = [fid for kind, fid, _ in messages if kind == "publishing"]
    assert announced == [2]
    assert (tmp_path / "blocked").read_bytes() == b"not a folder"
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["b.png"]


def test_a_paused_worker_hands_back_the_rest_of_its_chunk(tmp_path, fresh):
    fresh.pause.set()
    undelivered, messages = fresh.run(two_jobs(tmp_path))
    assert undelivered == []
    assert messages == [("deferred", 7, None), ("deferred", 8, None)]
    assert not (tmp_path / "out").exists()


def test_a_cancelled_batch_publishes_nothing(tmp_path, fresh):
    fresh.cancel.set()
    _, messages = fresh.run(two_jobs(tmp_path))
    assert [(kind, fid) for kind, fid, _ in messages] == [
        ("start", 7),
        ("done", 7),
        ("start", 8),
        ("done", 8),
    ]
    assert [result["status"] for _, _, result in messages[1::2]] == ["cancelled", "cancelled"]
    out = tmp_path / "out"
    assert not out.exists() or (not list(out.iterdir()) and not temp_leftovers(out))


def test_a_worker_caps_its_address_space_and_never_loads_qt(fresh, tmp_path):
    fresh.run(two_jobs(tmp_path))  # after real conversions
    soft, _ = fresh.evaluate("__import__('resource').getrlimit(__import__('resource').RLIMIT_AS)")
    assert soft == MEMORY_LIMIT
    loaded = set(fresh.evaluate("sorted(__import__('sys').modules)"))
    assert "PIL.Image" in loaded and "pixmill.engine.convert" in loaded
    assert not {m for m in loaded if m.split(".")[0] in ("PySide6", "shiboken6")}
    assert not {m for m in loaded if m.startswith("pixmill.gui")}
    for room in ("runner", "supervisor", "pool", "flight", "cli", "plan", "scan"):
        assert f"pixmill.engine.{room}" not in loaded, room


def test_a_worker_whose_start_up_failed_answers_every_file_with_why(tmp_path, monkeypatch):
    monkeypatch.setenv("PIXMILL_FAULTS", "start:any")  # read by the worker as it starts
    w = Worker()
    try:
        assert w.start_error == "ImportError: injected start-up failure"
        undelivered, messages = w.run(two_jobs(tmp_path))
        assert undelivered == []
        assert [(kind, fid) for kind, fid, _ in messages] == [
            ("start", 7),
            ("done", 7),
            ("start", 8),
            ("done", 8),
        ]
        assert [pid for _, _, pid in messages[0::2]] == [w.pid, w.pid]  # it stayed up
        for _, fid, result in messages[1::2]:
            assert result["status"] == "failed" and result["file"] == fid
            assert result["error"] == START_FAILURE
        assert not (tmp_path / "out").exists()
    finally:
        w.close()
    wait_until_gone(w.pid)


# --- the allocator: workers keep freed image buffers for the next file -----------------------

PROBE = r"""
import ctypes, json, sys
from PIL import Image
if sys.argv[1] == "tuned":
    from pixmill.engine.worker import _keep_freed_memory
    _keep_freed_memory()

class MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
        "fordblks", "keepcost")]

libc = ctypes.CDLL(None)
libc.mallinfo2.restype = MallInfo2
im = Image.new("RGB", (3000, 2000))  # 24 MB in Pillow's blocks, like a drafted 24 MP photo
held = libc.mallinfo2()
del im
freed = libc.mallinfo2()
print(json.dumps({"mapped_while_held": held.hblkhd, "heap_kept_after_free": freed.fordblks}))
"""


def probe(kind: str) -> dict[str, int]:
    out = subprocess.run(
        [sys.executable, "-c", PROBE, kind], capture_output=True, text=True, timeout=50
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc malloc tuning")
def test_big_buffers_come_from_the_heap_and_stay_for_reuse():
    plain, tuned = probe("plain"), probe("tuned")
    # glibc's default: a fresh mapping per image buffer, handed back to the kernel on free
    assert plain["mapped_while_held"] >= 16 << 20
    # tuned: no mappings, and the freed buffers stay in the heap for the next file
    assert tuned["mapped_while_held"] < 1 << 20
    assert tuned["heap_kept_after_free"] >= 16 << 20


# --- the memory ceiling -----------------------------------------------------------------------

LIMIT_PROBE = r"""
import json, resource, sys
from pixmill.engine.worker import _limit_memory
_limit_memory(int(sys.argv[1]))
soft, hard = resource.getrlimit(resource.RLIMIT_AS)
try:
    hoard = bytearray(int(sys.argv[2]))
    outcome = "allocated"
except MemoryError:
    outcome = "MemoryError"
print(json.dumps([soft, outcome]))
"""


@pytest.mark.skipif(os.name != "posix", reason="RLIMIT_AS is POSIX")
def test_a_runaway_allocation_raises_memory_error_under_the_ceiling():
    limit = 2 << 30
    out = subprocess.run(
        [sys.executable, "-c", LIMIT_PROBE, str(limit), str(3 << 30)],
        capture_output=True,
        text=True,
        timeout=50,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == [limit, "MemoryError"]
