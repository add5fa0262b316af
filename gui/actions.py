"""The window's commands: one QAction each, with its shortcut, in the menu bar."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMainWindow, QMessageBox, QWidget

from pixmill.engine import __version__
from pixmill.engine.i18n import _, pgettext


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
        name = plain(text)
        action.setToolTip(_("{action} ({shortcut})").format(action=name, shortcut=shortcut))
    action.triggered.connect(slot)
    window.addAction(action)
    return action


def plain(text: str) -> str:
    """A menu text without its mnemonic ("&Save" or, as Chinese writes it, "保存(&S)") and
    without the "…" of a command that asks first."""
    return re.sub(r"\s*\(&\w\)", "", text).replace("&", "").rstrip("…").rstrip()


def build_actions(window: QMainWindow, slots: dict[str, Callable[[], object]]) -> WindowActions:
    """Create the actions (slots maps each WindowActions field to its handler) and the menus."""

    def a(name: str, text: str, *keys: str | QKeySequence.StandardKey) -> QAction:
        return _action(window, text, slots[name], (QKeySequence(k) for k in keys))

    actions = WindowActions(
        addFolder=a("addFolder", _("Add &Folder…"), "Ctrl+O"),
        addFiles=a("addFiles", _("Add F&iles…"), "Ctrl+Shift+O"),
        saveReport=a("saveReport", _("&Save Report…"), QKeySequence.StandardKey.Save),
        openOutput=a("openOutput", _("&Open Output Folder")),
        quit=a("quit", _("&Quit"), QKeySequence.StandardKey.Quit),
        start=a("start", pgettext("menu", "&Start"), "Ctrl+Return", "Ctrl+Enter"),
        pause=a("pause", _("&Pause / Resume"), "Ctrl+P"),
        cancel=a("cancel", pgettext("menu", "&Cancel"), "Escape"),
        savePreset=a("savePreset", _("Save Recipe as &Preset…")),
        importPreset=a("importPreset", _("&Import Preset File…")),
        preferences=_action(window, _("Pr&eferences…"), slots["preferences"], preferences_keys()),
        about=a("about", _("&About Pixmill")),
    )
    actions.preferences.setMenuRole(QAction.MenuRole.PreferencesRole)  # macOS: the app menu
    bar = window.menuBar()
    menu = bar.addMenu(_("&File"))
    menu.addActions([actions.addFolder, actions.addFiles])
    menu.addSeparator()
    menu.addActions([actions.saveReport, actions.openOutput])
    menu.addSeparator()
    menu.addAction(actions.preferences)
    menu.addSeparator()
    menu.addAction(actions.quit)
    bar.addMenu(_("&Batch")).addActions([actions.start, actions.pause, actions.cancel])
    bar.addMenu(_("&Presets")).addActions([actions.savePreset, actions.importPreset])
    bar.addMenu(_("&Help")).addAction(actions.about)
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
        _("About Pixmill"),
        "<b>Pixmill {version}</b><p>{tagline}</p><p>{headless}</p>".format(
            version=__version__,
            tagline=_("Fast, safe batch image conversion."),
            headless=_("The same recipes run headless with {command}.").format(
                command="<code>pixmill convert</code>"
            ),
        ),
    )
