"""The Preferences' cluster rows: the Dask scheduler the window's batches run on (empty: this
computer's own worker pool), the path maps from this computer's folders to the workers', and
"Test connection", which runs the engine's pre-flight check (engine.cluster.check) on a
background thread. The engine does the work; these rows only collect the two settings.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QObject, Slot
from PySide6.QtWidgets import QFormLayout, QLabel, QLineEdit, QPlainTextEdit, QPushButton, QWidget

from pixmill.engine.i18n import _

from .bridge import BackgroundTask


def path_maps(text: str) -> list[str]:
    """The LOCAL=REMOTE lines of the path-map field, blank lines dropped."""
    return [line.strip() for line in text.splitlines() if line.strip()]


def test_connection(address: str, maps: Sequence[str]) -> tuple[bool, str]:
    """(ok, what to show) for the cluster at address: the engine's check on every worker
    (background thread; blocks for up to about ten seconds)."""
    from pixmill.engine.cluster import ClusterError, check, parse_path_map

    try:
        parsed = [parse_path_map(m) for m in maps]
    except ClusterError as exc:
        return False, str(exc)
    result = check(address, parsed)
    return result.ok, result.message


class ClusterRows(QObject):
    """The rows, added to a Preferences form.

    Attributes (widgets of parent):
        clusterAddressEdit: tcp://HOST:PORT of a Dask scheduler, or empty.
        clusterPathMapsEdit: one LOCAL=REMOTE per line.
        clusterTestButton: runs the check; clusterTestLabel says how it went.
    """

    def __init__(self, form: QFormLayout, parent: QWidget) -> None:
        super().__init__(parent)
        self.address = QLineEdit(parent)
        self.address.setObjectName("clusterAddressEdit")
        self.address.setPlaceholderText(_("empty: this computer (tcp://HOST:PORT for Dask)"))
        self.address.setToolTip(
            _(
                "The address of a Dask scheduler whose workers convert the batches, as "
                "`pixmill convert --cluster` takes it. Empty: this computer's own workers."
            )
        )
        self.maps = QPlainTextEdit(parent)
        self.maps.setObjectName("clusterPathMapsEdit")
        self.maps.setPlaceholderText(_("/home/me/photos=/mnt/photos (one per line)"))
        self.maps.setFixedHeight(self.maps.fontMetrics().lineSpacing() * 3 + 12)
        self.maps.setToolTip(
            _(
                "Where the workers see this computer's folders: LOCAL=REMOTE, one per line "
                "(as --path-map)."
            )
        )
        self.button = QPushButton(_("Test connection"), parent)
        self.button.setObjectName("clusterTestButton")
        self.result = QLabel(parent)
        self.result.setObjectName("clusterTestLabel")
        self.result.setWordWrap(True)
        form.addRow(_("Dask scheduler:"), self.address)
        form.addRow(_("Path maps:"), self.maps)
        form.addRow(self.button, self.result)
        self.button.clicked.connect(self.test)
        self.address.textChanged.connect(self._changed)
        self._task: BackgroundTask | None = None
        self._changed()

    def set_values(self, address: str, maps: Sequence[str]) -> None:
        self.address.setText(address)
        self.maps.setPlainText("\n".join(maps))

    def values(self) -> tuple[str, list[str]]:
        return self.address.text().strip(), path_maps(self.maps.toPlainText())

    @Slot()
    def _changed(self) -> None:
        self.button.setEnabled(bool(self.address.text().strip()) and self._task is None)

    @Slot()
    def test(self) -> None:
        """Check the cluster now (the result comes back in clusterTestLabel)."""
        address, maps = self.values()
        if not address or self._task is not None:
            return
        self.result.setText(_("Connecting to {address}…").format(address=address))
        task = BackgroundTask(lambda cancelled: test_connection(address, maps), "cluster-test")
        task.finished.connect(self._tested)
        task.failed.connect(lambda exc: self._tested((False, f"{type(exc).__name__}: {exc}")))
        self._task = task
        self._changed()
        task.start()

    @Slot(object)
    def _tested(self, outcome: tuple[bool, str]) -> None:
        ok, message = outcome
        self._task = None
        self._changed()
        mark = "✓" if ok else "✗"
        self.result.setText(f"{mark} {message}")
