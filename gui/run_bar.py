"""Start, Pause/Resume and Cancel, and the overall progress bar
("done / total · files/s · ETA")."""

from __future__ import annotations

from PySide6.QtWidgets import QHBoxLayout, QProgressBar, QPushButton, QStyle, QWidget

from pixmill.engine.events import Progress
from pixmill.engine.i18n import _, pgettext

from . import formatting
from .batch import CANCELLING, IDLE, PAUSED, PREPARING, RUNNING


class RunBar(QWidget):
    """The batch controls. The main window connects the buttons' clicked signals.

    Signals: none of its own.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        style = self.style()
        self.startButton = QPushButton(
            style.standardIcon(QStyle.StandardPixmap.SP_MediaPlay), pgettext("button", "Start")
        )
        self.startButton.setObjectName("startButton")
        self.startButton.setAccessibleName(_("Start converting"))
        self.startButton.setToolTip(_("Convert every queued image (Ctrl+Return)"))
        self.startButton.setDefault(True)
        self.pauseButton = QPushButton(
            style.standardIcon(QStyle.StandardPixmap.SP_MediaPause), _("Pause")
        )
        self.pauseButton.setObjectName("pauseButton")
        self.pauseButton.setAccessibleName(_("Pause"))
        self.pauseButton.setToolTip(_("Stop starting new files; running ones finish (Ctrl+P)"))
        self.cancelButton = QPushButton(
            style.standardIcon(QStyle.StandardPixmap.SP_MediaStop), pgettext("button", "Cancel")
        )
        self.cancelButton.setObjectName("cancelButton")
        self.cancelButton.setAccessibleName(_("Cancel the batch"))
        self.cancelButton.setToolTip(_("Stop now; no half-written file is left behind (Esc)"))
        width = max(b.sizeHint().width() for b in (self.startButton, self.pauseButton))
        for b in (self.startButton, self.pauseButton, self.cancelButton):
            b.setMinimumWidth(width + 12)

        self.progressBar = QProgressBar(self)
        self.progressBar.setObjectName("progressBar")
        self.progressBar.setAccessibleName(_("Overall progress"))
        self.progressBar.setTextVisible(True)
        self.reset()

        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.startButton)
        layout.addWidget(self.pauseButton)
        layout.addWidget(self.cancelButton)
        layout.addSpacing(8)
        layout.addWidget(self.progressBar, 1)
        self.set_state(IDLE, can_start=False)

    def set_state(self, state: str, can_start: bool = True) -> None:
        busy = state != IDLE
        self.startButton.setEnabled(not busy and can_start)
        # A Start that does not work says why (tooltips show on disabled buttons too).
        if busy:
            why = _("A batch is being prepared or run: wait for it, or Cancel (Escape)")
        elif not can_start:
            why = _("Add folders or images first: drop them on the window, or press Ctrl+O")
        else:
            why = _("Convert every queued image (Ctrl+Return)")
        self.startButton.setToolTip(why)
        self.pauseButton.setEnabled(state in (RUNNING, PAUSED))
        self.cancelButton.setEnabled(state in (PREPARING, RUNNING, PAUSED))
        paused = state == PAUSED
        style = self.style()
        icon = QStyle.StandardPixmap.SP_MediaPlay if paused else QStyle.StandardPixmap.SP_MediaPause
        self.pauseButton.setIcon(style.standardIcon(icon))
        self.pauseButton.setText(_("Resume") if paused else _("Pause"))
        self.pauseButton.setAccessibleName(_("Resume") if paused else _("Pause"))
        if state == PREPARING:
            self.progressBar.setRange(0, 0)
        elif self.progressBar.maximum() == 0:
            self.progressBar.setRange(0, 1)
        if state == CANCELLING:
            self.progressBar.setFormat(_("Cancelling…"))

    def reset(self, text: str | None = None) -> None:
        """An empty bar saying text (by default, that it is ready)."""
        self.progressBar.setRange(0, 1)
        self.progressBar.setValue(0)
        self.progressBar.setFormat(_("Ready") if text is None else text)

    def show_progress(self, p: Progress) -> None:
        self.progressBar.setRange(0, max(1, p.total))
        self.progressBar.setValue(p.done)
        self.progressBar.setFormat(formatting.progress_text(p))

    def show_done(self, text: str) -> None:
        self.progressBar.setRange(0, 1)
        self.progressBar.setValue(1)
        self.progressBar.setFormat(text)
