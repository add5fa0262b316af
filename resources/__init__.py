"""Data shipped with Pixmill: built-in presets, icons, desktop integration files."""
