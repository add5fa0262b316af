"""engine/metric.py's SSIMULACRA2 against the `ssimulacra2` package (the test extra): score and
time on real photographs, fitted to 1600 px (Lanczos) and encoded with Pillow as JPEG and WebP
at several qualities, the way the quality search (issue 14) will call it.

    python tests/benchmarks/metric_speed.py [--corpus DIR] [--photos N] [--size 1600]
        [--jpeg 50,70,90] [--webp 60,85] [--runs 5] [--no-reference]

Everything runs on one thread: OPENBLAS_NUM_THREADS=1 is set before numpy loads, for both
implementations. The package reads files; it is handed in-memory BMPs (nothing to decompress),
and its time is one call per pair (about 2 s each at 2 MP). Ours is split as the search uses
it: `Reference(image)` once per photo, then `score(distorted)` per encode; both are the median
of --runs calls. Never part of `make test`.
"""

from __future__ import annotations

import os

os.environ["OPENBLAS_NUM_THREADS"] = "1"  # before numpy: one thread for both contenders

import argparse  # noqa: E402
import io  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
from PIL import Image, ImageOps  # noqa: E402

from pixmill.engine.metric import Reference  # noqa: E402

CORPUS = Path(os.environ.get("BENCH_CORPUS", "/work/shared/corpus"))


def fitted(path: Path, size: int) -> Image.Image:
    with Image.open(path) as im:
        im = ImageOps.exif_transpose(im).convert("RGB")
    im.thumbnail((size, size), Image.Resampling.LANCZOS)
    return im


def roundtrip(im: Image.Image, fmt: str, quality: int) -> Image.Image:
    buf = io.BytesIO()
    im.save(buf, fmt, quality=quality)
    with Image.open(io.BytesIO(buf.getvalue())) as out:
        return out.convert("RGB")


def bmp(im: Image.Image) -> io.BytesIO:
    buf = io.BytesIO()
    im.save(buf, "BMP")
    buf.seek(0)
    return buf


def median_ms(fn, runs: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(runs):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000, result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", type=Path, default=CORPUS)
    ap.add_argument("--photos", type=int, default=6, help="how many corpus JPEGs (sorted)")
    ap.add_argument("--size", type=int, default=1600, help="fit the long side to this")
    ap.add_argument("--jpeg", default="50,70,90", help="JPEG qualities")
    ap.add_argument("--webp", default="60,85", help="WebP qualities")
    ap.add_argument("--runs", type=int, default=5, help="timed calls of ours (median)")
    ap.add_argument("--no-reference", action="store_true", help="time ours only")
    args = ap.parse_args()

    compute = None
    if not args.no_reference:
        from ssimulacra2 import compute_ssimulacra2 as compute

    encodes = [("JPEG", int(q)) for q in args.jpeg.split(",") if q] + [
        ("WEBP", int(q)) for q in args.webp.split(",") if q
    ]
    photos = sorted(args.corpus.glob("*.jpg"))[: args.photos]
    if not photos:
        raise SystemExit(f"no JPEGs in {args.corpus}")

    head = (
        f"{'image':<44} {'enc':>7} {'ref':>8} {'ours':>8} {'diff':>8} {'ref s':>7} {'ours ms':>8}"
    )
    print(head)
    print("-" * len(head))
    diffs, ref_times, build_times, score_times = [], [], [], []
    for path in photos:
        im = fitted(path, args.size)
        build_ms, prepared = median_ms(lambda im=im: Reference(im), args.runs)
        build_times.append(build_ms)
        label = f"{path.stem[:34]} {im.width}x{im.height}"
        print(f"{label:<44} {'(Reference build)':>33} {'':>7} {build_ms:8.1f}")
        for fmt, quality in encodes:
            dist = roundtrip(im, fmt, quality)
            ours_ms, ours = median_ms(lambda d=dist, p=prepared: p.score(d), args.runs)
            score_times.append(ours_ms)
            if compute is not None:
                start = time.perf_counter()
                theirs = compute(bmp(im), bmp(dist))
                ref_times.append(time.perf_counter() - start)
                diffs.append(ours - theirs)
                cols = f"{theirs:8.3f} {ours:8.3f} {ours - theirs:+8.5f} {ref_times[-1]:7.2f}"
            else:
                cols = f"{'-':>8} {ours:8.3f} {'-':>8} {'-':>7}"
            print(f"{'':<44} {fmt[:4] + str(quality):>7} {cols} {ours_ms:8.1f}")

    print()
    print(f"Reference build, median: {statistics.median(build_times):.1f} ms")
    print(f"score(), median:         {statistics.median(score_times):.1f} ms")
    if diffs:
        err = np.abs(diffs)
        ref_ms = statistics.median(ref_times) * 1000
        print(f"ssimulacra2 package:     {ref_ms:.0f} ms per pair, median")
        print(
            f"|ours - package|:        max {err.max():.5f}, mean {err.mean():.5f} "
            f"({len(err)} pairs)"
        )
        per_search = statistics.median(build_times) + 5 * statistics.median(score_times)
        print(
            f"a search of 5 encodes:   ours {per_search:.0f} ms, package {5 * ref_ms:.0f} ms "
            f"({5 * ref_ms / per_search:.0f}x)"
        )


if __name__ == "__main__":
    main()
