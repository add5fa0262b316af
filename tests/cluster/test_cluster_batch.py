"""A batch on a real Dask cluster (a scheduler and two worker processes on loopback): the same
outputs, report, events and exit code as on the local pool; --path-map; the memory ceiling."""

from __future__ import annotations

import json
import os
import resource
from pathlib import Path

import pytest

from pixmill.engine import cli
from pixmill.engine.cluster import CLUSTER_ENV, ClusterSpec, parse_path_map
from pixmill.engine.plan import plan
from pixmill.engine.recipe import Recipe, Resize
from pixmill.engine.runner import BatchRunner
from tests.cluster.conftest import small_batch, temp_files
from tests.conftest import tree_hashes
from tests.engine.conftest import Recorder

_COMPARED = ("status", "error", "bytes_in", "bytes_out", "width", "height", "warnings")


def _files(report: Path, root: Path) -> dict[str, dict]:
    data = json.loads(report.read_text())
    out = {}
    for f in data["files"]:
        key = os.path.relpath(f["source"], root)
        out[key] = {k: f[k] for k in _COMPARED}
        out[key]["target"] = os.path.relpath(f["target"], report.parent / report.stem)
    return out


@pytest.mark.timeout(90)
def test_a_batch_on_the_cluster_gives_what_the_local_pool_gives(
    cluster, tmp_path, monkeypatch, capsys
):
    """The same folder through PIXMILL_CLUSTER and through the local pool: byte-identical
    outputs, the same report file by file, the same summary line and exit code."""
    inp = small_batch(tmp_path / "in", n=14)
    args = ["convert", str(inp), "--format", "webp", "--fit", "100x100", "--quiet"]
    assert (
        cli.main(
            [
                *args,
                "-o",
                str(tmp_path / "local"),
                "--report",
                str(tmp_path / "local.json"),
                "--workers",
                "2",
            ]
        )
        == 0
    )
    monkeypatch.setenv(CLUSTER_ENV, cluster.address)
    code = cli.main([*args, "-o", str(tmp_path / "dask"), "--report", str(tmp_path / "dask.json")])
    assert code == 0, capsys.readouterr().err
    assert tree_hashes(tmp_path / "dask") == tree_hashes(tmp_path / "local")
    assert len(tree_hashes(tmp_path / "dask")) == 14
    assert _files(tmp_path / "dask.json", inp) == _files(tmp_path / "local.json", inp)
    summary = json.loads((tmp_path / "dask.json").read_text())["summary"]
    assert summary["total"] == summary["ok"] == 14
    assert temp_files(tmp_path) == []
    assert cli.main(["batches"]) == 0  # the journal recorded the cluster batch too
    listing = capsys.readouterr().out.splitlines()
    assert len(listing) == 3 and all(" finished " in line for line in listing[1:])
    assert all(" 14/14 " in line for line in listing[1:])


@pytest.mark.timeout(60)
def test_the_listener_hears_every_file_start_and_finish(cluster_runner, tmp_path):
    inp = small_batch(tmp_path / "in", n=10)
    p = plan(
        [str(inp)],
        Recipe(format="png", resize=Resize("percent", percent=50)),
        str(tmp_path / "out"),
    )
    heard = Recorder()
    report = cluster_runner.run(p.jobs, heard)
    assert heard.report is report and heard.done.is_set()
    assert sorted(heard.started) == sorted(j.index for j in p.jobs)
    assert sorted(r["index"] for r in heard.finished) == sorted(j.index for j in p.jobs)
    assert [f["status"] for f in report.files] == ["ok"] * 10
    assert heard.snapshots[-1].done == heard.snapshots[-1].total == 10
    assert report.exit_code == 0


@pytest.mark.timeout(60)
def test_path_map_sends_the_workers_paths_and_reports_the_clients(cluster, tmp_path):
    """The client plans through local/ (a link to the data); the workers get remote/ (another
    link to it). Once planned, local/ is removed: only the workers' path still leads to the
    files, so the batch converts only if the workers really used it. The report still
    speaks the client's paths."""
    data = small_batch(tmp_path / "data" / "in", n=6).parent
    local, remote = tmp_path / "local", tmp_path / "remote"
    local.symlink_to(data, target_is_directory=True)
    remote.symlink_to(data, target_is_directory=True)
    out = tmp_path / "out"
    p = plan([str(local / "in")], Recipe(format="jpeg"), str(out))
    spec = ClusterSpec(cluster.address, (parse_path_map(f"{local}={remote}"),))
    runner = BatchRunner(cluster=spec)
    try:
        local.unlink()
        report = runner.run(p.jobs)
    finally:
        runner.shutdown()
    assert [f["status"] for f in report.files] == ["ok"] * 6, report.files[0]["error"]
    assert all(f["source"].startswith(str(local / "in") + os.sep) for f in report.files)
    assert len(tree_hashes(out)) == 6


@pytest.mark.timeout(60)
def test_path_map_maps_outputs_both_ways_on_the_command_line(cluster, tmp_path, capsys):
    data = tmp_path / "data"
    inp = small_batch(data / "in", n=4)
    remote = tmp_path / "remote"
    remote.symlink_to(data, target_is_directory=True)
    report = tmp_path / "r.json"
    code = cli.main(
        [
            "convert",
            str(inp),
            "-o",
            str(data / "out"),
            "--cluster",
            cluster.address,
            "--path-map",
            f"{data}={remote}",
            "--format",
            "png",
            "--report",
            str(report),
            "-q",
        ]
    )
    assert code == 0, capsys.readouterr().err
    files = json.loads(report.read_text())["files"]
    assert all(f["target"].startswith(str(data / "out") + os.sep) for f in files)
    assert len(tree_hashes(data / "out")) == 4


def _address_space_limit() -> int:
    return resource.getrlimit(resource.RLIMIT_AS)[0]


@pytest.mark.timeout(60)
def test_workers_get_the_memory_ceiling(cluster, cluster_runner, tmp_path):
    inp = small_batch(tmp_path / "in", n=4)
    report = cluster_runner.run(plan([str(inp)], Recipe(format="png"), str(tmp_path / "o")).jobs)
    assert report.exit_code == 0
    limits = cluster.client.run(_address_space_limit)
    assert limits and all(v != resource.RLIM_INFINITY for v in limits.values()), limits


@pytest.mark.timeout(60)
def test_a_runner_switches_between_the_local_pool_and_the_cluster(cluster, tmp_path):
    """The window's way: one runner, its executor chosen again when the Preferences change."""
    inp = small_batch(tmp_path / "in", n=3)
    runner = BatchRunner(workers=1)
    try:
        runner.use_cluster(ClusterSpec(cluster.address))
        on_cluster = runner.run(plan([str(inp)], Recipe(format="png"), str(tmp_path / "a")).jobs)
        assert runner.worker_pids() == []  # no local pool was started
        runner.use_cluster(None)
        local = runner.run(plan([str(inp)], Recipe(format="png"), str(tmp_path / "b")).jobs)
        assert len(runner.worker_pids()) == 1
    finally:
        runner.shutdown()
    assert on_cluster.exit_code == local.exit_code == 0
    assert tree_hashes(tmp_path / "a") == tree_hashes(tmp_path / "b")
