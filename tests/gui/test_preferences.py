"""The Preferences dialog: the megapixel limit is kept in the window's settings, reaches the
recipe of every batch the window starts, and never travels with presets."""

from __future__ import annotations

import json

import pytest
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QSpinBox

from pixmill.engine.recipe import DEFAULT_MAX_MEGAPIXELS, Recipe
from pixmill.gui.actions import preferences_keys
from pixmill.gui.preferences import PreferencesDialog
from pixmill.gui.settings import Preferences

pytestmark = pytest.mark.timeout(90)


def _press(dialog: QDialog, which: QDialogButtonBox.StandardButton) -> None:
    dialog.findChild(QDialogButtonBox).button(which).click()


def _spin(dialog: QDialog) -> QSpinBox:
    spin = dialog.findChild(QSpinBox, "maxMegapixelsSpin")
    assert spin is not None
    return spin


def test_the_menu_command_opens_the_dialog_with_the_standard_shortcut(qtbot, window):
    action = window.commands.preferences
    file_menu = window.menuBar().actions()[0].menu()
    assert action in file_menu.actions()
    assert action.shortcuts() == preferences_keys()
    assert action.shortcuts() and not action.shortcut().isEmpty()
    standard = QKeySequence.keyBindings(QKeySequence.StandardKey.Preferences)
    assert not standard or action.shortcuts() == standard, "the platform's own key wins"

    action.trigger()
    dialog = window.findChild(QDialog, "preferencesDialog")
    assert isinstance(dialog, PreferencesDialog)
    qtbot.waitExposed(dialog)
    assert dialog.isModal()
    assert _spin(dialog).value() == DEFAULT_MAX_MEGAPIXELS
    _press(dialog, QDialogButtonBox.StandardButton.Cancel)
    assert not dialog.isVisible()


def test_the_limit_is_kept_across_windows_and_cancel_keeps_nothing(qtbot, make_window):
    first = make_window()
    dialog = first.ask_preferences()
    _spin(dialog).setValue(40)
    _press(dialog, QDialogButtonBox.StandardButton.Ok)
    assert first.preferences() == Preferences(max_megapixels=40.0)

    dialog = first.ask_preferences()
    _spin(dialog).setValue(75)
    _press(dialog, QDialogButtonBox.StandardButton.Cancel)
    assert first.preferences().max_megapixels == 40.0
    first.close()

    second = make_window()  # a restart, on the same settings file
    assert second.preferences().max_megapixels == 40.0
    dialog = second.ask_preferences()
    assert _spin(dialog).value() == 40
    _press(dialog, QDialogButtonBox.StandardButton.RestoreDefaults)
    assert _spin(dialog).value() == DEFAULT_MAX_MEGAPIXELS
    _press(dialog, QDialogButtonBox.StandardButton.Ok)
    assert second.preferences() == Preferences()


def test_zero_reads_no_limit(qtbot, make_window):
    w = make_window()
    dialog = w.ask_preferences()
    spin = _spin(dialog)
    spin.setValue(0)
    assert spin.text() == "No limit"
    _press(dialog, QDialogButtonBox.StandardButton.Ok)
    assert w.preferences().max_megapixels == 0.0
    assert w.preferences().apply(Recipe()).max_megapixels == 0.0


@pytest.mark.parametrize("stored", ["lots", "-5", "2000000"])
def test_an_unusable_stored_limit_reads_as_the_default(make_window, settings, stored):
    settings.setValue("preferences/maxMegapixels", stored)
    assert make_window().preferences() == Preferences()


def test_a_small_stored_limit_never_shows_as_no_limit(qtbot):
    dialog = PreferencesDialog(Preferences(max_megapixels=0.3))
    qtbot.addWidget(dialog)
    assert _spin(dialog).value() == 1


def test_a_batch_runs_with_the_limit_and_presets_do_not_carry_it(
    qtbot, window, images, tmp_path, presets_dir
):
    src = tmp_path / "src"
    images(src, 2, size=(200, 150), prefix="small")
    images(src, 1, size=(1200, 1000), prefix="big")  # 1.2 megapixels
    out = tmp_path / "out"
    window.add_paths([src])
    window.recipePanel.set_recipe(Recipe(format="png", max_megapixels=500.0))
    window.output.set_output(str(out), next_to_source=False)
    dialog = window.ask_preferences()
    _spin(dialog).setValue(1)
    _press(dialog, QDialogButtonBox.StandardButton.Ok)

    plans = []
    window.batch.planned.connect(plans.append)
    with qtbot.waitSignal(window.batchFinished, timeout=60000) as finished:
        assert window.start()
    report = finished.args[0]

    (plan,) = plans
    assert {job.recipe.max_megapixels for job in plan.jobs} == {1.0}
    assert report.summary["ok"] == 2 and report.summary["failed"] == 1
    (refused,) = [r for r in window.results.model.all_results() if r["status"] == "failed"]
    assert refused["source"].endswith("big00.png") and "megapixel" in refused["error"]
    assert sorted(p.name for p in out.iterdir()) == ["small00.png", "small01.png"]

    # The form, the remembered recipe and a saved preset keep the recipe's own choices.
    assert window.recipePanel.recipe().max_megapixels == DEFAULT_MAX_MEGAPIXELS
    assert window.settings.recipe().max_megapixels == DEFAULT_MAX_MEGAPIXELS
    preset = window.recipePanel.presets.save("Mine")
    assert json.loads(preset.path.read_text())["max_megapixels"] == DEFAULT_MAX_MEGAPIXELS
