"""Write the torture corpus to a folder: valid images of every format Pixmill reads, and
truncated, bit-flipped, random, empty, bomb, lying-extension and awkwardly named variants.

    .venv/bin/python tests/torture/gen_corpus.py OUTDIR [--seed N] [--small] [--flood]

Prints how many files of each kind it wrote. Point `pixmill convert OUTDIR -o ...` at it.

Besides faultkit's corpus it writes HEIC/HEIF, JPEG XL and DNG files (made by
tests/samples.py) and their malformed variants: truncations, bit-flipped headers, random
bytes behind a valid ftyp box / JXL signature / TIFF header, empty files, and the "malformed"
kind: ISO BMFF boxes whose size field is 0 or whose body is removed, and DNGs whose CFA data
is cut short or misdescribed (see new_format_entries).
"""

from __future__ import annotations

import argparse
import collections
import importlib.util
import os
import random
import struct
import sys
import tempfile
from types import ModuleType

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from faultkit import corpus  # noqa: E402
from faultkit.corpus import Entry  # noqa: E402

#: Kinds this script adds to faultkit's corpus.KINDS.
NEW_KINDS = ("malformed",)
#: ISO BMFF boxes that hold other boxes (FullBox ones: bytes to skip before the children).
_CONTAINERS = {b"meta": 4, b"iprp": 0, b"ipco": 0, b"dinf": 0, b"iref": 4, b"iinf": 6}


def samples_module() -> ModuleType:
    """tests/samples.py, loaded by path (this script runs without the repo on sys.path)."""
    name = "pixmill_tests_samples"
    if name in sys.modules:
        return sys.modules[name]
    path = os.path.join(os.path.dirname(HERE), "samples.py")
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def new_format_valid() -> dict[str, bytes]:
    """file name -> bytes of small valid HEIC/HEIF, JPEG XL and DNG files."""
    s = samples_module()
    p3 = s.p3_profile()
    exif = s.exif_bytes({s.MAKE_TAG: "Pixmill", s.ORIENTATION_TAG: 1})
    makers = {
        "photo.heic": lambda p: s.heic(p, (48, 32)),
        "rotated.heic": lambda p: s.heic(p, orientation=6, thumbnail=True),
        "mirrored.hif": lambda p: s.heic(p, (40, 30), orientation=5),
        "deep10.heic": lambda p: s.heic(p, (48, 32), bit_depth=10),
        "multi.heic": lambda p: s.heic(p, (48, 32), extra_images=2, depth=True),
        "p3.heif": lambda p: s.heic(p, (48, 32), icc=p3, color=(255, 0, 0)),
        "photo.jxl": lambda p: s.jxl(p, (48, 32), exif=exif),
        "lossless.jxl": lambda p: s.jxl(p, (48, 32), lossless=True),
        "p3.jxl": lambda p: s.jxl(p, (48, 32), icc=p3),
        "photo.dng": lambda p: s.dng(p, (48, 32)),
        "rotated.dng": lambda p: s.dng(p, (48, 32), orientation=6, preview=True),
        "deep14.dng": lambda p: s.dng(p, (32, 24), bits=14, orientation=3),
    }
    out = {}
    with tempfile.TemporaryDirectory(prefix="pixmill-corpus-") as tmp:
        for name, make in makers.items():
            path = os.path.join(tmp, name)
            make(path)
            with open(path, "rb") as f:
                out[name] = f.read()
    return out


# --- ISO BMFF (HEIC, JPEG XL container) ------------------------------------------------------
def bmff_boxes(data: bytes) -> list[tuple[int, int, bytes, tuple[int, ...]]]:
    """Every box, depth first: (offset, size, type, offsets of its ancestors)."""
    found: list[tuple[int, int, bytes, tuple[int, ...]]] = []

    def walk(start: int, end: int, parents: tuple[int, ...]) -> None:
        i = start
        while i + 8 <= end:
            size, kind = struct.unpack_from(">I4s", data, i)
            if size == 1 or size < 8 or i + size > end:
                return  # 64-bit, to-the-end or broken sizes: stop here
            found.append((i, size, kind, parents))
            skip = _CONTAINERS.get(kind)
            if kind == b"iinf" and skip is not None and i + 8 < end:
                skip = 6 if data[i + 8] == 0 else 8
            if skip is not None:
                walk(i + 8 + skip, i + size, (*parents, i))
            i += size

    walk(0, len(data), ())
    return found


def bmff_zero_size(data: bytes, offset: int) -> bytes:
    """The box at offset with its size field set to 0 ("to the end of the file", which only
    a top-level box may say)."""
    return data[:offset] + b"\0\0\0\0" + data[offset + 4 :]


def bmff_emptied(data: bytes, offset: int, size: int, parents: tuple[int, ...]) -> bytes:
    """The box at offset with its body removed (an 8-byte box), its ancestors' sizes fixed:
    well-formed boxes, a box with nothing in it (and offsets after it off by the body)."""
    buf = bytearray(data[:offset] + struct.pack(">I", 8) + data[offset + 4 : offset + 8])
    buf += data[offset + size :]
    for p in parents:
        struct.pack_into(">I", buf, p, struct.unpack_from(">I", buf, p)[0] - (size - 8))
    return bytes(buf)


def heic_ispe_bomb(data: bytes, w: int = 60000, h: int = 60000) -> bytes:
    """A HEIC whose first ispe property declares w x h (the coded image stays small)."""
    for off, _size, kind, _parents in bmff_boxes(data):
        if kind == b"ispe":
            return data[: off + 12] + struct.pack(">II", w, h) + data[off + 20 :]
    raise ValueError("no ispe box")


# --- DNG (little-endian TIFF from pidng) ------------------------------------------------------
def tiff_ifd0(data: bytes) -> dict[int, tuple[int, int, int, int]]:
    """IFD0 of a little-endian TIFF: tag -> (entry offset, type, count, value or offset)."""
    ifd = struct.unpack_from("<I", data, 4)[0]
    out = {}
    for k in range(struct.unpack_from("<H", data, ifd)[0]):
        at = ifd + 2 + 12 * k
        tag, typ, count, value = struct.unpack_from("<HHII", data, at)
        if typ == 3 and count == 1:
            value &= 0xFFFF
        out[tag] = (at, typ, count, value)
    return out


def _set_long(data: bytes, entry: int, value: int, typ: int) -> bytes:
    packed = struct.pack("<HH", value, 0) if typ == 3 else struct.pack("<I", value)
    return data[: entry + 8] + packed + data[entry + 12 :]


def dng_variants(data: bytes) -> dict[str, tuple[str, bytes]]:
    """name -> (kind, bytes) of broken DNGs made from a valid, uncompressed one-tile DNG."""
    tags = tiff_ifd0(data)
    t_off = tags[324][3]  # TileOffsets
    t_len = tags[325][3]  # TileByteCounts
    out: dict[str, tuple[str, bytes]] = {}
    for frac in (4, 2):  # the file ends inside the CFA data (and loses what follows it)
        out[f"cfa-cut-1of{frac}"] = ("truncated", data[: t_off + t_len // frac])
    out["cfa-cut-last-row"] = ("truncated", data[: t_off + t_len - 7])
    entry, typ = tags[325][0], tags[325][1]
    out["cfa-count-half"] = ("malformed", _set_long(data, entry, t_len // 2, typ))
    out["cfa-count-zero"] = ("malformed", _set_long(data, entry, 0, typ))
    out["cfa-count-huge"] = ("malformed", _set_long(data, entry, 0x7FFFFFF0, typ))
    entry, typ = tags[324][0], tags[324][1]
    out["cfa-offset-past-end"] = ("malformed", _set_long(data, entry, len(data) + 4096, typ))
    entry, typ = tags[258][0], tags[258][1]
    out["bits-16-for-12"] = ("malformed", _set_long(data, entry, 16, typ))
    out["bits-zero"] = ("malformed", _set_long(data, entry, 0, typ))
    bomb = data
    for tag in (256, 257, 322, 323):  # ImageWidth/Length, TileWidth/Length
        entry, typ = tags[tag][0], tags[tag][1]
        bomb = _set_long(bomb, entry, 60000, typ)
    out["bomb-60000"] = ("bomb", bomb)
    entry, typ = tags[33421][0], tags[33421][1]  # CFARepeatPatternDim 2x2 -> 0x0
    out["cfa-pattern-dim-zero"] = ("malformed", data[: entry + 8] + bytes(4) + data[entry + 12 :])
    return out


def new_format_entries(seed: int = 0, small: bool = False) -> list[Entry]:
    """Valid HEIC/HEIF, JPEG XL and DNG files and their broken variants."""
    rng = random.Random(seed ^ 0x5EED)
    valid = new_format_valid()
    out = [Entry(n, d, "valid", n) for n, d in valid.items()]
    for name, data in valid.items():
        stem, ext = os.path.splitext(name)
        offsets = corpus.truncation_offsets(len(data))
        if small:
            offsets = sorted({offsets[0], offsets[len(offsets) // 3], offsets[-1]})
        for off in offsets:
            out.append(Entry(f"trunc-{stem}-{off}{ext}", data[:off], "truncated", name))
        for i, flipped in enumerate(corpus.bitflips(data, rng, 1 if small else 4)):
            out.append(Entry(f"flip-{stem}-{i}{ext}", flipped, "bitflip", name))
    # ISO BMFF boxes: size 0 and emptied, for every box of a HEIC and a JXL container
    for name in ("rotated.heic", "multi.heic", "photo.jxl", "p3.jxl"):
        data = valid[name]
        stem, ext = os.path.splitext(name)
        boxes = bmff_boxes(data)
        if small:
            boxes = boxes[::4]
        for off, size, kind, parents in boxes:
            label = kind.decode("latin-1").strip().replace(" ", "_") or "box"
            label = "".join(c if c.isalnum() or c == "_" else "x" for c in label)
            out.append(
                Entry(
                    f"zerobox-{stem}-{label}-{off}{ext}",
                    bmff_zero_size(data, off),
                    "malformed",
                    name,
                )
            )
            emptied = bmff_emptied(data, off, size, parents)
            out.append(Entry(f"emptybox-{stem}-{label}-{off}{ext}", emptied, "malformed", name))
    out.append(Entry("bomb-60000.heic", heic_ispe_bomb(valid["photo.heic"]), "bomb", "photo.heic"))
    # random bytes behind a valid signature
    heic_ftyp = valid["photo.heic"][: struct.unpack_from(">I", valid["photo.heic"])[0]]
    jxl_sig = valid["photo.jxl"][:12]
    signatures = {
        ".heic": heic_ftyp,
        ".heif": heic_ftyp + b"\0\0\x01\0meta\0\0\0\0",  # then a meta box of random children
        ".jxl": jxl_sig,
        ".dng": b"II*\0\x08\0\0\0",
    }
    for ext, head in signatures.items():
        for i in range(1 if small else 3):
            body = rng.randbytes(rng.randint(16, 4096))
            out.append(Entry(f"random-sig-{i}{ext}", head + body, "random", ext))
    codestream = b"\xff\x0a" + rng.randbytes(rng.randint(16, 2048))
    out.append(Entry("random-codestream.jxl", codestream, "random", ".jxl"))
    for ext in (".heic", ".heif", ".hif", ".jxl", ".dng"):
        out.append(Entry(f"random{ext}", rng.randbytes(rng.randint(1, 4096)), "random", ext))
        out.append(Entry(f"empty{ext}", b"", "empty", ext))
    for name in ("photo.dng", "deep14.dng"):
        stem = os.path.splitext(name)[0]
        for label, (kind, data) in dng_variants(valid[name]).items():
            out.append(Entry(f"{label}-{stem}.dng", data, kind, name))
    lying = [
        ("photo.heic", "heic-as.jpg"),
        ("photo.jxl", "jxl-as.png"),
        ("photo.dng", "dng-as.tif"),
        ("photo.heic", "heic-as.dng"),
    ]
    for src, name in lying:
        out.append(Entry(name, valid[src], "lying", src))
    jpeg = corpus.valid_images()["photo.jpg"]
    out.append(Entry("jpeg-as.dng", jpeg, "lying", "photo.jpg"))
    out.append(Entry("jpeg-as.heic", jpeg, "lying", "photo.jpg"))
    out.append(Entry("jpeg-as.jxl", jpeg, "lying", "photo.jpg"))
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("outdir")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--small", action="store_true", help="a quick subset (about 380 files)")
    p.add_argument("--flood", action="store_true", help="add an 8000x8000 all-black PNG")
    p.add_argument(
        "--no-new-formats",
        action="store_true",
        help="leave out the HEIC, JPEG XL and DNG files (faultkit's corpus only)",
    )
    args = p.parse_args(argv)
    entries = corpus.corpus(seed=args.seed, small=args.small)
    if not args.no_new_formats:
        entries += new_format_entries(seed=args.seed, small=args.small)
    if args.flood:
        entries += corpus.flood_entries()
    names = collections.Counter(e.name for e in entries)
    clashes = [n for n, c in names.items() if c > 1]
    if clashes:
        raise SystemExit(f"duplicate corpus names: {clashes[:5]}")
    corpus.write(entries, args.outdir)
    counts = collections.Counter(e.kind for e in entries)
    for kind in corpus.KINDS + NEW_KINDS:
        print(f"{kind:<10} {counts.get(kind, 0):>5}")
    print(f"{'total':<10} {len(entries):>5}  in {args.outdir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
