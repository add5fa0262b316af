"""Output names: the naming template's tokens, safe file names, and the renamed siblings
(photo.webp -> photo-1.webp) that the plan and the publisher both count through.

Pure string work: nothing here touches the disk.
"""

from __future__ import annotations

import os
import re
import time

from .job import Source
from .recipe import Recipe

_UNSAFE_NAME = re.compile(r'[\x00-\x1f/\\:*?"<>|]')

#: The path rules names are decided by: os.path (ntpath on Windows, posixpath elsewhere).
#: A module attribute so the tests can run the Windows rules (drive letters, UNC shares,
#: backslashes) on any system.
_path = os.path
#: Windows takes these device names, with any extension, as the device: CON.webp is the
#: console, not a file. Decided by where Pixmill runs (set with _path in the tests).
_WINDOWS = os.name == "nt"
_RESERVED = frozenset(
    ["con", "prn", "aux", "nul"]
    + [f"{dev}{n}" for dev in ("com", "lpt") for n in (*"123456789", "\u00b9", "\u00b2", "\u00b3")]
)


def renamed(path: str, n: int) -> str:
    """The n-th renamed sibling of a target: photo.webp -> photo-n.webp (n 0: the target)."""
    if n == 0:
        return path
    stem, ext = _path.splitext(path)
    return f"{stem}-{n}{ext}"


def safe_name(name: str, fallback: str) -> str:
    """name with characters no file system takes replaced, never empty, "." or ".."."""
    name = _UNSAFE_NAME.sub("_", name).strip().rstrip(".")
    if name in ("", ".", ".."):
        return fallback
    name = name[:200]
    # Windows: a device name, also before any extension ("con", "Aux.final", "LPT1 "), is
    # no file name; the trailing "_" makes it one (the output's extension comes after it).
    if _WINDOWS and name.split(".", 1)[0].rstrip(" ").casefold() in _RESERVED:
        first, dot, rest = name.partition(".")
        name = f"{first.rstrip(' ')}_{dot}{rest}"
    return name


class _Tokens(dict):
    """Naming tokens, each worked out only when the template asks for it."""

    def __init__(self, source: Source, index: int, size: tuple[int, int]) -> None:
        super().__init__()
        self.source, self.index, self.size = source, index, size

    def __missing__(self, key: str) -> object:
        path = self.source.path
        if key == "ext":
            return _path.splitext(path)[1].lstrip(".").lower()
        if key == "width":
            return self.size[0]
        if key == "height":
            return self.size[1]
        if key == "index":
            return self.index
        if key == "parent":
            return _path.basename(_path.dirname(path))
        if key == "date":
            return time.strftime("%Y-%m-%d", time.localtime(self.source.mtime))
        raise KeyError(key)


def render_name(recipe: Recipe, source: Source, index: int, size: tuple[int, int]) -> str:
    """The output file name (without extension) the naming template gives this source."""
    stem = _path.splitext(_path.basename(source.path))[0]
    template = recipe.name_template
    if template == "{stem}":
        name = stem
    else:
        tokens = _Tokens(source, index, size)
        tokens["stem"] = stem
        name = template.format_map(tokens)
    return safe_name(name, stem or "image")


def uses_size(template: str) -> bool:
    """Whether a template needs the output's pixel size (which means reading the header)."""
    return "{width" in template or "{height" in template
