"""The window's before/after preview, engine side: the one-file Job a preview runs (the
engine's own convert_one in the runner's pool, into a scratch folder), the info line said
about its result, and the source and output decoded upright for display.

Nothing here converts pixels: the output is whatever convert_one wrote. No Qt.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .formats import output_format
from .i18n import _
from .job import Job
from .recipe import Recipe
from .report import human_bytes

if TYPE_CHECKING:
    from PIL.Image import Image as PILImage

#: Names the output formats as people say them (names: not translated).
FORMAT_NAMES = {
    "jpeg": "JPEG",
    "png": "PNG",
    "webp": "WebP",
    "avif": "AVIF",
    "heic": "HEIC",
    "jxl": "JPEG XL",
    "tiff": "TIFF",
    "bmp": "BMP",
    "gif": "GIF",
}


class Scratch:
    """A private temporary folder for preview outputs, removed by close()."""

    def __init__(self) -> None:
        self.folder = tempfile.mkdtemp(prefix="pixmill-preview-")

    def close(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


def preview_job(source: str, recipe: Recipe, folder: str, serial: int) -> Job:
    """The Job that converts source with recipe into folder as preview-<serial>.<ext>
    (no disk sync, nothing replaced: it is thrown away)."""
    fmt, ext = output_format(recipe.format, source)
    try:
        st = os.stat(source)
        size, mtime = st.st_size, st.st_mtime
    except OSError:
        size, mtime = 0, 0.0  # convert_one reports the file as missing
    target = os.path.join(folder, f"preview-{serial}{ext}")
    return Job(serial, source, target, fmt, recipe, size=size, mtime=mtime, sync=False)


@dataclass(frozen=True)
class PreviewOutcome:
    """What a preview's result says, for the info line."""

    ok: bool
    text: str
    bytes_out: int = 0
    target: str | None = None


def describe(result: dict[str, Any], recipe: Recipe) -> PreviewOutcome:
    """The info line for a preview's result dict (engine.result): format, pixel size, bytes
    and the saving, the score when the recipe aims at one, and the time it took."""
    status = result.get("status")
    if status != "ok":
        why = result.get("error") or status or _("failed")
        return PreviewOutcome(False, _("Cannot preview: {why}").format(why=why))
    fmt = result.get("format") or output_format(recipe.format, result["source"])[0]
    parts = [FORMAT_NAMES.get(fmt, str(fmt).upper())]
    if result.get("width") and result.get("height"):
        parts.append(
            _("{width} × {height} px").format(
                width=f"{result['width']:,}", height=f"{result['height']:,}"
            )
        )
    out, into = int(result.get("bytes_out") or 0), int(result.get("bytes_in") or 0)
    size = _("{size} ({bytes} bytes)").format(size=human_bytes(out), bytes=f"{out:,}")
    if into:
        saving = 1.0 - out / into
        change = _("saving {percent} %") if saving >= 0 else _("growing by {percent} %")
        # One sentence with the size before it, so that a language joins them its own way.
        size = _("{size_and_bytes}, {change} of {original}").format(
            size_and_bytes=size,
            change=change.format(percent=f"{abs(saving) * 100:.0f}"),
            original=human_bytes(into),
        )
    parts.append(size)
    if result.get("kept_original"):
        parts.append(_("the original kept (no smaller output)"))
    if result.get("score") is not None and recipe.score_target is not None:
        parts.append(
            _("score {score} (target {target})").format(
                score=f"{result['score']:.1f}", target=f"{recipe.score_target:g}"
            )
        )
    if result.get("quality") is not None and recipe.searches:
        parts.append(_("quality {quality}").format(quality=result["quality"]))
    parts.append(_("{ms} ms").format(ms=f"{result.get('ms') or 0:.0f}"))
    return PreviewOutcome(True, _(" · ").join(parts), out, result.get("target"))


def load_picture(
    path: str, orient: bool = True, at_least: tuple[int, int] | None = None
) -> PILImage:
    """path decoded for display, RGB or RGBA, turned upright when orient (as the recipe
    turns its output); a JPEG decodes at a reduced scale that still covers at_least (upright
    width, height). Raises when it cannot be read."""
    from .thumbnails import open_picture, orientation_of, upright

    with open_picture(path) as im:
        turn = orientation_of(im) if orient else 1
        if at_least is not None and im.format == "JPEG":
            w, h = at_least if turn < 5 else (at_least[1], at_least[0])
            im.draft("RGB", (w, h))
        im.load()
        mode = "RGBA" if im.mode in ("RGBA", "LA", "PA") or "transparency" in im.info else "RGB"
        if im.mode in ("I;16", "I;16B", "I;16L", "I"):
            picture = im.point(lambda v: v / 256).convert(mode)
        else:
            picture = im.convert(mode)
    return upright(picture, turn)
