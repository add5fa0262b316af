"""engine/metric.py: our SSIMULACRA2 against the `ssimulacra2` package (the test extra), called
live on real photographs, and the behaviour around it (identical pictures, monotony in JPEG
quality, tiny pictures, alpha, the Reference/score split).

The photographs are crops of corpus JPEGs (drewnoakes/metadata-extractor-images: "free to use
these media files however you wish"), fitted to 1600 px with Lanczos, cropped and saved at
JPEG quality 95 without chroma subsampling: tests/engine/data/metric_hands.jpg (Canon IXUS
750, 256x192: skin and white cloth), metric_coin.jpg (Nikon D60, 256x192: a penny on wood),
metric_forest.jpg (Olympus FE230, 251x187, odd on both sides: snowy conifers). Their decoded
pixels are the "unencoded" references here.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from pixmill.engine.metric import ALPHA_BACKGROUNDS, METRIC_NAME, Reference, ssimulacra2

pytestmark = pytest.mark.timeout(60)

DATA = Path(__file__).parent / "data"
PHOTOS = ("metric_hands", "metric_coin", "metric_forest")


def photo(name: str = "metric_hands") -> Image.Image:
    with Image.open(DATA / f"{name}.jpg") as im:
        return im.convert("RGB")


def encoded(im: Image.Image, fmt: str, quality: int) -> bytes:
    buf = io.BytesIO()
    im.save(buf, fmt, quality=quality)
    return buf.getvalue()


def decoded(data: bytes) -> Image.Image:
    with Image.open(io.BytesIO(data)) as im:
        return im.convert("RGB")


def png(im: Image.Image) -> io.BytesIO:
    buf = io.BytesIO()
    im.save(buf, "PNG")
    buf.seek(0)
    return buf


def package_score(reference: Image.Image, distorted: Image.Image) -> float:
    """The ssimulacra2 package's score; it opens files (or file objects) with Pillow."""
    package = pytest.importorskip("ssimulacra2", reason="the ssimulacra2 package (test extra)")
    return float(package.compute_ssimulacra2(png(reference), png(distorted)))


def test_metric_name() -> None:
    assert METRIC_NAME == "SSIMULACRA2"


@pytest.mark.parametrize("name", PHOTOS)
def test_matches_the_reference_package_on_real_photos(name: str) -> None:
    # The crops have 5 scales (192 -> 6 rows at the sixth), where the weights fall differently.
    check_against_the_package(photo(name), ((30, 60, 90), (50, 85)))


def test_matches_the_reference_package_with_all_six_scales() -> None:
    # 288 rows halve to 9 at the sixth scale: all six count, as for the pictures the search
    # sees, and at full size only Y's SSIM has weight (the others are skipped).
    ref = photo("metric_coin").resize((384, 288), Image.Resampling.LANCZOS)
    check_against_the_package(ref, ((40, 85), (70,)))


def check_against_the_package(ref: Image.Image, qualities: tuple[tuple[int, ...], ...]) -> None:
    prepared = Reference(ref)
    jpeg, webp = qualities
    for fmt, quality in [("JPEG", q) for q in jpeg] + [("WEBP", q) for q in webp]:
        dist = decoded(encoded(ref, fmt, quality))
        ours = prepared.score(dist)
        theirs = package_score(ref, dist)
        # Measured within 0.0002 (float32 against the package's float64); 0.5 is the brief.
        assert ours == pytest.approx(theirs, abs=0.02), (fmt, quality)


def test_identical_pictures_score_100() -> None:
    ref = photo("metric_coin")
    assert Reference(ref).score(ref.copy()) == 100.0
    assert ssimulacra2(np.asarray(ref), np.asarray(ref).copy()) == 100.0
    rgba = ref.convert("RGBA")
    rgba.putalpha(Image.linear_gradient("L").resize(ref.size))
    assert Reference(rgba).score(rgba.copy()) == 100.0


def test_one_changed_pixel_scores_just_below_100() -> None:
    ref = np.asarray(photo("metric_hands"))
    dist = ref.copy()
    dist[100, 100, 1] ^= 1
    ours = ssimulacra2(ref, dist)
    assert 99.0 < ours < 100.0
    assert ours == pytest.approx(
        package_score(Image.fromarray(ref), Image.fromarray(dist)), abs=0.02
    )


def test_score_falls_as_jpeg_quality_falls() -> None:
    ref = photo("metric_hands")
    prepared = Reference(ref)
    scores = [prepared.score(decoded(encoded(ref, "JPEG", q))) for q in (95, 85, 70, 50, 30, 10)]
    assert scores == sorted(scores, reverse=True), scores
    assert len(set(scores)) == len(scores), scores
    assert scores[0] > 80 and scores[-1] < 40, scores


def test_reference_reused_gives_the_one_shot_numbers() -> None:
    ref = photo("metric_forest")
    dists = [decoded(encoded(ref, "JPEG", q)) for q in (80, 40)] + [
        decoded(encoded(ref, "WEBP", 70))
    ]
    one_shot = [ssimulacra2(ref, d) for d in dists]
    prepared = Reference(ref)
    # Twice round, in another order: the scratch kept between scores must not leak.
    again = [prepared.score(d) for d in reversed(dists)] + [prepared.score(d) for d in dists]
    assert again[3:] == one_shot
    assert again[:3] == one_shot[::-1]


@pytest.mark.parametrize("name", ["metric_forest", "metric_coin", "metric_hands"])
def test_a_floor_stops_at_a_sure_miss_and_never_changes_a_pass(name: str) -> None:
    ref = photo(name)
    prepared = Reference(ref)
    for q in (20, 45, 70, 85, 95):
        d = decoded(encoded(ref, "JPEG", q))
        exact = prepared.score(d)
        for floor in (exact - 5, exact - 0.01, exact + 0.01, exact + 5):
            bounded = prepared.score(d, floor=floor)
            if exact >= floor:
                assert bounded == exact  # a pass is the exact score
            else:
                assert exact <= bounded < floor  # a miss: a bound, still below the floor


@pytest.mark.parametrize(
    "size", [(1, 1), (7, 7), (5, 300), (300, 5), (8, 8), (9, 9), (8, 300), (300, 8), (17, 9)]
)
def test_tiny_pictures_follow_the_reference(size: tuple[int, int]) -> None:
    w, h = size
    ref = photo("metric_coin").resize((max(w, 16), max(h, 16))).crop((0, 0, w, h))
    dist = decoded(encoded(ref, "JPEG", 20))
    prepared = Reference(ref)
    assert prepared.size == size
    assert prepared.score(ref) == 100.0
    ours = prepared.score(dist)
    if min(size) < 8:
        # No scale is big enough to compare: the reference scores such pairs 100 too.
        assert ours == 100.0
    assert ours == pytest.approx(package_score(ref, dist), abs=0.02)


def test_pil_images_and_arrays_of_any_layout_score_alike() -> None:
    ref = photo("metric_coin")
    dist = decoded(encoded(ref, "JPEG", 50))
    want = ssimulacra2(ref, dist)
    arr = np.asarray(dist)
    assert ssimulacra2(np.asarray(ref), arr) == want
    assert ssimulacra2(ref, np.ascontiguousarray(arr[:, ::-1])[:, ::-1]) == want  # strided
    opaque = np.dstack([arr, np.full(arr.shape[:2], 255, np.uint8)])
    assert ssimulacra2(ref, opaque) == want  # an all-opaque alpha is no alpha
    assert ssimulacra2(ref.convert("RGBA"), dist) == want
    grey_ref, grey_dist = ref.convert("L"), dist.convert("L")
    assert ssimulacra2(grey_ref, grey_dist) == ssimulacra2(
        grey_ref.convert("RGB"), np.asarray(grey_dist)
    )


def test_bad_input_is_refused() -> None:
    ref = np.asarray(photo("metric_hands"))
    with pytest.raises(ValueError, match="is 10x10, reference is 256x192"):
        Reference(ref).score(ref[:10, :10])
    with pytest.raises(ValueError, match="uint8"):
        Reference(ref.astype(np.float32))
    with pytest.raises(ValueError, match="shape"):
        Reference(ref[:, :, :2])
    with pytest.raises(ValueError, match="empty"):
        Reference(ref[:0])
    with pytest.raises(TypeError):
        Reference("picture.png")  # type: ignore[arg-type]


def composite(im: np.ndarray, grey: int) -> np.ndarray:
    """RGBA (alpha 0 or 255 only) onto a flat grey, exactly, in 8 bits."""
    out = im[:, :, :3].copy()
    out[im[:, :, 3] == 0] = grey
    return out


def test_alpha_is_composited_onto_dark_and_light_grey_and_the_worse_counts() -> None:
    rgb = np.asarray(photo("metric_coin"))
    mask = np.zeros(rgb.shape[:2], np.uint8)
    mask[:, 64:] = 255  # left quarter transparent
    ref = np.dstack([rgb, mask])
    dist = np.dstack([np.asarray(decoded(encoded(photo("metric_coin"), "JPEG", 40))), mask])
    ours = Reference(ref).score(dist)
    # The package has no alpha (it drops it); scored on 8-bit composites onto the nearest
    # greys to ALPHA_BACKGROUNDS (26 and 230 for 25.5 and 229.5), the lower one is ours.
    greys = [round(bg * 255 + 0.01) for bg in ALPHA_BACKGROUNDS]
    theirs = min(
        package_score(Image.fromarray(composite(ref, g)), Image.fromarray(composite(dist, g)))
        for g in greys
    )
    assert ours == pytest.approx(theirs, abs=0.1)


def test_what_hides_under_full_transparency_does_not_count() -> None:
    rgb = np.asarray(photo("metric_hands"))
    alpha = np.full(rgb.shape[:2], 255, np.uint8)
    alpha[50:120, 60:200] = 0
    ref = np.dstack([rgb, alpha])
    dist = ref.copy()
    dist[50:120, 60:200, :3] = 255 - dist[50:120, 60:200, :3]
    assert ssimulacra2(ref, dist) > 99.99
    dist[:, :, 3] = 255  # but showing what was hidden does
    assert ssimulacra2(ref, dist) < 60
    # and so does hiding what an opaque reference shows
    assert ssimulacra2(rgb, np.dstack([rgb, alpha])) < 60
