"""Faults on a real Dask cluster: a worker process killed mid-file, a file that kills every
worker, a file past the time limit, a cancelled batch, a scheduler that goes away. The same
promises as on the local pool: every input once in the report, no strays, no duplicates, no
temp files."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import distributed
import pytest

from pixmill.engine import cli, cluster
from pixmill.engine.cluster import ClusterSpec
from pixmill.engine.plan import plan
from pixmill.engine.recipe import Recipe
from pixmill.engine.runner import BatchRunner
from tests.cluster.conftest import small_batch, temp_files
from tests.conftest import make_image, tree_hashes
from tests.engine.conftest import Recorder

SLOW = "slow:@slow@"


def _wait_for(cond, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.02)
    return False


def _outputs(out: Path) -> list[str]:
    return sorted(tree_hashes(out)) if out.exists() else []


def _assert_clean(report, jobs, out: Path) -> None:
    """Every input once; every ok file has exactly one output, named as planned; nothing
    else and no temp file in the output folder."""
    assert sorted(f["index"] for f in report.files) == sorted(j.index for j in jobs)
    ok = [f for f in report.files if f["status"] == "ok"]
    planned = {j.index: j.target for j in jobs}
    assert all(f["target"] == planned[f["index"]] for f in ok), "an output was renamed"
    assert _outputs(out) == sorted(os.path.relpath(f["target"], out) for f in ok)
    assert temp_files(out) == []


@pytest.mark.timeout(60)
def test_worker_killed_mid_file_retries_it_once_and_publishes_it_once(cluster, tmp_path):
    inp = small_batch(tmp_path / "in", n=8, slow=3)
    out = tmp_path / "out"
    cluster.faults(SLOW)
    jobs = plan([str(inp)], Recipe(format="webp"), str(out)).jobs
    slow = {j.index for j in jobs if "@slow@" in j.source}
    runner = BatchRunner(cluster=ClusterSpec(cluster.address), time_limit=60.0)
    try:
        batch = runner.start(jobs, Recorder())
        assert _wait_for(lambda: any(i in slow for i in runner.converting().values()), 20)
        pid, victim = next((p, i) for p, i in runner.converting().items() if i in slow)
        os.kill(pid, signal.SIGKILL)
        batch.join(40)
        report = batch.report
    finally:
        runner.shutdown()
    assert report is not None
    by_index = {f["index"]: f for f in report.files}
    assert by_index[victim]["status"] == "ok", by_index[victim]["error"]
    assert by_index[victim]["attempts"] == 2
    assert [f["status"] for f in report.files] == ["ok"] * len(jobs)
    _assert_clean(report, jobs, out)


@pytest.mark.timeout(60)
def test_a_file_that_kills_every_worker_fails_after_one_retry(cluster, tmp_path):
    inp = small_batch(tmp_path / "in", n=6, crash=1)
    out = tmp_path / "out"
    cluster.faults("crash:@crash@")
    jobs = plan([str(inp)], Recipe(format="png"), str(out)).jobs
    runner = BatchRunner(cluster=ClusterSpec(cluster.address), time_limit=60.0)
    try:
        report = runner.run(jobs)
    finally:
        runner.shutdown()
    bad = [f for f in report.files if "@crash@" in f["source"]]
    assert [f["status"] for f in bad] == ["failed"]
    assert bad[0]["error"].startswith("worker crashed while converting @crash@00.jpg on 2 tries")
    errors = [f["error"] for f in report.files if f["status"] == "failed"]
    assert sorted(f["status"] for f in report.files) == ["failed"] + ["ok"] * 6, errors
    assert report.exit_code == 1
    _assert_clean(report, jobs, out)


@pytest.mark.timeout(60)
def test_an_output_published_just_before_its_worker_died_counts_once(cluster, tmp_path):
    """The worker dies right after naming the output, before it could answer: the file is
    done (found where it landed), not converted again under a second name."""
    inp = small_batch(tmp_path / "in", n=5)
    make_image(inp / "@cap@00.jpg", (200, 150), seed=99)
    out = tmp_path / "out"
    cluster.faults("crash-after-publish:@cap@")
    jobs = plan([str(inp)], Recipe(format="png"), str(out)).jobs
    before = set(cluster.worker_pids().values())
    runner = BatchRunner(cluster=ClusterSpec(cluster.address), time_limit=60.0)
    try:
        report = runner.run(jobs)
    finally:
        runner.shutdown()
    assert [f["status"] for f in report.files] == ["ok"] * 6
    (cap,) = [f for f in report.files if "@cap@" in f["source"]]
    assert cap["target"] == str(out / "@cap@00.png") and "attempts" not in cap
    assert _wait_for(lambda: before - set(cluster.worker_pids().values()), 10), "none died"
    _assert_clean(report, jobs, out)


@pytest.mark.timeout(60)
def test_a_file_past_the_time_limit_fails_and_the_rest_convert(cluster, tmp_path):
    inp = small_batch(tmp_path / "in", n=5, slow=1)
    out = tmp_path / "out"
    cluster.faults(SLOW)
    jobs = plan([str(inp)], Recipe(format="jpeg"), str(out)).jobs
    runner = BatchRunner(cluster=ClusterSpec(cluster.address), time_limit=0.4)
    try:
        report = runner.run(jobs)
    finally:
        runner.shutdown()
    slow = [f for f in report.files if "@slow@" in f["source"]]
    assert slow[0]["status"] == "failed"
    assert "took longer than the 0.4 s time limit converting @slow@00.jpg" in slow[0]["error"]
    assert sorted(f["status"] for f in report.files) == ["failed"] + ["ok"] * 5
    _assert_clean(report, jobs, out)


@pytest.mark.timeout(60)
def test_cancel_stops_the_batch_and_leaves_no_temp_files(cluster, tmp_path):
    inp = small_batch(tmp_path / "in", n=4, slow=6)
    out = tmp_path / "out"
    cluster.faults(SLOW)
    jobs = plan([str(inp)], Recipe(format="webp"), str(out)).jobs
    runner = BatchRunner(cluster=ClusterSpec(cluster.address), time_limit=60.0)
    heard = Recorder()
    try:
        batch = runner.start(jobs, heard)
        assert _wait_for(lambda: len(heard.started) >= 2, 20)
        t0 = time.monotonic()
        runner.cancel()
        batch.join(20)
        took = time.monotonic() - t0
        report = batch.report
    finally:
        runner.shutdown()
    assert report is not None and report.cancelled and report.exit_code == 130
    assert took < 6, f"cancelling took {took:.1f} s"
    statuses = [f["status"] for f in report.files]
    assert "cancelled" in statuses and set(statuses) <= {"ok", "cancelled"}
    _assert_clean(report, jobs, out)
    time.sleep(1.2)  # a slow file the workers were on has had time to finish: still nothing
    assert temp_files(out) == [] and len(_outputs(out)) == statuses.count("ok")


def _dask(*args: str, log: Path) -> subprocess.Popen:
    exe = os.path.join(os.path.dirname(sys.executable), "dask")
    with open(log, "wb") as f:
        return subprocess.Popen([exe, *args], stdout=f, stderr=subprocess.STDOUT)


@pytest.mark.timeout(90)
def test_a_scheduler_that_goes_away_fails_the_rest_and_keeps_the_report(
    tmp_path, monkeypatch, capsys
):
    """A scheduler and a worker started with the dask command line; the scheduler is killed
    while the batch runs. The files not converted fail with a clear message, the CLI still
    writes the report (every input once) and exits 1."""
    sched_file = tmp_path / "scheduler.json"
    scheduler = _dask(
        "scheduler",
        "--host",
        "127.0.0.1",
        "--port",
        "0",
        "--no-dashboard",
        "--scheduler-file",
        str(sched_file),
        log=tmp_path / "scheduler.log",
    )
    worker = None
    try:
        assert _wait_for(sched_file.exists, 30)
        worker = subprocess.Popen(
            [
                os.path.join(os.path.dirname(sys.executable), "dask"),
                "worker",
                "--scheduler-file",
                str(sched_file),
                "--nthreads",
                "1",
                "--no-dashboard",
                "--no-nanny",
                "--death-timeout",
                "5",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env={**os.environ, "PIXMILL_FAULTS": SLOW},
        )
        address = json.loads(sched_file.read_text())["address"]
        with distributed.Client(address, set_as_default=False) as client:
            client.wait_for_workers(1, timeout=30)
        inp = small_batch(tmp_path / "in", n=2, slow=6)
        out, report = tmp_path / "out", tmp_path / "r.json"
        monkeypatch.setattr(cluster, "LOST_AFTER", 1.0)
        killer = threading.Timer(3.5, scheduler.kill)
        killer.start()
        t0 = time.monotonic()
        code = cli.main(
            [
                "convert",
                str(inp),
                "-o",
                str(out),
                "--cluster",
                address,
                "--report",
                str(report),
                "-q",
                "--format",
                "png",
            ]
        )
        took = time.monotonic() - t0
        killer.cancel()
    finally:
        for p in (worker, scheduler):
            if p is not None:
                p.kill()
                p.wait(10)
    err = capsys.readouterr().err
    assert code == 1, err
    files = json.loads(report.read_text())["files"]
    assert sorted(f["source"] for f in files) == sorted(str(p) for p in inp.rglob("*.*"))
    failed = [f for f in files if f["status"] == "failed"]
    assert failed, "the scheduler was killed after the batch ended"
    assert all(
        f["error"].startswith(f"lost the connection to the Dask scheduler at {address}")
        for f in failed
    )
    assert "lost the connection to the Dask scheduler" in err
    assert took < 40
    ok = [f for f in files if f["status"] == "ok"]
    assert _outputs(out) == sorted(os.path.relpath(f["target"], out) for f in ok)
    assert temp_files(out) == []
