# Pixmill's replacement for PyInstaller's PySide6 run-time hook (packaging/pixmill.spec puts
# this folder first on hookspath, so PyInstaller uses this one and skips its own).
#
# PyInstaller's hook imports PySide6.QtCore in every process of the frozen app, to register a
# qt.conf that PyPI wheels do not need. That loads Qt and ICU into the CLI and into every pool
# worker, which must start without Qt. This hook only tells Qt where its plug-ins are, which
# costs nothing until the window imports PySide6.


def _pixmill_rthook():
    import os
    import sys

    if sys.platform.startswith("win"):
        qt_dir = os.path.join(sys._MEIPASS, "PySide6")
    else:
        qt_dir = os.path.join(sys._MEIPASS, "PySide6", "Qt")
    os.environ["QT_PLUGIN_PATH"] = os.path.join(qt_dir, "plugins")


_pixmill_rthook()
del _pixmill_rthook
