"""Encoder measurements for issue 14 ("better encoders, same files everywhere"): bytes against
SSIMULACRA2 for libjpeg-turbo (Pillow) and jpegli, MozJPEG's lossless pass on top of each,
oxipng against Pillow's PNG, libimagequant against Pillow's quantizer; CPU time of each.

JPEG: the corpus's camera JPEGs, decoded in full, fitted to 1600 px (Pillow LANCZOS); each
encoded by libjpeg-turbo at qualities TURBO_Q (Pixmill's settings today: baseline, standard
Huffman tables, 4:2:0; also with optimize=True and progressive=True) and by jpegli at its own
qualities JPEGLI_Q (4:2:0, baseline, optimal Huffman tables); every encode decoded by Pillow
and scored against the fitted picture. At equal score the bytes come from interpolating each
photo's curve (log bytes against score, linear) at the targets, within both curves' ranges;
the ratio is per photo, then its median, geometric mean and range over the photos. The mapping
libjpeg-turbo quality -> jpegli quality at equal score is the median over the photos, and is
then checked by encoding at engine.encoders.jpegli_quality(q). MozJPEG's lossless pass keeps
the pixels, so its files keep their scores.

PNG: a synthetic screenshot, a chart with transparency, a soft-edged RGBA logo and a photo,
saved by Pillow at compress_level 6 (Pixmill's default) and 9, then re-compressed by oxipng at
levels 1, 2 and 4; and quantized to 256 and 64 colours by libimagequant and by Pillow.

Times are CPU seconds of this process (every encoder runs on one thread here: oxipng's rayon
pool is sized to one by engine.encoders), so other load on the machine changes them little.

    python tests/benchmarks/encoders_bench.py [--photos N] [--size 1600] [--no-png]

Prints the tables and writes results/encoders-<date>.json. Needs the optional packages
(pyjpegli, mozjpeg-lossless-optimization, pyoxipng, imagequant) and engine/metric.py (or the
ssimulacra2 package, much slower). About 2 minutes of one core with the 12 corpus photos.
"""

from __future__ import annotations

import argparse
import datetime
import glob
import io
import json
import math
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from pixmill.engine import encoders

CORPUS = os.environ.get("BENCH_CORPUS", "/work/shared/corpus")
RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")
TURBO_Q = tuple(range(40, 96, 5))
JPEGLI_Q = (*range(35, 96, 5), 97)
TARGETS = (55.0, 60.0, 64.0, 70.0, 72.0, 75.0, 80.0, 85.0)
CHECK_Q = (50, 60, 70, 80, 85, 90, 95)
OXIPNG_LEVELS = (1, 2, 4)


# --- scoring ---------------------------------------------------------------------------------
def scorer(reference: Image.Image) -> Callable[[Image.Image], float]:
    """SSIMULACRA2 against reference: engine.metric when it is there, else the ssimulacra2
    package (the reference implementation; slow)."""
    try:
        from pixmill.engine.metric import Reference
    except ImportError:
        from ssimulacra2 import compute_ssimulacra2_with_alpha  # type: ignore[import-not-found]

        ref = np.asarray(reference.convert("RGBA"), dtype=np.float32) / 255.0

        def slow(im: Image.Image) -> float:
            dist = np.asarray(im.convert("RGBA"), dtype=np.float32) / 255.0
            return float(compute_ssimulacra2_with_alpha(ref, dist))

        return slow
    return Reference(reference).score


def cpu(fn: Callable[[], Any]) -> tuple[Any, float]:
    """fn()'s result and the CPU seconds it took."""
    t = time.process_time()
    out = fn()
    return out, time.process_time() - t


def decode(data: bytes) -> Image.Image:
    im = Image.open(io.BytesIO(data))
    im.load()
    return im


# --- JPEG ------------------------------------------------------------------------------------
def fitted(path: str, size: int) -> Image.Image:
    with Image.open(path) as src:
        im = src.convert("RGB")
    im.thumbnail((size, size), Image.Resampling.LANCZOS)
    return im


def turbo(im: Image.Image, q: int, **kw: Any) -> bytes:
    out = io.BytesIO()
    im.save(out, format="JPEG", quality=q, **kw)
    return out.getvalue()


def measure_photo(path: str, size: int) -> dict[str, Any]:
    import pyjpegli

    im = fitted(path, size)
    score = scorer(im)
    raw = im.tobytes()
    rec: dict[str, Any] = {"photo": os.path.basename(path), "size": list(im.size)}
    rows = []
    for q in TURBO_Q:
        data, t = cpu(lambda q=q: turbo(im, q))
        opt, t_opt = cpu(lambda q=q: turbo(im, q, optimize=True))
        prog, t_prog = cpu(lambda q=q: turbo(im, q, progressive=True))
        moz, t_moz = cpu(lambda data=data: encoders.optimize_jpeg(data))
        rows.append(
            {
                "q": q,
                "bytes": len(data),
                "score": score(decode(data)),
                "s": t,
                "optimize_bytes": len(opt),
                "optimize_s": t_opt,
                "progressive_bytes": len(prog),
                "progressive_s": t_prog,
                "mozjpeg_bytes": len(moz),
                "mozjpeg_s": t_moz,
            }
        )
    rec["turbo"] = rows
    rows = []
    for q in JPEGLI_Q:
        data, t = cpu(lambda q=q: pyjpegli.encode(raw, im.width, im.height, quality=q))
        moz, t_moz = cpu(lambda data=data: encoders.optimize_jpeg(data))
        rows.append(
            {
                "q": q,
                "bytes": len(data),
                "score": score(decode(data)),
                "s": t,
                "mozjpeg_bytes": len(moz),
                "mozjpeg_s": t_moz,
            }
        )
    rec["jpegli"] = rows
    # The shipped mapping, checked: encode_jpeg(encoder="jpegli") at Pillow qualities.
    rows = []
    for q in CHECK_Q:
        data, t = cpu(lambda q=q: encoders.encode_jpeg(im, q, encoder="jpegli"))
        rows.append({"q": q, "bytes": len(data), "score": score(decode(data)), "s": t})
    rec["jpegli_mapped"] = rows
    # The planar path hands the encoder YCbCr: jpegli needs RGB first.
    ycc = im.convert("YCbCr")
    _, rec["ycbcr_to_rgb_s"] = cpu(lambda: ycc.convert("RGB"))
    return rec


def curve(rows: Sequence[dict[str, Any]], key: str = "bytes") -> tuple[np.ndarray, np.ndarray]:
    """(scores made non-decreasing in quality, log bytes) of one photo's encodes."""
    scores = np.maximum.accumulate(np.array([r["score"] for r in rows]))
    logb = np.log(np.array([r[key] for r in rows], dtype=np.float64))
    return scores, logb


def at_score(rows: Sequence[dict[str, Any]], target: float, key: str = "bytes") -> float | None:
    scores, logb = curve(rows, key)
    if not scores[0] <= target <= scores[-1]:
        return None
    return float(math.exp(np.interp(target, scores, logb)))


def spread(values: Sequence[float]) -> dict[str, float]:
    return {
        "median": statistics.median(values),
        "geomean": math.exp(statistics.fmean(math.log(v) for v in values)),
        "min": min(values),
        "max": max(values),
        "n": len(values),
    }


#: (name, numerator (encoder, key), denominator (encoder, key)) of the equal-score ratios.
RATIOS = (
    ("jpegli / turbo", ("jpegli", "bytes"), ("turbo", "bytes")),
    ("jpegli / turbo optimize", ("jpegli", "bytes"), ("turbo", "optimize_bytes")),
    ("jpegli / turbo progressive", ("jpegli", "bytes"), ("turbo", "progressive_bytes")),
    ("moz(jpegli) / moz(turbo)", ("jpegli", "mozjpeg_bytes"), ("turbo", "mozjpeg_bytes")),
    ("moz(jpegli) / turbo", ("jpegli", "mozjpeg_bytes"), ("turbo", "bytes")),
)


def summarise_jpeg(photos: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {"equal_score": {}, "mapping": [], "mapped_check": [], "times": {}}
    for name, (enc_a, key_a), (enc_b, key_b) in RATIOS:
        per_target = {}
        for target in TARGETS:
            ratios = []
            for p in photos:
                a = at_score(p[enc_a], target, key_a)
                b = at_score(p[enc_b], target, key_b)
                if a and b:
                    ratios.append(a / b)
            if ratios:
                per_target[str(target)] = spread(ratios)
        out["equal_score"][name] = per_target
    # libjpeg-turbo quality -> jpegli quality with the same score, per photo, then the median.
    for i, q in enumerate(TURBO_Q):
        matches, deltas = [], []
        for p in photos:
            s = p["turbo"][i]["score"]
            scores, _ = curve(p["jpegli"])
            if scores[0] <= s <= scores[-1]:
                matches.append(float(np.interp(s, scores, [r["q"] for r in p["jpegli"]])))
            same = next((r for r in p["jpegli"] if r["q"] == q), None)
            if same:
                deltas.append(same["score"] - s)
        out["mapping"].append(
            {
                "turbo_q": q,
                "turbo_score_median": statistics.median(p["turbo"][i]["score"] for p in photos),
                "jpegli_q_median": statistics.median(matches) if matches else None,
                "jpegli_q_min": min(matches) if matches else None,
                "jpegli_q_max": max(matches) if matches else None,
                "same_q_score_delta_median": statistics.median(deltas) if deltas else None,
            }
        )
    # The shipped mapping: encode_jpeg(jpegli, q) against libjpeg-turbo at the same q.
    for i, q in enumerate(CHECK_Q):
        deltas, ratios = [], []
        for p in photos:
            t = next(r for r in p["turbo"] if r["q"] == q) if q in TURBO_Q else None
            if t is None:
                continue
            m = p["jpegli_mapped"][i]
            deltas.append(m["score"] - t["score"])
            ratios.append(m["bytes"] / t["bytes"])
        if deltas:
            out["mapped_check"].append(
                {
                    "q": q,
                    "jpegli_q": encoders.jpegli_quality(q),
                    "score_delta_median": statistics.median(deltas),
                    "score_delta_min": min(deltas),
                    "score_delta_max": max(deltas),
                    "bytes_ratio": spread(ratios),
                }
            )

    def ms_per_mp(enc: str, key: str) -> float:
        vals = [r[key] / (p["size"][0] * p["size"][1] / 1e6) * 1000 for p in photos for r in p[enc]]
        return statistics.median(vals)

    def saving(enc: str, key: str) -> float:
        return statistics.median(1 - r["mozjpeg_bytes"] / r[key] for p in photos for r in p[enc])

    out["times"] = {
        "turbo_ms_per_mp": ms_per_mp("turbo", "s"),
        "turbo_optimize_ms_per_mp": ms_per_mp("turbo", "optimize_s"),
        "turbo_progressive_ms_per_mp": ms_per_mp("turbo", "progressive_s"),
        "jpegli_ms_per_mp": ms_per_mp("jpegli", "s"),
        "mozjpeg_on_turbo_ms_per_mp": ms_per_mp("turbo", "mozjpeg_s"),
        "mozjpeg_on_jpegli_ms_per_mp": ms_per_mp("jpegli", "mozjpeg_s"),
        "ycbcr_to_rgb_ms_per_mp": statistics.median(
            p["ycbcr_to_rgb_s"] / (p["size"][0] * p["size"][1] / 1e6) * 1000 for p in photos
        ),
    }
    out["mozjpeg_saving"] = {
        "on_turbo": saving("turbo", "bytes"),
        "on_turbo_optimize": statistics.median(
            1 - r["mozjpeg_bytes"] / r["optimize_bytes"] for p in photos for r in p["turbo"]
        ),
        "on_turbo_progressive": statistics.median(
            1 - r["mozjpeg_bytes"] / r["progressive_bytes"] for p in photos for r in p["turbo"]
        ),
        "on_jpegli": saving("jpegli", "bytes"),
    }
    return out


def print_jpeg(summary: dict[str, Any], n: int) -> None:
    print(f"\nJPEG: bytes ratio at equal SSIMULACRA2 (median over {n} photos [min..max])")
    names = list(summary["equal_score"])
    print(f"{'score':>6}  " + "  ".join(f"{name:>26}" for name in names))
    for target in TARGETS:
        cells = []
        for name in names:
            s = summary["equal_score"][name].get(str(target))
            cells.append(f"{s['median']:.3f} [{s['min']:.2f}..{s['max']:.2f}]" if s else "-")
        print(f"{target:>6.0f}  " + "  ".join(f"{c:>26}" for c in cells))
    print("\nlibjpeg-turbo quality -> jpegli quality at equal score (median [min..max])")
    print(f"{'turbo q':>8} {'score':>6} {'jpegli q':>9} {'range':>13} {'same-q delta':>13}")
    for m in summary["mapping"]:
        jq = m["jpegli_q_median"]
        rng = f"{m['jpegli_q_min']:.1f}..{m['jpegli_q_max']:.1f}" if jq is not None else "-"
        delta = m["same_q_score_delta_median"]
        print(
            f"{m['turbo_q']:>8} {m['turbo_score_median']:>6.1f} "
            f"{(f'{jq:.1f}' if jq is not None else '-'):>9} {rng:>13} "
            f"{(f'{delta:+.2f}' if delta is not None else '-'):>13}"
        )
    print("\nencode_jpeg(encoder='jpegli') at q against libjpeg-turbo at q (fixed quality)")
    print(f"{'q':>4} {'jpegli q':>9} {'score delta med [min..max]':>28} {'bytes ratio med':>16}")
    for c in summary["mapped_check"]:
        print(
            f"{c['q']:>4} {c['jpegli_q']:>9} "
            f"{c['score_delta_median']:>+10.2f}"
            f" [{c['score_delta_min']:+.2f}..{c['score_delta_max']:+.2f}]"
            f" {c['bytes_ratio']['median']:>16.3f}"
        )
    t = summary["times"]
    print("\nCPU ms per megapixel (median over photos and qualities)")
    for key, value in t.items():
        print(f"  {key:32} {value:8.1f}")
    print("MozJPEG lossless saving (median over photos and qualities)")
    for key, value in summary["mozjpeg_saving"].items():
        print(f"  {key:32} {value * 100:7.1f} %")


# --- PNG -------------------------------------------------------------------------------------
def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    try:
        return ImageFont.load_default(size)
    except Exception:  # noqa: BLE001 - no FreeType: the bitmap font
        return ImageFont.load_default()


def screenshot() -> Image.Image:
    """A desktop window: flat panels, a list, buttons and anti-aliased text."""
    im = Image.new("RGB", (1280, 800), (246, 246, 248))
    d = ImageDraw.Draw(im)
    d.rectangle((0, 0, 1280, 44), fill=(40, 44, 52))
    d.text((16, 12), "Pixmill - batch convert", fill=(230, 230, 230), font=_font(18))
    d.rectangle((0, 44, 260, 800), fill=(232, 234, 238))
    for i in range(24):
        y = 60 + i * 30
        if i == 5:
            d.rectangle((4, y - 4, 256, y + 22), fill=(52, 120, 246))
        d.text((20, y), f"IMG_{4000 + i * 7}.jpg", fill=(20, 20, 20), font=_font(15))
    for i in range(12):
        x, y = 290 + (i % 4) * 240, 70 + (i // 4) * 230
        d.rounded_rectangle((x, y, x + 220, y + 200), 8, fill=(255, 255, 255), outline=(210,) * 3)
        d.rectangle((x + 10, y + 10, x + 210, y + 150), fill=(120 + i * 9, 150, 200 - i * 8))
        d.text((x + 12, y + 164), f"photo {i + 1}  4032x3024", fill=(60, 60, 60), font=_font(14))
    d.rounded_rectangle((1090, 740, 1260, 780), 6, fill=(52, 120, 246))
    d.text((1130, 749), "Convert", fill=(255, 255, 255), font=_font(18))
    return im


def chart() -> Image.Image:
    """A plot on a transparent background: grid, anti-aliased lines, translucent areas."""
    im = Image.new("RGBA", (1200, 800), (0, 0, 0, 0))
    d = ImageDraw.Draw(im)
    for x in range(100, 1150, 50):
        d.line((x, 50, x, 750), fill=(0, 0, 0, 40))
    for y in range(50, 751, 50):
        d.line((100, y, 1150, y), fill=(0, 0, 0, 40))
    rng = np.random.default_rng(14)
    for k, colour in enumerate(((230, 80, 60), (40, 120, 220), (60, 170, 90))):
        ys = 400 + np.cumsum(rng.normal(0, 12, 211)) - 60 * k
        pts = [(100 + i * 5, float(y)) for i, y in enumerate(ys)]
        d.polygon([*pts, (1150, 750), (100, 750)], fill=(*colour, 50))
        d.line(pts, fill=(*colour, 255), width=3, joint="curve")
    d.text((110, 60), "conversions per second", fill=(0, 0, 0, 255), font=_font(22))
    return im


def logo() -> Image.Image:
    """A soft-edged RGBA emblem: gradients and smooth alpha."""
    size = 512
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    r = np.hypot(xx - size / 2, yy - size / 2)
    alpha = np.clip((220 - r) / 6, 0, 1) * 255
    rgba = np.dstack(
        [
            120 + 100 * xx / size,
            60 + 150 * yy / size,
            np.full_like(xx, 200),
            alpha,
        ]
    ).astype(np.uint8)
    im = Image.fromarray(rgba, "RGBA")
    d = ImageDraw.Draw(im)
    d.text((150, 220), "Pixmill", fill=(255, 255, 255, 255), font=_font(64))
    return im.filter(ImageFilter.SMOOTH)


def png_bytes(im: Image.Image, level: int = 6) -> bytes:
    out = io.BytesIO()
    im.save(out, format="PNG", compress_level=level)
    return out.getvalue()


def measure_png(name: str, im: Image.Image) -> dict[str, Any]:
    rec: dict[str, Any] = {"image": name, "size": list(im.size), "mode": im.mode}
    base, rec["pillow6_s"] = cpu(lambda: png_bytes(im, 6))
    rec["pillow6_bytes"] = len(base)
    p9, rec["pillow9_s"] = cpu(lambda: png_bytes(im, 9))
    rec["pillow9_bytes"] = len(p9)
    rec["oxipng"] = {}
    for level in OXIPNG_LEVELS:
        out, t = cpu(lambda level=level: encoders.optimize_png(base, level))
        same = np.array_equal(np.asarray(decode(out).convert(im.mode)), np.asarray(im))
        assert same, "oxipng changed pixels"
        rec["oxipng"][str(level)] = {"bytes": len(out), "s": t}
    score = scorer(im)
    rec["quantize"] = {}
    for colors in (256, 64):
        q, t = cpu(lambda colors=colors: encoders.quantize(im, colors))
        data = png_bytes(q)
        small, t_ox = cpu(lambda data=data: encoders.optimize_png(data, 2))
        if im.mode == "RGBA":
            pil, t_pil = cpu(
                lambda colors=colors: im.quantize(colors, method=Image.Quantize.FASTOCTREE)
            )
        else:
            pil, t_pil = cpu(lambda colors=colors: im.quantize(colors))
        rec["quantize"][str(colors)] = {
            "imagequant_s": t,
            "imagequant_bytes": len(data),
            "imagequant_oxipng2_bytes": len(small),
            "oxipng2_s": t_ox,
            "imagequant_score": score(q.convert(im.mode)),
            "pillow_s": t_pil,
            "pillow_bytes": len(png_bytes(pil)),
            "pillow_score": score(pil.convert(im.mode)),
        }
    return rec


def print_png(rows: list[dict[str, Any]]) -> None:
    print("\nPNG lossless: bytes relative to Pillow compress_level 6, CPU seconds")
    head = f"{'image':12} {'size':>10} {'pillow6':>15} {'pillow9':>13}"
    for level in OXIPNG_LEVELS:
        head += f" {'oxipng ' + str(level):>15}"
    print(head)
    for r in rows:
        base = r["pillow6_bytes"]
        line = (
            f"{r['image']:12} {r['size'][0]}x{r['size'][1]:<5} {base / 1e3:>7.0f}kB"
            f" {r['pillow6_s']:>5.2f}s"
            f" {r['pillow9_bytes'] / base:>6.3f} {r['pillow9_s']:>5.2f}s"
        )
        for level in OXIPNG_LEVELS:
            o = r["oxipng"][str(level)]
            line += f" {o['bytes'] / base:>7.3f} {o['s']:>6.2f}s"
        print(line)
    print("\nPalette PNG: libimagequant (dithered) vs Pillow; bytes / Pillow level 6 truecolour")
    print(
        f"{'image':12} {'colours':>7} {'liq s':>6} {'liq bytes':>9} {'+oxipng':>8}"
        f" {'liq score':>9} {'pil s':>6} {'pil bytes':>9} {'pil score':>9}"
    )
    for r in rows:
        base = r["pillow6_bytes"]
        for colors, q in r["quantize"].items():
            print(
                f"{r['image']:12} {colors:>7} {q['imagequant_s']:>6.2f}"
                f" {q['imagequant_bytes'] / base:>9.3f}"
                f" {q['imagequant_oxipng2_bytes'] / base:>8.3f}"
                f" {q['imagequant_score']:>9.1f} {q['pillow_s']:>6.2f}"
                f" {q['pillow_bytes'] / base:>9.3f} {q['pillow_score']:>9.1f}"
            )


# --- main ------------------------------------------------------------------------------------
def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--photos", type=int, default=12, help="corpus JPEGs to use (default 12)")
    ap.add_argument("--size", type=int, default=1600, help="fit photos into this square")
    ap.add_argument("--no-png", action="store_true", help="skip the PNG part")
    ap.add_argument("--no-jpeg", action="store_true", help="skip the JPEG part")
    args = ap.parse_args(argv)

    versions = encoders.available()
    missing = {k: encoders.UNAVAILABLE.get(k) for k, v in versions.items() if v is None}
    if missing:
        print(f"missing encoders: {missing}", file=sys.stderr)
        return 2
    print("encoders:", ", ".join(f"{k} {v}" for k, v in versions.items()))
    result: dict[str, Any] = {
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "loadavg_start": os.getloadavg(),
        },
        "versions": versions,
        "settings": {
            "size": args.size,
            "turbo_q": TURBO_Q,
            "jpegli_q": JPEGLI_Q,
            "targets": TARGETS,
            "oxipng_levels": OXIPNG_LEVELS,
        },
    }
    if not args.no_jpeg:
        paths = sorted(glob.glob(os.path.join(CORPUS, "*.jpg")))[: args.photos]
        if not paths:
            print(f"no JPEGs in {CORPUS}", file=sys.stderr)
            return 2
        photos = []
        for path in paths:
            t0 = time.perf_counter()
            photos.append(measure_photo(path, args.size))
            print(f"  {os.path.basename(path)}: {time.perf_counter() - t0:.1f} s", flush=True)
        summary = summarise_jpeg(photos)
        result["jpeg"] = {"photos": photos, "summary": summary}
        print_jpeg(summary, len(photos))
    if not args.no_png:
        images = {"screenshot": screenshot(), "chart": chart(), "logo": logo()}
        first = sorted(glob.glob(os.path.join(CORPUS, "*.jpg")))[:1]
        if first:
            images["photo"] = fitted(first[0], args.size)
        rows = [measure_png(name, im) for name, im in images.items()]
        result["png"] = rows
        print_png(rows)
    result["machine"]["loadavg_end"] = os.getloadavg()
    os.makedirs(RESULTS, exist_ok=True)
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    path = os.path.join(RESULTS, f"encoders-{stamp}.json")
    with open(path, "w") as f:
        json.dump(result, f, indent=1)
    print(f"\nwrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
