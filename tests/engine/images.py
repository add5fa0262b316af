"""Image-making and conversion helpers shared by the engine's conversion-side tests: jobs for
real files, a one-call conversion, and sources stored under each EXIF orientation."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageCms

from pixmill.engine.convert import convert_one
from pixmill.engine.job import Job, Source
from pixmill.engine.plan import plan_jobs
from pixmill.engine.recipe import Recipe
from tests.samples import TO_STORED

ORIENTATION_TAG = 0x0112
GPS_IFD = 0x8825
MAKE_TAG = 0x010F


def job_for(src: Path, out: Path, recipe: Recipe) -> Job:
    """The job the planner makes for one source file into the folder out."""
    st = src.stat()
    return plan_jobs([Source(str(src), None, st.st_size, st.st_mtime)], recipe, out)[0]


def open_output(path: str | Path) -> Image.Image:
    """An output file, decoded from a copy of its bytes: nothing keeps the file open (a
    multi-frame image would otherwise hold it until it is garbage-collected)."""
    im = Image.open(io.BytesIO(Path(path).read_bytes()))
    im.load()
    return im


def run(src: Path, out: Path, **recipe: Any) -> tuple[dict[str, Any], Image.Image | None]:
    """Convert src into the folder out with Recipe(**recipe): the result and the decoded
    output (None unless the status is ok)."""
    res = convert_one(job_for(src, out, Recipe(**recipe)))
    if res["status"] != "ok":
        return res, None
    return res, open_output(res["target"])


# The transpose that stores an upright picture so that EXIF orientation N gives it back.
STORE_FOR_ORIENTATION: dict[int, Image.Transpose | None] = {1: None, **TO_STORED}


def stored_for(upright: Image.Image, orientation: int) -> Image.Image:
    """`upright` turned the way a camera stores it under EXIF `orientation`."""
    op = STORE_FOR_ORIENTATION[orientation]
    return upright if op is None else upright.transpose(op)


def store_oriented(upright: Image.Image, path: Path, orientation: int, **save: Any) -> Path:
    """Save `upright` turned so that a viewer applying EXIF `orientation` shows it upright."""
    exif = Image.Exif()
    exif[ORIENTATION_TAG] = orientation
    stored_for(upright, orientation).save(path, exif=exif.tobytes(), **save)
    return path


def corner_marked(w: int = 60, h: int = 40) -> Image.Image:
    """A grey w x h picture with a red 10x10 top-left corner."""
    arr = np.full((h, w, 3), 200, np.uint8)
    arr[:10, :10] = (255, 0, 0)
    return Image.fromarray(arr)


def oriented_source(path: Path, orientation: int) -> Path:
    """A 60x40 upright image with a red top-left corner, stored as orientation N expects."""
    return store_oriented(corner_marked(), path, orientation, quality=95)


def exif_with_gps() -> bytes:
    """EXIF with a camera make, a date and a GPS latitude."""
    exif = Image.Exif()
    exif[MAKE_TAG] = "PixmillCam"
    exif[0x0132] = "2024:05:01 10:00:00"
    gps = exif.get_ifd(GPS_IFD)
    gps[1] = "N"
    gps[2] = (52.0, 30.0, 0.0)
    return exif.tobytes()


def srgb_profile() -> bytes:
    """The bytes of an sRGB ICC profile."""
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def bands(w: int = 300, h: int = 100) -> np.ndarray:
    """Left third red, middle green, right third blue."""
    arr = np.zeros((h, w, 3), np.uint8)
    arr[:, : w // 3, 0] = 255
    arr[:, w // 3 : 2 * w // 3, 1] = 255
    arr[:, 2 * w // 3 :, 2] = 255
    return arr


def near(px: tuple[int, ...], want: tuple[int, ...], tol: int = 3) -> bool:
    """Whether the first channels of pixel px are each within tol of want."""
    return all(abs(int(a) - int(b)) <= tol for a, b in zip(px, want, strict=False))


def frame_sizes(path: str | Path) -> list[tuple[int, int]]:
    """The size of every frame (or page) of an output file, in order."""
    im = open_output(path)
    sizes = []
    for k in range(getattr(im, "n_frames", 1)):
        im.seek(k)
        sizes.append(im.size)
    return sizes


def lzw_tiff_libtiff_complains_about(path: Path) -> Path:
    """A 64x64 LZW TIFF with two bytes of its strip changed: libtiff prints "Using code not
    yet in table." on the process's stderr (fd 2) while decoding it, and Pillow then fails
    with "decoder error -2"."""
    buf = io.BytesIO()
    Image.new("RGB", (64, 64), "red").save(buf, "TIFF", compression="tiff_lzw")
    data = bytearray(buf.getvalue())
    data[76] = 32
    data[138] = 60
    path.write_bytes(bytes(data))
    return path


def png_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    """A PNG file's chunks in order: (type, data)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    out, at = [], 8
    while at < len(data):
        length = int.from_bytes(data[at : at + 4], "big")
        out.append((data[at + 4 : at + 8], data[at + 8 : at + 8 + length]))
        at += 12 + length
    return out
