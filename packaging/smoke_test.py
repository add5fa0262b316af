"""Smoke test of the packaged app: install it, use it as a person would, remove it.

    python packaging/smoke_test.py --deb build/pixmill_0.1.0_amd64.deb   # Linux, as root
    python packaging/smoke_test.py --app build/dist/pixmill/pixmill      # any OS, in place
    python packaging/smoke_test.py --appimage build/Pixmill-0.1.0-x86_64.AppImage   # Linux

With --appimage: checks what the image holds (--appimage-extract: AppRun, the desktop entry,
icon and AppStream metainfo, all valid), then runs the tests below through
`APP.AppImage --appimage-extract-and-run ...`, the way a user without FUSE runs it, with its
extraction folder (TMPDIR) inside the test's work folder.

With --deb: dpkg -i, checks the installed files, runs the tests below on /usr/bin/pixmill,
then dpkg -r and dpkg -P and checks that nothing is left behind.
The tests: a real batch (JPEG, PNG with alpha, 16-bit PNG, animated GIF, TIFF, a broken file
and one file whose worker is killed mid-conversion through the engine's PIXMILL_FAULTS hook)
must report every file correctly, leave no temp files and no processes, and (Linux) run in
a CLI process and workers that never load Qt; the bundled codecs (pillow_heif, pillow_jxl,
rawpy) must import in the frozen app, with their native libraries from the app's folder, and
a HEIC, a JPEG XL and a camera RAW file (packaging/fixtures/) must convert to JPEG in frozen
pool workers; then the window must open offscreen, and on Linux with Xvfb a real window must
become visible, timed from a cold page cache as root. On Linux, started with no display (no
DISPLAY, WAYLAND_DISPLAY or QT_QPA_PLATFORM), the window must refuse in one line naming
`pixmill convert` and exit 2 before Qt loads.

The script needs Pillow (to make the inputs and read the outputs); the app under test runs
with a clean environment so it cannot borrow anything from this interpreter.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from PIL import Image

APP_ID = "io.github.pixmill.Pixmill"
CRASH_NAME = "crash-me"
# The worker sleeps a second first so the batch is visibly running when it dies (and the
# Linux check below can look inside live workers), then kills itself with SIGKILL.
FAULTS = f"slow:{CRASH_NAME},crash:{CRASH_NAME}"
LINUX = sys.platform.startswith("linux")
WINDOWS = sys.platform == "win32"

FIXTURES = Path(__file__).resolve().parent / "fixtures"
# The codec inputs (made by packaging/fixtures/make_fixtures.py): decoded size, and two sample
# points, each with the colour of its half of the picture and the colour of the other half.
RED, BLUE = (220, 40, 40), (40, 40, 220)
GREEN, MAGENTA = (40, 200, 40), (200, 40, 200)
CODEC_INPUTS = {
    "heic-64x48.heic": ((64, 48), [((8, 24), RED, BLUE), ((56, 24), BLUE, RED)]),
    "jxl-48x32.jxl": ((48, 32), [((24, 6), GREEN, MAGENTA), ((24, 26), MAGENTA, GREEN)]),
    "raw-64x48.dng": ((64, 48), [((8, 24), RED, BLUE), ((56, 24), BLUE, RED)]),
}
CODEC_MODULES = (
    "pillow_heif",
    "pillow_jxl",
    "rawpy",
    "pyjpegli",
    "mozjpeg_lossless_optimization",
    "oxipng",
    "imagequant",
    "zlib_ng",
)
# File names of the codecs' native libraries (Linux): each must be loaded from the app's folder.
CODEC_LIBS = {
    "pillow_heif": ("libheif", "libde265", "libx265"),
    "pillow_jxl": ("pillow_jxl.",),
    "rawpy": ("libraw_r", "libgomp", "libjasper", "libscipy_openblas"),
}
ALL_CODEC_LIBS = tuple(lib for libs in CODEC_LIBS.values() for lib in libs)

INSTALLED = [
    "/opt/pixmill/pixmill",
    "/usr/bin/pixmill",
    "/usr/bin/pixmill-gui",
    f"/usr/share/applications/{APP_ID}.desktop",
    f"/usr/share/metainfo/{APP_ID}.metainfo.xml",
    f"/usr/share/icons/hicolor/16x16/apps/{APP_ID}.png",
    f"/usr/share/icons/hicolor/512x512/apps/{APP_ID}.png",
    f"/usr/share/icons/hicolor/scalable/apps/{APP_ID}.svg",
    "/usr/share/doc/pixmill/copyright",
    "/opt/pixmill/_internal/licenses/THIRD-PARTY-NOTICES.txt",
]


@dataclasses.dataclass
class Watch:
    """What the memory maps of the app's processes showed while a batch ran."""

    workers: set[int] = dataclasses.field(default_factory=set)
    with_qt: set[int] = dataclasses.field(default_factory=set)
    #: pid -> paths of codec libraries (ALL_CODEC_LIBS) it had mapped
    codec_libs: dict[int, set[str]] = dataclasses.field(default_factory=dict)


class SmokeFailure(Exception):
    pass


class Smoke:
    def __init__(self, cli: list[str], gui: list[str], app_dir: Path, work: Path) -> None:
        self.cli = cli
        self.gui = gui
        self.app_dir = app_dir
        self.work = work
        self.passed = 0
        self.failed = 0
        self.numbers: dict[str, str] = {}
        #: the frozen app's own folder (pixmill and _internal/), where it is not app_dir
        self.bundle_dir = app_dir
        #: variables every run of the app gets (the AppImage's TMPDIR)
        self.extra_env: dict[str, str] = {}

    # --- plumbing --------------------------------------------------------------------------
    def check(self, name: str, fn) -> None:
        t0 = time.monotonic()
        try:
            note = fn()
        except Exception as exc:  # any surprise fails this check; the rest (removal) still run
            self.failed += 1
            detail = exc if isinstance(exc, SmokeFailure) else f"{type(exc).__name__}: {exc}"
            print(f"FAIL  {name}: {detail}", flush=True)
            return
        self.passed += 1
        extra = f"  ({note})" if note else ""
        print(f"ok    {name}  [{time.monotonic() - t0:.1f} s]{extra}", flush=True)

    def env(self, **extra: str) -> dict[str, str]:
        """The app gets no Python, virtualenv or Qt settings from the caller."""
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("PYTHON", "QT_", "PIXMILL_", "VIRTUAL_ENV", "LD_"))
        }
        env["XDG_DATA_HOME"] = str(self.work / "data")  # the app's batch journal, kept apart
        env.update(self.extra_env)
        env.update(extra)
        return env

    def run(self, args: list[str], timeout: float = 180, **env: str):
        return subprocess.run(
            args,
            env=self.env(**env),
            cwd=self.work,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    # --- the batch -------------------------------------------------------------------------
    def make_inputs(self) -> Path:
        src = self.work / "in"
        (src / "trip" / "day 2").mkdir(parents=True)
        for i in range(3):
            im = Image.linear_gradient("L").resize((1600, 1200)).convert("RGB")
            im.save(src / "trip" / f"photo-{i}.jpg", quality=90)
        exif = Image.Exif()
        exif[0x0112] = 6  # shot rotated: the output must come out 900 wide x 1200 tall
        Image.new("RGB", (1200, 900), (200, 80, 40)).save(
            src / "trip" / "day 2" / "rotated.jpg", exif=exif
        )
        Image.new("RGBA", (640, 480), (0, 160, 90, 120)).save(src / "logo.png")
        Image.linear_gradient("L").resize((500, 500)).convert("I;16").save(src / "scan16.png")
        frames = [Image.new("P", (300, 200), i * 40) for i in range(3)]
        frames[0].save(src / "spinner.gif", save_all=True, append_images=frames[1:], duration=80)
        Image.new("RGB", (800, 800), (10, 20, 200)).save(src / "page.tif")
        (src / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 this is not really a jpeg")
        Image.new("RGB", (400, 300), (90, 90, 90)).save(src / f"{CRASH_NAME}.png")
        return src

    def batch(self) -> str:
        src = self.make_inputs()
        out = self.work / "out"
        report_path = self.work / "report.json"
        cmd = self.cli + [
            "convert",
            str(src),
            "-o",
            str(out),
            "--format",
            "webp",
            "--fit",
            "400x400",
            "--workers",
            "2",
            "--report",
            str(report_path),
        ]
        proc, stdout, stderr, seconds, watched = self.watched_batch(
            cmd, self.env(PIXMILL_FAULTS=FAULTS), "the batch"
        )
        if proc.returncode != 1:
            raise SmokeFailure(
                f"exit code {proc.returncode}, expected 1 (some files failed)\n{stderr}"
            )
        files = {Path(f["source"]).name: f for f in json.loads(report_path.read_text())["files"]}
        expected = {p.name for p in src.rglob("*") if p.is_file()}
        if set(files) != expected:
            raise SmokeFailure(f"report lists {sorted(files)}, expected {sorted(expected)}")
        crash = files[f"{CRASH_NAME}.png"]
        if crash["status"] != "failed" or "worker crashed" not in (crash["error"] or ""):
            raise SmokeFailure(f"the crashing file was reported as {crash}")
        broken = files["broken.jpg"]
        if broken["status"] != "failed" or "crashed" in (broken["error"] or ""):
            raise SmokeFailure(f"the broken file was reported as {broken}")
        for name, f in files.items():
            if name in (f"{CRASH_NAME}.png", "broken.jpg"):
                continue
            if f["status"] != "ok":
                raise SmokeFailure(f"{name}: {f['status']}: {f['error']}")
            with Image.open(f["target"]) as im:
                if im.format != "WEBP" or max(im.size) > 400:
                    raise SmokeFailure(f"{name}: wrote {im.format} {im.size}")
                if name == "rotated.jpg" and im.size != (300, 400):
                    raise SmokeFailure(f"rotated.jpg came out {im.size}, expected (300, 400)")
        if not (out / "trip" / "day 2").is_dir():
            raise SmokeFailure("the folder tree was not kept")
        leftovers = [p.name for p in out.rglob(".pixmill-*")]
        if leftovers:
            raise SmokeFailure(f"temp files left behind: {leftovers}")
        if watched is not None:
            self.no_qt(watched)
        self.numbers["batch"] = f"{seconds:.1f} s"
        workers = "" if watched is None else f"; the CLI and {len(watched.workers)} workers ran"
        workers += "" if watched is None else " without Qt"
        return f"{len(files)} files in {seconds:.1f} s, crash and broken file failed alone{workers}"

    def smaller_files(self) -> str:
        """The quality-target search in frozen workers (the metric, jpegli, MozJPEG), the
        automatic format, and a palette PNG (libimagequant, oxipng)."""
        src = self.work / "photos"
        src.mkdir()
        for i in range(3):
            g = Image.radial_gradient("L").resize((900, 600))
            im = Image.merge("RGB", (g, g.rotate(30 * i + 10), g.rotate(-40)))
            im.effect_spread(3).save(src / f"photo-{i}.jpg", quality=95)
        scores = []
        for args in (["--format", "jpeg", "--quality-target", "high"], ["--format", "auto"]):
            report_path = self.work / f"target-{args[1]}.json"
            cmd = self.cli + ["convert", str(src), "-o", str(self.work / f"target-{args[1]}")]
            proc = self.run(cmd + args + ["--report", str(report_path)])
            if proc.returncode != 0:
                raise SmokeFailure(f"{' '.join(args)}: exit {proc.returncode}\n{proc.stderr}")
            files = json.loads(report_path.read_text())["files"]
            low = [f for f in files if f["status"] != "ok" or (f["score"] or 0) < 72]
            if len(files) != 3 or low:
                raise SmokeFailure(f"{' '.join(args)}: {low or files}")
            scores += [f["score"] for f in files]
        report_path = self.work / "palette.json"
        cmd = self.cli + ["convert", str(src), "-o", str(self.work / "palette"), "--format", "png"]
        proc = self.run(cmd + ["--png-colors", "64", "--report", str(report_path)])
        files = json.loads(report_path.read_text())["files"] if report_path.is_file() else []
        if proc.returncode != 0 or len(files) != 3:
            raise SmokeFailure(f"--png-colors: exit {proc.returncode}\n{proc.stderr}")
        for f in files:
            with Image.open(f["target"]) as im:
                if im.mode != "P" or len(im.getcolors(256) or ()) > 64:
                    raise SmokeFailure(f"{f['target']}: {im.mode}, not a 64-colour palette")
        return f"scores {min(scores):.1f}..{max(scores):.1f}; palette PNGs of at most 64 colours"

    def small_pngs(self) -> str:
        """Many small PNGs to PNG: chunks of small files in frozen workers (their outputs
        synced together: one syncfs a chunk on a local disk; named by link), every PNG
        deflated by zlib-ng (engine/pngzip.py: its level-7 zlib header, 78 DA, where
        Pillow's own default gives 78 9C), pixels kept."""
        src, out = self.work / "icons", self.work / "icons-out"
        src.mkdir()
        for i in range(120):
            g = Image.radial_gradient("L").resize((64, 64)).rotate(3 * i)
            Image.merge("RGB", (g, g.transpose(Image.Transpose.FLIP_LEFT_RIGHT), g)).save(
                src / f"icon-{i:03d}.png"
            )
        report_path = self.work / "icons.json"
        cmd = self.cli + ["convert", str(src), "-o", str(out), "--format", "png"]
        proc, _stdout, stderr, seconds, _watched = self.watched_batch(
            cmd + ["--workers", "2", "--report", str(report_path)], self.env(), "small PNGs"
        )
        files = json.loads(report_path.read_text())["files"] if report_path.is_file() else []
        if proc.returncode != 0 or len(files) != 120:
            raise SmokeFailure(f"small PNGs: exit {proc.returncode}, {len(files)} files\n{stderr}")
        for f in files:
            data = Path(f["target"]).read_bytes()
            idat = data.find(b"IDAT")
            if f["status"] != "ok" or idat < 0 or data[idat + 4 : idat + 6] != b"\x78\xda":
                raise SmokeFailure(f"{f['target']}: not deflated by zlib-ng ({f['status']})")
            with Image.open(f["source"]) as a, Image.open(f["target"]) as b:
                if a.tobytes() != b.tobytes():
                    raise SmokeFailure(f"{f['target']}: pixels differ from the source")
        leftovers = [p.name for p in out.iterdir() if p.name.startswith(".pixmill-")]
        if leftovers:
            raise SmokeFailure(f"temp files left behind: {leftovers}")
        return f"120 files in {seconds:.1f} s, zlib-ng deflate, pixels kept"

    def resume_after_kill(self) -> str:
        """The whole app killed mid-batch (main process and workers): `pixmill batches`
        shows the batch interrupted, and `--resume` finishes it with one output per source."""
        src, out, report_path = self.work / "many", self.work / "resumed", self.work / "r2.json"
        src.mkdir()
        for i in range(60):
            im = Image.linear_gradient("L").resize((900, 700)).convert("RGB")
            im.save(src / f"p{i:02d}.png", compress_level=1)
        cmd = self.cli + ["convert", str(src), "-o", str(out), "--format", "jpeg"]
        proc = subprocess.Popen(
            cmd + ["--workers", "2"],
            env=self.env(),
            cwd=self.work,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=LINUX,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            if len(list(out.glob("*.jpg"))) >= 5:
                break
            time.sleep(0.01)
        at_kill = len(list(out.glob("*.jpg")))
        if LINUX:
            os.killpg(proc.pid, signal.SIGKILL)
        else:
            proc.kill()
        proc.wait(30)
        listed = self.run(self.cli + ["batches"], timeout=60)
        if "interrupted" not in listed.stdout:
            raise SmokeFailure(f"`pixmill batches` after the kill:\n{listed.stdout}{listed.stderr}")
        r = self.run(self.cli + ["convert", "--resume", "--report", str(report_path)])
        if r.returncode != 0:
            raise SmokeFailure(f"--resume: exit {r.returncode}\n{r.stderr}")
        files = json.loads(report_path.read_text())["files"]
        if sorted(Path(f["source"]).name for f in files) != sorted(p.name for p in src.iterdir()):
            raise SmokeFailure("the resumed report does not list every source once")
        names = sorted(p.name for p in out.iterdir())
        if names != [f"p{i:02d}.jpg" for i in range(60)]:
            raise SmokeFailure(f"outputs after the resume: {names}")
        return f"killed with {at_kill} outputs written; resumed to 60, none twice"

    @staticmethod
    def no_qt(watched: Watch) -> None:
        if not watched.workers:
            raise SmokeFailure("no worker process was seen during the batch")
        if watched.with_qt:
            pids = sorted(watched.with_qt)
            raise SmokeFailure(f"Qt loaded by the CLI or its workers: pids {pids}")

    def watched_batch(self, cmd: list[str], env: dict[str, str], what: str):
        """Run a CLI batch, watching its workers (Linux): (proc, stdout, stderr, seconds,
        watch)."""
        t0 = time.monotonic()
        proc = subprocess.Popen(
            cmd,
            env=env,
            cwd=self.work,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        watched = self.watch_workers(proc) if LINUX else None
        try:
            stdout, stderr = proc.communicate(timeout=180)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise SmokeFailure(f"{what} did not finish in 180 s") from None
        return proc, stdout, stderr, time.monotonic() - t0, watched

    def watch_workers(self, proc: subprocess.Popen) -> Watch:
        """While the batch runs, keep reading the memory maps of the CLI and of its worker
        processes: none may map a Qt library (the CLI and the workers start without Qt), and
        the codec libraries each one maps are noted."""
        watch = Watch()
        while proc.poll() is None:
            for pid, cmdline in self.app_processes():
                try:
                    maps = Path(f"/proc/{pid}/maps").read_text()
                except OSError:
                    continue  # gone already
                if "--multiprocessing-fork" in cmdline:
                    watch.workers.add(pid)
                if "libQt6" in maps or "libpyside6" in maps:
                    watch.with_qt.add(pid)
                for line in maps.splitlines():
                    fields = line.split(None, 5)
                    path = fields[5].strip() if len(fields) == 6 else ""
                    if os.path.basename(path).startswith(ALL_CODEC_LIBS):
                        watch.codec_libs.setdefault(pid, set()).add(path)
            time.sleep(0.05)
        return watch

    # --- the codecs ------------------------------------------------------------------------
    def codecs_import(self) -> str:
        """The frozen app imports pillow_heif, pillow_jxl and rawpy from its own bundle (the
        spec's PIXMILL_IMPORT_PROBE run-time hook: import, print JSON, exit), and on Linux it
        loads their native libraries from the app's folder, not from the system."""
        # --version: a build without the hook prints the version and fails here quickly,
        # instead of opening the window.
        probe_env = {"PIXMILL_IMPORT_PROBE": ",".join(CODEC_MODULES)}
        proc = self.run(self.cli + ["--version"], timeout=60, **probe_env)
        try:
            probe = json.loads(proc.stdout.strip().splitlines()[-1])
        except (ValueError, IndexError):
            raise SmokeFailure(
                f"no probe answer (exit {proc.returncode}); is the run-time hook in the spec?\n"
                f"{proc.stdout[-1000:]}{proc.stderr[-2000:]}"
            ) from None
        modules = probe.get("modules", {})
        failed = {name: m["error"] for name, m in modules.items() if "error" in m}
        if proc.returncode != 0 or failed or set(modules) != set(CODEC_MODULES):
            detail = f"{failed or modules}\n{proc.stderr[-2000:]}"
            raise SmokeFailure(f"exit {proc.returncode}: {detail}")
        app = self.app_dir.resolve()
        outside = [m["file"] for m in modules.values() if not self.inside_app(m["file"])]
        if not probe.get("frozen") or outside:
            raise SmokeFailure(f"codecs imported from outside {app}: {outside}")
        notes = [f"{name} {m['version']}".strip() for name, m in modules.items()]
        if "libraries" in probe:
            libs = probe["libraries"]
            for name, wanted in CODEC_LIBS.items():
                for lib in wanted:
                    found = [p for p in libs if os.path.basename(p).startswith(lib)]
                    if not found:
                        raise SmokeFailure(f"{name} imported but {lib}* was not loaded")
                    strays = [p for p in found if not self.inside_app(p)]
                    if strays:
                        raise SmokeFailure(f"{lib} loaded from outside the app: {strays}")
            notes.append(f"{len(ALL_CODEC_LIBS)} native libraries loaded from {app}")
        return ", ".join(notes)

    def inside_app(self, path: str) -> bool:
        """Whether path is a file of the app (on macOS anywhere in Pixmill.app/Contents: the
        executable is in MacOS/, the libraries in Frameworks/)."""
        root = self.app_dir.resolve()
        if root.name == "MacOS" and root.parent.name == "Contents":
            root = root.parent
        try:
            return Path(path).resolve().is_relative_to(root)
        except (OSError, ValueError):
            return False

    def codec_batch(self) -> str:
        """A HEIC, a JPEG XL and a DNG converted to JPEG by two frozen pool workers: valid
        JPEGs of the source's size with the picture the right way round, status ok; on Linux
        the workers load the codecs' libraries from the app's folder and never Qt."""
        src = self.work / "codecs-in"
        src.mkdir()
        for name in CODEC_INPUTS:
            shutil.copyfile(FIXTURES / name, src / name)
        out = self.work / "codecs-out"
        report_path = self.work / "codecs-report.json"
        cmd = self.cli + ["convert", str(src), "-o", str(out), "--format", "jpeg"]
        cmd += ["--workers", "2", "--report", str(report_path)]
        proc, stdout, stderr, seconds, watched = self.watched_batch(
            cmd, self.env(), "the codec batch"
        )
        if not report_path.is_file():
            detail = f"{stdout[-1000:]}{stderr[-2000:]}"
            raise SmokeFailure(f"exit {proc.returncode}, no report\n{detail}")
        files = {Path(f["source"]).name: f for f in json.loads(report_path.read_text())["files"]}
        if set(files) != set(CODEC_INPUTS):
            raise SmokeFailure(f"report lists {sorted(files)}, expected {sorted(CODEC_INPUTS)}")
        problems = [
            f"{name}: {f['status']}: {f.get('error')}"
            for name, f in files.items()
            if f["status"] != "ok"
        ]
        if problems:
            raise SmokeFailure(f"exit {proc.returncode}; " + "; ".join(problems))
        if proc.returncode != 0:
            raise SmokeFailure(f"exit code {proc.returncode} with every file ok\n{stderr[-2000:]}")
        for name, (size, samples) in CODEC_INPUTS.items():
            target = files[name]["target"]
            with Image.open(target) as im:
                if im.format != "JPEG" or im.size != size:
                    raise SmokeFailure(f"{name}: wrote {im.format} {im.size}, expected JPEG {size}")
                rgb = im.convert("RGB")
                for xy, colour, other in samples:
                    pixel = rgb.getpixel(xy)
                    if _distance(pixel, colour) >= _distance(pixel, other):
                        raise SmokeFailure(
                            f"{name}: pixel {xy} of the JPEG is {pixel}, expected near {colour}"
                        )
        note = f"HEIC, JPEG XL and DNG to JPEG in {seconds:.1f} s, sizes and colours right"
        if watched is not None:
            self.no_qt(watched)
            loaded = set().union(*watched.codec_libs.values()) if watched.codec_libs else set()
            strays = sorted(p for p in loaded if not self.inside_app(p))
            if strays:
                raise SmokeFailure(f"codec libraries loaded from outside the app: {strays}")
            in_workers = {
                os.path.basename(path)
                for pid, libs in watched.codec_libs.items()
                if pid in watched.workers
                for path in libs
            }
            # The image plug-ins load when a worker starts, so a worker is seen with them for
            # its whole life; rawpy loads at the DNG, which may be too short a moment for the
            # 50 ms sampling to catch: noted, not required.
            for lib in ("libheif", "pillow_jxl."):
                if not any(name.startswith(lib) for name in in_workers):
                    raise SmokeFailure(f"no worker was seen with {lib}* loaded")
            raw_seen = any(name.startswith("libraw_r") for name in in_workers)
            note += f"; {len(watched.workers)} workers with libheif and libjxl"
            note += " and LibRaw" if raw_seen else ""
            note += " from the app, no Qt"
        self.numbers["codec batch"] = f"{seconds:.1f} s"
        return note

    def licences(self) -> str:
        """The codecs' licence texts ship with the app (_internal/licenses/)."""
        candidates = [
            self.bundle_dir / "_internal" / "licenses",  # Linux, Windows
            self.app_dir.parent / "Resources" / "licenses",  # macOS .app
            self.app_dir.parent / "Frameworks" / "licenses",
        ]
        folder = next((c for c in candidates if c.is_dir()), None)
        if folder is None:
            raise SmokeFailure(f"no licenses folder in {[str(c) for c in candidates]}")
        wanted = [
            "THIRD-PARTY-NOTICES.txt",
            "LGPL-3.0.txt",
            "GPL-2.0.txt",
            "pillow-heif/LICENSE.txt",
            "pillow-heif/LICENSES_bundled.txt",
            "pillow-jxl-plugin/LICENSE",
            "rawpy/LICENSE",
            "rawpy/LICENSE.LibRaw",
            "numpy/LICENSE.txt",
        ]
        missing = [w for w in wanted if not (folder / w).is_file()]
        if missing:
            raise SmokeFailure(f"missing from {folder}: {missing}")
        count = sum(1 for p in folder.rglob("*") if p.is_file())
        return f"{count} licence files in {folder}"

    def app_processes(self) -> list[tuple[int, str]]:
        """(pid, command line) of every running process started from the app's folder."""
        found = []
        if LINUX:
            for entry in Path("/proc").iterdir():
                if not entry.name.isdigit():
                    continue
                try:
                    exe = os.readlink(entry / "exe")
                    cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
                except OSError:
                    continue
                if exe.startswith(str(self.app_dir)):
                    found.append((int(entry.name), cmdline))
        elif WINDOWS:
            out = subprocess.run(
                ["tasklist", "/FO", "CSV", "/NH"], capture_output=True, text=True
            ).stdout
            for line in out.splitlines():
                parts = [p.strip('"') for p in line.split('","')]
                if len(parts) > 1 and parts[0].lower().startswith("pixmill"):
                    found.append((int(parts[1]), parts[0]))
        else:
            out = subprocess.run(
                ["ps", "-axo", "pid=,command="], capture_output=True, text=True
            ).stdout
            for line in out.splitlines():
                pid, _, cmd = line.strip().partition(" ")
                if cmd.startswith(str(self.app_dir)):
                    found.append((int(pid), cmd))
        return [(pid, cmd) for pid, cmd in found if pid != os.getpid()]

    def no_processes_left(self) -> str:
        deadline = time.monotonic() + 10
        while True:
            left = self.app_processes()
            if not left:
                return "no app processes after the batch and the window closed"
            if time.monotonic() > deadline:
                raise SmokeFailure(f"processes left behind: {left}")
            time.sleep(0.2)

    # --- the window ------------------------------------------------------------------------
    def window_offscreen(self) -> str:
        """Start the window headless with the input folder queued. With the app's
        PIXMILL_SMOKE_QUIT_MS hook it prints "window shown" once the event loop runs and
        quits by itself; without it, staying alive 3 s without a crash is the pass."""
        return self._start_window({"QT_QPA_PLATFORM": "offscreen"}, "offscreen")

    def no_display(self) -> str:
        """Linux without a screen (an SSH session, a server): the window refuses in one line
        that names the CLI, exit 2, before Qt starts (Qt would abort with its platform-plugin
        message)."""
        env = self.env()
        for var in ("DISPLAY", "WAYLAND_DISPLAY"):
            env.pop(var, None)
        t0 = time.monotonic()
        proc = subprocess.run(
            self.gui, env=env, cwd=self.work, capture_output=True, text=True, timeout=60
        )
        seconds = time.monotonic() - t0
        lines = proc.stderr.splitlines()
        if proc.returncode != 2 or len(lines) != 1 or "no display found" not in lines[0]:
            raise SmokeFailure(f"exit {proc.returncode}, stderr:\n{proc.stderr[-2000:]}")
        if "pixmill convert" not in lines[0] or "Qt platform plugin" in proc.stderr:
            raise SmokeFailure(f"the message does not point to the CLI: {lines[0]}")
        return f"exit 2 in {seconds:.2f} s: {lines[0][:60]}..."

    def _start_window(self, env: dict[str, str], label: str, visible_probe=None) -> str:
        args = self.gui + [str(self.work / "in")]
        t0 = time.monotonic()
        proc = subprocess.Popen(
            args,
            env=self.env(PIXMILL_SMOKE_QUIT_MS="300", **env),
            cwd=self.work,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        out: list[str] = []
        err: list[str] = []
        shown_at: list[float] = []

        def read_stdout() -> None:
            for line in proc.stdout:
                out.append(line)
                if "window shown" in line and not shown_at:
                    shown_at.append(time.monotonic() - t0)

        readers = [
            threading.Thread(target=read_stdout, daemon=True),
            threading.Thread(target=lambda: err.extend(proc.stderr), daemon=True),
        ]
        for r in readers:
            r.start()
        visible_at = visible_probe(proc, t0) if visible_probe is not None else None
        if visible_at is not None:
            self.numbers[f"window visible ({label})"] = f"{visible_at:.2f} s"
        try:
            proc.wait(timeout=3)
        except subprocess.TimeoutExpired:
            # No quit hook in this build: the window is up and alive after 3 s; close it.
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            note = "alive after 3 s, no crash (no PIXMILL_SMOKE_QUIT_MS hook in this build)"
            return note if visible_at is None else f"visible after {visible_at:.2f} s; {note}"
        for r in readers:
            r.join(5)
        stderr = "".join(err)
        if proc.returncode != 0:
            raise SmokeFailure(f"the window exited with {proc.returncode}\n{stderr[-2000:]}")
        if not shown_at:
            raise SmokeFailure(f"the window exited without showing itself\n{''.join(out)}")
        bad = [line for line in err if "Traceback" in line or "Error" in line]
        if bad:
            raise SmokeFailure(f"errors on stderr: {bad}")
        self.numbers[f"window shown, event loop running ({label})"] = f"{shown_at[0]:.2f} s"
        parts = [f"shown with its event loop running after {shown_at[0]:.2f} s, quit cleanly"]
        if visible_at is not None:
            parts.insert(0, f"visible after {visible_at:.2f} s")
        return "; ".join(parts)

    def window_xvfb(self, cold: bool) -> str:
        """A real X window under Xvfb, timed from launch until it is mapped (xdotool)."""
        display = f":{90 + os.getpid() % 50}"
        xvfb = subprocess.Popen(
            ["Xvfb", display, "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            time.sleep(0.5)
            cold = cold and drop_page_cache()

            def probe(proc: subprocess.Popen, t0: float) -> float:
                while time.monotonic() - t0 < 20:
                    found = subprocess.run(
                        ["xdotool", "search", "--onlyvisible", "--name", "Pixmill"],
                        env={**os.environ, "DISPLAY": display},
                        capture_output=True,
                    )
                    if found.returncode == 0 and found.stdout.strip():
                        return time.monotonic() - t0
                    if proc.poll() is not None:
                        raise SmokeFailure(f"the window process ended ({proc.returncode})")
                    time.sleep(0.02)
                raise SmokeFailure("no visible Pixmill window after 20 s")

            label = "xcb, cold page cache" if cold else "xcb, warm page cache"
            env = {"QT_QPA_PLATFORM": "xcb", "DISPLAY": display}
            return f"{label}: " + self._start_window(env, label, probe)
        finally:
            xvfb.terminate()
            xvfb.wait(10)


def drop_page_cache() -> bool:
    """Empty the kernel's page cache so the next start reads the app from disk. Needs root
    outside a container; returns False where it is not allowed."""
    subprocess.run(["sync"], check=False)
    try:
        Path("/proc/sys/vm/drop_caches").write_text("3\n")
    except OSError:
        return False
    return True


# --- the Debian package ----------------------------------------------------------------------
def sh(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(list(args), capture_output=True, text=True)


def install_deb(deb: Path) -> str:
    if sh("dpkg-query", "-W", "pixmill").returncode == 0:
        sh("dpkg", "-P", "pixmill")
    proc = sh("dpkg", "-i", str(deb))
    if proc.returncode != 0:
        raise SmokeFailure(f"dpkg -i failed:\n{proc.stdout}{proc.stderr}")
    missing = [p for p in INSTALLED if not os.path.lexists(p)]
    if missing:
        raise SmokeFailure(f"not installed: {missing}")
    if shutil.which("desktop-file-validate"):
        v = sh("desktop-file-validate", f"/usr/share/applications/{APP_ID}.desktop")
        if v.returncode != 0 or v.stdout.strip():
            raise SmokeFailure(f"installed desktop entry: {v.stdout}{v.stderr}")
    size = sum(f.lstat().st_size for f in Path("/opt/pixmill").rglob("*") if not f.is_dir())
    return f"{deb.name}, {deb.stat().st_size / 1e6:.1f} MB, installs {size / 1e6:.0f} MB"


def remove_deb() -> str:
    for action in ("-r", "-P"):
        proc = sh("dpkg", action, "pixmill")
        if proc.returncode != 0:
            raise SmokeFailure(f"dpkg {action} failed:\n{proc.stdout}{proc.stderr}")
    left = [p for p in INSTALLED if os.path.lexists(p)]
    left += [p for p in ("/opt/pixmill", "/usr/share/doc/pixmill") if os.path.lexists(p)]
    left += [str(p) for p in Path("/usr/share/icons/hicolor").rglob(f"{APP_ID}.*")]
    if left:
        raise SmokeFailure(f"left behind after purge: {left}")
    status = sh("dpkg-query", "-W", "-f=${Status}", "pixmill").stdout
    if "installed" in status and "not-installed" not in status:
        raise SmokeFailure(f"dpkg still lists pixmill: {status}")
    return "dpkg -r and -P: no files, folders or icons left"


# --- the AppImage ----------------------------------------------------------------------------
APPIMAGE_FILES = [
    "AppRun",
    ".DirIcon",
    f"{APP_ID}.desktop",
    f"{APP_ID}.png",
    "usr/bin/pixmill",
    "usr/bin/pixmill-gui",
    "usr/lib/pixmill/pixmill",
    f"usr/share/applications/{APP_ID}.desktop",
    f"usr/share/metainfo/{APP_ID}.metainfo.xml",
    f"usr/share/icons/hicolor/16x16/apps/{APP_ID}.png",
    f"usr/share/icons/hicolor/512x512/apps/{APP_ID}.png",
    f"usr/share/icons/hicolor/scalable/apps/{APP_ID}.svg",
    "usr/lib/pixmill/_internal/licenses/THIRD-PARTY-NOTICES.txt",
]


def appimage_contents(image: Path, work: Path) -> str:
    """Unpack the image (--appimage-extract) and check the format's files and metadata."""
    with open(image, "rb") as f:
        head = f.read(16)
    if head[:4] != b"\x7fELF" or head[8:11] != b"AI\x02":
        raise SmokeFailure(f"{image} is not a type-2 AppImage (ELF with AI\\x02 at offset 8)")
    if not os.access(image, os.X_OK):
        raise SmokeFailure(f"{image} is not executable")
    dest = work / "appimage-contents"
    dest.mkdir()
    proc = subprocess.run(
        [str(image), "--appimage-extract"], cwd=dest, capture_output=True, text=True, timeout=300
    )
    root = dest / "squashfs-root"
    if proc.returncode != 0 or not root.is_dir():
        raise SmokeFailure(f"--appimage-extract: exit {proc.returncode}\n{proc.stderr}")
    missing = [p for p in APPIMAGE_FILES if not (root / p).exists()]
    if missing:
        raise SmokeFailure(f"not in the AppImage: {missing}")
    if not os.access(root / "AppRun", os.X_OK):
        raise SmokeFailure("AppRun is not executable")
    if shutil.which("desktop-file-validate"):
        v = sh("desktop-file-validate", str(root / f"{APP_ID}.desktop"))
        if v.returncode != 0 or v.stdout.strip():
            raise SmokeFailure(f"desktop entry: {v.stdout}{v.stderr}")
    if shutil.which("appstreamcli"):
        metainfo = root / "usr" / "share" / "metainfo" / f"{APP_ID}.metainfo.xml"
        v = sh("appstreamcli", "validate", "--no-net", str(metainfo))
        if v.returncode != 0:
            raise SmokeFailure(f"metainfo: {v.stdout}{v.stderr}")
    with Image.open(root / ".DirIcon") as icon:
        if icon.size != (256, 256):
            raise SmokeFailure(f".DirIcon is {icon.size}, expected 256x256")
    files = sum(1 for p in root.rglob("*") if p.is_file())
    size = image.stat().st_size / 1e6
    return f"{image.name}, {size:.1f} MB, {files} files; entry, icon, metainfo valid"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--deb", type=Path, help="install this package, test, remove it")
    where.add_argument("--app", type=Path, help="the frozen executable to test in place")
    where.add_argument("--appimage", type=Path, help="run this AppImage without FUSE (Linux)")
    parser.add_argument(
        "--no-cold", action="store_true", help="do not drop the page cache before timing the window"
    )
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="pixmill-smoke-"))
    try:
        if args.deb:
            if os.geteuid() != 0:
                print("smoke test: --deb needs root (dpkg -i)", file=sys.stderr)
                return 2
            smoke = Smoke(
                ["/usr/bin/pixmill"], ["/usr/bin/pixmill-gui"], Path("/opt/pixmill"), work
            )
            smoke.check("install the .deb", lambda: install_deb(args.deb.resolve()))
            if smoke.failed:
                return finish(smoke)
        elif args.appimage:
            image = args.appimage.resolve()
            extracted = work / "tmp"  # where --appimage-extract-and-run unpacks it, each run
            extracted.mkdir()
            run = [str(image), "--appimage-extract-and-run"]
            smoke = Smoke(run, run, extracted, work)
            smoke.extra_env["TMPDIR"] = str(extracted)
            smoke.bundle_dir = (
                work / "appimage-contents" / "squashfs-root" / "usr" / "lib" / "pixmill"
            )
            smoke.check("the AppImage's contents", lambda: appimage_contents(image, work))
            if smoke.failed:
                return finish(smoke)
        else:
            app = args.app.resolve()
            # Started with only a folder, pixmill opens the window too. (pixmill-gui.exe on
            # Windows has no console, so it could not say "window shown".)
            smoke = Smoke([str(app)], [str(app)], app.parent, work)
        s = smoke
        s.check("pixmill --version", lambda: _version(s))
        s.check("pixmill presets", lambda: _presets(s))
        s.check("batch with a crashing worker and a broken file", s.batch)
        s.check("codec licence texts in the app", s.licences)
        s.check("the frozen app imports its codecs", s.codecs_import)
        s.check("HEIC, JPEG XL and RAW to JPEG in frozen workers", s.codec_batch)
        s.check("a killed batch resumes from the journal", s.resume_after_kill)
        s.check("quality target, automatic format and palette PNG", s.smaller_files)
        s.check("many small PNGs, deflated by zlib-ng", s.small_pngs)
        s.check("LANGUAGE=zh_CN: Chinese per-file errors and summary", lambda: _chinese(s))
        s.check("window opens offscreen", s.window_offscreen)
        if LINUX:
            s.check("no display: one line naming the CLI, exit 2", s.no_display)
        if LINUX and shutil.which("Xvfb") and shutil.which("xdotool"):
            cold = os.geteuid() == 0 and not args.no_cold
            s.check("window visible under Xvfb", lambda: s.window_xvfb(cold))
        s.check("no processes left behind", s.no_processes_left)
        if args.appimage:
            s.check("no extraction folders left behind", lambda: _extractions_gone(s))
        if args.deb:
            s.check("remove and purge the .deb", remove_deb)
        return finish(s)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _extractions_gone(s: Smoke) -> str:
    """Every --appimage-extract-and-run removed its folder when its program ended (the one
    the killed batch left was reused by the next run and removed by the last)."""
    left = sorted(p.name for p in s.app_dir.iterdir())
    if left:
        raise SmokeFailure(f"left in TMPDIR: {left}")
    return "TMPDIR empty after every run"


def _version(s: Smoke) -> str:
    proc = s.run(s.cli + ["--version"], timeout=60)
    if proc.returncode != 0 or not proc.stdout.startswith("pixmill "):
        raise SmokeFailure(f"exit {proc.returncode}: {proc.stdout}{proc.stderr}")
    return proc.stdout.strip()


def _presets(s: Smoke) -> str:
    proc = s.run(s.cli + ["presets"], timeout=60)
    lines = [line for line in proc.stdout.splitlines() if line.strip()]
    if proc.returncode != 0 or len(lines) < 3:
        raise SmokeFailure(f"exit {proc.returncode}: {proc.stdout}{proc.stderr}")
    return f"{len(lines)} built-in presets"


def _chinese(s: Smoke) -> str:
    """The compiled catalogue is in the bundle: a damaged file's error and the summary come
    out in Simplified Chinese (CJK characters in both), exit 1 for the failed file."""
    folder = s.work / "zh-in"
    folder.mkdir()
    (folder / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a JPEG")
    proc = s.run(
        s.cli + ["convert", str(folder), "-o", str(s.work / "zh-out"), "--format", "png"],
        timeout=120,
        LANGUAGE="zh_CN",
    )
    text = proc.stdout + proc.stderr
    cjk = [line for line in text.splitlines() if any("\u4e00" <= c <= "\u9fff" for c in line)]
    if proc.returncode != 1 or len(cjk) < 2:
        raise SmokeFailure(f"exit {proc.returncode}, lines in Chinese {cjk}: {text[-800:]}")
    return cjk[-1].strip()


def _distance(a, b) -> int:
    return sum((int(x) - int(y)) ** 2 for x, y in zip(a, b, strict=True))


def finish(s: Smoke) -> int:
    for name, value in s.numbers.items():
        print(f"time  {name}: {value}")
    print(f"smoke: {s.passed} passed, {s.failed} failed")
    return 1 if s.failed else 0


if __name__ == "__main__":
    sys.exit(main())
