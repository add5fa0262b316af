"""Build the benchmark data set, deterministically, from Debian's wallpaper photographs.

- photos/: 12 MP JPEGs (4000x3000, every second one 3000x4000 portrait), quality 92, 4:2:0,
  with a small camera-like EXIF block, each tiled from crops of the real photos shipped by
  mate-backgrounds and plasma-workspace-wallpapers.
- pngs/: 4 MP RGB PNGs (2448x1632), tiled the same way.
- small/: 64x64 RGB PNGs, each a downscaled crop of one photo.
- quick/: hard links to the first few files of each set, for BENCH_QUICK=1 smoke runs.

The same sources, counts and seed always give the same pixels. A stamp file records the
parameters; a rebuild happens only when they change.

    python tests/benchmarks/build_data.py [--out DIR] [--photos 40] [--pngs 20] [--small 10000]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import random
import shutil
import sys
import time
from pathlib import Path

from PIL import Image

HERE = Path(__file__).resolve().parent
DEFAULT_OUT = HERE / "data"
SEED = 20240505
VERSION = 1

#: Photographs (not drawings or abstract art) among the Debian wallpapers, largest copy each.
PHOTO_SOURCES = (
    "/usr/share/backgrounds/mate/nature/Aqua.jpg",
    "/usr/share/backgrounds/mate/nature/Blinds.jpg",
    "/usr/share/backgrounds/mate/nature/FreshFlower.jpg",
    "/usr/share/backgrounds/mate/nature/Garden.jpg",
    "/usr/share/backgrounds/mate/nature/LadyBird.jpg",
    "/usr/share/backgrounds/mate/nature/RainDrops.jpg",
    "/usr/share/backgrounds/mate/nature/Storm.jpg",
    "/usr/share/backgrounds/mate/nature/TwoWings.jpg",
    "/usr/share/backgrounds/mate/nature/Wood.jpg",
    "/usr/share/backgrounds/mate/nature/YellowFlower.jpg",
    "/usr/share/wallpapers/BytheWater/contents/images/2560x1600.jpg",
    "/usr/share/wallpapers/ColdRipple/contents/images/2560x1600.jpg",
    "/usr/share/wallpapers/ColorfulCups/contents/images/2560x1600.jpg",
    "/usr/share/wallpapers/DarkestHour/contents/images/2560x1600.jpg",
    "/usr/share/wallpapers/EveningGlow/contents/images/2560x1600.jpg",
    "/usr/share/wallpapers/FallenLeaf/contents/images/2560x1600.jpg",
    "/usr/share/wallpapers/Grey/contents/images/2560x1600.jpg",
    "/usr/share/wallpapers/Kite/contents/images/2560x1600.jpg",
    "/usr/share/wallpapers/OneStandsOut/contents/images/2560x1600.jpg",
    "/usr/share/wallpapers/Path/contents/images/2560x1600.jpg",
    "/usr/share/wallpapers/summer_1am/contents/images/2560x1600.jpg",
)

PHOTO_SIZE = (4000, 3000)
PNG_SIZE = (2448, 1632)
SMALL_SIZE = (64, 64)
QUICK_COUNTS = {"photos": 8, "pngs": 6, "small": 1000}

_SOURCES: list[Image.Image] = []


def _load_sources() -> None:
    if not _SOURCES:
        for path in PHOTO_SOURCES:
            with Image.open(path) as im:
                _SOURCES.append(im.convert("RGB"))


def _crop_tile(rng: random.Random, size: tuple[int, int]) -> Image.Image:
    """A random crop of a random photo, scaled to size (at most a mild enlargement)."""
    src = _SOURCES[rng.randrange(len(_SOURCES))]
    tw, th = size
    fit = min(1.0, src.width / tw, src.height / th)
    f = fit * rng.uniform(0.8, 1.0)
    cw, ch = max(1, round(tw * f)), max(1, round(th * f))
    x = rng.randrange(src.width - cw + 1)
    y = rng.randrange(src.height - ch + 1)
    tile = src.resize(size, Image.Resampling.LANCZOS, box=(x, y, x + cw, y + ch))
    if rng.random() < 0.5:
        tile = tile.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    return tile


def _tiled(rng: random.Random, size: tuple[int, int], cols: int, rows: int) -> Image.Image:
    w, h = size
    canvas = Image.new("RGB", size)
    xs = [round(i * w / cols) for i in range(cols + 1)]
    ys = [round(j * h / rows) for j in range(rows + 1)]
    for j in range(rows):
        for i in range(cols):
            tile = _crop_tile(rng, (xs[i + 1] - xs[i], ys[j + 1] - ys[j]))
            canvas.paste(tile, (xs[i], ys[j]))
    return canvas


def _camera_exif(index: int) -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "Pixmill Bench"  # Make
    exif[0x0110] = "Tiled 12MP"  # Model
    exif[0x0112] = 1  # Orientation
    exif[0x0131] = "pixmill build_data"  # Software
    exif[0x0132] = f"2024:05:05 12:{index // 60 % 60:02d}:{index % 60:02d}"  # DateTime
    return exif.tobytes()


def make_photo(args: tuple[int, str]) -> str:
    index, path = args
    _load_sources()
    rng = random.Random(SEED * 1000 + index)
    if index % 2:  # portrait: 2 columns x 3 rows of 1500x1333 tiles
        im = _tiled(rng, (PHOTO_SIZE[1], PHOTO_SIZE[0]), 2, 3)
    else:  # landscape: 2x2 tiles of 2000x1500
        im = _tiled(rng, PHOTO_SIZE, 2, 2)
    im.save(path, "JPEG", quality=92, subsampling="4:2:0", exif=_camera_exif(index))
    return path


def make_png(args: tuple[int, str]) -> str:
    index, path = args
    _load_sources()
    rng = random.Random(SEED * 2000 + index)
    im = _tiled(rng, PNG_SIZE, 2, 2)
    im.save(path, "PNG", compress_level=6)
    return path


def make_small(args: tuple[int, int, str]) -> str:
    start, count, folder = args
    _load_sources()
    for index in range(start, start + count):
        rng = random.Random(SEED * 3000 + index)
        src = _SOURCES[rng.randrange(len(_SOURCES))]
        side = rng.randrange(128, 512)
        x = rng.randrange(src.width - side)
        y = rng.randrange(src.height - side)
        im = src.resize(SMALL_SIZE, Image.Resampling.LANCZOS, box=(x, y, x + side, y + side))
        im.save(os.path.join(folder, f"s{index:05d}.png"), "PNG")
    return folder


def _params(photos: int, pngs: int, small: int) -> dict[str, object]:
    return {
        "version": VERSION,
        "seed": SEED,
        "photos": photos,
        "pngs": pngs,
        "small": small,
        "sources": list(PHOTO_SOURCES),
        "pillow": Image.__version__,
    }


def _fresh_dir(path: Path) -> Path:
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)
    return path


def _link_quick(out: Path) -> None:
    quick = _fresh_dir(out / "quick")
    for name, count in QUICK_COUNTS.items():
        dst = quick / name
        dst.mkdir()
        for src in sorted((out / name).iterdir())[:count]:
            os.link(src, dst / src.name)


def build(out: Path, photos: int, pngs: int, small: int, workers: int) -> bool:
    """Build the data set under out unless its stamp already matches. Returns True if built."""
    stamp = out / "stamp.json"
    params = _params(photos, pngs, small)
    try:
        if json.loads(stamp.read_text()) == params:
            return False
    except (OSError, ValueError):
        pass
    missing = [p for p in PHOTO_SOURCES if not os.path.exists(p)]
    if missing:
        sys.exit(
            "missing wallpaper photos (apt-get install mate-backgrounds "
            "plasma-workspace-wallpapers): " + ", ".join(missing)
        )
    out.mkdir(parents=True, exist_ok=True)
    stamp.unlink(missing_ok=True)
    t0 = time.monotonic()
    photo_dir = _fresh_dir(out / "photos")
    png_dir = _fresh_dir(out / "pngs")
    small_dir = _fresh_dir(out / "small")
    chunk = 250
    with mp.get_context("spawn").Pool(workers) as pool:
        tasks = [
            pool.map_async(
                make_photo, [(i, str(photo_dir / f"photo{i:03d}.jpg")) for i in range(photos)], 1
            ),
            pool.map_async(
                make_png, [(i, str(png_dir / f"png{i:03d}.png")) for i in range(pngs)], 1
            ),
            pool.map_async(
                make_small,
                [(s, min(chunk, small - s), str(small_dir)) for s in range(0, small, chunk)],
                1,
            ),
        ]
        for t in tasks:
            t.get()
    _link_quick(out)
    stamp.write_text(json.dumps(params, indent=2) + "\n")
    print(
        f"built {photos} photos, {pngs} PNGs and {small} small files in {out} "
        f"({time.monotonic() - t0:.0f} s)"
    )
    return True


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    ap.add_argument("--photos", type=int, default=int(os.environ.get("BENCH_PHOTOS", 40)))
    ap.add_argument("--pngs", type=int, default=int(os.environ.get("BENCH_PNGS", 20)))
    ap.add_argument("--small", type=int, default=int(os.environ.get("BENCH_SMALL", 10000)))
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    args = ap.parse_args(argv)
    if not build(args.out, args.photos, args.pngs, args.small, args.workers):
        print(f"benchmark data in {args.out} is up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
