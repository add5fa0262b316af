"""PNG image data through zlib-ng: Pillow's PNG writer with a faster encoder for its IDAT.

Pillow writes a PNG's chunks itself and hands the pixels to its "zip" encoder, which filters
each row and deflates the result with the zlib the process loaded. Pillow's wheels take that
zlib from the system (the manylinux rules let them), so on Debian and Ubuntu every PNG is
deflated by zlib 1.2, and the filter choice runs byte by byte. On 64x64 photo crops that was
0.76 ms a file: 0.18 ms choosing filters, 0.57 ms deflating.

This module gives Pillow another "zip" encoder (its codec registry, the way Pillow's own
plugins add codecs written in Python): the same filter choice as Pillow's, computed with numpy
for all rows at once, and the deflate done by zlib-ng (the zlib-ng package) one level higher
than asked, with Pillow's strategy for PNG (Z_FILTERED). zlib-ng's levels are faster than
zlib's, and one level up its output is as small or smaller (measured on the benchmark's small
PNGs and 4 MP PNGs at every level: level 6 became 0.30 ms instead of 0.57 ms and 0.3 % smaller).
The chunks, the metadata, APNG frames and everything else stay Pillow's: only the compressed
pixel stream is made differently, and decoders read the same pixels (tested).

Pillow's own encoder still runs where this one would not help: level 0 (stored), "optimize"
(Pillow then also tries the Average filter), a preset dictionary, and any process where zlib-ng
cannot load.
"""

from __future__ import annotations

import functools
import io
import zlib
from typing import TYPE_CHECKING, Any

from PIL import Image, ImageFile
from PIL._binary import o32be as o32

from .i18n import _

try:
    from zlib_ng import zlib_ng
except ImportError:  # not installed: Pillow's encoder stays
    zlib_ng = None

if TYPE_CHECKING:
    import numpy as np

#: Pillow's default level (zlib's Z_DEFAULT_COMPRESSION).
_DEFAULT_LEVEL = 6
#: zlib's strategies: Pillow deflates filtered rows with Z_FILTERED, palette indices with the
#: default one.
_Z_DEFAULT_STRATEGY, _Z_FILTERED = 0, 1
#: Rows are filtered in bands of about this many bytes, so a big picture's candidates (four
#: filtered copies, some in 16 bits) never need more than a few tens of MB at once.
_BAND_BYTES = 1 << 20
_MEM_LEVEL = 9  # as Pillow's encoder: a bigger hash table, slightly smaller output

_registered = False


def register() -> bool:
    """Make Pillow's PNG writer use this encoder in this process (once). False where zlib-ng
    is not available: Pillow's own encoder stays."""
    global _registered
    if zlib_ng is None:
        return False
    if not _registered:
        Image.register_encoder("zip", _make_encoder)
        _registered = True
    return True


#: The modes simple_png writes (8 bits a sample), which Pillow's writer stores as they are.
_SIMPLE_MODES = frozenset({"L", "LA", "RGB", "RGBA"})
#: The save() arguments simple_png writes as Pillow does; any other sends the picture to Pillow.
_SIMPLE_ARGUMENTS = frozenset({"compress_level", "icc_profile", "exif"})


def simple_png(im: Image.Image, kwargs: dict[str, Any]) -> bytes | None:
    """The PNG file Pillow's writer makes of im with the save() arguments kwargs, byte for
    byte (with this module's encoder registered), made without Pillow's writer; None where
    that writer is needed: anything but one 8-bit L, LA, RGB or RGBA picture with at most a
    compression level, an ICC profile and EXIF (text, palettes, transparency, level 0...).

    Pillow's chunk writing and encoder set-up cost about 0.1 ms a file, a sixth of a 64x64
    picture's encoding: many small files are mostly fixed costs. The chunks are written by
    Pillow's own putchunk, in its writer's order (IHDR, iCCP, eXIf, IDAT, IEND; tested)."""
    if not _registered or not kwargs.keys() <= _SIMPLE_ARGUMENTS or "transparency" in im.info:
        return None
    level = kwargs.get("compress_level", -1)
    if im.mode not in _SIMPLE_MODES or not (1 <= level <= 9 or level == -1) or 0 in im.size:
        return None
    width, height = im.size
    from PIL import PngImagePlugin

    _rawmode, depth, colour = PngImagePlugin._OUTMODES[im.mode]
    chunk = PngImagePlugin.putchunk
    out = io.BytesIO()
    out.write(PngImagePlugin._MAGIC)
    chunk(out, b"IHDR", o32(width), o32(height), depth, colour, b"\0", b"\0", b"\0")
    # Pillow takes a profile from the picture's info when the arguments name none.
    icc = kwargs["icc_profile"] if "icc_profile" in kwargs else im.info.get("icc_profile")
    if icc:
        chunk(out, b"iCCP", b"ICC Profile\0\0", _compressed_profile(icc))
    exif = kwargs.get("exif")
    if exif:
        if isinstance(exif, Image.Exif):
            exif = exif.tobytes(8)
        chunk(out, b"eXIf", exif[6:] if exif.startswith(b"Exif\0\0") else exif)
    raw = im.tobytes()
    distance = _filter_distance(im.mode, len(raw) // height, width)
    level = zlib_ng_level(level)
    chunk(out, b"IDAT", compress_scanlines(raw, height, distance, level, _Z_FILTERED))
    chunk(out, b"IEND", b"")
    return out.getvalue()


@functools.lru_cache(maxsize=8)
def _compressed_profile(icc: bytes) -> bytes:
    """An ICC profile compressed as Pillow's writer does (zlib's default level): a batch's
    files mostly share one or two profiles, compressed once each."""
    return zlib.compress(icc)


def zlib_ng_level(level: int) -> int:
    """The zlib-ng level that gives at least zlib's compression at level, faster."""
    level = _DEFAULT_LEVEL if level == -1 else level
    return min(level + 1, 9)


def _make_encoder(
    mode: str,
    rawmode: str,
    optimize: Any = False,
    compress_level: int = -1,
    compress_type: int = -1,
    dictionary: bytes = b"",
    *rest: Any,
) -> Any:
    """What Pillow asks for its "zip" encoder with: this module's encoder, or Pillow's own C
    encoder for the cases this one leaves to it."""
    if optimize or dictionary or rest or compress_level == 0 or not -1 <= compress_level <= 9:
        return Image.core.zip_encoder(
            mode, rawmode, optimize, compress_level, compress_type, dictionary, *rest
        )
    return _PngDeflate(mode, rawmode, zlib_ng_level(compress_level), compress_type)


class _PngDeflate(ImageFile.PyEncoder):
    """Filtered, deflated PNG scanlines of the tile Pillow gives it, in one piece."""

    _pushes_fd = True

    def __init__(self, mode: str, rawmode: str, level: int, strategy: int) -> None:
        super().__init__(mode)
        self.rawmode = rawmode
        self.level = level
        self.strategy = strategy  # -1: Pillow's choice

    def encode(self, bufsize: int) -> tuple[int, int, bytes]:
        raw, height = self._scanlines()
        distance = _filter_distance(self.rawmode, len(raw) // height, self.state.xsize)
        strategy = self.strategy
        if strategy < 0:
            strategy = _Z_DEFAULT_STRATEGY if distance is None else _Z_FILTERED
        data = compress_scanlines(raw, height, distance, self.level, strategy)
        return len(data), 1, data

    def _scanlines(self) -> tuple[bytes, int]:
        """The tile's pixels packed as the PNG stores them (rawmode), row after row."""
        assert self.im is not None
        st = self.state
        packer = Image._getencoder(self.mode, "raw", self.rawmode)
        packer.setimage(self.im, (st.xoff, st.yoff, st.xoff + st.xsize, st.yoff + st.ysize))
        parts = []
        while True:
            _consumed, status, part = packer.encode(1 << 20)
            parts.append(part)
            if status:
                break
        if status < 0:
            raise OSError(
                _("could not pack the image's pixels as {mode} (error {code})").format(
                    mode=self.rawmode, code=status
                )
            )
        return b"".join(parts), st.ysize


def _filter_distance(rawmode: str, row: int, width: int) -> int | None:
    """Bytes per complete pixel (at least 1), the distance the PNG filters look back; None for
    8-bit palette indices, which are not filtered (filters do not help them, as the PNG
    specification advises; Pillow does the same, and filters packed ones)."""
    if rawmode == "P":
        return None
    return max(1, row // max(width, 1))


def compress_scanlines(
    raw: bytes,
    height: int,
    distance: int | None,
    level: int = _DEFAULT_LEVEL + 1,
    strategy: int = _Z_FILTERED,
) -> bytes:
    """PNG image data: each of height rows of raw prefixed with its filter type and filtered
    (the adaptive choice: the filter whose bytes, read as signed, sum smallest in absolute
    value; no filtering when distance is None), deflated by zlib-ng at level (zlib-ng's)."""
    assert zlib_ng is not None
    import numpy as np  # on the first PNG: a worker that writes none never loads it (40 ms)

    row = len(raw) // height
    pixels = np.frombuffer(raw, np.uint8).reshape(height, row)
    deflate = zlib_ng.compressobj(level, zlib_ng.DEFLATED, 15, _MEM_LEVEL, strategy)
    out = []
    band = max(1, _BAND_BYTES // max(row, 1))
    above = np.zeros(row, np.uint8)
    for top in range(0, height, band):
        rows = pixels[top : top + band]
        out.append(deflate.compress(_filtered(rows, above, distance)))
        above = rows[-1]
    out.append(deflate.flush())
    return b"".join(out)


def _filtered(rows: np.ndarray, above: np.ndarray, distance: int | None) -> bytes:
    """rows (uint8, one row per line) as PNG filtered scanlines; above: the row before them.
    The candidates and their order are Pillow's (None, Up, Sub, Paeth; Average only pays on
    a few rows, and Pillow tries it only when optimizing), so the choice is the same.

    Written for small pictures as much as big ones: on a 64x64 crop the fixed cost of each
    numpy call is most of the work, so there are few, and no np.where (a data-dependent
    branch per byte; the Paeth choice is made with masks instead)."""
    import numpy as np

    n, width = rows.shape
    lines = np.empty((n, width + 1), np.uint8)
    if distance is None or width == 0:
        lines[:, 0] = 0
        lines[:, 1:] = rows
        return lines.tobytes()
    d = min(distance, width)
    # The rows with the one above them and d zero bytes on their left: left, up and
    # up-left are then views of one array.
    pad = np.zeros((n + 1, width + d), np.uint8)
    pad[0, d:] = above
    pad[1:, d:] = rows
    left, up, up_left = pad[1:, :width], pad[:-1, d:], pad[:-1, :width]

    # Paeth: the neighbour closest to left + up - up_left, ties to left, then up.
    wide = pad.astype(np.int16)
    from_up = wide[:-1, d:] - wide[:-1, :width]  # up - up_left: the distance from left
    from_left = wide[1:, :width] - wide[:-1, :width]  # left - up_left: from up
    pa, pb = np.abs(from_up), np.abs(from_left)
    from_up += from_left
    pc = np.abs(from_up, out=from_up)  # from up_left
    to_left = (pa <= pb) & (pa <= pc)
    to_up = (pb <= pc) & ~to_left
    paeth = up_left + (left - up_left) * to_left + (up - up_left) * to_up

    candidates = np.empty((4, n, width), np.uint8)
    candidates[0] = rows
    np.subtract(rows, up, out=candidates[1])
    np.subtract(rows, left, out=candidates[2])
    np.subtract(rows, paeth, out=candidates[3])
    # Each candidate's bytes read as signed, in absolute value (-128 counts 128: as uint8).
    size = np.abs(candidates.view(np.int8)).view(np.uint8)
    if width * 128 < 1 << 16:  # a row's sum fits 16 bits: numpy's fastest reduction
        cost = np.add.reduce(size.astype(np.uint16), axis=2, dtype=np.uint16)
    else:
        cost = size.sum(axis=2, dtype=np.int64)
    choice = cost.argmin(axis=0)  # per row; a tie goes to the earlier candidate
    lines[:, 0] = np.frombuffer(_FILTER_TYPES, np.uint8)[choice]
    lines[:, 1:] = candidates[choice, np.arange(n)]
    return lines.tobytes()


#: The PNG filter type of each candidate in _filtered: None, Up, Sub, Paeth.
_FILTER_TYPES = bytes((0, 2, 1, 4))
