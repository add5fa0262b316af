"""Scenario F: drive Pixmill's window through one batch, the way a user would, and measure it.

Opens gui.main_window.MainWindow (shown, so models and views really repaint; settings in a
throw-away file), sets the pool size, the recipe and the output folder, queues the inputs
with add_paths (as a drop does), calls start() (the Start button's slot) and waits for the
window's batchFinished signal, while a repeating 10 ms QTimer records the longest gap in the
event loop. Between queuing and Start it lets --think seconds pass (a user reads the recipe
first; the window uses that time to warm its pool, as designed). Writes {"batch_s",
"max_gap_ms", "ticks", "ok", "startup_s"} to --json and exits 0; exits 3 when the window or
a method it needs is missing (F then shows as skipped).

    QT_QPA_PLATFORM=offscreen python gui_driver.py INPUT... -o OUT --format jpeg \
        --quality 85 --fit 1600x1600 --workers 2 --json result.json
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from typing import Any

T_START = time.perf_counter()
EXIT_UNAVAILABLE = 3


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

    def tick() -> None:
        now = time.perf_counter()
        if now - gaps["last"] > gaps["max"]:
            gaps["max"], gaps["at"] = now - gaps["last"], now - started
        gaps["last"] = now
        gaps["ticks"] += 1
        if now - started > args.timeout:
            app.quit()

    timer = timer_cls()
    timer.setInterval(10)
    timer.timeout.connect(tick)
    startup = time.perf_counter() - T_START
    think_until = time.perf_counter() + args.think
    while time.perf_counter() < think_until:
        app.processEvents()
        time.sleep(0.005)
    started = gaps["last"] = time.perf_counter()
    timer.start()
    if not window.start():
        raise RuntimeError("the window refused to start the batch")
    app.exec()
    timer.stop()
    if "t" not in done:
        raise RuntimeError(f"batch did not finish within {args.timeout:g} s")
    report = done["report"]
    window.batch.runner.shutdown()  # what quitting the app does; the CLI pays it too
    window.close()
    app.processEvents()
    return {
        "batch_s": round(done["t"] - started, 4),
        "max_gap_ms": round(gaps["max"] * 1000, 1),
        "max_gap_at_s": round(gaps["at"], 3),  # seconds after Start when that gap ended
        "think_s": args.think,
        "ticks": gaps["ticks"],
        "ok": report.count("ok"),
        "startup_s": round(startup, 4),
    }


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
    return 0


if __name__ == "__main__":
    sys.exit(main())
