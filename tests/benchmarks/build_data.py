"""Build the benchmark data set, deterministically, from Debian's wallpaper photographs.

- photos/: 12 MP JPEGs (4000x3000, every second one 3000x4000 portrait), quality 92, 4:2:0,
  with a small camera-like EXIF block, each tiled from crops of the real photos shipped by
  mate-backgrounds and plasma-workspace-wallpapers.
- pngs/: 4 MP RGB PNGs (2448x1632), tiled the same way.
- small/: 64x64 RGB PNGs, each a downscaled crop of one photo.
- heic/ (scenario H): iPhone-sized HEICs, 4032x3024 as stored, 8-bit 4:2:0, from the real
  camera JPEGs of the shared corpus (BENCH_CORPUS, default /work/shared/corpus), cropped and
  enlarged to 12 MP and encoded by pillow-heif (libheif + x265) at quality 60, which gives the
  corpus iPhone HEIC's own bitrate when it is re-encoded. Every second one is a portrait shot
  stored the iPhone way: landscape pixels, an `irot` transform and EXIF orientation 6. Plus
  copies of the corpus's real iPhone HEIC (512x512 grid tiles, Display P3 profile).
- raw/ (scenario R): 20 MP (5472x3648, the EOS 6D's sensor) Bayer DNGs written by pidng:
  RGGB mosaic, 14-bit values (black 512, white 16383) in uncompressed 16-bit samples, camera
  white balance in AsShotNeutral, a colour matrix whose camera space is linear sRGB, shot and
  read noise; from corpus JPEGs (linearised, un-white-balanced, mosaicked). Every fourth is a
  portrait shot (DNG Orientation 8). No embedded preview.
- raw_preview/ (scenario P): copies of the corpus's real camera DNG (Canon EOS 6D, 1224x816
  lossy linear DNG) with its 1024x683 JPEG preview.
- quality/ (scenario Q, issue 14): copies of every real camera JPEG in the corpus (*.jpg, as
  they are: EXIF orientation, ICC profiles), for the quality-target rows.
- small_100k/ (scenarios D+ and W+, issue 19): 100,000 64x64 PNGs, one flat folder, copies of
  small/'s files in turn (s000000.png is small/s00000.png, s010000.png is it again, ...).
  Copies, not hard links: Pixmill counts a file reached twice (same device and inode) as one
  source, so links would give it 10,000 files. small_20k/ (scenario W): hard links to the first
  20,000 of them.
- quick/: hard links to the first few files of each set, for BENCH_QUICK=1 smoke runs.

The same sources, counts and seed always give the same pixels. A stamp file per group of sets
(stamp.json for the wallpaper sets, stamp-small100k.json, stamp-heic.json, stamp-raw.json,
stamp-quality.json)
records the parameters; a group is rebuilt only when its parameters change. Without the corpus
the HEIC, RAW and quality sets are left out (their scenarios then say so).

    python tests/benchmarks/build_data.py [--out DIR] [--photos 40] [--pngs 20] [--small 10000]
        [--heic 20] [--heic-real 4] [--raws 8] [--raw-previews 12] [--small-many 100000]
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import multiprocessing as mp
import os
import random
import shutil
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

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
#: Scenarios D+ and W+ (all of small_100k) and W (small_20k, its first 20,000 files); quick
#: runs get the first few thousand.
SMALL_MANY = 100_000
SMALL_W = 20_000
QUICK_COUNTS_MANY = {"small_100k": 2000, "small_20k": 1000}

#: The shared corpus of real camera files (read-only, beside the project): scenarios H, R, P.
CORPUS = Path(os.environ.get("BENCH_CORPUS", "/work/shared/corpus"))
#: Real camera JPEGs the HEIC and RAW sets are made from (4-8 MP each).
CORPUS_JPEGS = (
    "Canon_EOS_20D_3.jpg",
    "Canon_IXUS_750.jpg",
    "Samsung_S730.jpg",
    "Nikon_D60.jpg",
    "Sony_Ericsson_U10i.jpg",
    "Nikon_D40.jpg",
    "Sigma_DP1.jpg",
    "HTC_One_M8.jpg",
    "Canon_EOS-1D_Mark_III_via_Adobe_Lightroom.jpg",
    "Panasonic_LZ2.jpg",
    "Olympus_FE230-X790.jpg",
    "Minolta_DiMAGE_7.jpg",
)
CORPUS_HEIC = "Issue_263_dotnet.heic"  # a real iPhone XR photo, 12 MP, portrait
CORPUS_DNG = "canon_eos_6d.dng"  # a real camera DNG with an embedded JPEG preview

HEIC_SIZE = (4032, 3024)  # as stored; portrait shots display as 3024x4032
HEIC_QUALITY = 60  # re-encoding the corpus iPhone HEIC at 60 gives its own size (1.6 MB)
RAW_SIZE = (5472, 3648)  # 20 MP, as stored; portrait shots display as 3648x5472
RAW_BLACK, RAW_WHITE = 512, (1 << 14) - 1
#: Camera RGB of a white object (what AsShotNeutral records): red and blue photosites are less
#: sensitive than green, as on real sensors, so white balance has real work to do.
RAW_NEUTRAL = (0.48, 1.0, 0.66)
#: XYZ (D65) -> linear sRGB: as DNG ColorMatrix1 it makes the camera space linear sRGB, so a
#: correct render gives back the source photo's colours.
XYZ_TO_SRGB = (
    (3.2404542, -1.5371385, -0.4985314),
    (-0.9692660, 1.8760108, 0.0415560),
    (0.0556434, -0.2040259, 1.0572252),
)
QUICK_COUNTS_CORPUS = {"heic": 4, "raw": 2, "raw_preview": 4, "quality": 4}
#: Scenario Q's quick set: an ICC profile, a plain camera JPEG, EXIF orientation 6, a phone.
QUICK_QUALITY = (
    "Canon_EOS-1D_Mark_III_via_Adobe_Lightroom.jpg",
    "Canon_EOS_20D_3.jpg",
    "Nikon_D40.jpg",
    "Sony_Ericsson_U10i.jpg",
)

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


# --- scenario H and R/P data, from the shared corpus of real camera files --------------------
def _corpus_crop(rng: random.Random, name: str, size: tuple[int, int]) -> Image.Image:
    """A random crop (80-100 % of the largest one with size's aspect) of a corpus photo, upright,
    enlarged to size with Lanczos."""
    with Image.open(CORPUS / name) as src:
        src = ImageOps.exif_transpose(src).convert("RGB")
    tw, th = size
    f = min(src.width / tw, src.height / th) * rng.uniform(0.8, 1.0)
    cw, ch = round(tw * f), round(th * f)
    x = rng.randrange(src.width - cw + 1)
    y = rng.randrange(src.height - ch + 1)
    return src.resize(size, Image.Resampling.LANCZOS, box=(x, y, x + cw, y + ch))


def make_heic(args: tuple[int, str]) -> str:
    """A 12 MP HEIC; odd indexes are portrait shots stored the iPhone way (landscape pixels,
    EXIF orientation 6, which pillow-heif also writes as the HEIF `irot` transform)."""
    import pillow_heif

    pillow_heif.register_heif_opener()
    index, path = args
    rng = random.Random(SEED * 4000 + index)
    portrait = index % 2 == 1
    w, h = HEIC_SIZE
    shown = _corpus_crop(
        rng, CORPUS_JPEGS[index % len(CORPUS_JPEGS)], (h, w) if portrait else (w, h)
    )
    exif = Image.Exif()
    exif[0x010F] = "Pixmill Bench"  # Make
    exif[0x0110] = "HEIC 12MP, iPhone layout"  # Model
    exif[0x0112] = 6 if portrait else 1  # Orientation
    exif[0x0132] = f"2024:05:05 13:{index // 60 % 60:02d}:{index % 60:02d}"  # DateTime
    # Orientation 6 means "turn 90 degrees clockwise to show": store the picture turned back.
    stored = shown.transpose(Image.Transpose.ROTATE_90) if portrait else shown
    stored.save(path, "HEIF", quality=HEIC_QUALITY, exif=exif.tobytes())
    return path


def _srgb_to_linear_lut() -> np.ndarray:
    v = np.arange(256, dtype=np.float64) / 255
    return np.where(v <= 0.04045, v / 12.92, ((v + 0.055) / 1.055) ** 2.4).astype(np.float32)


def _rationals(values: Sequence[float], den: int = 10000) -> list[list[int]]:
    return [[round(v * den), den] for v in values]


def make_raw(args: tuple[int, str]) -> str:
    """A 20 MP 14-bit RGGB Bayer DNG made from a corpus photo: linear light, divided by the
    white balance (AsShotNeutral), mosaicked, with shot and read noise. Every fourth is a
    portrait shot (DNG Orientation 8, the sensor data landscape)."""
    from pidng.core import RAW2DNG
    from pidng.defs import CalibrationIlluminant, CFAPattern, DNGVersion, PhotometricInterpretation
    from pidng.dng import DNGTags, Tag

    index, path = args
    rng = random.Random(SEED * 5000 + index)
    portrait = index % 4 == 3
    w, h = RAW_SIZE
    name = CORPUS_JPEGS[(index * 5 + 1) % len(CORPUS_JPEGS)]
    shown = _corpus_crop(rng, name, (h, w) if portrait else (w, h))
    # Orientation 8 means "turn 90 degrees anticlockwise to show": store it turned back.
    stored = shown.transpose(Image.Transpose.ROTATE_270) if portrait else shown
    del shown
    cam = _srgb_to_linear_lut()[np.asarray(stored)]  # linear sRGB = the camera's space here
    del stored
    neutral = np.asarray(RAW_NEUTRAL, dtype=np.float32)
    mosaic = np.empty((h, w), dtype=np.float32)
    mosaic[0::2, 0::2] = cam[0::2, 0::2, 0] * neutral[0]  # R
    mosaic[0::2, 1::2] = cam[0::2, 1::2, 1] * neutral[1]  # G
    mosaic[1::2, 0::2] = cam[1::2, 0::2, 1] * neutral[1]  # G
    mosaic[1::2, 1::2] = cam[1::2, 1::2, 2] * neutral[2]  # B
    del cam
    signal = mosaic * ((RAW_WHITE - RAW_BLACK) * 0.9)  # white paper 10 % below clipping
    noise = np.random.default_rng(SEED + index).standard_normal((h, w), dtype=np.float32)
    signal += noise * np.sqrt(signal * 0.6 + 16.0)  # shot noise, and 4 DN of read noise
    raw = np.clip(np.rint(signal + RAW_BLACK), 0, RAW_WHITE).astype(np.uint16)
    del mosaic, signal, noise

    tags = DNGTags()
    tags.set(Tag.ImageWidth, w)
    tags.set(Tag.ImageLength, h)
    tags.set(Tag.TileWidth, w)
    tags.set(Tag.TileLength, h)
    tags.set(Tag.Orientation, 8 if portrait else 1)
    tags.set(Tag.PhotometricInterpretation, PhotometricInterpretation.Color_Filter_Array)
    tags.set(Tag.SamplesPerPixel, 1)
    # pidng's 14-bit packing and its lossless-JPEG encoder do not work here (pidng 4.0.9 on
    # Python 3.11): 14-bit values go in 16-bit samples, uncompressed, as DNG allows.
    tags.set(Tag.BitsPerSample, 16)
    tags.set(Tag.CFARepeatPatternDim, [2, 2])
    tags.set(Tag.CFAPattern, CFAPattern.RGGB)
    tags.set(Tag.BlackLevel, RAW_BLACK)
    tags.set(Tag.WhiteLevel, RAW_WHITE)
    tags.set(Tag.ColorMatrix1, _rationals([v for row in XYZ_TO_SRGB for v in row]))
    tags.set(Tag.CalibrationIlluminant1, CalibrationIlluminant.D65)
    tags.set(Tag.AsShotNeutral, _rationals(RAW_NEUTRAL))
    tags.set(Tag.BaselineExposure, [[0, 100]])
    tags.set(Tag.Make, "Pixmill Bench")
    tags.set(Tag.Model, "Bayer 20MP")
    tags.set(Tag.UniqueCameraModel, "Pixmill Bench Bayer 20MP")
    tags.set(Tag.DateTime, f"2024:05:05 14:{index // 60 % 60:02d}:{index % 60:02d}")
    tags.set(Tag.DNGVersion, DNGVersion.V1_4)
    tags.set(Tag.DNGBackwardVersion, DNGVersion.V1_2)
    writer = RAW2DNG()
    writer.options(tags, path=os.path.dirname(path), compress=False)
    writer.convert(raw, filename=os.path.basename(path))
    return path


def _corpus_missing(names: Sequence[str]) -> list[str]:
    return [n for n in names if not (CORPUS / n).is_file()]


def _stamp_matches(stamp: Path, params: dict[str, object]) -> bool:
    try:
        return json.loads(stamp.read_text()) == params
    except (OSError, ValueError):
        return False


def _link_files(out: Path, name: str, files: Sequence[Path]) -> None:
    dst = _fresh_dir(out / "quick" / name)
    for src in files:
        os.link(src, dst / src.name)


def _copy_one(args: tuple[str, str]) -> None:
    shutil.copyfile(*args)


def build_small_many(out: Path, count: int, window: int) -> bool:
    """small_100k/: count copies of small/'s files in turn, one flat folder; small_20k/: hard
    links to its first `window` files. Rebuilt when small/ (its stamp) or the counts change."""
    from concurrent.futures import ThreadPoolExecutor

    stamp = out / "stamp-small100k.json"
    try:
        small_params = json.loads((out / "stamp.json").read_text())
    except (OSError, ValueError):
        small_params = None
    params = {"version": 1, "count": count, "window": window, "small": small_params}
    if _stamp_matches(stamp, params):
        return False
    stamp.unlink(missing_ok=True)
    t0 = time.monotonic()
    sources = sorted((out / "small").glob("*.png"))
    if not sources or count <= 0:
        return False
    folder = _fresh_dir(out / "small_100k")
    digits = max(6, len(str(count - 1)))
    pairs = [
        (str(sources[j % len(sources)]), str(folder / f"s{j:0{digits}d}.png")) for j in range(count)
    ]
    # copyfile is sendfile() here: the kernel does the copying, a few threads keep it busy.
    with ThreadPoolExecutor(4) as ex:
        for _ in ex.map(_copy_one, pairs, chunksize=500):
            pass
    w_dir = _fresh_dir(out / "small_20k")
    for _src, dst in pairs[:window]:
        os.link(dst, w_dir / os.path.basename(dst))
    _link_quick(out, QUICK_COUNTS_MANY)
    stamp.write_text(json.dumps(params, indent=2) + "\n")
    print(
        f"copied {count} small files to {folder}, linked {min(window, count)} in {w_dir} "
        f"({time.monotonic() - t0:.0f} s)"
    )
    return True


def build_heic(out: Path, synthetic: int, real: int, workers: int) -> bool | None:
    """heic/: synthetic HEICs and copies of the real one. None when the corpus is missing."""
    import pillow_heif

    missing = _corpus_missing([*CORPUS_JPEGS, CORPUS_HEIC])
    if missing:
        print(f"warning: no HEIC data (scenario H): missing in {CORPUS}: {', '.join(missing)}")
        return None
    stamp = out / "stamp-heic.json"
    params = {
        "version": 1,
        "seed": SEED,
        "synthetic": synthetic,
        "real": real,
        "size": list(HEIC_SIZE),
        "quality": HEIC_QUALITY,
        "sources": [str(CORPUS / n) for n in (*CORPUS_JPEGS, CORPUS_HEIC)],
        "pillow_heif": pillow_heif.__version__,
        "libheif": pillow_heif.libheif_version(),
    }
    if _stamp_matches(stamp, params):
        return False
    stamp.unlink(missing_ok=True)
    t0 = time.monotonic()
    folder = _fresh_dir(out / "heic")
    with mp.get_context("spawn").Pool(workers) as pool:
        pool.map(make_heic, [(i, str(folder / f"heic{i:03d}.heic")) for i in range(synthetic)], 1)
    reals = [folder / f"iphone{i:02d}.heic" for i in range(real)]
    for dst in reals:
        shutil.copyfile(CORPUS / CORPUS_HEIC, dst)
    synth = sorted(folder.glob("heic*.heic"))
    _link_files(out, "heic", [*synth[: QUICK_COUNTS_CORPUS["heic"] - 1], *reals[:1]])
    stamp.write_text(json.dumps(params, indent=2) + "\n")
    print(
        f"built {synthetic} HEICs (+{real} real copies) in {folder} ({time.monotonic() - t0:.0f} s)"
    )
    return True


def build_raw(out: Path, raws: int, previews: int, workers: int) -> bool | None:
    """raw/ (synthetic Bayer DNGs) and raw_preview/ (copies of the real camera DNG)."""
    missing = _corpus_missing([*CORPUS_JPEGS, CORPUS_DNG])
    if missing:
        print(f"warning: no RAW data (scenarios R, P): missing in {CORPUS}: {', '.join(missing)}")
        return None
    stamp = out / "stamp-raw.json"
    params = {
        "version": 1,
        "seed": SEED,
        "raws": raws,
        "previews": previews,
        "size": list(RAW_SIZE),
        "black_white": [RAW_BLACK, RAW_WHITE],
        "neutral": list(RAW_NEUTRAL),
        "sources": [str(CORPUS / n) for n in (*CORPUS_JPEGS, CORPUS_DNG)],
        "pidng": importlib.metadata.version("pidng"),
        "numpy": np.__version__,
    }
    if _stamp_matches(stamp, params):
        return False
    stamp.unlink(missing_ok=True)
    t0 = time.monotonic()
    folder = _fresh_dir(out / "raw")
    # About 1.5 GB of numpy arrays per 20 MP file at the peak: at most 2 at a time.
    with mp.get_context("spawn").Pool(min(workers, 2)) as pool:
        pool.map(make_raw, [(i, str(folder / f"raw{i:03d}.dng")) for i in range(raws)], 1)
    previews_dir = _fresh_dir(out / "raw_preview")
    for i in range(previews):
        shutil.copyfile(CORPUS / CORPUS_DNG, previews_dir / f"eos6d_{i:02d}.dng")
    made = sorted(folder.iterdir())
    portrait = [p for i, p in enumerate(made) if i % 4 == 3]
    _link_files(out, "raw", [made[0], *portrait[:1]][: QUICK_COUNTS_CORPUS["raw"]])
    _link_files(
        out, "raw_preview", sorted(previews_dir.iterdir())[: QUICK_COUNTS_CORPUS["raw_preview"]]
    )
    stamp.write_text(json.dumps(params, indent=2) + "\n")
    print(
        f"built {raws} DNGs in {folder} and {previews} copies of {CORPUS_DNG} in {previews_dir} "
        f"({time.monotonic() - t0:.0f} s)"
    )
    return True


def build_quality(out: Path) -> bool | None:
    """quality/ (scenario Q): copies of every JPEG in the corpus, unchanged (never links: the
    corpus is shared and read-only, and a link would make an in-place edit here its edit).
    None when the corpus has no JPEGs."""
    sources = sorted(p for p in CORPUS.glob("*.jpg") if p.is_file()) if CORPUS.is_dir() else []
    if not sources:
        print(f"warning: no quality-target data (scenario Q): no *.jpg in {CORPUS}")
        return None
    stamp = out / "stamp-quality.json"
    params = {
        "version": 1,
        "sources": [[str(p), p.stat().st_size, p.stat().st_mtime_ns] for p in sources],
    }
    if _stamp_matches(stamp, params):
        return False
    stamp.unlink(missing_ok=True)
    folder = _fresh_dir(out / "quality")
    for src in sources:
        shutil.copyfile(src, folder / src.name)
    copied = sorted(folder.iterdir())
    quick = [p for p in copied if p.name in QUICK_QUALITY] or copied
    _link_files(out, "quality", quick[: QUICK_COUNTS_CORPUS["quality"]])
    stamp.write_text(json.dumps(params, indent=2) + "\n")
    print(f"copied {len(sources)} corpus JPEGs to {folder}")
    return True


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


def _link_quick(out: Path, counts: dict[str, int]) -> None:
    """quick/NAME: hard links to the first files of each set named in counts (other sets'
    quick folders are left as they are)."""
    for name, count in counts.items():
        dst = _fresh_dir(out / "quick" / name)
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
    _link_quick(out, QUICK_COUNTS)
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
    ap.add_argument("--heic", type=int, default=int(os.environ.get("BENCH_HEIC", 20)))
    ap.add_argument("--heic-real", type=int, default=int(os.environ.get("BENCH_HEIC_REAL", 4)))
    ap.add_argument("--raws", type=int, default=int(os.environ.get("BENCH_RAWS", 8)))
    ap.add_argument(
        "--raw-previews", type=int, default=int(os.environ.get("BENCH_RAW_PREVIEWS", 12))
    )
    ap.add_argument(
        "--small-many", type=int, default=int(os.environ.get("BENCH_SMALL_MANY", SMALL_MANY))
    )
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    args = ap.parse_args(argv)
    built = [
        build(args.out, args.photos, args.pngs, args.small, args.workers),
        build_small_many(args.out, args.small_many, min(SMALL_W, args.small_many)),
        build_heic(args.out, args.heic, args.heic_real, args.workers),
        build_raw(args.out, args.raws, args.raw_previews, args.workers),
        build_quality(args.out),
    ]
    if not any(built):
        print(f"benchmark data in {args.out} is up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
