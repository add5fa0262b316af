"""Light and dark: the window follows the system's colour scheme (Qt's QStyleHints), unless the
Preferences choose one. Where the platform cannot switch its scheme (X11 without a desktop
portal, the offscreen platform), the chosen scheme is applied as a palette instead."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication

from pixmill.engine.i18n import N_

SYSTEM, LIGHT, DARK = "system", "light", "dark"
#: The choices' names, marked for translation: show them with _().
SCHEMES = {
    SYSTEM: N_("Follow the system"),
    LIGHT: N_("Light"),
    DARK: N_("Dark"),
}

_painted = False  # whether the application palette is ours (not the platform's)


def apply_scheme(choice: str) -> str:
    """Use the colour scheme choice (SYSTEM, LIGHT or DARK); returns the one in force."""
    global _painted
    app = QApplication.instance()
    if not isinstance(app, QGuiApplication):
        return LIGHT
    hints = app.styleHints()
    wanted = {LIGHT: Qt.ColorScheme.Light, DARK: Qt.ColorScheme.Dark}.get(choice)
    if wanted is None:
        hints.unsetColorScheme()
    else:
        hints.setColorScheme(wanted)
    if wanted is not None and hints.colorScheme() != wanted:
        # The platform could not switch: paint it ourselves.
        app.setPalette(dark_palette() if choice == DARK else app.style().standardPalette())
        _painted = True
    elif _painted:
        app.setPalette(QPalette())  # an empty palette: the platform's again, and it follows
        _painted = False
    return current_scheme()


def current_scheme() -> str:
    """LIGHT or DARK, as the window looks now."""
    window = QApplication.palette().color(QPalette.ColorRole.Window)
    return DARK if window.lightness() < 128 else LIGHT


def dark_palette() -> QPalette:
    """A dark palette in the spirit of the desktops' own dark themes."""
    p = QPalette()
    roles, groups = QPalette.ColorRole, QPalette.ColorGroup
    colors = {
        roles.Window: "#2b2b2e",
        roles.WindowText: "#e6e6e6",
        roles.Base: "#1f1f22",
        roles.AlternateBase: "#2a2a2d",
        roles.ToolTipBase: "#3a3a3e",
        roles.ToolTipText: "#f0f0f0",
        roles.PlaceholderText: "#8a8a8a",
        roles.Text: "#e6e6e6",
        roles.Button: "#35353a",
        roles.ButtonText: "#e6e6e6",
        roles.BrightText: "#ffffff",
        roles.Light: "#4a4a50",
        roles.Midlight: "#3e3e44",
        roles.Mid: "#2f2f33",
        roles.Dark: "#18181a",
        roles.Shadow: "#000000",
        roles.Highlight: "#3d7bd9",
        roles.HighlightedText: "#ffffff",
        roles.Link: "#6aa6ff",
        roles.LinkVisited: "#b48cff",
    }
    for role, color in colors.items():
        p.setColor(role, QColor(color))
    for role in (roles.WindowText, roles.Text, roles.ButtonText):
        p.setColor(groups.Disabled, role, QColor("#7a7a7a"))
    p.setColor(groups.Disabled, roles.Base, QColor("#262629"))
    p.setColor(groups.Disabled, roles.Button, QColor("#2e2e32"))
    return p
