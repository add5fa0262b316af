"""The Preferences dialog: settings of the application rather than of a recipe (the megapixel
safety limit, light or dark), one group of form rows per subject."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QLabel,
    QSizePolicy,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from pixmill.engine.i18n import N_, _, available_languages

from .cluster_settings import ClusterRows
from .formatting import latin_char_width
from .settings import MAX_MEGAPIXELS_LIMIT, Preferences
from .theme import SCHEMES

NO_LIMIT = N_("No limit")


class PreferencesDialog(QDialog):
    """Edits a Preferences record; OK hands the edited one over, Cancel forgets the edits.

    A new preference is a field of settings.Preferences, a row added in __init__ (to an
    existing group or a new self._group(...)), and one line each in set_preferences() and
    preferences().

    Attributes:
        maxMegapixelsSpin: the largest picture, in megapixels, a file may decode to (0: none).
        colorSchemeCombo: light, dark, or as the system says.
        languageCombo: the language at the next start ("" data: the system's).
        cluster: the Dask scheduler and path maps (cluster_settings.ClusterRows: the
            clusterAddressEdit, clusterPathMapsEdit and clusterTestButton widgets).

    Signals:
        preferencesChosen(object): settings.Preferences, when OK is pressed.
    """

    preferencesChosen = Signal(object)

    def __init__(self, preferences: Preferences, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("preferencesDialog")
        self.setWindowTitle(_("Preferences"))
        self._layout = QVBoxLayout(self)
        # Wide enough for the notes under the fields to wrap into a few lines, not a column.
        self.setMinimumWidth(latin_char_width(self.fontMetrics()) * 84)

        form = self._group(_("Safety"))
        self.maxMegapixelsSpin = QSpinBox(self)
        self.maxMegapixelsSpin.setObjectName("maxMegapixelsSpin")
        self.maxMegapixelsSpin.setAccessibleName(_("Largest picture in megapixels"))
        self.maxMegapixelsSpin.setRange(0, MAX_MEGAPIXELS_LIMIT)
        self.maxMegapixelsSpin.setSingleStep(50)
        self.maxMegapixelsSpin.setSuffix(_(" megapixels"))
        self.maxMegapixelsSpin.setSpecialValueText(_(NO_LIMIT))  # shown for 0, the minimum
        self.maxMegapixelsSpin.setGroupSeparatorShown(True)
        self.maxMegapixelsSpin.setToolTip(
            _(
                "Files that would decode to more pixels are refused before they are decoded; "
                "0 means no limit"
            )
        )
        self._add_row(
            form,
            _("&Largest picture:"),
            self.maxMegapixelsSpin,
            _(
                "Larger pictures fail with a clear message instead of filling the memory (a "
                "“decompression bomb” is a small file that unpacks to billions of pixels). "
                "The default, {megapixels} megapixels, needs about 2 GB for "
                "a 16-bit picture with transparency. Applies from the next Start."
            ).format(megapixels=f"{Preferences().max_megapixels:g}"),
        )

        form = self._group(_("Appearance"))
        self.colorSchemeCombo = QComboBox(self)
        self.colorSchemeCombo.setObjectName("colorSchemeCombo")
        self.colorSchemeCombo.setAccessibleName(_("Colours"))
        for key, label in SCHEMES.items():
            self.colorSchemeCombo.addItem(_(label), key)
        self._add_row(
            form,
            _("&Colours:"),
            self.colorSchemeCombo,
            _("Light or dark; “Follow the system” switches with the desktop. Applies at once."),
        )

        self.languageCombo = QComboBox(self)
        self.languageCombo.setObjectName("languageCombo")
        self.languageCombo.setAccessibleName(_("Language"))
        self.languageCombo.addItem(_("System default"), "")
        for code, name in available_languages():
            self.languageCombo.addItem(name, code)
        self._add_row(
            form,
            _("&Language:"),
            self.languageCombo,
            _("Applies the next time Pixmill starts."),
        )

        self.cluster = ClusterRows(self._group(_("Cluster")), self)

        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok
            | QDialogButtonBox.StandardButton.Cancel
            | QDialogButtonBox.StandardButton.RestoreDefaults,
            self,
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        defaults = buttons.button(QDialogButtonBox.StandardButton.RestoreDefaults)
        defaults.setToolTip(_("Put every preference back to Pixmill's default"))
        defaults.clicked.connect(self.restore_defaults)
        self._layout.addStretch(1)
        self._layout.addSpacing(self.fontMetrics().height() // 2)
        self._layout.addWidget(buttons)
        self.set_preferences(preferences)

    def _group(self, title: str) -> QFormLayout:
        group = QGroupBox(title, self)
        form = QFormLayout(group)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.ExpandingFieldsGrow)
        self._layout.addWidget(group)
        return form

    def _add_row(self, form: QFormLayout, label: str, field: QWidget, help_text: str) -> None:
        """A labelled field with a line or two of explanation under it."""
        buddy = QLabel(label, self)
        buddy.setBuddy(field)
        form.addRow(buddy, field)
        note = QLabel(help_text, self)
        note.setWordWrap(True)
        # Across the whole field column: a short note would otherwise wrap into a narrow block.
        note.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        form.addRow("", note)

    # --- values ----------------------------------------------------------------------------
    def set_preferences(self, preferences: Preferences) -> None:
        index = self.languageCombo.findData(preferences.language)
        if index < 0:  # a language whose catalogue is gone: keep it, under its code
            self.languageCombo.addItem(preferences.language, preferences.language)
            index = self.languageCombo.count() - 1
        self.languageCombo.setCurrentIndex(index)
        mp = preferences.max_megapixels
        # Whole megapixels; a small limit (from a hand-edited file) must not round to "none".
        self.maxMegapixelsSpin.setValue(max(1, round(mp)) if mp > 0 else 0)
        self.colorSchemeCombo.setCurrentIndex(
            max(0, self.colorSchemeCombo.findData(preferences.color_scheme))
        )
        self.cluster.set_values(preferences.cluster_address, preferences.cluster_path_maps)

    def preferences(self) -> Preferences:
        """What the fields say."""
        return Preferences(
            max_megapixels=float(self.maxMegapixelsSpin.value()),
            color_scheme=self.colorSchemeCombo.currentData(),
            language=self.languageCombo.currentData() or "",
            cluster_address=self.cluster.values()[0],
            cluster_path_maps=tuple(self.cluster.values()[1]),
        )

    def restore_defaults(self) -> None:
        self.set_preferences(Preferences())

    def accept(self) -> None:
        self.preferencesChosen.emit(self.preferences())
        super().accept()
