"""The contenders: how each one is invoked for a scenario, as a command line to time.

Every contender gets the same pool size (processes x 1 thread: libvips and ImageMagick are
held to one thread per process so that "2 workers" means two cores' worth for everyone), the
same output size and the same encoder quality.

Camera RAW (scenarios R and P): LibRaw's `dcraw_emu` develops each file with the camera's white
balance and its defaults (AHD, sRGB, 8 bits) and pipes the PPM into libvips' `thumbnail_source`
(Lanczos, never enlarges) which writes the JPEG; darktable-cli exports with its default
(scene-referred) pipeline. Both run one process per file under `xargs -P`, one OpenMP thread
each. ImageMagick has no RAW reader of its own here (it wants dcraw/ufraw as delegates).
"""

from __future__ import annotations

import hashlib
import math
import os
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
VENV_BIN = Path(os.environ.get("BENCH_VENV_BIN", str(REPO / ".venv" / "bin")))
PYTHON = str(VENV_BIN / "python") if (VENV_BIN / "python").exists() else sys.executable
PIXMILL = str(VENV_BIN / "pixmill")
VIPSTHUMBNAIL = "/usr/bin/vipsthumbnail"
VIPS = "/usr/bin/vips"
MOGRIFY = "/usr/bin/mogrify"  # the real ImageMagick, not a stand-in earlier on PATH
DCRAW_EMU = "/usr/bin/dcraw_emu"  # LibRaw's dcraw emulator (Debian libraw-bin)
DARKTABLE_CLI = "/usr/bin/darktable-cli"
#: darktable's configuration folders, one per xargs slot (two darktables may not share one):
#: created on the first run and kept, as a user's would be.
DARKTABLE_CONF = Path(tempfile.gettempdir()) / f"pixmill-bench-darktable-{os.getuid()}"

EXT = {"jpeg": ".jpg", "webp": ".webp", "png": ".png"}


@dataclass(frozen=True)
class Job:
    """One timed batch: inputs (a folder, and its files), output folder and recipe."""

    in_dir: str
    files: Sequence[str]
    out_dir: str
    fmt: str
    quality: int
    fit: tuple[int, int] | None
    workers: int
    use_dir: bool = True  # pass the folder (scanning included) rather than the file list
    report: str | None = None  # where Pixmill's CLI writes its JSON report
    gui_json: str | None = None  # where the GUI driver writes its measurements
    #: XDG_DATA_HOME for Pixmill (its batch journal goes to DATA_HOME/Pixmill): a folder in
    #: the benchmark's work folder, never the user's ~/.local/share. None: the caller's.
    data_home: str | None = None


@dataclass(frozen=True)
class Command:
    argv: list[str]
    stdin: bytes | None = None
    env: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Contender:
    key: str
    label: str
    build: object  # Callable[[Job], Command]; object keeps the dataclass frozen-hashable
    note: str = ""
    needs: tuple[str, ...] = ()  # programs it runs; a missing one skips its rows

    def command(self, job: Job) -> Command:
        return self.build(job)  # type: ignore[operator]

    def missing(self) -> list[str]:
        return [p for p in self.needs if not os.access(p, os.X_OK)]


def _inputs(job: Job) -> list[str]:
    return [job.in_dir] if job.use_dir else list(job.files)


def _null_list(files: Sequence[str]) -> bytes:
    return b"".join(os.fsencode(f) + b"\0" for f in files)


def _chunk(job: Job, per_worker: int = 4, cap: int = 1000) -> int:
    """Files per tool invocation: about per_worker chunks per worker, to balance the load
    while paying each tool's start-up only a few times."""
    return max(1, min(cap, math.ceil(len(job.files) / (job.workers * per_worker))))


def _pixmill_env(job: Job) -> dict[str, str]:
    """Where Pixmill keeps its journal: job.data_home, when the runner gave one."""
    return {"XDG_DATA_HOME": job.data_home} if job.data_home else {}


def pixmill_cli(job: Job) -> Command:
    """`pixmill convert` with its defaults: durable publish (each output's data fsync'ed
    before its name appears, the output folder fsync'ed at the batch's end) and the journal."""
    argv = [PIXMILL, "convert", *_inputs(job), "-o", job.out_dir, "--format", job.fmt]
    argv += ["--quality", str(job.quality), "--workers", str(job.workers)]
    if job.fit:
        argv += ["--fit", f"{job.fit[0]}x{job.fit[1]}"]
    argv += ["--on-conflict", "overwrite", "--quiet"]
    if job.report:
        argv += ["--report", job.report]
    return Command(argv, env=_pixmill_env(job))


def pixmill_no_sync(job: Job) -> Command:
    """The same run with --no-sync: no fsync at all, so the pair measures durable publish."""
    cmd = pixmill_cli(job)
    return Command([*cmd.argv, "--no-sync"], env=cmd.env)


def with_update(cmd: Command) -> Command:
    """A Pixmill command (CLI or experiment) as an incremental run (scenario U)."""
    return Command([*cmd.argv, "--update"], cmd.stdin, cmd.env)


def with_quality_target(cmd: Command, target: str | None) -> Command:
    """A Pixmill command (scenario Q) choosing each image's quality for a SSIMULACRA2 target
    (engine/recipe.py QUALITY_TARGETS) instead of its fixed --quality; None: unchanged."""
    if target is None:
        return cmd
    argv = list(cmd.argv)
    if "--quality" in argv:
        i = argv.index("--quality")
        del argv[i : i + 2]
    return Command([*argv, "--quality-target", target], cmd.stdin, cmd.env)


#: A private copy of the engine (a folder holding engine/) to measure a proposed change side by
#: side with the real one: BENCH_EXPERIMENT=/tmp/pixmill-exp adds a "Pixmill (experiment)" row.
EXPERIMENT = os.environ.get("BENCH_EXPERIMENT", "")


def experiment_root(folder: str) -> str:
    """The folder to put first on sys.path so that `pixmill.engine` is the copy in folder.

    The package is installed in editable mode: `pixmill` is a namespace package and the
    editable finder maps `pixmill.engine` to the checkout's engine/. A path entry holding a
    bare engine/ is never consulted for `pixmill.engine` (the checkout's engine was run
    instead, silently); one holding pixmill/engine/ adds a portion to the namespace that is
    searched first. So folder itself when it holds pixmill/engine/, else a folder beside the
    benchmark's temp files whose pixmill/engine links to folder/engine."""
    src = Path(folder).resolve()
    if (src / "pixmill" / "engine").is_dir():
        return str(src)
    key = hashlib.sha256(str(src).encode()).hexdigest()[:12]
    root = Path(tempfile.gettempdir()) / f"pixmill-bench-experiment-{os.getuid()}-{key}"
    link = root / "pixmill" / "engine"
    if not link.is_symlink() or link.resolve() != src / "engine":
        link.parent.mkdir(parents=True, exist_ok=True)
        link.unlink(missing_ok=True)
        link.symlink_to(src / "engine", target_is_directory=True)
    return str(root)


#: Run by the experiment contender: put the copy first and check that it is what gets imported
#: (else exit 1 saying so: a row that silently timed the checkout would be worse than none).
_EXPERIMENT_BOOT = (
    "import os, sys; root = sys.argv.pop(1); sys.path.insert(0, root)\n"
    "import pixmill.engine\n"
    "if not os.path.abspath(pixmill.engine.__file__).startswith(root + os.sep):\n"
    "    sys.exit(f'experiment: pixmill.engine came from {pixmill.engine.__file__}, not {root}')\n"
    "from pixmill.engine.cli import main; sys.exit(main(sys.argv[1:]))"
)


def pixmill_experiment(job: Job) -> Command:
    """Pixmill's CLI with engine/ imported from EXPERIMENT (see experiment_root). Spawned
    workers inherit the parent's sys.path, so they run the copy too."""
    cmd = pixmill_cli(job)
    root = experiment_root(EXPERIMENT)
    return Command([PYTHON, "-c", _EXPERIMENT_BOOT, root, *cmd.argv[1:]], env=cmd.env)


def pixmill_gui(job: Job) -> Command:
    argv = [PYTHON, str(HERE / "gui_driver.py"), *_inputs(job), "-o", job.out_dir]
    argv += ["--format", job.fmt, "--quality", str(job.quality), "--workers", str(job.workers)]
    if job.fit:
        argv += ["--fit", f"{job.fit[0]}x{job.fit[1]}"]
    if job.gui_json:
        argv += ["--json", job.gui_json]
    if job.files:  # check that the window's table and counts show every file converted
        argv += ["--expect", str(len(job.files))]
    env = {"QT_QPA_PLATFORM": os.environ.get("BENCH_QT_PLATFORM", "offscreen")}
    return Command(argv, env={**env, **_pixmill_env(job)})


def _pillow_script(script: str, extra: Sequence[str] = (), env: dict[str, str] | None = None):
    def build(job: Job) -> Command:
        argv = [PYTHON, str(HERE / script), *_inputs(job), "-o", job.out_dir]
        argv += ["--format", job.fmt, "--quality", str(job.quality)]
        argv += ["--workers", str(job.workers), *extra]
        if job.fit:
            argv += ["--fit", f"{job.fit[0]}x{job.fit[1]}"]
        return Command(argv, env=dict(env or {}))

    return build


def pixmill_raw_preview(job: Job) -> Command:
    """Pixmill with the camera's embedded JPEG preview instead of a demosaic, when the file
    has one."""
    cmd = pixmill_cli(job)
    return Command([*cmd.argv, "--raw-preview"], env=cmd.env)


def vips(job: Job) -> Command:
    env = {"VIPS_CONCURRENCY": "1"}
    q = f"[Q={job.quality}]" if job.fmt in ("jpeg", "webp") else ""
    ext = EXT[job.fmt]
    if job.fit is None and job.fmt != "png":
        # A plain re-encode: `vips copy` per file is libvips' cheapest way (vipsthumbnail
        # would add a colour pipeline for nothing).
        script = f'exec {VIPS} copy "$1" "{job.out_dir}/$(basename "${{1%.*}}"){ext}{q}"'
        argv = ["xargs", "-0", "-P", str(job.workers), "-n", "1", "sh", "-c", script, "sh"]
        return Command(argv, _null_list(job.files), env)
    size = f"{job.fit[0]}x{job.fit[1]}" if job.fit else "100000x100000>"
    argv = ["xargs", "-0", "-P", str(job.workers), "-n", str(_chunk(job))]
    argv += [VIPSTHUMBNAIL, "--size", size, "-o", f"{job.out_dir}/%s{ext}{q}"]
    return Command(argv, _null_list(job.files), env)


def imagemagick(job: Job) -> Command:
    env = {"MAGICK_THREAD_LIMIT": "1"}
    argv = ["xargs", "-0", "-P", str(job.workers), "-n", str(_chunk(job))]
    argv += [MOGRIFY, "-path", job.out_dir]
    if job.fit:
        argv += ["-resize", f"{job.fit[0]}x{job.fit[1]}"]
    if job.fmt != "png":
        argv += ["-quality", str(job.quality)]
    argv += ["-format", EXT[job.fmt].lstrip(".")]
    return Command(argv, _null_list(job.files), env)


def _per_file(job: Job, script: str, env: dict[str, str]) -> Command:
    """script (bash, "$1" the input, "$OUT" the output folder) once per file, job.workers at a
    time; a failed file fails the batch (xargs exits 123) but never stops the others."""
    argv = ["xargs", "-0", "-P", str(job.workers), "-n", "1", "--process-slot-var=SLOT"]
    argv += ["bash", "-c", "set -o pipefail; " + script, "bash"]
    return Command(argv, _null_list(job.files), {"OUT": job.out_dir, **env})


def _stem_out(job: Job) -> str:
    return f'"$OUT/$(basename "${{1%.*}}"){EXT[job.fmt]}"'


def dcraw_vips(job: Job) -> Command:
    """dcraw_emu -w (camera white balance, AHD, sRGB, 8-bit PPM) to stdout, then libvips'
    thumbnail_source: the same Lanczos fit as vipsthumbnail, no intermediate file."""
    q = f"[Q={job.quality}]" if job.fmt in ("jpeg", "webp") else ""
    w, h = job.fit or (100000, 100000)
    out = _stem_out(job)[:-1] + q + '"'
    script = (
        f'{DCRAW_EMU} -w -Z - "$1" | {VIPS} thumbnail_source "[descriptor=0]" {out} {w} '
        f"--height {h} --size down"
    )
    return _per_file(job, script, {"OMP_NUM_THREADS": "1", "VIPS_CONCURRENCY": "1"})


def darktable(job: Job) -> Command:
    """darktable-cli with its default processing (scene-referred: filmic, exposure, highlight
    reconstruction) at high quality (full-size pipeline, then downscale), JPEG at the scene's
    quality. One configuration folder per xargs slot."""
    w, h = job.fit or (0, 0)
    conf = f'"{DARKTABLE_CONF}/slot$SLOT"'
    script = (
        f'mkdir -p {conf} && {DARKTABLE_CLI} "$1" {_stem_out(job)} --width {w} --height {h} '
        f"--hq true --core --configdir {conf} --library :memory: "
        f"--conf plugins/imageio/format/jpeg/quality={job.quality} "
        "--conf write_sidecar_files=never >/dev/null"
    )
    return _per_file(job, script, {"OMP_NUM_THREADS": "1"})


CONTENDERS = {
    c.key: c
    for c in (
        Contender("pixmill", "Pixmill CLI", pixmill_cli, "durable publish (the default)"),
        Contender(
            "pixmill_nosync",
            "Pixmill CLI --no-sync",
            pixmill_no_sync,
            "no fsync: against the default row it gives the cost of durable publish",
        ),
        Contender("experiment", "Pixmill (experiment)", pixmill_experiment, EXPERIMENT),
        Contender("gui", "Pixmill GUI", pixmill_gui, "offscreen Qt, driven through MainWindow"),
        Contender("naive", "naive Pool.map", _pillow_script("naive_pool.py")),
        Contender("tuned", "tuned Pillow", _pillow_script("tuned_pillow.py")),
        Contender(
            "tuned_spawn",
            "tuned Pillow (spawn)",
            _pillow_script("tuned_pillow.py", ("--start-method", "spawn")),
            "same as tuned, with Pixmill's spawn start method",
        ),
        Contender(
            "naive_heif",
            "naive Pool.map +pillow-heif",
            _pillow_script("naive_pool.py", ("--heif",)),
            "the naive script with pillow-heif's opener registered",
        ),
        Contender(
            "tuned_heif",
            "tuned Pillow +pillow-heif",
            _pillow_script("tuned_pillow.py", ("--heif",)),
            "the tuned loop with pillow-heif's opener registered",
        ),
        Contender(
            "pixmill_preview",
            "Pixmill CLI --raw-preview",
            pixmill_raw_preview,
            "the camera's embedded JPEG preview where there is one",
        ),
        Contender(
            "tuned_raw",
            "tuned rawpy + Pillow",
            _pillow_script("tuned_rawpy.py", env={"OMP_NUM_THREADS": "1"}),
            "rawpy postprocess(use_camera_wb) + Lanczos, OMP_NUM_THREADS=1",
        ),
        Contender("vips", "libvips", vips, "xargs -P, VIPS_CONCURRENCY=1"),
        Contender(
            "dcraw",
            "LibRaw dcraw_emu | vips",
            dcraw_vips,
            "dcraw_emu -w -Z - | vips thumbnail_source, xargs -P, 1 thread each",
            (DCRAW_EMU, VIPS),
        ),
        Contender(
            "darktable",
            "darktable-cli",
            darktable,
            "default pipeline, --hq true, xargs -P, OMP_NUM_THREADS=1",
            (DARKTABLE_CLI,),
        ),
        Contender("magick", "ImageMagick mogrify", imagemagick, "xargs -P, MAGICK_THREAD_LIMIT=1"),
    )
}
