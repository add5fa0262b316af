"""An inline, non-modal message strip (nothing found, a bad setting, a saved preset, an
interrupted batch to resume...), optionally with buttons that act on what it says."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from PySide6.QtCore import Qt, QTimer, Slot
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QStyle,
    QToolButton,
    QWidget,
)

from pixmill.engine.i18n import _

INFO, WARNING = "info", "warning"

#: A button on a message: its text, its objectName and what a click does.
Action = tuple[str, str, Callable[[], object]]


class MessageBar(QFrame):
    """Shows one message with an icon, optional action buttons and a close button;
    information fades after a while, warnings and messages with buttons stay until closed or
    replaced. A click on an action button dismisses the message, then runs the action.

    Attributes:
        actionButtons: the QPushButtons of the message shown (empty without actions).

    Signals: none.
    """

    INFO_MS = 8000

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("messageBar")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setAutoFillBackground(True)
        self.icon = QLabel(self)
        self.label = QLabel(self)
        self.label.setObjectName("messageText")
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        close = QToolButton(self)
        close.setAutoRaise(True)
        close.setIcon(self.style().standardIcon(QStyle.StandardPixmap.SP_TitleBarCloseButton))
        close.setAccessibleName(_("Dismiss message"))
        close.setToolTip(_("Dismiss"))
        close.clicked.connect(self.dismiss)
        self.actionButtons: list[QPushButton] = []
        self._actions = QHBoxLayout()
        self._actions.setContentsMargins(0, 0, 0, 0)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 4, 4, 4)
        layout.addWidget(self.icon, 0, Qt.AlignmentFlag.AlignTop)
        layout.addWidget(self.label, 1)
        layout.addLayout(self._actions)
        layout.addWidget(close, 0, Qt.AlignmentFlag.AlignTop)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self.dismiss)
        self.hide()

    def text(self) -> str:
        return self.label.text() if self.isVisibleTo(self.parentWidget()) else ""

    def show_message(self, text: str, kind: str = INFO, actions: Sequence[Action] = ()) -> None:
        """Show text (replacing any message and its buttons), with a button per action."""
        pixmap = (
            QStyle.StandardPixmap.SP_MessageBoxWarning
            if kind == WARNING
            else QStyle.StandardPixmap.SP_MessageBoxInformation
        )
        size = self.fontMetrics().height() + 4
        self.icon.setPixmap(self.style().standardIcon(pixmap).pixmap(size, size))
        self.label.setText(text)
        self.setAccessibleName(
            _("Warning: {message}").format(message=text) if kind == WARNING else text
        )
        self._set_actions(actions)
        self.show()
        if kind == WARNING or actions:
            self._timer.stop()
        else:
            self._timer.start(self.INFO_MS)

    def _set_actions(self, actions: Sequence[Action]) -> None:
        self._clear_actions()
        for text, name, callback in actions:
            button = QPushButton(text, self)
            button.setObjectName(name)
            button.clicked.connect(lambda _=False, act=callback: self._act(act))
            self._actions.addWidget(button, 0, Qt.AlignmentFlag.AlignVCenter)
            self.actionButtons.append(button)

    def _clear_actions(self) -> None:
        for button in self.actionButtons:
            self._actions.removeWidget(button)
            button.hide()
            button.setObjectName("")  # gone for findChild() too, before Qt deletes it
            button.deleteLater()  # not now: it may be the button being clicked
        self.actionButtons = []

    def _act(self, action: Callable[[], object]) -> None:
        self.dismiss()
        action()

    @Slot()
    def dismiss(self) -> None:
        self._timer.stop()
        self._clear_actions()
        self.hide()
