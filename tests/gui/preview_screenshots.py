"""Screenshots of the real window for the README's preview section: the image queue, the
before/after preview with its split line, dark mode, and the smallest size.

Not a test (pytest does not collect it). Run it on a real X server, e.g.:

    xvfb-run -a -s "-screen 0 1280x800x24" .venv/bin/python tests/gui/preview_screenshots.py \\
        PHOTOS_FOLDER [OUTDIR]

PHOTOS_FOLDER holds real photos (they are copied into a temporary folder, never changed);
OUTDIR defaults to docs/screenshots. Writes queue.png (1280x720), preview.png (1280x800),
dark.png (1280x720) and smallest.png (1024x640).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from screenshots import ROOT, grab, settle, wait_until  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("photos", help="a folder of real photos (copied, never changed)")
    parser.add_argument("outdir", nargs="?", default=str(ROOT / "docs" / "screenshots"))
    args = parser.parse_args()
    outdir = Path(args.outdir)
    outdir.mkdir(parents=True, exist_ok=True)

    from PySide6.QtCore import QSettings, QStandardPaths
    from PySide6.QtWidgets import QApplication

    QStandardPaths.setTestModeEnabled(True)
    app = QApplication(sys.argv[:1])
    app.setApplicationName("Pixmill")

    from pixmill.engine.recipe import Recipe, Resize
    from pixmill.engine.runner import BatchRunner
    from pixmill.gui.main_window import MainWindow
    from pixmill.gui.settings import Preferences

    with tempfile.TemporaryDirectory(prefix="pixmill-shots-") as tmp:
        work = Path(tmp)
        os.environ["HOME"] = tmp  # paths show as ~/Pictures/..., as on a real desktop
        os.environ["XDG_DATA_HOME"] = str(work / "data")
        photos = work / "Pictures" / "Cameras"
        photos.mkdir(parents=True)
        for src in sorted(Path(args.photos).iterdir()):
            if src.suffix.lower() in (".jpg", ".jpeg", ".heic", ".png", ".webp"):
                shutil.copy2(src, photos / src.name)
        settings = QSettings(str(work / "settings.ini"), QSettings.Format.IniFormat)
        runner = BatchRunner(workers=2)
        window = MainWindow(runner, settings=settings, presets_dir=work / "presets")
        window.resize(1280, 720)
        window.show()
        window.recipePanel.set_recipe(
            Recipe(format="webp", quality=60, resize=Resize("long_edge", long_edge=1600))
        )
        window.output.set_output(str(work / "Pictures" / "Cameras (web)"), False)
        window.add_paths([photos])
        wait_until(app, lambda: window.sources.queue.rowCount() > 0)
        window.default_splitter_sizes()
        view = window.sources.queueView
        model = window.sources.queue

        def thumbnails_in() -> bool:
            rows = view.visible_rows()
            return bool(rows) and all(model.loader.info(model.path(r)) for r in rows)

        wait_until(app, thumbnails_in)
        window.messageBar.dismiss()
        settle(app, 1.0)
        grab(window, outdir / "queue.png")

        def previewed(row: int) -> None:
            view.setCurrentIndex(model.index(row, 0))
            wait_until(app, lambda: window.previewPanel.canvas.has_pictures())
            wait_until(app, lambda: not window.preview.busy)
            settle(app, 0.3)

        window.resize(1280, 800)
        settle(app, 0.3)
        window.default_splitter_sizes()
        previewed(2)
        window.previewPanel.slider.setValue(420)
        settle(app, 0.2)
        grab(window, outdir / "preview.png")

        window.set_preferences(Preferences(color_scheme="dark"))
        window.resize(1280, 720)
        settle(app, 0.3)
        window.default_splitter_sizes()
        window.sources.queueView.set_mode("grid")
        window.queuePanel.gridButton.setChecked(True)
        previewed(5)
        window.previewPanel.slider.setValue(560)
        settle(app, 0.3)
        grab(window, outdir / "dark.png")

        window.set_preferences(Preferences(color_scheme="light"))
        window.resize(1024, 640)
        settle(app, 0.3)
        window.default_splitter_sizes()
        window.sources.queueView.set_mode("list")
        window.queuePanel.listButton.setChecked(True)
        previewed(8)
        settle(app, 0.3)
        grab(window, outdir / "smallest.png")

        window.close()
        runner.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
