"""Where Pixmill's time goes, in one process: per-file cost of engine.convert.convert_one
against the tuned-Pillow loop body on the same files (interleaved), plus the costs outside
the per-file work: imports, planning, and the pool's dispatch per task.

    python tests/benchmarks/profile_engine.py [--scenario A|B|C|D] [--files N] [--cprofile]
    python tests/benchmarks/profile_engine.py --dispatch   # BatchRunner vs imap_unordered, D

Run it with PIXMILL_ENGINE=/path/to/engine-copy/.. on PYTHONPATH to measure a proposed engine
change without touching engine/ (see the report of issue 5).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from PIL import Image

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"

SCENARIOS: dict[str, dict[str, Any]] = {
    "A": {"data": "photos", "fmt": "jpeg", "quality": 85, "fit": (1600, 1600)},
    "B": {"data": "photos", "fmt": "webp", "quality": 80, "fit": (256, 256)},
    "C": {"data": "pngs", "fmt": "webp", "quality": 80, "fit": None},
    "D": {"data": "small", "fmt": "png", "quality": 85, "fit": None},
}


def _recipe(s: dict[str, Any]) -> Any:
    from pixmill.engine.recipe import Recipe, Resize

    rz = Resize("fit", width=s["fit"][0], height=s["fit"][1]) if s["fit"] else Resize()
    return Recipe(format=s["fmt"], quality=s["quality"], resize=rz, on_conflict="overwrite")


def _tuned(path: str, out_dir: str, s: dict[str, Any]) -> None:
    """The loop body of tuned_pillow.py."""
    ext = {"jpeg": ".jpg", "webp": ".webp", "png": ".png"}[s["fmt"]]
    target = os.path.join(out_dir, Path(path).stem + ext)
    with Image.open(path) as im:
        size = im.size
        if s["fit"]:
            f = min(s["fit"][0] / im.width, s["fit"][1] / im.height, 1.0)
            size = (max(1, round(im.width * f)), max(1, round(im.height * f)))
        if size != im.size and im.format == "JPEG":
            im.draft(im.mode, size)
        out = im
        if size != im.size:
            out = im.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)
        kw: dict[str, Any] = {"quality": s["quality"]}
        if s["fmt"] == "webp":
            kw["method"] = 4
        elif s["fmt"] == "png":
            kw = {"compress_level": 6}
        out.save(target, {"jpeg": "JPEG", "webp": "WEBP", "png": "PNG"}[s["fmt"]], **kw)


def per_file(key: str, n: int, rounds: int, profile: bool) -> None:
    from pixmill.engine.convert import convert_one
    from pixmill.engine.plan import plan

    s = SCENARIOS[key]
    src = DATA / s["data"]
    files = sorted(str(p) for p in src.iterdir())[:n]
    work = Path(tempfile.mkdtemp(prefix="pixmill-prof-"))
    try:
        jobs = plan(files, _recipe(s), work / "pixmill").jobs
        (work / "tuned").mkdir()
        convert_one(jobs[0])  # warm caches (sRGB profile, codecs)
        _tuned(files[0], str(work / "tuned"), s)
        t_pix: list[float] = []
        t_tun: list[float] = []
        # CPU time of this one thread: much steadier than wall time on a shared machine.
        clock = time.thread_time
        for _ in range(rounds):
            for job, f in zip(jobs, files, strict=True):
                t0 = clock()
                r = convert_one(job)
                t1 = clock()
                _tuned(f, str(work / "tuned"), s)
                t2 = clock()
                assert r["status"] == "ok", r["error"]
                t_pix.append(t1 - t0)
                t_tun.append(t2 - t1)
        mp, mt = statistics.median(t_pix), statistics.median(t_tun)
        ratio = statistics.median(a / b for a, b in zip(t_pix, t_tun, strict=True))
        print(
            f"{key}: {len(files)} files x {rounds} rounds, one process, CPU time: convert_one "
            f"{mp * 1000:.2f} ms/file, tuned loop {mt * 1000:.2f} ms/file (medians), "
            f"per-file Pixmill/tuned {ratio:.3f}"
        )
        if profile:
            prof = cProfile.Profile()
            prof.enable()
            for job in jobs:
                convert_one(job)
            prof.disable()
            buf = io.StringIO()
            pstats.Stats(prof, stream=buf).sort_stats("tottime").print_stats(18)
            print(buf.getvalue())
    finally:
        shutil.rmtree(work, ignore_errors=True)


def startup_costs() -> None:
    py = sys.executable
    for mod in ("pixmill.engine.cli", "pixmill.engine.worker", "PIL.Image"):
        times = []
        for _ in range(5):
            t0 = time.perf_counter()
            subprocess.run([py, "-c", f"import {mod}"], check=True)
            times.append(time.perf_counter() - t0)
        print(f"python -c 'import {mod}': {statistics.median(times) * 1000:.0f} ms (median of 5)")
    from pixmill.engine.plan import plan
    from pixmill.engine.recipe import Recipe

    for key in ("A", "D"):
        src = DATA / SCENARIOS[key]["data"]
        times = []
        for _ in range(3):
            t0 = time.perf_counter()
            p = plan([str(src)], Recipe(format="png"), "/tmp/pixmill-plan-out")
            times.append(time.perf_counter() - t0)
        print(f"plan() of {len(p.jobs)} files: {statistics.median(times) * 1000:.0f} ms")


def dispatch(n: int, workers: int) -> None:
    """Pool overhead on tiny files: BatchRunner (warm pool) vs imap_unordered (chunked)."""
    import multiprocessing as mp

    from pixmill.engine.plan import plan
    from pixmill.engine.runner import BatchRunner

    s = SCENARIOS["D"]
    files = sorted(str(p) for p in (DATA / "small").iterdir())[:n]
    work = Path(tempfile.mkdtemp(prefix="pixmill-disp-"))
    try:
        jobs = plan(files, _recipe(s), work / "pixmill").jobs
        runner = BatchRunner(workers=workers)
        runner.warm_up()
        runner.run(jobs[:50])
        t0 = time.perf_counter()
        report = runner.run(jobs)
        t_run = time.perf_counter() - t0
        runner.shutdown()
        assert report.count("ok") == len(jobs)
        (work / "tuned").mkdir()
        ctx = mp.get_context("spawn")
        with ctx.Pool(workers) as pool:
            list(pool.map(_noop, range(workers * 4)))
            t0 = time.perf_counter()
            chunk = max(1, len(files) // (workers * 16))
            args = [(f, str(work / "tuned"), s) for f in files]
            for _ in pool.imap_unordered(_tuned_star, args, chunk):
                pass
            t_imap = time.perf_counter() - t0
        print(
            f"D dispatch, {len(files)} files, {workers} warm workers: BatchRunner.run "
            f"{len(files) / t_run:.0f} files/s, imap_unordered(chunk) "
            f"{len(files) / t_imap:.0f} files/s"
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _noop(x: int) -> int:
    return x


def _tuned_star(a: tuple[str, str, dict[str, Any]]) -> None:
    _tuned(*a)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", default="A", choices=sorted(SCENARIOS))
    ap.add_argument("--files", type=int, default=8)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--cprofile", action="store_true")
    ap.add_argument("--startup", action="store_true", help="import and planning costs")
    ap.add_argument("--dispatch", action="store_true", help="pool overhead on small files")
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args(argv)
    if args.startup:
        startup_costs()
    elif args.dispatch:
        dispatch(args.files, args.workers)
    else:
        per_file(args.scenario, args.files, args.rounds, args.cprofile)
    return 0


if __name__ == "__main__":
    sys.exit(main())
