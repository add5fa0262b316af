"""Picture-quality checks beside the speed numbers: output sizes, and SSIM against a careful
reference (the source fully decoded, no draft, no reduce, one Lanczos resize).

SSIM is the usual one (Wang et al. 2004): on 8-bit luma (BT.601), an 11-tap Gaussian window
with sigma 1.5, K1 = 0.01, K2 = 0.03, averaged over the valid area. numpy only.

HEIC sources are read through pillow-heif (which applies the HEIF rotation and clears the EXIF
orientation, so nothing turns twice); camera RAW sources are developed by rawpy with the
camera's white balance and LibRaw's defaults (AHD, sRGB, 8 bits, orientation applied).
"""

from __future__ import annotations

import os
from collections.abc import Iterable

import numpy as np
from PIL import Image

try:
    import pillow_heif

    pillow_heif.register_heif_opener()
except ImportError:  # scenario H then has no reference; the others do not need one
    pass

RAW_SUFFIXES = (".dng", ".cr2", ".cr3", ".nef", ".arw", ".orf", ".rw2", ".raf", ".pef")

_C1 = (0.01 * 255) ** 2
_C2 = (0.03 * 255) ** 2


def _gaussian_taps(sigma: float = 1.5, radius: int = 5) -> np.ndarray:
    x = np.arange(-radius, radius + 1, dtype=np.float64)
    w = np.exp(-(x * x) / (2 * sigma * sigma))
    return w / w.sum()


_TAPS = _gaussian_taps()


def _filter(a: np.ndarray) -> np.ndarray:
    """Separable Gaussian filter, 'valid' area only (no padding)."""
    n = len(_TAPS)
    rows = a.shape[0] - n + 1
    tmp = np.zeros((rows, a.shape[1]), dtype=np.float64)
    for k, w in enumerate(_TAPS):
        tmp += w * a[k : k + rows, :]
    cols = a.shape[1] - n + 1
    out = np.zeros((rows, cols), dtype=np.float64)
    for k, w in enumerate(_TAPS):
        out += w * tmp[:, k : k + cols]
    return out


def luma(im: Image.Image) -> np.ndarray:
    """BT.601 luma of an image as float64, after flattening alpha onto white."""
    if im.mode in ("RGBA", "LA", "PA", "P"):
        im = im.convert("RGBA")
        base = Image.new("RGB", im.size, (255, 255, 255))
        base.paste(im, mask=im.getchannel("A"))
        im = base
    rgb = np.asarray(im.convert("RGB"), dtype=np.float64)
    return rgb[..., 0] * 0.299 + rgb[..., 1] * 0.587 + rgb[..., 2] * 0.114


def ssim(a: np.ndarray, b: np.ndarray) -> float:
    """Mean SSIM of two equally sized 2-D arrays in the 0..255 range."""
    if a.shape != b.shape:
        raise ValueError(f"shapes differ: {a.shape} vs {b.shape}")
    if min(a.shape) < len(_TAPS):
        return 1.0 if np.array_equal(a, b) else float("nan")
    mu_a, mu_b = _filter(a), _filter(b)
    aa, bb, ab = _filter(a * a), _filter(b * b), _filter(a * b)
    var_a = aa - mu_a * mu_a
    var_b = bb - mu_b * mu_b
    cov = ab - mu_a * mu_b
    num = (2 * mu_a * mu_b + _C1) * (2 * cov + _C2)
    den = (mu_a * mu_a + mu_b * mu_b + _C1) * (var_a + var_b + _C2)
    return float(np.mean(num / den))


_REFERENCES: dict[tuple[str, tuple[int, int]], np.ndarray] = {}


def reference(source: str, size: tuple[int, int]) -> np.ndarray:
    """Luma of the careful reference: full decode (no draft), EXIF orientation applied,
    one Lanczos resize straight from full resolution. Cached per (source, size)."""
    from PIL import ImageOps

    key = (source, size)
    if key not in _REFERENCES:
        if _is_raw(source):
            im = _develop(source)
            if im.size != size:
                im = im.resize(size, Image.Resampling.LANCZOS)
            _REFERENCES[key] = luma(im)
            return _REFERENCES[key]
        with Image.open(source) as im:
            im.load()
            im = ImageOps.exif_transpose(im)
            if im.size != size:
                im = im.convert("RGB").resize(size, Image.Resampling.LANCZOS)
            _REFERENCES[key] = luma(im)
    return _REFERENCES[key]


def _is_raw(path: str) -> bool:
    return os.path.splitext(path)[1].lower() in RAW_SUFFIXES


def _develop(source: str) -> Image.Image:
    """A camera RAW file developed as `dcraw_emu -w` would: full demosaic, upright."""
    import rawpy

    with rawpy.imread(source) as raw:
        return Image.fromarray(raw.postprocess(use_camera_wb=True))


def displayed_size(source: str) -> tuple[int, int] | None:
    """The source's size as shown: after EXIF orientation, the HEIF transforms, or a RAW
    file's orientation flag. None when it cannot be read."""
    try:
        if _is_raw(source):
            import rawpy

            with rawpy.imread(source) as raw:
                w, h, flip = raw.sizes.width, raw.sizes.height, raw.sizes.flip
            return (h, w) if flip in (5, 6) else (w, h)
        with Image.open(source) as im:
            w, h = im.size
            turned = im.getexif().get(0x0112) in (5, 6, 7, 8)
            return (h, w) if turned else (w, h)
    except Exception:
        return None


def expected_size(source: str, fit: tuple[int, int] | None) -> tuple[int, int] | None:
    """What a fit within the box gives (never enlarging, each side rounded): the size every
    contender should write."""
    size = displayed_size(source)
    if size is None or fit is None:
        return size
    s = min(fit[0] / size[0], fit[1] / size[1], 1.0)
    return max(1, round(size[0] * s)), max(1, round(size[1] * s))


def output_size(path: str) -> tuple[int, int] | None:
    try:
        with Image.open(path) as im:
            return im.size
    except (OSError, ValueError):
        return None


def mean_ssim(pairs: Iterable[tuple[str, str]]) -> float | None:
    """Mean SSIM of (source, output) pairs, each output against the reference made from its
    source at the output's size. None when no pair could be compared."""
    values = []
    for source, output in pairs:
        if not os.path.exists(output):
            continue
        with Image.open(output) as im:
            out = luma(im)
        ref = reference(source, (out.shape[1], out.shape[0]))
        values.append(ssim(ref, out))
    return float(np.mean(values)) if values else None
