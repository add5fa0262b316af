"""The ceiling of plain Pillow: what a careful hand-written loop gets, with no safety net.

Each worker asks libjpeg to decode at the smallest 1/2, 1/4 or 1/8 scale that still covers
the exact output size (Image.draft), lets reduce() do the same for other formats, finishes
with Lanczos and saves straight to the target. imap_unordered with a chunk size that keeps
both workers busy. No orientation, metadata, atomic writes or supervision: the gap between
this and Pixmill is what the engine's extras cost.

    python tuned_pillow.py INPUT... -o OUT --format jpeg --quality 85 --fit 1600x1600 \
        --workers 2 [--start-method spawn] [--heif]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import sys

from common_cli import (
    PIL_FORMATS,
    fit_size,
    list_inputs,
    parse_args,
    register_plugins,
    save_kwargs,
    target_path,
)
from PIL import Image

ARGS: argparse.Namespace | None = None


def init(args: argparse.Namespace) -> None:
    global ARGS
    ARGS = args
    register_plugins(args)


def convert(path: str) -> str:
    assert ARGS is not None
    target = target_path(path, ARGS.output, ARGS.format)
    with Image.open(path) as im:
        size = fit_size(im.size, ARGS.box)
        if size != im.size and im.format == "JPEG":
            im.draft(im.mode, size)
        out = im
        if size != im.size:
            out = im.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)
        out.save(target, PIL_FORMATS[ARGS.format], **save_kwargs(ARGS.format, ARGS.quality))
    return target


def main() -> int:
    start_method = None
    argv = sys.argv[1:]
    if "--start-method" in argv:
        i = argv.index("--start-method")
        start_method = argv[i + 1]
        del argv[i : i + 2]
    args = parse_args(__doc__.splitlines()[0], argv)
    os.makedirs(args.output, exist_ok=True)
    register_plugins(args)
    paths = list_inputs(args.inputs)
    chunk = max(1, len(paths) // (args.workers * 16))
    ctx = mp.get_context(start_method)
    with ctx.Pool(args.workers, initializer=init, initargs=(args,)) as pool:
        for _ in pool.imap_unordered(convert, paths, chunk):
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
