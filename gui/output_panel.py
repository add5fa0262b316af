"""Where outputs go (a chosen folder, or a subfolder next to each source), whether only new or
changed sources are converted, how many worker processes convert in parallel, and the
Estimate button with what it found."""

from __future__ import annotations

import os

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QFileDialog,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QSizePolicy,
    QSpinBox,
    QWidget,
)

from pixmill.engine.i18n import _, ngettext, pgettext
from pixmill.engine.plan import DEFAULT_SUBFOLDER
from pixmill.engine.pool import default_workers


class OutputPanel(QGroupBox):
    """Output folder choice, "Only new or changed files", the "Parallel workers" pool size
    (1 to 2 x CPU count), and "Estimate" (the main window connects its clicked signal and
    shows the outcome with show_estimate).

    Signals:
        changed(object): None; the destination changed (the pool size is read at Start).
    """

    changed = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(pgettext("group", "Output"), parent)
        self.cpus = default_workers()
        self._last_dir = os.path.expanduser("~")

        self.nextToSourceRadio = QRadioButton(
            _("A “{folder}” subfolder next to each source").format(folder=DEFAULT_SUBFOLDER)
        )
        self.nextToSourceRadio.setObjectName("nextToSourceRadio")
        self.folderRadio = QRadioButton(_("&This folder:"))
        self.folderRadio.setObjectName("folderRadio")
        group = QButtonGroup(self)
        group.addButton(self.nextToSourceRadio)
        group.addButton(self.folderRadio)

        self.outputDirEdit = QLineEdit(self)
        self.outputDirEdit.setObjectName("outputDirEdit")
        self.outputDirEdit.setAccessibleName(_("Output folder"))
        self.outputDirEdit.setPlaceholderText(_("Choose a folder…"))
        self.outputDirEdit.setClearButtonEnabled(True)
        self.browseButton = QPushButton(_("&Browse…"), self)
        self.browseButton.setObjectName("browseOutputButton")
        self.browseButton.setAccessibleName(_("Browse for the output folder"))
        self.browseButton.clicked.connect(self.ask_folder)

        self.updateCheck = QCheckBox(_("Only new or changed files"), self)
        self.updateCheck.setObjectName("updateCheck")
        self.updateCheck.setToolTip(
            _(
                "Convert only the sources that are new, or changed since this recipe last wrote "
                "their output into this folder. The others are skipped as up to date."
            )
        )

        self.poolSizeSpin = QSpinBox(self)
        self.poolSizeSpin.setObjectName("poolSizeSpin")
        self.poolSizeSpin.setAccessibleName(_("Parallel workers"))
        self.poolSizeSpin.setRange(1, 2 * self.cpus)
        self.poolSizeSpin.setValue(self.cpus)
        self.poolSizeSpin.setToolTip(
            _("How many images are converted at the same time. Changes apply at the next Start.")
        )
        pool_label = QLabel(_("Parallel &workers:"), self)
        pool_label.setBuddy(self.poolSizeSpin)
        cpu_hint = QLabel(
            ngettext("({count} CPU)", "({count} CPUs)", self.cpus).format(count=self.cpus), self
        )

        self.estimateButton = QPushButton(_("E&stimate"), self)
        self.estimateButton.setObjectName("estimateButton")
        self.estimateButton.setAccessibleName(_("Estimate the output size and time"))
        self.estimateButton.setToolTip(
            _(
                "Convert a small sample of the queued images with this recipe (into a temporary "
                "folder) and tell how large the outputs will be and how long the batch will take"
            )
        )
        self.estimateLabel = QLabel(self)
        self.estimateLabel.setObjectName("estimateLabel")
        self.estimateLabel.setAccessibleName(pgettext("noun", "Estimate"))
        self.estimateLabel.setWordWrap(True)
        self.estimateLabel.setTextFormat(Qt.TextFormat.PlainText)
        self.estimateLabel.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.estimateLabel.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)

        folder_row = QHBoxLayout()
        folder_row.addWidget(self.folderRadio)
        folder_row.addWidget(self.outputDirEdit, 1)
        folder_row.addWidget(self.browseButton)
        pool_row = QHBoxLayout()  # one row with "only new": the window must fit 1280x720
        pool_row.addWidget(self.updateCheck)
        pool_row.addStretch(1)
        pool_row.addWidget(pool_label)
        pool_row.addWidget(self.poolSizeSpin)
        pool_row.addWidget(cpu_hint)
        grid = QGridLayout(self)
        grid.setVerticalSpacing(4)
        grid.addWidget(self.nextToSourceRadio, 0, 0)
        grid.addLayout(folder_row, 1, 0)
        grid.addLayout(pool_row, 2, 0)
        estimate_row = QHBoxLayout()
        estimate_row.addWidget(self.estimateButton, 0, Qt.AlignmentFlag.AlignTop)
        estimate_row.addWidget(self.estimateLabel, 1)
        grid.addLayout(estimate_row, 3, 0)

        self.nextToSourceRadio.toggled.connect(self._mode_changed)
        self.outputDirEdit.textChanged.connect(self._emit)
        self.nextToSourceRadio.setChecked(True)

    # --- values ----------------------------------------------------------------------------
    def output_dir(self) -> str | None:
        """The chosen folder (absolute), or None for "a subfolder next to each source"."""
        if self.nextToSourceRadio.isChecked():
            return None
        text = self.outputDirEdit.text().strip()
        return os.path.abspath(os.path.expanduser(text)) if text else ""

    def folder_text(self) -> str:
        return self.outputDirEdit.text().strip()

    def set_output(self, folder: str, next_to_source: bool) -> None:
        self.outputDirEdit.setText(folder)
        if folder:
            self._last_dir = folder
        (self.nextToSourceRadio if next_to_source else self.folderRadio).setChecked(True)
        self._mode_changed()

    def problem(self) -> str | None:
        """Why the destination cannot be used yet, or None."""
        folder = self.output_dir()
        if folder == "":
            return _("Choose an output folder, or pick “next to each source”.")
        if folder and os.path.exists(folder) and not os.path.isdir(folder):
            return _("The output “{folder}” is a file, not a folder.").format(folder=folder)
        return None

    def update_only(self) -> bool:
        """Whether up-to-date sources are skipped ("Only new or changed files")."""
        return self.updateCheck.isChecked()

    def set_update_only(self, on: bool) -> None:
        self.updateCheck.setChecked(on)

    def workers(self) -> int:
        return self.poolSizeSpin.value()

    def set_workers(self, n: int) -> None:
        self.poolSizeSpin.setValue(max(1, min(n, self.poolSizeSpin.maximum())))

    def show_estimate(self, text: str) -> None:
        """What the last estimate found (or why there is none, or that one is running)."""
        self.estimateLabel.setText(text)
        self.estimateLabel.setToolTip(text)

    @Slot()
    def clear_estimate(self) -> None:
        """Forget an estimate the settings no longer match."""
        self.show_estimate("")

    def set_start_dir(self, folder: str) -> None:
        """Where the folder picker opens when nothing is chosen yet."""
        self._last_dir = folder

    # --- behaviour -------------------------------------------------------------------------
    @Slot()
    def ask_folder(self) -> None:
        start = self.folder_text() or self._last_dir
        folder = QFileDialog.getExistingDirectory(self, _("Output folder"), start)
        if folder:
            self.set_output(folder, next_to_source=False)

    @Slot()
    def _mode_changed(self) -> None:
        folder_mode = self.folderRadio.isChecked()
        self.outputDirEdit.setEnabled(folder_mode)
        self.browseButton.setEnabled(True)
        self._emit()

    def _emit(self) -> None:
        self.clear_estimate()
        self.changed.emit(None)
