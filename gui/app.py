"""main(): the QApplication, the window with the given paths queued, the event loop, and a
clean stop of the worker pool afterwards."""

from __future__ import annotations

import signal
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from PySide6.QtCore import QTimer
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
        with _quit_on_signals(window):
            return app.exec()
    finally:
        window.batch.runner.shutdown()  # the event loop is over: blocking here is fine


@contextmanager
def _quit_on_signals(window: MainWindow) -> Iterator[None]:
    """Ctrl+C in the terminal (or SIGTERM) cancels any batch and closes the window.

    Python runs signal handlers only between bytecodes, never while Qt waits in C++, so a
    timer wakes the interpreter a few times a second."""
    wanted = [signal.SIGINT] + ([signal.SIGTERM] if hasattr(signal, "SIGTERM") else [])
    previous = {s: signal.getsignal(s) for s in wanted}

    def handler(signum: int, frame: object) -> None:
        QTimer.singleShot(0, window.quit_without_asking)

    for s in wanted:
        signal.signal(s, handler)
    waker = QTimer(window)
    waker.timeout.connect(_wake)
    waker.start(250)
    try:
        yield
    finally:
        waker.stop()
        for s, h in previous.items():
            signal.signal(s, h)


def _wake() -> None:
    """Nothing: its only job is to let Python check for signals."""
