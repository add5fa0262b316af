"""Pixmill's benchmark suite (issue 5): scenarios A-F, and H, R, P for HEIC and camera RAW
input, every contender side by side; U, the incremental run (`--update`, issue 13); Q, quality
targets and format auto (issue 14).

For each scenario the contenders run interleaved (the order rotates every round), each round
on a clean output folder, after one untimed warm-up run of each on a few files. Printed per
scenario: median images/s, Pixmill's speed-up over each contender (median of the per-round
ratios, so machine noise that hits one round hits both sides), CPU seconds, peak RSS of the
main process and of the largest worker, output bytes, whether output sizes match Pixmill's,
and mean SSIM against a careful reference on a sample. In A and D, Pixmill also runs with
--no-sync, and the pair gives the cost of durable publish (issue 13). Then the issues' goals,
each marked. The same data goes to results/bench-<time>.json (and results/latest.json).

Every Pixmill run keeps its batch journal in the work folder (XDG_DATA_HOME), one per
contender and scenario, kept over its warm-up and rounds, never in the user's own.

Scenario U is not a race: on its own copy of D's 10,000 small PNGs, Pixmill converts once with
--update, then each round times an --update run with nothing changed (it must convert none and
skip all as up to date), changes 100 sources and times one more (it must convert exactly those).

Scenario Q is Pixmill against itself on the corpus's real camera JPEGs (fit 1600x1600): a fixed
JPEG quality 85, then per image quality targets (JPEG at high, balanced and small; WebP, AVIF
and format auto at balanced), interleaved rounds. Per row: wall time, time per photo, bytes,
the reported SSIMULACRA2 scores (the fixed row's computed here against the same reference,
Pixmill's own render: quality_targets.py), worker peak RSS; then the one fixed quality every
photo would need to reach the high target, found by encoding with Pillow at each quality.

Scenarios D+, W and W+ are issue 19's many small files: D+ is D at 100,000 PNGs (Pixmill and
the naive script; its files/s against D's says whether feeding stays linear), W and W+ the
window on 20,000 and 100,000 of them, driven as F (longest event-loop stall; gui_driver.py
checks the results table and counts show every file converted).

A contender that fails files is not dropped: its row says how many of the scenario's files it
failed (no output written) in each round, with its exit status and the end of its stderr; only
rounds with every file converted are timed. A scenario whose data is missing, or a contender
whose program is not installed, is reported as skipped.

    python tests/benchmarks/run_bench.py [--runs N] [--quick] [--scenarios A,B,...]
    python tests/benchmarks/run_bench.py --scenarios H,R,P     # only HEIC and RAW input
    python tests/benchmarks/run_bench.py --scenarios A,D,U     # durable publish, --update
    python tests/benchmarks/run_bench.py --scenarios Q         # quality targets, format auto
    python tests/benchmarks/run_bench.py --scenarios D,D+,W,W+ --runs 1   # many small files

Environment: BENCH_RUNS (default 3), BENCH_QUICK=1 (small data, one round), BENCH_SCENARIOS,
BENCH_WORKERS (default 2), BENCH_QT_PLATFORM (offscreen), BENCH_GIT=0 (do not run git to record
the commit, e.g. while someone else works in the checkout).
"""

from __future__ import annotations

import argparse
import compileall
import itertools
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import quality
import quality_targets
from contenders import (
    CONTENDERS,
    DARKTABLE_CLI,
    EXPERIMENT,
    EXT,
    PIXMILL,
    PYTHON,
    REPO,
    Job,
    with_quality_target,
    with_update,
)
from measure import RunResult, run_measured
from update_runs import check_report, pick, touch_sources

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
RESULTS = HERE / "results"
#: The inputs a scenario's data folder may hold.
INPUT_SUFFIXES = (".jpg", ".png", ".heic", ".dng")
ALL_SCENARIOS = "A,B,C,D,E,F,H,R,P,U,Q,D+,W,W+"


@dataclass(frozen=True)
class Entry:
    """One row of a scenario: a contender at a pool size."""

    contender: str
    workers: int
    label: str = ""

    @property
    def key(self) -> str:
        return f"{self.contender}@{self.workers}"

    @property
    def name(self) -> str:
        return self.label or CONTENDERS[self.contender].label


@dataclass(frozen=True)
class Scenario:
    key: str
    title: str
    data: str  # folder under data/ (or data/quick/)
    fmt: str
    quality: int
    fit: tuple[int, int] | None
    entries: tuple[Entry, ...]
    baseline: str  # the entry key the ratios are taken against
    ssim_sample: int = 6
    dims_sample: int | None = None  # check every output unless set
    ssim_spread: bool = False  # SSIM on files spread over the sorted list, not the first ones
    note: str = ""  # printed under the table


def scenarios(workers: int) -> list[Scenario]:
    """The issue's scenarios; with BENCH_EXPERIMENT set, each also gets a row for the engine
    copy right after Pixmill's (E: at 1 and at 2 workers)."""
    out = _scenarios(workers)
    if not EXPERIMENT:
        return out
    for i, scn in enumerate(out):
        entries = list(scn.entries)
        if scn.key == "E":
            entries[2:2] = [
                Entry("experiment", 1, "experiment, 1 worker"),
                Entry("experiment", workers, f"experiment, {workers} workers"),
            ]
        elif scn.key not in ("F", "Q"):  # Q: Pixmill's own rows only
            entries.insert(1, Entry("experiment", workers))
        out[i] = Scenario(**{**scn.__dict__, "entries": tuple(entries)})
    return out


#: Scenario E's goal is a ratio of two short runs that swings by 10 % between rounds on a shared
#: 2-core VM (3-round medians seen here: 1.65-1.85x); its rounds are cheap (about 10 s), so it
#: always gets enough of them for a stable median.
MIN_ROUNDS = {"E": 15, "U": 5}

#: Scenario U: sources changed (content edited) before each round's second --update run.
TOUCHED = 100


#: Scenarios H, R and P: what a phone or camera's photos are shrunk to for sharing.
FIT_CAMERA = (2048, 2048)

#: Issue 19, many small files: what the main process may hold at its peak in D+ (100,000
#: files), and the files/s at 100k against D's at 10k that still counts as linear.
MANY_RSS_MB = 200
MANY_LINEAR = 0.9
#: The window's longest event-loop stall, in F, W and W+ alike.
MAX_GAP_MS = 50


def _window_scenario(key: str, size: str, data: str, note: str, w: int) -> Scenario:
    """W and W+: the window (gui_driver.py, as F) on a folder of small PNGs."""
    return Scenario(
        key,
        f"The window on many small files, {size}: 64x64 PNG -> PNG",
        data,
        "png",
        85,
        None,
        (Entry("gui", w),),
        f"gui@{w}",
        ssim_sample=0,
        dims_sample=200,
        note=note,
    )


def _scenarios(workers: int) -> list[Scenario]:
    w = workers
    everyone = ("pixmill", "pixmill_nosync", "naive", "tuned", "vips", "magick")
    fit_a = (1600, 1600)
    return [
        Scenario(
            "A",
            "Web export: 12 MP JPEG -> fit 1600x1600 JPEG q85",
            "photos",
            "jpeg",
            85,
            fit_a,
            tuple(
                Entry(c, w)
                for c in ("pixmill", "pixmill_nosync", "naive", "tuned", "tuned_spawn", "vips")
            )
            + (Entry("magick", w),),
            f"pixmill@{w}",
        ),
        Scenario(
            "B",
            "Thumbnails: 12 MP JPEG -> fit 256x256 WebP q80",
            "photos",
            "webp",
            80,
            (256, 256),
            tuple(Entry(c, w) for c in ("pixmill", "naive", "tuned", "tuned_spawn", "vips"))
            + (Entry("magick", w),),
            f"pixmill@{w}",
        ),
        Scenario(
            "C",
            "Re-encode: 4 MP PNG -> WebP q80, same size",
            "pngs",
            "webp",
            80,
            None,
            tuple(Entry(c, w) for c in everyone if c != "pixmill_nosync"),
            f"pixmill@{w}",
            ssim_sample=4,
        ),
        Scenario(
            "D",
            "Many small files: 64x64 PNG -> PNG",
            "small",
            "png",
            85,
            None,
            tuple(Entry(c, w) for c in everyone),
            f"pixmill@{w}",
            ssim_sample=20,
            dims_sample=400,
        ),
        Scenario(
            "E",
            "Scaling: scenario A at 1 and at 2 workers",
            "photos",
            "jpeg",
            85,
            fit_a,
            (
                Entry("pixmill", 1, "Pixmill CLI, 1 worker"),
                Entry("pixmill", w, f"Pixmill CLI, {w} workers"),
                Entry("tuned", 1, "tuned Pillow, 1 worker"),
                Entry("tuned", w, f"tuned Pillow, {w} workers"),
            ),
            f"pixmill@{w}",
            ssim_sample=0,
        ),
        Scenario(
            "F",
            "GUI vs CLI on scenario A",
            "photos",
            "jpeg",
            85,
            fit_a,
            (Entry("pixmill", w), Entry("gui", w)),
            f"pixmill@{w}",
            ssim_sample=2,
        ),
        Scenario(
            "H",
            "iPhone HEIC: 12 MP HEIC (half portrait, orientation 6) -> fit 2048x2048 JPEG q85",
            "heic",
            "jpeg",
            85,
            FIT_CAMERA,
            tuple(Entry(c, w) for c in ("pixmill", "naive_heif", "tuned_heif", "vips", "magick")),
            f"pixmill@{w}",
            ssim_sample=7,
            ssim_spread=True,
            note=(
                "Data: 20 HEICs made from the corpus camera JPEGs (4032x3024 stored, single "
                "image; portraits as irot + EXIF orientation 6) and 4 copies of the corpus "
                "iPhone XR HEIC (48 grid tiles of 512x512, Display P3). libheif decodes grid "
                "tiles on its own threads in every contender."
            ),
        ),
        Scenario(
            "R",
            "Camera RAW: 20 MP Bayer DNG (14-bit RGGB) -> fit 2048x2048 JPEG q85, demosaiced",
            "raw",
            "jpeg",
            85,
            FIT_CAMERA,
            tuple(Entry(c, w) for c in ("pixmill", "tuned_raw", "dcraw", "darktable")),
            f"pixmill@{w}",
            ssim_sample=4,
            note=(
                "Data: 5472x3648 DNGs synthesised from corpus JPEGs (uncompressed 16-bit "
                "samples, no embedded preview; every fourth portrait, Orientation 8). SSIM "
                "reference: rawpy postprocess(use_camera_wb=True) + Lanczos; darktable's "
                "default look (filmic) differs from it by design."
            ),
        ),
        Scenario(
            "P",
            "RAW preview: EOS 6D DNG (1224x816, 1024x683 JPEG preview) -> fit 2048 JPEG q85",
            "raw_preview",
            "jpeg",
            85,
            FIT_CAMERA,
            tuple(
                Entry(c, w)
                for c in ("pixmill", "pixmill_preview", "tuned_raw", "dcraw", "darktable")
            ),
            f"pixmill@{w}",
            ssim_sample=2,
            note=(
                "Data: copies of the corpus's real camera DNG, the only one with an embedded "
                "preview (a lossy linear DNG: no mosaic to demosaic). The preview is 1024x683, "
                "the full render 1224x816: a row that used the preview differs in sizes."
            ),
        ),
        Scenario(
            "U",
            "Incremental: --update on 64x64 PNG -> PNG (D's arguments), nothing to do",
            "small",
            "png",
            85,
            None,
            (Entry("pixmill", w),),
            f"pixmill@{w}",
            ssim_sample=0,
            note=(
                "Whole CLI runs, process start to exit, on a copy of D's sources: the first "
                "run (empty output folder, everything converts; not part of the goal), then "
                "per round an --update run with nothing changed (checked: 0 converted, all "
                f"skipped up to date) and one after {TOUCHED} random sources were edited "
                "(checked: exactly those converted). Output folder and journal kept."
            ),
        ),
        Scenario(
            "D+",
            "Many small files, 100k: 64x64 PNG -> PNG",
            "small_100k",
            "png",
            85,
            None,
            tuple(Entry(c, w) for c in ("pixmill", "naive")),
            f"pixmill@{w}",
            ssim_sample=20,
            ssim_spread=True,
            dims_sample=400,
            note=(
                "Data: 100,000 copies of D's 10,000 PNGs in one folder (copies, not links: "
                "Pixmill takes one file reached twice as one source). Pixmill's files/s here "
                "against D's gives the linearity goal (run D in the same run)."
            ),
        ),
        _window_scenario(
            "W",
            "20k",
            "small_20k",
            "gui_driver.py as in F, on a folder of 20,000 of D+'s PNGs; the driver checks "
            "that the results table has a row per file and that the counts, the summary "
            "line and the progress bar all say every file was converted.",
            w,
        ),
        _window_scenario("W+", "100k", "small_100k", "As W, on D+'s folder of 100,000 PNGs.", w),
        Scenario(
            "Q",
            "Quality targets: real camera JPEGs -> fit 1600x1600, fixed q85 vs SSIMULACRA2 targets",
            "quality",
            "jpeg",
            quality_targets.FIXED_QUALITY,
            fit_a,
            (Entry("pixmill", w),),
            f"pixmill@{w}",
            ssim_sample=0,
            note=(
                "Data: every JPEG of the shared corpus (4-8 MP cameras and phones, EXIF "
                "orientation, ICC profiles), unchanged. Whole CLI runs with --report; the "
                "targets' rows drop --quality for --quality-target."
            ),
        ),
    ]


@dataclass
class RowResult:
    entry: str
    label: str
    runs: list[dict[str, Any]] = field(default_factory=list)
    skipped: str | None = None
    failed: str | None = None
    failed_files: int | None = None  # most files without output in any round
    warmup: str | None = None  # how the untimed warm-up failed, if it did
    dims_reference: str | None = None  # what the sizes were compared with
    output_bytes: int | None = None
    outputs: int | None = None
    dims_mismatch: int | None = None
    dims_checked: int | None = None
    ssim: float | None = None
    summary: dict[str, Any] = field(default_factory=dict)


# --- running -----------------------------------------------------------------------------
_trashed = itertools.count()


def _clean(path: Path) -> None:
    """An empty folder at path. What was there is moved aside (one rename) into the work
    root's .trash, removed with the work root when the benchmark ends: deleting a run's
    10,000 outputs right before the next run made ext4 scan past the freed inodes for every
    file the next contender created (recently_deleted() in the inode allocator, for half a
    minute), and the runs timed the harness's deletions: 6 s in a round's first runs, 8 s
    in its later ones, for every contender."""
    if path.exists():
        trash = _work_root(path) / ".trash"
        trash.mkdir(parents=True, exist_ok=True)
        os.rename(path, trash / f"{path.name}-{next(_trashed)}")
    path.mkdir(parents=True)


def _work_root(path: Path) -> Path:
    """The benchmark's work root (the .work folder path lies in), or path's parent."""
    for parent in path.parents:
        if parent.name == ".work":
            return parent
    return path.parent


def _read_all(files: list[str]) -> None:
    """Bring the inputs into the page cache so no contender pays the first read."""
    for f in files:
        with open(f, "rb") as fh:
            while fh.read(1 << 20):
                pass


def _gui_available() -> str | None:
    """None if gui/main_window.py exists with a MainWindow; otherwise why scenario F skips."""
    probe = (
        "import importlib.util, sys\n"
        "spec = importlib.util.find_spec('pixmill.gui.main_window')\n"
        "sys.exit(0 if spec else 3)\n"
    )
    rc = subprocess.run([PYTHON, "-c", probe], cwd=REPO, capture_output=True).returncode
    if rc != 0:
        return "gui/main_window.py does not exist yet (the GUI is still being written)"
    return None


def _data_home(work: Path, entry: Entry) -> Path:
    """The XDG_DATA_HOME of an entry's Pixmill runs in a scenario: its batch journal lives in
    DATA_HOME/Pixmill. One per entry, kept from its warm-up over all its rounds, as a user's
    journal is kept between batches: the warm-up creates it and every timed round opens an
    existing journal that grows with each batch (up to the 30 batches it keeps), which is
    what a returning user pays. Fresh per round would time creating the database, which a
    user pays once. Never the real ~/.local/share, and removed with the work folder."""
    return work / ("xdg-" + entry.key.replace("@", "-w"))


def _run_once(scn: Scenario, entry: Entry, files: list[str], in_dir: str, work: Path) -> RunResult:
    out = work / entry.key.replace("@", "-w")
    _clean(out)
    report = work / f"{entry.key}.report.json"
    gui_json = work / f"{entry.key}.gui.json"
    for p in (report, gui_json):
        p.unlink(missing_ok=True)
    job = Job(
        in_dir=in_dir,
        files=files,
        out_dir=str(out),
        fmt=scn.fmt,
        quality=scn.quality,
        fit=scn.fit,
        workers=entry.workers,
        report=str(report),
        gui_json=str(gui_json),
        data_home=str(_data_home(work, entry)),
    )
    cmd = CONTENDERS[entry.contender].command(job)
    busy = _busy_seconds()
    res = run_measured(cmd.argv, env=cmd.env, stdin=cmd.stdin, cwd=str(REPO))
    res.extra.update(_machine(res, busy))
    n_out = sum(1 for n in os.listdir(out) if n.endswith(EXT[scn.fmt]))
    res.extra["outputs"] = n_out
    if report.exists():
        try:
            res.extra["batch_s"] = json.loads(report.read_text())["summary"]["seconds"]
        except (ValueError, KeyError):
            pass
    if gui_json.exists():
        try:
            res.extra.update(json.loads(gui_json.read_text()))
        except ValueError:
            pass
    return res


def _scenario_files(in_dir: Path) -> list[str]:
    return sorted(str(p) for p in in_dir.iterdir() if p.suffix in INPUT_SUFFIXES)


def _last_line(text: str, limit: int = 300) -> str:
    """The end of a contender's stderr, for a one-line failure note."""
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    return lines[-1][-limit:] if lines else ""


def run_scenario(
    scn: Scenario, data_root: Path, runs: int, work_root: Path, log: Any
) -> dict[str, RowResult]:
    in_dir = data_root / scn.data
    files = _scenario_files(in_dir)
    work = work_root / scn.key
    rows = {e.key: RowResult(e.key, e.name) for e in scn.entries}
    active = list(scn.entries)
    if any(e.contender == "gui" for e in active):
        why = _gui_available()
        if why:
            for e in active:
                if e.contender == "gui":
                    rows[e.key].skipped = why
            active = [e for e in active if e.contender != "gui"]
    for e in active:
        missing = CONTENDERS[e.contender].missing()
        if missing:
            rows[e.key].skipped = f"not installed: {', '.join(missing)} (make bench-deps)"
    active = [e for e in active if rows[e.key].skipped is None]
    for e in active:
        shutil.rmtree(_data_home(work, e), ignore_errors=True)  # left by an aborted run
    _read_all(files)
    # Warm-up: a few files through every contender (bytecode caches, shared libraries). A
    # contender that fails here still runs the rounds, so its row can say how many files fail.
    warm = files[: max(2, min(len(files), 40 if scn.data.startswith("small") else 2))]
    for e in active:
        w = work / "warm"
        _clean(w)
        job = Job(
            str(in_dir),
            warm,
            str(w / "out"),
            scn.fmt,
            scn.quality,
            scn.fit,
            e.workers,
            False,
            data_home=str(_data_home(work, e)),
        )
        cmd = CONTENDERS[e.contender].command(job)
        os.makedirs(job.out_dir, exist_ok=True)
        r = run_measured(cmd.argv, env=cmd.env, stdin=cmd.stdin, cwd=str(REPO))
        if r.returncode == 3 and e.contender == "gui":
            rows[e.key].skipped = r.stderr.strip().splitlines()[-1] if r.stderr.strip() else "?"
        elif r.returncode != 0:
            rows[e.key].warmup = f"exit {r.returncode}: {_last_line(r.stderr)}"
            log(f"  {scn.key} warm-up  {e.name:<28} failed: {rows[e.key].warmup}")
    active = [e for e in active if rows[e.key].skipped is None]
    for i in range(runs):
        order = active[i % len(active) :] + active[: i % len(active)] if active else []
        for e in order:
            r = _run_once(scn, e, files, str(in_dir), work)
            n_failed = len(files) - int(r.extra.get("outputs") or 0)
            ok = r.returncode == 0 and n_failed == 0
            rec = {
                "seconds": round(r.seconds, 4),
                "cpu_seconds": round(r.cpu_seconds, 3),
                "main_rss_mb": r.main_rss_mb,
                "worker_rss_mb": r.worker_rss_mb,
                "returncode": r.returncode,
                "failed_files": n_failed,
                **r.extra,
            }
            row = rows[e.key]
            if not ok:
                rec["stderr"] = r.stderr.strip()[-600:]
                row.failed_files = max(row.failed_files or 0, n_failed)
                row.failed = f"{n_failed}/{len(files)} files failed (exit {r.returncode})" + (
                    f": {_last_line(r.stderr)}" if _last_line(r.stderr) else ""
                )
            row.runs.append(rec)
            status = "" if ok else f"  FAILED {n_failed}/{len(files)} files, exit {r.returncode}"
            others = _others_text(rec)
            log(
                f"  {scn.key} round {i + 1}/{runs}  {e.name:<28} {r.seconds:7.2f} s{others}{status}"
            )
        # A contender that converted nothing at all is not run again: nothing to time.
        active = [e for e in active if not _failed_everything(rows[e.key], len(files))]
    _quality(scn, files, work, rows, [e for e in scn.entries if rows[e.key].runs])
    _summarise(scn, files, rows)
    return rows


#: Scenario U's rows per entry: (phase, label). "first" converts everything once.
UPDATE_PHASES = (
    ("first", "first run, empty folder"),
    ("noop", "nothing changed"),
    ("touched", "{n} sources changed"),
)


def _update_key(entry: Entry, phase: str) -> str:
    return f"{entry.key}:{phase}"


def run_update(
    scn: Scenario, data_root: Path, runs: int, work_root: Path, log: Any
) -> dict[str, RowResult]:
    """Scenario U: every entry converts a private copy of the scenario's sources once with
    --update, then each round times, per entry (order rotated), an --update run with nothing
    changed, edits `touched` random sources (the same for every entry) and times one more.
    Each run's JSON report is checked (update_runs.check_report): a run that converted
    anything else than it should is kept in its row but not timed, and the row says why."""
    work = work_root / scn.key
    _clean(work)
    src = work / "src"
    shutil.copytree(data_root / scn.data, src)  # copies: the shared data is never edited
    files = _scenario_files(src)
    n = len(files)
    touched_n = max(1, min(TOUCHED, n // 10))
    entries = [e for e in scn.entries if e.contender in ("pixmill", "experiment")]
    rows: dict[str, RowResult] = {}
    for e in entries:
        for phase, label in UPDATE_PHASES:
            key = _update_key(e, phase)
            rows[key] = RowResult(key, f"{e.name}: {label.format(n=touched_n)}")
    _read_all(files)

    def run(e: Entry, phase: str, i: int, converted: list[str]) -> None:
        slug = e.key.replace("@", "-w")
        report = work / f"{slug}.report.json"
        report.unlink(missing_ok=True)
        job = Job(
            str(src),
            files,
            str(work / f"out-{slug}"),  # kept: what the next --update compares with
            scn.fmt,
            scn.quality,
            scn.fit,
            e.workers,
            report=str(report),
            data_home=str(_data_home(work, e)),
        )
        cmd = with_update(CONTENDERS[e.contender].command(job))
        busy = _busy_seconds()
        r = run_measured(cmd.argv, env=cmd.env, stdin=cmd.stdin, cwd=str(REPO))
        rec: dict[str, Any] = {
            "round": i,
            "seconds": round(r.seconds, 4),
            "cpu_seconds": round(r.cpu_seconds, 3),
            "main_rss_mb": r.main_rss_mb,
            "worker_rss_mb": r.worker_rss_mb,
            "returncode": r.returncode,
            "expected_converted": len(converted),
            **_machine(r, busy),
        }
        try:
            doc = json.loads(report.read_text())
        except (OSError, ValueError):
            doc = None
        if doc is None:
            check = "wrote no report"
        else:
            summary = doc.get("summary", {})
            rec.update(
                converted=summary.get("ok"),
                skipped=summary.get("skipped"),
                failed_files=summary.get("failed", 0),
                batch_s=summary.get("seconds"),
            )
            check = check_report(doc, n, converted)
        row = rows[_update_key(e, phase)]
        if check:
            rec["check"] = check
        if r.returncode != 0 or check:
            rec["stderr"] = r.stderr.strip()[-600:]
            why = check or f"exit {r.returncode}: {_last_line(r.stderr)}"
            row.failed = f"{'first run' if phase == 'first' else f'round {i}'}: {why}"
        row.runs.append(rec)
        status = "" if _good(rec) else f"  FAILED: {check or f'exit {r.returncode}'}"
        when = f"round {i}/{runs}" if i else "first run"
        log(f"  U {when:<11} {row.label:<44} {r.seconds:7.2f} s{_others_text(rec)}{status}")

    for e in entries:
        run(e, "first", 0, files)
    for i in range(runs):
        order = entries[i % len(entries) :] + entries[: i % len(entries)]
        for e in order:
            run(e, "noop", i + 1, [])
        changed = pick(files, touched_n, seed=1300 + i)
        touch_sources(changed)
        for e in order:
            run(e, "touched", i + 1, changed)
    _summarise(scn, files, rows)
    for row in rows.values():
        if row.summary:
            row.summary["files"] = n
            row.summary["expected_converted"] = row.runs[0]["expected_converted"]
    return rows


# --- scenario Q: quality targets (issue 14) ---------------------------------------------------
def _q_key(entry: Entry, row: quality_targets.QRow) -> str:
    return f"{entry.key}:{row.key}"


def run_quality(
    scn: Scenario, data_root: Path, runs: int, work_root: Path, log: Any
) -> tuple[dict[str, RowResult], dict[str, Any]]:
    """Scenario Q: each row of quality_targets.QROWS is one `pixmill convert` of the whole
    batch; after an untimed warm-up of each on two files, the rows run interleaved (order
    rotated every round), each on a clean output folder, with --report. Then the last round's
    outputs are scored by the bench (quality_targets.analyse): the fixed row's scores, a check
    of the reported ones, and the fixed quality the whole batch needs for the high target.
    Returns the rows and that analysis."""
    in_dir = data_root / scn.data
    files = _scenario_files(in_dir)
    n = len(files)
    work = work_root / scn.key
    _clean(work)
    entry = scn.entries[0]
    qrows = quality_targets.QROWS
    rows = {_q_key(entry, r): RowResult(_q_key(entry, r), r.label) for r in qrows}
    reports: dict[str, dict[str, dict[str, Any]]] = {}  # row key -> the last round's records
    _read_all(files)

    def command(row: quality_targets.QRow, batch: list[str], out: Path, report: Path | None):
        job = Job(
            str(in_dir),
            batch,
            str(out),
            row.fmt,
            scn.quality,
            scn.fit,
            entry.workers,
            use_dir=len(batch) == n,
            report=str(report) if report else None,
            data_home=str(work / f"xdg-{row.key}"),  # one journal per row, kept over rounds
        )
        cmd = with_quality_target(CONTENDERS[entry.contender].command(job), row.target)
        return type(cmd)([*cmd.argv, *row.extra], cmd.stdin, cmd.env)

    for row in qrows:
        out = work / "warm"
        _clean(out)
        cmd = command(row, files[:2], out, None)
        r = run_measured(cmd.argv, env=cmd.env, stdin=cmd.stdin, cwd=str(REPO))
        if r.returncode != 0:
            rows[_q_key(entry, row)].warmup = f"exit {r.returncode}: {_last_line(r.stderr)}"
            log(f"  Q warm-up  {row.label:<28} failed: {rows[_q_key(entry, row)].warmup}")
    for i in range(runs):
        order = list(qrows[i % len(qrows) :] + qrows[: i % len(qrows)])
        for row in order:
            key = _q_key(entry, row)
            out = work / f"out-{row.key}"
            _clean(out)
            report = work / f"{row.key}.report.json"
            report.unlink(missing_ok=True)
            cmd = command(row, files, out, report)
            busy = _busy_seconds()
            r = run_measured(cmd.argv, env=cmd.env, stdin=cmd.stdin, cwd=str(REPO))
            rec: dict[str, Any] = {
                "seconds": round(r.seconds, 4),
                "cpu_seconds": round(r.cpu_seconds, 3),
                "main_rss_mb": r.main_rss_mb,
                "worker_rss_mb": r.worker_rss_mb,
                "returncode": r.returncode,
                **_machine(r, busy),
            }
            try:
                records = quality_targets.read_report(str(report))
                rec["batch_s"] = json.loads(report.read_text())["summary"]["seconds"]
            except (OSError, ValueError, KeyError):
                records = {}
            stats = quality_targets.file_stats(records.values())
            rec.update(stats)
            rec["failed_files"] = n - stats["converted"]
            reports[key] = records
            rows[key].runs.append(rec)
            status = ""
            if not _good(rec):
                rec["stderr"] = r.stderr.strip()[-600:]
                rows[key].failed_files = max(rows[key].failed_files or 0, rec["failed_files"])
                rows[key].failed = (
                    f"{rec['failed_files']}/{n} files failed (exit {r.returncode})"
                    + (f": {_last_line(r.stderr)}" if _last_line(r.stderr) else "")
                )
                status = f"  FAILED {rec['failed_files']}/{n} files, exit {r.returncode}"
            log(
                f"  Q round {i + 1}/{runs}  {row.label:<28} {r.seconds:7.2f} s  "
                f"{stats['bytes_out'] / 1e6:6.2f} MB{_others_text(rec)}{status}"
            )
    _summarise(scn, files, rows)
    fixed = rows[_q_key(entry, qrows[0])]
    for row in qrows:
        res = rows[_q_key(entry, row)]
        good = [r for r in res.runs if _good(r)]
        if not good:
            continue
        last = good[-1]
        s = res.summary
        s["per_photo_s"] = s["median_s"] / n
        s["ms_per_file"] = _median([r["ms_sum"] / n for r in good])
        for k in ("bytes_out", "formats", "quality_range", "kept_original"):
            s[k] = last[k]
        s["bytes_varied"] = len({r["bytes_out"] for r in good}) > 1
        s["score_min"], s["score_mean"] = last["score_min"], last["score_mean"]
        s["score_source"] = "report" if last["score_min"] is not None else None
        res.output_bytes, res.outputs = last["bytes_out"], last["converted"]
        ratios = [
            r["seconds"] / f["seconds"]
            for r, f in zip(res.runs, fixed.runs, strict=False)
            if _good(r) and _good(f)
        ]
        s["time_vs_fixed"] = _median(ratios)
        s["files"] = {  # the last round's records, per source
            name: {k: rec.get(k) for k in ("format", "quality", "score", "bytes_out", "ms")}
            for name, rec in reports.get(res.entry, {}).items()
        }
    t0 = time.monotonic()
    outputs = {
        row.key: {
            name: rec["target"]
            for name, rec in reports.get(_q_key(entry, row), {}).items()
            if rec.get("status") == "ok" and rec.get("target") and os.path.exists(rec["target"])
        }
        for row in qrows
    }
    high = quality_targets.quality_targets()["high"]
    assert scn.fit is not None
    analysis = quality_targets.analyse(files, outputs, scn.fit, high)
    _q_apply_analysis(rows, entry, reports, analysis)
    analysis["seconds"] = round(time.monotonic() - t0, 1)
    log(f"  Q scored the outputs and searched the common quality in {analysis['seconds']:.0f} s")
    return rows, analysis


def _q_apply_analysis(
    rows: dict[str, RowResult],
    entry: Entry,
    reports: dict[str, dict[str, dict[str, Any]]],
    analysis: dict[str, Any],
) -> None:
    """The bench's own scores into the rows: the fixed row's min and mean (it reports none),
    and for every row the largest difference between a reported score and the bench's."""
    photos = analysis["photos"]
    for row in quality_targets.QROWS:
        res = rows[_q_key(entry, row)]
        own = {n: p["scores"][row.key] for n, p in photos.items() if row.key in p["scores"]}
        if not own or not res.summary:
            continue
        s = res.summary
        s["bench_score_min"] = min(own.values())
        s["bench_score_mean"] = statistics.fmean(own.values())
        if s.get("score_min") is None:
            s["score_min"], s["score_mean"] = s["bench_score_min"], s["bench_score_mean"]
            s["score_source"] = "bench"
        diffs = [
            abs(rec["score"] - own[name])
            for name, rec in reports.get(res.entry, {}).items()
            if rec.get("score") is not None and name in own
        ]
        if diffs:
            s["score_check_max_diff"] = max(diffs)
            s["score_check_n"] = len(diffs)
        samplings: dict[str, int] = {}
        for p in photos.values():
            sub = p["sampling"].get(row.key)
            if sub:
                samplings[sub] = samplings.get(sub, 0) + 1
        s["jpeg_sampling"] = dict(sorted(samplings.items()))
        full = [p["full_scores"][row.key] for p in photos.values() if row.key in p["full_scores"]]
        if full:
            s["full_decode_score_min"] = min(full)
            s["full_decode_score_mean"] = statistics.fmean(full)
    high = rows.get(f"{entry.key}:high")
    if high is not None and high.summary:
        high.summary["common"] = analysis["common"]
        high.summary["pillow_fixed_bytes"] = analysis["pillow_fixed_bytes"]


def format_quality_table(
    scn: Scenario, rows: dict[str, RowResult], n_files: int, analysis: dict[str, Any]
) -> str:
    """Scenario Q: one line per row, then the checks, the common quality and auto's pick."""
    head = (
        f"{'pixmill convert ...':<24} {'median s':>8} {'s/photo':>7} {'x fixed':>7} "
        f"{'ms/file':>7} {'CPU s':>6} {'worker MB':>9} {'out MB':>7} {'bytes x':>7} "
        f"{'score min':>9} {'mean':>5}  {'quality':>7}  formats"
    )
    lines = [f"== {scn.key}. {scn.title}  ({n_files} files)", head, "-" * len(head)]
    by_key = {k.split(":", 1)[1]: r for k, r in rows.items()}
    fixed = by_key.get("fixed")
    fixed_bytes = fixed.summary.get("bytes_out") if fixed and fixed.summary else None
    for row in by_key.values():
        s = row.summary
        if not s:
            lines.append(f"{row.label:<24} {_failure_text(row, n_files)}")
            continue
        ratio = s["bytes_out"] / fixed_bytes if fixed_bytes else None
        mark = "*" if s.get("score_source") == "bench" else " "
        qr = s.get("quality_range")
        q = "-" if not qr else str(qr[0]) if qr[0] == qr[1] else f"{qr[0]}-{qr[1]}"
        formats = ", ".join(f"{f} {c}" for f, c in s.get("formats", {}).items())
        sampling = s.get("jpeg_sampling") or {}
        if sampling.get("4:4:4"):
            formats += f" ({sampling['4:4:4']} at 4:4:4)"
        lines.append(
            f"{row.label:<24} {s['median_s']:8.2f} {s['per_photo_s']:7.3f} "
            f"{_fmt(s.get('time_vs_fixed'), '6.2f', '     -')}x {_fmt(s['ms_per_file'], '7.0f')} "
            f"{_fmt(s['cpu_s'], '6.1f')} {_fmt(s['worker_rss_mb'], '9.0f')} "
            f"{s['bytes_out'] / 1e6:7.2f} {_fmt(ratio, '6.3f', '     -')}x "
            f"{_fmt(s.get('score_min'), '8.2f')}{mark} {_fmt(s.get('score_mean'), '5.1f')}  "
            f"{q:>7}  {formats}"
        )
        if row.failed:
            lines.append(f"{'':<24} (not timed: {_failure_text(row, n_files)})")
        elif row.warmup:
            lines.append(f"{'':<24} (the warm-up failed: {row.warmup})")
    lines.append(
        "  x fixed: median of per-round time ratios to the fixed row; ms/file: the report's "
        "per-file time (in the worker); bytes x: against the fixed row; score: SSIMULACRA2 "
        "from the report (* computed by the bench: the fixed row reports none)"
    )
    checks = [
        (r.label, r.summary["score_check_max_diff"], r.summary["score_check_n"])
        for r in by_key.values()
        if r.summary.get("score_check_n")
    ]
    if checks:
        worst = max(checks, key=lambda c: c[1])
        total = sum(c[2] for c in checks)
        lines.append(
            f"  reference check: the bench's scores (its render of Pixmill's resize) agree with "
            f"the {total} reported ones to {worst[1]:.4f} at most ({worst[0]})"
        )
    full = [
        f"{r.label} min {r.summary['full_decode_score_min']:.2f} "
        f"(mean {r.summary['full_decode_score_mean']:.1f})"
        for r in by_key.values()
        if r.summary.get("full_decode_score_min") is not None
    ]
    if full:
        lines.append(
            "  against a full decode + one Lanczos resize instead (no scaled JPEG decode): "
            + "; ".join(full)
        )
    high = by_key.get("high")
    hs = high.summary if high else {}
    target = analysis.get("target")
    per = analysis.get("photos", {})
    for sub, common in analysis.get("common", {}).items():
        q = common["quality"]
        own = [p["own_quality"][sub] for p in per.values()]
        reached = [v for v in own if v is not None]
        spread = f"each photo's own lowest q{min(reached)}-q{max(reached)}" if reached else ""
        if q is None:
            never = [name for name, p in per.items() if p["own_quality"][sub] is None]
            lines.append(
                f"  one fixed quality for every photo to reach {target:g} (Pillow, "
                f"libjpeg-turbo {sub}): none up to 100, {', '.join(never)} never reaches it"
                + (f" ({spread})" if spread else "")
            )
            continue
        vs = hs["bytes_out"] / common["bytes"] if hs.get("bytes_out") else None
        lines.append(
            f"  one fixed quality for every photo to reach {target:g} (Pillow, libjpeg-turbo "
            f"{sub}): q{q}, {common['bytes'] / 1e6:.2f} MB (min score "
            f"{common['min_score']:.2f}; {spread}); the high target row is "
            f"{_fmt(vs, '.3f')}x of it"
        )
    pillow85 = analysis.get("pillow_fixed_bytes")
    if pillow85 and fixed_bytes:
        lines.append(
            f"  Pillow q{quality_targets.FIXED_QUALITY} of the same renders (no metadata): "
            f"{pillow85 / 1e6:.2f} MB, the fixed row {fixed_bytes / 1e6:.2f} MB; high target "
            f"against it: {_fmt(hs.get('bytes_out', 0) / pillow85, '.3f')}x"
        )
    auto = by_key.get("auto")
    singles = [
        by_key[k] for k in quality_targets.SINGLE_FORMATS if k in by_key and by_key[k].summary
    ]
    if auto and auto.summary and singles:
        best = min(singles, key=lambda r: r.summary["bytes_out"])
        a = auto.summary["bytes_out"]
        lines.append(
            f"  auto: {a / 1e6:.2f} MB against the best single format for the batch "
            f"({best.label}, {best.summary['bytes_out'] / 1e6:.2f} MB) = "
            f"{a / best.summary['bytes_out']:.3f}x"
        )
    rss = [
        f"{r.label} {r.summary['worker_rss_mb']:.0f} MB"
        for k, r in by_key.items()
        if k in ("fixed", "high", "auto") and r.summary.get("worker_rss_mb")
    ]
    if rss:
        lines.append("  worker peak RSS (largest over rounds): " + ", ".join(rss))
    varied = [r.label for r in by_key.values() if r.summary.get("bytes_varied")]
    if varied:
        lines.append(f"  output bytes differed between rounds: {', '.join(varied)} (last shown)")
    lines.append(
        f"  the bench's scoring and search took {analysis.get('seconds', 0):.0f} s (untimed)"
    )
    lines.append(_machine_text(rows))
    if scn.note:
        lines.append(f"  {scn.note}")
    return "\n".join(lines)


def _busy_seconds() -> float | None:
    """CPU seconds the whole machine has spent busy (every core, every process), from the
    first line of /proc/stat; None where there is none."""
    try:
        with open("/proc/stat") as f:
            fields = [int(v) for v in f.readline().split()[1:9]]
    except (OSError, ValueError):
        return None
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def _machine(r: RunResult, busy_before: float | None) -> dict[str, Any]:
    """How busy the machine was during run r: the CPU other processes used meanwhile (the
    machine's busy CPU time less the run's own, in cores: 0.5 is half a core taken from the
    contender all along), and the load average (1 min, the run's processes included) and
    CPU pressure (10 s) as it ended."""
    busy_after = _busy_seconds()
    others = None
    if busy_before is not None and busy_after is not None and r.seconds > 0:
        others = round(max(0.0, busy_after - busy_before - r.cpu_seconds) / r.seconds, 3)
    return {
        "others_cores": others,
        "load_1m": round(os.getloadavg()[0], 2),
        "cpu_pressure_10s": _cpu_pressure("avg10"),
    }


def _others_text(rec: dict[str, Any]) -> str:
    others = rec.get("others_cores")
    return "" if others is None else f"  (others: {others:.2f} cores)"


def _machine_text(rows: dict[str, RowResult]) -> str:
    """One line: how much CPU other processes took during the scenario's runs (median and
    most), and the range of the load average."""
    runs = [r for row in rows.values() for r in row.runs]
    others = [r["others_cores"] for r in runs if r.get("others_cores") is not None]
    load = [r["load_1m"] for r in runs if r.get("load_1m") is not None]
    if not others or not load:
        return "  machine: -"
    return (
        f"  machine: other processes used {statistics.median(others):.2f} cores during a run "
        f"(median; most {max(others):.2f}); load average {min(load):.2f}-{max(load):.2f} "
        "as runs ended (this benchmark's processes included)"
    )


def _good(run: dict[str, Any]) -> bool:
    """A timed round: exit status 0, every file converted (U: its check passed)."""
    return run["returncode"] == 0 and not run.get("failed_files") and not run.get("check")


def _failed_everything(row: RowResult, n_files: int) -> bool:
    return bool(row.runs) and all(r.get("failed_files") == n_files for r in row.runs)


def _output_path(work: Path, entry_key: str, source: str, fmt: str) -> str:
    stem = os.path.splitext(os.path.basename(source))[0]
    return str(work / entry_key.replace("@", "-w") / (stem + EXT[fmt]))


def _quality(
    scn: Scenario, files: list[str], work: Path, rows: dict[str, RowResult], active: list[Entry]
) -> None:
    """Output sizes against Pixmill's (where Pixmill wrote none, against the fit of the
    source's displayed size: what every contender should write), and SSIM on a sample."""
    base = scn.baseline
    dims_files = files
    if scn.dims_sample and len(files) > scn.dims_sample:
        step = len(files) / scn.dims_sample
        dims_files = [files[int(i * step)] for i in range(scn.dims_sample)]
    base_dims: dict[str, tuple[int, int] | None] = {}
    expected = 0
    for f in dims_files:
        base_dims[f] = quality.output_size(_output_path(work, base, f, scn.fmt))
        if base_dims[f] is None:
            base_dims[f] = quality.expected_size(f, scn.fit)
            expected += 1
    reference = (
        "Pixmill's output"
        if not expected
        else "the fit of each source's displayed size (Pixmill wrote no output)"
        if expected == len(dims_files)
        else f"Pixmill's output, or the source's fit for the {expected} files it failed"
    )
    if scn.ssim_spread and scn.ssim_sample and len(files) > scn.ssim_sample:
        step = len(files) / scn.ssim_sample
        sample = [files[int(i * step)] for i in range(scn.ssim_sample)]
    else:
        sample = files[: scn.ssim_sample]
    for e in active:
        row = rows[e.key]
        folder = work / e.key.replace("@", "-w")
        if not folder.exists():
            continue
        names = [n for n in os.listdir(folder) if n.endswith(EXT[scn.fmt])]
        row.outputs = len(names)
        row.output_bytes = sum(os.path.getsize(folder / n) for n in names)
        mismatch = checked = 0
        for f in dims_files:
            got = quality.output_size(_output_path(work, e.key, f, scn.fmt))
            if got is None:
                continue  # a failed file: counted in failed_files
            checked += 1
            if got != base_dims[f]:
                mismatch += 1
        row.dims_mismatch, row.dims_checked = mismatch, checked
        row.dims_reference = reference
        if sample:
            row.ssim = quality.mean_ssim((f, _output_path(work, e.key, f, scn.fmt)) for f in sample)


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def _summarise(scn: Scenario, files: list[str], rows: dict[str, RowResult]) -> None:
    base = rows.get(scn.baseline)
    for row in rows.values():
        good = [r for r in row.runs if _good(r)]
        if not good:
            continue
        secs = [r["seconds"] for r in good]
        med = _median(secs)
        s: dict[str, Any] = {
            "runs": len(good),
            "median_s": med,
            "min_s": min(secs),
            "max_s": max(secs),
            "images_per_s": len(files) / med if med else None,
            "cpu_s": _median([r["cpu_seconds"] for r in good]),
            "main_rss_mb": max((r["main_rss_mb"] or 0) for r in good) or None,
            "worker_rss_mb": max((r["worker_rss_mb"] or 0) for r in good) or None,
        }
        batch = [r["batch_s"] for r in good if "batch_s" in r]
        if batch:
            s["batch_median_s"] = _median(batch)
        gaps = [r["max_gap_ms"] for r in good if "max_gap_ms" in r]
        if gaps:
            s["max_gap_ms"] = max(gaps)
            worst = max((r for r in good if "max_gap_ms" in r), key=lambda r: r["max_gap_ms"])
            if worst.get("longest_gaps"):
                s["longest_gaps"] = worst["longest_gaps"]
                s["longest_gaps_sched"] = worst.get("longest_gaps_sched")
        if base is not None and base.runs:
            # Per-round ratio contender time / Pixmill time: how many times faster Pixmill is.
            ratios = [
                r["seconds"] / b["seconds"]
                for r, b in zip(row.runs, base.runs, strict=False)
                if _good(r) and _good(b)
            ]
            s["pixmill_speedup"] = _median(ratios)
        row.summary = s
    for row in rows.values():
        if row.summary and row.entry.startswith("pixmill_nosync@"):
            durable = rows.get(row.entry.replace("pixmill_nosync@", "pixmill@"))
            cost = _durable_ratios(durable, row)
            if cost:
                row.summary["durable_ratio"] = _median(cost)
                row.summary["durable_rounds"] = len(cost)


def _durable_ratios(durable: RowResult | None, no_sync: RowResult) -> list[float]:
    """Per round: the default (durable) Pixmill's time / the --no-sync run's, both timed."""
    if durable is None:
        return []
    return [
        d["seconds"] / f["seconds"]
        for d, f in zip(durable.runs, no_sync.runs, strict=False)
        if _good(d) and _good(f)
    ]


# --- output -------------------------------------------------------------------------------
def _fmt(v: Any, spec: str, none: str = "-") -> str:
    return none if v is None else format(v, spec)


def format_table(scn: Scenario, rows: dict[str, RowResult], n_files: int) -> str:
    head = (
        f"{'contender':<28} {'img/s':>7} {'median s':>8} {'Pixmill x':>9} {'CPU s':>6} "
        f"{'main MB':>7} {'worker MB':>9} {'out MB':>7} {'sizes':>7} {'SSIM':>6}"
    )
    lines = [f"== {scn.key}. {scn.title}  ({n_files} files)", head, "-" * len(head)]
    for row in rows.values():
        if row.skipped:
            lines.append(f"{row.label:<28} skipped: {row.skipped}")
            continue
        s = row.summary
        if not s:
            lines.append(f"{row.label:<28} {_failure_text(row, n_files)}")
            continue
        sizes = "-"
        if row.dims_checked:
            sizes = "same" if row.dims_mismatch == 0 else f"{row.dims_mismatch} diff"
        out_mb = row.output_bytes / 1e6 if row.output_bytes is not None else None
        lines.append(
            f"{row.label:<28} {_fmt(s['images_per_s'], '7.1f')} {_fmt(s['median_s'], '8.2f')} "
            f"{_fmt(s.get('pixmill_speedup'), '8.2f', '       -')}x {_fmt(s['cpu_s'], '6.1f')} "
            f"{_fmt(s['main_rss_mb'], '7.0f')} {_fmt(s['worker_rss_mb'], '9.0f')} "
            f"{_fmt(out_mb, '7.1f')} {sizes:>7} {_fmt(row.ssim, '6.4f')}"
        )
        if row.failed:
            lines.append(f"{'':<28} (not timed: {_failure_text(row, n_files)})")
        elif row.warmup:
            lines.append(f"{'':<28} (the warm-up failed: {row.warmup})")
    for row in rows.values():
        ratio = row.summary.get("durable_ratio")
        durable = rows.get(row.entry.replace("pixmill_nosync@", "pixmill@"))
        if ratio is None or durable is None:
            continue
        d, f = durable.summary, row.summary
        lines.append(
            f"  durable publish: {durable.label} / {row.label} = {ratio:.3f}x "
            f"({(ratio - 1) * 100:+.1f} %), median of {f['durable_rounds']} per-round ratios; "
            f"medians {d['median_s']:.2f} s / {f['median_s']:.2f} s, "
            f"CPU {d['cpu_s']:.1f} / {f['cpu_s']:.1f} s"
        )
    refs = {r.dims_reference for r in rows.values() if r.dims_checked and r.dims_reference}
    if refs - {"Pixmill's output"}:
        lines.append(f"  sizes: compared with {' / '.join(sorted(refs))}")
    lines.append(_machine_text(rows))
    if scn.note:
        lines.append(f"  {scn.note}")
    extra = [r for r in rows.values() if "batch_median_s" in r.summary or "max_gap_ms" in r.summary]
    for row in extra:
        s = row.summary
        bits = []
        if "batch_median_s" in s:
            what = (
                "Start pressed to batchFinished"
                if row.entry.startswith("gui")
                else "runner start to report (--report summary)"
            )
            bits.append(f"batch time, {what}: median {s['batch_median_s']:.2f} s")
        if "max_gap_ms" in s:
            bits.append(f"longest 10 ms-timer gap {s['max_gap_ms']:.0f} ms")
        if s.get("longest_gaps"):
            sched = s.get("longest_gaps_sched") or [None] * len(s["longest_gaps"])
            top = ", ".join(
                f"{g:.0f} ms at {at:.1f} s"
                + (f" (ran {rw[0]:.0f}, waited for a CPU {rw[1]:.0f})" if rw else "")
                for (g, at), rw in zip(s["longest_gaps"], sched, strict=False)
            )
            bits.append(
                f"longest gaps after Start, with the GUI thread's ms on a CPU and runnable "
                f"but waiting for one in each: {top}"
            )
        think = [r.get("think_s") for r in row.runs if r.get("think_s")]
        if think:
            bits.append(f"process time includes {think[0]:g} s before Start")
        lines.append(f"  {row.label}: " + ", ".join(bits))
    return "\n".join(lines)


def format_update_table(scn: Scenario, rows: dict[str, RowResult], n_files: int) -> str:
    """Scenario U: per run kind, wall time of the whole CLI (median, min, max over rounds),
    CPU, the runner's own batch time, what the report says, and the check."""
    head = (
        f"{'run (pixmill convert ... --update)':<44} {'median s':>8} {'min s':>6} {'max s':>6} "
        f"{'CPU s':>6} {'main MB':>7} {'batch s':>7} {'converted':>9} {'skipped':>7}  check"
    )
    lines = [f"== {scn.key}. {scn.title}  ({n_files} files)", head, "-" * len(head)]
    for row in rows.values():
        s = row.summary
        last = row.runs[-1] if row.runs else {}
        bad = [r for r in row.runs if not _good(r)]
        check = (
            "no run"
            if not row.runs
            else f"ok ({len(row.runs)} run{'s' if len(row.runs) > 1 else ''})"
            if not bad
            else f"FAILED in {len(bad)} of {len(row.runs)}"
        )
        if not s:
            lines.append(
                f"{row.label:<44} {'-':>8} {'':>6} {'':>6} {'':>6} {'':>7} {'':>7}"
                f" {_fmt(last.get('converted'), ',d'):>9} "
                f"{_fmt(last.get('skipped'), ',d'):>7}  {check}"
            )
        else:
            lines.append(
                f"{row.label:<44} {s['median_s']:8.2f} {s['min_s']:6.2f} {s['max_s']:6.2f} "
                f"{_fmt(s['cpu_s'], '6.2f')} {_fmt(s['main_rss_mb'], '7.0f')} "
                f"{_fmt(s.get('batch_median_s'), '7.3f')} {_fmt(last.get('converted'), ',d'):>9} "
                f"{_fmt(last.get('skipped'), ',d'):>7}  {check}"
            )
        if row.failed:
            lines.append(f"{'':<44} ({row.failed})")
    lines.append(
        "  batch s: runner start to report (--report summary); converted and skipped: "
        "the last run's report"
    )
    lines.append(_machine_text(rows))
    if scn.note:
        lines.append(f"  {scn.note}")
    return "\n".join(lines)


def _failure_text(row: RowResult, n_files: int) -> str:
    """FAILED, how many files in which rounds, exit status and the end of stderr."""
    bad = [r for r in row.runs if not _good(r)]
    if not bad:
        return f"failed: {row.failed or row.warmup or 'no round ran'}"
    counts = sorted({r.get("failed_files", 0) for r in bad})
    count = str(counts[0]) if len(counts) == 1 else f"{counts[0]}-{counts[-1]}"
    codes = ", ".join(str(c) for c in sorted({r["returncode"] for r in bad}))
    rounds = (
        f"{len(bad)} of {len(row.runs)} rounds"
        if len(bad) < len(row.runs)
        else ("its only round" if len(bad) == 1 else f"all {len(bad)} rounds")
    )
    tail = _last_line(bad[-1].get("stderr", ""), 200)
    text = f"FAILED {count}/{n_files} files in {rounds} (exit {codes})"
    return text + (f": {tail}" if tail else "")


def _paired(
    all_rows: dict[str, dict[str, RowResult]], scn: str, key: str, subject: str
) -> float | None:
    """Median over rounds of (time of key) / (time of subject): subject's speed-up over key."""
    rows = all_rows.get(scn, {})
    a, b = rows.get(key), rows.get(subject)
    if not a or not b or not a.runs or not b.runs or a.skipped or b.skipped:
        return None
    pairs = [
        x["seconds"] / y["seconds"]
        for x, y in zip(a.runs, b.runs, strict=False)
        if _good(x) and _good(y)
    ]
    return statistics.median(pairs) if pairs else None


def evaluate_goals(
    all_rows: dict[str, dict[str, RowResult]], w: int, subject: str = "pixmill"
) -> list[dict[str, Any]]:
    """The issue's goals for subject ("pixmill", or "experiment" for an engine copy)."""
    goals: list[dict[str, Any]] = []
    name = "Pixmill" if subject == "pixmill" else "experiment"
    me = f"{subject}@{w}"

    def add(
        goal: str, value: float | None, target: float | None, higher: bool, unit: str = "x"
    ) -> None:
        """target None: reported, no goal."""
        if value is None or target is None:
            ok = None
        else:
            ok = value >= target if higher else value <= target
        goals.append(
            {
                "subject": subject,
                "goal": goal,
                "value": value,
                "target": target,
                "higher_is_better": higher,
                "unit": unit,
                "ok": ok,
            }
        )

    def sp(scn: str, other: str) -> float | None:
        return _paired(all_rows, scn, f"{other}@{w}", me)

    def durable_cost(scn: str, target: float | None) -> None:
        """Issue 13: what durable publish costs, Pixmill's default against its own --no-sync
        run in the same rounds, in percent of the --no-sync time."""
        if subject == "pixmill":
            ratio = _paired(all_rows, scn, me, f"pixmill_nosync@{w}")
            cost = None if ratio is None else (ratio - 1) * 100
            add(f"{scn}: durable vs --no-sync, time cost", cost, target, False, "%")

    add(f"A: {name} vs naive script", sp("A", "naive"), 2.5, True)
    add(f"A: {name} vs vipsthumbnail", sp("A", "vips"), 1.4, True)
    add(f"A: {name} vs ImageMagick", sp("A", "magick"), 4.0, True)
    tuned = sp("A", "tuned")
    add(f"A: {name} time / tuned Pillow time", 1 / tuned if tuned else None, 1.05, False)
    durable_cost("A", 3.0)
    for s in ("B", "C"):
        add(f"{s}: {name} vs libvips", sp(s, "vips"), 1.0, True)
        add(f"{s}: {name} vs ImageMagick", sp(s, "magick"), 1.0, True)
    d = all_rows.get("D", {}).get(me)
    ds = d.summary if d else {}
    add(f"D: {name} files/s", ds.get("images_per_s"), 1000, True, "files/s")
    add(f"D: {name} main process peak RSS", ds.get("main_rss_mb"), 200, False, "MB")
    durable_cost("D", None)
    add(
        f"E: {name} {w} workers vs 1 worker", _paired(all_rows, "E", f"{subject}@1", me), 1.85, True
    )
    if subject == "pixmill":
        f = all_rows.get("F", {}).get(f"gui@{w}")
        fs = f.summary if f else {}
        add("F: GUI Start-to-done / CLI run", _gui_vs_cli(all_rows, w), 1.05, False)
        add("F: longest event-loop stall", fs.get("max_gap_ms"), MAX_GAP_MS, False, "ms")
    many = all_rows.get("D+", {}).get(me)
    ms = many.summary if many else {}
    d_rate, many_rate = ds.get("images_per_s"), ms.get("images_per_s")
    add(f"D+: {name} files/s", many_rate, None, True, "files/s")
    add(
        f"D+: {name} files/s at 100k vs at 10k (D)",
        many_rate / d_rate if many_rate and d_rate else None,
        MANY_LINEAR,
        True,
    )
    add(f"D+: {name} main process peak RSS", ms.get("main_rss_mb"), MANY_RSS_MB, False, "MB")
    if subject == "pixmill":
        for key in ("W", "W+"):
            row = all_rows.get(key, {}).get(f"gui@{w}")
            rs = row.summary if row else {}
            add(f"{key}: longest event-loop stall", rs.get("max_gap_ms"), MAX_GAP_MS, False, "ms")
            add(
                f"{key}: results table and counts, every file",
                None if not row or not row.runs else float(all(_good(r) for r in row.runs)),
                1.0,
                True,
                "(1 = right)",
            )
    u = all_rows.get("U", {})
    noop = u.get(f"{me}:noop")
    n = (noop.summary.get("files") if noop else None) or 10000
    files = f"{n // 1000}k" if n >= 1000 and n % 1000 == 0 else f"{n:,}"
    add(
        f"U: {name} --update with nothing to do, {files} files",
        noop.summary.get("median_s") if noop else None,
        1.0,
        False,
        "s",
    )
    touched = u.get(f"{me}:touched")
    k = touched.summary.get("expected_converted") if touched and touched.summary else TOUCHED
    add(
        f"U: {name} --update after {k} sources changed, {files} files",
        touched.summary.get("median_s") if touched else None,
        None,
        False,
        "s",
    )
    if subject == "pixmill":
        for goal in quality_goals(all_rows.get("Q", {}), me):
            add(*goal)
    return goals


def quality_goals(rows: dict[str, RowResult], me: str) -> list[tuple[Any, ...]]:
    """Issue 14's goals from scenario Q's rows, as evaluate_goals' add() arguments: (goal,
    value, target or None for reported only, higher is better, unit)."""

    def s(key: str) -> dict[str, Any]:
        row = rows.get(f"{me}:{key}")
        return row.summary if row and row.summary else {}

    def ratio(a: float | None, b: float | None) -> float | None:
        return a / b if a is not None and b else None

    fixed, high, auto = s("fixed"), s("high"), s("auto")
    singles = [s(k).get("bytes_out") for k in quality_targets.SINGLE_FORMATS]
    best = min((b for b in singles if b), default=None) if all(singles) else None
    try:
        target = quality_targets.quality_targets()["high"]
    except (ImportError, KeyError):
        target = None
    return [
        (
            f"Q: high target, bytes vs fixed q{quality_targets.FIXED_QUALITY}",
            ratio(high.get("bytes_out"), fixed.get("bytes_out")),
            0.75,
            False,
            "x",
        ),
        ("Q: high target, every output >= target", high.get("score_min"), target, True, "score"),
        ("Q: high target, time per photo vs fixed", high.get("time_vs_fixed"), 3.0, False, "x"),
        (
            "Q: high target, CPU seconds vs fixed",
            ratio(high.get("cpu_s"), fixed.get("cpu_s")),
            None,
            False,
            "x",
        ),
        (
            "Q: high target, worker ms per file vs fixed",
            ratio(high.get("ms_per_file"), fixed.get("ms_per_file")),
            None,
            False,
            "x",
        ),
        (
            "Q: auto balanced bytes vs best single format",
            ratio(auto.get("bytes_out"), best),
            1.0,
            False,
            "x",
        ),
        (
            "Q: worker peak RSS, target vs fixed",
            ratio(high.get("worker_rss_mb"), fixed.get("worker_rss_mb")),
            None,
            False,
            "x",
        ),
        (
            "Q: worker peak RSS, auto vs fixed",
            ratio(auto.get("worker_rss_mb"), fixed.get("worker_rss_mb")),
            None,
            False,
            "x",
        ),
    ] + [
        goal
        for sub, c in (high.get("common") or {}).items()
        for goal in (
            (
                f"Q: fixed quality every photo would need for the high target, {sub}",
                c.get("quality"),
                None,
                False,
                "quality (Pillow, libjpeg-turbo)",
            ),
            (
                f"Q: high target bytes vs that fixed quality's, {sub}",
                ratio(high.get("bytes_out"), c.get("bytes")),
                None,
                False,
                "x",
            ),
        )
    ]


def _gui_vs_cli(all_rows: dict[str, dict[str, RowResult]], w: int) -> float | None:
    """What a user waits: from pressing Start to the finished report in the window, against
    the whole `pixmill convert` run (process start to exit), paired per round."""
    rows = all_rows.get("F", {})
    gui, cli = rows.get(f"gui@{w}"), rows.get(f"pixmill@{w}")
    if not gui or not cli or gui.skipped:
        return None
    pairs = [
        g["batch_s"] / c["seconds"]
        for g, c in zip(gui.runs, cli.runs, strict=False)
        if "batch_s" in g and _good(g) and _good(c)
    ]
    return statistics.median(pairs) if pairs else None


def format_goals(goals: list[dict[str, Any]]) -> str:
    lines = ["== Goals (issues 5, 13, 14 and 19), from the medians of this run"]
    if not goals:
        lines.append("  (none: the issues set goals for scenarios A-F, U and Q only)")
    for g in goals:
        val = "-" if g["value"] is None else f"{g['value']:.2f}"
        if g["unit"].startswith("quality") and g["value"] is not None:
            val = f"{g['value']:.0f}"  # an encoder quality: a whole number
        if g["target"] is None:
            lines.append(f"  [info] {g['goal']}: {val} {g['unit']} (reported, no goal)")
            continue
        mark = {True: "PASS", False: "FAIL", None: "n/a "}[g["ok"]]
        cmp_ = ">=" if g["higher_is_better"] else "<="
        if g["value"] is not None and val == f"{g['target']:.2f}":
            val = f"{g['value']:.3f}"  # a FAIL must not print the goal's own number
        lines.append(f"  [{mark}] {g['goal']}: {val} {g['unit']} (goal {cmp_} {g['target']:g})")
    return "\n".join(lines)


def _cpu_pressure(window: str = "avg60") -> float | None:
    """Linux PSI: share of the last minute (window "avg10": ten seconds) in which some
    runnable task waited for a CPU."""
    try:
        with open("/proc/pressure/cpu") as f:
            for line in f:
                if line.startswith("some"):
                    return float(line.split(f"{window}=")[1].split()[0])
    except (OSError, IndexError, ValueError):
        pass
    return None


def _versions() -> dict[str, Any]:
    def out(argv: list[str]) -> str:
        try:
            return subprocess.run(argv, capture_output=True, text=True).stdout.strip()
        except OSError:
            return "missing"

    def deb(package: str) -> str:
        return out(["dpkg-query", "-W", "-f", "${Version}", package]) or "missing"

    pil = out([PYTHON, "-c", "import PIL; print(PIL.__version__)"])
    plugins = out(
        [
            PYTHON,
            "-c",
            "import pillow_heif, rawpy; print(pillow_heif.__version__, "
            "pillow_heif.libheif_version(), '.'.join(map(str, rawpy.libraw_version)))",
        ]
    ).split()
    sources = ["engine", "gui", "packaging/pixmill"]
    if os.environ.get("BENCH_GIT", "1") == "0":
        commit, dirty = "not read (BENCH_GIT=0)", None
    else:
        commit = out(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"])
        dirty = out(["git", "-C", str(REPO), "status", "--porcelain", "--", *sources])
    return {
        "python": out([PYTHON, "-c", "import sys; print(sys.version.split()[0])"]),
        "pillow": pil,
        "libvips": out(["vips", "--version"]),
        "imagemagick": out(["/usr/bin/convert", "-version"]).splitlines()[:1],
        "pillow_heif": plugins[0] if len(plugins) == 3 else "missing",
        "libheif_in_pillow_heif": plugins[1] if len(plugins) == 3 else "missing",
        "libraw_in_rawpy": plugins[2] if len(plugins) == 3 else "missing",
        "libheif_debian": deb("libheif1"),
        "libraw_bin_debian": deb("libraw-bin"),
        "darktable": (out([DARKTABLE_CLI, "--version"]).splitlines() or ["missing"])[0],
        "pixmill": PIXMILL,
        "commit": commit,
        "engine_or_gui_modified": None if dirty is None else bool(dirty),
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
    }


def _newest_source() -> str | None:
    """The engine's most recently modified .py file and its time (UTC): compared at the end
    of a run, it tells whether someone changed the engine while the rounds ran."""
    try:
        newest = max((REPO / "engine").rglob("*.py"), key=lambda p: p.stat().st_mtime)
    except (ValueError, OSError):
        return None
    when = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(newest.stat().st_mtime))
    return f"{newest.relative_to(REPO)} {when}"


def _compile_bytecode() -> None:
    """Write the .pyc files an installed Pixmill ships with (pip compiles on install,
    PyInstaller bundles them). A checkout run with PYTHONDONTWRITEBYTECODE, as on CI machines,
    would otherwise compile every engine module from source in the main process and again
    in every worker, a cost no user pays. The Pillow scripts' helpers get the same."""
    folders = [REPO / "engine", REPO / "gui", Path(__file__).resolve().parent]
    if EXPERIMENT:
        folders.append(Path(EXPERIMENT) / "engine")
    for folder in folders:
        if folder.is_dir():
            compileall.compile_dir(str(folder), quiet=1, maxlevels=0)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    env_quick = os.environ.get("BENCH_QUICK", "") not in ("", "0")
    ap.add_argument("--runs", type=int, default=None, help="rounds per scenario (median)")
    ap.add_argument("--quick", action="store_true", default=env_quick, help="smoke run")
    ap.add_argument(
        "--scenarios",
        default=os.environ.get("BENCH_SCENARIOS", ALL_SCENARIOS),
        help=f"comma-separated keys out of {ALL_SCENARIOS} (H, R, P: HEIC and RAW input; "
        "D+, W, W+: 100,000 and 20,000 small files, issue 19)",
    )
    ap.add_argument("--workers", type=int, default=int(os.environ.get("BENCH_WORKERS", 2)))
    ap.add_argument(
        "--contenders",
        default=os.environ.get("BENCH_CONTENDERS", ""),
        help="only these contender keys, e.g. pixmill,experiment,tuned (default: all)",
    )
    ap.add_argument("--results", type=Path, default=RESULTS)
    args = ap.parse_args(argv)
    runs = args.runs or int(os.environ.get("BENCH_RUNS", 1 if args.quick else 3))
    data_root = DATA / "quick" if args.quick else DATA
    if not (DATA / "stamp.json").exists():
        print("no benchmark data: run `make bench-data` (build_data.py) first", file=sys.stderr)
        return 2
    wanted = {s.strip().upper() for s in args.scenarios.split(",") if s.strip()}
    chosen = [s for s in scenarios(args.workers) if s.key in wanted]
    if args.contenders:
        keep = {c.strip() for c in args.contenders.split(",")} | {"pixmill"}
        chosen = [
            Scenario(
                **{**s.__dict__, "entries": tuple(e for e in s.entries if e.contender in keep)}
            )
            for s in chosen
        ]
    args.results.mkdir(parents=True, exist_ok=True)
    _compile_bytecode()
    work_root = args.results / ".work"
    stamp = time.strftime("%Y%m%d-%H%M%S")

    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    log(
        f"benchmark: {runs} round(s) per scenario, {args.workers} workers, "
        f"{'quick' if args.quick else 'full'} data, load average {os.getloadavg()[0]:.2f}"
    )
    busy = _cpu_pressure()
    if os.getloadavg()[0] > 0.5 or (busy or 0) > 10:
        log(
            f"warning: the machine is busy (load average {os.getloadavg()[0]:.2f}, CPU pressure "
            f"{busy if busy is not None else '?'}%): absolute times are unreliable; compare "
            "the per-round ratios and the CPU seconds"
        )
    t0 = time.monotonic()
    all_rows: dict[str, dict[str, RowResult]] = {}
    tables = []
    doc: dict[str, Any] = {
        "started": stamp,
        "runs": runs,
        "quick": args.quick,
        "workers": args.workers,
        "load_average_start": os.getloadavg(),
        "engine_newest_file_start": _newest_source(),
        "cpu_pressure_avg60_start": busy,
        "versions": _versions(),
        "scenarios": {},
    }
    for scn in chosen:
        if not (data_root / scn.data).is_dir():
            why = f"no data in {data_root / scn.data} (make bench-data; H, R, P need the corpus)"
            table = f"== {scn.key}. {scn.title}\n  skipped: {why}"
            tables.append(table)
            print(table + "\n", flush=True)
            doc["scenarios"][scn.key] = {"title": scn.title, "skipped": why}
            continue
        n_files = len(_scenario_files(data_root / scn.data))
        rounds = runs if args.quick else max(runs, MIN_ROUNDS.get(scn.key, 1))
        analysis = None
        if scn.key == "U":
            rows = run_update(scn, data_root, rounds, work_root, log)
            table = format_update_table(scn, rows, n_files)
        elif scn.key == "Q":
            rows, analysis = run_quality(scn, data_root, rounds, work_root, log)
            table = format_quality_table(scn, rows, n_files, analysis)
        else:
            rows = run_scenario(scn, data_root, rounds, work_root, log)
            table = format_table(scn, rows, n_files)
        all_rows[scn.key] = rows
        tables.append(table)
        print(table + "\n", flush=True)
        doc["scenarios"][scn.key] = {
            "title": scn.title,
            "rounds": rounds,
            "files": n_files,
            "baseline": scn.baseline,
            "note": scn.note,
            "rows": {k: asdict(v) for k, v in rows.items()},
        }
        if analysis is not None:
            doc["scenarios"][scn.key]["analysis"] = analysis
    goals = evaluate_goals(all_rows, args.workers)
    if EXPERIMENT:
        goals += evaluate_goals(all_rows, args.workers, "experiment")
    ran = {s.key for s in chosen}
    goals = [g for g in goals if g["goal"].split(":")[0] in ran]
    goal_text = format_goals(goals)
    print(goal_text)
    doc["goals"] = goals
    doc["load_average_end"] = os.getloadavg()
    doc["engine_newest_file_end"] = _newest_source()
    if doc["engine_newest_file_end"] != doc["engine_newest_file_start"]:
        log(
            "warning: engine/ changed during this run (newest file "
            f"{doc['engine_newest_file_start']} -> {doc['engine_newest_file_end']}): the rounds "
            "may have timed different code"
        )
    doc["cpu_pressure_avg60_end"] = _cpu_pressure()
    doc["seconds"] = round(time.monotonic() - t0, 1)
    notes = (
        "Pixmill x = contender time / Pixmill time, median of per-round ratios (above 1: "
        "Pixmill is faster). CPU s: user+system seconds of the whole process tree. Peak RSS "
        "from /proc VmHWM. libvips, ImageMagick, dcraw_emu, darktable and the rawpy loop run one "
        "thread per process (libheif's grid-tile threads excepted). SSIM: luma vs full decode "
        "(RAW: rawpy with camera white balance) + Lanczos, on a sample. Load average "
        f"{doc['load_average_start'][0]:.2f} at the start, "
        f"{doc['load_average_end'][0]:.2f} at the end; CPU pressure (avg60) "
        f"{doc['cpu_pressure_avg60_start']}% / {doc['cpu_pressure_avg60_end']}%."
    )
    print(notes)
    text = "\n\n".join(tables + [goal_text, notes]) + "\n"
    out_json = args.results / f"bench-{stamp}.json"
    out_json.write_text(json.dumps(doc, indent=2) + "\n")
    shutil.copyfile(out_json, args.results / "latest.json")
    (args.results / "latest.txt").write_text(text)
    shutil.rmtree(work_root, ignore_errors=True)
    log(f"wrote {out_json} ({doc['seconds']:.0f} s, load average {os.getloadavg()[0]:.2f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
