"""Write the torture corpus to a folder: valid images of every format Pixmill reads, and
truncated, bit-flipped, random, empty, bomb, lying-extension and awkwardly named variants.

    .venv/bin/python tests/torture/gen_corpus.py OUTDIR [--seed N] [--small] [--flood]

Prints how many files of each kind it wrote. Point `pixmill convert OUTDIR -o ...` at it.
"""

from __future__ import annotations

import argparse
import collections
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from faultkit import corpus  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("outdir")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--small", action="store_true", help="a quick subset (about 240 files)")
    p.add_argument("--flood", action="store_true", help="add an 8000x8000 all-black PNG")
    args = p.parse_args(argv)
    entries = corpus.corpus(seed=args.seed, small=args.small)
    if args.flood:
        entries += corpus.flood_entries()
    corpus.write(entries, args.outdir)
    counts = collections.Counter(e.kind for e in entries)
    for kind in corpus.KINDS:
        print(f"{kind:<10} {counts.get(kind, 0):>5}")
    print(f"{'total':<10} {len(entries):>5}  in {args.outdir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
