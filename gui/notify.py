"""Tell the user a batch ended while they were looking at another window."""

from __future__ import annotations

from PySide6.QtWidgets import QApplication, QSystemTrayIcon, QWidget


class Notifier:
    """Flashes the window in the task bar and, where the desktop has a system tray, shows a
    tray message. Without a tray it quietly does only the former (no Qt warnings)."""

    TIMEOUT_MS = 10000

    def __init__(self, window: QWidget) -> None:
        self._window = window
        self._tray: QSystemTrayIcon | None = None
        self.last_message: tuple[str, str] | None = None

    def notify(self, title: str, message: str) -> bool:
        """Notify unless the window is active; returns whether anything was shown."""
        if self._window.isActiveWindow():
            return False
        self.last_message = (title, message)
        QApplication.alert(self._window)
        if not QSystemTrayIcon.isSystemTrayAvailable():
            return True
        if self._tray is None:
            self._tray = QSystemTrayIcon(self._window.windowIcon(), self._window)
            self._tray.setToolTip(QApplication.applicationDisplayName() or "Pixmill")
            self._tray.messageClicked.connect(self._raise_window)
            self._tray.activated.connect(self._raise_window)
        self._tray.show()
        if QSystemTrayIcon.supportsMessages():
            self._tray.showMessage(
                title, message, QSystemTrayIcon.MessageIcon.Information, self.TIMEOUT_MS
            )
        return True

    def _raise_window(self, *args: object) -> None:
        self._window.showNormal()
        self._window.raise_()
        self._window.activateWindow()

    def close(self) -> None:
        if self._tray is not None:
            self._tray.hide()
