"""Scenario Q's pieces that need no runner (issue 14): its rows, the picture Pixmill scores
against, the bench's own scores of every row's outputs, and the single fixed JPEG quality the
whole batch would need to reach a target.

The reference is what Pixmill's quality search scores against: the source as Pixmill renders
it for a target (engine/convert.py `_render`, the RGB path): libjpeg's scaled decode (`draft`)
when the output is at most half the stored size, one Lanczos resize with Pillow's
reducing_gap 3.0, then the EXIF orientation. A full decode + one Lanczos resize (no scaled
decode) is a different picture: it has detail the scaled decode never had, and on the corpus it
moves scores by up to about 3 points. The runner checks the render against each target row's
reported scores (they must agree to 0.01) and shows what the full decode would say.

Kept free of the runner's imports so test_measure.py can try the search on fake scores.
"""

from __future__ import annotations

import io
import json
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from PIL import Image, ImageOps

#: EXIF orientations that swap width and height.
_SWAPS = frozenset({5, 6, 7, 8})
#: Where the single-quality search starts (lower, then higher, if the photos ask for it).
_Q_LOW, _Q_HIGH = 50, 100


@dataclass(frozen=True)
class QRow:
    """One row of scenario Q: a `pixmill convert` run over the whole batch."""

    key: str
    label: str
    fmt: str  # --format
    target: str | None = None  # --quality-target (None: the fixed --quality)
    extra: tuple[str, ...] = ()  # more flags


FIXED_QUALITY = 85
#: The rows, in the order they are shown (the first is the baseline).
QROWS = (
    QRow("fixed", f"jpeg q{FIXED_QUALITY} (fixed)", "jpeg"),
    QRow("high", "jpeg, target high", "jpeg", "high"),
    QRow("high-prog", "jpeg, target high, progr.", "jpeg", "high", ("--progressive",)),
    QRow("balanced", "jpeg, target balanced", "jpeg", "balanced"),
    QRow("small", "jpeg, target small", "jpeg", "small"),
    QRow("auto", "auto, target balanced", "auto", "balanced"),
    QRow("webp", "webp, target balanced", "webp", "balanced"),
    QRow("avif", "avif, target balanced", "avif", "balanced"),
)
#: The rows auto is compared with: one format for the whole batch at auto's target.
SINGLE_FORMATS = ("balanced", "webp", "avif")


def quality_targets() -> dict[str, float]:
    """The engine's named SSIMULACRA2 targets (engine/recipe.py QUALITY_TARGETS)."""
    from pixmill.engine.recipe import QUALITY_TARGETS

    return dict(QUALITY_TARGETS)


def fit_size(size: tuple[int, int], box: tuple[int, int]) -> tuple[int, int]:
    """Pixmill's fit: scale into box, never enlarge, each side rounded."""
    w, h = size
    s = min(box[0] / w, box[1] / h, 1.0)
    return max(1, round(w * s)), max(1, round(h * s))


def _orientation(im: Image.Image) -> int:
    try:
        value = int(im.getexif().get(0x0112, 1) or 1)
    except (TypeError, ValueError):
        return 1
    return value if 1 <= value <= 8 else 1


def render_reference(path: str, box: tuple[int, int]) -> Image.Image:
    """The source as Pixmill renders it for a quality target (see the module docstring):
    8-bit RGB, upright, fitted to box."""
    with Image.open(path) as im:
        orientation = _orientation(im)
        rw, rh = im.size
        up = (rh, rw) if orientation in _SWAPS else (rw, rh)
        tw, th = fit_size(up, box)
        sw, sh = (th, tw) if orientation in _SWAPS else (tw, th)  # as stored
        if im.format == "JPEG" and sw * 2 <= rw and sh * 2 <= rh:
            im.draft(im.mode, (sw, sh))
        im.load()
        rgb = im.convert("RGB")
    if rgb.size != (sw, sh):
        shrinking = sw < rgb.width and sh < rgb.height
        rgb = rgb.resize(
            (sw, sh), Image.Resampling.LANCZOS, reducing_gap=3.0 if shrinking else None
        )
    return ImageOps.exif_transpose(rgb.copy()) if orientation != 1 else rgb


def render_full(path: str, box: tuple[int, int]) -> Image.Image:
    """The careful picture: the whole source decoded, turned upright (EXIF), one Lanczos
    resize to the fit."""
    with Image.open(path) as im:
        upright = ImageOps.exif_transpose(im).convert("RGB")
    return upright.resize(fit_size(upright.size, box), Image.Resampling.LANCZOS)


def read_report(path: str) -> dict[str, dict[str, Any]]:
    """A Pixmill JSON report's file records by source file name."""
    with open(path) as f:
        doc = json.load(f)
    return {os.path.basename(r["source"]): r for r in doc.get("files", [])}


def file_stats(records: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """What one run's report says over its converted files: bytes, time, formats, qualities,
    scores (reported ones; None for a fixed-quality run)."""
    ok = [r for r in records if r.get("status") == "ok"]
    scores = [r["score"] for r in ok if r.get("score") is not None]
    formats: dict[str, int] = {}
    for r in ok:
        ext = os.path.splitext(r.get("target") or "")[1].lstrip(".").lower()
        fmt = r.get("format") or {"jpg": "jpeg"}.get(ext, ext)
        formats[fmt] = formats.get(fmt, 0) + 1
    qualities = [r["quality"] for r in ok if r.get("quality") is not None]
    return {
        "converted": len(ok),
        "bytes_out": sum(r.get("bytes_out") or 0 for r in ok),
        "ms_sum": sum(r.get("ms") or 0.0 for r in ok),
        "kept_original": sum(1 for r in ok if r.get("kept_original")),
        "formats": dict(sorted(formats.items())),
        "quality_range": [min(qualities), max(qualities)] if qualities else None,
        "score_min": min(scores) if scores else None,
        "score_mean": sum(scores) / len(scores) if scores else None,
    }


def lowest_reaching(score: Callable[[int], float], target: float) -> int | None:
    """The lowest quality whose score reaches target, by bisection between _Q_LOW and
    _Q_HIGH (widened down to 1 when _Q_LOW already reaches it); None when even _Q_HIGH does
    not. Scores are taken to rise with quality: the answer's score and the score one below
    it (which misses) are both measured."""
    lo, hi = _Q_LOW, _Q_HIGH
    if score(hi) < target:
        return None
    while score(lo) >= target:
        if lo == 1:
            return 1
        hi, lo = lo, max(1, lo - 20)
    while hi - lo > 1:  # score(lo) misses, score(hi) reaches
        mid = (lo + hi) // 2
        if score(mid) >= target:
            hi = mid
        else:
            lo = mid
    return hi


class _Scored(Protocol):
    def score_at(self, q: int) -> float: ...


def common_quality(
    pictures: Sequence[_Scored], target: float
) -> tuple[int | None, list[int | None]]:
    """The lowest single quality at which every picture reaches target, and each picture's
    own lowest. The answer is the largest own lowest, raised while some picture still misses
    at it (scores that do not rise with quality); None if a picture never reaches target."""
    own = [lowest_reaching(p.score_at, target) for p in pictures]
    if not own or any(q is None for q in own):
        return None, own
    q = max(q for q in own if q is not None)
    while q <= _Q_HIGH and any(p.score_at(q) < target for p in pictures):
        q += 1
    return (q if q <= _Q_HIGH else None), own


#: Chroma subsampling of the fixed-quality JPEGs the common quality is searched with: Pillow's
#: default (what Pixmill's fixed quality writes) and full-resolution chroma (which Pixmill's
#: search also tries when 4:2:0 needs a very high quality or never reaches the target).
SUBSAMPLINGS = ("4:2:0", "4:4:4")
_SAMPLING_NAMES = {0: "4:4:4", 1: "4:2:2", 2: "4:2:0"}


def jpeg_sampling(path: str) -> str | None:
    """A JPEG file's chroma subsampling ("4:2:0", "4:4:4"...), None for another format."""
    from PIL import JpegImagePlugin

    with Image.open(path) as im:
        if im.format != "JPEG":
            return None
        return _SAMPLING_NAMES.get(JpegImagePlugin.get_sampling(im), "other")


class Photo:
    """One photo's reference, its scores of any output file, and its JPEG (Pillow,
    libjpeg-turbo, baseline, at a subsampling: what a fixed quality writes) at any quality,
    each encoded and scored once. The metric's reference side (about 85 MB for a 1600x1067
    picture) is built on first use, and only one photo keeps it at a time: using another
    photo's drops it (and a later use builds it again)."""

    _live: list[Photo] = []  # the photo whose reference is in memory

    def __init__(self, path: str, box: tuple[int, int]) -> None:
        self.path, self.box = path, box
        self.jpeg: dict[tuple[str, int], tuple[int, float]] = {}  # -> (bytes, score)
        self._image: Image.Image | None = None
        self._ref: Any = None

    def _reference(self) -> Any:
        if self._ref is None:
            from pixmill.engine.metric import Reference

            for other in Photo._live:
                other.release()
            self._image = render_reference(self.path, self.box)
            self._ref = Reference(self._image)
            Photo._live[:] = [self]
        return self._ref

    def release(self) -> None:
        self._image = self._ref = None
        if self in Photo._live:
            Photo._live.remove(self)

    def score_file(self, path: str) -> float:
        ref = self._reference()
        with Image.open(path) as im:
            im.load()
            return float(ref.score(im))

    def at(self, q: int, subsampling: str = "4:2:0") -> tuple[int, float]:
        """Bytes and score of Pillow's JPEG at quality q."""
        key = (subsampling, q)
        if key not in self.jpeg:
            ref = self._reference()
            buf = io.BytesIO()
            assert self._image is not None
            self._image.save(buf, "JPEG", quality=q, subsampling=subsampling)
            size = buf.getbuffer().nbytes
            buf.seek(0)
            with Image.open(buf) as im:
                im.load()
                self.jpeg[key] = (size, float(ref.score(im)))
        return self.jpeg[key]

    def at_sampling(self, subsampling: str) -> _AtSampling:
        return _AtSampling(self, subsampling)


@dataclass(frozen=True)
class _AtSampling:
    """A photo's JPEG scores at one subsampling, as common_quality wants them."""

    photo: Photo
    subsampling: str

    def score_at(self, q: int) -> float:
        return self.photo.at(q, self.subsampling)[1]

    def bytes_at(self, q: int) -> int:
        return self.photo.at(q, self.subsampling)[0]


def full_decode_score(source: str, box: tuple[int, int], output: str) -> float:
    """output's score against render_full(source) instead of Pixmill's render."""
    from pixmill.engine.metric import ssimulacra2

    with Image.open(output) as im:
        im.load()
        return float(ssimulacra2(render_full(source, box), im))


def analyse(
    files: Sequence[str],
    outputs: dict[str, dict[str, str]],
    box: tuple[int, int],
    target: float,
    full_rows: Sequence[str] = ("fixed", "high"),
) -> dict[str, Any]:
    """The bench's own measurements of scenario Q's outputs, photo by photo. outputs: row key
    -> {source file name: output path}. Returns per photo: every row's output scored against
    Pixmill's render ("scores") and its JPEG subsampling ("sampling"), full_rows' outputs
    against a full decode ("full_scores"), the lowest Pillow JPEG quality reaching target at
    each of SUBSAMPLINGS ("own_quality"), Pillow's bytes at FIXED_QUALITY; and per
    subsampling ("common") the single quality the whole batch needs for target (None if
    some photo never gets there), with the batch's bytes and lowest score at it."""
    photos = [Photo(f, box) for f in files]
    per: dict[str, dict[str, Any]] = {}
    for photo in photos:
        name = os.path.basename(photo.path)
        mine = {row: out[name] for row, out in outputs.items() if name in out}
        per[name] = {
            "scores": {row: photo.score_file(path) for row, path in mine.items()},
            "sampling": {row: jpeg_sampling(path) for row, path in mine.items()},
            "own_quality": {
                sub: lowest_reaching(photo.at_sampling(sub).score_at, target)
                for sub in SUBSAMPLINGS
            },
            "pillow_fixed_bytes": photo.at(FIXED_QUALITY)[0],
        }
        photo.release()
        per[name]["full_scores"] = {
            row: full_decode_score(photo.path, box, mine[row]) for row in full_rows if row in mine
        }
    common: dict[str, dict[str, Any]] = {}
    for sub in SUBSAMPLINGS:
        pictures = [p.at_sampling(sub) for p in photos]
        q, _ = common_quality(pictures, target)
        common[sub] = {"quality": q}
        if q is not None:  # every photo was measured at q by common_quality
            common[sub]["bytes"] = sum(p.bytes_at(q) for p in pictures)
            common[sub]["min_score"] = min(p.score_at(q) for p in pictures)
    for photo in photos:
        photo.release()
    return {
        "target": target,
        "photos": per,
        "common": common,
        "pillow_fixed_bytes": sum(p["pillow_fixed_bytes"] for p in per.values()),
    }
