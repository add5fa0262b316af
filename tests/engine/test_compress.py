"""pixmill.engine.compress through convert_one, on real photographs (the committed crops in
tests/engine/data): the quality target reached with the lowest quality that reaches it, the
size cap respected or a clear failure with nothing published, the original kept when the
output is not smaller (and not when the recipe removes metadata it carries), the automatic
format, and metadata through every path."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pytest
from PIL import Image
from PIL.JpegImagePlugin import get_sampling

from pixmill.engine import compress
from pixmill.engine.convert import _decode_and_render, convert_one
from pixmill.engine.metric import ssimulacra2
from pixmill.engine.recipe import Recipe, RecipeError, Resize
from tests.conftest import make_image, temp_leftovers
from tests.engine.images import exif_with_gps, job_for

pytestmark = pytest.mark.timeout(120)

DATA = Path(__file__).parent / "data"
PHOTOS = sorted(DATA.glob("metric_*.jpg"))


def rendered(job):
    with open(job.source, "rb") as fp:
        return _decode_and_render(fp, job)


def photo(tmp_path: Path, name: str = "metric_forest.jpg") -> Path:
    dst = tmp_path / "in" / name
    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(DATA / name, dst)
    return dst


@pytest.mark.parametrize("fmt", ["jpeg", "webp"])
@pytest.mark.parametrize("level", ["high", "small"])
def test_a_quality_target_is_reached_with_about_the_lowest_quality_reaching_it(
    tmp_path, fmt, level
):
    recipe = Recipe(format=fmt, quality_target=level)
    target = recipe.score_target
    for src in PHOTOS:
        job = job_for(src, tmp_path / fmt / level, recipe)
        result = convert_one(job)
        assert result["status"] == "ok", result["error"]
        frames, kwargs = rendered(job)
        with Image.open(result["target"]) as out:
            out.load()
            score = ssimulacra2(frames[0], out)
            if fmt == "jpeg":  # the chroma resolution the search settled on
                kwargs["subsampling"] = ("4:4:4", "4:2:2", "4:2:0")[get_sampling(out)]
        assert score == pytest.approx(result["score"], abs=0.01)
        assert score >= target
        q = result["quality"]
        if q is None:  # lossy WebP could not reach it: its lossless mode did
            assert fmt == "webp" and score >= 99
            continue
        assert compress.Q_MIN <= q <= compress.Q_MAX
        lower = compress.encode_candidate(
            frames, fmt, {**kwargs, **compress.quality_kwargs(recipe, fmt, q - 1)}
        )
        with Image.open(io.BytesIO(lower)) as im:
            below = ssimulacra2(frames[0], im)
        # The lowest quality that reaches the target, or, when it passes by less than
        # _CLOSE_ENOUGH, taken without the look one step lower.
        assert below < target or score - target < compress._CLOSE_ENOUGH, f"{src.name}: q{q}"


def test_targets_order_the_outputs_and_an_explicit_score_wins(tmp_path):
    src = photo(tmp_path)
    sizes = {}
    for level in ("high", "balanced", "small"):
        result = convert_one(
            job_for(src, tmp_path / level, Recipe(format="jpeg", quality_target=level))
        )
        sizes[level] = result["bytes_out"]
    assert sizes["high"] > sizes["balanced"] > sizes["small"]
    result = convert_one(
        job_for(
            src, tmp_path / "s90", Recipe(format="jpeg", quality_target="small", target_score=90)
        )
    )
    assert result["score"] >= 90 and result["bytes_out"] > sizes["high"]


def test_a_size_cap_gives_the_highest_quality_that_fits(tmp_path):
    src = photo(tmp_path)
    cap = 15_000
    recipe = Recipe(format="jpeg", quality=90, max_size=cap)
    job = job_for(src, tmp_path / "o", recipe)
    result = convert_one(job)
    assert result["status"] == "ok", result["error"]
    assert result["bytes_out"] <= cap == recipe.max_size
    assert Path(result["target"]).stat().st_size == result["bytes_out"]
    frames, kwargs = rendered(job)
    q = result["quality"]
    above = compress.encode_candidate(
        frames, "jpeg", {**kwargs, **compress.quality_kwargs(recipe, "jpeg", q + 1)}
    )
    assert q == 90 or len(above) > cap


def test_a_cap_nothing_fits_fails_clearly_and_publishes_nothing(tmp_path):
    src = photo(tmp_path)
    out = tmp_path / "o"
    result = convert_one(job_for(src, out, Recipe(format="webp", max_size=300)))
    assert result["status"] == "failed"
    assert "does not fit in 0 KB: even quality 10 gives" in result["error"]
    assert not out.exists() or (not list(out.iterdir()) and not temp_leftovers(out))
    png = convert_one(job_for(src, tmp_path / "p", Recipe(format="png", max_size=1000)))
    assert png["status"] == "failed" and "no quality to lower" in png["error"]


def test_the_original_is_kept_when_the_output_would_not_be_smaller(tmp_path):
    small = make_image(tmp_path / "in" / "tiny.jpg", (64, 48), quality=40)
    recipe = Recipe(format="jpeg", quality=98, skip_larger=True)
    result = convert_one(job_for(small, tmp_path / "o", recipe))
    assert result["status"] == "ok" and result["kept_original"] is True
    assert Path(result["target"]).read_bytes() == small.read_bytes()
    assert result["target"].endswith("tiny.jpg")
    # A PNG source kept under its own extension, a WebP asked for.
    png = make_image(tmp_path / "in" / "flat.png", (40, 30))
    kept = convert_one(
        job_for(
            png,
            tmp_path / "o2",
            Recipe(format="webp", quality=100, skip_larger=True, min_saving=99),
        )
    )
    assert kept["kept_original"] and kept["target"].endswith("flat.png")
    # Smaller enough: converted.
    big = photo(tmp_path)
    made = convert_one(
        job_for(
            big, tmp_path / "o3", Recipe(format="webp", quality=60, skip_larger=True, min_saving=10)
        )
    )
    assert made["status"] == "ok" and not made["kept_original"] and made["target"].endswith(".webp")


def test_the_original_is_not_kept_when_it_carries_metadata_the_recipe_removes(tmp_path):
    src = tmp_path / "in" / "gps.jpg"
    make_image(src, (64, 48), quality=40, exif=exif_with_gps())
    recipe = Recipe(format="jpeg", quality=98, skip_larger=True, metadata="strip_location")
    result = convert_one(job_for(src, tmp_path / "o", recipe))
    assert result["status"] == "ok" and not result["kept_original"]
    assert any("metadata the recipe removes" in w for w in result["warnings"])
    with Image.open(result["target"]) as im:
        assert 0x8825 not in im.getexif()  # no GPS


def test_auto_picks_the_smallest_format_that_reaches_the_target(tmp_path):
    src = photo(tmp_path, "metric_coin.jpg")
    recipe = Recipe(format="auto", quality_target="balanced")
    result = convert_one(job_for(src, tmp_path / "o", recipe))
    assert result["status"] == "ok", result["error"]
    assert result["format"] in compress.AUTO_FORMATS and result["score"] >= 72
    assert (
        Path(result["target"]).suffix
        == {"jpeg": ".jpg", "webp": ".webp", "avif": ".avif"}[result["format"]]
    )
    smallest = min(
        convert_one(job_for(src, tmp_path / f, Recipe(format=f, quality_target="balanced")))[
            "bytes_out"
        ]
        for f in compress.AUTO_FORMATS
    )
    assert result["bytes_out"] == smallest
    with Image.open(result["target"]) as im:
        assert (
            im.format.lower() == {"jpeg": "jpeg", "webp": "webp", "avif": "avif"}[result["format"]]
        )


def test_auto_never_gives_a_transparent_image_a_jpeg(tmp_path):
    src = tmp_path / "in" / "logo.png"
    src.parent.mkdir(parents=True)
    im = Image.new("RGBA", (120, 90), (0, 0, 0, 0))
    im.paste((200, 30, 60, 255), (20, 20, 100, 70))
    im.save(src)
    result = convert_one(job_for(src, tmp_path / "o", Recipe(format="auto")))
    assert result["status"] == "ok" and result["format"] in ("webp", "avif")
    with Image.open(result["target"]) as out:
        assert out.mode in ("RGBA", "LA") and out.getchannel("A").getextrema()[0] == 0


@pytest.mark.parametrize(
    "recipe",
    [
        Recipe(format="jpeg", quality_target="high"),
        Recipe(format="jpeg", quality_target="small", progressive=True),
        Recipe(format="auto"),
        Recipe(format="webp", max_size=40_000),
        Recipe(format="png", skip_larger=True),
    ],
)
def test_metadata_and_orientation_survive_the_search(tmp_path, recipe):
    from tests.engine.images import oriented_source, srgb_profile

    (tmp_path / "in").mkdir()
    src = oriented_source(tmp_path / "in" / "turned.jpg", 6)
    with Image.open(src) as im:
        exif = im.getexif()
        exif[0x010F] = "PixmillCam"
        icc = srgb_profile()  # made once: LittleCMS stamps each profile with the time
        im.save(tmp_path / "in" / "meta.jpg", exif=exif, icc_profile=icc, quality=95)
    result = convert_one(
        job_for(tmp_path / "in" / "meta.jpg", tmp_path / "o", recipe.replace(resize=Resize()))
    )
    assert result["status"] == "ok", result["error"]
    with Image.open(result["target"]) as out:
        assert out.getexif().get(0x010F) == "PixmillCam"
        assert out.getexif().get(0x0112, 1) == 1  # applied to the pixels, tag reset
        assert out.info.get("icc_profile") == icc
        assert out.size == (60, 40)  # turned upright (stored 40x60, orientation 6)


def test_recipe_checks_and_describes_the_new_settings():
    assert "target high (80)" in Recipe(format="jpeg", quality_target="high").describe()
    assert "at most 300 KB" in Recipe(format="webp", max_size=300_000).describe()
    assert Recipe(format="auto").searches and not Recipe(format="jpeg").searches
    for bad in (
        {"quality_target": "best"},
        {"max_size": -1},
        {"min_saving": 100},
        {"png_colors": 1},
    ):
        with pytest.raises(RecipeError):
            Recipe(**bad)


@pytest.mark.timeout(60)
def test_searched_jpegs_come_from_jpegli_and_progressive_ones_from_mozjpeg(tmp_path):
    """The search's JPEG candidates are jpegli's (fewer bytes at the same score); a recipe
    that wants progressive gets the chosen candidate re-packed by MozJPEG: the same pixels,
    fewer bytes."""
    from pixmill.engine import encoders

    src = photo(tmp_path, "metric_hands.jpg")  # settles at half chroma, jpegli's (forest: full)
    base = Recipe(format="jpeg", quality_target="balanced", resize=Resize())
    plain = convert_one(job_for(src, tmp_path / "plain", base))
    prog = convert_one(job_for(src, tmp_path / "prog", base.replace(progressive=True)))
    assert plain["status"] == prog["status"] == "ok"
    assert plain["quality"] == prog["quality"]
    frames, kwargs = rendered(job_for(src, tmp_path / "x", base))
    jpegli = encoders.encode_jpeg(
        frames[0], plain["quality"], subsampling="4:2:0", encoder="jpegli",
        **{k: kwargs[k] for k in ("exif", "icc_profile", "xmp", "comment") if k in kwargs},
    )  # fmt: skip
    assert Path(plain["target"]).read_bytes() == jpegli
    with Image.open(plain["target"]) as a, Image.open(prog["target"]) as b:
        assert not a.info.get("progressive") and b.info.get("progressive")
        assert a.tobytes() == b.tobytes()
    assert prog["bytes_out"] < plain["bytes_out"]


@pytest.mark.timeout(60)
def test_a_searched_png_is_recompressed_losslessly(tmp_path):
    """A PNG whose encoding is chosen (here: kept only if smaller) goes through oxipng: the
    same pixels as Pillow's fastest PNG, in fewer bytes than Pillow's best."""
    src = tmp_path / "in" / "shot.png"
    make_image(src, (300, 200), seed=3)
    with Image.open(src) as im:
        pixels = im.convert("RGB").tobytes()
        best = io.BytesIO()
        im.save(best, format="PNG", optimize=True)
    recipe = Recipe(format="png", png_compress_level=1, skip_larger=True, resize=Resize())
    result = convert_one(job_for(src, tmp_path / "o", recipe))
    assert result["status"] == "ok" and not result.get("kept_original")
    with Image.open(result["target"]) as out:
        assert out.convert("RGB").tobytes() == pixels
    assert result["bytes_out"] < len(best.getvalue())
