"""What the two plain-Pillow contender scripts share: arguments, input listing, fit maths.

Kept tiny and free of Pixmill imports, so the contenders measure plain Pillow only; `--heif`
(scenario H) adds pillow-heif's opener, the one line any Pillow script needs to read HEIC.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence

EXTENSIONS = {"jpeg": ".jpg", "webp": ".webp", "png": ".png"}
PIL_FORMATS = {"jpeg": "JPEG", "webp": "WEBP", "png": "PNG"}
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".heic", ".heif", ".dng")
RAW_SUFFIXES = (".dng",)


def parse_args(description: str, argv: Sequence[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("inputs", nargs="+", help="image files or folders")
    ap.add_argument("-o", "--output", required=True, help="output folder")
    ap.add_argument("--format", choices=sorted(EXTENSIONS), default="jpeg")
    ap.add_argument("--quality", type=int, default=85)
    ap.add_argument("--fit", metavar="WxH", help="fit within WxH (never enlarges)")
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--heif", action="store_true", help="register pillow-heif's opener")
    args = ap.parse_args(argv)
    args.box = tuple(int(v) for v in args.fit.lower().split("x")) if args.fit else None
    return args


def register_plugins(args: argparse.Namespace) -> None:
    """The opt-in Pillow plugins (call in the main process and in every worker: a spawned
    worker starts without them)."""
    if getattr(args, "heif", False):
        import pillow_heif

        pillow_heif.register_heif_opener()


def list_inputs(inputs: Sequence[str]) -> list[str]:
    """Files as given, folders as their sorted image files (not recursive)."""
    paths: list[str] = []
    for item in inputs:
        if os.path.isdir(item):
            names = sorted(n for n in os.listdir(item) if n.lower().endswith(IMAGE_SUFFIXES))
            paths.extend(os.path.join(item, n) for n in names)
        else:
            paths.append(item)
    return paths


def fit_size(size: tuple[int, int], box: tuple[int, int] | None) -> tuple[int, int]:
    """Pixmill's 'fit' geometry: scale to fit box, never enlarge, round each side."""
    w, h = size
    if box is None:
        return w, h
    s = min(box[0] / w, box[1] / h, 1.0)
    return max(1, round(w * s)), max(1, round(h * s))


def target_path(src: str, out_dir: str, fmt: str) -> str:
    stem = os.path.splitext(os.path.basename(src))[0]
    return os.path.join(out_dir, stem + EXTENSIONS[fmt])


def save_kwargs(fmt: str, quality: int) -> dict[str, object]:
    """The same encoder settings Pixmill's recipe gives (JPEG baseline 4:2:0, WebP method 4,
    PNG zlib level 6)."""
    if fmt == "jpeg":
        return {"quality": quality}
    if fmt == "webp":
        return {"quality": quality, "method": 4}
    return {"compress_level": 6}
