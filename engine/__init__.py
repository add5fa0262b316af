"""Pixmill's engine: recipes, planning, conversion and the supervised process pool.

Nothing under engine/ imports Qt; the CLI and the window are two faces over it.
"""

__version__ = "0.1.0"
