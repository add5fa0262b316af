"""Recipes: the frozen, JSON round-tripping description of one conversion.

A recipe says what every output should look like (format, size, quality, metadata, naming,
conflict policy); the CLI and the window build the same Recipe. Presets live in presets.py.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field, fields
from typing import Any

from .formats import FORMATS, QUALITY_FORMATS
from .i18n import _, pgettext

RESIZE_MODES = ("none", "fit", "long_edge", "percent", "exact", "fill")
METADATA_MODES = ("keep", "strip", "strip_location")
CONFLICT_POLICIES = ("rename", "skip", "overwrite")
RESAMPLE_FILTERS = ("lanczos", "bicubic", "bilinear", "nearest")
#: Decoded megapixels a file may have unless the recipe says otherwise (a 16-bit RGBA
#: picture of this size needs about 2 GB).
DEFAULT_MAX_MEGAPIXELS = 250.0
NAME_TOKENS = ("stem", "ext", "width", "height", "index", "parent", "date")


#: SSIMULACRA2 scores of the quality targets (about 90 is visually lossless, 80 high
#: quality, 70 medium, on the metric's own scale).
QUALITY_TARGETS = {"high": 80.0, "balanced": 72.0, "small": 64.0}

#: Recipe fields that do not change what a source's output looks like.
_NOT_IN_OUTPUT = ("name", "description", "on_conflict", "max_megapixels")


class RecipeError(ValueError):
    """A recipe (or preset file) that cannot be used, with a message for the user."""


@dataclass(frozen=True)
class Resize:
    """How to change the pixel size.

    mode: none | fit (within width x height) | long_edge (longest side = long_edge) |
    percent | exact (width x height, aspect ignored) | fill (cover width x height, centre-crop).
    """

    mode: str = "none"
    width: int = 0
    height: int = 0
    long_edge: int = 0
    percent: float = 100.0
    upscale: bool = False
    filter: str = "lanczos"

    def validate(self) -> None:
        if self.mode not in RESIZE_MODES:
            raise RecipeError(
                _("unknown resize mode {mode} (use one of {modes})").format(
                    mode=repr(self.mode), modes=RESIZE_MODES
                )
            )
        if self.filter not in RESAMPLE_FILTERS:
            raise RecipeError(
                _("unknown resampling filter {filter}").format(filter=repr(self.filter))
            )
        if self.mode in ("fit", "exact", "fill") and (self.width < 1 or self.height < 1):
            raise RecipeError(
                _("resize mode {mode} needs a width and height of at least 1").format(
                    mode=repr(self.mode)
                )
            )
        if self.mode == "long_edge" and self.long_edge < 1:
            raise RecipeError(_("resize mode 'long_edge' needs a size of at least 1"))
        if self.mode == "percent" and not (0 < self.percent <= 10000):
            raise RecipeError(_("resize percent must be above 0 and at most 10000"))

    def describe(self) -> str:
        if self.mode == "fit":
            return _("fit within {width}x{height}").format(width=self.width, height=self.height)
        if self.mode == "long_edge":
            return _("long edge {size} px").format(size=self.long_edge)
        if self.mode == "percent":
            return f"{self.percent:g}%"
        if self.mode == "exact":
            return _("exactly {width}x{height}").format(width=self.width, height=self.height)
        if self.mode == "fill":
            return _("fill {width}x{height} (crop)").format(width=self.width, height=self.height)
        return _("original size")


@dataclass(frozen=True)
class Recipe:
    """Everything that decides what one output file looks like and where it goes."""

    name: str = ""
    description: str = ""
    format: str = "same"
    quality: int = 85
    progressive: bool = False
    webp_lossless: bool = False
    png_compress_level: int = 6
    resize: Resize = field(default_factory=Resize)
    auto_orient: bool = True
    metadata: str = "keep"
    keep_icc: bool = True
    background: str = "#ffffff"
    keep_frames: bool = True
    #: Convert wide-gamut pixels (Display P3, Adobe RGB...) to sRGB through their embedded
    #: profile, and tag the output sRGB: what browsers assume for untagged images.
    to_srgb: bool = False
    #: Camera RAW: use the full-size JPEG preview the camera embedded, when there is one,
    #: instead of demosaicing the sensor data (many times faster, the camera's own look).
    raw_preview: bool = False
    #: Safety limit on the pixels a file may decode to, after any reduced-size decode (a
    #: JPEG shrunk at decode time counts at its reduced size): larger files are refused as
    #: possible decompression bombs before anything is decoded. 0 means no limit.
    max_megapixels: float = DEFAULT_MAX_MEGAPIXELS
    #: A perceptual target instead of one quality for every image: per image, the lowest
    #: encoder quality whose output scores at least the target (QUALITY_TARGETS, or
    #: target_score when set) in SSIMULACRA2 against the unencoded image. "off": quality.
    quality_target: str = "off"
    #: An explicit SSIMULACRA2 target (0: from quality_target). 90 is visually lossless.
    target_score: float = 0.0
    #: The largest an output may be, in bytes (0: no cap): the highest quality that fits.
    max_size: int = 0
    #: Keep the source's own bytes (under its own extension) when the output would not be
    #: smaller by at least min_saving percent.
    skip_larger: bool = False
    min_saving: float = 0.0
    #: PNG output with at most this many colours (a palette made by libimagequant), 0: off.
    png_colors: int = 0
    name_template: str = "{stem}"
    preserve_tree: bool = True
    recursive: bool = True
    on_conflict: str = "rename"
    keep_dates: bool = False

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        if self.format not in FORMATS:
            raise RecipeError(
                _("unknown format {format} (use one of {formats})").format(
                    format=repr(self.format), formats=", ".join(FORMATS)
                )
            )
        if not (1 <= self.quality <= 100):
            raise RecipeError(_("quality must be between 1 and 100"))
        if not (0 <= self.max_megapixels <= 1_000_000):
            raise RecipeError(_("the megapixel limit must be between 0 (none) and 1000000"))
        if self.quality_target not in QUALITY_TARGETS and self.quality_target != "off":
            names = ", ".join(("off", *QUALITY_TARGETS))
            raise RecipeError(
                _("unknown quality target {target} (use {names})").format(
                    target=repr(self.quality_target), names=names
                )
            )
        if self.target_score and not (30 <= self.target_score <= 100):
            raise RecipeError(_("the target score must be between 30 and 100 (0 for none)"))
        if self.max_size < 0:
            raise RecipeError(_("the size cap must be positive (0 for none)"))
        if not (0 <= self.min_saving < 100):
            raise RecipeError(_("the minimum saving must be between 0 and 100 percent"))
        if self.png_colors and not (2 <= self.png_colors <= 256):
            raise RecipeError(_("PNG colours must be between 2 and 256 (0 for all)"))
        if not (0 <= self.png_compress_level <= 9):
            raise RecipeError(_("PNG compression level must be between 0 and 9"))
        if self.metadata not in METADATA_MODES:
            raise RecipeError(_("unknown metadata mode {mode}").format(mode=repr(self.metadata)))
        if self.on_conflict not in CONFLICT_POLICIES:
            raise RecipeError(
                _("unknown conflict policy {policy}").format(policy=repr(self.on_conflict))
            )
        parse_color(self.background)
        check_template(self.name_template)
        self.resize.validate()

    # --- JSON -------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Recipe:
        if not isinstance(data, dict):
            raise RecipeError(_("a recipe must be a JSON object"))
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise RecipeError(
                _("unknown recipe field(s): {fields}").format(fields=", ".join(unknown))
            )
        values = {k: v for k, v in data.items() if k in known}
        resize = values.get("resize", {})
        if isinstance(resize, dict):
            rknown = {f.name for f in fields(Resize)}
            bad = sorted(set(resize) - rknown)
            if bad:
                raise RecipeError(
                    _("unknown resize field(s): {fields}").format(fields=", ".join(bad))
                )
            try:
                values["resize"] = Resize(**resize)
            except TypeError as exc:
                raise RecipeError(str(exc)) from None
        elif not isinstance(resize, Resize):
            raise RecipeError(_("'resize' must be an object"))
        try:
            return cls(**values)
        except TypeError as exc:
            raise RecipeError(str(exc)) from None

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=False)

    @classmethod
    def from_json(cls, text: str) -> Recipe:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise RecipeError(_("not valid JSON: {error}").format(error=exc)) from None
        return cls.from_dict(data)

    def replace(self, **changes: Any) -> Recipe:
        return dataclasses.replace(self, **changes)

    @property
    def score_target(self) -> float | None:
        """The SSIMULACRA2 score each output must reach, or None for a fixed quality."""
        if self.target_score:
            return self.target_score
        return QUALITY_TARGETS.get(self.quality_target)

    @property
    def searches(self) -> bool:
        """Whether each image's encoding is chosen per image (a target, a size cap, keep
        the original, the format, a palette) rather than encoded once as the recipe says;
        such outputs also go through the lossless optimisers (MozJPEG, oxipng)."""
        return bool(
            self.score_target
            or self.max_size
            or self.skip_larger
            or self.format == "auto"
            or self.png_colors
        )

    def fingerprint(self) -> str:
        """A short hash of everything that shapes the output files (not the recipe's name,
        description, collision policy or megapixel limit): two recipes with the same
        fingerprint write the same output for the same source."""
        data = self.to_dict()
        for key in _NOT_IN_OUTPUT:
            data.pop(key, None)
        text = json.dumps(data, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:20]

    def describe(self) -> str:
        if self.format == "same":
            parts = [_("same format")]
        elif self.format == "auto":
            parts = [_("smallest of JPEG/WebP/AVIF")]
        else:
            parts = [self.format.upper()]
        target = self.score_target
        if target and not self.target_score:
            # Translators: e.g. "target balanced (72)": a quality target and its score.
            parts.append(
                _("target {level} ({score})").format(
                    level=quality_target_name(self.quality_target), score=f"{target:g}"
                )
            )
        elif target:
            parts.append(_("target score {score}").format(score=f"{target:g}"))
        elif self.format in QUALITY_FORMATS and not (self.format == "webp" and self.webp_lossless):
            parts.append(f"q{self.quality}")
        if self.max_size:
            parts.append(_("at most {size} KB").format(size=f"{self.max_size / 1000:g}"))
        parts.append(self.resize.describe())
        # Translators: between the parts of a recipe's description ("WEBP, q80, original size").
        return pgettext("list separator", ", ").join(parts)


def quality_target_name(target: str) -> str:
    """A quality target ("high", "balanced", "small") in the user's words."""
    names = {
        "high": pgettext("quality target", "high"),
        "balanced": pgettext("quality target", "balanced"),
        "small": pgettext("quality target", "small"),
    }
    return names.get(target, target)


def parse_color(text: str) -> tuple[int, int, int]:
    """'#rrggbb' or '#rgb' -> (r, g, b)."""
    s = text.strip().lstrip("#")
    if len(s) == 3:
        s = "".join(c * 2 for c in s)
    if len(s) != 6:
        raise RecipeError(_bad_colour(text))
    try:
        return int(s[0:2], 16), int(s[2:4], 16), int(s[4:6], 16)
    except ValueError:
        raise RecipeError(_bad_colour(text)) from None


def _bad_colour(text: str) -> str:
    return _("background colour {colour} is not #rrggbb").format(colour=repr(text))


class _TokenCheck(dict):
    def __missing__(self, key: str) -> str:
        tokens = ", ".join("{" + t + "}" for t in NAME_TOKENS)
        raise RecipeError(
            _("unknown name token {token}; use {tokens}").format(
                token="{" + key + "}", tokens=tokens
            )
        )


def check_template(template: str) -> None:
    """Raise RecipeError unless the naming template only uses known tokens."""
    if not template.strip():
        raise RecipeError(_("the naming template is empty"))
    sample = _TokenCheck(
        stem="a", ext="jpg", width=1, height=1, index=1, parent="p", date="2000-01-01"
    )
    try:
        template.format_map(sample)
    except RecipeError:
        raise
    except (ValueError, IndexError, KeyError, AttributeError) as exc:
        raise RecipeError(
            _("naming template {template} is not valid: {error}").format(
                template=repr(template), error=exc
            )
        ) from None
