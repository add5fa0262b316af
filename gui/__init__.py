"""Pixmill's window: a thin PySide6 face over engine/."""
