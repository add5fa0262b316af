"""Languages: Pixmill's own messages through GNU gettext, one catalogue (domain "pixmill") for
the engine, the CLI and the window. English is the source language; the translations are
resources/locale/<lang>/LC_MESSAGES/pixmill.mo, compiled from the .po files by the build.

    from .i18n import N_, _, ngettext
    _("file is empty")
    ngettext("{count} file", "{count} files", n).format(count=n)
    REASONS = {"svg": N_("SVG vector images are not supported")}  # marked, translated at use:
    _(REASONS["svg"])

The language is chosen like GNU gettext does (LANGUAGE, LC_ALL, LC_MESSAGES, LANG), except
that PIXMILL_LANGUAGE, set by set_language() (the window's Preferences), comes first. Spawned
worker processes inherit the environment, so they speak the same language. A missing
catalogue means English, never an error.
"""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import gettext

DOMAIN = "pixmill"
#: The override set_language() writes: inherited by every process started afterwards.
LANGUAGE_VARIABLE = "PIXMILL_LANGUAGE"
#: Where the compiled catalogues are, when not in resources/locale (tests, frozen builds).
LOCALE_DIR_VARIABLE = "PIXMILL_LOCALE_DIR"
SOURCE_LANGUAGE = "en"
#: The languages' own names, for the Preferences' list; a language missing here shows its code.
LANGUAGE_NAMES = {"en": "English", "zh_CN": "简体中文"}

_lock = threading.Lock()
_current: gettext.NullTranslations | None = None


def locale_dir() -> Path:
    """The folder holding <lang>/LC_MESSAGES/pixmill.mo (and the .po sources beside them)."""
    override = os.environ.get(LOCALE_DIR_VARIABLE)
    if override:
        return Path(override)
    try:
        import pixmill.resources

        return Path(pixmill.resources.__file__).resolve().parent / "locale"
    except ImportError:  # run from a bare engine folder: resources/ is its sibling
        return Path(__file__).resolve().parent.parent / "resources" / "locale"


def system_languages() -> list[str]:
    """The languages the environment asks for, in order of preference: the first of
    LANGUAGE (a colon-separated list), LC_ALL, LC_MESSAGES and LANG that is set, as GNU
    gettext reads them. Unlike GNU gettext, LANGUAGE counts even when the locale is "C", so
    `LANGUAGE=zh_CN pixmill convert ...` works in a bare terminal. On Windows, with none of
    them set, the user's display language."""
    for name in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(name)
        if value:
            return [part for part in value.split(":") if part]
    if sys.platform == "win32":
        return _windows_language()
    return []


def _windows_language() -> list[str]:
    try:
        import ctypes

        buf = ctypes.create_unicode_buffer(85)
        if ctypes.windll.kernel32.GetUserDefaultLocaleName(buf, len(buf)):  # type: ignore[attr-defined]
            return [buf.value.replace("-", "_")]
    except (AttributeError, OSError, ValueError):
        pass
    return []


def requested_languages() -> list[str]:
    """PIXMILL_LANGUAGE (the user's choice) if set, else the system's languages."""
    chosen = os.environ.get(LANGUAGE_VARIABLE)
    return [chosen] if chosen else system_languages()


def _candidates(languages: list[str]) -> list[str]:
    """Catalogue names to try, best first: zh_CN.UTF-8 -> zh_CN.UTF-8, zh_CN, zh. "C",
    "POSIX" and English stop the search (the source language needs no catalogue)."""
    out: list[str] = []
    for lang in languages:
        base = lang.split("@")[0].split(".")[0].replace("-", "_")
        if base in ("C", "POSIX") or base.split("_")[0] == SOURCE_LANGUAGE:
            break
        for name in (lang, base, base.split("_")[0]):
            if name and name not in out:
                out.append(name)
    return out


def _load(languages: list[str]) -> gettext.NullTranslations:
    import gettext  # on the first message: a worker that converts silently never needs it

    folder = locale_dir()
    for name in _candidates(languages):
        mo = folder / name / "LC_MESSAGES" / f"{DOMAIN}.mo"
        try:
            with open(mo, "rb") as f:
                return gettext.GNUTranslations(f)
        except (OSError, ValueError, UnicodeDecodeError):
            continue  # missing or unreadable: try the next, at worst English
    return gettext.NullTranslations()


def translation() -> gettext.NullTranslations:
    """The catalogue in use, loaded on first use (NullTranslations for English)."""
    current = _current
    if current is None:
        with _lock:
            current = _current
            if current is None:
                current = _reload()
    return current


def _reload() -> gettext.NullTranslations:
    global _current
    _current = _load(requested_languages())
    return _current


def set_language(code: str | None) -> None:
    """Speak code ("zh_CN", "en") from now on, in this process and in every process it
    starts afterwards (PIXMILL_LANGUAGE is set; start or restart the worker pool after
    this); None or "" follows the system's language again. Messages already made stay as
    they were."""
    with _lock:
        if code:
            os.environ[LANGUAGE_VARIABLE] = code
        else:
            os.environ.pop(LANGUAGE_VARIABLE, None)
        _reload()


def current_language() -> str:
    """The code of the catalogue in use ("en" when none is)."""
    info = translation().info()
    return info.get("language") or SOURCE_LANGUAGE


def available_languages() -> list[tuple[str, str]]:
    """(code, name) of English and of every language with a compiled catalogue, English
    first, then by code."""
    found = []
    folder = locale_dir()
    if folder.is_dir():
        for mo in folder.glob(f"*/LC_MESSAGES/{DOMAIN}.mo"):
            found.append(mo.parent.parent.name)
    codes = [SOURCE_LANGUAGE, *sorted(c for c in found if c != SOURCE_LANGUAGE)]
    return [(c, LANGUAGE_NAMES.get(c, c)) for c in codes]


def _(message: str) -> str:
    """message in the current language."""
    return translation().gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """The form of a message for the count n, in the current language."""
    return translation().ngettext(singular, plural, n)


def pgettext(context: str, message: str) -> str:
    """message in the current language, told apart from the same English words used
    elsewhere by context (a short word on a button, say)."""
    return translation().pgettext(context, message)


def N_(message: str) -> str:  # noqa: N802 - the conventional name extraction looks for
    """Mark message for extraction without translating it (module-level constants, which
    exist before a language is chosen): translate it where it is used, with _()."""
    return message


__all__ = [
    "DOMAIN",
    "LANGUAGE_NAMES",
    "LANGUAGE_VARIABLE",
    "LOCALE_DIR_VARIABLE",
    "N_",
    "_",
    "available_languages",
    "current_language",
    "locale_dir",
    "ngettext",
    "pgettext",
    "requested_languages",
    "set_language",
    "system_languages",
    "translation",
]
