"""The pre-flight check (`pixmill cluster-check`, engine.cluster.check, and before every
cluster batch), path maps, and that nothing imports Dask unless a cluster is asked for."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from pixmill.engine import cli
from pixmill.engine.cluster import ClusterError, ClusterSpec, PathMap, check, parse_path_map
from pixmill.engine.plan import plan
from pixmill.engine.recipe import Recipe
from pixmill.engine.runner import BatchRunner
from tests.cluster.conftest import small_batch, temp_files

#: A folder no one may write into, root included.
UNWRITABLE = "/sys/kernel"


@pytest.mark.timeout(30)
def test_cluster_check_passes_on_visible_writable_folders(cluster, tmp_path, capsys):
    inp = small_batch(tmp_path / "in", n=1)
    code = cli.main(
        ["cluster-check", cluster.address, str(inp), "-o", str(tmp_path / "new" / "out")]
    )
    out = capsys.readouterr().out
    assert code == 0, out
    assert out.count(": ok\n") == 2 and "ok: 2 workers ready" in out
    assert not (tmp_path / "new").exists(), "the check made the output folder"


@pytest.mark.timeout(30)
def test_cluster_check_fails_clearly_on_a_missing_path_or_an_unwritable_output(
    cluster, tmp_path, capsys
):
    """The output folder is mapped to one the workers cannot write into; the input folder
    does not exist. Both are named, as the workers see them."""
    out_local = tmp_path / "out"
    code = cli.main(
        [
            "cluster-check",
            cluster.address,
            str(tmp_path / "missing"),
            "-o",
            str(out_local),
            "--path-map",
            f"{out_local}={UNWRITABLE}/pixmill-out",
        ]
    )
    err = capsys.readouterr().err
    assert code == 1
    assert "failed: on all 2 workers:" in err
    assert f"input folder {tmp_path / 'missing'} is not visible" in err
    assert f"output folder {UNWRITABLE}/pixmill-out is not writable: Permission denied" in err


@pytest.mark.timeout(30)
def test_convert_refuses_a_batch_the_workers_cannot_write(cluster, tmp_path, capsys):
    inp = small_batch(tmp_path / "in", n=2)
    out = tmp_path / "out"
    code = cli.main(
        [
            "convert",
            str(inp),
            "-o",
            str(out),
            "--cluster",
            cluster.address,
            "--path-map",
            f"{out}={UNWRITABLE}/out",
            "--report",
            str(tmp_path / "r.json"),
        ]
    )
    err = capsys.readouterr().err
    assert code == 2
    said = "the cluster cannot run this batch: on all 2 workers: output folder"
    assert f"{said} {UNWRITABLE}/out is not writable" in err
    assert list(out.iterdir()) == []


@pytest.mark.timeout(30)
def test_a_batch_the_workers_cannot_see_fails_every_file_with_the_reason(cluster, tmp_path):
    """Through the runner (the window's way): the check runs before the first task and the
    batch ends with every file failed, the reason in each."""
    inp = small_batch(tmp_path / "in", n=3)
    jobs = plan([str(inp)], Recipe(format="png"), str(tmp_path / "out")).jobs
    spec = ClusterSpec(cluster.address, (PathMap(str(inp), "/nonexistent/in"),))
    runner = BatchRunner(cluster=spec)
    try:
        report = runner.run(jobs)
    finally:
        runner.shutdown()
    assert [f["status"] for f in report.files] == ["failed"] * 3
    assert all("input folder /nonexistent/in is not visible" in f["error"] for f in report.files)
    assert report.exit_code == 1 and temp_files(tmp_path) == []


@pytest.mark.timeout(30)
def test_check_says_why_it_cannot_reach_a_scheduler():
    result = check("tcp://127.0.0.1:9", timeout=1.0)
    assert not result.ok
    assert result.message.startswith("cannot reach the Dask scheduler at tcp://127.0.0.1:9")


@pytest.mark.timeout(10)
def test_path_maps_swap_the_longest_matching_folder_both_ways():
    spec = ClusterSpec(
        "tcp://x:1",
        (parse_path_map("/data=/mnt/nas"), parse_path_map("/data/photos/=/mnt/photos")),
    )
    assert spec.to_remote("/data/a/b.jpg") == "/mnt/nas/a/b.jpg"
    assert spec.to_remote("/data/photos/c.jpg") == "/mnt/photos/c.jpg"
    assert spec.to_remote("/database/c.jpg") == "/database/c.jpg"
    assert spec.to_local("/mnt/photos/c.jpg") == "/data/photos/c.jpg"
    assert spec.to_local(None) is None
    for bad in ("/data", "=/x", "/data=relative"):
        with pytest.raises(ClusterError):
            parse_path_map(bad)


@pytest.mark.timeout(10)
def test_path_map_without_a_cluster_is_a_usage_error(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("PIXMILL_CLUSTER", raising=False)
    inp = small_batch(tmp_path / "in", n=1)
    code = cli.main(["convert", str(inp), "-o", str(tmp_path / "o"), "--path-map", "/a=/b"])
    assert code == 2
    assert "--path-map goes with --cluster" in capsys.readouterr().err


@pytest.mark.timeout(30)
def test_the_local_pool_and_the_cli_never_import_dask(tmp_path):
    code = (
        "import sys\n"
        "from pixmill.engine import cli\n"
        "from pixmill.engine.runner import BatchRunner\n"
        "r = BatchRunner(workers=1)\n"
        "cli.build_parser().parse_args(['convert', 'x', '-o', 'y'])\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed')))\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "PIXMILL_CLUSTER"}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=25, env=env
    )
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout.replace("'", '"')) == []


@pytest.mark.timeout(30)
def test_without_dask_cluster_runs_say_how_to_install_it(tmp_path):
    inp = small_batch(tmp_path / "in", n=1)
    code = (
        "import sys\n"
        "sys.modules['distributed'] = None  # as if pixmill[cluster] were not installed\n"
        "from pixmill.engine import cli\n"
        f"sys.exit(cli.main(['convert', {str(inp)!r}, '-o', {str(tmp_path / 'o')!r},"
        " '--cluster', 'tcp://127.0.0.1:9']))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=25)
    assert out.returncode == 2, out.stderr
    assert "Dask is not installed" in out.stderr
    assert "pip install 'pixmill[cluster]'" in out.stderr
    assert not (tmp_path / "o").exists()
