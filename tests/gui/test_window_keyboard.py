"""Stable object names, shortcuts, Tab reachability and screen-reader labels."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QAbstractButton, QLabel, QWidget

OBJECT_NAMES = (
    "sourceList",
    "addFolderButton",
    "addFilesButton",
    "outputDirEdit",
    "presetCombo",
    "formatCombo",
    "qualitySpin",
    "rawPreviewCheck",
    "toSrgbCheck",
    "poolSizeSpin",
    "startButton",
    "pauseButton",
    "cancelButton",
    "progressBar",
    "resultsView",
    "summaryLabel",
)

pytestmark = pytest.mark.timeout(90)


def test_the_stable_object_names_exist_once(window):
    for name in OBJECT_NAMES:
        found = window.findChildren(QWidget, name)
        assert len(found) == 1, name


def test_shortcuts(window):
    def keys(action):
        return [k.toString() for k in action.shortcuts()]

    assert keys(window.commands.addFolder) == ["Ctrl+O"]
    assert keys(window.commands.addFiles) == ["Ctrl+Shift+O"]
    assert "Ctrl+Return" in keys(window.commands.start)
    assert keys(window.commands.cancel) == ["Esc"]
    standard = QKeySequence.keyBindings(QKeySequence.StandardKey.Preferences)
    expected = [k.toString() for k in standard] or ["Ctrl+,"]  # where the platform has none
    assert keys(window.commands.preferences) == expected


def test_ctrl_return_starts_and_escape_cancels(
    qtbot, window, images, tmp_path, slow_recipe, wait_counted
):
    images(tmp_path / "src", 10, size=(300, 225))
    window.add_paths([tmp_path / "src"])
    window.recipePanel.set_recipe(slow_recipe)
    window.output.set_output(str(tmp_path / "out"), next_to_source=False)
    wait_counted(window)
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=5000)
    with qtbot.waitSignal(window.batchFinished, timeout=60000) as finished:
        qtbot.keyClick(window.sources.list, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
        assert window.batch.busy
        qtbot.waitUntil(lambda: window.batch.state == "running", timeout=20000)
        qtbot.keyClick(window.sources.list, Qt.Key.Key_Escape)
    assert finished.args[0].cancelled


def test_every_control_is_reachable_by_tab_and_has_a_name(window):
    window.activateWindow()

    def takes_tab(w: QWidget) -> bool:
        return bool(w.focusPolicy() & Qt.FocusPolicy.TabFocus) and w.isVisibleTo(window)

    focusable = [w for w in window.findChildren(QWidget) if takes_tab(w)]
    assert len(focusable) > 20
    for w in focusable:
        buddy_labels = [
            lab for lab in window.findChildren(QLabel) if lab.buddy() is w and lab.text()
        ]
        named = w.accessibleName() or buddy_labels or (isinstance(w, QAbstractButton) and w.text())
        if type(w).__name__ == "QLineEdit" and w.parent() is not None:
            named = named or w.parent().accessibleName()  # a spin box's inner editor
        assert named, f"{type(w).__name__} {w.objectName()!r} has no accessible name"

    # Tab walks from the source list through the whole window and back.
    start = window.sources.list
    seen, w = [start], start.nextInFocusChain()
    while w is not start and len(seen) < 500:
        seen.append(w)
        w = w.nextInFocusChain()
    for name in OBJECT_NAMES:
        if name in ("summaryLabel", "progressBar"):
            continue
        assert any(x.objectName() == name for x in seen), name


def test_quit_shortcut_is_the_platform_one(window):
    assert window.commands.quit.shortcut() == QKeySequence(QKeySequence.StandardKey.Quit)
