"""Screenshots of the real window in another language for the README's Languages section: a
finished batch with failed rows (1280x800) and the same window at its smallest size (1024x640).

Not a test (pytest does not collect it). Run it on a real X server with the packaged fonts
(`make system-deps` installs a CJK font), e.g.:

    xvfb-run -a -s "-screen 0 1280x800x24" .venv/bin/python tests/gui/language_screenshots.py \\
        [--language zh_CN] [--extras DIR] [OUTDIR]

The catalogues must be compiled (`python packaging/catalogs.py compile`). Writes
<language>.png and <language>-smallest.png to OUTDIR (default docs/screenshots); with
--extras, also the Preferences dialog, the result dialog of a failed file and the resize
options into DIR, to look at. Everything else lives in a temporary folder.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from screenshots import ROOT, grab, make_photos, settle, wait_until  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("outdir", nargs="?", default=str(ROOT / "docs" / "screenshots"))
    parser.add_argument("--language", default="zh_CN", help="the language's code")
    parser.add_argument("--extras", type=Path, help="also grab dialogs into this folder")
    args = parser.parse_args()
    outdir = Path(args.outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    # As a desktop in that language starts it (fontconfig then prefers the language's glyphs).
    os.environ["LANGUAGE"] = args.language
    os.environ["LANG"] = f"{args.language}.UTF-8"

    from PySide6.QtCore import QSettings, QStandardPaths
    from PySide6.QtWidgets import QApplication

    QStandardPaths.setTestModeEnabled(True)
    app = QApplication(sys.argv[:1])
    app.setApplicationName("Pixmill")

    from pixmill.engine.runner import BatchRunner
    from pixmill.gui.language import apply_language
    from pixmill.gui.main_window import MainWindow

    with tempfile.TemporaryDirectory(prefix="pixmill-shots-") as tmp:
        work = Path(tmp)
        os.environ["HOME"] = tmp  # paths show as ~/Pictures/..., as on a real desktop
        os.environ["XDG_DATA_HOME"] = str(work / "data")  # a journal of its own
        photos = work / "Pictures" / "Holiday 2024"
        make_photos(photos)
        settings = QSettings(str(work / "settings.ini"), QSettings.Format.IniFormat)
        language = apply_language(app, settings)  # what gui.app.main does first
        if language != args.language:
            raise SystemExit(f"the window speaks {language}: compile the catalogues first")
        window = MainWindow(BatchRunner(workers=2), settings=settings, presets_dir=work / "presets")
        window.resize(1280, 800)
        window.show()
        window.add_paths([photos / "Day 1 - Beach", photos / "Day 2 - Old town"])
        window.recipePanel.presets.select("Web 2048 WebP")
        window.recipePanel.resizeEditor.longEdgeSpin.setValue(1280)
        window.recipePanel.namingEditor.templateEdit.setText("{stem}_{width}px")
        window.output.set_output(str(work / "Pictures" / "Holiday 2024 (web)"), False)
        window.messageBar.dismiss()
        wait_until(app, lambda: not window.sources.is_scanning())
        window.batch.runner.warm_up()

        finished: list[object] = []
        window.batchFinished.connect(finished.append)
        window.start()
        wait_until(app, lambda: bool(finished), timeout=180)
        settle(app, 0.5)
        grab(window, outdir / f"{args.language}.png")

        window.resize(window.minimumSize())
        settle(app, 0.5)
        grab(window, outdir / f"{args.language}-smallest.png")

        if args.extras:
            args.extras.mkdir(parents=True, exist_ok=True)
            dialog = window.ask_preferences()
            settle(app, 0.5)
            grab(dialog, args.extras / f"{args.language}-preferences.png")
            dialog.reject()
            failed = next(
                r
                for r in range(window.results.model.rowCount())
                if window.results.model.result(r).get("status") == "failed"
            )
            details = window.results.show_details(window.results.model.index(failed, 0))
            settle(app, 0.5)
            grab(details, args.extras / f"{args.language}-details.png")
            details.reject()
            window.sideTabs.setCurrentIndex(1)  # sources and output
            window.workTabs.setCurrentIndex(0)  # the preview of the chosen image
            window.sources.queueView.setCurrentIndex(window.sources.queue.index(0, 0))
            wait_until(app, lambda: window.previewPanel.canvas.has_pictures())
            settle(app, 0.5)
            grab(window, args.extras / f"{args.language}-smallest-output.png")
            window.resize(1280, 800)
            window.recipePanel.resizeEditor.modeCombo.setCurrentIndex(1)
            settle(app, 0.5)
            grab(window, args.extras / f"{args.language}-fit.png")

        window.close()
        window.batch.runner.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
