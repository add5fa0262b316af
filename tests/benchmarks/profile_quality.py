"""Where a quality-target conversion's time goes (scenario Q, issue 14): convert_one on corpus
photos with a fixed quality and with a target, in this process, CPU time of this thread.

For each photo: the fixed-quality conversion's CPU time, the target conversion's, and the
target's split into the source's decode and render, the candidates' encodes, the metric's
reference side (one per image), the candidates' decodes and their scores; then every
candidate the search tried (format, chroma subsampling, quality, bytes, score). The split
comes from timing the engine's own functions (wrapped here, nothing in engine/ is changed):
compress.encode_candidate, compress.make_scorer's scorer, metric.Reference (build and score) and
convert._decode_and_render. With --profile, a cProfile of the first photo's target
conversion (CPU clock) as well.

    python tests/benchmarks/profile_quality.py [PHOTO ...] [--format jpeg] [--target high]
        [--fit 1600] [--rounds 3] [--profile]

Without photos: every JPEG in data/quality (build_data.py), or the corpus.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
CORPUS = Path(os.environ.get("BENCH_CORPUS", "/work/shared/corpus"))
CLOCK = time.thread_time  # CPU time of this thread: steady on a shared machine


@dataclass
class Tally:
    """CPU seconds per part of one conversion, and the candidates tried."""

    seconds: dict[str, float] = field(default_factory=dict)
    calls: dict[str, int] = field(default_factory=dict)
    candidates: list[dict[str, Any]] = field(default_factory=list)

    def add(self, part: str, seconds: float) -> None:
        self.seconds[part] = self.seconds.get(part, 0.0) + seconds
        self.calls[part] = self.calls.get(part, 0) + 1


_tally: Tally | None = None


def _timed(part: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if _tally is None:
            return fn(*args, **kwargs)
        t0 = CLOCK()
        try:
            return fn(*args, **kwargs)
        finally:
            _tally.add(part, CLOCK() - t0)

    return wrapper


def instrument() -> None:
    """Wrap the engine functions whose time is counted (in this process only)."""
    from pixmill.engine import compress, convert, metric

    convert._decode_and_render = _timed("decode + render source", convert._decode_and_render)
    to_bytes = compress.encode_candidate

    def encode_candidate(frames: Any, fmt: str, kwargs: Any) -> bytes:
        return _timed(f"encode {fmt}", to_bytes)(frames, fmt, kwargs)

    compress.encode_candidate = encode_candidate
    metric.Reference.__init__ = _timed("metric reference (build)", metric.Reference.__init__)
    metric.Reference.score = _timed("metric score", metric.Reference.score)
    make_scorer = compress.make_scorer

    def counted_scorer(reference: Any) -> Any:
        score = make_scorer(reference)
        return _timed("scorer (decode + score)", score)

    compress.make_scorer = counted_scorer
    encode_q, score_q = compress._Search.encode, compress._Search.score

    def search_encode(self: Any, q: int) -> bytes:
        new = q not in self.data
        data = encode_q(self, q)
        if new and _tally is not None:
            _tally.candidates.append(
                {
                    "format": self.fmt,
                    "subsampling": self.kwargs.get("subsampling"),
                    "quality": q,
                    "bytes": len(data),
                    "score": None,
                }
            )
        return data

    def search_score(self: Any, q: int, floor: float | None = None) -> float:
        s = score_q(self, q, floor)
        sub = self.kwargs.get("subsampling")
        if _tally is not None:
            for c in reversed(_tally.candidates):
                same = c["format"] == self.fmt and c["quality"] == q
                if same and c["score"] is None and c["subsampling"] == sub:
                    c["score"] = s
                    break
        return s

    compress._Search.encode = search_encode
    compress._Search.score = search_score


@contextmanager
def tallying() -> Iterator[Tally]:
    global _tally
    _tally = Tally()
    try:
        yield _tally
    finally:
        _tally = None


def _candidate(c: dict[str, Any], fmt: str) -> str:
    """83=80.3: quality 83 scored 80.3; /444 full chroma; a, w, j: AVIF, WebP, JPEG (auto)."""
    text = ("" if c["format"] == fmt else c["format"][0]) + str(c["quality"])
    text += "/444" if c["subsampling"] == "4:4:4" else ""
    return text + ("=?" if c["score"] is None else f"={c['score']:.1f}")


def _jobs(files: list[str], recipe: Any, out: str) -> list[Any]:
    from pixmill.engine.plan import plan

    return plan(files, recipe, out).jobs


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("photos", nargs="*")
    ap.add_argument("--format", default="jpeg")
    ap.add_argument("--target", default="high")
    ap.add_argument("--fit", type=int, default=1600)
    ap.add_argument("--rounds", type=int, default=3, help="conversions per photo (median)")
    ap.add_argument("--profile", action="store_true", help="cProfile the first photo")
    args = ap.parse_args(argv)
    from pixmill.engine.convert import convert_one
    from pixmill.engine.recipe import Recipe, Resize

    files = args.photos or sorted(str(p) for p in (HERE / "data" / "quality").glob("*.jpg"))
    files = files or sorted(str(p) for p in CORPUS.glob("*.jpg"))
    if not files:
        print("no photos: give some, or run build_data.py", file=sys.stderr)
        return 2
    rz = Resize("fit", width=args.fit, height=args.fit)
    # The baseline is always the fixed-quality JPEG path (issue 14's "fixed quality 85").
    fixed = Recipe(format="jpeg", quality=85, resize=rz, on_conflict="overwrite")
    target = Recipe(
        format=args.format, quality_target=args.target, resize=rz, on_conflict="overwrite"
    )
    instrument()
    parts_all: dict[str, list[float]] = {}
    totals: dict[str, list[float]] = {"fixed": [], "target": []}
    tries: list[int] = []
    with tempfile.TemporaryDirectory(prefix="pixmill-profq-") as work:
        fixed_jobs = _jobs(files, fixed, os.path.join(work, "fixed"))
        target_jobs = _jobs(files, target, os.path.join(work, "target"))
        convert_one(target_jobs[0])  # warm: imports, codecs, the sRGB profile
        print(
            f"{len(files)} photos, fit {args.fit}: fixed = jpeg q85, target = {args.format} at "
            f"{args.target}; CPU seconds of this thread, median of {args.rounds} conversions each"
        )
        head = f"{'photo':<44} {'fixed':>6} {'target':>6} {'x':>5} {'tries':>5}  candidates"
        print(head + "\n" + "-" * len(head))
        for fj, tj in zip(fixed_jobs, target_jobs, strict=True):
            tf, runs = [], []
            for _ in range(args.rounds):
                t0 = CLOCK()
                r = convert_one(fj)
                tf.append(CLOCK() - t0)
                assert r["status"] == "ok", r["error"]
                with tallying() as tally:
                    t0 = CLOCK()
                    r = convert_one(tj)
                    tally.add("total", CLOCK() - t0)
                assert r["status"] == "ok", r["error"]
                runs.append(tally)
            mid = sorted(runs, key=lambda t: t.seconds["total"])[len(runs) // 2]
            f_s, t_s = statistics.median(tf), mid.seconds["total"]
            totals["fixed"].append(f_s)
            totals["target"].append(t_s)
            tries.append(len(mid.candidates))
            for part, s in mid.seconds.items():
                parts_all.setdefault(part, []).append(s)
            cands = " ".join(_candidate(c, args.format) for c in mid.candidates)
            print(
                f"{os.path.basename(fj.source):<44} {f_s:6.3f} {t_s:6.3f} {t_s / f_s:5.1f} "
                f"{len(mid.candidates):5d}  {cands} -> q{r['quality']} ({r['score']:.2f})"
            )
        n = len(files)
        tot_f, tot_t = sum(totals["fixed"]), sum(totals["target"])
        print(
            f"\nper photo (mean): fixed {tot_f / n:.3f} s, target {tot_t / n:.3f} s = "
            f"{tot_t / tot_f:.2f}x; candidates per photo: mean {statistics.fmean(tries):.1f}, "
            f"{min(tries)}-{max(tries)}"
        )
        total = sum(parts_all["total"])
        scorer = sum(parts_all.get("scorer (decode + score)", [0.0]))
        score = sum(parts_all.get("metric score", [0.0]))
        encodes = {p: sum(v) for p, v in parts_all.items() if p.startswith("encode ")}
        split = {
            "decode + render source": sum(parts_all.get("decode + render source", [0.0])),
            **{f"{p} (candidates)": v for p, v in sorted(encodes.items())},
            "metric reference (build)": sum(parts_all.get("metric reference (build)", [0.0])),
            "decode candidates": scorer - score,
            "metric score": score,
        }
        split["other (write, metadata, search)"] = total - sum(split.values())
        print("where the target conversion's CPU goes (all photos):")
        for part, s in split.items():
            print(f"  {part:<34} {s / n * 1000:7.0f} ms/photo  {s / total * 100:5.1f} %")
        if args.profile:
            prof = cProfile.Profile(CLOCK)
            prof.enable()
            convert_one(target_jobs[0])
            prof.disable()
            buf = io.StringIO()
            stats = pstats.Stats(prof, stream=buf)
            stats.sort_stats("tottime").print_stats(15)
            stats.sort_stats("cumulative").print_stats(25)
            print(f"\ncProfile of {os.path.basename(target_jobs[0].source)} (CPU clock):")
            print(buf.getvalue())
    return 0


if __name__ == "__main__":
    sys.exit(main())
