"""The window's commands: one QAction each, with its shortcut, in the menu bar."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMainWindow, QMessageBox, QWidget

from pixmill.engine import __version__


@dataclass
class WindowActions:
    """Every command of the main window (their shortcuts work from anywhere in it)."""

    addFolder: QAction
    addFiles: QAction
    saveReport: QAction
    openOutput: QAction
    quit: QAction
    start: QAction
    pause: QAction
    cancel: QAction
    savePreset: QAction
    importPreset: QAction
    preferences: QAction
    about: QAction


def _action(
    window: QMainWindow, text: str, slot: Callable[[], object], keys: Iterable[QKeySequence] = ()
) -> QAction:
    action = QAction(text, window)
    keys = [k for k in keys if not k.isEmpty()]  # a standard key the platform does not bind
    if keys:
        action.setShortcuts(keys)
        action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        shortcut = ", ".join(k.toString(QKeySequence.SequenceFormat.NativeText) for k in keys)
        action.setToolTip(f"{text.replace('&', '').rstrip('…')} ({shortcut})")
    action.triggered.connect(slot)
    window.addAction(action)
    return action


def build_actions(window: QMainWindow, slots: dict[str, Callable[[], object]]) -> WindowActions:
    """Create the actions (slots maps each WindowActions field to its handler) and the menus."""

    def a(name: str, text: str, *keys: str | QKeySequence.StandardKey) -> QAction:
        return _action(window, text, slots[name], (QKeySequence(k) for k in keys))

    actions = WindowActions(
        addFolder=a("addFolder", "Add &Folder…", "Ctrl+O"),
        addFiles=a("addFiles", "Add F&iles…", "Ctrl+Shift+O"),
        saveReport=a("saveReport", "&Save Report…", QKeySequence.StandardKey.Save),
        openOutput=a("openOutput", "&Open Output Folder"),
        quit=a("quit", "&Quit", QKeySequence.StandardKey.Quit),
        start=a("start", "&Start", "Ctrl+Return", "Ctrl+Enter"),
        pause=a("pause", "&Pause / Resume", "Ctrl+P"),
        cancel=a("cancel", "&Cancel", "Escape"),
        savePreset=a("savePreset", "Save Recipe as &Preset…"),
        importPreset=a("importPreset", "&Import Preset File…"),
        preferences=_action(window, "Pr&eferences…", slots["preferences"], preferences_keys()),
        about=a("about", "&About Pixmill"),
    )
    actions.preferences.setMenuRole(QAction.MenuRole.PreferencesRole)  # macOS: the app menu
    bar = window.menuBar()
    menu = bar.addMenu("&File")
    menu.addActions([actions.addFolder, actions.addFiles])
    menu.addSeparator()
    menu.addActions([actions.saveReport, actions.openOutput])
    menu.addSeparator()
    menu.addAction(actions.preferences)
    menu.addSeparator()
    menu.addAction(actions.quit)
    bar.addMenu("&Batch").addActions([actions.start, actions.pause, actions.cancel])
    bar.addMenu("&Presets").addActions([actions.savePreset, actions.importPreset])
    bar.addMenu("&Help").addAction(actions.about)
    return actions


def preferences_keys() -> list[QKeySequence]:
    """The platform's Preferences shortcut; Ctrl+, (the common choice) where it has none,
    as Qt gives none on Windows and most Linux desktops."""
    return QKeySequence.keyBindings(QKeySequence.StandardKey.Preferences) or [
        QKeySequence("Ctrl+,")
    ]


def show_about(parent: QWidget) -> None:
    QMessageBox.about(
        parent,
        "About Pixmill",
        f"<b>Pixmill {__version__}</b><p>Fast, safe batch image conversion.</p>"
        "<p>The same recipes run headless with <code>pixmill convert</code>.</p>",
    )
