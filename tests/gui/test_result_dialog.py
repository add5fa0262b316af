"""The per-file details dialog: message, traceback, and the decoders' warnings under their own
heading."""

from __future__ import annotations

import pytest
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QLabel

from pixmill.engine.result import make_result
from pixmill.gui.result_dialog import ResultDialog
from pixmill.gui.results_panel import ResultsPanel

pytestmark = pytest.mark.timeout(30)

WARNINGS = [
    "TIFFReadDirectory: Unknown field with tag 33723 (0x83bb) encountered",
    "Corrupt EXIF data.  Expecting to read 12 bytes but only got 6.",
]


@pytest.fixture
def panel(qtbot) -> ResultsPanel:
    p = ResultsPanel()
    qtbot.addWidget(p)
    return p


def _dialog(qtbot, panel: ResultsPanel, result: dict) -> ResultDialog:
    """The dialog as a double-click on the result's row opens it."""
    panel.add_results([result])
    dialog = panel.show_details(panel.model.index(panel.model.rowCount() - 1, 0))
    assert isinstance(dialog, ResultDialog)
    qtbot.waitExposed(dialog)
    return dialog


def _labels(dialog: ResultDialog) -> list[str]:
    return [label.text() for label in dialog.findChildren(QLabel) if label.isVisible()]


def test_warnings_of_a_converted_file_are_listed_under_their_heading(qtbot, panel):
    result = make_result(1, "/photos/scan.tif", "ok", target="/out/scan.webp")
    result["warnings"] = WARNINGS
    dialog = _dialog(qtbot, panel, result)

    assert "Warnings (2)" in _labels(dialog)
    assert "Converted, with 2 warnings" in _labels(dialog)
    assert dialog.warningsText is not None and dialog.warningsText.isVisible()
    assert dialog.warningsText.toPlainText() == "\n".join(WARNINGS)
    assert not dialog.text.isVisible(), "no empty message box for a file that converted"
    dialog.copy_to_clipboard()
    copied = QGuiApplication.clipboard().text()
    assert copied.endswith("Warnings:\n" + "".join(f"- {w}\n" for w in WARNINGS))


def test_a_failed_file_shows_its_message_and_its_warnings(qtbot, panel):
    result = make_result(2, "/photos/bad.tif", "failed", "image file is truncated", traceback="TB")
    result["warnings"] = WARNINGS[:1]
    dialog = _dialog(qtbot, panel, result)

    labels = _labels(dialog)
    assert "Message" in labels and "Warnings (1)" in labels
    assert dialog.text.isVisible() and dialog.text.toPlainText() == "image file is truncated\n\nTB"
    assert dialog.warningsText.toPlainText() == WARNINGS[0]


@pytest.mark.parametrize("warnings", [[], None, "missing"])
def test_without_warnings_there_is_no_heading(qtbot, panel, warnings):
    result = make_result(3, "/photos/fine.jpg", "failed", "not an image")
    if warnings == "missing":
        del result["warnings"]
    else:
        result["warnings"] = warnings
    dialog = _dialog(qtbot, panel, result)

    assert dialog.warningsText is None
    assert not any(t.startswith("Warnings") for t in _labels(dialog))
    assert "Message" not in _labels(dialog)
    assert dialog.text.isVisible() and dialog.text.toPlainText() == "not an image"
    assert _labels(dialog).count("Failed") == 1
