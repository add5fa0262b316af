"""The details of one result: paths, status, how it was encoded when that was chosen per image
(format, quality, score, or the original kept), the full message and the worker's traceback,
and what the decoders warned about the file."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont, QFontDatabase, QGuiApplication
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from pixmill.engine.i18n import _

from . import formatting
from .format_editor import format_label
from .results import status_word, warnings_of, warnings_summary


class ResultDialog(QDialog):
    """Shows one engine result dict; "Copy" puts the whole text on the clipboard.

    Attributes:
        text: the message and traceback (hidden when a file has warnings and nothing else).
        warningsText: the warnings, one a line, under a "Warnings" heading; None without any.
    """

    def __init__(self, result: dict[str, Any], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("resultDialog")
        self.result = result
        self.warnings = warnings_of(result)
        status = status_word(result["status"])
        self.setWindowTitle(_("{status}: {path}").format(status=status, path=result["source"]))
        self.resize(720, 440)

        form = QFormLayout()
        form.addRow(_("Source:"), self._selectable(result["source"]))
        if result.get("target"):
            form.addRow(_("Output:"), self._selectable(result["target"]))
        shown_status = _("{status}, with {warnings}").format(
            status=status, warnings=warnings_summary(len(self.warnings))
        )
        form.addRow(_("Status:"), self._selectable(shown_status if self.warnings else status))
        details = [
            formatting.size_change(result),
            formatting.dimensions(result),
            formatting.milliseconds(result.get("ms")),
        ]
        if any(details):
            form.addRow(
                _("Details:"), self._selectable(formatting.SEP.join(d for d in details if d))
            )
        for label, text in encoding_rows(result):
            form.addRow(label, self._selectable(text))

        self.text = self._text_box("resultDetailsText", _("Message and traceback"))
        self.text.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.text.setPlainText(self.details_text())

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        copy = buttons.addButton(_("Copy"), QDialogButtonBox.ButtonRole.ActionRole)
        copy.setToolTip(_("Copy the message, traceback and warnings to the clipboard"))
        copy.clicked.connect(self.copy_to_clipboard)
        buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addLayout(form)
        self.warningsText: QPlainTextEdit | None = None
        if self.warnings:
            has_message = bool(result.get("error") or result.get("traceback"))
            if has_message:
                layout.addWidget(self._heading(_("Message"), self.text))
                layout.addWidget(self.text, 1)
            else:
                self.text.hide()  # it would only say "No message."
            self.warningsText = self._text_box("resultWarningsText", _("Warnings"))
            self.warningsText.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
            self.warningsText.setPlainText("\n".join(self.warnings))
            layout.addWidget(
                self._heading(
                    _("Warnings ({count})").format(count=len(self.warnings)), self.warningsText
                )
            )
            layout.addWidget(self.warningsText, 1)
        else:
            layout.addWidget(self.text, 1)
        layout.addWidget(buttons)

    def _selectable(self, text: str) -> QLabel:
        label = QLabel(text, self)
        label.setWordWrap(True)
        label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        return label

    def _text_box(self, name: str, accessible: str) -> QPlainTextEdit:
        box = QPlainTextEdit(self)
        box.setObjectName(name)
        box.setReadOnly(True)
        box.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        box.setAccessibleName(accessible)
        return box

    def _heading(self, text: str, buddy: QWidget) -> QLabel:
        label = QLabel(text, self)
        font = QFont(label.font())
        font.setBold(True)
        label.setFont(font)
        label.setBuddy(buddy)
        return label

    def details_text(self) -> str:
        r = self.result
        parts = [r.get("error") or _("No message.")]
        if r.get("traceback"):
            parts += ["", r["traceback"].rstrip()]
        return "\n".join(parts)

    def copy_to_clipboard(self) -> None:
        r = self.result
        head = f"{r['source']}\n{r['status']}"
        text = f"{head}\n\n{self.details_text()}\n"
        if self.warnings:
            text += "\nWarnings:\n" + "".join(f"- {w}\n" for w in self.warnings)
        QGuiApplication.clipboard().setText(text)


def encoding_rows(result: dict[str, Any]) -> list[tuple[str, str]]:
    """(label, text) rows for what was chosen per image: format, quality, SSIMULACRA2
    score, or that the original was kept; none for a fixed encoding."""
    if result.get("kept_original"):
        return [
            (
                _("Kept original:"),
                _("Yes: the converted file was not smaller, so the source's own file was copied"),
            )
        ]
    rows = []
    if result.get("format"):
        rows.append((_("Format:"), format_label(result["format"])))
    if result.get("quality") is not None:
        rows.append((_("Quality:"), str(result["quality"])))
    elif result.get("score") is not None:
        rows.append((_("Quality:"), _("Lossless")))
    if result.get("score") is not None:
        rows.append(
            (_("Score:"), _("{score} (SSIMULACRA2)").format(score=f"{result['score']:.1f}"))
        )
    return rows
