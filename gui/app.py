"""main(): the QApplication, the window with the given paths queued, the event loop, and a
clean stop of the worker pool afterwards."""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QApplication

from .icon import app_icon
from .language import apply_language
from .main_window import MainWindow
from .settings import APPLICATION, ORGANIZATION, default_settings


def main(paths: Sequence[str]) -> int:
    """Open the window with `paths` (folders and images) queued; returns the exit code.

    The launcher has already called multiprocessing.freeze_support()."""
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setOrganizationName(ORGANIZATION)
    app.setApplicationName(APPLICATION)
    app.setWindowIcon(app_icon())
    # Lets GNOME/Wayland match the window to the installed desktop entry and its icon.
    app.setDesktopFileName(DESKTOP_ID)
    # Before any widget takes its words, and before the window starts the worker pool.
    apply_language(app, default_settings())
    window = MainWindow()
    if FILE_OPEN_EVENTS:
        app.installEventFilter(_FileOpenFilter(window))
    window.show()
    if paths:
        window.add_paths(paths)
    _arm_smoke_quit(app)
    try:
        with _quit_on_signals(window):
            return app.exec()
    finally:
        window.shutdown()  # the event loop is over: blocking here is fine


DESKTOP_ID = "io.github.pixmill.Pixmill"
#: Only macOS sends QFileOpenEvent. A filter on the application sees every event of every
#: object, and one written in Python takes the GIL for each: elsewhere it would only slow
#: every repaint while a batch's threads hold the GIL.
FILE_OPEN_EVENTS = sys.platform == "darwin"


class _FileOpenFilter(QObject):
    """macOS "Open With" while Pixmill runs arrives as QFileOpenEvent: queue those paths."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self._window = window

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt API)
        if event.type() == QEvent.Type.FileOpen:
            path = event.file()  # type: ignore[attr-defined]
            if path:
                self._window.add_paths([path])
                return True
        return super().eventFilter(watched, event)


def _arm_smoke_quit(app: QApplication) -> None:
    """PIXMILL_SMOKE_QUIT_MS=N (packaging smoke test only): once the event loop runs and the
    window is up, print "window shown" and quit N ms later with exit code 0."""
    quit_ms = os.environ.get("PIXMILL_SMOKE_QUIT_MS")
    if not quit_ms:
        return

    def shown() -> None:
        if sys.stdout is not None:  # pixmill-gui.exe on Windows has no console
            print("window shown", flush=True)
        QTimer.singleShot(int(quit_ms), app.quit)

    QTimer.singleShot(0, shown)


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
