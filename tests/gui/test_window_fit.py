"""A window that fits: the whole recipe without a scroll bar at 1280x720, usable at 1024x640,
sections that hide and come back as they were left, and light or dark from the Preferences."""

from __future__ import annotations

import pytest
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QApplication, QScrollArea, QWidget

from pixmill.gui.settings import Preferences
from pixmill.gui.theme import DARK, LIGHT, SYSTEM, current_scheme

pytestmark = pytest.mark.timeout(60)


def scroll_bars(window, name: str) -> list[str]:
    area = window.findChild(QScrollArea, name)
    bars = {"vertical": area.verticalScrollBar(), "horizontal": area.horizontalScrollBar()}
    return [which for which, bar in bars.items() if bar.isVisible()]


def inside(widget: QWidget, window) -> bool:
    """widget is shown and its whole rectangle lies in the window."""
    top_left = widget.mapTo(window, widget.rect().topLeft())
    bottom_right = widget.mapTo(window, widget.rect().bottomRight())
    return (
        widget.isVisible()
        and window.rect().contains(top_left)
        and window.rect().contains(bottom_right)
    )


def test_every_recipe_control_shows_without_a_scroll_bar_at_1280x720(make_window, qtbot):
    window = make_window()
    window.resize(1280, 720)
    window.show()
    qtbot.waitExposed(window)
    window.default_splitter_sizes()
    qtbot.wait(50)
    assert scroll_bars(window, "recipeScroll") == []
    panel = window.recipePanel
    for editor in (panel.formatEditor, panel.resizeEditor, panel.namingEditor):
        assert editor.parent() is not None
    for group in panel._groups:
        assert inside(group, window), group.title()
    for name in ("formatCombo", "qualitySpin", "metadataCombo", "keepIccCheck", "startButton"):
        assert inside(window.findChild(QWidget, name), window), name
    for name in ("queueView", "previewView", "previewSlider", "previewInfoLabel"):
        assert inside(window.findChild(QWidget, name), window), name
    window.sideTabs.setCurrentIndex(1)
    qtbot.wait(20)
    assert scroll_bars(window, "sourcesScroll") == []
    assert inside(window.output.outputDirEdit, window)


def test_the_window_is_usable_at_its_minimum_of_1024x640(make_window, qtbot):
    window = make_window()
    window.show()
    window.resize(400, 300)  # asks for less than the minimum
    qtbot.wait(20)
    assert (window.width(), window.height()) == (1024, 640)
    window.default_splitter_sizes()
    qtbot.wait(50)
    for name in ("startButton", "queueView", "previewView", "previewSlider", "formatCombo"):
        widget = window.findChild(QWidget, name)
        assert inside(widget, window) and widget.height() > 10, name
    assert window.findChild(QWidget, "previewView").height() >= 100


def test_hidden_sections_and_splitters_come_back_as_left(make_window, qtbot):
    first = make_window()
    first.show()
    first.sections["recipe"].setChecked(False)
    assert not first.recipePanel.isVisible()
    first.workSplitter.setSizes([300, 900])
    sizes = first.workSplitter.sizes()
    first.close()

    second = make_window()
    second.show()
    assert not second.sections["recipe"].isChecked()
    assert not second.recipePanel.isVisible()
    assert second.workSplitter.sizes() == sizes
    second.sections["recipe"].trigger()
    assert second.recipePanel.isVisible()


def test_dark_or_light_from_the_preferences_is_applied_and_remembered(make_window, qtbot):
    window = make_window()
    window.show()
    app = QApplication.instance()
    system = app.palette().color(QPalette.ColorRole.Window)
    try:
        window.set_preferences(Preferences(color_scheme=DARK))
        assert current_scheme() == DARK
        assert app.palette().color(QPalette.ColorRole.Window).lightness() < 100
        window.close()

        again = make_window()  # reads the choice back
        assert again.preferences().color_scheme == DARK
        dialog = again.ask_preferences()
        assert dialog.colorSchemeCombo.currentData() == DARK
        dialog.colorSchemeCombo.setCurrentIndex(dialog.colorSchemeCombo.findData(LIGHT))
        dialog.accept()
        assert again.preferences().color_scheme == LIGHT
        assert current_scheme() == LIGHT
    finally:
        window.set_preferences(Preferences(color_scheme=SYSTEM))
    assert app.palette().color(QPalette.ColorRole.Window) == system
