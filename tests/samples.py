"""Small test files in the formats the engine reads, written on demand by the tests.

Every generator writes one file to the path it is given and returns that path; each takes
well under 0.3 s (big_jpeg excepted). The pictures are made so that a test can check what a
decoder did with them:

* The *upright picture* (``upright_picture``): grey (128, 128, 128) with a red (255, 0, 0)
  bar over the top-left corner (left half of the width, top quarter of the height) and a blue
  (0, 0, 255) block over the bottom-right quarter. No rotation or mirror of it looks the same
  (``is_upright`` tells), so a test sees whether an orientation was applied, and how.
* ``heic`` and ``dng`` store the picture the way a camera does: the pixels as the sensor saw
  them plus an orientation, so a reader that applies the orientation gets the upright picture
  for every orientation 1-8.
* ``p3_profile`` and ``adobe_rgb_profile`` are real ICC v2 matrix/TRC profiles written here,
  for colour-management tests.

Measured with Pillow 13, pillow-heif 1.8.1 (libheif 1.23, x265 4.3, libde265 1.1.3),
pillow-jxl-plugin 1.3.8, rawpy 0.28 (LibRaw 0.22.2), pidng 4.0.9, LittleCMS through
PIL.ImageCms.
"""

from __future__ import annotations

import io
import os
import struct
import tempfile
import zlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

PathLike = str | os.PathLike[str]
RGB = tuple[int, int, int]

GREY: RGB = (128, 128, 128)
RED: RGB = (255, 0, 0)
GREEN: RGB = (0, 160, 0)
BLUE: RGB = (0, 0, 255)
#: Flat colours of a HEIC's extra top-level images, in order (then repeating).
EXTRA_COLOURS: tuple[RGB, ...] = ((0, 160, 0), (255, 200, 0), (0, 200, 200), (200, 0, 200))

ORIENTATION_TAG = 0x0112
MAKE_TAG = 0x010F
MODEL_TAG = 0x0110
DATETIME_TAG = 0x0132
DATETIME_ORIGINAL_TAG = 0x9003
EXIF_IFD_TAG = 0x8769

#: The transpose that takes an upright picture to what a file with that EXIF orientation
#: stores (the inverse of what a viewer applies: ImageOps.exif_transpose undoes it).
TO_STORED: dict[int, Image.Transpose] = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_90,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_270,
}


# --- the pictures ----------------------------------------------------------------------------
def upright_picture(size: tuple[int, int] = (64, 48), color: RGB | None = None) -> Image.Image:
    """The reference RGB picture (see the module docstring), or a flat ``color`` if given."""
    w, h = size
    if color is not None:
        return Image.new("RGB", size, tuple(color))
    im = Image.new("RGB", size, GREY)
    im.paste(RED, (0, 0, max(1, w // 2), max(1, h // 4)))
    im.paste(BLUE, (w // 2, h // 2, w, h))
    return im


def stored_picture(upright: Image.Image, orientation: int) -> Image.Image:
    """What a file with EXIF ``orientation`` stores so that a viewer shows ``upright``."""
    if orientation not in range(1, 9):
        raise ValueError(f"orientation must be 1-8, not {orientation}")
    method = TO_STORED.get(orientation)
    return upright.transpose(method) if method is not None else upright.copy()


def _nearest(px: Sequence[int]) -> str:
    names = {"red": RED, "blue": BLUE, "grey": GREY}
    rgb = np.array(px[:3], dtype=float)
    dist = {n: float(np.linalg.norm(rgb - np.array(c))) for n, c in names.items()}
    best = min(dist, key=dist.__getitem__)
    return best if dist[best] < 80 else "other"


def layout(im: Image.Image) -> tuple[str, str, str, str, str]:
    """Colour names ("red", "blue", "grey" or "other") sampled where the upright picture has
    red (top-left bar), grey (below the bar), grey (top right), grey (bottom left) and blue
    (bottom right), in that order. Size-relative, so it works on a resized copy too."""
    rgb = im.convert("RGB")
    w, h = rgb.size
    points = [(w / 4, h / 8), (w / 4, 3 * h / 8), (3 * w / 4, h / 8), (w / 4, 3 * h / 4)]
    points.append((3 * w / 4, 3 * h / 4))
    names = [_nearest(rgb.getpixel((int(x), int(y)))) for x, y in points]
    return names[0], names[1], names[2], names[3], names[4]


def is_upright(im: Image.Image) -> bool:
    """True if ``im`` shows the upright picture (not rotated or mirrored) at any size. Of the
    eight orientations of the picture only the upright one passes (test_samples checks)."""
    return layout(im) == ("red", "grey", "grey", "grey", "blue")


# --- ICC profiles ----------------------------------------------------------------------------
D50 = (0.9642, 1.0, 0.8249)  # the ICC profile connection space white
D65_XY = (0.3127, 0.3290)
BRADFORD = np.array(
    [[0.8951, 0.2664, -0.1614], [-0.7502, 1.7135, 0.0367], [0.0389, -0.0685, 1.0296]]
)
P3_PRIMARIES = ((0.680, 0.320), (0.265, 0.690), (0.150, 0.060))
ADOBE_RGB_PRIMARIES = ((0.640, 0.330), (0.210, 0.710), (0.150, 0.060))


def _xyz(xy: tuple[float, float]) -> np.ndarray:
    x, y = xy
    return np.array([x / y, 1.0, (1.0 - x - y) / y])


def rgb_to_xyz_d50(
    primaries: Sequence[tuple[float, float]], white: tuple[float, float] = D65_XY
) -> np.ndarray:
    """3x3 linear RGB -> XYZ (D50) matrix: the primaries scaled so RGB white gives the
    ``white`` point, then Bradford-adapted from that white to D50. Its columns are the
    rXYZ, gXYZ and bXYZ of an ICC profile."""
    m = np.stack([_xyz(p) for p in primaries], axis=1)
    w = _xyz(white)
    m = m * np.linalg.solve(m, w)
    cone = np.diag((BRADFORD @ np.array(D50)) / (BRADFORD @ w))
    return np.linalg.inv(BRADFORD) @ cone @ BRADFORD @ m


def _s15(v: float) -> bytes:
    return struct.pack(">i", round(v * 65536))


def _xyz_tag(v: Sequence[float]) -> bytes:
    return b"XYZ \0\0\0\0" + b"".join(_s15(c) for c in v)


def _desc_tag(text: str) -> bytes:
    ascii_ = text.encode("ascii") + b"\0"
    # textDescriptionType: ASCII, then an empty Unicode and an empty ScriptCode description.
    return b"desc\0\0\0\0" + struct.pack(">I", len(ascii_)) + ascii_ + bytes(8 + 3 + 67)


def _text_tag(text: str) -> bytes:
    return b"text\0\0\0\0" + text.encode("ascii") + b"\0"


def _curv_gamma(gamma: float) -> bytes:
    return b"curv\0\0\0\0" + struct.pack(">IH", 1, round(gamma * 256))


def _curv_srgb(n: int = 1024) -> bytes:
    x = np.linspace(0.0, 1.0, n)
    y = np.where(x <= 0.04045, x / 12.92, ((x + 0.055) / 1.055) ** 2.4)
    return b"curv\0\0\0\0" + struct.pack(">I", n) + np.round(y * 65535).astype(">u2").tobytes()


def icc_v2_profile(
    description: str,
    primaries: Sequence[tuple[float, float]],
    trc: bytes,
    white: tuple[float, float] = D65_XY,
) -> bytes:
    """An ICC v2.1 RGB display profile (matrix/TRC): desc, cprt, wtpt (the native white, as
    v2 display profiles carry it; LittleCMS reads a v2 display wtpt as D50 anyway), r/g/bXYZ
    adapted to D50 with Bradford, and one TRC (``trc``, a curv tag body) for all channels."""
    cols = rgb_to_xyz_d50(primaries, white)
    tags = [
        (b"desc", _desc_tag(description)),
        (b"cprt", _text_tag("No copyright, use freely")),
        (b"wtpt", _xyz_tag(_xyz(white))),
        (b"rXYZ", _xyz_tag(cols[:, 0])),
        (b"gXYZ", _xyz_tag(cols[:, 1])),
        (b"bXYZ", _xyz_tag(cols[:, 2])),
        (b"rTRC", trc),
        (b"gTRC", trc),
        (b"bTRC", trc),
    ]
    start = 128 + 4 + 12 * len(tags)
    table = struct.pack(">I", len(tags))
    data = b""
    placed: dict[bytes, int] = {}  # identical bodies (the three TRCs) are stored once
    for sig, body in tags:
        if body not in placed:
            placed[body] = start + len(data)
            data += body + bytes(-len(body) % 4)
        table += sig + struct.pack(">II", placed[body], len(body))
    size = start + len(data)
    header = struct.pack(
        ">I4sI4s4s4s6H4s4sI4s4s8sI",
        size,
        b"\0\0\0\0",  # preferred CMM
        0x02100000,  # version 2.1
        b"mntr",
        b"RGB ",
        b"XYZ ",
        *(2026, 1, 1, 0, 0, 0),  # creation date, fixed so the bytes are reproducible
        b"acsp",
        b"\0\0\0\0",  # platform
        0,  # flags
        b"\0\0\0\0",  # manufacturer
        b"\0\0\0\0",  # model
        bytes(8),  # attributes
        0,  # rendering intent: perceptual
    )
    header += b"".join(_s15(c) for c in D50) + bytes(4 + 16 + 28)  # creator, ID, reserved
    assert len(header) == 128
    return header + table + data


def p3_profile() -> bytes:
    """Display P3 as an ICC v2 profile: P3 primaries, D65 white, the sRGB tone curve (a
    1024-entry curv). Colorants (D50): r 0.5151 0.2412 -0.0011, g 0.2920 0.6922 0.0419,
    b 0.1571 0.0666 0.7841, as in Apple's Display P3 profile.

    Measured with ImageCms.profileToProfile (LittleCMS, relative colorimetric):
      P3 (255, 0, 0) -> sRGB (255, 0, 0)   (P3 red is outside sRGB: clipped)
      P3 (0, 255, 0) -> sRGB (0, 255, 0)   (clipped too)
      P3 (200, 100, 50) -> sRGB (215, 93, 31)   (inside sRGB: no clipping)
      P3 (234, 51, 35) -> sRGB (255, 0, 0) about (the round trip of sRGB red)
      sRGB (255, 0, 0) -> P3 (234, 51, 35)
      sRGB (0, 255, 0) -> P3 (117, 251, 76)
      grey stays grey: (128, 128, 128) both ways.
    """
    return icc_v2_profile("Display P3 (Pixmill test)", P3_PRIMARIES, _curv_srgb())


def adobe_rgb_profile() -> bytes:
    """Adobe RGB (1998) as an ICC v2 profile: its primaries, D65 white, gamma 563/256
    (2.19921875, the curv value Adobe's own profile has). Colorants (D50): r 0.6097 0.3111
    0.0195, g 0.2053 0.6257 0.0609, b 0.1492 0.0632 0.7446.

    Measured with ImageCms.profileToProfile (LittleCMS, relative colorimetric):
      Adobe (255, 0, 0) -> sRGB (255, 0, 0); Adobe (0, 255, 0) -> sRGB (0, 255, 0) (clipped)
      Adobe (200, 100, 50) -> sRGB (227, 100, 42)
      sRGB (255, 0, 0) -> Adobe (219, 0, 0)
      sRGB (0, 255, 0) -> Adobe (144, 255, 60)
      Adobe (128, 128, 128) -> sRGB (129, 129, 129) (gamma 2.2 vs the sRGB curve)
    """
    return icc_v2_profile("Adobe RGB (1998) (Pixmill test)", ADOBE_RGB_PRIMARIES, _curv_gamma(2.2))


# --- HEIC ------------------------------------------------------------------------------------
DEPTH_AUX_TYPE = b"urn:mpeg:hevc:2015:auxid:2"


def exif_bytes(tags: dict[int, object]) -> bytes:
    """An EXIF block (TIFF bytes, as Pillow's ``exif=`` takes them) with these IFD0 tags."""
    exif = Image.Exif()
    for tag, value in tags.items():
        exif[tag] = value
    return exif.tobytes()


def heic(
    path: PathLike,
    size: tuple[int, int] = (64, 48),
    *,
    orientation: int = 1,
    icc: bytes | None = None,
    exif_make: str | None = "Pixmill",
    xmp: bytes | None = None,
    bit_depth: int = 8,
    quality: int = 90,
    thumbnail: bool = False,
    depth: bool = False,
    extra_images: int = 0,
    color: RGB | None = None,
) -> Path:
    """A HEIC (HEVC in HEIF) written with pillow_heif, stored like an iPhone stores it.

    ``size`` is the upright (displayed) size. The pixels are the upright picture (or a flat
    ``color``) turned into what the sensor saw (``stored_picture``), and the file carries
    both the HEIF transform (irot/imir properties) and EXIF Orientation = ``orientation``
    (written for 1 too; Make = ``exif_make`` unless None). pillow_heif does this by itself:
    given EXIF with Orientation N it passes N to libheif as the image orientation, which
    writes irot/imir and leaves the pixels alone. On decode libheif applies irot/imir, and
    pillow_heif sets the EXIF Orientation in ``info["exif"]`` to 1 and reports the original
    in ``info["original_orientation"]``: N for 2-8, None for 1 (it reports only a non-1
    value). So ``Image.open`` gives the upright picture, ``is_upright`` is true, and
    ``ImageOps.exif_transpose`` has nothing left to do. Orientations: 2 and 4 give imir,
    3, 6 and 8 irot, 5 and 7 both.

    ``bit_depth`` 8, 10 or 12: the deeper ones are written from 16-bit "RGB;16" data (value
    v * 257); the Pillow plugin still decodes them to 8-bit "RGB", with
    ``info["bit_depth"]`` 10 or 12 (8 otherwise); ``pillow_heif.open_heif(...,
    convert_hdr_to_8bit=False)`` gives mode "RGB;16". ``icc`` is stored as a colr "prof" box
    and read back byte-identical in ``info["icc_profile"]``; a file with it has no nclx box
    (``info.get("nclx_profile")`` is None), one without it has pillow_heif's default nclx.
    ``xmp`` lands in ``info["xmp"]``. ``quality`` -1 is x265's lossless mode.
    ``thumbnail``: an embedded thumbnail whose longer side is max(size) // 2
    (``info["thumbnails"]`` == [that side]; without it []).
    ``extra_images``: more top-level images after the primary (the first one, which Pillow
    shows); image k (1-based) is a flat ``EXTRA_COLOURS[k - 1]``, (16 + 8k) x (16 + 4k),
    upright, no metadata; ``n_frames`` is 1 + extra_images and only frame 0 has
    ``info["primary"]`` True.
    ``depth``: a depth map attached to the primary as an auxiliary image: mode L, a ramp
    from 0 (top left) to 255 (bottom right) in raster order, half the stored size (no irot
    of its own: (32, 24) for a 64x48 picture with orientation 1, (24, 32) with 6 or 8).
    pillow_heif has no API to write one, so it is encoded as one more image, then made
    auxiliary by editing the boxes (an auxC property with the HEVC depth URN and an 'auxl'
    reference to the primary); libheif then lists it in ``info["depth_images"]`` (one
    HeifDepthImage; ``.to_pillow()``) and not as a top-level image, so ``n_frames`` does not
    count it.
    """
    import pillow_heif

    if bit_depth not in (8, 10, 12):
        raise ValueError("bit_depth must be 8, 10 or 12")
    stored = stored_picture(upright_picture(size, color), orientation)

    def frombytes(hf: pillow_heif.HeifFile | None, im: Image.Image) -> pillow_heif.HeifFile:
        if bit_depth == 8:
            mode, data = "RGB", im.tobytes()
        else:
            mode, data = "RGB;16", (np.asarray(im).astype(np.uint16) * 257).tobytes()
        if hf is None:
            return pillow_heif.from_bytes(mode, im.size, data)
        hf.add_frombytes(mode, im.size, data)
        return hf

    hf = frombytes(None, stored)
    for k in range(1, extra_images + 1):
        frombytes(hf, Image.new("RGB", (16 + 8 * k, 16 + 4 * k), EXTRA_COLOURS[(k - 1) % 4]))
    if depth:
        dw, dh = max(8, stored.width // 2), max(8, stored.height // 2)
        ramp = np.linspace(0, 255, dw * dh).reshape(dh, dw).astype(np.uint8)
        hf.add_frombytes("L", (dw, dh), ramp.tobytes())
    tags: dict[int, object] = {ORIENTATION_TAG: orientation}
    if exif_make is not None:
        tags[MAKE_TAG] = exif_make
    save: dict[str, object] = {"quality": quality, "exif": exif_bytes(tags)}
    if bit_depth == 12:
        save["bit_depth"] = 12
    if icc is not None:
        save["icc_profile"] = icc
    if xmp is not None:
        save["xmp"] = xmp
    if thumbnail:
        save["thumbnails"] = [max(size) // 2]
    buf = io.BytesIO()
    hf.save(buf, **save)
    data = buf.getvalue()
    if depth:
        data = _heif_make_auxiliary(data, DEPTH_AUX_TYPE)
    out = Path(path)
    out.write_bytes(data)
    return out


# ISOBMFF boxes: (start, header length, size, type) of the boxes in data[start:end].
def _boxes(data: bytes, start: int, end: int) -> list[tuple[int, int, int, bytes]]:
    out = []
    i = start
    while i + 8 <= end:
        size, kind = struct.unpack_from(">I4s", data, i)
        head = 8
        if size == 1:
            size = struct.unpack_from(">Q", data, i + 8)[0]
            head = 16
        elif size == 0:
            size = end - i
        if size < head or i + size > end:
            raise ValueError(f"bad box {kind!r} at {i}")
        out.append((i, head, size, kind))
        i += size
    return out


def _box(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I4s", 8 + len(body), kind) + body


def _child(data: bytes, parent: tuple[int, int, int, bytes], kind: bytes, skip: int = 0):
    start, head, size, _ = parent
    for box in _boxes(data, start + head + skip, start + size):
        if box[3] == kind:
            return box
    return None


def _heif_make_auxiliary(data: bytes, aux_type: bytes) -> bytes:
    """Turn the last image item of a HEIF written by libheif (no grids) into an auxiliary
    image of the primary (the pitm item): add an auxC property naming ``aux_type``,
    associate it, add an 'auxl' reference, and shift the iloc offsets by the growth of the
    meta box (libheif writes meta before mdat, iloc version 0/1 with file offsets)."""
    top = _boxes(data, 0, len(data))
    meta = next(b for b in top if b[3] == b"meta")
    if any(b[3] == b"mdat" and b[0] < meta[0] for b in top):
        raise ValueError("mdat before meta: not a layout this editor handles")
    m_start, m_head, m_size, _ = meta
    iinf = _child(data, meta, b"iinf", 4)
    pitm = _child(data, meta, b"pitm", 4)
    iprp = _child(data, meta, b"iprp", 4)
    iloc = _child(data, meta, b"iloc", 4)
    iref = _child(data, meta, b"iref", 4)
    if not (iinf and pitm and iprp and iloc):
        raise ValueError("meta box lacks iinf, pitm, iprp or iloc")
    ipco = _child(data, iprp, b"ipco")
    ipma = _child(data, iprp, b"ipma")
    if not (ipco and ipma):
        raise ValueError("iprp lacks ipco or ipma")
    # the image items, in order (infe version 2 or 3 with an item type)
    inf_v = data[iinf[0] + iinf[1]]
    first = iinf[0] + iinf[1] + 4 + (2 if inf_v == 0 else 4)
    images = []
    for start, head, _size, kind in _boxes(data, first, iinf[0] + iinf[2]):
        ver = data[start + head]
        if kind != b"infe" or ver < 2:
            continue
        id_fmt, id_len = (">H", 2) if ver == 2 else (">I", 4)
        item_id = struct.unpack_from(id_fmt, data, start + head + 4)[0]
        item_type = data[start + head + 6 + id_len : start + head + 10 + id_len]
        if item_type in (b"hvc1", b"av01", b"grid"):
            images.append(item_id)
    pv = data[pitm[0] + pitm[1]]
    primary = struct.unpack_from(">H" if pv == 0 else ">I", data, pitm[0] + pitm[1] + 4)[0]
    aux_id = images[-1]
    if aux_id == primary:
        raise ValueError("the last image is the primary")
    # 1. the property
    n_props = len(_boxes(data, ipco[0] + ipco[1], ipco[0] + ipco[2]))
    prop = _box(b"auxC", bytes(4) + aux_type + b"\0")
    prop_index = n_props + 1
    new_ipco = data[ipco[0] : ipco[0] + ipco[2]] + prop
    new_ipco = struct.pack(">I", len(new_ipco)) + new_ipco[4:]
    # 2. its association
    body = data[ipma[0] + ipma[1] : ipma[0] + ipma[2]]
    version, flags = body[0], int.from_bytes(body[1:4], "big")
    entries = struct.unpack_from(">I", body, 4)[0]
    pos = 8
    id_fmt, id_len = (">H", 2) if version < 1 else (">I", 4)
    wide = flags & 1
    out = bytearray(body[:8])
    for _ in range(entries):
        item = struct.unpack_from(id_fmt, body, pos)[0]
        n = body[pos + id_len]
        assoc_len = n * (2 if wide else 1)
        assoc = body[pos + id_len + 1 : pos + id_len + 1 + assoc_len]
        if item == aux_id:
            assoc += struct.pack(">H", prop_index) if wide else bytes([prop_index])
            n += 1
        out += struct.pack(id_fmt, item) + bytes([n]) + assoc
        pos += id_len + 1 + assoc_len
    if prop_index > (0x7FFF if wide else 0x7F):
        raise ValueError("too many properties for this ipma")
    new_ipma = _box(b"ipma", bytes(out))
    new_iprp = _box(b"iprp", _rebuild(data, iprp, {b"ipco": new_ipco, b"ipma": new_ipma}))
    # 3. the reference
    ref = _box(b"auxl", struct.pack(">HHH", aux_id, 1, primary))
    if iref is not None:
        if data[iref[0] + iref[1]] != 0:
            raise ValueError("iref version 1 not handled")
        new_iref = _box(b"iref", data[iref[0] + iref[1] : iref[0] + iref[2]] + ref)
    else:
        new_iref = _box(b"iref", bytes(4) + ref)
    replace = {b"iprp": new_iprp, b"iref": new_iref}
    meta_body = _rebuild(data, meta, replace, skip=4)
    if iref is None:
        meta_body += new_iref
    new_meta = _box(b"meta", meta_body)
    delta = len(new_meta) - m_size
    new_meta = _shift_iloc(new_meta, delta)
    return data[:m_start] + new_meta + data[m_start + m_size :]


def _rebuild(data: bytes, parent, replace: dict[bytes, bytes], skip: int = 0) -> bytes:
    """The body of ``parent`` with its children of the given types replaced."""
    start, head, size, _ = parent
    body = data[start + head : start + head + skip]
    for c_start, _h, c_size, kind in _boxes(data, start + head + skip, start + size):
        body += replace.get(kind, data[c_start : c_start + c_size])
    return body


def _shift_iloc(meta: bytes, delta: int) -> bytes:
    """meta (a whole box) with every iloc extent offset moved by delta."""
    box = (0, 8, len(meta), b"meta")
    iloc = _child(meta, box, b"iloc", 4)
    assert iloc is not None
    b = bytearray(meta)
    p = iloc[0] + iloc[1]
    version = b[p]
    offset_size, length_size = b[p + 4] >> 4, b[p + 4] & 15
    base_size, index_size = b[p + 5] >> 4, (b[p + 5] & 15 if version in (1, 2) else 0)
    p += 6
    if version < 2:
        items = struct.unpack_from(">H", b, p)[0]
        p += 2
    else:
        items = struct.unpack_from(">I", b, p)[0]
        p += 4
    sizes = {0: None, 4: ">I", 8: ">Q"}
    for _ in range(items):
        p += 2 if version < 2 else 4  # item ID
        method = 0
        if version in (1, 2):
            method = b[p + 1] & 15
            p += 2
        p += 2  # data reference index
        base = 0
        if base_size:
            base = struct.unpack_from(sizes[base_size], b, p)[0]
        base_at = p
        p += base_size
        extents = struct.unpack_from(">H", b, p)[0]
        p += 2
        if method == 0 and base_size:
            struct.pack_into(sizes[base_size], b, base_at, base + delta)
        for _ in range(extents):
            p += index_size
            if method == 0 and offset_size and not base_size:
                fmt = sizes[offset_size]
                struct.pack_into(fmt, b, p, struct.unpack_from(fmt, b, p)[0] + delta)
            p += offset_size + length_size
    return bytes(b)


# --- JPEG XL ---------------------------------------------------------------------------------
def jxl(
    path: PathLike,
    size: tuple[int, int] = (64, 48),
    *,
    icc: bytes | None = None,
    exif: Image.Exif | bytes | None = None,
    lossless: bool = False,
    color: RGB | None = None,
) -> Path:
    """A JPEG XL file of the upright picture (or a flat ``color``) written with pillow_jxl.

    What pillow_jxl 1.3.8 writes and reads back:
      * EXIF: written to an Exif box; read back into ``info["exif"]`` (``getexif()`` works).
      * XMP: written (``xmp=`` on save) but never read back: no ``info["xmp"]``.
      * ICC: its encoder takes no profile at all. A plain JXL decodes with
        ``info["icc_profile"]`` set to a 504-byte sRGB profile that the decoder (jxl-oxide)
        synthesises from the codestream's colour encoding, whatever the source was.
    So with ``icc`` the file is made the one way pillow_jxl can keep a profile: a JPEG
    (quality 95, with the profile and EXIF) losslessly recompressed to JPEG XL (a jbrd box,
    ``lossless_jpeg=True``); it decodes by rebuilding that JPEG, so ``info`` is the JPEG's
    (``icc_profile`` byte-identical, exif, jfif keys) and the pixels are the JPEG's.
    ``lossless`` (modular, exact pixels) cannot be combined with ``icc``.
    Mode RGB, size ``size``, ``n_frames`` 1. Without ``exif`` and ``icc`` the file is a bare
    codestream (FF 0A ...); with them it is a container: boxes 'JXL ' (00 00 00 0C 'JXL '
    0D 0A 87 0A), ftyp, jxlp, Exif, jxlp (with ``icc``: jxlp, jbrd, jxlp; the JPEG's EXIF is
    inside the jbrd data).
    """
    import pillow_jxl  # noqa: F401 - registers the JXL plugin

    im = upright_picture(size, color)
    exif_data = exif.tobytes() if isinstance(exif, Image.Exif) else exif
    out = Path(path)
    buf = io.BytesIO()
    if icc is None:
        kw: dict[str, object] = {"lossless": lossless, "quality": 90}
        if exif_data:
            kw["exif"] = exif_data
        im.save(buf, format="JXL", **kw)
    else:
        if lossless:
            raise ValueError("pillow_jxl cannot write an ICC profile into a lossless JXL")
        kw = {"quality": 95, "icc_profile": icc}
        if exif_data:
            kw["exif"] = exif_data
        # The plugin recompresses a JPEG only from a file it can reopen (im.filename).
        fd, tmp = tempfile.mkstemp(suffix=".jpg", dir=out.parent)
        os.close(fd)
        try:
            im.save(tmp, format="JPEG", **kw)
            with Image.open(tmp) as jpeg:
                jpeg.save(buf, format="JXL", lossless_jpeg=True)
        finally:
            os.unlink(tmp)
    out.write_bytes(buf.getvalue())
    return out


# --- DNG -------------------------------------------------------------------------------------
#: XYZ (D65) -> linear sRGB: the DNG's ColorMatrix1, so the "camera" sees linear sRGB and
#: LibRaw's camera -> sRGB matrix comes out the identity.
XYZ_TO_LINEAR_SRGB = (
    (3.2404542, -1.5371385, -0.4985314),
    (-0.9692660, 1.8760108, 0.0415560),
    (0.0556434, -0.2040259, 1.0572252),
)
#: Linear sensor levels (0-1 of the range above black) of the DNG scene, before white balance.
DNG_SCENE = {
    "red": (0.40, 0.10, 0.10 / 1.5),
    "green": (0.05, 0.50, 0.10 / 1.5),
    "blue": (0.05, 0.10, 0.50 / 1.5),
}


def dng_scene(size: tuple[int, int] = (64, 48)) -> np.ndarray:
    """The upright DNG scene, linear, float (h, w, 3): top quarter "blue", then the left
    half "red" and the right half "green" (``DNG_SCENE`` levels, before white balance)."""
    w, h = size
    scene = np.empty((h, w, 3))
    scene[:, : w // 2] = DNG_SCENE["red"]
    scene[:, w // 2 :] = DNG_SCENE["green"]
    scene[: h // 4] = DNG_SCENE["blue"]
    return scene


def _mosaic_rggb(scene: np.ndarray) -> np.ndarray:
    cfa = np.empty(scene.shape[:2])
    cfa[0::2, 0::2] = scene[0::2, 0::2, 0]
    cfa[0::2, 1::2] = scene[0::2, 1::2, 1]
    cfa[1::2, 0::2] = scene[1::2, 0::2, 1]
    cfa[1::2, 1::2] = scene[1::2, 1::2, 2]
    return cfa


def _srational(values: Sequence[float], den: int = 10000) -> list[tuple[int, int]]:
    return [(round(v * den), den) for v in values]


def _append_ifd(
    buf: bytearray, tags: list, data: bytes = b"", offset_tag: object = None
) -> tuple[int, int]:
    """Append a TIFF IFD built with pidng (and then ``data``) to buf; returns the offsets of
    the IFD and of data. ``offset_tag`` (one of tags, a one-LONG tag) is set to data's
    offset."""
    from pidng.dng import dngIFD

    ifd = dngIFD()
    ifd.tags.extend(tags)
    start = len(buf) + (-len(buf) % 4)
    buf.extend(bytes(start - len(buf)))
    at = start + ifd.dataLen()
    if offset_tag is not None:
        offset_tag.setValue([at])
    buf.extend(bytes(at - start))
    ifd.setBuffer(buf, start)
    ifd.write()
    buf.extend(data)
    return start, at


def _ifd0_entry(buf: bytearray, tag_id: int) -> int:
    """Offset of the 12-byte IFD0 entry of tag_id in a little-endian TIFF."""
    ifd0 = struct.unpack_from("<I", buf, 4)[0]
    for k in range(struct.unpack_from("<H", buf, ifd0)[0]):
        at = ifd0 + 2 + 12 * k
        if struct.unpack_from("<H", buf, at)[0] == tag_id:
            return at
    raise KeyError(tag_id)


def dng(
    path: PathLike,
    size: tuple[int, int] = (64, 48),
    *,
    make: str = "Pixmill",
    model: str = "Test",
    orientation: int = 1,
    bits: int = 12,
    wb: tuple[float, float, float] = (2.0, 1.0, 1.5),
    datetime: str = "2026:01:02 03:04:05",
    preview: bool = False,
) -> Path:
    """A real Bayer (RGGB) DNG written with pidng, which LibRaw (rawpy) opens and demosaics.

    ``size`` is the upright size (even width and height). The scene is ``dng_scene``: top
    quarter blue, below it the left half red and the right half green. As in ``heic``, the
    sensor data is that scene turned into what the sensor saw, with TIFF Orientation =
    ``orientation``; LibRaw applies it (``raw.sizes.flip``: 1->0, 2->1, 3->3, 4->2, 5->4,
    6->6, 7->7, 8->5), so ``raw.postprocess()`` is upright, (h, w, 3), whatever the
    orientation, while ``raw.sizes.width``/``height``/``raw_width`` are the stored ones
    (w and h swapped for 5-8).

    Sensor levels: black 64 << (bits - 12) (16 for 10 bits, 0 for 8), white (1 << bits) - 1;
    ``bits``
    8, 10, 12 (pidng packs them) or 14 and 16 (stored as 16-bit samples; pidng's 14-bit
    packer is broken), so ``raw.white_level`` is (1 << bits) - 1. ``wb`` are the as-shot
    multipliers (AsShotNeutral = 1 / wb): ``raw.camera_whitebalance`` == [*wb, 0.0].
    ColorMatrix1 is XYZ -> linear sRGB (D65), so ``raw.color_matrix`` is about the identity
    and ``raw.daylight_whitebalance`` about [1, 1, 1, 0]. With ``use_camera_wb=True`` the
    default postprocess gives about (85, 202, 85) for the green half, (255, 84, 85) for the
    red half and (85, 84, 247) for the blue band (auto-brightened, sRGB gamma).

    Metadata: IFD0 has Make, Model, UniqueCameraModel "<make> <model>", Orientation,
    DateTime = ``datetime``, Software "PiDNG", and an EXIF IFD (0x8769) with
    DateTimeOriginal = ``datetime``. rawpy exposes only the time (``raw.other.timestamp``,
    a datetime) and the flip; not Make or Model (``raw.lens`` is empty). Pillow cannot open
    a DNG (UnidentifiedImageError), but ``Image.Exif().load(data)`` reads IFD0 (Make 271,
    Model 272, Orientation 274) and ``get_ifd(0x8769)`` the EXIF IFD.

    ``preview``: a baseline JPEG preview (full stored size, quality 85) in a second IFD
    chained after IFD0 (NewSubfileType 1, JPEG-compressed YCbCr), which
    ``raw.extract_thumb()`` returns (format JPEG). It shows the scene in plain sRGB colours
    (red, green, blue) plus a yellow (255, 255, 0) square in the middle, in the stored
    orientation (like the raw data: the reader applies Orientation), so a test can tell the
    preview from a demosaic. pidng itself writes one IFD only; the preview and EXIF IFDs are
    built with pidng's IFD writer and linked here.
    """
    from pidng.core import RAW2DNG
    from pidng.defs import CalibrationIlluminant, CFAPattern, PhotometricInterpretation
    from pidng.dng import DNGTags, Tag, Type, dngTag

    w, h = size
    if w % 2 or h % 2 or w < 4 or h < 4:
        raise ValueError("a Bayer DNG needs an even width and height of at least 4")
    if bits not in (8, 10, 12, 14, 16):
        raise ValueError("bits must be 8, 10, 12, 14 or 16")
    if orientation not in range(1, 9):
        raise ValueError(f"orientation must be 1-8, not {orientation}")
    scene = dng_scene(size)
    method = TO_STORED.get(orientation)
    if method is not None:
        scene = np.asarray(_transpose_array(scene, method))
    sh, sw = scene.shape[:2]
    if bits == 10 and sw % 4:
        raise ValueError("10-bit packing needs a stored width divisible by 4")
    white = (1 << bits) - 1
    black = 64 << (bits - 12) if bits >= 12 else 16 if bits == 10 else 0
    raw = np.round(black + _mosaic_rggb(scene) * (white - black)).astype(np.uint16)
    stored_bits = 16 if bits == 14 else bits

    t = DNGTags()
    t.set(Tag.ImageWidth, sw)
    t.set(Tag.ImageLength, sh)
    t.set(Tag.TileWidth, sw)
    t.set(Tag.TileLength, sh)
    t.set(Tag.Orientation, orientation)
    t.set(Tag.PhotometricInterpretation, PhotometricInterpretation.Color_Filter_Array)
    t.set(Tag.SamplesPerPixel, 1)
    t.set(Tag.BitsPerSample, stored_bits)
    t.set(Tag.CFARepeatPatternDim, [2, 2])
    t.set(Tag.CFAPattern, CFAPattern.RGGB)
    t.set(Tag.BlackLevel, black)
    t.set(Tag.WhiteLevel, white)
    t.set(Tag.ColorMatrix1, _srational([v for row in XYZ_TO_LINEAR_SRGB for v in row]))
    t.set(Tag.CalibrationIlluminant1, CalibrationIlluminant.D65)
    t.set(Tag.AsShotNeutral, [(10000, round(10000 * m)) for m in wb])
    t.set(Tag.Make, make)
    t.set(Tag.Model, model)
    t.set(Tag.UniqueCameraModel, f"{make} {model}")
    t.set(Tag.DateTime, datetime)
    # pidng's IFD-typed tags are broken; a LONG ExifIFD pointer is standard, patched below.
    t.set((EXIF_IFD_TAG, Type.Long), [0])
    writer = RAW2DNG()
    writer.options(t, path="", compress=False)
    buf = bytearray(writer.convert(raw))

    exif_at, _ = _append_ifd(
        buf,
        [
            dngTag(Tag.ExifVersion, list(b"0231")),
            dngTag(Tag.DateTimeOriginal, datetime),
        ],
    )
    struct.pack_into("<I", buf, _ifd0_entry(buf, EXIF_IFD_TAG) + 8, exif_at)
    if preview:
        pic = Image.new("RGB", (w, h), RED)
        pic.paste(GREEN, (w // 2, 0, w, h))
        pic.paste(BLUE, (0, 0, w, h // 4))
        pic.paste(
            (255, 255, 0), (w // 2 - w // 8, h // 2 - h // 8, w // 2 + w // 8, h // 2 + h // 8)
        )
        pic = stored_picture(pic, orientation)
        jpeg = io.BytesIO()
        pic.save(jpeg, format="JPEG", quality=85)
        strip = dngTag(Tag.StripOffsets, [0])
        preview_at, _ = _append_ifd(
            buf,
            [
                dngTag(Tag.NewSubfileType, [1]),
                dngTag(Tag.ImageWidth, [pic.width]),
                dngTag(Tag.ImageLength, [pic.height]),
                dngTag(Tag.BitsPerSample, [8, 8, 8]),
                dngTag(Tag.Compression, [7]),
                dngTag(Tag.PhotometricInterpretation, [6]),
                strip,
                dngTag(Tag.SamplesPerPixel, [3]),
                dngTag(Tag.RowsPerStrip, [pic.height]),
                dngTag(Tag.StripByteCounts, [len(jpeg.getvalue())]),
                dngTag(Tag.PlanarConfiguration, [1]),
            ],
            jpeg.getvalue(),
            strip,
        )
        ifd0 = struct.unpack_from("<I", buf, 4)[0]
        n = struct.unpack_from("<H", buf, ifd0)[0]
        struct.pack_into("<I", buf, ifd0 + 2 + 12 * n, preview_at)
    out = Path(path)
    out.write_bytes(bytes(buf))
    return out


def _transpose_array(arr: np.ndarray, method: Image.Transpose) -> np.ndarray:
    """``Image.transpose`` for an (h, w, c) array."""
    ops = {
        Image.Transpose.FLIP_LEFT_RIGHT: lambda a: a[:, ::-1],
        Image.Transpose.FLIP_TOP_BOTTOM: lambda a: a[::-1],
        Image.Transpose.ROTATE_180: lambda a: a[::-1, ::-1],
        Image.Transpose.ROTATE_90: lambda a: np.rot90(a, 1),
        Image.Transpose.ROTATE_270: lambda a: np.rot90(a, -1),
        Image.Transpose.TRANSPOSE: lambda a: a.transpose(1, 0, 2),
        Image.Transpose.TRANSVERSE: lambda a: np.rot90(a, 2).transpose(1, 0, 2),
    }
    return np.ascontiguousarray(ops[method](arr))


# --- APNG ------------------------------------------------------------------------------------
def _png_chunk(kind: bytes, body: bytes) -> bytes:
    crc = zlib.crc32(kind + body)
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)


def _fctl(seq: int, w: int, h: int, x: int = 0, y: int = 0) -> bytes:
    # delay 1/10 s, dispose none, blend source
    return struct.pack(">IIIIIHHBB", seq, w, h, x, y, 1, 10, 0, 0)


def _rgb_rows(im: Image.Image) -> bytes:
    w = im.width
    raw = im.convert("RGB").tobytes()
    return zlib.compress(
        b"".join(b"\0" + raw[y * w * 3 : (y + 1) * w * 3] for y in range(im.height))
    )


#: Colours of the three frames of an ``apng_broken`` file.
APNG_COLOURS: tuple[RGB, ...] = (RED, (0, 160, 0), BLUE)

#: What Pillow 13 does with each kind of ``apng_broken`` file (test_samples checks every row):
#: (warns at open, n_frames, what seek(1) does, what seek(n_frames - 1) does). "ok" means the
#: seek works; a class name is what it raises. Frame 0 (red) always loads.
APNG_BEHAVIOUR: dict[str, tuple[bool, int, str, str]] = {
    "num_frames_zero": (True, 1, "EOFError", "ok"),
    "actl_twice": (True, 1, "EOFError", "ok"),
    "num_frames_too_many": (False, 5, "ok", "OSError"),
    "num_frames_too_few": (False, 2, "ok", "ok"),
    "sequence_gap": (False, 3, "SyntaxError", "SyntaxError"),
    "fctl_out_of_bounds": (False, 3, "SyntaxError", "SyntaxError"),
    "missing_fdat": (False, 3, "SyntaxError", "SyntaxError"),
    "fctl_truncated": (False, 3, "ValueError", "ValueError"),
}


def apng_broken(path: PathLike, kind: str) -> Path:
    """A 32x24 APNG with broken animation control that Pillow still opens, showing its
    default image: frame 0, red, which is also the IDAT image (so any PNG reader shows red).
    The valid file would have 3 full-canvas frames, red, green, blue (``APNG_COLOURS``).

    Kinds, with what Pillow 13's PngImagePlugin does (``APNG_BEHAVIOUR`` in table form):
      num_frames_zero      acTL says 0 frames. Open warns (UserWarning "Invalid APNG, will
                           use default PNG image if possible") and drops the animation:
                           n_frames 1, not animated, seek(1) raises EOFError; load works.
      actl_twice           a second acTL chunk: the same warning and the same result.
      num_frames_too_many  acTL says 5, the file has 3: opens silently with n_frames 5;
                           frames 1 and 2 load, seek(3) and seek(4) raise OSError
                           ("Truncated File Read": it reads on past IEND) and leave frame 2
                           current, so ImageSequence.Iterator (which stops only at
                           EOFError) raises OSError too.
      num_frames_too_few   acTL says 2, the file has 3: n_frames 2, frame 2 is never seen.
      sequence_gap         frame 1's fcTL has sequence number 9, not 1: opens, n_frames 3,
                           seek(1) raises SyntaxError ("APNG contains frame sequence errors").
      fctl_out_of_bounds   frame 1's fcTL is 40 pixels wide on a 32-pixel canvas: opens,
                           n_frames 3, seek(1) raises SyntaxError ("APNG contains invalid
                           frames").
      missing_fdat         frame 1's fdAT chunk is gone (two fcTL in a row): seek(1)
                           raises SyntaxError ("APNG missing frame data").
      fctl_truncated       frame 1's fcTL chunk is 20 bytes, not 26: seek(1) raises
                           ValueError ("APNG contains truncated fcTL chunk").
    Not tolerated at open (so not kinds here): a bad sequence number or out-of-bounds fcTL
    before the IDAT (frame 0) makes Image.open fail with UnidentifiedImageError.
    """
    if kind not in APNG_BEHAVIOUR:
        raise ValueError(f"unknown kind {kind!r} (one of {', '.join(APNG_BEHAVIOUR)})")
    w, h = 32, 24
    frames = [_rgb_rows(Image.new("RGB", (w, h), c)) for c in APNG_COLOURS]
    n_frames = {"num_frames_zero": 0, "num_frames_too_many": 5, "num_frames_too_few": 2}
    actl = _png_chunk(b"acTL", struct.pack(">II", n_frames.get(kind, 3), 0))
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    fctl1 = _fctl(9 if kind == "sequence_gap" else 1, w, h)
    if kind == "fctl_out_of_bounds":
        fctl1 = _fctl(1, w + 8, h)
    elif kind == "fctl_truncated":
        fctl1 = fctl1[:20]
    seq = 10 if kind == "sequence_gap" else 2
    chunks = [
        _png_chunk(b"IHDR", ihdr),
        actl,
        actl if kind == "actl_twice" else b"",
        _png_chunk(b"fcTL", _fctl(0, w, h)),
        _png_chunk(b"IDAT", frames[0]),
        _png_chunk(b"fcTL", fctl1),
        b"" if kind == "missing_fdat" else _png_chunk(b"fdAT", struct.pack(">I", seq) + frames[1]),
        _png_chunk(b"fcTL", _fctl(seq + 1, w, h)),
        _png_chunk(b"fdAT", struct.pack(">I", seq + 2) + frames[2]),
        _png_chunk(b"IEND", b""),
    ]
    out = Path(path)
    out.write_bytes(b"\x89PNG\r\n\x1a\n" + b"".join(chunks))
    return out


# --- GIF and TIFF ----------------------------------------------------------------------------
def _lzw_8bit(indices: bytes) -> bytes:
    """GIF LZW data (minimum code size 8) without compression: a clear code every 250
    codes keeps the code width at 9 bits, so no string table is needed."""
    clear, end = 256, 257
    codes = []
    for i in range(0, len(indices), 250):
        codes.append(clear)
        codes.extend(indices[i : i + 250])
    codes.append(end)
    acc = nbits = 0
    out = bytearray()
    for code in codes:
        acc |= code << nbits
        nbits += 9
        while nbits >= 8:
            out.append(acc & 0xFF)
            acc >>= 8
            nbits -= 8
    if nbits:
        out.append(acc & 0xFF)
    blocks = bytearray([8])
    for i in range(0, len(out), 255):
        part = out[i : i + 255]
        blocks += bytes([len(part)]) + part
    return bytes(blocks + b"\0")


#: The 256-colour global palette of the hand-written GIFs: index i < 8 are these colours,
#: the rest black.
GIF_PALETTE: tuple[RGB, ...] = (
    GREY,
    RED,
    (0, 160, 0),
    BLUE,
    (255, 200, 0),
    (0, 200, 200),
    (200, 0, 200),
    (255, 255, 255),
)


def _gif(
    screen: tuple[int, int], frames: Sequence[tuple[tuple[int, int, int, int], int, int]]
) -> bytes:
    """A GIF89a: logical screen ``screen``, looping, global palette GIF_PALETTE; each frame
    is ((x, y, w, h), palette index to fill it with, disposal method), 0.1 s each."""
    palette = b"".join(bytes(c) for c in GIF_PALETTE) + bytes(3 * (256 - len(GIF_PALETTE)))
    out = b"GIF89a" + struct.pack("<HHBBB", *screen, 0xF7, 0, 0) + palette
    out += b"\x21\xff\x0bNETSCAPE2.0\x03\x01\x00\x00\x00"
    for (x, y, w, h), index, disposal in frames:
        out += b"\x21\xf9\x04" + bytes([disposal << 2]) + struct.pack("<H", 10) + b"\0\0"
        out += b"," + struct.pack("<HHHHB", x, y, w, h, 0) + _lzw_8bit(bytes([index]) * (w * h))
    return out + b";"


def gif_frames_beyond_canvas(path: PathLike) -> Path:
    """An animated GIF on a 32x24 logical screen whose second frame (20x20 at (20, 10), blue)
    reaches past the screen to (40, 30). Frames: 0 = the whole screen grey, 1 = that blue
    block, 2 = a red 8x8 at (0, 0). Pillow 13: opens at (32, 24) (frame 0, mode P),
    n_frames 3 (counting does not change the size); seek(1) grows ``im.size`` to (40, 30),
    the union of screen and frame, mode RGB, the new area filled with the background (grey,
    index 0); frame 2 and even seek(0) back stay (40, 30)."""
    frames = [((0, 0, 32, 24), 0, 1), ((20, 10, 20, 20), 3, 1), ((0, 0, 8, 8), 1, 1)]
    out = Path(path)
    out.write_bytes(_gif((32, 24), frames))
    return out


def gif_mixed_frames(path: PathLike) -> Path:
    """An animated GIF (40x30 screen) whose frames have different sizes and offsets, all
    inside the screen, with mixed disposal: 0 = the whole screen grey (disposal 1, keep);
    1 = red 10x8 at (5, 4) (disposal 2, restore to background); 2 = blue 20x6 at (18, 20)
    (disposal 3, restore previous); 3 = green 40x2 at (0, 28) (disposal 1). Pillow shows
    every frame at 40x30; n_frames 4."""
    frames = [
        ((0, 0, 40, 30), 0, 1),
        ((5, 4, 10, 8), 1, 2),
        ((18, 20, 20, 6), 3, 3),
        ((0, 28, 40, 2), 2, 1),
    ]
    out = Path(path)
    out.write_bytes(_gif((40, 30), frames))
    return out


def tiff_pages_of_sizes(
    path: PathLike, sizes: Sequence[tuple[int, int]] = ((40, 30), (20, 50))
) -> Path:
    """A multi-page TIFF (LZW), page k of ``sizes[k]``, flat colour GIF_PALETTE[k + 1]
    (red, green, blue, ...). Pillow: n_frames len(sizes), ``im.size`` follows each page."""
    pages = [Image.new("RGB", s, GIF_PALETTE[1 + k % 7]) for k, s in enumerate(sizes)]
    out = Path(path)
    pages[0].save(
        out, format="TIFF", save_all=True, append_images=pages[1:], compression="tiff_lzw"
    )
    return out


def big_jpeg(path: PathLike, size: tuple[int, int] = (8000, 6000)) -> Path:
    """A large baseline JPEG (quality 70) made quickly: flat grey with a red rectangle, a blue
    ellipse and a white diagonal line, for decode-size limit tests. 8000x6000 is 48 MP (under
    Pillow's 89.5 MP bomb warning), about 0.9 MB, made in about 0.3 s (decoding it takes
    about 0.2 s)."""
    w, h = size
    im = Image.new("RGB", size, GREY)
    draw = ImageDraw.Draw(im)
    draw.rectangle((w // 10, h // 10, w // 3, h // 3), fill=RED)
    draw.ellipse((w // 2, h // 2, w - w // 10, h - h // 10), fill=BLUE)
    draw.line((0, 0, w, h), fill=(255, 255, 255), width=max(1, w // 200))
    out = Path(path)
    im.save(out, format="JPEG", quality=70)
    return out
