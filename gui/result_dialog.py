"""The details of one result: paths, status, the full message and the worker's traceback."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QFontDatabase, QGuiApplication
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from . import formatting
from .results import STATUS_WORDS


class ResultDialog(QDialog):
    """Shows one engine result dict; "Copy" puts the whole text on the clipboard."""

    def __init__(self, result: dict[str, Any], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("resultDialog")
        self.result = result
        status = STATUS_WORDS.get(result["status"], result["status"])
        self.setWindowTitle(f"{status}: {result['source']}")
        self.resize(720, 440)

        form = QFormLayout()
        form.addRow("Source:", self._selectable(result["source"]))
        if result.get("target"):
            form.addRow("Output:", self._selectable(result["target"]))
        form.addRow("Status:", self._selectable(status))
        details = [
            formatting.size_change(result),
            formatting.dimensions(result),
            formatting.milliseconds(result.get("ms")),
        ]
        if any(details):
            form.addRow("Details:", self._selectable(formatting.SEP.join(d for d in details if d)))

        self.text = QPlainTextEdit(self)
        self.text.setObjectName("resultDetailsText")
        self.text.setReadOnly(True)
        self.text.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.text.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.text.setPlainText(self.details_text())
        self.text.setAccessibleName("Message and traceback")

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        copy = buttons.addButton("Copy", QDialogButtonBox.ButtonRole.ActionRole)
        copy.setToolTip("Copy the message and traceback to the clipboard")
        copy.clicked.connect(self.copy_to_clipboard)
        buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.text, 1)
        layout.addWidget(buttons)

    def _selectable(self, text: str) -> QLabel:
        label = QLabel(text, self)
        label.setWordWrap(True)
        label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        return label

    def details_text(self) -> str:
        r = self.result
        parts = [r.get("error") or "No message."]
        if r.get("traceback"):
            parts += ["", r["traceback"].rstrip()]
        return "\n".join(parts)

    def copy_to_clipboard(self) -> None:
        r = self.result
        head = f"{r['source']}\n{r['status']}"
        QGuiApplication.clipboard().setText(f"{head}\n\n{self.details_text()}\n")
