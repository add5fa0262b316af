"""`pixmill PATH...` opens the window with the paths queued; notifications when inactive."""

from __future__ import annotations

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QWidget

import pixmill.gui.app as app_module
from pixmill.gui.main_window import MainWindow
from pixmill.gui.notify import Notifier


def test_app_main_queues_the_paths_and_stops_the_pool_at_exit(
    qtbot, monkeypatch, settings, presets_dir, runner, images, tmp_path
):
    folder = tmp_path / "album"
    images(folder, 3)
    made: list[MainWindow] = []

    def window_factory() -> MainWindow:
        w = MainWindow(runner, settings=settings, presets_dir=presets_dir, warm_pool=False)
        made.append(w)

        def finish() -> None:
            if w.sources.is_scanning():
                QTimer.singleShot(20, finish)
                return
            # Only quit: closing the last window too would post a second quit that outlives
            # exec() and leaves later event loops (this test session's) unable to run.
            QApplication.instance().quit()

        QTimer.singleShot(50, finish)
        return w

    monkeypatch.setattr(app_module, "MainWindow", window_factory)
    shut: list[bool] = []
    monkeypatch.setattr(runner, "shutdown", lambda: shut.append(True))

    assert app_module.main([str(folder)]) == 0
    window = made[0]
    qtbot.addWidget(window)
    fired: list[bool] = []
    QTimer.singleShot(0, lambda: fired.append(True))
    qtbot.waitUntil(lambda: bool(fired), timeout=2000)  # the event loop still works
    assert window.sources.paths() == [str(folder)]
    assert window.sources.image_count() == 3
    assert shut == [True]
    assert QApplication.organizationName() == "Pixmill"


def test_ctrl_c_in_the_terminal_closes_the_window(
    qtbot, monkeypatch, settings, presets_dir, runner
):
    import os
    import signal

    made: list[MainWindow] = []

    def window_factory() -> MainWindow:
        w = MainWindow(runner, settings=settings, presets_dir=presets_dir, warm_pool=False)
        made.append(w)
        QTimer.singleShot(100, lambda: os.kill(os.getpid(), signal.SIGINT))
        return w

    monkeypatch.setattr(app_module, "MainWindow", window_factory)
    before = signal.getsignal(signal.SIGINT)
    assert app_module.main([]) == 0
    qtbot.addWidget(made[0])
    assert not made[0].isVisible()
    assert signal.getsignal(signal.SIGINT) is before, "the previous handler is back"
    fired: list[bool] = []
    QTimer.singleShot(0, lambda: fired.append(True))
    qtbot.waitUntil(lambda: bool(fired), timeout=2000)


def test_a_notice_without_a_system_tray_is_quiet(qtbot):
    widget = QWidget()
    qtbot.addWidget(widget)
    notifier = Notifier(widget)
    assert not widget.isActiveWindow()
    assert notifier.notify("Pixmill: batch done", "3 converted")  # no Qt warning either
    assert notifier.last_message == ("Pixmill: batch done", "3 converted")
    notifier.close()


def test_turning_recursion_off_recounts_the_sources(qtbot, window, images, tmp_path, wait_counted):
    root = tmp_path / "root"
    images(root, 2)
    images(root / "deeper", 3, prefix="d")
    window.add_paths([root])
    wait_counted(window)
    assert window.sources.image_count() == 5
    window.recipePanel.namingEditor.recursiveCheck.setChecked(False)
    wait_counted(window)
    assert window.sources.image_count() == 2


def test_a_converted_subfolder_is_not_counted_as_a_source(
    qtbot, window, images, tmp_path, wait_counted
):
    root = tmp_path / "root"
    images(root, 2)
    images(root / "converted", 4, prefix="old")
    window.output.set_output(str(tmp_path / "elsewhere"), next_to_source=False)
    window.add_paths([root])
    wait_counted(window)
    assert window.sources.image_count() == 6
    window.output.set_output("", next_to_source=True)
    wait_counted(window)
    assert window.sources.image_count() == 2


def test_open_with_while_running_queues_the_file(qtbot, window, images, tmp_path):
    from PySide6.QtGui import QFileOpenEvent

    (path,) = images(tmp_path / "opened", 1)
    opener = app_module._FileOpenFilter(window)
    QApplication.instance().installEventFilter(opener)
    try:
        QApplication.sendEvent(QApplication.instance(), QFileOpenEvent(str(path)))
    finally:
        QApplication.instance().removeEventFilter(opener)
    qtbot.waitUntil(lambda: str(path) in window.sources.paths(), timeout=5000)


def test_smoke_quit_hook_prints_and_quits(monkeypatch, capsys):
    monkeypatch.setenv("PIXMILL_SMOKE_QUIT_MS", "10")
    app = QApplication.instance()
    app_module._arm_smoke_quit(app)  # noqa: SLF001
    assert app.exec() == 0
    assert "window shown" in capsys.readouterr().out
