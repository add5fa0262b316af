"""Scenario F: drive Pixmill's window through one batch, the way a user would, and measure it.

Opens gui.main_window.MainWindow (shown, so models and views really repaint), queues the
inputs, sets the recipe and the output folder, presses Start and waits for the batch to end,
while a repeating 10 ms QTimer records the longest gap in the event loop. Writes
{"batch_s", "max_gap_ms", "ticks", "ok", "startup_s"} to --json and exits 0; exits 3 when the
window or one of the calls it needs is missing (the benchmark then shows F as skipped).

The window's public API is not settled yet: ADAPTER below lists, for each step, the method
names tried in order. When gui/ lands, make sure one name per step matches (or add the real
name here) and scenario F runs.

    QT_QPA_PLATFORM=offscreen python gui_driver.py INPUT... -o OUT --format jpeg \
        --quality 85 --fit 1600x1600 --workers 2 --json result.json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from typing import Any

T_START = time.perf_counter()
EXIT_UNAVAILABLE = 3

#: step -> names tried in order on the window (dotted names reach into its attributes).
ADAPTER: dict[str, tuple[str, ...]] = {
    "add_sources": ("add_sources", "add_paths", "add_inputs", "add_files", "queue_paths"),
    "set_recipe": ("set_recipe", "recipe_panel.set_recipe", "apply_recipe"),
    "set_output": ("set_output_dir", "set_output_folder", "set_output", "output_panel.set_folder"),
    "set_workers": ("set_workers", "runner.workers"),
    "start": ("start", "start_batch", "on_start", "run_batch"),
    "finished_signal": ("batch_finished", "bridge.batch_finished", "finished"),
    "runner": ("runner", "_runner", "controller.runner"),
}


class Unavailable(Exception):
    pass


def _resolve(obj: Any, dotted: str) -> tuple[Any, str] | None:
    """(owner, last name) for a dotted attribute path, or None if some part is missing."""
    parts = dotted.split(".")
    for part in parts[:-1]:
        obj = getattr(obj, part, None)
        if obj is None:
            return None
    return (obj, parts[-1]) if hasattr(obj, parts[-1]) else None


def _find(window: Any, step: str) -> tuple[Any, str]:
    for name in ADAPTER[step]:
        found = _resolve(window, name)
        if found is not None:
            return found
    raise Unavailable(f"MainWindow has none of {', '.join(ADAPTER[step])} ({step})")


def _call(window: Any, step: str, *args: Any) -> None:
    owner, name = _find(window, step)
    attr = getattr(owner, name)
    if callable(attr):
        attr(*args)
    else:
        setattr(owner, name, *args)


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
    return ap.parse_args(argv)


def build_recipe(args: argparse.Namespace) -> Any:
    from engine.recipe import Recipe, Resize

    resize = Resize()
    if args.fit:
        w, h = (int(v) for v in args.fit.lower().split("x"))
        resize = Resize("fit", width=w, height=h)
    return Recipe(format=args.format, quality=args.quality, resize=resize, on_conflict="overwrite")


def run(args: argparse.Namespace) -> dict[str, Any]:
    try:
        from PySide6.QtCore import QTimer
        from PySide6.QtWidgets import QApplication
    except ImportError as exc:
        raise Unavailable(f"PySide6 missing: {exc}") from None
    try:
        from gui.main_window import MainWindow
    except ImportError as exc:
        raise Unavailable(f"gui.main_window.MainWindow not importable: {exc}") from None

    app = QApplication.instance() or QApplication([sys.argv[0]])
    window = MainWindow()
    window.show()
    app.processEvents()
    _call(window, "set_workers", args.workers)
    _call(window, "set_recipe", build_recipe(args))
    _call(window, "set_output", args.output)
    _call(window, "add_sources", list(args.inputs))
    runner = None
    try:
        owner, name = _find(window, "runner")
        runner = getattr(owner, name)
    except Unavailable:
        pass
    done: dict[str, Any] = {}

    def finished(*_: Any) -> None:
        done.setdefault("t", time.perf_counter())

    try:
        owner, name = _find(window, "finished_signal")
        getattr(owner, name).connect(finished)
    except (Unavailable, AttributeError, TypeError, RuntimeError):
        if runner is None:
            raise Unavailable("no batch-finished signal and no runner to watch") from None

    gaps = {"max": 0.0, "ticks": 0, "last": 0.0}
    started: dict[str, float] = {}

    def tick() -> None:
        now = time.perf_counter()
        if gaps["last"]:
            gaps["max"] = max(gaps["max"], now - gaps["last"])
        gaps["last"] = now
        gaps["ticks"] += 1
        if runner is not None and "t" not in done and now - started["t"] > 0.5:
            batch = getattr(runner, "_batch", None)
            if batch is not None and not runner.running and batch.report is not None:
                finished()
        if "t" in done or now - started["t"] > args.timeout:
            app.quit()

    timer = QTimer()
    timer.setInterval(10)
    timer.timeout.connect(tick)
    startup = time.perf_counter() - T_START
    started["t"] = time.perf_counter()
    gaps["last"] = started["t"]
    timer.start()
    _call(window, "start")
    app.exec()
    timer.stop()
    if "t" not in done:
        raise RuntimeError(f"batch did not finish within {args.timeout:g} s")
    report = getattr(getattr(runner, "_batch", None), "report", None)
    ok = report.count("ok") if report is not None else None
    window.close()
    app.processEvents()
    return {
        "batch_s": round(done["t"] - started["t"], 4),
        "max_gap_ms": round(gaps["max"] * 1000, 1),
        "ticks": gaps["ticks"],
        "ok": ok,
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
