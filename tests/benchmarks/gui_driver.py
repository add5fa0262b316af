"""Scenario F: drive Pixmill's window through one batch, the way a user would, and measure it.

Opens gui.main_window.MainWindow (shown, so models and views really repaint; settings in a
throw-away file), sets the pool size, the recipe and the output folder, queues the inputs
with add_paths (as a drop does), calls start() (the Start button's slot) and waits for the
window's batchFinished signal, while a repeating 10 ms QTimer records the longest gap in the
event loop. Between queuing and Start it lets --think seconds pass (a user reads the recipe
first; the window uses that time to warm its pool, as designed). Writes {"batch_s",
"max_gap_ms", "ticks", "ok", "startup_s"} to --json and exits 0; exits 3 when the window or
a method it needs is missing (F then shows as skipped).

With --expect N (scenarios W and W+, issue 19) it then checks what the window shows: the
results table (errors-only off) has N rows, its counts (converted + skipped + failed) and the
report's add up to N with every file converted, the summary line says "N converted", and the
progress bar's done text ends in "N / N". A wrong one is written as "check" to the JSON
(the runner then marks the round FAILED) and the driver exits 4. The JSON also gets the
longest stalls (the five longest gaps, with when they ended) for finding where it stalls.

--stalls (a diagnosis, not for timing): a thread looks at the GUI thread every 5 ms and, while
the timer is more than 25 ms late, records the GUI thread's Python stack; gc.callbacks time
every garbage collection. The JSON gets "stalls" (the stacks seen most, with how often, and
the gaps they were seen in) and "gc" (collections per generation, the longest, the total).

    QT_QPA_PLATFORM=offscreen python gui_driver.py INPUT... -o OUT --format jpeg \
        --quality 85 --fit 1600x1600 --workers 2 --json result.json
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Sequence
from typing import Any

T_START = time.perf_counter()
EXIT_UNAVAILABLE = 3
EXIT_CHECK = 4
#: How many of the longest event-loop gaps the JSON lists (ms, and seconds after Start).
TOP_GAPS = 5


class Unavailable(Exception):
    pass


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("inputs", nargs="+")
    ap.add_argument("-o", "--output", required=True)
    ap.add_argument("--format", default="jpeg")
    ap.add_argument("--quality", type=int, default=85)
    ap.add_argument("--fit", default=None)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--json", default=None)
    ap.add_argument("--timeout", type=float, default=900.0)
    ap.add_argument(
        "--expect",
        type=int,
        default=None,
        help="the number of input files: check that the window's results table and counts "
        "show every one of them converted (exit 4 otherwise)",
    )
    ap.add_argument(
        "--stalls",
        action="store_true",
        help="diagnose: sample the GUI thread's stack while the timer is late, time the GCs",
    )
    ap.add_argument(
        "--think",
        type=float,
        default=1.0,
        help="seconds between queuing the inputs and pressing Start, as a user takes "
        "(the window warms its pool and counts the sources meanwhile)",
    )
    return ap.parse_args(argv)


def build_recipe(args: argparse.Namespace) -> Any:
    from pixmill.engine.recipe import Recipe, Resize

    resize = Resize()
    if args.fit:
        w, h = (int(v) for v in args.fit.lower().split("x"))
        resize = Resize("fit", width=w, height=h)
    return Recipe(format=args.format, quality=args.quality, resize=resize, on_conflict="overwrite")


def run(args: argparse.Namespace) -> dict[str, Any]:
    try:
        from PySide6.QtCore import QSettings, QTimer
        from PySide6.QtWidgets import QApplication

        from pixmill.gui.main_window import MainWindow
    except ImportError as exc:
        raise Unavailable(f"pixmill.gui.main_window.MainWindow not importable: {exc}") from None

    app = QApplication.instance() or QApplication([sys.argv[0]])
    scratch = tempfile.mkdtemp(prefix="pixmill-bench-gui-")
    try:
        settings = QSettings(os.path.join(scratch, "pixmill.ini"), QSettings.Format.IniFormat)
        window = MainWindow(settings=settings)
        try:
            window.show()
            app.processEvents()
            window.output.set_workers(args.workers)
            window.recipePanel.set_recipe(build_recipe(args))
            window.output.set_output(os.path.abspath(args.output), False)
            window.add_paths(list(args.inputs))
        except AttributeError as exc:
            raise Unavailable(f"MainWindow API changed: {exc}") from None
        return _measure(app, window, args, QTimer)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _measure(app: Any, window: Any, args: argparse.Namespace, timer_cls: Any) -> dict[str, Any]:
    done: dict[str, Any] = {}

    def finished(report: Any) -> None:
        done.setdefault("t", time.perf_counter())
        done["report"] = report
        app.quit()

    window.batchFinished.connect(finished)
    gaps = {"max": 0.0, "ticks": 0, "last": 0.0, "at": 0.0}
    # (gap s, seconds after Start when it ended): the tick makes no system call (each one
    # releases the GIL, and taking it back while the planner holds it lengthened the very gaps
    # measured); the GUI thread's CPU time in the longest ones is read by a helper thread.
    longest: list[tuple[float, float]] = []
    sched = SchedSampler(threading.get_native_id())

    def tick() -> None:
        now = time.perf_counter()
        gap = now - gaps["last"]
        if gap > gaps["max"]:
            gaps["max"], gaps["at"] = gap, now - started
        if len(longest) < TOP_GAPS or gap > longest[-1][0]:
            longest.append((gap, now - started))
            longest.sort(reverse=True)
            del longest[TOP_GAPS:]
        gaps["last"] = now
        gaps["ticks"] += 1
        if now - started > args.timeout:
            app.quit()

    timer = timer_cls()
    timer.setInterval(10)
    timer.timeout.connect(tick)
    sampler = StallSampler(gaps) if args.stalls else None
    startup = time.perf_counter() - T_START
    think_until = time.perf_counter() + args.think
    while time.perf_counter() < think_until:
        app.processEvents()
        time.sleep(0.005)
    sched.start()  # its first sample is taken before Start
    started = gaps["last"] = time.perf_counter()
    if sampler is not None:
        sampler.start(started)
    timer.start()
    if not window.start():
        raise RuntimeError("the window refused to start the batch")
    app.exec()
    timer.stop()
    sched.stop()
    if sampler is not None:
        sampler.stop()
    if "t" not in done:
        raise RuntimeError(f"batch did not finish within {args.timeout:g} s")
    report = done["report"]
    app.processEvents()  # anything the window still had queued for the table
    check = _check_window(window, report, args.expect) if args.expect is not None else None
    window.batch.runner.shutdown()  # what quitting the app does; the CLI pays it too
    window.close()
    app.processEvents()
    result = {
        "batch_s": round(done["t"] - started, 4),
        "max_gap_ms": round(gaps["max"] * 1000, 1),
        "max_gap_at_s": round(gaps["at"], 3),  # seconds after Start when that gap ended
        "think_s": args.think,
        "started_clock": round(started, 6),  # CLOCK_MONOTONIC (perf record -k monotonic)
        "ticks": gaps["ticks"],
        "ok": report.count("ok"),
        "startup_s": round(startup, 4),
        "longest_gaps": [[round(g * 1000, 1), round(at, 3)] for g, at in longest],
        # per longest gap: [ms on a CPU, ms waiting for a CPU] of the GUI thread
        "longest_gaps_sched": [
            [round(v, 1) for v in sched.during(started + at - g, started + at)] for g, at in longest
        ],
    }
    if sampler is not None:
        result.update(sampler.summary())
        result["in_gaps"] = sampler.during(result["longest_gaps"])
    if args.expect is not None:
        result["rows"] = window.results.model.rowCount()
        if check:
            result["check"] = check
    return result


class SchedSampler:
    """What the GUI thread did in a gap: a helper thread reads its scheduler statistics (ns on
    a CPU, ns runnable but waiting for one; Linux schedstat, zeros elsewhere) every EVERY_S."""

    EVERY_S = 0.005

    def __init__(self, tid: int) -> None:
        self._path = f"/proc/self/task/{tid}/schedstat"
        self._samples: list[tuple[float, int, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sched-sampler", daemon=True)

    def start(self) -> None:
        self._take()
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
        self._take()

    def _take(self) -> None:
        try:
            with open(self._path, "rb") as f:
                ran, waited, _slices = f.read().split()
            self._samples.append((time.perf_counter(), int(ran), int(waited)))
        except (OSError, ValueError):
            pass

    def _run(self) -> None:
        while not self._stop.wait(self.EVERY_S):
            self._take()

    def during(self, t0: float, t1: float) -> tuple[float, float]:
        """ms on a CPU and ms waiting for one between the samples around t0..t1."""
        before = [s for s in self._samples if s[0] <= t0]
        after = [s for s in self._samples if s[0] >= t1]
        if not before or not after:
            return 0.0, 0.0
        a, b = before[-1], after[0]
        return (b[1] - a[1]) / 1e6, (b[2] - a[2]) / 1e6


class StallSampler:
    """--stalls: the GUI thread's stack whenever the 10 ms timer is over LATE_S late, and the
    garbage collector's pauses."""

    LATE_S = 0.025
    EVERY_S = 0.005
    FRAMES = 8
    LONG_GC_S = 0.01

    def __init__(self, gaps: dict[str, Any]) -> None:
        import gc

        self._gc = gc
        self._gaps = gaps
        self._main = threading.get_ident()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="stall-sampler", daemon=True)
        self._stacks: dict[str, list[float]] = {}  # stack -> [samples, first seen at s]
        self._gc_start = 0.0
        self._gc_runs: dict[int, list[float]] = {}
        self._t0 = 0.0
        self._gc_long: list[list[float]] = []  # [start s, ms, generation] of slow collections
        self._late: list[tuple[float, str]] = []  # (s after Start, stack) of late samples

    def start(self, t0: float) -> None:
        self._t0 = t0
        self._gc.callbacks.append(self._on_gc)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
        self._gc.callbacks.remove(self._on_gc)

    def _on_gc(self, phase: str, info: dict[str, Any]) -> None:
        now = time.perf_counter()
        if phase == "start":
            self._gc_start = now
        else:
            took = now - self._gc_start
            self._gc_runs.setdefault(info["generation"], []).append(took)
            if took > self.LONG_GC_S:
                at = round(self._gc_start - self._t0, 3)
                self._gc_long.append([at, round(took * 1000, 1), info["generation"]])

    def _run(self) -> None:
        while not self._stop.wait(self.EVERY_S):
            now = time.perf_counter()
            late = now - self._gaps["last"]
            if late < self.LATE_S:
                continue
            frame = sys._current_frames().get(self._main)
            if frame is None:
                continue
            lines = [
                f"{os.path.basename(f.filename)}:{f.lineno} {f.name}"
                for f in traceback.extract_stack(frame)[-self.FRAMES :]
            ]
            key = " < ".join(reversed(lines))
            rec = self._stacks.setdefault(key, [0, round(now - self._t0, 3)])
            rec[0] += 1
            self._late.append((now - self._t0, key))

    def during(self, gaps: list[list[float]]) -> list[dict[str, Any]]:
        """For each [gap ms, ended at s]: the stacks sampled and the collections in it."""
        out = []
        for ms, end in gaps:
            begin = end - ms / 1000
            stacks: dict[str, int] = {}
            for at, key in self._late:
                if begin <= at <= end:
                    stacks[key] = stacks.get(key, 0) + 1
            gcs = [g for g in self._gc_long if begin - 0.001 <= g[0] <= end]
            out.append({"gap_ms": ms, "end_s": end, "stacks": stacks, "gc": gcs})
        return out

    def summary(self) -> dict[str, Any]:
        top = sorted(self._stacks.items(), key=lambda kv: -kv[1][0])[:12]
        gc_info = {
            f"gen{g}": {
                "n": len(v),
                "max_ms": round(max(v) * 1000, 1),
                "total_ms": round(sum(v) * 1000, 1),
            }
            for g, v in sorted(self._gc_runs.items())
        }
        return {
            "stalls": [{"samples": n, "first_at_s": at, "stack": stack} for stack, (n, at) in top],
            "gc": gc_info,
            "gc_long": self._gc_long[:50],
        }


def _check_window(window: Any, report: Any, n: int) -> str | None:
    """What is wrong with the window's results for n input files, all to be converted (None:
    nothing). Reads the results model, the summary line and the progress bar."""
    problems = []
    model = window.results.model
    if model.errors_only:
        problems.append("the table shows errors only")
    rows = model.rowCount()
    if rows != n:
        problems.append(f"the results table has {rows:,} rows, not {n:,}")
    counts = {k: model.count(k) for k in ("ok", "skipped", "failed", "cancelled")}
    if model.count() != n or counts["ok"] != n:
        problems.append(f"the table counts {model.count():,} results ({counts}), not {n:,} ok")
    summary = report.summary
    reported = {k: summary.get(k) for k in ("total", "ok", "skipped", "failed")}
    if reported != {"total": n, "ok": n, "skipped": 0, "failed": 0}:
        problems.append(f"the report says {reported}, not {n:,} ok of {n:,}")
    count = re.escape(f"{n:,}")
    label = window.results.summaryLabel.text()
    if not re.search(rf"(?<![\d,]){count} converted", label):
        problems.append(f"the summary line says {label!r}, not {n:,} converted")
    bar = window.runBar.progressBar
    done = bar.text() or bar.format()
    if not re.search(rf"(?<![\d,]){count} / {count}$", done):
        problems.append(f"the progress bar says {done!r}, not {n:,} / {n:,}")
    return "; ".join(problems) or None


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        result = run(args)
    except Unavailable as exc:
        print(f"gui_driver: {exc}", file=sys.stderr)
        return EXIT_UNAVAILABLE
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(result, f)
    print(json.dumps(result))
    if result.get("check"):
        print(f"gui_driver: the window is wrong: {result['check']}", file=sys.stderr)
        return EXIT_CHECK
    return 0


if __name__ == "__main__":
    sys.exit(main())
