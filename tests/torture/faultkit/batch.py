"""Running one batch under a fault, through the runner API or the CLI, and checking it.

ApiRun drives engine.runner.BatchRunner in this process; CliRun drives `pixmill convert` in
a subprocess (its own session, so SIGINT can go to the whole process group like Ctrl-C).
Both record every process the batch started, the moments files started and finished, and
end with the invariant checks of faultkit.invariants.
"""

from __future__ import annotations

import contextlib
import io
import json
import multiprocessing.resource_tracker as mp_rt
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PIL import Image

from pixmill.engine.events import BatchListener
from pixmill.engine.job import Job
from pixmill.engine.plan import plan
from pixmill.engine.recipe import QUALITY_TARGETS, Recipe, Resize
from pixmill.engine.runner import BatchRunner

from . import invariants, procs
from .invariants import Expect, key

PIXMILL = os.path.join(os.path.dirname(sys.executable), "pixmill")


def mark(kind: str) -> str:
    """The file-name marker PIXMILL_FAULTS matches for a fault kind ('@slow@' ...): it
    cannot occur in a temp folder's path by accident, unlike a plain word."""
    return f"@{kind}@"


def faults(*kinds: str) -> str:
    """PIXMILL_FAULTS value for these kinds, e.g. faults('slow', 'hang')."""
    return ",".join(f"{k}:{mark(k)}" for k in kinds)


def is_marked(path: str, kind: str) -> bool:
    return mark(kind) in os.path.basename(path)


SIGKILL = signal.SIGKILL


# --- inputs ----------------------------------------------------------------------------------
_CACHE: dict[tuple[Any, ...], bytes] = {}


def image_bytes(fmt: str, w: int, h: int, seed: int = 0, mode: str = "RGB") -> bytes:
    """A photo-like image encoded as fmt (cached: trials reuse the same few hundred)."""
    k = (fmt, w, h, seed, mode)
    if k not in _CACHE:
        rng = np.random.default_rng(seed)
        y, x = np.mgrid[0:h, 0:w].astype(np.float32)
        arr = np.stack(
            [
                128 + 100 * np.sin(x / max(1.0, w / 6.0) + seed),
                128 + 100 * np.cos(y / max(1.0, h / 5.0)),
                128 + 60 * np.sin((x + y) / max(1.0, w / 9.0)),
            ],
            axis=-1,
        ) + rng.normal(0, 10, (h, w, 3))
        im = Image.fromarray(arr.clip(0, 255).astype(np.uint8))
        if mode != "RGB":
            im = im.convert(mode)
        buf = io.BytesIO()
        kw: dict[str, Any] = {"quality": 90} if fmt in ("JPEG", "WEBP") else {}
        im.save(buf, format=fmt, **kw)
        _CACHE[k] = buf.getvalue()
    return _CACHE[k]


_EXT = {
    "JPEG": ".jpg",
    "PNG": ".png",
    "WEBP": ".webp",
    "TIFF": ".tif",
    "BMP": ".bmp",
    "GIF": ".gif",
}


def make_batch(
    folder: str,
    rng: random.Random,
    small: int = 10,
    medium: int = 3,
    slow: int = 3,
    prefix: str = "",
) -> list[str]:
    """Write a mixed batch: small images of every main format, a few medium photos (so a
    write takes long enough to be hit), and files marked @slow@ (PIXMILL_FAULTS slow:@slow@
    makes them take a second, so faults land mid-task). Some go into a subfolder."""
    paths = []
    fmts = list(_EXT)
    for i in range(small + medium + slow):
        fmt = fmts[i % len(fmts)] if i < small else rng.choice(["JPEG", "PNG"])
        if i < small:
            w, h = rng.randint(40, 240), rng.randint(40, 240)
            name = f"small{i:02d}"
        elif i < small + medium:
            w, h = rng.choice([(1600, 1200), (1200, 1600), (2000, 1500)])
            name = f"medium{i:02d}"
        else:
            w, h = rng.randint(100, 400), rng.randint(100, 400)
            name = f"{mark('slow')}{i:02d}"
        sub = "sub" if i % 4 == 3 else ""
        mode = "P" if fmt == "GIF" else "RGB"
        path = os.path.join(folder, sub, prefix + name + _EXT[fmt])
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(image_bytes(fmt, w, h, seed=i % 7, mode=mode))
        paths.append(path)
    return paths


#: Shapes (width : height) of make_numbered's images.
_SHAPES = ((4, 3), (3, 4), (1, 1), (16, 9), (3, 2))


def make_numbered(
    folder: str, rng: random.Random, n: int, edge: int, sub_every: int = 6
) -> list[str]:
    """Write n photo-like images with unique names (p000.jpg, p001.png, ...; every
    sub_every-th one in a subfolder "sub"): JPEG and PNG, longest side about edge pixels.
    Ten distinct images are cycled (rotated by rng), so a batch costs little to make once
    image_bytes has cached them; no name ends in '-<digits>', so a renamed output stands out."""
    offset = rng.randrange(10)
    paths = []
    for i in range(n):
        k = (i + offset) % 10
        a, b = _SHAPES[k % len(_SHAPES)]
        scale = (edge - 7 * k) / max(a, b)
        fmt = "PNG" if k in (2, 5, 8) else "JPEG"
        sub = "sub" if i % sub_every == sub_every - 1 else ""
        path = os.path.join(folder, sub, f"p{i:03d}{_EXT[fmt]}")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(image_bytes(fmt, int(a * scale), int(b * scale), seed=k))
        paths.append(path)
    return paths


def count_outputs(root: str) -> int:
    """Files under final names below root (hidden ones, temp files included, not counted)."""
    n = 0
    for _dirpath, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        n += sum(1 for name in files if not name.startswith("."))
    return n


FORMATS = ["webp", "png", "jpeg", "same", "gif", "tiff", "bmp"]


def random_recipe(rng: random.Random, compress: bool = False, **over: Any) -> Recipe:
    """A random recipe; compress: sometimes with a quality target, a size cap (files may then
    fail: nothing fits), keep-if-smaller or a palette PNG too."""
    rz = rng.choice(
        [
            Resize(),
            Resize("fit", width=400, height=400),
            Resize("long_edge", long_edge=900),
            Resize("percent", percent=50),
        ]
    )
    kw: dict[str, Any] = {
        "format": rng.choice(FORMATS),
        "resize": rz,
        "on_conflict": rng.choice(["rename", "skip", "overwrite"]),
    }
    if compress:
        if rng.random() < 0.25:
            kw["format"] = "auto"
        if rng.random() < 0.5:
            kw["quality_target"] = rng.choice(list(QUALITY_TARGETS))
        if rng.random() < 0.2:
            kw["max_size"] = rng.choice([20_000, 300_000])
        if rng.random() < 0.3:
            kw["skip_larger"] = True
        if rng.random() < 0.2:
            kw["png_colors"] = rng.choice([16, 256])
    kw.update(over)
    return Recipe(**kw)


def recipe_cli_args(recipe: Recipe) -> list[str]:
    """The `pixmill convert` flags that give this recipe (the subset random_recipe uses)."""
    args = ["--format", recipe.format, "--on-conflict", recipe.on_conflict]
    rz = recipe.resize
    if rz.mode == "fit":
        args += ["--fit", f"{rz.width}x{rz.height}"]
    elif rz.mode == "long_edge":
        args += ["--long-edge", str(rz.long_edge)]
    elif rz.mode == "percent":
        args += ["--scale", f"{rz.percent:g}"]
    elif rz.mode != "none":
        raise ValueError(f"no CLI flags for resize mode {rz.mode}")
    if recipe.quality_target != "off":
        args += ["--quality-target", recipe.quality_target]
    if recipe.max_size:
        args += ["--max-size", str(recipe.max_size)]
    if recipe.skip_larger:
        args.append("--skip-larger")
    if recipe.png_colors:
        args += ["--png-colors", str(recipe.png_colors)]
    return args


# --- listener --------------------------------------------------------------------------------
class Events(BatchListener):
    """Records when each file started and finished (monotonic seconds)."""

    def __init__(self) -> None:
        self.started: dict[int, float] = {}
        self.finished: dict[int, float] = {}
        self.results: dict[int, dict[str, Any]] = {}
        self.done_at: float | None = None
        self.first_start = threading.Event()
        self.any_finished = threading.Event()

    def job_started(self, index: int, source: str) -> None:
        self.started.setdefault(index, time.monotonic())
        self.first_start.set()

    def job_finished(self, result: dict[str, Any]) -> None:
        self.finished[result["index"]] = time.monotonic()
        self.results[result["index"]] = result
        self.any_finished.set()

    def batch_finished(self, report: Any) -> None:
        self.done_at = time.monotonic()


@dataclass
class Outcome:
    """One trial: what it did, what broke, how long recovery took."""

    fault: str
    violations: list[str]
    recovery: float | None = None
    seconds: float = 0.0
    note: str = ""
    seed: int = 0
    files: list[dict[str, Any]] = field(default_factory=list)
    exit_code: int | None = None
    kills: int = 0  # workers the trial actually killed (a SIGKILL that reached one)
    # Kills at chosen moments: {"run", "at" (s after that run started), "outputs", ...}.
    moments: list[dict[str, Any]] = field(default_factory=list)


@contextlib.contextmanager
def env_faults(spec: str) -> Iterator[None]:
    """Set PIXMILL_FAULTS for workers spawned inside the block."""
    old = os.environ.get("PIXMILL_FAULTS")
    if spec:
        os.environ["PIXMILL_FAULTS"] = spec
    else:
        os.environ.pop("PIXMILL_FAULTS", None)
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("PIXMILL_FAULTS", None)
        else:
            os.environ["PIXMILL_FAULTS"] = old


def _tracker_pid() -> int | None:
    return getattr(mp_rt._resource_tracker, "_pid", None)


# --- aiming faults: through the runner's test seams (BatchRunner.converting, .workers_held) -
def running_jobs(runner: BatchRunner) -> dict[int, int]:
    """pid -> index of the job that worker is converting right now."""
    return runner.converting()


_LIVE: list[ApiRun] = []


def close_all() -> None:
    """Shut down every ApiRun that was not checked (a test that failed half-way)."""
    while _LIVE:
        _LIVE.pop().close()


class ApiRun:
    """One batch through BatchRunner in this process.

    Use: r = ApiRun(inputs, out, recipe, ...); r.start(); ...fault...; r.wait();
    violations = r.check(expect_changes)."""

    def __init__(
        self,
        inputs: Sequence[str],
        out: str,
        recipe: Recipe,
        *,
        workers: int = 2,
        time_limit: float = 60.0,
        memory_limit: int | str | None = "auto",
        crash_retries: int = 1,
        faults: str = "",
        deadline: float = 120.0,
    ) -> None:
        self.inputs = list(inputs)
        self.out = out
        self.recipe = recipe
        self.faults = faults
        self.deadline = deadline
        self.runner = BatchRunner(
            workers=workers,
            time_limit=time_limit,
            crash_retries=crash_retries,
            memory_limit=memory_limit,
        )
        self.events = Events()
        self.plan = plan(self.inputs, recipe, out)
        self.jobs: list[Job] = self.plan.jobs
        roots = [p for p in {*self.inputs, out} if os.path.exists(p)]
        self.before = invariants.snapshot(roots)
        self.t0 = 0.0
        self.hung = False
        self.report: Any = None
        self._env: contextlib.ExitStack | None = None
        self._pre_children = procs.children()
        self.tracker = procs.Tracker(os.getpid())
        self.batch: Any = None
        _LIVE.append(self)

    def close(self) -> None:
        """Shut the runner down, stop sampling, restore PIXMILL_FAULTS. Idempotent."""
        self.runner.shutdown()
        self.tracker.sample()
        self.tracker.stop()
        if self._env is not None:
            self._env.close()
            self._env = None
        if self in _LIVE:
            _LIVE.remove(self)

    def start(self) -> ApiRun:
        self._env = contextlib.ExitStack()
        self._env.enter_context(env_faults(self.faults))
        self.tracker.__enter__()
        self.t0 = time.monotonic()
        self.batch = self.runner.start(self.jobs, self.events)
        return self

    def wait(self) -> Any:
        self.batch.join(self.deadline)
        if self.batch.is_alive():
            self.hung = True
            self.runner.cancel()
            self.batch.join(30)
        self.report = self.batch.report
        return self.report

    def worker_pids(self) -> list[int]:
        return self.runner.worker_pids()

    def check(self, **expect: Any) -> list[str]:
        """Shut the runner down and check every invariant. expect: Expect fields to set."""
        v = []
        if self.hung:
            v.append(f"[1] batch did not finish within {self.deadline:g} s")
        report = self.report
        tracker_pid = _tracker_pid()
        # Between batches the warm pool may live on; nothing else may (a retired pool's
        # workers are stopped in the background: give them a moment).
        time.sleep(0.05)
        deadline = time.monotonic() + 8.0
        while True:
            extra = procs.children() - self._pre_children - set(self.runner.worker_pids())
            extra.discard(tracker_pid or -1)
            if not extra or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        for pid in sorted(extra):
            who = procs.ident(pid)
            if who:
                v.append(
                    f"[4] process alive after the batch, not in the pool: {procs.describe(who)}"
                )
        self.close()
        who = {w for w in self.tracker.seen if w[0] != tracker_pid}
        who = {w for w in who if w[0] not in self._pre_children}
        ex = Expect(
            sources=[key(j.source) for j in self.jobs],
            out_dirs=[self.out],
            before=self.before,
        )
        for k, val in expect.items():
            setattr(ex, k, val)
        if report is None:
            v.append("[1] the batch ended without a report")
            v += invariants.check_processes(who)
            return v
        files = report.files
        v += invariants.check_all(files, report.summary, report.exit_code, ex, who)
        if report.cancelled and not ex.cancelled:
            v.append("[5] report says cancelled but nothing cancelled it")
        return v


class CliRun:
    """One `pixmill convert` in a subprocess."""

    def __init__(
        self,
        inputs: Sequence[str],
        out: str,
        args: Sequence[str],
        report: str,
        *,
        faults: str = "",
        preexec: Callable[[], None] | None = None,
        deadline: float = 120.0,
        workers: int = 2,
        argv: Sequence[str] | None = None,
        env: Mapping[str, str] | None = None,
        snapshot: bool = True,
    ) -> None:
        """argv: run exactly this command line instead (planning still uses inputs/args).
        env: variables to set for the CLI (e.g. its own XDG_DATA_HOME). snapshot: hash the
        inputs and outputs before the run (for check(); off for runs checked otherwise)."""
        from pixmill.engine.cli import build_parser, recipe_from_args

        self.inputs = list(inputs)
        self.out = out
        self.report_path = report
        self.argv = [
            PIXMILL,
            "convert",
            *self.inputs,
            "-o",
            out,
            "--workers",
            str(workers),
            "--report",
            report,
            "--quiet",
            *args,
        ]
        ns = build_parser().parse_args(self.argv[1:])
        self.recipe = recipe_from_args(ns)
        if argv is not None:
            self.argv = list(argv)
        self.plan = plan(self.inputs, self.recipe, os.path.abspath(out))
        roots = [p for p in {*self.inputs, out} if os.path.exists(p)]
        self.before = invariants.snapshot(roots) if snapshot else {}
        self.env = dict(os.environ)
        self.env.pop("PIXMILL_FAULTS", None)
        self.env.update(env or {})
        if faults:
            self.env["PIXMILL_FAULTS"] = faults
        self.preexec = preexec
        self.deadline = deadline
        self.hung = False
        self.exit_code: int | None = None
        self.stderr = ""
        self._pre_children = procs.children()

    def start(self) -> CliRun:
        self.t0 = time.monotonic()
        self.proc = subprocess.Popen(
            self.argv,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
            preexec_fn=self.preexec,
        )
        self.tracker = procs.Tracker(self.proc.pid).__enter__()
        return self

    def workers(self) -> list[int]:
        """pids of the CLI's pool workers right now."""
        out = []
        for pid in procs.descendants(self.proc.pid):
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    cmd = f.read()
            except OSError:
                continue
            if b"spawn_main" in cmd:
                out.append(pid)
        return out

    def signal(self, sig: int, group: bool = False) -> bool:
        """Send sig to the CLI (group: to its whole process group, like a terminal's Ctrl-C).
        False when there was nobody left to receive it (the CLI had already exited)."""
        if self.proc.poll() is not None:
            return False
        try:
            if group:
                os.killpg(self.proc.pid, sig)
            else:
                self.proc.send_signal(sig)
        except ProcessLookupError:
            return False
        return True

    def wait(self) -> int | None:
        try:
            _, err = self.proc.communicate(timeout=self.deadline)
        except subprocess.TimeoutExpired:
            self.hung = True
            self.proc.send_signal(signal.SIGINT)
            try:
                _, err = self.proc.communicate(timeout=20)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, SIGKILL)
                _, err = self.proc.communicate()
        self.exit_at = time.monotonic()
        self.stderr = err.decode(errors="replace")
        self.exit_code = self.proc.returncode
        self.tracker.stop()
        return self.exit_code

    def load_report(self) -> dict[str, Any] | None:
        try:
            with open(self.report_path, encoding="utf-8") as f:
                return json.load(f)
        except (OSError, ValueError):
            return None

    def check(self, allow_no_report: bool = False, **expect: Any) -> list[str]:
        v = []
        if self.hung:
            v.append(f"[1] pixmill did not exit within {self.deadline:g} s")
        # Orphans re-parented to us (subreaper) that the sampler never saw.
        for pid in procs.children() - self._pre_children:
            who = procs.ident(pid)
            if who and who[0] != self.proc.pid:
                self.tracker.seen.add(who)
        who = {w for w in self.tracker.seen if w[0] != self.proc.pid}
        ex = Expect(
            sources=[key(j.source) for j in self.plan.jobs],
            out_dirs=[os.path.abspath(self.out)],
            before=self.before,
            ignore={key(self.report_path)},
        )
        for k, val in expect.items():
            setattr(ex, k, val)
        data = self.load_report()
        if data is None:
            v += invariants.check_processes(who)
            interrupted = self.exit_code in (-signal.SIGINT, -signal.SIGTERM, 130) or (
                # Ctrl-C while the interpreter itself starts (site, .pth files): Python
                # prints the KeyboardInterrupt and exits 1 before any Pixmill code runs.
                self.exit_code == 1 and self.stderr.rstrip().endswith("KeyboardInterrupt")
            )
            if interrupted and ex.cancelled:
                if not allow_no_report:
                    v.append("[1] cancelled run wrote no report")
                v += invariants.check_outputs([], ex)
                v += invariants.check_sources(ex)
                return v
            v.append(f"[1] no report written (exit {self.exit_code}): {self.stderr[-300:]!r}")
            return v
        files = data.get("files", [])
        v += invariants.check_all(files, data.get("summary", {}), self.exit_code, ex, who)
        failed_lines = self.stderr.count("failed: ")
        n_failed = sum(1 for f in files if f.get("status") == "failed")
        if failed_lines < n_failed:
            v.append(f"[5] {n_failed} files failed but stderr names only {failed_lines}")
        if "Traceback" in self.stderr:
            v.append(f"[1] traceback on stderr: {self.stderr[-400:]!r}")
        return v


# --- the batch journal, as `pixmill batches` shows it ---------------------------------------
@dataclass(frozen=True)
class BatchRow:
    """One line of `pixmill batches`."""

    id: int
    state: str
    done: int
    total: int


_BATCH_LINE = re.compile(r"^\s*(\d+)\s+\d{4}-\d\d-\d\d \d\d:\d\d\s+(\w+)\s+([\d,]+)/([\d,]+)\s")


def pixmill_batches(env: Mapping[str, str] | None = None) -> tuple[list[BatchRow], str]:
    """The batches `pixmill batches` lists (newest first) with env's variables set (its
    XDG_DATA_HOME picks the journal), and a problem: "" when the command worked and every
    line was understood."""
    full = dict(os.environ)
    full.update(env or {})
    r = subprocess.run(
        [PIXMILL, "batches", "--limit", "100"],
        env=full,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )
    if r.returncode != 0:
        return [], f"`pixmill batches` exited {r.returncode}: {r.stderr.strip()[-300:]}"
    rows = []
    lines = [line for line in r.stdout.splitlines() if line.strip()]
    if lines == ["no batches yet"]:
        return [], ""
    for line in lines[1:]:
        m = _BATCH_LINE.match(line)
        if m:
            done, total = (int(g.replace(",", "")) for g in m.group(3, 4))
            rows.append(BatchRow(int(m.group(1)), m.group(2), done, total))
        elif not line.startswith("continue an interrupted batch"):
            return rows, f"`pixmill batches` printed a line not understood: {line!r}"
    return rows, ""


# --- small helpers ---------------------------------------------------------------------------
def fresh_dir(path: str) -> str:
    if os.path.lexists(path):
        shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path)
    return path


def sleep_until(t: float) -> None:
    d = t - time.monotonic()
    if d > 0:
        time.sleep(d)


def wait_for(cond: Callable[[], bool], timeout: float, interval: float = 0.005) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(interval)
    return cond()
