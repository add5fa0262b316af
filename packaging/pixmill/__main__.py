"""Pixmill's front door: `python -m pixmill`, and the entry script of the frozen app.

`pixmill` is a namespace package assembled by pyproject.toml from the repository's top-level
folders (pixmill.engine = engine/, pixmill.gui = gui/, pixmill.resources = resources/); this
file is its only own module. Started as `pixmill` (or `python -m pixmill`) it behaves like the
console script: subcommands run the CLI without Qt, no arguments or only paths open the
window. Started under a name ending in "-gui" (pixmill-gui, pixmill-gui.exe, a symlink of that
name) it always opens the window.
"""

import multiprocessing
import os
import sys


def _run() -> int:
    # First thing: a spawned pool worker of the frozen app is this same executable with
    # --multiprocessing-fork; freeze_support() runs its task loop and exits here, before
    # anything imports the GUI.
    multiprocessing.freeze_support()
    from pixmill.gui.launcher import gui_main, run

    name = os.path.splitext(os.path.basename(sys.argv[0]))[0].lower()
    if name.endswith("-gui"):
        return gui_main(sys.argv[1:])
    run(sys.argv[1:])  # exits


if __name__ == "__main__":
    sys.exit(_run())
