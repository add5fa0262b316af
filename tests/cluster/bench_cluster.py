"""The local pool against a 2-worker loopback Dask cluster on the same cores, side by side:
small files (64x64 PNG -> PNG) and photos (fit 1600 JPEG q85). Not a test; run it by hand:

    .venv/bin/python tests/cluster/bench_cluster.py [--small N] [--photos N] [--rounds R]

The cluster is started as a user would: `dask scheduler` and `dask worker --nworkers 2
--nthreads 1` in processes of their own (with the scheduler inside this process, as
LocalCluster does, it would share a GIL with the client). Prints files/s per scenario and the
cluster's ratio to the local pool (medians of R interleaved rounds, after one warm-up round
of each: imports, the check, the page cache).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from pixmill.engine.cluster import ClusterSpec  # noqa: E402
from pixmill.engine.plan import plan  # noqa: E402
from pixmill.engine.recipe import Recipe, Resize  # noqa: E402
from pixmill.engine.runner import BatchRunner  # noqa: E402
from tests.conftest import make_image  # noqa: E402


def _data(root: Path, small: int, photos: int) -> dict[str, tuple[Path, Recipe]]:
    for i in range(small):
        make_image(root / "small" / f"s{i:05d}.png", (64, 64), seed=i % 50)
    for i in range(photos):
        make_image(root / "photos" / f"p{i:03d}.jpg", (4000, 3000), seed=i, quality=92)
    fit = Recipe(format="jpeg", quality=85, resize=Resize("fit", width=1600, height=1600))
    return {
        f"{small} small PNG -> PNG": (root / "small", Recipe(format="png")),
        f"{photos} 12 MP JPEG -> fit 1600 JPEG": (root / "photos", fit),
    }


def _run(runner: BatchRunner, src: Path, recipe: Recipe, out: Path) -> float:
    shutil.rmtree(out, ignore_errors=True)
    jobs = plan([str(src)], recipe, str(out)).jobs
    t0 = time.perf_counter()
    report = runner.run(jobs)
    took = time.perf_counter() - t0
    assert report.count("ok") == len(jobs), report.summary
    return len(jobs) / took


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--small", type=int, default=2000)
    ap.add_argument("--photos", type=int, default=20)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    from distributed import Client

    root = Path(tempfile.mkdtemp(prefix="pixmill-bench-cluster-"))
    dask_cli = os.path.join(os.path.dirname(sys.executable), "dask")
    sched_file = root / "scheduler.json"
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    procs = [
        subprocess.Popen(
            [
                dask_cli,
                "scheduler",
                "--host",
                "127.0.0.1",
                "--port",
                "0",
                "--no-dashboard",
                "--scheduler-file",
                str(sched_file),
            ],
            **quiet,
        )
    ]
    while not sched_file.exists():
        time.sleep(0.1)
    procs.append(
        subprocess.Popen(
            [
                dask_cli,
                "worker",
                "--scheduler-file",
                str(sched_file),
                "--nworkers",
                "2",
                "--nthreads",
                "1",
                "--no-dashboard",
            ],
            **quiet,
        )
    )
    address = json.loads(sched_file.read_text())["address"]
    with Client(address) as client:
        client.wait_for_workers(2, timeout=60)
    local = BatchRunner(workers=2)
    dask = BatchRunner(cluster=ClusterSpec(address))
    try:
        scenarios = _data(root, args.small, args.photos)
        local.warm_up()
        for src, recipe in scenarios.values():  # warm: imports, the check, page cache
            _run(dask, src, recipe, root / "out")
            _run(local, src, recipe, root / "out")
        print(f"{'scenario':40} {'local files/s':>14} {'cluster files/s':>16} {'ratio':>6}")
        for name, (src, recipe) in scenarios.items():
            rates: dict[str, list[float]] = {"local": [], "dask": []}
            for _ in range(args.rounds):
                rates["local"].append(_run(local, src, recipe, root / "out"))
                rates["dask"].append(_run(dask, src, recipe, root / "out"))
            lo, da = statistics.median(rates["local"]), statistics.median(rates["dask"])
            print(f"{name:40} {lo:14.1f} {da:16.1f} {da / lo:6.2f}")
    finally:
        dask.shutdown()
        local.shutdown()
        for p in reversed(procs):
            p.terminate()
            p.wait(30)
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
