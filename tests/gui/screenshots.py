"""Screenshots of the real window for the README: idle, mid-batch with error rows, finished.

Not a test (pytest does not collect it). Run it on a real X server, e.g. Xvfb:

    Xvfb :99 -screen 0 1280x800x24 &
    DISPLAY=:99 QT_QPA_PLATFORM=xcb .venv/bin/python tests/gui/screenshots.py [OUTDIR]

It writes idle.png, running.png and finished.png (1280x800) to OUTDIR (default
docs/screenshots), plus minimum.png (the window at its minimum size) when --minimum is given
and resume.png (a new window offering to resume a batch that was killed halfway) when --resume
is given. Everything else (images, settings, presets, the batch journal, outputs) lives in a
temporary folder.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SIZE = (1280, 800)


def make_photos(folder: Path) -> None:
    """A holiday-sized set of JPEGs (smooth gradients and noise, like photos) and a few broken
    files whose names sort early, so errors show up while the batch is still running."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(7)
    h, w = 1200, 1600
    yy, xx = np.mgrid[0:h, 0:w]
    for day, first, count in (("Day 1 - Beach", 4100, 34), ("Day 2 - Old town", 5200, 30)):
        sub = folder / day
        sub.mkdir(parents=True)
        for i in range(count):
            base = rng.integers(40, 200, 3)
            tilt = rng.uniform(-0.08, 0.08, 3)
            img = base + tilt * (xx[..., None] * 0.6 + yy[..., None] * 0.4)
            img = img + rng.normal(0, 14, (h, w, 3))
            pixels = np.clip(img, 0, 255).astype(np.uint8)
            Image.fromarray(pixels).save(sub / f"IMG_{first + i:04d}.jpg", quality=90)
    beach, town = folder / "Day 1 - Beach", folder / "Day 2 - Old town"
    (beach / "IMG_4105.jpg").write_bytes(b"")
    (town / "IMG_5213.jpg").write_bytes((town / "IMG_5212.jpg").read_bytes()[:3000])
    (town / "IMG_5216.png").write_bytes(b"<html>not a picture</html>")


def dark_palette():  # noqa: ANN201 - a QPalette
    from PySide6.QtGui import QColor, QPalette

    p = QPalette()
    roles = QPalette.ColorRole
    for role, color in (
        (roles.Window, "#2b2b2b"),
        (roles.WindowText, "#e8e8e8"),
        (roles.Base, "#1f1f1f"),
        (roles.AlternateBase, "#272727"),
        (roles.Text, "#e8e8e8"),
        (roles.Button, "#353535"),
        (roles.ButtonText, "#e8e8e8"),
        (roles.Highlight, "#2f6fd0"),
        (roles.HighlightedText, "#ffffff"),
        (roles.ToolTipBase, "#353535"),
        (roles.ToolTipText, "#e8e8e8"),
        (roles.PlaceholderText, "#8a8a8a"),
        (roles.Light, "#505050"),
        (roles.Midlight, "#404040"),
        (roles.Mid, "#303030"),
        (roles.Dark, "#202020"),
        (roles.Shadow, "#101010"),
    ):
        p.setColor(role, QColor(color))
    for role in (roles.WindowText, roles.Text, roles.ButtonText):
        p.setColor(QPalette.ColorGroup.Disabled, role, QColor("#7a7a7a"))
    return p


def wait_until(app, condition: Callable[[], bool], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("the window did not get there in time")
        app.processEvents()
        time.sleep(0.005)


def settle(app, seconds: float = 0.3) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.01)


def grab(window, path: Path) -> None:
    window.repaint()
    pixmap = window.grab()
    if not pixmap.save(str(path)):
        raise OSError(f"could not write {path}")
    print(f"wrote {path} ({pixmap.width()}x{pixmap.height()})")


def kill_mid_batch(sources: Path, output: Path, at_least: int = 12) -> None:
    """`pixmill convert` killed (with its workers) once at_least outputs exist: the journal
    then holds an interrupted batch for the next window to offer."""
    cmd = [sys.executable, "-m", "pixmill", "convert", str(sources), "-o", str(output)]
    proc = subprocess.Popen(
        [*cmd, "--preset", "Web 2048 WebP", "--long-edge", "1280", "--quiet"],
        start_new_session=True,
        stderr=subprocess.DEVNULL,  # the broken photos' "failed:" lines
    )
    deadline = time.monotonic() + 120
    try:
        while not output.is_dir() or len(list(output.rglob("*.webp"))) < at_least:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("pixmill convert ended (or stalled) before it was killed")
            time.sleep(0.02)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("outdir", nargs="?", default=str(ROOT / "docs" / "screenshots"))
    parser.add_argument("--minimum", action="store_true", help="also grab the minimum size")
    parser.add_argument("--resume", action="store_true", help="also grab the resume offer")
    parser.add_argument("--dark", action="store_true", help="use a dark colour scheme")
    args = parser.parse_args()
    outdir = Path(args.outdir)
    outdir.mkdir(parents=True, exist_ok=True)

    from PySide6.QtCore import QSettings, QStandardPaths
    from PySide6.QtWidgets import QApplication

    QStandardPaths.setTestModeEnabled(True)
    app = QApplication(sys.argv[:1])
    app.setApplicationName("Pixmill")
    if args.dark:
        app.setPalette(dark_palette())  # what a desktop's dark theme hands to Qt

    from pixmill.engine.runner import BatchRunner
    from pixmill.gui.main_window import MainWindow

    with tempfile.TemporaryDirectory(prefix="pixmill-shots-") as tmp:
        work = Path(tmp)
        os.environ["HOME"] = tmp  # paths show as ~/Pictures/..., as on a real desktop
        os.environ["XDG_DATA_HOME"] = str(work / "data")  # a journal of its own
        photos = work / "Pictures" / "Holiday 2024"
        make_photos(photos)
        settings = QSettings(str(work / "settings.ini"), QSettings.Format.IniFormat)
        window = MainWindow(BatchRunner(workers=2), settings=settings, presets_dir=work / "presets")
        window.resize(*SIZE)
        window.show()
        window.add_paths([photos / "Day 1 - Beach", photos / "Day 2 - Old town"])
        window.recipePanel.presets.select("Web 2048 WebP")
        window.recipePanel.resizeEditor.longEdgeSpin.setValue(1280)
        window.recipePanel.namingEditor.templateEdit.setText("{stem}_{width}px")
        window.recipePanel.presets.save("Holiday web")
        window.messageBar.dismiss()
        window.output.set_output(str(work / "Pictures" / "Holiday 2024 (web)"), False)
        wait_until(app, lambda: not window.sources.is_scanning())
        window.batch.runner.warm_up()
        settle(app, 1.0)
        grab(window, outdir / "idle.png")

        window.start()
        # All three broken files have failed (the last one sorts late), the batch goes on.
        wait_until(app, lambda: window.results.model.count("failed") >= 3)
        settle(app, 0.15)  # let the table scroll to its newest rows
        grab(window, outdir / "running.png")  # grab() renders at once: a consistent frame

        finished: list[object] = []
        window.batchFinished.connect(finished.append)
        wait_until(app, lambda: bool(finished))
        settle(app, 0.5)
        grab(window, outdir / "finished.png")

        if args.minimum:
            window.resize(window.minimumSize())
            settle(app, 0.5)
            grab(window, outdir / "minimum.png")

        window.close()
        window.batch.runner.shutdown()

        if args.resume:
            kill_mid_batch(photos, work / "Pictures" / "Holiday 2024 (print)")
            runner = BatchRunner(workers=2)
            window = MainWindow(runner, settings=settings, presets_dir=work / "presets")
            window.resize(*SIZE)
            window.show()  # offers the batch by itself
            wait_until(app, lambda: bool(window.messageBar.actionButtons))
            settle(app, 0.5)
            grab(window, outdir / "resume.png")
            window.close()
            runner.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
