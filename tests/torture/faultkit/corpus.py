"""A torture corpus: small valid images of every format Pixmill reads, and corrupt or awkward
variants of them.

Every entry is deterministic for a seed. Kinds:
  valid       a good image (the base of every corruption)
  truncated   a valid file cut at an offset (many offsets per format)
  bitflip     a valid file with a few bits flipped in its header
  random      random bytes under an image extension
  empty       a zero-byte file under an image extension
  bomb        a header declaring a huge image (decompression bomb) with almost no data
  lying       a valid image under another format's extension
  awkward     a valid image under an awkward file name (unicode, spaces, leading dash, ...)

Run `python tests/torture/gen_corpus.py OUTDIR` to write one to disk.
"""

from __future__ import annotations

import io
import os
import random
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from PIL import Image

KINDS = ("valid", "truncated", "bitflip", "random", "empty", "bomb", "lying", "awkward")


@dataclass(frozen=True)
class Entry:
    """One corpus file: its name (str, or bytes for a name that is not valid UTF-8), content,
    kind, the format it was made from and whether a folder walk should pick it up."""

    name: str | bytes
    data: bytes
    kind: str
    base: str
    planned: bool = True

    def path_in(self, folder: str) -> str | bytes:
        if isinstance(self.name, bytes):
            return os.path.join(os.fsencode(folder), self.name)
        return os.path.join(folder, self.name)


def _pixels(w: int, h: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    r = 128 + 100 * np.sin(x / max(1.0, w / 5.0) + seed)
    g = 128 + 100 * np.cos(y / max(1.0, h / 4.0))
    b = 128 + 60 * np.sin((x + y) / max(1.0, w / 7.0))
    arr = np.stack([r, g, b], axis=-1) + rng.normal(0, 8, (h, w, 3))
    return arr.clip(0, 255).astype(np.uint8)


def photo(w: int = 48, h: int = 32, seed: int = 0, mode: str = "RGB") -> Image.Image:
    """A small photo-like image in the given mode."""
    im = Image.fromarray(_pixels(w, h, seed))
    if mode == "RGBA":
        im = im.copy()
        alpha = Image.linear_gradient("L").resize((w, h))
        im.putalpha(alpha)
        return im
    if mode == "I;16":
        arr = (_pixels(w, h, seed)[..., 0].astype(np.uint16) * 257).astype(np.uint16)
        return Image.fromarray(arr)  # uint16 -> I;16
    return im if mode == "RGB" else im.convert(mode)


def _save(im: Image.Image, fmt: str, **kw: object) -> bytes:
    buf = io.BytesIO()
    im.save(buf, format=fmt, **kw)
    return buf.getvalue()


def _frames(n: int, w: int = 40, h: int = 30) -> list[Image.Image]:
    return [photo(w, h, seed=10 + i) for i in range(n)]


def _psd(im: Image.Image) -> bytes:
    """A minimal uncompressed RGB Photoshop file (Pillow reads PSD but cannot write it)."""
    im = im.convert("RGB")
    w, h = im.size
    head = b"8BPS" + struct.pack(">H6xHIIHH", 1, 3, h, w, 8, 3)
    body = struct.pack(">III", 0, 0, 0) + struct.pack(">H", 0)
    planes = b"".join(band.tobytes() for band in im.split())
    return head + body + planes


def _im(im: Image.Image) -> bytes:
    """An RGB IFUNC IM file, written by hand: the bytes Pillow's IM writer gives, without the
    writer, which is deprecated (a DeprecationWarning on every save, removal in Pillow 15).
    Pixmill still reads .im, so the corpus keeps one; when Pillow drops the reader the engine
    must drop the extension, and this file's failures will say so."""
    im = im.convert("RGB")
    w, h = im.size
    head = f"Image type: RGB image\r\nImage size (x*y): {w}*{h}\r\n".encode("ascii")
    head += b"File size (no of images): 1\r\n"
    head += b"\0" * (511 - len(head)) + b"\x1a"
    bands = [band.tobytes() for band in im.split()]
    # Bottom row first; each row holds its red, then green, then blue line ("RGB;L").
    rows = (band[y * w : (y + 1) * w] for y in reversed(range(h)) for band in bands)
    return head + b"".join(rows)


def _exif_rotated_jpeg() -> bytes:
    im = photo(48, 32, seed=3)
    exif = Image.Exif()
    exif[0x0112] = 6
    return _save(im, "JPEG", quality=85, exif=exif.tobytes())


def valid_images() -> dict[str, bytes]:
    """file name -> bytes of a small valid image, one or more per readable format."""
    rgb = photo(48, 32, seed=1)
    out: dict[str, bytes] = {
        "photo.jpg": _save(rgb, "JPEG", quality=85),
        "progressive.jpeg": _save(rgb, "JPEG", quality=80, progressive=True),
        "cmyk.jpg": _save(rgb.convert("CMYK"), "JPEG", quality=85),
        "rotated.jpg": _exif_rotated_jpeg(),
        "rgb.png": _save(rgb, "PNG"),
        "alpha.png": _save(photo(48, 32, 2, "RGBA"), "PNG"),
        "palette.png": _save(rgb.convert("P", palette=Image.Palette.ADAPTIVE), "PNG"),
        "deep16.png": _save(photo(48, 32, 4, "I;16"), "PNG"),
        "grey.png": _save(rgb.convert("L"), "PNG"),
        "bilevel.png": _save(rgb.convert("1"), "PNG"),
        "anim.apng": _save(_frames(1)[0], "PNG", save_all=True, append_images=_frames(3)[1:]),
        "photo.webp": _save(rgb, "WEBP", quality=80),
        "anim.webp": _save(_frames(1)[0], "WEBP", save_all=True, append_images=_frames(3)[1:]),
        "photo.avif": _save(rgb, "AVIF", quality=60, speed=10),
        "lzw.tif": _save(rgb, "TIFF", compression="tiff_lzw"),
        "pages.tiff": _save(_frames(1)[0], "TIFF", save_all=True, append_images=_frames(2)[1:]),
        "photo.bmp": _save(rgb, "BMP"),
        "photo.dib": _save(rgb, "DIB"),
        "still.gif": _save(rgb.convert("P"), "GIF"),
        "anim.gif": _save(_frames(1)[0], "GIF", save_all=True, append_images=_frames(3)[1:]),
        "icon.ico": _save(photo(32, 32, 5), "ICO", sizes=[(32, 32), (16, 16)]),
        "photo.ppm": _save(rgb, "PPM"),
        "grey.pgm": _save(rgb.convert("L"), "PPM"),
        "bits.pbm": _save(rgb.convert("1"), "PPM"),
        "any.pnm": _save(rgb, "PPM"),
        "photo.tga": _save(rgb, "TGA"),
        "rle.tga": _save(rgb, "TGA", compression="tga_rle"),
        "photo.psd": _psd(rgb),
        "photo.pcx": _save(rgb, "PCX"),
        "photo.qoi": _save(rgb, "QOI"),
        "photo.sgi": _save(rgb, "SGI"),
        "photo.dds": _save(photo(32, 32, 6, "RGBA"), "DDS"),
        "photo.jp2": _save(rgb, "JPEG2000", irreversible=True),
        "photo.j2k": _save(rgb, "JPEG2000"),
        "photo.jpx": _save(rgb, "JPEG2000"),
        "photo.im": _im(rgb),
        "bits.xbm": _save(rgb.convert("1"), "XBM"),
    }
    return out


# --- corruptions -----------------------------------------------------------------------------
def truncation_offsets(n: int) -> list[int]:
    """Cut points: every small prefix the header parsers see, then fractions of the file."""
    fixed = [1, 2, 3, 4, 6, 8, 12, 16, 20, 24, 32, 48, 64, 100, 128, 200, 400]
    frac = [n // 8, n // 4, n // 3, n // 2, 2 * n // 3, 3 * n // 4, 7 * n // 8]
    tail = [n - 64, n - 16, n - 4, n - 2, n - 1]
    return sorted({o for o in fixed + frac + tail if 0 < o < n})


def bitflips(data: bytes, rng: random.Random, count: int) -> Iterator[bytes]:
    """count variants, each with 1 to 4 bits flipped in the first 64 bytes (the header)."""
    span = min(64, len(data))
    for _ in range(count):
        buf = bytearray(data)
        for _ in range(rng.randint(1, 4)):
            i = rng.randrange(span)
            buf[i] ^= 1 << rng.randrange(8)
        yield bytes(buf)


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_bomb(w: int, h: int) -> bytes:
    """A PNG whose IHDR declares w x h RGB pixels, with one tiny IDAT."""
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\0" * 1024)
    return (
        b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"")
    )


def png_flood(w: int, h: int) -> bytes:
    """A real, complete w x h black PNG: tiny on disk, big in memory (a zip bomb that is
    under the pixel limit)."""
    row = b"\0" + b"\0" * (w * 3)
    comp = zlib.compressobj(9)
    parts = [comp.compress(row) for _ in range(h)]
    parts.append(comp.flush())
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", ihdr)
        + _chunk(b"IDAT", b"".join(parts))
        + _chunk(b"IEND", b"")
    )


def gif_bomb(w: int, h: int) -> bytes:
    screen = struct.pack("<HHBBB", w, h, 0, 0, 0)
    desc = b"," + struct.pack("<HHHHB", 0, 0, w, h, 0)
    return b"GIF89a" + screen + desc + b"\x08\x02\x4c\x01\x00" + b";"


def bmp_bomb(w: int, h: int) -> bytes:
    info = struct.pack("<IiiHHIIiiII", 40, w, h, 1, 24, 0, 0, 2835, 2835, 0, 0)
    data = b"\0" * 64
    head = b"BM" + struct.pack("<IHHI", 14 + len(info) + len(data), 0, 0, 14 + len(info))
    return head + info + data


def tiff_bomb(w: int, h: int) -> bytes:
    entries = [
        (256, 4, 1, w),  # ImageWidth
        (257, 4, 1, h),  # ImageLength
        (258, 3, 1, 8),  # BitsPerSample
        (259, 3, 1, 1),  # Compression: none
        (262, 3, 1, 1),  # Photometric: black is zero
        (273, 4, 1, 8 + 2 + 10 * 12 + 4),  # StripOffsets: right after the IFD
        (277, 3, 1, 1),  # SamplesPerPixel
        (278, 4, 1, h),  # RowsPerStrip
        (279, 4, 1, w * h & 0xFFFFFFFF),  # StripByteCounts
        (284, 3, 1, 1),  # PlanarConfiguration
    ]
    ifd = struct.pack("<H", len(entries))
    for tag, typ, count, value in entries:
        packed = struct.pack("<H", value) + b"\0\0" if typ == 3 else struct.pack("<I", value)
        ifd += struct.pack("<HHI", tag, typ, count) + packed
    return b"II*\0" + struct.pack("<I", 8) + ifd + struct.pack("<I", 0) + b"\0" * 256


def jpeg_bomb(valid_jpeg: bytes, w: int = 65500, h: int = 65500) -> bytes:
    """A valid JPEG whose SOF marker is patched to declare w x h."""
    data = bytearray(valid_jpeg)
    i = 2
    while i + 9 < len(data):
        if data[i] != 0xFF:
            break
        marker = data[i + 1]
        length = struct.unpack(">H", data[i + 2 : i + 4])[0]
        if marker in (0xC0, 0xC1, 0xC2):
            data[i + 5 : i + 9] = struct.pack(">HH", h, w)
            return bytes(data)
        i += 2 + length
    raise ValueError("no SOF marker")


def webp_bomb(w: int = 16383, h: int = 16383) -> bytes:
    vp8x = bytes([0x10, 0, 0, 0]) + (w - 1).to_bytes(3, "little") + (h - 1).to_bytes(3, "little")
    body = b"WEBP" + b"VP8X" + struct.pack("<I", len(vp8x)) + vp8x
    return b"RIFF" + struct.pack("<I", len(body)) + body


def psd_bomb(w: int = 30000, h: int = 30000) -> bytes:
    head = b"8BPS" + struct.pack(">H6xHIIHH", 1, 3, h, w, 8, 3)
    return head + struct.pack(">IIIH", 0, 0, 0, 0) + b"\0" * 128


def qoi_bomb(w: int = 100000, h: int = 100000) -> bytes:
    return b"qoif" + struct.pack(">IIBB", w, h, 3, 0) + b"\0" * 64 + b"\0" * 7 + b"\1"


def bombs(valid: dict[str, bytes]) -> dict[str, bytes]:
    return {
        "bomb-100kx100k.png": png_bomb(100_000, 100_000),
        "bomb-max.png": png_bomb(0x7FFFFFFF, 0x7FFFFFFF),
        "bomb-under-limit.png": png_bomb(13_000, 13_000),
        "bomb-65535.gif": gif_bomb(65535, 65535),
        "bomb-50k.bmp": bmp_bomb(50_000, 50_000),
        "bomb-negative.bmp": bmp_bomb(50_000, -50_000),
        "bomb-100k.tif": tiff_bomb(100_000, 100_000),
        "bomb-65500.jpg": jpeg_bomb(valid["photo.jpg"]),
        "bomb-16383.webp": webp_bomb(),
        "bomb-30000.psd": psd_bomb(),
        "bomb-100k.qoi": qoi_bomb(),
        "bomb-100k.ppm": b"P6\n100000 100000\n255\n" + b"\0" * 64,
    }


LYING = [
    ("rgb.png", "png-as.jpg"),
    ("photo.jpg", "jpeg-as.png"),
    ("still.gif", "gif-as.webp"),
    ("photo.webp", "webp-as.gif"),
    ("lzw.tif", "tiff-as.bmp"),
    ("photo.bmp", "bmp-as.tif"),
    ("photo.avif", "avif-as.jpeg"),
    ("photo.psd", "psd-as.png"),
    ("rgb.png", "png-as.tiff"),
]

AWKWARD_NAMES: list[str | bytes] = [
    "unicode é 日本語 🖼.png",
    "with  spaces .jpg",
    "-leading-dash.png",
    "--help.png",
    "long_" + "x" * 240 + ".png",
    "new\nline.png",
    "tab\there.jpg",
    "quote'\"s.png",
    "percent%20{stem}.png",
    "trailing.dot..png",
    "UPPER.JPEG",
    "Mixed.PNG",
    "mixed.png",
    "same.png",
    "same.jpg",
    "combining-e\u0301.png",
    "ascii-\x7f-del.png",
    b"not-utf8-\xff\xfe.png",
]


def corpus(seed: int = 0, small: bool = False) -> list[Entry]:
    """The whole corpus (or, small=True, a quick subset for the pytest suite)."""
    rng = random.Random(seed)
    valid = valid_images()
    out: list[Entry] = [Entry(n, d, "valid", n) for n, d in valid.items()]
    for name, data in valid.items():
        stem, ext = os.path.splitext(name)
        offsets = truncation_offsets(len(data))
        if small:
            offsets = sorted({offsets[0], offsets[len(offsets) // 3], offsets[-1]})
        for off in offsets:
            out.append(Entry(f"trunc-{stem}-{off}{ext}", data[:off], "truncated", name))
        for i, flipped in enumerate(bitflips(data, rng, 1 if small else 4)):
            out.append(Entry(f"flip-{stem}-{i}{ext}", flipped, "bitflip", name))
    exts = sorted({os.path.splitext(n)[1] for n in valid})
    for ext in exts if not small else exts[::4]:
        out.append(Entry(f"random{ext}", rng.randbytes(rng.randint(1, 4096)), "random", ext))
        out.append(Entry(f"empty{ext}", b"", "empty", ext))
    for name, data in bombs(valid).items():
        out.append(Entry(name, data, "bomb", name))
    for src, name in LYING:
        out.append(Entry(name, valid[src], "lying", src))
    png = valid["rgb.png"]
    jpg = valid["photo.jpg"]
    for name in AWKWARD_NAMES:
        is_jpeg = (name.decode(errors="replace") if isinstance(name, bytes) else name).lower()
        data = jpg if is_jpeg.endswith((".jpg", ".jpeg")) else png
        out.append(Entry(name, data, "awkward", "awkward"))
    # A picture without an extension is found by its first bytes and converted.
    out.append(Entry("no_extension", png, "awkward", "noext"))
    # Not image files or hidden: a folder walk must leave them out (not planned).
    out.append(Entry(".hidden.png", png, "awkward", "hidden", planned=False))
    out.append(Entry("notes.txt", b"not an image\n", "awkward", "text", planned=False))
    return out


def write(entries: list[Entry], folder: str) -> list[str | bytes]:
    """Write entries into folder; returns their paths."""
    os.makedirs(folder, exist_ok=True)
    paths = []
    for e in entries:
        path = e.path_in(folder)
        with open(path, "wb") as f:
            f.write(e.data)
        paths.append(path)
    return paths


def flood_entries() -> list[Entry]:
    """Real images that are big in memory but tiny on disk (slow; torture runs only)."""
    return [Entry("flood-8000x8000.png", png_flood(8000, 8000), "bomb", "flood")]
