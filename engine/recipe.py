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
            raise RecipeError(f"unknown resize mode {self.mode!r} (use one of {RESIZE_MODES})")
        if self.filter not in RESAMPLE_FILTERS:
            raise RecipeError(f"unknown resampling filter {self.filter!r}")
        if self.mode in ("fit", "exact", "fill") and (self.width < 1 or self.height < 1):
            raise RecipeError(f"resize mode {self.mode!r} needs a width and height of at least 1")
        if self.mode == "long_edge" and self.long_edge < 1:
            raise RecipeError("resize mode 'long_edge' needs a size of at least 1")
        if self.mode == "percent" and not (0 < self.percent <= 10000):
            raise RecipeError("resize percent must be above 0 and at most 10000")

    def describe(self) -> str:
        if self.mode == "fit":
            return f"fit within {self.width}x{self.height}"
        if self.mode == "long_edge":
            return f"long edge {self.long_edge} px"
        if self.mode == "percent":
            return f"{self.percent:g}%"
        if self.mode == "exact":
            return f"exactly {self.width}x{self.height}"
        if self.mode == "fill":
            return f"fill {self.width}x{self.height} (crop)"
        return "original size"


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
            raise RecipeError(f"unknown format {self.format!r} (use one of {', '.join(FORMATS)})")
        if not (1 <= self.quality <= 100):
            raise RecipeError("quality must be between 1 and 100")
        if not (0 <= self.max_megapixels <= 1_000_000):
            raise RecipeError("the megapixel limit must be between 0 (none) and 1000000")
        if self.quality_target not in QUALITY_TARGETS and self.quality_target != "off":
            names = ", ".join(("off", *QUALITY_TARGETS))
            raise RecipeError(f"unknown quality target {self.quality_target!r} (use {names})")
        if self.target_score and not (30 <= self.target_score <= 100):
            raise RecipeError("the target score must be between 30 and 100 (0 for none)")
        if self.max_size < 0:
            raise RecipeError("the size cap must be positive (0 for none)")
        if not (0 <= self.min_saving < 100):
            raise RecipeError("the minimum saving must be between 0 and 100 percent")
        if self.png_colors and not (2 <= self.png_colors <= 256):
            raise RecipeError("PNG colours must be between 2 and 256 (0 for all)")
        if not (0 <= self.png_compress_level <= 9):
            raise RecipeError("PNG compression level must be between 0 and 9")
        if self.metadata not in METADATA_MODES:
            raise RecipeError(f"unknown metadata mode {self.metadata!r}")
        if self.on_conflict not in CONFLICT_POLICIES:
            raise RecipeError(f"unknown conflict policy {self.on_conflict!r}")
        parse_color(self.background)
        check_template(self.name_template)
        self.resize.validate()

    # --- JSON -------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Recipe:
        if not isinstance(data, dict):
            raise RecipeError("a recipe must be a JSON object")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise RecipeError(f"unknown recipe field(s): {', '.join(unknown)}")
        values = {k: v for k, v in data.items() if k in known}
        resize = values.get("resize", {})
        if isinstance(resize, dict):
            rknown = {f.name for f in fields(Resize)}
            bad = sorted(set(resize) - rknown)
            if bad:
                raise RecipeError(f"unknown resize field(s): {', '.join(bad)}")
            try:
                values["resize"] = Resize(**resize)
            except TypeError as exc:
                raise RecipeError(str(exc)) from None
        elif not isinstance(resize, Resize):
            raise RecipeError("'resize' must be an object")
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
            raise RecipeError(f"not valid JSON: {exc}") from None
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
        names = {"same": "same format", "auto": "smallest of JPEG/WebP/AVIF"}
        parts = [names.get(self.format, self.format.upper())]
        target = self.score_target
        if target:
            level = self.quality_target if self.quality_target != "off" else "score"
            parts.append(
                f"target {level} ({target:g})"
                if not self.target_score
                else f"target score {target:g}"
            )
        elif self.format in QUALITY_FORMATS and not (self.format == "webp" and self.webp_lossless):
            parts.append(f"q{self.quality}")
        if self.max_size:
            parts.append(f"at most {self.max_size / 1000:g} KB")
        parts.append(self.resize.describe())
        return ", ".join(parts)


def parse_color(text: str) -> tuple[int, int, int]:
    """'#rrggbb' or '#rgb' -> (r, g, b)."""
    s = text.strip().lstrip("#")
    if len(s) == 3:
        s = "".join(c * 2 for c in s)
    if len(s) != 6:
        raise RecipeError(f"background colour {text!r} is not #rrggbb")
    try:
        return int(s[0:2], 16), int(s[2:4], 16), int(s[4:6], 16)
    except ValueError:
        raise RecipeError(f"background colour {text!r} is not #rrggbb") from None


class _TokenCheck(dict):
    def __missing__(self, key: str) -> str:
        raise RecipeError(
            f"unknown name token {{{key}}}; use {', '.join('{' + t + '}' for t in NAME_TOKENS)}"
        )


def check_template(template: str) -> None:
    """Raise RecipeError unless the naming template only uses known tokens."""
    if not template.strip():
        raise RecipeError("the naming template is empty")
    sample = _TokenCheck(
        stem="a", ext="jpg", width=1, height=1, index=1, parent="p", date="2000-01-01"
    )
    try:
        template.format_map(sample)
    except RecipeError:
        raise
    except (ValueError, IndexError, KeyError, AttributeError) as exc:
        raise RecipeError(f"naming template {template!r} is not valid: {exc}") from None
