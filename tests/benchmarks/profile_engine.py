"""Where Pixmill's time goes, in one process: per-file cost of engine.convert.convert_one
against the tuned-Pillow loop body on the same files (interleaved), plus the costs outside
the per-file work: imports, planning, and the pool's dispatch per task.

    python tests/benchmarks/profile_engine.py [--scenario A|B|C|D] [--files N] [--cprofile]
    python tests/benchmarks/profile_engine.py --dispatch   # BatchRunner vs imap_unordered, D
    python tests/benchmarks/profile_engine.py --update [--files 10000] [--cprofile]
        # scenario U: a no-op `pixmill convert --update` taken apart, phase by phase
    python tests/benchmarks/profile_engine.py --fsync [--scenario A|D] [--files N]
        # what one durable publish costs on this disk, at the scenario's output size

Run it with PIXMILL_ENGINE=/path/to/engine-copy/.. on PYTHONPATH to measure a proposed engine
change without touching engine/ (see the report of issue 5).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import resource
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


#: Mean output size of Pixmill's outputs (bytes) in scenarios A and D (results of issue 5).
OUTPUT_BYTES = {"A": 259_600, "B": 8_000, "C": 1_900_000, "D": 5_990}


def fsync_cost(key: str, n: int, rounds: int) -> None:
    """Durable publish as the engine does it, without the image work: write a file of the
    scenario's output size into a temp name, fsync it, rename it to its final name; at the
    end one fsync of the folder. Against the same without the fsyncs, interleaved, in a
    folder beside the benchmark's work folder (the disk the outputs go to)."""
    size = OUTPUT_BYTES[key]
    payload = os.urandom(size)
    root = HERE / "results"
    root.mkdir(exist_ok=True)
    per_sync: list[float] = []
    folder_sync: list[float] = []
    totals: dict[bool, list[float]] = {True: [], False: []}
    cpu: dict[bool, list[float]] = {True: [], False: []}
    for _ in range(rounds):
        for sync in (True, False):
            folder = Path(tempfile.mkdtemp(prefix=".fsync-", dir=root))
            try:
                t0, c0 = time.perf_counter(), time.process_time()
                for i in range(n):
                    tmp, final = folder / f".tmp-{i}", folder / f"out-{i}.bin"
                    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
                    try:
                        os.write(fd, payload)
                        if sync:
                            t1 = time.perf_counter()
                            os.fsync(fd)
                            per_sync.append(time.perf_counter() - t1)
                    finally:
                        os.close(fd)
                    os.rename(tmp, final)
                if sync:
                    dfd = os.open(folder, os.O_RDONLY)
                    t1 = time.perf_counter()
                    os.fsync(dfd)
                    folder_sync.append(time.perf_counter() - t1)
                    os.close(dfd)
                totals[sync].append(time.perf_counter() - t0)
                cpu[sync].append(time.process_time() - c0)
            finally:
                shutil.rmtree(folder, ignore_errors=True)
    per_sync.sort()
    synced, plain = statistics.median(totals[True]), statistics.median(totals[False])
    print(
        f"{key}: {n} files of {size:,} bytes, one process, medians of {rounds} rounds: "
        f"with fsync {synced * 1000:.0f} ms, without {plain * 1000:.0f} ms, "
        f"{(synced - plain) / n * 1000:.2f} ms more per file; fsync alone median "
        f"{statistics.median(per_sync) * 1000:.2f} ms, p90 "
        f"{per_sync[int(len(per_sync) * 0.9)] * 1000:.2f} ms; the folder's fsync at the end "
        f"{statistics.median(folder_sync) * 1000:.2f} ms; CPU of this process "
        f"{statistics.median(cpu[True]) * 1000:.0f} ms with fsync, "
        f"{statistics.median(cpu[False]) * 1000:.0f} ms without"
    )


def _median_run(argv: list[str], rounds: int, env: dict[str, str] | None = None) -> float:
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        subprocess.run(argv, check=True, env=env)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def update_noop(n: int, rounds: int, workers: int, profile: bool) -> None:
    """Scenario U's no-op run taken apart: `pixmill convert SRC -o OUT ... --update` over n
    small PNGs already converted, so that every file is skipped as up to date. Prints the
    whole CLI's wall time (with and without --report), the interpreter and import costs, then
    cmd_convert's steps timed in-process in the CLI's own order (the pool is warmed first, as
    the CLI does, so its workers boot while the main process scans), the parts of
    start_batch, and the same run without warming the pool. Uses a private XDG_DATA_HOME."""
    from contenders import PIXMILL

    work = Path(tempfile.mkdtemp(prefix="pixmill-update-"))
    os.environ["XDG_DATA_HOME"] = str(work / "xdg")  # inherited by the CLI runs below
    try:
        src, out, rep_path = work / "src", work / "out", work / "report.json"
        src.mkdir()
        for f in sorted((DATA / "small").iterdir())[:n]:
            shutil.copy2(f, src / f.name)
        argv = ["convert", str(src), "-o", str(out), "--format", "png", "--quality", "85"]
        argv += ["--workers", str(workers), "--on-conflict", "overwrite", "--quiet", "--update"]
        subprocess.run([PIXMILL, *argv], check=True)  # the first run: converts everything
        py = sys.executable
        whole = _median_run([PIXMILL, *argv, "--report", str(rep_path)], rounds)
        bare = _median_run([PIXMILL, *argv], rounds)
        t_py = _median_run([py, "-c", "pass"], rounds)
        t_imp = _median_run([py, "-c", "import pixmill.engine.cli"], rounds)
        print(f"--update, nothing to do, {n} files, {workers} workers, medians of {rounds}:")
        print(
            f"  whole CLI with --report {whole * 1000:6.0f} ms, without --report {bare * 1000:.0f}"
        )
        print(f"  python -c pass          {t_py * 1000:6.0f} ms")
        print(f"  import pixmill.engine.cli {(t_imp - t_py) * 1000:4.0f} ms beyond that")
        for warm in (True, False):
            steps = _update_steps(argv + ["--report", str(rep_path)], rounds, warm)
            what = "as the CLI does (pool warmed first)" if warm else "without warming the pool"
            print(f"  in-process, {what}:")
            for name, ms in steps.items():
                print(f"    {name:<44} {ms:7.1f} ms")
        for name, ms in _start_batch_parts(argv, rounds).items():
            print(f"  start_batch part: {name:<30} {ms:7.1f} ms")
        if profile:
            from pixmill.engine import cli

            prof = cProfile.Profile()
            prof.enable()
            cli.main(argv + ["--report", str(rep_path)])
            prof.disable()
            buf = io.StringIO()
            pstats.Stats(prof, stream=buf).sort_stats("cumulative").print_stats(30)
            print(buf.getvalue())
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _update_steps(argv: list[str], rounds: int, warm: bool) -> dict[str, float]:
    """cli.cmd_convert's steps for an --update run, each timed (ms, medians over rounds).
    "workers' CPU" is what the pool's processes used (they boot even when nothing converts)."""
    from pixmill.engine import cli
    from pixmill.engine.plan import plan
    from pixmill.engine.report import summary_text
    from pixmill.engine.session import start_batch

    got: dict[str, list[float]] = {}
    for _ in range(rounds):
        args = cli.build_parser().parse_args(argv)
        recipe = cli.recipe_from_args(args)
        outdir = os.path.abspath(args.output)
        marks: list[tuple[str, float]] = [("", time.perf_counter())]
        kids0 = resource.getrusage(resource.RUSAGE_CHILDREN)

        def mark(name: str, marks: list[tuple[str, float]] = marks) -> None:
            marks.append((name, time.perf_counter()))

        runner = cli._runner(args)
        if warm:
            runner.warm_up()
        mark("pool start (runner.warm_up)")
        p = plan(args.inputs, recipe, outdir, sync=not args.no_sync)
        mark(f"scan + plan ({len(p.jobs)} jobs)")
        os.makedirs(outdir, exist_ok=True)
        session = start_batch(p, recipe, args.inputs, outdir, "cli", update=True)
        mark("start_batch (journal, up_to_date, begin)")
        report = runner.run(session.jobs, cli.BatchListener(), done=session.done, journal=session)
        session.close()
        mark(f"runner.run + session.close ({report.count('skipped')} skipped)")
        report.save(args.report)
        summary_text(report.summary, plain=True)
        mark("report JSON + summary")
        runner.shutdown()
        mark("pool shutdown")
        kids = resource.getrusage(resource.RUSAGE_CHILDREN)
        for (_, a), (name, b) in zip(marks, marks[1:], strict=False):
            got.setdefault(name, []).append((b - a) * 1000)
        got.setdefault("total", []).append((marks[-1][1] - marks[0][1]) * 1000)
        cpu = (kids.ru_utime + kids.ru_stime) - (kids0.ru_utime + kids0.ru_stime)
        got.setdefault("workers' CPU (reaped children)", []).append(cpu * 1000)
    return {k: statistics.median(v) for k, v in got.items()}


def _start_batch_parts(argv: list[str], rounds: int) -> dict[str, float]:
    """start_batch's work for --update, step by step on the same journal (ms, medians). The
    batch each round begins is then marked cancelled."""
    from pixmill.engine import cli
    from pixmill.engine.journal import CANCELLED, Journal, dest_key
    from pixmill.engine.plan import plan
    from pixmill.engine.session import up_to_date

    args = cli.build_parser().parse_args(argv)
    recipe = cli.recipe_from_args(args)
    outdir = os.path.abspath(args.output)
    p = plan(args.inputs, recipe, outdir)
    got: dict[str, list[float]] = {}
    for _ in range(rounds):
        t = [time.perf_counter()]
        journal = Journal.open()
        t.append(time.perf_counter())
        outputs = journal.outputs(dest_key(outdir, "converted"), recipe.fingerprint())
        t.append(time.perf_counter())
        jobs = up_to_date(p.jobs, outputs)
        t.append(time.perf_counter())
        batch = journal.begin(jobs, recipe, args.inputs, outdir, "converted", "cli", time.time())
        t.append(time.perf_counter())
        journal.set_state(batch, CANCELLED)
        journal.close()
        names = (
            "Journal.open",
            f"outputs() ({len(outputs)} rows)",
            "up_to_date (a stat per output)",
            f"begin() ({len(jobs)} file rows)",
        )
        for name, a, b in zip(names, t, t[1:], strict=False):
            got.setdefault(name, []).append((b - a) * 1000)
    return {k: statistics.median(v) for k, v in got.items()}


def _tuned_star(a: tuple[str, str, dict[str, Any]]) -> None:
    _tuned(*a)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", default="A", choices=sorted(SCENARIOS))
    ap.add_argument("--files", type=int, default=None, help="8 (--update: 10000)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--cprofile", action="store_true")
    ap.add_argument("--startup", action="store_true", help="import and planning costs")
    ap.add_argument("--dispatch", action="store_true", help="pool overhead on small files")
    ap.add_argument("--update", action="store_true", help="scenario U's no-op --update run")
    ap.add_argument("--fsync", action="store_true", help="one durable publish on this disk")
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args(argv)
    if args.files is None:
        args.files = 10000 if args.update else 40 if args.fsync else 8
    if args.fsync:
        fsync_cost(args.scenario, args.files, args.rounds)
    elif args.update:
        update_noop(args.files, max(args.rounds, 5), args.workers, args.cprofile)
    elif args.startup:
        startup_costs()
    elif args.dispatch:
        dispatch(args.files, args.workers)
    else:
        per_file(args.scenario, args.files, args.rounds, args.cprofile)
    return 0


if __name__ == "__main__":
    sys.exit(main())
