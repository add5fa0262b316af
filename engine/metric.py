"""SSIMULACRA2, the perceptual quality score (100 = identical, ~90 visually lossless, ~70
medium) that the quality search aims each encode at, computed in numpy fast enough to score
several encodes of one picture.

`Reference` does all the work that depends only on the unencoded picture once; `score` then
converts, blurs and compares only the distorted side. The numbers follow the `ssimulacra2`
Python package (the 2023 SSIMULACRA2 of libjxl): its sRGB -> linear -> XYB conversion, its
11-tap Gaussian (sigma 1.5, zero beyond the left and right edges, mirrored beyond the top and
bottom; libjxl's tool uses a recursive Gaussian), its 2x2 linear-light downscaling and its 108
weights. Float32 throughout, the SSIM term rearranged so that nothing large cancels: within
0.0002 of the package on real photographs at JPEG and WebP qualities.

What makes it fast: a row chunk at a time (so that every intermediate stays in cache), both
blur passes are small matrix products (BLAS), and maps whose weights are all 0 at a scale are
never computed (at full size only Y's SSIM counts).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
from numpy.lib.stride_tricks import as_strided
from PIL import Image

METRIC_NAME = "SSIMULACRA2"

_NUM_SCALES = 6
#: Scales stop when either side gets below this (nothing is scored at all below it).
MIN_SIDE = 8
_C2 = 0.0009
_RADIUS = 5  # the Gaussian's taps each side: scipy's truncate=3.33 at sigma 1.5
_PAD = 2 * _RADIUS
_BLOCK = 16  # output columns per GEMM of the horizontal blur
_CHUNK_ELEMENTS = 32_768  # about this many pixels a plane per row chunk (stays in cache)
_CHUNK_ROWS = 24  # at most this many rows a chunk (the vertical GEMM's work grows with it)
# OpenBLAS runs a GEMM with M * N * K under 2 * 65536 * 4 on one thread; above, it wakes its
# threads, which then spin between calls (measured: twice the CPU for the same time here, and
# the worker pool already keeps every core busy). Every GEMM here stays below this size.
_GEMM_MAX = 400_000
_F32 = np.float32

# Opsin absorbance of libjxl's XYB (opsin_params.h): every row sums to 1 and the bias is the
# same for the three, so M @ rgb + bias == M @ (rgb + bias): the bias rides on the linear
# values (and survives the 2x2 averaging unchanged).
_OPSIN_BIAS = 0.0037930732552754493
_OPSIN = np.array(
    [
        [0.30, 1.0 - 0.078 - 0.30, 0.078],
        [0.23, 1.0 - 0.078 - 0.23, 0.078],
        [
            0.24342268924547819,
            0.20476744424496821,
            1.0 - 0.24342268924547819 - 0.20476744424496821,
        ],
    ]
)
_OPSIN_F32 = _OPSIN.astype(_F32)
_CBRT_BIAS = float(np.cbrt(_OPSIN_BIAS))
# From the cube roots (q0, q1, q2, 1) straight to SSIMULACRA2's positive XYB:
#   X = 14 * (q0 - q1) / 2 + 0.42,  Y = (q0 + q1) / 2 - cbrt(bias) + 0.01,
#   B = q2 - (q0 + q1) / 2 + 0.55   (B - Y of libjxl, the cbrt(bias) terms cancel).
_TO_XYB = np.array(
    [
        [7.0, -7.0, 0.0, 0.42],
        [0.5, 0.5, 0.0, 0.01 - _CBRT_BIAS],
        [-0.5, -0.5, 1.0, 0.55],
    ],
    dtype=_F32,
)

# The 108 weights of the 2023 SSIMULACRA2, in the order of the score loop: channel (X, Y, B),
# then scale, then norm (1-norm, 4-norm), then map (SSIM, ringing, blurring).
_WEIGHTS = np.array(
    [
        0.0, 0.0007376606707406586, 0.0, 0.0, 0.0007793481682867309, 0.0,
        0.0, 0.0004371155730107379, 0.0, 1.1041726426657346, 0.00066284834129271,
        0.00015231632783718752, 0.0, 0.0016406437456599754, 0.0, 1.8422455520539298,
        11.441172603757666, 0.0, 0.0007989109436015163, 0.000176816438078653, 0.0,
        1.8787594979546387, 10.94906990605142, 0.0, 0.0007289346991508072,
        0.9677937080626833, 0.0, 0.00014003424285435884, 0.9981766977854967,
        0.00031949755934435053, 0.0004550992113792063, 0.0, 0.0, 0.0013648766163243398,
        0.0, 0.0, 0.0, 0.0, 0.0, 7.466890328078848, 0.0, 17.445833984131262,
        0.0006235601634041466, 0.0, 0.0, 6.683678146179332, 0.00037724407979611296,
        1.027889937768264, 225.20515300849274, 0.0, 0.0, 19.213238186143016,
        0.0011401524586618361, 0.001237755635509985, 176.39317598450694, 0.0, 0.0,
        24.43300999870476, 0.28520802612117757, 0.0004485436923833408, 0.0, 0.0, 0.0,
        34.77906344483772, 44.835625328877896, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
        0.0008680556573291698, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0005313191874358747, 0.0,
        0.00016533814161379112, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0004179171803251336,
        0.0017290828234722833, 0.0, 0.0020827005846636437, 0.0, 0.0, 8.826982764996862,
        23.19243343998926, 0.0, 95.1080498811086, 0.9863978034400682, 0.9834382792465353,
        0.0012286405048278493, 171.2667255897307, 0.9807858872435379, 0.0, 0.0, 0.0,
        0.0005130064588990679, 0.0, 0.00010854057858411537,
    ]
)  # fmt: skip

#: Backgrounds (sRGB-encoded grey, 0..1) that transparent pictures are composited onto; the
#: lower of the two scores counts, as libjxl's ssimulacra2 tool does.
ALPHA_BACKGROUNDS = (0.1, 0.9)


def _srgb_to_linear(v: np.ndarray) -> np.ndarray:
    """The sRGB transfer curve, inverted, on values in 0..1 (float64)."""
    return np.where(v <= 0.04045, v / 12.92, ((v + 0.055) / 1.055) ** 2.4)


def _pair_table() -> np.ndarray:
    """Biased linear light of every pair of bytes: entry lo + 256 * hi holds the float32 pair
    (lin(lo) + bias, lin(hi) + bias), read as one float64, so one gather converts two bytes
    (about twice as fast as a 256-entry table)."""
    one = (_srgb_to_linear(np.arange(256) / 255.0) + _OPSIN_BIAS).astype(_F32)
    pairs = np.empty((65536, 2), _F32)
    pairs[:, 0] = np.tile(one, 256)
    pairs[:, 1] = np.repeat(one, 256)
    return pairs.view(np.float64).reshape(-1)


_PAIRS = _pair_table()
_SINGLE = _PAIRS.view(_F32)[0:512:2]  # lin(v) + bias for v in 0..255

# The Gaussian: sampled at -5..5, normalised (what scipy.ndimage.gaussian_filter uses).
_GAUSS = np.exp(-0.5 * (np.arange(-_RADIUS, _RADIUS + 1) / 1.5) ** 2)
_GAUSS = (_GAUSS / _GAUSS.sum()).astype(_F32)
# The horizontal blur of _BLOCK output columns from _BLOCK + 10 input columns, as a matrix.
_HBLUR = np.zeros((_BLOCK + _PAD, _BLOCK), _F32)
for _i in range(_BLOCK):
    _HBLUR[_i : _i + _PAD + 1, _i] = _GAUSS


# --- input ------------------------------------------------------------------------------------
ImageLike = Image.Image | np.ndarray


def _pixels(image: ImageLike) -> tuple[np.ndarray, np.ndarray | None]:
    """(RGB uint8 HxWx3 C-contiguous, alpha uint8 HxW or None when absent or all opaque)."""
    if isinstance(image, Image.Image):
        if image.mode == "RGB":
            arr = np.asarray(image)
        elif image.mode == "RGBA" or "A" in image.getbands() or "transparency" in image.info:
            arr = np.asarray(image.convert("RGBA"))
        else:
            arr = np.asarray(image.convert("RGB"))
    elif isinstance(image, np.ndarray):
        arr = image
        if arr.dtype != np.uint8:
            raise ValueError(f"expected uint8 pixels, got {arr.dtype}")
        if arr.ndim == 2:
            arr = arr[:, :, None]
        if arr.ndim != 3 or arr.shape[2] not in (1, 3, 4):
            raise ValueError(f"expected HxW, HxWx3 or HxWx4 pixels, got shape {arr.shape}")
        if arr.shape[2] == 1:
            arr = np.repeat(arr, 3, axis=2)
    else:
        raise TypeError(f"expected a PIL image or a numpy array, got {type(image).__name__}")
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError("empty image")
    alpha = None
    if arr.shape[2] == 4:
        alpha = arr[:, :, 3]
        arr = arr[:, :, :3]
        alpha = None if alpha.min() == 255 else np.ascontiguousarray(alpha)
    return np.ascontiguousarray(arr), alpha


def _linear(
    rgb: np.ndarray,
    alpha: np.ndarray | None,
    bg: float | None,
    work: _Work | None = None,
) -> np.ndarray:
    """Biased linear light (lin + opsin bias) as float32 planes 3xHxW, of the picture
    composited onto grey `bg` (sRGB-encoded, 0..1) when it has an alpha channel. Into
    `work`'s buffers when given."""
    h, w, _ = rgb.shape
    if alpha is not None and bg is not None:
        a = alpha.astype(_F32) * _F32(1 / 255)
        enc = rgb.transpose(2, 0, 1) * (a * _F32(1 / 255)) + _F32(bg) * (1 - a)
        return (_srgb_to_linear(enc.astype(np.float64)) + _OPSIN_BIAS).astype(_F32)
    if work is None:
        planar = np.ascontiguousarray(rgb.transpose(2, 0, 1))
        lin = np.empty((3, h, w), _F32)
    else:
        planar, lin = work.planar, work.lin
        np.copyto(planar, rgb.transpose(2, 0, 1))
    src, out = planar.reshape(-1), lin.reshape(-1)
    even = src.size - src.size % 2
    np.take(_PAIRS, src[:even].view(np.uint16), out=out[:even].view(np.float64), mode="clip")
    if even < src.size:
        out[-1] = _SINGLE[src[-1]]
    return lin


def _halve(src: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """2x2 box average of 3xHxW planes; an odd last row or column averages what is there.
    Into `out` (3 x ceil(H/2) x ceil(W/2)) when given. In blocks of rows, so that the row
    sums stay in cache."""
    _, h, w = src.shape
    h2, w2, wh = (h + 1) // 2, (w + 1) // 2, w // 2
    out = np.empty((3, h2, w2), _F32) if out is None else out
    step = max(1, _CHUNK_ELEMENTS // w)
    rows = np.empty((3, min(step, h2), w), _F32)
    for o0 in range(0, h2, step):
        o1 = min(h2, o0 + step)
        full = min(o1, h // 2) - o0  # output rows with two source rows
        sums = rows[:, : o1 - o0]
        np.add(
            src[:, 2 * o0 : 2 * (o0 + full) : 2],
            src[:, 2 * o0 + 1 : 2 * (o0 + full) : 2],
            out=sums[:, :full],
        )
        if full < o1 - o0:  # the odd last row, alone
            np.multiply(src[:, -1], 2, out=sums[:, -1])
        block = out[:, o0:o1]
        np.add(sums[:, :, 0 : w - 1 : 2], sums[:, :, 1:w:2], out=block[:, :, :wh])
        np.multiply(block[:, :, :wh], _F32(0.25), out=block[:, :, :wh])
        if w % 2:
            np.multiply(sums[:, :, -1], _F32(0.5), out=block[:, :, -1])
    return out


def _equal(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether two arrays of one shape are equal, in blocks of rows (no full-size temporary)."""
    step = max(1, _CHUNK_ELEMENTS // max(1, a[0].size))
    return all(np.array_equal(a[r : r + step], b[r : r + step]) for r in range(0, len(a), step))


class _Work:
    """The distorted side's arrays, kept from one score to the next (fresh arrays of this
    size would cost their page faults on every call): the picture as planes, its linear
    light at full size and halved, and each scale's _Plan."""

    def __init__(self, h: int, w: int, needs: list[_Needs]) -> None:
        self.planar = np.empty((3, h, w), np.uint8)
        self.lin = np.empty((3, h, w), _F32)
        self.plans: list[_Plan] = []
        self.halves: list[np.ndarray] = []
        for i, need in enumerate(needs):
            if i:
                h, w = (h + 1) // 2, (w + 1) // 2
                self.halves.append(np.empty((3, h, w), _F32))
            self.plans.append(_Plan(h, w, 3 + 2 * need.k))


# --- the per-scale machinery --------------------------------------------------------------------
class _Plan:
    """Buffers and kernels for one scale of one size: the XYB planes (with 5 mirrored rows
    above and below), and per row chunk the stack of planes to blur, the blur's two passes
    and scratch for the error maps. Reused by every score of that size."""

    def __init__(self, h: int, w: int, planes: int) -> None:
        self.h, self.w, self.planes = h, w, planes
        self.rows = max(1, min(h, _CHUNK_ROWS, round(_CHUNK_ELEMENTS / w)))
        self.wp = -(-w // _BLOCK) * _BLOCK  # width rounded up to whole blocks
        self.mix = np.empty((4, max(1, _GEMM_MAX // (12 * w)) * w), _F32)
        self.mix[3] = 1
        self.xyb = np.empty((3, h + _PAD, w), _F32)
        self._chunks: dict[int, _Chunk] = {}

    def chunks(self, lin: np.ndarray) -> Iterator[tuple[int, _Chunk]]:
        """(first row, its chunk) over the picture, converting `lin` (biased linear 3xHxW)
        to XYB just ahead of the rows that each chunk blurs (so they are still in cache)."""
        h, w = self.h, self.w
        done = 0
        for r0 in range(0, h, self.rows):
            n = min(self.rows, h - r0)
            need = min(h, r0 + n + _RADIUS)
            if need > done:
                self._convert(lin, done, need)
                done = need
            if n not in self._chunks:
                self._chunks[n] = _Chunk(self.planes, n, w, self.wp)
            yield r0, self._chunks[n]

    def _convert(self, lin: np.ndarray, start: int, stop: int) -> None:
        """XYB of rows start..stop; mirror the first and last 5 rows once they exist."""
        h, w = self.h, self.w
        step = max(1, _GEMM_MAX // (12 * w))  # rows a GEMM (3 x 4 by 4 x rows*w)
        for r0 in range(start, stop, step):
            r1 = min(stop, r0 + step)
            mix = self.mix[:, : (r1 - r0) * w]
            np.matmul(_OPSIN_F32, lin[:, r0:r1].reshape(3, -1), out=mix[:3])
            np.cbrt(mix[:3], out=mix[:3])
            rows = self.xyb[:, _RADIUS + r0 : _RADIUS + r1].view()
            rows.shape = (3, (r1 - r0) * w)  # raises rather than copying
            np.matmul(_TO_XYB, mix, out=rows)
        xyb = self.xyb
        if start == 0:
            xyb[:, :_RADIUS] = xyb[:, 2 * _RADIUS - 1 : _RADIUS - 1 : -1]
        if stop == h:
            xyb[:, h + _RADIUS :] = xyb[:, h + _RADIUS - 1 : h - 1 : -1]


class _Chunk:
    """Blur of `planes` planes over n output rows: stack (planes, n+10, wp+10 and more) with
    zero columns around the picture, a vertical pass by GEMMs over column pieces, then a
    horizontal pass by one GEMM per 16 output columns."""

    def __init__(self, planes: int, n: int, w: int, wp: int) -> None:
        self.n, self.w = n, w
        # Column pieces small enough that each vertical GEMM stays single-threaded.
        pieces = -(-n * (n + _PAD) * (wp + _PAD) // _GEMM_MAX)
        width = -(-(wp + _PAD) // pieces)
        self.stack = np.zeros((planes, n + _PAD, pieces * width), _F32)
        self.inner = self.stack[:, :, _RADIUS : _RADIUS + w]
        self.mid = np.empty((planes, n, pieces * width), _F32)
        self.vertical = np.zeros((n, n + _PAD), _F32)
        for i in range(n):
            self.vertical[i, i : i + _PAD + 1] = _GAUSS
        st, md = self.stack.strides, self.mid.strides
        self._stack_pieces = as_strided(
            self.stack, (planes, pieces, n + _PAD, width), (st[0], width * 4, st[1], 4)
        )
        self._mid_pieces = as_strided(
            self.mid, (planes, pieces, n, width), (md[0], width * 4, md[1], 4)
        )
        self.out = np.empty((planes, n, wp), _F32)
        blocks = wp // _BLOCK
        mid = self.mid.reshape(planes * n, -1)
        self._mid_blocks = as_strided(
            mid, shape=(blocks, planes * n, _BLOCK + _PAD), strides=(_BLOCK * 4, mid.strides[0], 4)
        )
        self._out_blocks = self.out.reshape(planes * n, blocks, _BLOCK).transpose(1, 0, 2)
        self.t1 = np.empty((3, n, w), _F32)
        self.t2 = np.empty((3, n, w), _F32)
        self.ones = np.ones(n * w, _F32)

    def blur(self) -> np.ndarray:
        """Blur the stack; returns (planes, n, w) views of the result."""
        np.matmul(self.vertical, self._stack_pieces, out=self._mid_pieces)
        np.matmul(self._mid_blocks, _HBLUR, out=self._out_blocks)
        return self.out[:, :, : self.w]

    def sums(self, t: np.ndarray, into: np.ndarray, fourth: np.ndarray) -> None:
        """Add each plane's sum of t (k, n, w) to `into` and of t**4 to `fourth` (t is
        squared in place)."""
        if not len(t):
            return
        flat = t.reshape(len(t), -1)
        into += flat @ self.ones
        np.multiply(t, t, out=t)
        for c, plane in enumerate(flat):
            fourth[c] += np.dot(plane, plane)


def _channels(scale: int, scales: int, kind: int) -> slice:
    """The channels (a slice of X, Y, B) whose map `kind` (0 SSIM, 1 ringing, 2 blurring)
    has a non-zero weight at this scale of a picture with this many scales. The others are
    never computed: their terms are exactly 0 in the score. (At full size, for instance, only
    Y's SSIM counts, which spares most of the work at the costliest scale.)"""
    used = [
        c
        for c in range(3)
        if any(_WEIGHTS[((c * scales + scale) * 2 + n) * 3 + kind] for n in range(2))
    ]
    return slice(min(used), max(used) + 1) if used else slice(0, 0)


class _Needs:
    """Which channels of one scale feed the score: `ssim`, `ringing`, `blurring` and `edges`
    (covering both edge maps), as slices."""

    def __init__(self, scale: int, scales: int) -> None:
        self.ssim = _channels(scale, scales, 0)
        self.ringing = _channels(scale, scales, 1)
        self.blurring = _channels(scale, scales, 2)
        both = [sl for sl in (self.ringing, self.blurring) if sl.stop > sl.start]
        self.edges = (
            slice(min(sl.start for sl in both), max(sl.stop for sl in both))
            if both
            else slice(0, 0)
        )
        self.k = self.ssim.stop - self.ssim.start


class _ReferenceScale:
    """What one scale of the reference contributes to every score, for the channels that
    `needs` asks for: XYB planes (SSIM channels, mirrored rows included), their blurred means
    and sigma11 + C2 (SSIM channels), and 1 / (1 + |xyb - mean|) (edge channels)."""

    def __init__(self, lin: np.ndarray, needs: _Needs) -> None:
        _, h, w = lin.shape
        self.needs = needs
        ss, ec, k = needs.ssim, needs.edges, needs.k
        plan = _Plan(h, w, 3 + k)
        self.mean = np.empty((k, h, w), _F32)
        self.var = np.empty((k, h, w), _F32)
        self.edge = np.empty((ec.stop - ec.start, h, w), _F32)
        xyb = plan.xyb
        for r0, ch in plan.chunks(lin):
            n = ch.n
            rows = xyb[:, r0 : r0 + n + _PAD]
            ch.inner[0:3] = rows
            np.multiply(rows[ss], rows[ss], out=ch.inner[3 : 3 + k])
            blurred = ch.blur()
            mu = blurred[0:3]
            mean, var, edge = (a[:, r0 : r0 + n] for a in (self.mean, self.var, self.edge))
            mean[:] = mu[ss]
            np.multiply(mean, mean, out=var)
            np.subtract(blurred[3 : 3 + k], var, out=var)
            np.add(var, _C2, out=var)
            np.subtract(xyb[ec, r0 + _RADIUS : r0 + n + _RADIUS], mu[ec], out=edge)
            np.abs(edge, out=edge)
            np.add(edge, 1, out=edge)
            np.divide(1, edge, out=edge)
        self.xyb = np.ascontiguousarray(xyb[ss])


def _score_scale(ref: _ReferenceScale, plan: _Plan, lin: np.ndarray) -> np.ndarray:
    """The 18 averages of one scale: per channel SSIM (1-norm, 4-norm), then per channel
    ringing and blurring (1-norm, 4-norm each), as in the reference's MsssimScale; 0 for
    those whose weight is 0."""
    xyb = plan.xyb
    needs = ref.needs
    ss, ec, k = needs.ssim, needs.edges, needs.k
    sums = np.zeros((6, 3))  # d, d^4, ringing, ringing^4, blurring, blurring^4
    for r0, ch in plan.chunks(lin):
        n = ch.n
        a = xyb[:, r0 : r0 + n + _PAD]
        ch.inner[0:3] = a
        np.multiply(a[ss], a[ss], out=ch.inner[3 : 3 + k])
        err = ch.inner[3 + k : 3 + 2 * k]
        np.subtract(a[ss], ref.xyb[:, r0 : r0 + n + _PAD], out=err)
        np.multiply(err, err, out=err)
        blurred = ch.blur()
        mu2 = blurred[0:3]
        if k:
            # SSIM: d = 1 - num_m * num_s / den with num_m = 1 - D, D = (mu1 - mu2)^2,
            # num_s = 2 (s12 - mu1 mu2) + C2, den = (s11 - mu1^2) + (s22 - mu2^2) + C2.
            # As den - num_s = q - D with q the blurred (a - b)^2: d = D + r (1 - D) with
            # r = (q - D) / den, which needs no s12 and cancels less. D and r are >= 0 (the
            # reference's clamp at 0 only ever removes rounding).
            s22, q = blurred[3 : 3 + k], blurred[3 + k : 3 + 2 * k]
            m2 = mu2[ss]
            t1, t2 = ch.t1[:k], ch.t2[:k]
            np.subtract(ref.mean[:, r0 : r0 + n], m2, out=t1)
            np.multiply(t1, t1, out=t1)
            np.multiply(m2, m2, out=t2)
            np.subtract(s22, t2, out=t2)
            np.add(t2, ref.var[:, r0 : r0 + n], out=t2)
            np.subtract(q, t1, out=q)
            np.divide(q, t2, out=q)
            np.subtract(1, t1, out=t2)
            np.multiply(t2, q, out=t2)
            np.add(t2, t1, out=t2)
            ch.sums(t2, sums[0, ss], sums[1, ss])
        # Edges: (1 + |a - mu2|) / (1 + |b - mu1|) - 1, its positive and negative parts.
        t1, t2 = ch.t1[ec], ch.t2[ec]
        np.subtract(xyb[ec, r0 + _RADIUS : r0 + n + _RADIUS], mu2[ec], out=t1)
        np.abs(t1, out=t1)
        np.add(t1, 1, out=t1)
        np.multiply(t1, ref.edge[:, r0 : r0 + n], out=t1)
        np.subtract(t1, 1, out=t1)
        rs, bs = needs.ringing, needs.blurring
        np.maximum(ch.t1[rs], 0, out=ch.t2[rs])
        ch.sums(ch.t2[rs], sums[2, rs], sums[3, rs])
        np.minimum(ch.t1[bs], 0, out=ch.t1[bs])
        ch.sums(ch.t1[bs], sums[4, bs], sums[5, bs])
    sums /= plan.h * plan.w
    sums[1::2] **= 0.25
    avg = np.empty(18)
    avg[0:6:2], avg[1:6:2] = sums[0], sums[1]
    avg[6::4], avg[7::4], avg[8::4], avg[9::4] = sums[2], sums[3], -sums[4], sums[5]
    return avg


def _final(scales: list[np.ndarray]) -> float:
    """The weighted sum of the scales' averages, mapped to the 0..100 score."""
    total = 0.0
    i = 0
    for c in range(3):
        for avg in scales:
            for n in range(2):
                for value in (avg[c * 2 + n], avg[6 + c * 4 + n], avg[6 + c * 4 + n + 2]):
                    total += _WEIGHTS[i] * abs(value)
                    i += 1
    total *= 0.9562382616834844
    total = (
        2.326765642916932 * total
        - 0.020884521182843837 * total**2
        + 6.248496625763138e-05 * total**3
    )
    if total <= 0:
        return 100.0
    return float(100.0 - 10.0 * total**0.6276336467831387)


# --- public --------------------------------------------------------------------------------------
class Reference:
    """The unencoded picture, prepared once for scoring any number of encodes of it.

    `image` is a PIL image (any mode; converted to RGB, or RGBA when it has transparency) or a
    uint8 array HxW, HxWx3 or HxWx4, taken as sRGB. Construction computes, at every scale, the
    XYB planes, their blurred means and variances and the edge term, so that `score` converts
    and blurs only the distorted picture (at 1600x1200 on one core: about 50 ms to build, 70 ms
    a score, 165 MB held between scores).

    Transparency: the reference package drops alpha; here, as in libjxl's tool, a picture with
    an alpha channel that is not all opaque is composited (in sRGB values) onto dark and light
    grey (ALPHA_BACKGROUNDS), the distorted picture onto the same grey with its own alpha
    (opaque if it has none), and the lower of the two scores counts (twice the work). Pictures
    smaller than MIN_SIDE on either side have no scale to compare: like the reference, they
    score 100 against anything of their size.

    Not thread-safe: `score` reuses scratch buffers (one Reference per thread).
    """

    def __init__(self, image: ImageLike) -> None:
        rgb, alpha = _pixels(image)
        self._rgb, self._alpha = rgb, alpha
        self.height, self.width = rgb.shape[:2]
        self._scales: dict[float | None, list[_ReferenceScale]] = {}
        self._work: _Work | None = None
        for bg in (None,) if alpha is None else ALPHA_BACKGROUNDS:
            self._prepare(bg)

    @property
    def size(self) -> tuple[int, int]:
        """(width, height), as PIL gives it."""
        return self.width, self.height

    def _prepare(self, bg: float | None) -> list[_ReferenceScale]:
        if self._alpha is None:
            bg = None  # an opaque reference looks the same on every background
        if bg not in self._scales:
            lin = _linear(self._rgb, self._alpha, bg)
            levels = [lin]
            while len(levels) < _NUM_SCALES and min(levels[-1].shape[1:]) >= 2 * MIN_SIDE - 1:
                levels.append(_halve(levels[-1]))
            if min(lin.shape[1:]) < MIN_SIDE:
                levels = []
            scales = [
                _ReferenceScale(level, _Needs(s, len(levels))) for s, level in enumerate(levels)
            ]
            self._scales[bg] = scales
        return self._scales[bg]

    def score(self, distorted: ImageLike, floor: float | None = None) -> float:
        """SSIMULACRA2 of `distorted` (same size, same kinds of input as the reference)
        against this reference: 100 when they are identical, lower the more visible the
        difference (about 90 visually lossless, 70 medium; it can go below 0).

        floor: the caller only needs to know whether the score reaches it. The scales are
        then compared coarsest first (a quarter of the work), and as soon as the error found
        so far puts the score below floor, that partial score is returned: still below
        floor, and above the true score. Scores at or above floor are exact."""
        rgb, alpha = _pixels(distorted)
        if rgb.shape != self._rgb.shape:
            raise ValueError(
                f"distorted is {rgb.shape[1]}x{rgb.shape[0]}, reference is "
                f"{self.width}x{self.height}"
            )
        scales = self._prepare(None if self._alpha is None else ALPHA_BACKGROUNDS[0])
        if self._work is None:
            self._work = _Work(self.height, self.width, [ref.needs for ref in scales])
        work = self._work
        same = (alpha is None and self._alpha is None) or (
            alpha is not None and self._alpha is not None and np.array_equal(alpha, self._alpha)
        )
        if same and _equal(rgb, self._rgb):
            return 100.0
        if alpha is None and self._alpha is None:
            return self._score(rgb, None, None, work, floor)
        return min(self._score(rgb, alpha, bg, work) for bg in ALPHA_BACKGROUNDS)

    def _score(
        self,
        rgb: np.ndarray,
        alpha: np.ndarray | None,
        bg: float | None,
        work: _Work,
        floor: float | None = None,
    ) -> float:
        lin = _linear(rgb, alpha, bg, work)
        refs = self._prepare(bg)
        levels = [lin]
        for i in range(1, len(refs)):
            levels.append(_halve(levels[-1], work.halves[i - 1]))
        averages: list[np.ndarray | None] = [None] * len(refs)
        # Every scale adds error, never removes it: with the scales compared so far (the
        # others counted as perfect) the score can only fall from here.
        for i in reversed(range(len(refs))):
            averages[i] = _score_scale(refs[i], work.plans[i], levels[i])
            if floor is not None and i:
                partial = _final(
                    [a if a is not None else np.zeros_like(averages[i]) for a in averages]
                )
                if partial < floor:
                    return partial
        return _final(averages)


def ssimulacra2(reference: ImageLike, distorted: ImageLike) -> float:
    """SSIMULACRA2 of `distorted` against `reference` (same size; see `Reference`)."""
    return Reference(reference).score(distorted)
