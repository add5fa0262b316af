"""Workers that die, hang or eat memory: the batch goes on and every file is accounted for."""

from __future__ import annotations

import os
import random
import signal

import numpy as np
import pytest
from faultkit.batch import (
    ApiRun,
    faults,
    fresh_dir,
    image_bytes,
    is_marked,
    make_batch,
    running_jobs,
    wait_for,
)
from faultkit.invariants import assert_clean, key
from faultkit.procs import blocked_on, parked, writing_into
from faultkit.trials import SLOW, trial_alloc, trial_hang, trial_kill
from PIL import Image

from pixmill.engine.recipe import Recipe, Resize
from tests.conftest import stalls

pytestmark = pytest.mark.timeout(90)


def _batch(tmp_path, n_small=6, n_slow=3, seed=0) -> str:
    inp = fresh_dir(str(tmp_path / "in"))
    make_batch(inp, random.Random(seed), small=n_small, medium=0, slow=n_slow)
    return inp


@pytest.mark.timeout(60)
def test_sigkill_mid_file_retries_on_a_fresh_worker(tmp_path, supervision):
    """The watchdog retries the file of a dead worker at once: the retry starts on another
    worker while the pool lives on (a stall would replace the whole pool, much later)."""
    inp = _batch(tmp_path)
    out = str(tmp_path / "out")
    run = ApiRun([inp], out, Recipe(format="webp"), faults=SLOW).start()
    slow = {j.index for j in run.jobs if is_marked(j.source, "slow")}
    assert wait_for(lambda: any(i in slow for i in running_jobs(run.runner).values()), 20)
    pid, victim = next((p, i) for p, i in running_jobs(run.runner).items() if i in slow)
    survivor = next(p for p in run.worker_pids() if p != pid)
    os.kill(pid, signal.SIGKILL)

    def retried_elsewhere() -> bool:
        return any(i == victim and p != pid for p, i in running_jobs(run.runner).items())

    assert wait_for(retried_elsewhere, 20), "the killed worker's file never started again"
    report = run.wait()
    by_index = {f["index"]: f for f in report.files}
    assert by_index[victim]["status"] == "ok"
    assert by_index[victim].get("attempts") == 2
    assert stalls(supervision) == []
    assert pid not in run.runner.worker_pids() and survivor in run.runner.worker_pids()
    assert_clean(run.check(statuses={key(j.source): {"ok"} for j in run.jobs}))


@pytest.mark.timeout(90)
@pytest.mark.parametrize("seed,mode", [(1, "api"), (3, "cli"), (4, "cli")])
def test_sigkill_random_worker_at_random_moment(tmp_path, seed, mode):
    outcome = trial_kill(random.Random(seed), str(tmp_path), mode=mode)
    assert_clean(outcome.violations, allow_known=True)
    assert outcome.kills == 1, f"the kill did not land while the batch ran: {outcome.note}"


@pytest.mark.timeout(90)
def test_two_kills_can_fail_a_file_but_only_with_a_crash_message(tmp_path):
    outcome = trial_kill(random.Random(7), str(tmp_path), mode="api", kills=2)
    assert_clean(outcome.violations, allow_known=True)
    assert outcome.kills == 2, f"not both kills landed while the batch ran: {outcome.note}"


@pytest.mark.timeout(60)
@pytest.mark.parametrize("retries", [1, 0])
def test_file_that_always_kills_its_worker_fails_with_a_message(tmp_path, retries):
    inp = _batch(tmp_path, n_slow=0)
    os.rename(os.path.join(inp, "small00.jpg"), os.path.join(inp, "@crash@me.jpg"))
    run = ApiRun(
        [inp],
        str(tmp_path / "out"),
        Recipe(format="png"),
        faults=faults("crash"),
        crash_retries=retries,
    ).start()
    report = run.wait()
    (bad,) = [f for f in report.files if is_marked(f["source"], "crash")]
    assert bad["status"] == "failed"
    assert bad["error"].startswith("worker crashed while converting @crash@me.jpg")
    assert "SIGKILL" in bad["error"]
    assert ("on 2 tries" in bad["error"]) == (retries == 1)
    statuses = {key(j.source): {"ok"} for j in run.jobs if not is_marked(j.source, "crash")}
    assert_clean(run.check(statuses=statuses))


@pytest.mark.timeout(60)
def test_hung_decoder_is_stopped_by_the_time_limit(tmp_path, supervision):
    """Two hung files (both workers at once, maybe): each is failed by the time limit, not
    by a pool stall."""
    inp = _batch(tmp_path, n_slow=0)
    os.rename(os.path.join(inp, "small01.png"), os.path.join(inp, "@hang@a.png"))
    os.rename(os.path.join(inp, "small02.webp"), os.path.join(inp, "@hang@b.webp"))
    run = ApiRun(
        [inp],
        str(tmp_path / "out"),
        Recipe(format="jpeg"),
        faults=faults("hang"),
        time_limit=1.5,
    ).start()
    report = run.wait()
    hung = [f for f in report.files if is_marked(f["source"], "hang")]
    assert [f["status"] for f in hung] == ["failed", "failed"]
    for f in hung:
        name = os.path.basename(f["source"])
        assert f["error"] == f"took longer than the 1.5 s time limit converting {name}; stopped"
    assert stalls(supervision) == []
    statuses = {key(j.source): {"ok"} for j in run.jobs if not is_marked(j.source, "hang")}
    assert_clean(run.check(statuses=statuses))


@pytest.mark.timeout(90)
@pytest.mark.parametrize("seed", [11, 12])
def test_hang_trial(tmp_path, seed):
    assert_clean(
        trial_hang(random.Random(seed), str(tmp_path), mode="cli" if seed % 2 else "api").violations
    )


@pytest.mark.timeout(90)
def test_unbounded_allocation_is_a_clean_memory_failure(tmp_path):
    outcome = trial_alloc(random.Random(5), str(tmp_path))
    assert_clean(outcome.violations)  # the runaway file failed with a memory message
    assert outcome.recovery is not None, "the runaway file never started and finished"


@pytest.mark.timeout(60)
def test_real_pixel_flood_under_the_bomb_limit_fails_with_memory_message(tmp_path):
    """A complete 12000x12000 PNG (0.4 GB of pixels, 150 KB on disk) in a worker capped at
    256 MiB: a per-file 'not enough memory', not the system's OOM killer."""
    from faultkit.corpus import png_flood

    inp = fresh_dir(str(tmp_path / "in"))
    with open(os.path.join(inp, "flood.png"), "wb") as f:
        f.write(png_flood(12000, 12000))
    with open(os.path.join(inp, "fine.png"), "wb") as f:
        f.write(image_bytes("PNG", 64, 48))
    run = ApiRun([inp], str(tmp_path / "out"), Recipe(format="webp"), memory_limit=256 << 20)
    report = run.start().wait()
    flood = next(f for f in report.files if f["source"].endswith("flood.png"))
    assert flood["status"] == "failed" and "memory" in flood["error"], flood["error"]
    assert_clean(run.check(statuses={key(os.path.join(inp, "fine.png")): {"ok"}}))


@pytest.mark.timeout(90)
def test_pool_stalled_by_a_dead_worker_holding_the_task_lock_is_replaced(tmp_path, supervision):
    """An idle worker waits for work while holding the task queue's read lock; SIGKILL it
    and no other worker can ever take a task. The supervisor must replace the pool."""
    inp = _batch(tmp_path, n_small=6, n_slow=0)
    run = ApiRun([inp], str(tmp_path / "out"), Recipe(format="png"))
    run.runner.warm_up()
    idle = run.runner.worker_pids()

    def both_idle() -> bool:  # one reads the task pipe holding the lock, one waits for it
        waits = sorted(blocked_on(pid) or "" for pid in idle)
        return any("pipe" in w for w in waits) and any("futex" in w for w in waits)

    assert wait_for(both_idle, 60), [blocked_on(pid) for pid in idle]
    for pid in idle:
        os.kill(pid, signal.SIGKILL)
    report = run.start().wait()
    assert report.count("ok") == len(run.jobs)
    assert len(stalls(supervision)) == 1, "recovered by replacing the stalled pool, once"
    assert not set(idle) & set(run.runner.worker_pids())
    assert_clean(run.check())


def _big_noise(path: str, shape: tuple[int, int] = (1000, 1200)) -> None:
    """Noise: AVIF takes about a second to encode it, so a worker sits with its temp file
    open long enough to be hit (PNG and TIFF encoders are too quick here)."""
    arr = (np.random.default_rng(0).random((*shape, 3)) * 255).astype(np.uint8)
    Image.fromarray(arr).save(path, compress_level=1)


@pytest.mark.timeout(90)
def test_worker_killed_while_writing_leaves_no_temp_file(tmp_path):
    inp = fresh_dir(str(tmp_path / "in"))
    _big_noise(os.path.join(inp, "noise.png"))
    out = str(tmp_path / "out")
    run = ApiRun([inp], out, Recipe(format="avif", quality=90), workers=1).start()

    def writing() -> bool:
        return writing_into(out, run.runner.worker_pids())

    assert wait_for(writing, 30, 0.002), "the worker never started writing"
    (pid,) = running_jobs(run.runner)
    os.kill(pid, signal.SIGKILL)
    report = run.wait()
    assert report.files[0]["status"] == "ok" and report.files[0].get("attempts") == 2
    assert_clean(run.check())


@pytest.mark.timeout(90)
@pytest.mark.parametrize("policy", ["rename", "skip", "overwrite"])
def test_worker_killed_with_its_output_finished_but_unpublished_converts_it_once(tmp_path, policy):
    """Hold the lock a worker needs to talk to the runner while it encodes: it finishes the
    temp file and parks at its next message, the announcement that it is about to publish
    (the engine announces first, then moves the output into place). SIGKILL it there. The
    temp file must go, the retry must produce the one output, and the report must own it.
    (Dying right after publishing, before saying so: crash-after-publish in
    tests/engine/test_supervisor.py.)"""
    inp = fresh_dir(str(tmp_path / "in"))
    _big_noise(os.path.join(inp, "a.png"), (480, 640))
    out = fresh_dir(str(tmp_path / "out"))
    final = os.path.join(out, "a.avif")
    run = ApiRun([inp], out, Recipe(format="avif", on_conflict=policy), workers=1).start()

    def encoding() -> bool:
        return writing_into(out, run.runner.worker_pids())

    assert wait_for(encoding, 30, 0.001), "never saw the worker write"
    (pid,) = running_jobs(run.runner)
    with run.runner.workers_held():
        assert wait_for(lambda: parked(pid), 30), f"the worker never parked: {blocked_on(pid)}"
        assert not os.path.exists(final), "published before announcing"
        assert encoding(), "the finished temp file"
        os.kill(pid, signal.SIGKILL)
    report = run.wait()
    assert sorted(os.listdir(out)) == ["a.avif"]
    assert report.files[0]["status"] == "ok"
    assert report.files[0]["target"] == final
    assert report.files[0].get("attempts") == 2
    assert_clean(run.check())


@pytest.mark.timeout(60)
def test_time_limit_kill_mid_write_leaves_no_temp_file_and_batch_goes_on(tmp_path):
    """A real (not injected) slow encode past the time limit."""
    inp = fresh_dir(str(tmp_path / "in"))
    _big_noise(os.path.join(inp, "noise.png"))
    with open(os.path.join(inp, "z-small.png"), "wb") as f:
        f.write(image_bytes("PNG", 64, 64))
    out = str(tmp_path / "out")
    recipe = Recipe(format="avif", quality=90, resize=Resize())
    run = ApiRun([inp], out, recipe, workers=1, time_limit=0.5).start()
    report = run.wait()
    noise = next(f for f in report.files if f["source"].endswith("noise.png"))
    assert noise["status"] == "failed" and "time limit" in noise["error"]
    assert_clean(run.check())
