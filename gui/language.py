"""The window's language, chosen once at start-up: the one saved in Preferences, else the
system's (engine.i18n reads LANGUAGE, LC_ALL, LC_MESSAGES and LANG). Pixmill's own words come
from its gettext catalogue (engine.i18n); Qt's own (the buttons of standard dialogs, the
context menus of text fields) from the qtbase translations Qt ships, through a QTranslator.

It must run before any widget is built (they take their words when they are made) and before
the worker pool starts (the workers inherit PIXMILL_LANGUAGE). A new choice in Preferences
applies at the next start."""

from __future__ import annotations

import os

from PySide6.QtCore import QCoreApplication, QLibraryInfo, QSettings, QTranslator

from pixmill.engine import i18n

from .settings import WindowSettings

#: The QTranslator installed for Qt's own strings (kept alive here; None for English).
_qt_translator: QTranslator | None = None


def apply_language(app: QCoreApplication, settings: QSettings) -> str:
    """Speak the language saved in settings (or the system's) from now on, in this process
    and in the workers it starts; returns the code in use ("en", "zh_CN"...)."""
    saved = WindowSettings(settings).language()
    # Nothing saved: the environment decides (an explicit PIXMILL_LANGUAGE included).
    i18n.set_language(saved or os.environ.get(i18n.LANGUAGE_VARIABLE) or None)
    language = i18n.current_language()
    install_qt_translations(app, language)
    return language


def install_qt_translations(app: QCoreApplication, language: str) -> bool:
    """Qt's own strings in language (replacing an earlier choice); False when Qt ships none
    for it (or for English, the source)."""
    global _qt_translator
    if _qt_translator is not None:
        app.removeTranslator(_qt_translator)
        _qt_translator = None
    if language == i18n.SOURCE_LANGUAGE:
        return False
    folder = QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath)
    translator = QTranslator(app)
    for name in (f"qtbase_{language}", f"qtbase_{language.split('_')[0]}"):
        if translator.load(name, folder):
            app.installTranslator(translator)
            _qt_translator = translator
            return True
    return False
