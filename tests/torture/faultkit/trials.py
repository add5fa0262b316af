"""One trial per fault: build a batch, inject the fault at a random moment, check the five
invariants. Every trial is a function (rng, workdir) -> Outcome, used by the torture driver
(many trials each) and by tests/faults (a few, with fixed seeds).

"Recovery" is the time from the fault to the batch having settled what the fault hit: the
killed file's final result, the end of a cancelled batch, a hung file's failure after its
time limit ran out, the failure of a file that allocated without bound.
"""

from __future__ import annotations

import contextlib
import os
import random
import re
import resource
import shutil
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from . import corpus, invariants, procs
from .batch import (
    PIXMILL,
    SIGKILL,
    ApiRun,
    BatchRow,
    CliRun,
    Outcome,
    count_outputs,
    faults,
    fresh_dir,
    is_marked,
    make_batch,
    make_numbered,
    mark,
    pixmill_batches,
    random_recipe,
    recipe_cli_args,
    running_jobs,
    wait_for,
)
from .invariants import Expect, key

SLOW = faults("slow")


def _inputs(work: str, rng: random.Random, **kw: int) -> str:
    inp = fresh_dir(os.path.join(work, "in"))
    make_batch(inp, rng, **kw)
    return inp


def _est_duration(n_slow: int, workers: int = 2) -> float:
    return 0.6 + n_slow / workers * 1.0


# --- SIGKILL a worker ------------------------------------------------------------------------
def _kill_a_worker(
    rng: random.Random,
    workers: Callable[[], list[int]],
    running: Callable[[], bool],
    look: Callable[[int], int | None] = lambda pid: None,
    patience: float = 15.0,
) -> tuple[int | None, int | None, str]:
    """SIGKILL a random worker of a running batch: (pid, what look(pid) said it was doing
    just before, "") once one is hit, (None, None, "ended") when the batch was over first,
    (None, None, why) when it ran on for `patience` seconds with no worker to hit. A worker
    that is gone by the time the signal is sent (replaced since it was listed) is not a hit:
    another one is picked."""
    deadline = time.monotonic() + patience
    while running():
        pids = workers()
        if pids:
            pid = rng.choice(pids)
            doing = look(pid)
            try:
                os.kill(pid, SIGKILL)
            except ProcessLookupError:
                pass
            else:
                return pid, doing, ""
        if time.monotonic() > deadline:
            return None, None, f"no worker to kill for {patience:g} s while the batch ran"
        time.sleep(0.01)
    return None, None, "ended"


def trial_kill(rng: random.Random, work: str, mode: str | None = None, kills: int = 1) -> Outcome:
    """SIGKILL a random worker at a random moment (kills times), through the API or the CLI.
    One kill costs at most one retry, so every file must still convert. A kill moment after
    the batch ended hits nothing (the note says so); a running batch without a worker to hit
    is a violation."""
    mode = mode or rng.choice(["api", "cli"])
    inp = _inputs(work, rng, small=8, medium=2, slow=4)
    out = os.path.join(work, "out")
    recipe = random_recipe(rng, on_conflict=rng.choice(["rename", "skip", "overwrite"]))
    span = _est_duration(4)
    missed: list[str] = []
    if mode == "api":
        run = ApiRun([inp], out, recipe, faults=SLOW).start()
        kill_times: list[tuple[float, int | None]] = []
        for _ in range(kills):
            time.sleep(rng.uniform(0.0, span))
            pid, victim, why = _kill_a_worker(
                rng,
                run.worker_pids,
                lambda: run.events.done_at is None,
                lambda pid: running_jobs(run.runner).get(pid),
            )
            if pid is None:
                missed.append(why)
                break
            kill_times.append((time.monotonic(), victim))
        run.wait()
        recovery = None
        for t, victim in kill_times:
            if victim is not None and victim in run.events.finished:
                rec = run.events.finished[victim] - t
                recovery = rec if recovery is None else max(recovery, rec)
        ok_only = {key(j.source): {"ok", "skipped"} for j in run.jobs} if kills == 1 else {}
        v = run.check(statuses=ok_only)
        if kills > 1:
            v += _crash_messages_only(run.report.files)
        v += [f"[!] {why}" for why in missed if why != "ended"]
        hit = sum(1 for _, victim in kill_times if victim is not None)
        note = f"api, {len(kill_times)} kill(s), {hit} mid-file"
        if "ended" in missed:
            note += ", batch over before a kill"
        return Outcome(
            "kill worker",
            v,
            recovery,
            time.monotonic() - run.t0,
            note,
            files=run.report.files if run.report else [],
            kills=len(kill_times),
        )
    report = os.path.join(work, "report.json")
    run_c = CliRun([inp], out, recipe_cli_args(recipe), report, faults=SLOW).start()
    killed = 0
    for _ in range(kills):
        time.sleep(rng.uniform(0.2, span + 0.3))
        pid, _, why = _kill_a_worker(rng, run_c.workers, lambda: run_c.proc.poll() is None)
        if pid is None:
            missed.append(why)
            break
        killed += 1
    run_c.wait()
    ok_only = {key(j.source): {"ok", "skipped"} for j in run_c.plan.jobs} if kills == 1 else {}
    v = run_c.check(statuses=ok_only)
    v += [f"[!] {why}" for why in missed if why != "ended"]
    note = f"cli, {killed} kill(s)" + (", batch over before a kill" if "ended" in missed else "")
    return Outcome(
        "kill worker",
        v,
        None,
        run_c.exit_at - run_c.t0,
        note,
        exit_code=run_c.exit_code,
        kills=killed,
    )


def _crash_messages_only(files: list[dict]) -> list[str]:
    return [
        f"[1] {f['source']} failed for another reason than the crash: {f['error']}"
        for f in files
        if f["status"] == "failed" and "worker crashed" not in (f.get("error") or "")
    ]


# --- a decoder that hangs --------------------------------------------------------------------
def trial_hang(rng: random.Random, work: str, mode: str | None = None) -> Outcome:
    """One or two files hang forever; the per-file time limit fails them, the rest convert."""
    mode = mode or rng.choice(["api", "cli"])
    inp = _inputs(work, rng, small=8, medium=1, slow=0)
    names = sorted(os.listdir(inp))
    hung = rng.sample([n for n in names if n.endswith((".png", ".jpg", ".webp"))], 2)
    for n in hung:
        os.rename(os.path.join(inp, n), os.path.join(inp, mark("hang") + n))
    out = os.path.join(work, "out")
    limit = rng.choice([1.0, 1.5, 2.0])
    recipe = random_recipe(rng)
    if mode == "api":
        run = ApiRun([inp], out, recipe, faults=faults("hang"), time_limit=limit).start()
        run.wait()
        statuses = {}
        recovery = 0.0
        for j in run.jobs:
            if is_marked(j.source, "hang"):
                statuses[key(j.source)] = {"failed"}
                if j.index in run.events.started and j.index in run.events.finished:
                    late = run.events.finished[j.index] - run.events.started[j.index] - limit
                    recovery = max(recovery, late)
            else:
                statuses[key(j.source)] = {"ok", "skipped"}
        v = run.check(statuses=statuses)
        v += _limit_messages(run.report.files if run.report else [], limit)
        return Outcome(
            "hang -> time limit", v, recovery, time.monotonic() - run.t0, f"api, limit {limit:g} s"
        )
    report = os.path.join(work, "report.json")
    args = [*recipe_cli_args(recipe), "--time-limit", str(limit)]
    run_c = CliRun([inp], out, args, report, faults=faults("hang")).start()
    run_c.wait()
    statuses = {
        key(j.source): {"failed"} if is_marked(j.source, "hang") else {"ok", "skipped"}
        for j in run_c.plan.jobs
    }
    v = run_c.check(statuses=statuses)
    data = run_c.load_report() or {}
    v += _limit_messages(data.get("files", []), limit)
    return Outcome(
        "hang -> time limit",
        v,
        None,
        run_c.exit_at - run_c.t0,
        f"cli, limit {limit:g} s",
        exit_code=run_c.exit_code,
    )


def _limit_messages(files: list[dict], limit: float) -> list[str]:
    return [
        f"[1] hung file failed without naming the time limit: {f['error']}"
        for f in files
        if f["status"] == "failed"
        and is_marked(f["source"], "hang")
        and "time limit" not in f["error"]
    ]


# --- cancel ----------------------------------------------------------------------------------
def trial_cancel(rng: random.Random, work: str, mode: str | None = None) -> Outcome:
    """Cancel at a random moment: runner.cancel(), or SIGINT to the CLI (alone or to its
    whole process group, like Ctrl-C), or SIGTERM."""
    mode = mode or rng.choice(["api", "cli"])
    inp = _inputs(work, rng, small=10, medium=3, slow=4)
    out = os.path.join(work, "out")
    recipe = random_recipe(rng)
    span = _est_duration(4) + 0.5
    if mode == "api":
        run = ApiRun([inp], out, recipe, faults=SLOW).start()
        time.sleep(rng.uniform(0.0, span))
        t_cancel = time.monotonic()
        run.runner.cancel()
        run.wait()
        done = run.events.done_at or time.monotonic()
        late = done < t_cancel  # the batch had already finished: nothing to recover from
        v = run.check(cancelled=True)
        return Outcome(
            "cancel",
            v,
            None if late else done - t_cancel,
            time.monotonic() - run.t0,
            "api, after the end" if late else "api",
        )
    report = os.path.join(work, "report.json")
    run_c = CliRun([inp], out, recipe_cli_args(recipe), report, faults=SLOW).start()
    how = rng.choice(["SIGINT", "SIGINT group", "SIGTERM"])
    # Not before the first worker exists: earlier is covered by trial_cancel_early.
    wait_for(lambda: bool(run_c.workers()), 10)
    time.sleep(rng.uniform(0.0, span))
    t_cancel = time.monotonic()
    sig = signal.SIGTERM if how == "SIGTERM" else signal.SIGINT
    delivered = run_c.signal(sig, group=how.endswith("group"))
    code = run_c.wait()
    # The CLI starts its workers while it scans: a signal before the batch starts ends it
    # with 130 and no report, which is fine as long as nothing was written.
    v = run_c.check(cancelled=True, allow_no_report=True)
    if code not in (0, 1, 130):
        v.append(f"[5] {how} gave exit status {code}")
    note = f"cli {how}" + ("" if run_c.load_report() else ", before the batch")
    if not delivered:
        note += ", after the CLI had exited"
    return Outcome(
        "cancel", v, run_c.exit_at - t_cancel, run_c.exit_at - run_c.t0, note, exit_code=code
    )


def trial_cancel_early(rng: random.Random, work: str) -> Outcome:
    """SIGINT to the CLI in its first moments (imports, planning, pool start-up)."""
    inp = _inputs(work, rng, small=6, medium=0, slow=2)
    out = os.path.join(work, "out")
    report = os.path.join(work, "report.json")
    run_c = CliRun([inp], out, ["--format", "png"], report, faults=SLOW).start()
    time.sleep(rng.uniform(0.0, 0.6))
    t_cancel = time.monotonic()
    delivered = run_c.signal(signal.SIGINT, group=rng.random() < 0.5)
    code = run_c.wait()
    v = run_c.check(cancelled=True, allow_no_report=True)
    note = f"exit {code}" + ("" if delivered else ", signal after the CLI had exited")
    if "Traceback" in run_c.stderr:
        # Not an invariant; pinned by test_ctrl_c_while_the_cli_starts_exits_quietly.
        note += ", traceback"
    return Outcome(
        "cancel early (CLI)",
        v,
        run_c.exit_at - t_cancel,
        run_c.exit_at - run_c.t0,
        note,
        exit_code=code,
    )


# --- unbounded allocation --------------------------------------------------------------------
def trial_alloc(rng: random.Random, work: str) -> Outcome:
    """A worker allocates without bound; the memory ceiling makes it a clean per-file
    'not enough memory' failure."""
    inp = _inputs(work, rng, small=6, medium=1, slow=0)
    victim = rng.choice(sorted(n for n in os.listdir(inp) if n.endswith((".png", ".jpg"))))
    os.rename(os.path.join(inp, victim), os.path.join(inp, mark("alloc") + victim))
    out = os.path.join(work, "out")
    limit = rng.choice([512, 768, 1024]) << 20
    run = ApiRun([inp], out, random_recipe(rng), faults=faults("alloc"), memory_limit=limit)
    run.start()
    run.wait()
    statuses = {}
    recovery = None
    for j in run.jobs:
        if is_marked(j.source, "alloc"):
            statuses[key(j.source)] = {"failed"}
            if j.index in run.events.started and j.index in run.events.finished:
                recovery = run.events.finished[j.index] - run.events.started[j.index]
        else:
            statuses[key(j.source)] = {"ok", "skipped"}
    v = run.check(statuses=statuses)
    for f in run.report.files if run.report else []:
        if is_marked(f["source"], "alloc") and "memory" not in (f.get("error") or ""):
            v.append(f"[1] runaway allocation not reported as a memory failure: {f['error']}")
    return Outcome(
        "unbounded allocation", v, recovery, time.monotonic() - run.t0, f"limit {limit >> 20} MiB"
    )


# --- disk full -------------------------------------------------------------------------------
@contextlib.contextmanager
def tmpfs(path: str, size_kb: int):
    """A small tmpfs at path (root only); yields False when it cannot be mounted."""
    os.makedirs(path, exist_ok=True)
    r = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size_kb}k", "tmpfs", path],
        capture_output=True,
    )
    try:
        yield r.returncode == 0
    finally:
        if r.returncode == 0:
            for _ in range(50):
                if subprocess.run(["umount", path], capture_output=True).returncode == 0:
                    break
                time.sleep(0.1)


def can_mount() -> bool:
    if os.geteuid() != 0:
        return False
    probe = f"/tmp/.pixmill-mount-probe-{os.getpid()}"
    with tmpfs(probe, 64) as ok:
        pass
    with contextlib.suppress(OSError):
        os.rmdir(probe)
    return ok


def trial_disk_full(
    rng: random.Random, work: str, how: str | None = None, fmt: str | None = None
) -> Outcome:
    """The output disk fills up mid-batch: a small tmpfs (filled further at a random
    moment), or RLIMIT_FSIZE on the CLI process. Failures must say why; no truncated
    output may sit under a final name."""
    how = how or rng.choice(["tmpfs", "fsize"] if can_mount() else ["fsize"])
    inp = _inputs(work, rng, small=6, medium=4, slow=2)
    out = os.path.join(work, "out")
    fmt = fmt or rng.choice(["png", "tiff", "bmp", "webp"])
    recipe = random_recipe(rng, format=fmt, resize=_no_resize())
    report = os.path.join(work, "report.json")
    if how == "fsize":
        limit = rng.choice([64, 256, 1024]) << 10

        def preexec() -> None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

        run_c = CliRun(
            [inp], out, recipe_cli_args(recipe), report, faults=SLOW, preexec=preexec
        ).start()
        run_c.wait()
        v = run_c.check()
        data = run_c.load_report() or {"files": []}
        v += _space_messages(data["files"], ("file size limit", "too large", "disk full"))
        n = sum(1 for f in data["files"] if f["status"] == "failed")
        return Outcome(
            "disk full",
            v,
            None,
            run_c.exit_at - run_c.t0,
            f"RLIMIT_FSIZE {limit >> 10} KiB, {fmt}, {n} failed",
            exit_code=run_c.exit_code,
        )
    size_kb = rng.choice([1024, 3072, 6144])
    with tmpfs(out, size_kb) as mounted:
        if not mounted:
            return Outcome("disk full", [], None, 0.0, "skipped: cannot mount tmpfs")
        run_c = CliRun([inp], out, recipe_cli_args(recipe), report, faults=SLOW).start()
        time.sleep(rng.uniform(0.0, _est_duration(2)))
        # Fill what is left, then the rest of the batch hits a full disk.
        with contextlib.suppress(OSError), open(os.path.join(out, "filler.bin"), "wb") as f:
            while True:
                f.write(b"\0" * 65536)
        run_c.wait()
        v = run_c.check(ignore={key(os.path.join(out, "filler.bin")), key(report)})
        data = run_c.load_report() or {"files": []}
    v += _space_messages(data["files"], ("disk full", "no space"))
    n = sum(1 for f in data["files"] if f["status"] == "failed")
    return Outcome(
        "disk full",
        v,
        None,
        run_c.exit_at - run_c.t0,
        f"tmpfs {size_kb} KiB, {fmt}, {n} failed",
        exit_code=run_c.exit_code,
    )


def _no_resize():
    from pixmill.engine.recipe import Resize

    return Resize()


def _space_messages(files: list[dict], words: tuple[str, ...]) -> list[str]:
    return [
        f"[1] out-of-space failure does not say so: {f['source']}: {f['error']}"
        for f in files
        if f["status"] == "failed" and not any(w in (f.get("error") or "") for w in words)
    ]


# --- output folder removed / made read-only --------------------------------------------------
def trial_outdir_removed(rng: random.Random, work: str) -> Outcome:
    inp = _inputs(work, rng, small=8, medium=2, slow=3)
    out = os.path.join(work, "out")
    run = ApiRun([inp], out, random_recipe(rng), faults=SLOW).start()
    time.sleep(rng.uniform(0.1, _est_duration(3)))
    t = time.monotonic()
    shutil.rmtree(out, ignore_errors=True)
    run.wait()
    statuses = {key(j.source): {"ok", "failed", "skipped"} for j in run.jobs}
    v = run.check(outputs_removed=True, statuses=statuses)
    return Outcome("output folder removed", v, None, time.monotonic() - t, "api")


@contextlib.contextmanager
def read_only(path: str):
    """Make path read-only for everyone, root included: a read-only bind mount over it.
    Yields False when that is not possible here."""
    r = subprocess.run(["mount", "--bind", path, path], capture_output=True)
    if r.returncode != 0:
        yield False
        return
    ok = False
    for _ in range(100):
        rr = subprocess.run(["mount", "-o", "remount,bind,ro", path], capture_output=True)
        if rr.returncode == 0:
            ok = True
            break
        time.sleep(0.01)
    try:
        yield ok
    finally:
        for _ in range(50):
            if subprocess.run(["umount", path], capture_output=True).returncode == 0:
                break
            time.sleep(0.1)


def trial_outdir_readonly(rng: random.Random, work: str) -> Outcome:
    inp = _inputs(work, rng, small=8, medium=2, slow=3)
    out = fresh_dir(os.path.join(work, "out"))
    os.makedirs(os.path.join(out, "sub"), exist_ok=True)
    run = ApiRun([inp], out, random_recipe(rng), faults=SLOW).start()
    time.sleep(rng.uniform(0.1, _est_duration(3)))
    with read_only(out) as ok:
        if not ok:
            run.wait()
            run.check()
            return Outcome("output folder read-only", [], None, 0.0, "skipped: no bind mount")
        run.wait()
        report = run.report
    statuses = {key(j.source): {"ok", "failed", "skipped"} for j in run.jobs}
    v = run.check(statuses=statuses)
    excused = [x for x in v if x.startswith("[3] temp file left behind")]
    v = [x for x in v if x not in excused]
    for f in report.files if report else []:
        if f["status"] == "failed" and "read-only" not in (f["error"] or ""):
            v.append(f"[1] read-only failure does not say so: {f['error']}")
    note = f"{sum(1 for f in report.files if f['status'] == 'failed')} failed" if report else ""
    if excused:
        note += f"; {len(excused)} temp file(s) stranded while read-only"
    return Outcome("output folder read-only", v, None, time.monotonic() - run.t0, note)


# --- sources deleted or rewritten mid-run ----------------------------------------------------
def trial_source_changed(rng: random.Random, work: str, how: str | None = None) -> Outcome:
    how = how or rng.choice(["deleted", "rewritten", "truncated", "replaced"])
    inp = _inputs(work, rng, small=8, medium=2, slow=3)
    out = os.path.join(work, "out")
    run = ApiRun([inp], out, random_recipe(rng), faults=SLOW)
    later = [j.source for j in run.jobs[len(run.jobs) // 2 :]]
    victims = rng.sample(later, 2)
    run.start()
    time.sleep(rng.uniform(0.0, _est_duration(3) / 2))
    png = corpus.valid_images()["rgb.png"]
    for src in victims:
        if how == "deleted":
            os.unlink(src)
        elif how == "rewritten":  # in place: a reader may see it half-written
            with open(src, "r+b") as f:
                f.truncate(0)
                f.write(png)
        elif how == "truncated":
            with open(src, "r+b") as f:
                f.truncate(max(1, os.path.getsize(src) // 3))
        else:  # atomically replaced by another image
            tmp = src + ".new"
            with open(tmp, "wb") as f:
                f.write(png)
            os.replace(tmp, src)
    run.wait()
    statuses = {key(s): {"ok", "failed", "skipped"} for s in victims}
    v = run.check(mutated={key(s) for s in victims}, statuses=statuses)
    return Outcome("source deleted/rewritten", v, None, time.monotonic() - run.t0, how)


# --- same folder twice; output folder is the input folder ------------------------------------
def trial_same_folder_twice(rng: random.Random, work: str) -> Outcome:
    inp = _inputs(work, rng, small=8, medium=1, slow=1)
    link = os.path.join(work, "link-to-in")
    if not os.path.lexists(link):
        os.symlink(inp, link)
    first = sorted(os.listdir(inp))[0]
    inputs = [inp, inp + os.sep, link, os.path.join(inp, first), os.path.join(inp, "sub"), inp]
    rng.shuffle(inputs)
    out = os.path.join(work, "out")
    if rng.random() < 0.5:
        run = ApiRun(inputs, out, random_recipe(rng)).start()
        run.wait()
        v = run.check()
        files = run.report.files if run.report else []
        mode = "api"
    else:
        report = os.path.join(work, "report.json")
        run_c = CliRun(inputs, out, recipe_cli_args(random_recipe(rng)), report).start()
        run_c.wait()
        v = run_c.check()
        files = (run_c.load_report() or {}).get("files", [])
        mode = "cli"
    real = {os.path.realpath(os.path.join(d, n)) for d, _, ns in os.walk(inp) for n in ns}
    if len(files) != len(real):
        v.append(f"[1] {len(real)} distinct sources but {len(files)} report entries")
    targets = [f["target"] for f in files if f["status"] == "ok"]
    if len(set(targets)) != len(targets):
        v.append("[3] two sources were written to the same output")
    return Outcome("same folder twice", v, None, 0.0, mode)


def trial_out_is_in(rng: random.Random, work: str) -> Outcome:
    """-o equal to the input folder, twice in a row (the second run sees the first run's
    outputs as sources); overwrite policy and format 'same' included: no source may change."""
    inp = _inputs(work, rng, small=8, medium=1, slow=1)
    recipe = random_recipe(rng, on_conflict=rng.choice(["overwrite", "rename", "skip"]))
    if rng.random() < 0.4:
        recipe = recipe.replace(format="same")
    v: list[str] = []
    for rnd in range(2):
        report = os.path.join(work, f"report{rnd}.json")
        run_c = CliRun([inp], inp, recipe_cli_args(recipe), report).start()
        run_c.wait()
        v += [f"run {rnd + 1}: {x}" for x in run_c.check()]
    return Outcome(
        "output folder = input folder", v, None, 0.0, f"{recipe.format}/{recipe.on_conflict}"
    )


# --- corrupt inputs --------------------------------------------------------------------------
def trial_corrupt(rng: random.Random, work: str, small: bool = False) -> Outcome:
    """The torture corpus as one batch: every file is ok or fails with a user message;
    valid, lying and awkward files convert; bombs fail."""
    inp = fresh_dir(os.path.join(work, "in"))
    seed = rng.randrange(1 << 30)
    entries = corpus.corpus(seed=seed, small=small)
    # HEIC, JPEG XL and camera RAW files, valid and broken (tests/torture/gen_corpus.py).
    import gen_corpus

    entries += gen_corpus.new_format_entries(seed=seed, small=small)
    corpus.write(entries, inp)
    out = os.path.join(work, "out")
    # The quality search, the lossless optimisers and palettes meet every odd file too.
    recipe = random_recipe(rng, compress=True, on_conflict="rename")
    expect: dict[str, set[str]] = {}
    for e in entries:
        k = key(e.path_in(inp))
        if e.kind in ("valid", "lying", "awkward"):
            expect[k] = {"ok"}
        elif e.kind in ("bomb", "empty"):
            expect[k] = {"failed"}
        else:
            expect[k] = {"ok", "failed"}
    if (
        recipe.max_size
        or recipe.format == "gif"
        or (recipe.format == "same" and rng.random() < 0.5)
    ):
        # outputs that cannot hold a mode (e.g. 16-bit to GIF) may fail with a message
        for k in expect:
            expect[k] = expect[k] | {"failed"} if expect[k] == {"ok"} else expect[k]
    if rng.random() < 0.5:
        run = ApiRun([inp], out, recipe, deadline=300).start()
        run.wait()
        v = run.check(statuses=expect)
        files = run.report.files if run.report else []
        mode = "api"
    else:
        report = os.path.join(work, "report.json")
        run_c = CliRun([inp], out, recipe_cli_args(recipe), report, deadline=300).start()
        run_c.wait()
        v = run_c.check(statuses=expect)
        files = (run_c.load_report() or {}).get("files", [])
        mode = "cli"
    planned = {key(e.path_in(inp)) for e in entries if e.planned}
    listed = {key(f["source"]) for f in files}
    for k in sorted(planned - listed):
        v.append(f"[1] corpus file not in the report: {k}")
    for k in sorted(listed - planned):
        v.append(f"[1] hidden or non-image file was converted: {k}")
    return Outcome("corrupt inputs", v, None, 0.0, f"{mode}, {len(entries)} files, {recipe.format}")


# --- SIGKILL the whole process group, then --resume ------------------------------------------
#: Files in a crash-resume batch.
RESUME_FILES = 300
#: Longest side of its sources per output format: a batch takes about 3-4 s with 2 workers on
#: 2 cores (JPEG encodes fastest, so it gets the largest images).
RESUME_EDGE = {"jpeg": 1000, "webp": 360, "png": 320}
#: A renamed sibling (photo-1.jpg): never the name of a crash-resume output.
_RENAMED = re.compile(r"-\d+\.[^.]*$")


@dataclass
class GroupKill:
    """One SIGKILL to a CLI's whole process group (the CLI, its workers, their helpers):
    at: seconds after the CLI started; outputs: files under final names once the group was
    gone; delivered: False when the CLI had already exited by itself; violations: processes
    that outlived the kill."""

    run: str
    at: float
    outputs: int
    delivered: bool
    violations: list[str] = field(default_factory=list)

    def describe(self) -> str:
        if not self.delivered:
            return f"{self.run} exited by itself after {self.at:.2f} s"
        return f"{self.run} killed at {self.at:.2f} s with {self.outputs} outputs"


def kill_group_when(
    run: CliRun, out: str, moment: tuple[str, float], label: str, patience: float = 60.0
) -> GroupKill:
    """SIGKILL run's whole process group at moment: ("time", s) after the CLI started, or
    ("outputs", n) once n outputs are under final names in out (polled every 4 ms); then
    wait for every process of the group to be gone. A moment that has not come after
    patience seconds is a violation (the group is killed then)."""
    kind, when = moment
    late = False
    while run.proc.poll() is None:
        elapsed = time.monotonic() - run.t0
        if (kind == "time" and elapsed >= when) or (
            kind == "outputs" and count_outputs(out) >= when
        ):
            break
        if elapsed > patience:
            late = True
            break
        time.sleep(0.004)
    at = time.monotonic() - run.t0
    delivered = run.signal(SIGKILL, group=True)
    run.wait()
    left = procs.wait_group_gone(run.proc.pid, 5.0)
    v = [f"[4] {label}: alive after SIGKILL to its group: {procs.describe(w)}" for w in left]
    seen = [w for w in run.tracker.seen if w[0] != run.proc.pid]
    v += [f"{label}: {x}" for x in invariants.check_processes(seen)]
    if late:
        v.append(f"[!] {label}: {kind} {when:g} not reached within {patience:g} s")
    return GroupKill(label, at, count_outputs(out), delivered, v)


def random_moment(rng: random.Random, done: int = 0) -> tuple[str, float]:
    """A kill moment for a run that starts with `done` of the batch's outputs in place: in
    a quarter of the cases a time in its first 0.7 s (imports, the journal, the workers'
    start: possibly before the batch is recorded at all), else a number of outputs from one
    more than `done` to 15 short of the end."""
    if rng.random() < 0.25:
        return ("time", rng.uniform(0.0, 0.7))
    return ("outputs", rng.randint(done + 1, max(done + 1, RESUME_FILES - 15)))


class CrashResume:
    """A RESUME_FILES-file `pixmill convert` batch with a journal of its own (XDG_DATA_HOME
    inside work, so batches of other trials or tests never mix in), to kill and resume.
    fmt and long_edge default to a choice of rng (jpeg/webp/png; a long edge of 256 or 512
    in 30% of the cases); long_edge=0: no resize."""

    def __init__(
        self,
        work: str,
        rng: random.Random,
        fmt: str | None = None,
        long_edge: int | None = None,
    ) -> None:
        self.work = work
        self.fmt = fmt or rng.choice(("jpeg", "webp", "png"))
        if long_edge is None and rng.random() < 0.3:
            long_edge = rng.choice((256, 512))
        self.long_edge = long_edge
        self.args = ["--format", self.fmt]
        if long_edge:
            self.args += ["--long-edge", str(long_edge)]
        self.inp = fresh_dir(os.path.join(work, "in"))
        self.sources = make_numbered(self.inp, rng, RESUME_FILES, RESUME_EDGE[self.fmt])
        self.out = os.path.join(work, "out")
        self.env = {"XDG_DATA_HOME": os.path.join(work, "xdg")}
        self.before = invariants.snapshot([self.inp])

    def describe(self) -> str:
        return self.fmt + (f" long edge {self.long_edge}" if self.long_edge else "")

    def _cli(self, report: str, argv: list[str] | None = None) -> CliRun:
        return CliRun(
            [self.inp],
            self.out,
            self.args,
            os.path.join(self.work, report),
            argv=argv,
            env=self.env,
            snapshot=False,
        )

    def convert(self, report: str) -> CliRun:
        """Start the batch's command: `pixmill convert IN -o OUT --format F ... --report`."""
        return self._cli(report).start()

    def resume(self, report: str) -> CliRun:
        """Start `pixmill convert --resume --report ...`."""
        path = os.path.join(self.work, report)
        argv = [PIXMILL, "convert", "--resume", "--workers", "2", "--report", path, "--quiet"]
        return self._cli(report, argv).start()

    def batches(self) -> tuple[list[BatchRow], str]:
        return pixmill_batches(self.env)

    def nothing_to_resume(self) -> list[str]:
        """`--resume` when the journal holds no interrupted batch: it says so, exits 2, writes
        nothing and leaves no process behind."""
        probe = self.resume("report-nothing.json")
        probe.wait()
        v = []
        if probe.exit_code != 2 or "no interrupted batch" not in probe.stderr:
            v.append(
                f"[5] --resume with nothing to resume: exit {probe.exit_code}, "
                f"{probe.stderr.strip()[-300:]!r}"
            )
        if os.path.exists(probe.report_path):
            v.append("[1] --resume with nothing to resume wrote a report")
        return v + _gone(probe, "--resume with nothing to resume")

    def check(
        self, final: CliRun | None, batch_id: int | None, killed_at_end: bool = False
    ) -> list[str]:
        """The batch is complete: the final run (None: the batch ended just before its kill,
        which came before its report was written) exited 0 (killed_at_end: it was killed
        after it had recorded the batch's end, so its exit status is the kill's) and
        reported every source once as ok; every source has exactly one output, under its
        planned name, that decodes fully; no temp file anywhere under the output folder;
        the sources are untouched; `pixmill batches` shows batch_id (None: the only batch)
        finished."""
        ex = Expect(
            sources=[key(s) for s in self.sources],
            out_dirs=[self.out],
            before=self.before,
            statuses={key(s): {"ok"} for s in self.sources},
        )
        v = []
        if final is not None:
            v += _gone(final, "the final run")
            if final.exit_code != 0 and not killed_at_end:
                v.append(f"[5] final run exit {final.exit_code}: {final.stderr.strip()[-300:]!r}")
            if "Traceback" in final.stderr:
                v.append(f"[1] traceback on stderr: {final.stderr[-400:]!r}")
            data = final.load_report()
            if data is None:
                v.append("[1] the final run wrote no report")
            else:
                files = data.get("files", [])
                if len(files) != RESUME_FILES:
                    v.append(f"[1] the report lists {len(files)} files, not {RESUME_FILES}")
                v += invariants.check_report(files, ex)
                code = None if killed_at_end else final.exit_code
                v += invariants.check_summary(data.get("summary", {}), files, code)
                # Also: every file under the output folder is an ok result's output and
                # decodes fully (every frame), sizes match, no temp file is left.
                v += invariants.check_outputs(files, ex)
        v += invariants.check_sources(ex)
        v += self.check_outputs_by_source(decode=final is None)
        rows, problem = self.batches()
        if problem:
            v.append(f"[!] {problem}")
        if batch_id is None and len(rows) != 1:
            v.append(f"[1] {len(rows)} batches in the journal, expected one: {rows}")
        row = next((r for r in rows if batch_id in (None, r.id)), None)
        if row is None:
            v.append(f"[1] batch {batch_id} is not in `pixmill batches`")
        elif (row.state, row.done, row.total) != ("finished", RESUME_FILES, RESUME_FILES):
            shown = f"{row.state} {row.done}/{row.total}"
            v.append(f"[1] `pixmill batches` shows batch {row.id} {shown}, not finished")
        return v

    def check_outputs_by_source(self, decode: bool = False) -> list[str]:
        """Exactly one output per source (matched by folder and stem), none under a renamed
        name, nothing else, no temp file; decode: also load each output fully."""
        want = {os.path.splitext(os.path.relpath(s, self.inp))[0] for s in self.sources}
        found: dict[str, list[str]] = {}
        v = []
        for path in invariants.walk_files(self.out):
            rel = os.path.relpath(os.fsdecode(path), self.out)
            name = os.path.basename(rel)
            if name.startswith("."):
                v.append(f"[3] temp or hidden file left in the output folder: {rel}")
                continue
            if _RENAMED.search(name):
                v.append(f"[1] renamed duplicate output: {rel}")
            found.setdefault(os.path.splitext(rel)[0], []).append(rel)
            if decode and (why := invariants.decode_problem(path)):
                v.append(f"[3] output does not decode: {rel}: {why}")
        for stem in sorted(want):
            outs = found.get(stem, [])
            if len(outs) != 1:
                v.append(f"[1] source {stem} has {len(outs)} outputs: {outs}")
        for stem in sorted(set(found) - want):
            v.append(f"[1] output of no source: {found[stem]}")
        return v


def _gone(run: CliRun, label: str) -> list[str]:
    """Every process a CLI run started has ended (orphans re-parented to us included)."""
    for pid in procs.children() - run._pre_children:
        who = procs.ident(pid)
        if who and who[0] != run.proc.pid:
            run.tracker.seen.add(who)
    seen = [w for w in run.tracker.seen if w[0] != run.proc.pid]
    return [f"{label}: {x}" for x in invariants.check_processes(seen)]


def trial_crash_resume(
    rng: random.Random,
    work: str,
    moment: tuple[str, float] | None = None,
    kill_resume: bool | None = None,
) -> Outcome:
    """SIGKILL the whole CLI process group at a random moment of a 300-file batch (and now
    and then its first --resume too); the last --resume leaves one complete output per
    source, no renamed duplicate, no temp file, and a report of all 300 files once."""
    t0 = time.monotonic()
    cr = CrashResume(work, rng)
    if kill_resume is None:
        kill_resume = rng.random() < 0.35
    moment = moment or random_moment(rng)
    first = cr.convert("report-killed.json")
    hit = kill_group_when(first, cr.out, moment, "batch")
    kills = [hit]
    v = list(hit.violations)
    rows, problem = cr.batches()
    if problem:
        v.append(f"[!] {problem}")
    if len(rows) > 1:
        v.append(f"[1] one batch ran but the journal lists {len(rows)}: {rows}")
    state = rows[0].state if rows else None
    batch_id = rows[0].id if rows else None
    final: CliRun | None = None
    killed_at_end = False
    if state is None:
        # Killed before the batch was recorded: nothing to resume; the command again.
        case = "no batch yet"
        if not hit.delivered:
            v.append(f"[1] the batch exited {first.exit_code} but the journal has no batch")
        v += cr.nothing_to_resume()
        final = cr.convert("report.json")
        final.wait()
    elif state == "finished":
        # The batch ended (or had recorded its end) before the kill.
        case = "after the end"
        v += cr.nothing_to_resume()
        if not hit.delivered or first.load_report() is not None:
            final, killed_at_end = first, hit.delivered
    elif state == "interrupted":
        case = "mid-batch"
        to_resume = True
        if kill_resume and RESUME_FILES - hit.outputs > 20:
            again = cr.resume("report-resume-killed.json")
            hit2 = kill_group_when(again, cr.out, random_moment(rng, hit.outputs), "resume")
            kills.append(hit2)
            v += hit2.violations
            rows, problem = cr.batches()
            state2 = next((r.state for r in rows if r.id == batch_id), None)
            if state2 == "interrupted" and hit2.delivered:
                case = "mid-batch+resume killed"
            elif state2 == "finished":
                # The resume ended (or recorded its end) before its kill: it was the last run.
                to_resume = False
                if not hit2.delivered or again.load_report() is not None:
                    final, killed_at_end = again, hit2.delivered
            else:
                v.append(f"[1] after the resume's kill, batch {batch_id} is {state2!r}")
        if to_resume:
            final = cr.resume("report.json")
            final.wait()
    else:
        case = f"state {state}"
        v.append(f"[1] after SIGKILL to its process group, batch {batch_id} is {state!r}")
    v += cr.check(final, batch_id, killed_at_end)
    recovery = None
    if final is not None and final is not first and not killed_at_end:
        recovery = final.exit_at - final.t0
    moments = [
        {"run": k.run, "at": round(k.at, 3), "outputs": k.outputs, "delivered": k.delivered}
        for k in kills
    ]
    note = ", ".join(
        [case, *(k.describe() for k in kills), cr.describe()]
        + ([f"last run {recovery:.1f} s"] if recovery is not None else [])
    )
    return Outcome(
        "SIGKILL process group + resume",
        v,
        recovery,
        time.monotonic() - t0,
        note,
        exit_code=final.exit_code if final is not None else None,
        kills=sum(1 for k in kills if k.delivered),
        moments=moments,
    )


# --- the catalogue ---------------------------------------------------------------------------
Trial = Callable[[random.Random, str], Outcome]

CATALOGUE: dict[str, Trial] = {
    "kill": trial_kill,
    "hang": trial_hang,
    "cancel": trial_cancel,
    "cancel-early": trial_cancel_early,
    "alloc": trial_alloc,
    "disk-full": trial_disk_full,
    "outdir-removed": trial_outdir_removed,
    "outdir-readonly": trial_outdir_readonly,
    "source-changed": trial_source_changed,
    "same-folder-twice": trial_same_folder_twice,
    "out-is-in": trial_out_is_in,
    "corrupt": trial_corrupt,
    "crash-resume": trial_crash_resume,
}


def run_guarded(fn: Trial, rng: random.Random, work: str) -> Outcome:
    """Run a trial; a crash of the trial itself becomes a violation, not a dead driver."""
    t0 = time.monotonic()
    try:
        return fn(rng, work)
    except Exception as exc:  # noqa: BLE001
        import traceback

        return Outcome(
            getattr(fn, "__name__", "trial"),
            [f"[!] trial crashed: {type(exc).__name__}: {exc}\n{traceback.format_exc()}"],
            None,
            time.monotonic() - t0,
        )
    finally:
        procs.reap_orphans()
