"""Coverage-guided fuzzing of engine.convert.convert_one with atheris (libFuzzer).

Each input is one option byte (output format and resize mode) followed by the bytes of a
source file; the seeds are small valid images of every format Pixmill reads (HEIC/HEIF,
JPEG XL and DNG ones from tests/samples.py), converted to every output format incl. HEIC
and JPEG XL. The target
writes the bytes to a file, runs convert_one on it, and checks what the batch invariants
say about one file:
  - convert_one returns a result (never raises, never kills the process);
  - status is ok or failed; a failure carries a message a user understands;
  - an ok output decodes fully and has the size reported; no temp file is left.
A segfault, an abort, a hang past --timeout or a broken check is a finding.

    .venv/bin/python tests/fuzz/fuzz_convert.py --seconds 300      # `make fuzz`
    .venv/bin/python tests/fuzz/fuzz_convert.py --replay FILE...   # re-run inputs

The driver restarts libFuzzer after each finding until the time is up, saves every new
finding as tests/fuzz/regressions/<name>.bin with a .json note (signature, problem, status),
and skips known signatures so one bug does not hide the next. A finding is replayed by
tests/fuzz/test_fuzz_regressions.py: status "open" there means an expected failure until the
engine is fixed, "fixed" means it must pass.
"""

from __future__ import annotations

import argparse
import atexit
import glob
import hashlib
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
REGRESSIONS = os.path.join(HERE, "regressions")
TORTURE = os.path.join(os.path.dirname(HERE), "torture")
MEMORY_LIMIT = 2 << 30  # what a pool worker gets at least (engine.pool.default_memory_limit)

# The option byte: bits 3-4 pick the resize mode, the other six bits (0-2 low, 5-7 high) the
# output format, modulo len(OUT_FORMATS). A byte below 32 picks OUT_FORMATS[opt & 7], as it
# did before heic and jxl were added, so the regression files keep their meaning.
OUT_FORMATS = ("png", "jpeg", "webp", "gif", "tiff", "bmp", "avif", "png", "heic", "jxl")
RESIZES = (
    ("none", {}),
    ("fit", {"width": 32, "height": 32}),
    ("percent", {"percent": 50.0}),
    ("fill", {"width": 16, "height": 24}),
)

_STATE: dict[str, Any] = {}


class Finding(AssertionError):
    """A broken invariant; its first line is the signature used to tell findings apart."""


def options(opt: int) -> tuple[str, str, dict[str, Any]]:
    fmt = OUT_FORMATS[((opt >> 5) << 3 | (opt & 7)) % len(OUT_FORMATS)]
    mode, kw = RESIZES[(opt >> 3) % len(RESIZES)]
    return fmt, mode, kw


def option_byte(fmt: str, resize: str = "none") -> int:
    """The smallest option byte that picks this output format and resize mode."""
    r = [m for m, _ in RESIZES].index(resize)
    i = OUT_FORMATS.index(fmt)
    return (i >> 3) << 5 | r << 3 | (i & 7)


def setup(work: str | None = None) -> None:
    """Import the engine (instrumented when atheris is active) and make scratch folders."""
    if TORTURE not in sys.path:
        sys.path.insert(0, TORTURE)
    if work is None:
        work = tempfile.mkdtemp(prefix="pixmill-fuzz-run-", dir=_scratch_root())
        # /dev/shm is memory: every replay and fuzz worker left its folder there until reboot.
        atexit.register(shutil.rmtree, work, ignore_errors=True)
    _STATE["src"] = os.path.join(work, "src.bin")
    _STATE["out"] = os.path.join(work, "out")
    os.makedirs(_STATE["out"], exist_ok=True)


def _scratch_root() -> str:
    shm = "/dev/shm"
    return shm if os.path.isdir(shm) and os.access(shm, os.W_OK) else tempfile.gettempdir()


def check_one(data: bytes) -> None:
    """Convert one fuzzed file; raise Finding if an invariant breaks."""
    from faultkit.invariants import decode_problem, message_problem
    from PIL import Image

    from pixmill.engine.convert import convert_one
    from pixmill.engine.formats import EXTENSIONS
    from pixmill.engine.job import Job
    from pixmill.engine.recipe import Recipe, Resize

    if len(data) < 2:
        return
    fmt, mode, kw = options(data[0])
    src, out = _STATE["src"], _STATE["out"]
    with open(src, "wb") as f:
        f.write(data[1:])
    recipe = Recipe(format=fmt, resize=Resize(mode, **kw), on_conflict="overwrite")
    if len(data) % 4 == 0:  # a quarter of the inputs go through the quality search too
        recipe = recipe.replace(quality_target="small", skip_larger=True)
    target = os.path.join(out, "out" + EXTENSIONS[fmt])
    job = Job(1, src, target, fmt, recipe, size=len(data) - 1)
    try:
        result = convert_one(job)
    except BaseException as exc:  # noqa: BLE001 - convert_one promises never to raise
        raise Finding(f"convert_one raised {type(exc).__name__}: {exc}") from exc
    try:
        status = result.get("status")
        if status == "ok":
            target = result["target"]  # the original kept: its own extension
            why = decode_problem(target)
            if why:
                raise Finding(f"ok output does not decode ({fmt}): {_shape(why)}")
            size = os.path.getsize(target)
            if result.get("bytes_out") != size:
                raise Finding("ok output size differs from the report")
            with Image.open(target) as im:
                if (result.get("width"), result.get("height")) != im.size:
                    raise Finding("ok output dimensions differ from the report")
        elif status == "failed":
            err = result.get("error") or ""
            why = message_problem(err)
            if why:
                # One signature per exception type: "unexpected error: RuntimeError".
                head = ": ".join(err.split(": ")[:2]) if ": " in err else err
                raise Finding(f"failure message: {_shape(head)}\n{err}")
        else:
            raise Finding(f"status {status!r} for a single conversion")
        temps = [n for n in os.listdir(out) if n.startswith(".pixmill-")]
        if temps:
            raise Finding("temp file left behind")
    finally:
        for name in os.listdir(out):
            try:
                os.unlink(os.path.join(out, name))
            except OSError:
                pass


def _shape(text: str) -> str:
    """A message with numbers and paths blurred, so one bug gives one signature."""
    text = re.sub(r"/\S+", "<path>", str(text))
    text = re.sub(r"\d+", "N", text)
    return text[:160]


def signature_of(exc: BaseException) -> str:
    # Stripped, as describe_input() stores it: a message line ending in a space (libjxl's
    # does) must still match its note, or the fuzzer reports a known finding again.
    return str(exc).splitlines()[0].strip() if str(exc).strip() else type(exc).__name__


def known_signatures() -> set[str]:
    """Signatures of open findings (a fixed one that comes back is a new finding)."""
    sigs = set()
    for meta in glob.glob(os.path.join(REGRESSIONS, "*.json")):
        try:
            with open(meta, encoding="utf-8") as f:
                note = json.load(f)
        except (OSError, ValueError):
            continue
        if note.get("status") == "open" and "signature" in note:
            sigs.add(note["signature"])
    return sigs


def fuzz_entry(data: bytes) -> None:
    try:
        check_one(data)
    except Finding as exc:
        if signature_of(exc) in _STATE.get("known", ()):
            return  # a finding already on file: keep looking for new ones
        raise


# --- seeds -----------------------------------------------------------------------------------
#: Sources that also seed HEIC and JPEG XL output (besides the new formats themselves).
DEEP_OUTPUT_SEEDS = ("alpha.png", "anim.gif", "cmyk.jpg", "deep16.png", "photo.jpg", "rotated.jpg")


def write_seeds(folder: str) -> int:
    """Small valid images of every readable format, each with a few option bytes (one of them
    PNG output, the zlib-ng encoder's way in); the
    HEIC/HEIF, JPEG XL and DNG ones (gen_corpus.new_format_valid, made by tests/samples.py)
    and a few others also with HEIC and JPEG XL output."""
    if TORTURE not in sys.path:
        sys.path.insert(0, TORTURE)
    from faultkit.corpus import valid_images
    from gen_corpus import new_format_valid

    os.makedirs(folder, exist_ok=True)
    n = 0

    def seed(name: str, opt: int, data: bytes) -> None:
        nonlocal n
        with open(os.path.join(folder, f"{name}-{opt:02d}"), "wb") as f:
            f.write(bytes([opt]) + data)
        n += 1

    for i, (name, data) in enumerate(sorted(valid_images().items())):
        # Every source also to PNG: every mode through engine/pngzip.py's encoder.
        opts = {i % 8, (i * 3 + 9) % 32, (i * 5 + 20) % 32, option_byte("png", RESIZES[i % 4][0])}
        for opt in sorted(opts):
            seed(name, opt, data)
        if name in DEEP_OUTPUT_SEEDS:
            seed(name, option_byte("heic", RESIZES[i % 4][0]), data)
            seed(name, option_byte("jxl", RESIZES[(i + 1) % 4][0]), data)
    for i, (name, data) in enumerate(sorted(new_format_valid().items())):
        opts = {i % 8, (i * 3 + 9) % 32, option_byte("heic", RESIZES[i % 4][0])}
        opts.add(option_byte("jxl", RESIZES[(i + 2) % 4][0]))
        for opt in sorted(opts):
            seed(name, opt, data)
    for path in glob.glob(os.path.join(REGRESSIONS, "*.bin")):
        shutil.copy(path, os.path.join(folder, "regression-" + os.path.basename(path)))
        n += 1
    return n


# --- the libFuzzer worker ----------------------------------------------------------------------
def limit_memory() -> None:
    try:
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, resource.RLIM_INFINITY))
    except (ValueError, OSError):
        pass


def worker_main(libfuzzer_args: list[str]) -> None:
    import atheris

    setup()
    _STATE["known"] = known_signatures()
    with atheris.instrument_imports():
        import PIL.Image

        PIL.Image.init()  # import (and instrument) every format plugin
        import pixmill.engine.convert  # noqa: F401
    import warnings

    warnings.simplefilter("ignore")
    limit_memory()
    atheris.Setup([sys.argv[0], *libfuzzer_args], fuzz_entry)
    atheris.Fuzz()


# --- replay ------------------------------------------------------------------------------------
def replay(paths: list[str]) -> int:
    """Run inputs through check_one; print one line each; exit 1 if any finding."""
    import warnings

    warnings.simplefilter("ignore")
    setup()
    limit_memory()
    bad = 0
    for path in paths:
        with open(path, "rb") as f:
            data = f.read()
        t0 = time.monotonic()
        try:
            check_one(data)
            print(f"ok       {os.path.basename(path)} ({time.monotonic() - t0:.2f} s)")
        except Finding as exc:
            bad += 1
            print(f"FINDING  {os.path.basename(path)}: {signature_of(exc)}")
    return 1 if bad else 0


def describe_input(path: str) -> dict[str, Any]:
    """Replay one artifact in a subprocess (it may crash or hang) and describe it."""
    try:
        r = subprocess.run(
            [sys.executable, os.path.abspath(__file__), "--replay", path],
            capture_output=True,
            text=True,
            timeout=120,
        )
        out, code = (r.stdout + r.stderr), r.returncode
    except subprocess.TimeoutExpired:
        return {"signature": "hang: replay took over 120 s", "problem": "hang"}
    m = re.search(r"FINDING\s+\S+: (.*)", out)
    if m:
        return {"signature": m.group(1).strip(), "problem": "invariant"}
    if code < 0:
        return {
            "signature": f"process killed by signal {-code}",
            "problem": "crash",
            "tail": out[-800:],
        }
    if code != 0:
        return {"signature": f"replay exited {code}", "problem": "crash", "tail": out[-800:]}
    return {"signature": "did not reproduce on replay (slow or flaky)", "problem": "flaky"}


def save_finding(artifact: str, kind: str) -> str | None:
    """Copy an artifact into regressions/ with its note; None if its signature is known."""
    with open(artifact, "rb") as f:
        data = f.read()
    info = describe_input(artifact)
    if kind in ("timeout", "slow-unit") and info["problem"] == "flaky":
        info = {"signature": f"{kind}: input took longer than the fuzz timeout", "problem": "hang"}
    if kind == "oom" and info["problem"] == "flaky":
        info = {"signature": "oom: over the fuzzer's memory limit", "problem": "oom"}
    if info["signature"] in known_signatures():
        return None
    digest = hashlib.sha1(data).hexdigest()[:10]
    slug = re.sub(r"[^a-z0-9]+", "-", info["signature"].lower()).strip("-")[:40]
    name = f"{slug}-{digest}"
    os.makedirs(REGRESSIONS, exist_ok=True)
    with open(os.path.join(REGRESSIONS, name + ".bin"), "wb") as f:
        f.write(data)
    fmt, mode, _ = options(data[0]) if data else ("?", "?", {})
    note = {
        "signature": info["signature"],
        "problem": info["problem"],
        "libfuzzer_kind": kind,
        "output_format": fmt,
        "resize": mode,
        "found": time.strftime("%Y-%m-%d"),
        "status": "open",
        "tail": info.get("tail", ""),
    }
    with open(os.path.join(REGRESSIONS, name + ".json"), "w", encoding="utf-8") as f:
        json.dump(note, f, indent=2)
        f.write("\n")
    return name


# --- the driver --------------------------------------------------------------------------------
def drive(seconds: int, work: str, timeout: int, jobs_note: bool = True) -> int:
    corpus_dir = os.path.join(work, "corpus")
    seeds_dir = os.path.join(work, "seeds")
    artifacts = os.path.join(work, "artifacts") + os.sep
    os.makedirs(corpus_dir, exist_ok=True)
    os.makedirs(artifacts, exist_ok=True)
    n_seeds = write_seeds(seeds_dir)
    print(f"fuzz: {seconds} s, {n_seeds} seeds, work folder {work}", flush=True)
    t_end = time.monotonic() + seconds
    t0 = time.monotonic()
    runs = execs = 0
    new: list[str] = []
    dup = 0
    cov = ft = 0
    while True:
        left = int(t_end - time.monotonic())
        if left < 5:
            break
        runs += 1
        before = set(os.listdir(artifacts))
        cmd = [
            sys.executable,
            os.path.abspath(__file__),
            "--worker",
            "--",
            corpus_dir,
            seeds_dir,
            f"-max_total_time={left}",
            f"-timeout={timeout}",
            "-rss_limit_mb=0",
            "-max_len=65536",
            f"-artifact_prefix={artifacts}",
            "-print_final_stats=1",
        ]
        log_path = os.path.join(work, f"libfuzzer-{runs}.log")
        with open(log_path, "w") as log:
            subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT, timeout=left + timeout + 120)
        with open(log_path, errors="replace") as f:
            text = f.read()
        m = re.findall(r"stat::number_of_executed_units:\s*(\d+)", text)
        if m:
            execs += int(m[-1])
        else:
            m2 = re.findall(r"#(\d+)\s", text)
            execs += int(m2[-1]) if m2 else 0
        c = re.findall(r"cov: (\d+) ft: (\d+)", text)
        if c:
            cov, ft = max(cov, int(c[-1][0])), max(ft, int(c[-1][1]))
        fresh = sorted(set(os.listdir(artifacts)) - before)
        if not fresh:
            if "Done" not in text and "DONE" not in text and left > 10:
                print(f"  libFuzzer run {runs} ended without a finding; see {log_path}")
            break
        for name in fresh:
            kind = name.split("-", 1)[0]
            saved = save_finding(os.path.join(artifacts, name), kind)
            if saved:
                new.append(saved)
                print(f"  finding: {saved}", flush=True)
            else:
                dup += 1
    took = time.monotonic() - t0
    print(
        f"\nfuzz: ran {took:.0f} s in {runs} libFuzzer run(s), {execs} executions "
        f"({execs / max(took, 1):.0f}/s), coverage {cov} edges / {ft} features"
    )
    print(f"fuzz: {len(new)} new finding(s), {dup} duplicate(s) of known ones")
    for name in new:
        print(f"  tests/fuzz/regressions/{name}.bin")
    return 1 if new else 0


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "--worker":
        worker_main(argv[2:] if len(argv) > 1 and argv[1] == "--" else argv[1:])
        return 0
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--seconds", type=int, default=int(os.environ.get("FUZZ_SECONDS", 300)))
    p.add_argument(
        "--work",
        default=os.path.join(tempfile.gettempdir(), "pixmill-fuzz"),
        help="corpus and artifacts (kept between runs)",
    )
    p.add_argument("--timeout", type=int, default=20, help="seconds before an input is a hang")
    p.add_argument("--replay", nargs="+", metavar="FILE", help="re-run inputs and exit")
    args = p.parse_args(argv)
    if args.replay:
        return replay(args.replay)
    return drive(args.seconds, args.work, args.timeout)


if __name__ == "__main__":
    sys.exit(main())
