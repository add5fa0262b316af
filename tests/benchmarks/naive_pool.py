"""The baseline: the seed article's pattern, kept as it is.

Pool.map over the paths; each worker opens the image, resizes it with Lanczos at full
resolution and saves it. No draft, no reduce, the platform's default start method.

    python naive_pool.py INPUT... -o OUT --format jpeg --quality 85 --fit 1600x1600 --workers 2
"""

from __future__ import annotations

import argparse
import os
import sys
from multiprocessing import Pool

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
    im = Image.open(path)
    im = im.resize(fit_size(im.size, ARGS.box), Image.LANCZOS)
    target = target_path(path, ARGS.output, ARGS.format)
    im.save(target, PIL_FORMATS[ARGS.format], **save_kwargs(ARGS.format, ARGS.quality))
    return target


def main() -> int:
    args = parse_args(__doc__.splitlines()[0])
    os.makedirs(args.output, exist_ok=True)
    register_plugins(args)
    paths = list_inputs(args.inputs)
    with Pool(args.workers, initializer=init, initargs=(args,)) as pool:
        pool.map(convert, paths)
    return 0


if __name__ == "__main__":
    sys.exit(main())
