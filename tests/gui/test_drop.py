"""Dropping folders and files on the window queues them (real QDropEvents through Qt)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication


def _mime(*paths: Path) -> QMimeData:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    return mime


def _drop(target, mime: QMimeData) -> QDropEvent:
    """Send the enter + drop pair a real drag sends, to whatever widget is under the pointer;
    Qt passes both up to the first parent that accepts drops."""
    pos = QPointF(target.rect().center())
    actions = Qt.DropAction.CopyAction
    enter = QDragEnterEvent(
        pos.toPoint(), actions, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    )
    QApplication.sendEvent(target, enter)
    assert enter.isAccepted(), "the window must accept a drag of local files"
    drop = QDropEvent(pos, actions, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(target, drop)
    return drop


def test_dropping_a_folder_and_a_file_queues_their_images(
    qtbot, window, images, tmp_path, wait_counted
):
    folder = tmp_path / "holiday"
    images(folder, 4)
    images(folder / "day2", 2, prefix="d")
    (folder / "notes.txt").write_text("not an image")
    single = images(tmp_path / "loose", 1, prefix="single")[0]

    drop = _drop(window.results.view.viewport(), _mime(folder, single))
    assert drop.isAccepted()
    wait_counted(window)

    assert window.sources.paths() == [str(folder), str(single)]
    counts = [window.sources.list.topLevelItem(i).text(1) for i in range(2)]
    assert counts == ["6", "1"]
    assert window.sources.image_count() == 7
    assert "7 images" in window.sources.totalsLabel.text()
    assert window.runBar.startButton.isEnabled()


def test_a_drop_on_a_text_field_queues_instead_of_typing(
    qtbot, window, images, tmp_path, wait_counted
):
    folder = tmp_path / "pics"
    images(folder, 2)
    _drop(window.output.outputDirEdit, _mime(folder))
    wait_counted(window)
    assert window.sources.paths() == [str(folder)]
    assert window.output.outputDirEdit.text() == ""


def test_dropping_something_without_images_says_so(qtbot, window, tmp_path, wait_counted):
    empty = tmp_path / "empty"
    empty.mkdir()
    text = tmp_path / "readme.txt"
    text.write_text("hi")
    _drop(window, _mime(empty, text))
    wait_counted(window)
    assert window.sources.paths() == []
    message = window.messageBar.text()
    assert "No images found in “empty”" in message or "not an image" in message
    qtbot.waitUntil(lambda: "No images found in “empty”" in window.messageBar.text(), timeout=5000)
    assert not window.runBar.startButton.isEnabled()


def test_the_same_folder_is_queued_once_and_remove_and_clear_work(
    qtbot, window, images, tmp_path, wait_counted
):
    a, b = tmp_path / "a", tmp_path / "b"
    images(a, 1)
    images(b, 2)
    window.add_paths([a, b, a])
    _drop(window, _mime(a))
    wait_counted(window)
    assert window.sources.paths() == [str(a), str(b)]
    window.sources.list.topLevelItem(0).setSelected(True)
    window.sources.removeButton.click()
    assert window.sources.paths() == [str(b)]
    window.sources.clearButton.click()
    assert window.sources.paths() == []


def test_a_drag_without_files_is_refused(qtbot, window):
    mime = QMimeData()
    mime.setText("just words")
    enter = QDragEnterEvent(
        window.rect().center(),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    QApplication.sendEvent(window, enter)
    assert not enter.isAccepted()


def test_counting_a_big_tree_can_be_stopped(qtbot, window, tmp_path, monkeypatch):
    import threading

    import pixmill.gui.sources as sources

    gate = threading.Event()
    real = sources.collect_sources

    def slow_collect(*args, **kwargs):
        cancel = args[4] if len(args) > 4 else kwargs.get("cancel")
        while not gate.wait(0.01):
            if cancel():
                from pixmill.engine.scan import ScanCancelled

                raise ScanCancelled()
        return real(*args, **kwargs)

    monkeypatch.setattr(sources, "collect_sources", slow_collect)
    folder = tmp_path / "huge"
    folder.mkdir()
    window.add_paths([folder])
    assert window.sources.is_scanning()
    assert window.sources.scanRow.isVisibleTo(window)
    window.escape()  # Escape stops counting when no batch runs
    qtbot.waitUntil(lambda: not window.sources.is_scanning(), timeout=5000)
    assert not window.sources.scanRow.isVisibleTo(window)
    assert window.sources.list.topLevelItem(0).text(1) == "not counted"
