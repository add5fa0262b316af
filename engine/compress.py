"""Choosing each image's encoding when the recipe asks for more than one fixed quality: the
lowest quality whose output reaches a perceptual target (SSIMULACRA2 against the rendered,
unencoded image), the highest that fits a size cap, and, for format "auto", the smallest of
several formats that reaches the target.

Scores need a decode of every candidate and the metric, so the search is frugal: a first
guess from the target, then steps that bracket the crossing and interpolate it, each
quality tried at most once (usually three or four encodes); the reference side of the
metric is computed once per image. A size cap needs no metric: it bisects on bytes.
"""

from __future__ import annotations

import io
import os
import statistics
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from PIL import Image, ImageSequence

from . import encode
from .errors import ConversionError
from .formats import AUTO_FORMATS, OUTPUT, output_format
from .i18n import _
from .recipe import Recipe

#: Formats whose quality the search can set.
SEARCHABLE = frozenset({"jpeg", "webp", "avif", "heic", "jxl"})
#: The quality range searched (below 10 every format falls apart; 100 means lossless to
#: some encoders and is no longer a quality).
Q_MIN, Q_MAX = 10, 98
#: The first quality tried for a target, by format: about where photographs cross it.
#: (quality at target 80, quality gained per point of target)
_GUESS = {
    "jpeg": (84, 1.0),
    "webp": (82, 1.1),
    "avif": (72, 1.3),
    "heic": (74, 1.3),
    "jxl": (80, 1.2),
}

#: Score points gained per quality step near the targets (JPEG and WebP on photographs).
_SLOPE = 0.8
#: A passing score this close above the target is taken without proving that one quality
#: lower misses (that proof cost a third of the search's time; it is one step of bytes, and on
#: the benchmark photos 0.2 % of the total).
_CLOSE_ENOUGH = 1.0
#: Where the last searches of each kind ended in this process (up to _HISTORY of them): the
#: next image starts at their median, a steadier guess than the last one alone (photos of a
#: batch vary by a few qualities around it; on the benchmark photos: 16 % fewer scores).
_HISTORY = 9
_LANDED: dict[tuple[Any, ...], list[int]] = {}

#: score(encoded bytes, floor) -> SSIMULACRA2; below floor it may be a bound (see
#: metric.Reference.score).
Scorer = Callable[[bytes, float | None], float]


@dataclass
class Choice:
    """The chosen encoding of one image: its bytes, format and quality (None for a
    lossless format), its score when a target was asked for, and how many candidates
    were encoded to find it."""

    data: bytes
    format: str
    quality: int | None
    score: float | None = None
    tries: int = 0
    warnings: list[str] = field(default_factory=list)


def _rgb(im: Image.Image) -> Image.Image:
    """An automatic-format frame (rendered for WebP: 8-bit RGB or RGBA) for a format without
    alpha: RGB, any alpha composited on white."""
    if im.mode != "RGBA":
        return im.convert("RGB") if im.mode != "RGB" else im
    flat = Image.new("RGB", im.size, (255, 255, 255))
    flat.paste(im, mask=im.getchannel("A"))
    return flat


def has_alpha(im: Image.Image) -> bool:
    """Whether the image has transparency that is used (not all opaque)."""
    if im.mode in ("RGBA", "LA", "PA"):
        lo, _ = im.getchannel("A").getextrema()
        return lo < 255
    return im.mode == "P" and "transparency" in im.info


class _Search:
    """Encodes and scores one image's candidates for one format, remembering each quality
    tried."""

    def __init__(
        self,
        frames: list[Image.Image],
        fmt: str,
        kwargs: dict[str, Any],
        recipe: Recipe,
        scorer: Scorer | None,
        variant: str = "",
    ) -> None:
        self.frames, self.fmt, self.kwargs, self.recipe = frames, fmt, kwargs, recipe
        self.scorer = scorer
        self.variant = variant  # "" or "full chroma": searches remembered apart
        self.data: dict[int, bytes] = {}
        self.scores: dict[int, float] = {}
        self.bounds: set[int] = set()  # qualities whose score is only a bound (a sure miss)

    def encode(self, q: int) -> bytes:
        if q not in self.data:
            kw = {**self.kwargs, **quality_kwargs(self.recipe, self.fmt, q)}
            self.data[q] = encode_candidate(self.frames, self.fmt, kw)
        return self.data[q]

    def score(self, q: int, floor: float | None = None) -> float:
        """q's score; with floor, a score below floor may be a bound above the true one
        (the metric stops once the miss is sure), and is redone exactly when asked for
        without floor."""
        if q not in self.scores or (floor is None and q in self.bounds):
            assert self.scorer is not None
            s = self.scorer(self.encode(q), floor)
            self.scores[q] = s
            if floor is not None and s < floor:
                self.bounds.add(q)
            else:
                self.bounds.discard(q)
        return self.scores[q]

    @property
    def tries(self) -> int:
        return len(self.data)

    def lowest_reaching(self, target: float, give_up_above: int | None = None) -> int | None:
        """The lowest quality whose score reaches target (scores rise with quality), or
        None when even Q_MAX does not. Starts at the median of where the last images of this
        kind landed in this process (the photos of a batch are alike), else at the format's
        usual place, and steps by the score's slope, so that two or three encodes usually
        settle it."""
        key = (self.fmt, target, self.variant)
        base, per_point = _GUESS.get(self.fmt, (80, 1.0))
        landed = _LANDED.get(key)
        guess = (
            statistics.median_low(landed) if landed else round(base + per_point * (target - 80.0))
        )
        q = _clamp(guess)
        passing: int | None = None  # the lowest quality known to reach target
        failing: int | None = None  # the highest known not to
        while True:
            s = self.score(q, floor=target)  # a sure miss costs a quarter of a score
            if s >= target:
                passing = q if passing is None else min(passing, q)
            else:
                failing = q if failing is None else max(failing, q)
            if passing is not None and failing is not None and passing - failing <= 1:
                break
            if s >= target and s - target < _CLOSE_ENOUGH:
                break  # one step lower would almost surely miss: not worth a look
            if passing is not None and failing is not None:
                s_lo, s_hi = self.scores[failing], self.scores[passing]
                frac = (target - s_lo) / (s_hi - s_lo) if s_hi > s_lo else 0.5
                q = failing + max(1, min(passing - failing - 1, round(frac * (passing - failing))))
            elif passing is not None:
                if q == Q_MIN:
                    break
                # Aim just below the crossing, so that the next look usually brackets it.
                q = _clamp(min(q - 1, int((q - (s - target) / _SLOPE) - 0.5)))
            else:
                if q == Q_MAX:
                    return None
                q = _clamp(max(q + 1, int(q + (target - s) / _SLOPE + 0.999)))
                if give_up_above is not None and q > give_up_above:
                    return None  # far out of reach this way: the caller tries another
        if passing is not None:
            _LANDED.setdefault(key, []).append(passing)
            del _LANDED[key][:-_HISTORY]
        return passing

    def highest_fitting(self, cap: int, top: int) -> int | None:
        """The highest quality up to top whose output is at most cap bytes (sizes rise with
        quality), or None when even Q_MIN does not fit."""
        if len(self.encode(top)) <= cap:
            return top
        lo, hi = Q_MIN, top  # lo: fits (to be checked), hi: does not
        if len(self.encode(lo)) > cap:
            return None
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if len(self.encode(mid)) <= cap:
                lo = mid
            else:
                hi = mid
        return lo


#: The save() arguments encoders.encode_jpeg() takes as they are (quality is set per candidate).
_JPEG_ARGS = frozenset(
    {"quality", "progressive", "subsampling", "exif", "icc_profile", "xmp", "comment"}
)


def encode_candidate(frames: list[Image.Image], fmt: str, kw: dict[str, Any]) -> bytes:
    """One candidate. A still JPEG is encoded by jpegli wherever it can be (8-bit RGB, half
    chroma: the same score for about 9 % fewer bytes than libjpeg-turbo), always baseline:
    a progressive file is made once, from the chosen candidate (_finish)."""
    if fmt == "jpeg" and len(frames) == 1 and not set(kw) - _JPEG_ARGS:
        from . import encoders

        return encoders.encode_jpeg(
            frames[0],
            kw["quality"],
            subsampling=kw.get("subsampling"),
            exif=kw.get("exif"),
            icc_profile=kw.get("icc_profile"),
            xmp=kw.get("xmp"),
            comment=kw.get("comment"),
            encoder="auto",
        )
    return encode.to_bytes(frames, fmt, kw)


def _finish(choice: Choice, recipe: Recipe) -> Choice:
    """The chosen file through the lossless optimisers, which leave every pixel as it is: a
    JPEG the recipe wants progressive is re-packed by MozJPEG (progressive scans, optimal
    tables: about 6 % smaller than the baseline file, at about 45 ms of CPU per megapixel, so
    only when asked for). (PNG, which has no quality, is re-compressed by oxipng where it is
    encoded.)"""
    if choice.format == "jpeg" and recipe.progressive:
        from . import encoders

        choice.data = encoders.optimize_jpeg(choice.data)
    return choice


def _clamp(q: int) -> int:
    return max(Q_MIN, min(Q_MAX, q))


#: Encoder settings of searched formats: AVIF at libaom's speed 8 and one thread (speed 6,
#: its default, took half of an automatic-format search for a few percent of bytes; the
#: pool already fills every core).
_SEARCH_SETTINGS = {"avif": {"speed": 8, "max_threads": 1}}


def quality_kwargs(recipe: Recipe, fmt: str, q: int) -> dict[str, Any]:
    """The save() arguments that set quality q for fmt (the rest come from the recipe)."""
    return {
        **encode.encoder_kwargs(recipe.replace(quality=q), fmt),
        **_SEARCH_SETTINGS.get(fmt, {}),
    }


def make_scorer(reference: Image.Image) -> Scorer:
    """SSIMULACRA2 of an encoded candidate against the unencoded image, decoded as the
    viewer will see it."""
    from .metric import Reference

    ref = Reference(reference)  # transparency: compared on a dark and a light background

    def score(data: bytes, floor: float | None = None) -> float:
        with Image.open(io.BytesIO(data)) as im:
            im.load()
            return float(ref.score(im, floor))

    return score


def choose(frames: list[Image.Image], kwargs: dict[str, Any], fmt: str, recipe: Recipe) -> Choice:
    """The encoding of frames the recipe asks for (its target, cap and format: see the
    module docstring). kwargs: the save() arguments of fmt (metadata included); for format
    "auto", those of WebP. Raises ConversionError when nothing fits the size cap."""
    target = recipe.score_target
    if recipe.format == "auto":
        return _finish(_choose_auto(frames, kwargs, recipe, target or _auto_default()), recipe)
    if fmt not in SEARCHABLE or len(frames) > 1 or (fmt == "webp" and recipe.webp_lossless):
        # Lossless, or an animation: one encoding; a cap can only be checked.
        data = encode.to_bytes(frames, fmt, kwargs)
        if fmt == "png":
            from . import encoders

            data = encoders.optimize_png(data)
        if recipe.max_size and len(data) > recipe.max_size:
            size, cap = _kb(len(data)), _kb(recipe.max_size)
            if len(frames) > 1:
                why = _(
                    "the output is {size}, above the {cap} size cap, and an animation has no "
                    "quality to lower"
                ).format(size=size, cap=cap)
            else:
                why = _(
                    "the output is {size}, above the {cap} size cap, and {format} (lossless) has "
                    "no quality to lower"
                ).format(size=size, cap=cap, format=fmt.upper())
            raise ConversionError(why)
        return Choice(data, fmt, None, tries=1)
    if not target:
        return _finish(
            _choose_quality(_Search(frames, fmt, kwargs, recipe, None), None, recipe), recipe
        )
    scorer = make_scorer(frames[0])
    return _finish(_choose_for_target(frames, kwargs, fmt, recipe, scorer, target), recipe)


#: Second tries when the format's usual encoding needs a very high quality for a target
#: (fine colour detail: noise, foliage, red edges) or cannot reach it at all: full-resolution
#: chroma, or for WebP, whose lossy mode always halves chroma, its lossless mode.
_FULL_CHROMA = {
    "jpeg": {"subsampling": "4:4:4"},
    "avif": {"subsampling": "4:4:4"},
    "heic": {"chroma": 444},
    "webp": {"lossless": True, "quality": 80, "method": 4},
}
_FIRST_TRY = {"jpeg": {"subsampling": "4:2:0"}}
#: From this quality on, the second try is made too, and the smaller output wins.
_FULL_CHROMA_FROM = 90


def _choose_for_target(
    frames: list[Image.Image],
    kwargs: dict[str, Any],
    fmt: str,
    recipe: Recipe,
    scorer: Scorer,
    target: float,
) -> Choice:
    """The format's usual encoding first; full chroma too when that needs a quality above
    _FULL_CHROMA_FROM or cannot reach the target; the smaller output that reaches it."""
    usual = _Search(frames, fmt, {**kwargs, **_FIRST_TRY.get(fmt, {})}, recipe, scorer)
    first = _choose_quality(usual, target, recipe, give_up_above=_FULL_CHROMA_FROM)
    second_kw = _FULL_CHROMA.get(fmt)
    reached = (first.score or 0) >= target
    if second_kw is None or len(frames) > 1 or (reached and first.quality <= _FULL_CHROMA_FROM):
        return first
    if second_kw.get("lossless"):
        data = encode.to_bytes(frames, fmt, {**kwargs, **second_kw})
        if recipe.max_size and len(data) > recipe.max_size:
            return first
        second = Choice(data, fmt, None, scorer(data, None), 1)
    else:
        full = _Search(frames, fmt, {**kwargs, **second_kw}, recipe, scorer, "full chroma")
        try:
            second = _choose_quality(full, target, recipe)
        except ConversionError:
            return first
    second.tries += first.tries
    passing = [c for c in (first, second) if (c.score or 0) >= target]
    return (
        min(passing, key=lambda c: len(c.data))
        if passing
        else max((first, second), key=lambda c: c.score or 0)
    )


def _choose_quality(
    search: _Search, target: float | None, recipe: Recipe, give_up_above: int | None = None
) -> Choice:
    """The lowest quality reaching target (or the recipe's quality without one), lowered
    further to the highest that fits the size cap if there is one. give_up_above: when the
    search's first steps show the target needs a quality above this, stop there (a caller
    with a better encoding to try) and return the best seen."""
    warnings = []
    top = recipe.quality if not target else Q_MAX
    if target:
        reached = search.lowest_reaching(target, give_up_above)
        if reached is None:
            reached = Q_MAX if Q_MAX in search.scores else max(search.scores)
            warnings.append(
                _(
                    "quality {quality} scores {score}, below the target {target}, and no quality "
                    "reaches it: kept quality {quality}"
                ).format(
                    quality=reached, score=f"{search.score(reached):.1f}", target=f"{target:g}"
                )
            )
        top = reached
    q = top
    if recipe.max_size:
        q = search.highest_fitting(recipe.max_size, top)
        if q is None:
            raise ConversionError(
                _("does not fit in {cap}: even quality {quality} gives {size}").format(
                    cap=_kb(recipe.max_size), quality=Q_MIN, size=_kb(len(search.encode(Q_MIN)))
                )
            )
        if target and q < top:
            warnings.append(
                _("quality lowered to {quality} to fit the {cap} cap").format(
                    quality=q, cap=_kb(recipe.max_size)
                )
            )
    score = search.score(q) if search.scorer is not None else None
    return Choice(search.encode(q), search.fmt, q, score, search.tries, warnings)


def _auto_default() -> float:
    from .recipe import QUALITY_TARGETS

    return QUALITY_TARGETS["balanced"]


def _choose_auto(
    frames: list[Image.Image], kwargs: dict[str, Any], recipe: Recipe, target: float
) -> Choice:
    """The smallest output among AUTO_FORMATS (no JPEG when the image is transparent, only
    WebP for an animation) that reaches target, within the size cap if there is one."""
    if len(frames) > 1:
        return _choose_quality(_Search(frames, "webp", kwargs, recipe, None), None, recipe)
    formats = [f for f in AUTO_FORMATS if f != "jpeg" or not has_alpha(frames[0])]
    scorer = make_scorer(frames[0])
    best: Choice | None = None
    tries, failure = 0, None
    for fmt in formats:
        frame = frames[0] if OUTPUT[fmt].alpha else _rgb(frames[0])
        search = _Search([frame], fmt, kwargs, recipe, scorer)
        try:
            choice = _choose_quality(search, target, recipe)
        except ConversionError as exc:
            failure = exc
            continue
        finally:
            tries += search.tries
        if best is None or len(choice.data) < len(best.data):
            best = choice
    if best is None:
        assert failure is not None
        raise failure
    best.tries = tries
    return best


def _kb(n: int) -> str:
    return f"{n / 1000:.0f} KB" if n < 1_000_000 else f"{n / 1_000_000:.2f} MB"


#: What says a file carries EXIF or XMP: JPEG's APP1 Exif, PNG's eXIf, WebP's EXIF chunk,
#: the XMP packet's own start.
_METADATA_MARKS = (b"Exif\x00\x00", b"eXIf", b"EXIF", b"<x:xmpmeta", b"XML:com.adobe.xmp")


def cannot_keep(source: str, recipe: Recipe, size: tuple[int, int]) -> str | None:
    """Why the source's own bytes cannot stand in for its output of this pixel size (None:
    they can): its format is not one Pixmill writes (a camera RAW, a PSD...), the recipe
    resized or cropped it (both said as ""), or it carries metadata the recipe removes."""
    ext = os.path.splitext(source)[1]
    if output_format("same", source)[1] != ext.lower():
        return ""
    try:
        with Image.open(source) as im:
            own = im.size
            for frame in ImageSequence.Iterator(im):  # a damaged original is no output
                frame.load()
    except Exception:  # noqa: BLE001 - whatever stops a decode: the converted file stands
        return ""
    if sorted(own) != sorted(size):  # turned upright, it may have its sides swapped
        return ""
    if recipe.metadata != "keep":
        try:
            with open(source, "rb") as f:
                head = f.read(1 << 18)
        except OSError:
            return ""
        if any(mark in head for mark in _METADATA_MARKS):
            return _("the original carries metadata the recipe removes")
    return None
