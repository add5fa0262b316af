"""main(): the QApplication, the window with the given paths queued, the event loop, and a
clean stop of the worker pool afterwards."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from PySide6.QtWidgets import QApplication

from .icon import app_icon
from .main_window import MainWindow
from .settings import APPLICATION, ORGANIZATION


def main(paths: Sequence[str]) -> int:
    """Open the window with `paths` (folders and images) queued; returns the exit code.

    The launcher has already called multiprocessing.freeze_support()."""
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setOrganizationName(ORGANIZATION)
    app.setApplicationName(APPLICATION)
    app.setWindowIcon(app_icon())
    window = MainWindow()
    window.show()
    if paths:
        window.add_paths(paths)
    try:
        return app.exec()
    finally:
        window.batch.runner.shutdown()  # the event loop is over: blocking here is fine
