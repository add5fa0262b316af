"""The "Names and folders" rows of the recipe form: the naming template with a live example,
the conflict policy, folder-tree and subfolder handling, and file dates."""

from __future__ import annotations

import os
import time
from functools import lru_cache

from PySide6.QtCore import QObject, Qt, Signal, Slot
from PySide6.QtGui import QAction, QColor, QPalette
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMenu,
    QPushButton,
    QWidget,
)

from pixmill.engine.formats import output_format
from pixmill.engine.geometry import target_geometry
from pixmill.engine.i18n import N_, _, pgettext
from pixmill.engine.job import Source
from pixmill.engine.naming import render_name, uses_size
from pixmill.engine.recipe import CONFLICT_POLICIES, NAME_TOKENS, Recipe, RecipeError, Resize

CONFLICT_LABELS = {
    "rename": N_("Add a number (photo-1.jpg)"),
    "skip": N_("Skip the file"),
    "overwrite": N_("Overwrite the existing file"),
}
TOKEN_HELP = {
    "stem": N_("file name without extension"),
    "ext": N_("original extension"),
    "width": N_("output width"),
    "height": N_("output height"),
    "index": N_("position in the batch"),
    "parent": N_("name of the folder it is in"),
    "date": N_("modification date"),
}
SAMPLE_SOURCE = "IMG_0042.jpg"
ERROR_LIGHT, ERROR_DARK = "#c62828", "#ff8a80"
SAMPLE_SIZE = (4000, 3000)


@lru_cache(maxsize=64)
def _probe(path: str, resize: Resize, auto_orient: bool, mtime: float) -> tuple[int, int]:
    from pixmill.engine.geometry import probe_output_size  # loads Pillow: only for {width}

    return probe_output_size(path, Recipe(resize=resize, auto_orient=auto_orient))


def example_name(recipe: Recipe, path: str | None) -> str:
    """'IMG_0042.jpg → IMG_0042_2048px.webp' for the first queued image (or a sample)."""
    mtime = time.time()
    if path:
        try:
            mtime = os.stat(path).st_mtime
        except OSError:
            path = None
    source = Source(path or os.path.join("photos", SAMPLE_SOURCE), None, 0, mtime)
    template = recipe.name_template
    size = (0, 0)
    if uses_size(template):
        if path:
            size = _probe(path, recipe.resize, recipe.auto_orient, mtime)
        if size == (0, 0):
            size = target_geometry(*SAMPLE_SIZE, recipe.resize)[:2]
    name = render_name(recipe, source, 1, size)
    _stem, ext = output_format(recipe.format, source.path)
    return f"{os.path.basename(source.path)} → {name}{ext}"


class NamingEditor(QObject):
    """Naming template (with a token menu and a live example), conflict policy, folder tree,
    subfolders and dates.

    Signals:
        changed(object): None; any field was edited.
    """

    changed = Signal(object)

    def __init__(self, form: QFormLayout, parent: QObject | None = None) -> None:
        """Adds its rows to `form`."""
        super().__init__(parent)
        self.templateEdit = QLineEdit()
        self.templateEdit.setObjectName("nameTemplateEdit")
        self.templateEdit.setAccessibleName(_("File name template"))
        self.templateEdit.setPlaceholderText("{stem}")
        self.templateEdit.setToolTip(
            _("Tokens: {tokens}").format(
                tokens=pgettext("list separator", ", ").join(
                    f"{{{t}}} {_(TOKEN_HELP[t]) if t in TOKEN_HELP else ''}" for t in NAME_TOKENS
                )
            )
        )
        self.tokenButton = QPushButton(_("Tokens"))
        self.tokenButton.setObjectName("tokenButton")
        self.tokenButton.setAccessibleName(_("Insert a name token"))
        self.tokenButton.setToolTip(
            _("Insert a token such as {token} into the name").format(token="{width}")
        )
        menu = QMenu(self.tokenButton)
        for token in NAME_TOKENS:
            action = menu.addAction(
                f"{{{token}}}  {_(TOKEN_HELP[token]) if token in TOKEN_HELP else ''}"
            )
            action.setData("{" + token + "}")
        menu.triggered.connect(self._insert_token)
        self.tokenButton.setMenu(menu)
        row = QWidget()
        box = QHBoxLayout(row)
        box.setContentsMargins(0, 0, 0, 0)
        box.addWidget(self.templateEdit, 1)
        box.addWidget(self.tokenButton)

        self.exampleLabel = QLabel()
        self.exampleLabel.setObjectName("namingExample")
        self.exampleLabel.setAccessibleName(_("Example of the resulting file name"))
        self.exampleLabel.setTextFormat(Qt.TextFormat.PlainText)
        self.exampleLabel.setWordWrap(True)
        self._normal_palette = QPalette(self.exampleLabel.palette())

        self.conflictCombo = QComboBox()
        self.conflictCombo.setObjectName("conflictCombo")
        self.conflictCombo.setAccessibleName(_("When the output file exists"))
        for policy in CONFLICT_POLICIES:
            self.conflictCombo.addItem(_(CONFLICT_LABELS.get(policy, policy)), policy)

        self.preserveTreeCheck = QCheckBox(_("Recreate subfolders"))
        self.preserveTreeCheck.setObjectName("preserveTreeCheck")
        self.preserveTreeCheck.setToolTip(
            _("Mirror each source folder's subfolders in the output folder")
        )
        self.recursiveCheck = QCheckBox(_("Look inside subfolders"))
        self.recursiveCheck.setObjectName("recursiveCheck")
        self.recursiveCheck.setToolTip(_("Also convert images in the subfolders of each folder"))
        self.keepDatesCheck = QCheckBox(_("Keep modification dates"))
        self.keepDatesCheck.setObjectName("keepDatesCheck")
        self.keepDatesCheck.setToolTip(_("Give each output its source's modification time"))
        checks = QWidget()
        checks_row = QHBoxLayout(checks)
        checks_row.setContentsMargins(0, 0, 0, 0)
        checks_row.addWidget(self.recursiveCheck)
        checks_row.addWidget(self.preserveTreeCheck)
        checks_row.addStretch(1)

        label = QLabel(_("&Name:"))
        label.setBuddy(self.templateEdit)
        form.addRow(label, row)
        form.addRow(_("Example:"), self.exampleLabel)
        form.addRow(_("If it e&xists:"), self.conflictCombo)
        form.addRow(_("Folders:"), checks)
        form.addRow("", self.keepDatesCheck)

        self.templateEdit.textChanged.connect(self._emit)
        self.conflictCombo.currentIndexChanged.connect(self._emit)
        for check in (self.preserveTreeCheck, self.recursiveCheck, self.keepDatesCheck):
            check.toggled.connect(self._emit)

    def values(self) -> dict[str, object]:
        """The recipe fields this section edits."""
        return {
            "name_template": self.templateEdit.text().strip() or "{stem}",
            "on_conflict": self.conflictCombo.currentData(),
            "preserve_tree": self.preserveTreeCheck.isChecked(),
            "recursive": self.recursiveCheck.isChecked(),
            "keep_dates": self.keepDatesCheck.isChecked(),
        }

    def set_values(self, recipe: Recipe) -> None:
        self.templateEdit.setText(recipe.name_template)
        self.conflictCombo.setCurrentIndex(max(0, self.conflictCombo.findData(recipe.on_conflict)))
        self.preserveTreeCheck.setChecked(recipe.preserve_tree)
        self.recursiveCheck.setChecked(recipe.recursive)
        self.keepDatesCheck.setChecked(recipe.keep_dates)

    def show_example(
        self, recipe: Recipe | None, error: RecipeError | None, path: str | None
    ) -> None:
        """The live example, or the reason the template cannot be used."""
        palette = QPalette(self._normal_palette)
        if recipe is not None:
            text = example_name(recipe, path)
        else:
            text = f"⚠ {error}"
            dark = palette.color(QPalette.ColorRole.Window).lightness() < 128
            palette.setColor(
                QPalette.ColorRole.WindowText, QColor(ERROR_DARK if dark else ERROR_LIGHT)
            )
        self.exampleLabel.setPalette(palette)
        self.exampleLabel.setText(text)

    @Slot(QAction)
    def _insert_token(self, action: QAction) -> None:
        self.templateEdit.insert(action.data())
        self.templateEdit.setFocus()

    def _emit(self) -> None:
        self.changed.emit(None)
