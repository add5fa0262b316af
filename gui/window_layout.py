"""How the main window's parts are arranged, and the View menu that shows or hides them.

Top: the recipe, all of it visible at 1280x720 (three columns of sections). Below: the
message bar and the run bar, then the queued images (or the sources and output, a tab away)
beside the preview and the results (tabs). The window remembers every splitter and which
sections are shown.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QFrame, QScrollArea, QSplitter, QTabWidget, QVBoxLayout, QWidget

from pixmill.engine.i18n import N_, _

from .preview_view import PreviewPanel
from .queue_view import QueuePanel

#: A main_window.MainWindow (not imported: it imports this module).
MainWindow = Any

#: The window's smallest size: everything usable (the recipe then scrolls).
MIN_SIZE = (1024, 640)
#: The images list's width by default.
QUEUE_WIDTH = 400
#: Sections the View menu shows or hides: (key, menu text, shortcut).
SECTIONS = (
    ("recipe", N_("&Recipe"), "Ctrl+1"),
    ("sources", N_("&Images and Sources"), "Ctrl+2"),
)


def build(window: MainWindow) -> None:
    """Create the splitters and panels of window (its parts already exist)."""
    sources = QWidget()
    sources_box = QVBoxLayout(sources)
    sources_box.setContentsMargins(0, 2, 0, 0)
    sources_box.setSpacing(2)
    sources_box.addWidget(window.sources, 1)
    sources_box.addWidget(window.output)
    window.sources.list.setMinimumHeight(window.fontMetrics().height() * 2)
    scroll = QScrollArea()  # scrolls only below the size the window is made for
    scroll.setObjectName("sourcesScroll")
    scroll.setWidget(sources)
    scroll.setWidgetResizable(True)
    scroll.setFrameShape(QFrame.Shape.NoFrame)
    scroll.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # its fields take focus, not the frame
    window.queuePanel = QueuePanel(window.sources.queueView)
    window.sideTabs = QTabWidget()
    window.sideTabs.setObjectName("sideTabs")
    window.sideTabs.setDocumentMode(True)
    window.sideTabs.setAccessibleName(_("Images, or sources and output"))
    window.sideTabs.tabBar().setAccessibleName(_("Show the images, or the sources and output"))
    window.sideTabs.addTab(window.queuePanel, _("&Images"))
    window.sideTabs.addTab(scroll, _("Sources and &Output"))

    window.previewPanel = PreviewPanel()
    window.workTabs = QTabWidget()
    window.workTabs.setObjectName("workTabs")
    window.workTabs.setDocumentMode(True)
    window.workTabs.setAccessibleName(_("Preview or results"))
    window.workTabs.tabBar().setAccessibleName(_("Show the preview or the results"))
    window.workTabs.addTab(window.previewPanel, _("&Preview"))
    window.workTabs.addTab(window.results, _("Res&ults"))
    window.workSplitter = QSplitter(Qt.Orientation.Horizontal)
    window.workSplitter.setObjectName("workSplitter")
    side = QWidget()  # the counting indicator shows under whichever tab is open
    side_box = QVBoxLayout(side)
    side_box.setContentsMargins(0, 0, 0, 0)
    side_box.setSpacing(2)
    side_box.addWidget(window.sideTabs, 1)
    window.sources.layout().removeWidget(window.sources.scanRow)
    side_box.addWidget(window.sources.scanRow)
    window.workSplitter.addWidget(side)
    window.workSplitter.addWidget(window.workTabs)
    window.workSplitter.setStretchFactor(0, 0)
    window.workSplitter.setStretchFactor(1, 1)
    window.workSplitter.setChildrenCollapsible(False)

    bottom = QWidget()
    bottom_box = QVBoxLayout(bottom)
    bottom_box.setContentsMargins(0, 2, 0, 0)
    bottom_box.setSpacing(4)
    bottom_box.addWidget(window.messageBar)
    bottom_box.addWidget(window.runBar)
    bottom_box.addWidget(window.workSplitter, 1)
    window.mainSplitter = QSplitter(Qt.Orientation.Vertical)
    window.mainSplitter.setObjectName("mainSplitter")
    window.mainSplitter.addWidget(window.recipePanel)
    window.mainSplitter.addWidget(bottom)
    window.mainSplitter.setStretchFactor(0, 0)
    window.mainSplitter.setStretchFactor(1, 1)
    window.mainSplitter.setChildrenCollapsible(False)

    central = QWidget()
    box = QVBoxLayout(central)
    box.setContentsMargins(8, 4, 8, 2)
    box.addWidget(window.mainSplitter)
    window.setCentralWidget(central)
    window.setMinimumSize(*MIN_SIZE)


def default_sizes(window: MainWindow) -> None:
    """The whole recipe shown (in three columns where they fit), the images beside the
    preview below it."""
    panel = window.recipePanel
    columns = 3 if window.width() - 20 >= panel.three_column_width() else 2
    total = window.height() - 50  # the menu and status bars
    # All of it when it fits beside a usable preview; at the smallest sizes it scrolls.
    top = min(panel.preferred_height(columns), max(200, total - 300))
    window.mainSplitter.setSizes([top, max(200, total - top)])
    window.workSplitter.setSizes([QUEUE_WIDTH, max(300, window.width() - QUEUE_WIDTH)])


def add_view_menu(window: MainWindow) -> dict[str, QAction]:
    """The View menu (before Help): one checkable action per section of SECTIONS."""
    parts = {"recipe": window.recipePanel, "sources": window.workSplitter.widget(0)}
    bar = window.menuBar()
    help_menu = bar.actions()[-1]
    menu = bar.addMenu(_("&View"))
    bar.insertAction(help_menu, menu.menuAction())
    actions = {}
    for key, text, keys in SECTIONS:
        action = QAction(_(text), window)
        action.setObjectName(f"show{key.capitalize()}Action")
        action.setCheckable(True)
        action.setChecked(True)
        action.setShortcut(QKeySequence(keys))
        action.toggled.connect(parts[key].setVisible)
        menu.addAction(action)
        window.addAction(action)
        actions[key] = action
    return actions
