"""The plain-library ceiling for camera RAW (scenarios R and P): rawpy (LibRaw) develops each
file with its defaults and the camera's white balance (AHD demosaic, sRGB, 8 bits, auto
brightness: what `dcraw_emu -w` does), then Pillow fits it with Lanczos and saves it. Same
pool as tuned_pillow.py (spawned: rawpy's OpenMP does not survive fork): imap_unordered, no
supervision, orientation left to LibRaw.

    python tuned_rawpy.py INPUT... -o OUT --format jpeg --quality 85 --fit 2048x2048 --workers 2

LibRaw's OpenMP threads follow OMP_NUM_THREADS (the runner sets 1: one core per worker).
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import sys

import rawpy
from common_cli import PIL_FORMATS, fit_size, list_inputs, parse_args, save_kwargs, target_path
from PIL import Image

ARGS: argparse.Namespace | None = None


def init(args: argparse.Namespace) -> None:
    global ARGS
    ARGS = args


def convert(path: str) -> str:
    assert ARGS is not None
    target = target_path(path, ARGS.output, ARGS.format)
    with rawpy.imread(path) as raw:
        rgb = raw.postprocess(use_camera_wb=True)
    im = Image.fromarray(rgb)
    size = fit_size(im.size, ARGS.box)
    if size != im.size:
        im = im.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)
    im.save(target, PIL_FORMATS[ARGS.format], **save_kwargs(ARGS.format, ARGS.quality))
    return target


def main() -> int:
    args = parse_args(__doc__.splitlines()[0])
    os.makedirs(args.output, exist_ok=True)
    paths = list_inputs(args.inputs)
    chunk = max(1, len(paths) // (args.workers * 16))
    # spawn: LibRaw's OpenMP runtime does not survive fork (rawpy warns of deadlocks).
    ctx = mp.get_context("spawn")
    with ctx.Pool(args.workers, initializer=init, initargs=(args,)) as pool:
        for _ in pool.imap_unordered(convert, paths, chunk):
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
