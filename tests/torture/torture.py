"""The torture driver: many trials per fault, the five invariants checked after each one, and
a table at the end (trials per fault, invariant violations, slowest recovery).

    .venv/bin/python tests/torture/torture.py                  # `make torture`
    .venv/bin/python tests/torture/torture.py --faults kill,cancel --trials 10
    .venv/bin/python tests/torture/torture.py --faults crash-resume --resume-trials 30
    .venv/bin/python tests/torture/torture.py --list

Exit status 0 when every invariant held in every trial, 1 otherwise. A trial that broke an
invariant keeps its folder (inputs, outputs, report) under --work for a post-mortem, and
its seed, so `--faults F --only-trial N --seed S` replays it. Every trial gets a Pixmill data
folder (batch journal, locks) of its own inside its folder: XDG_DATA_HOME for the CLIs it
starts.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from faultkit import procs  # noqa: E402
from faultkit.invariants import KNOWN_ENGINE_BUGS, split_known  # noqa: E402
from faultkit.trials import CATALOGUE, Outcome, run_guarded  # noqa: E402

#: Faults the issue asks 50 trials of; crash-resume gets --resume-trials (30), the rest
#: --other-trials.
MAIN_FAULTS = ("kill", "cancel")
RESUME_FAULTS = ("crash-resume",)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--trials", type=int, default=50, help="trials of kill and cancel (50)")
    p.add_argument("--resume-trials", type=int, default=30, help="trials of crash-resume (30)")
    p.add_argument("--other-trials", type=int, default=10, help="trials of every other fault")
    p.add_argument("--faults", default="", help="comma-separated subset (see --list)")
    p.add_argument("--seed", type=int, default=None, help="base seed (default: time)")
    p.add_argument("--only-trial", type=int, default=None, help="run just this trial number")
    p.add_argument("--work", default=None, help="scratch folder (default: a temp folder)")
    p.add_argument("--json", default=None, help="also write the results as JSON here")
    p.add_argument("--list", action="store_true", help="list the faults and exit")
    p.add_argument("--quiet", action="store_true", help="no per-trial lines")
    p.add_argument(
        "--allow-known",
        action="store_true",
        help="exit 0 when the only violations are known engine bugs (see KNOWN_ENGINE_BUGS)",
    )
    return p.parse_args(argv)


def table(rows: list[dict[str, Any]]) -> str:
    """violations: trials that broke an invariant; known: those whose every violation is a
    known engine bug pinned by a strict xfail test (still violations: must reach 0)."""
    head = (
        f"{'fault':<30} {'trials':>6} {'violations':>10} {'known bug':>9} "
        f"{'slowest recovery':>17}  notes"
    )
    lines = [head, "-" * len(head)]
    for r in rows:
        rec = "-" if r["slowest_recovery"] is None else f"{r['slowest_recovery']:.2f} s"
        lines.append(
            f"{r['fault']:<30} {r['trials']:>6} {r['trials_with_violations']:>10} "
            f"{r['trials_known_only']:>9} {rec:>17}  {r['notes']}"
        )
    total_t = sum(r["trials"] for r in rows)
    total_v = sum(r["trials_with_violations"] for r in rows)
    total_k = sum(r["trials_known_only"] for r in rows)
    lines.append("-" * len(head))
    lines.append(f"{'total':<30} {total_t:>6} {total_v:>10} {total_k:>9}")
    return "\n".join(lines)


def moments_text(row: dict[str, Any]) -> str:
    """The kill moments of a fault's trials (those killing at chosen moments), one line per
    trial: when after its run started each kill came and how many outputs existed then."""
    lines = [f"kill moments ({row['key']}): seconds after the run started / outputs then"]
    ats = []
    for i, moments in row["moments"]:
        parts = []
        for m in moments:
            what = f"{m['at']:5.2f} s / {m['outputs']:3d}"
            parts.append(f"{m['run']} {what}" + ("" if m["delivered"] else " (had exited)"))
            ats.append((m["at"], m["outputs"]))
        lines.append(f"  #{i:<3} " + "; ".join(parts))
    if ats:
        lines.append(
            f"  range: {min(a for a, _ in ats):.2f}-{max(a for a, _ in ats):.2f} s, "
            f"{min(n for _, n in ats)}-{max(n for _, n in ats)} outputs"
        )
    return "\n".join(lines)


@contextlib.contextmanager
def own_data_folder(path: str) -> Iterator[None]:
    """XDG_DATA_HOME=path inside the block: the batch journal and locks of every CLI a trial
    starts stay in the trial's folder, never the user's."""
    old = os.environ.get("XDG_DATA_HOME")
    os.environ["XDG_DATA_HOME"] = path
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("XDG_DATA_HOME", None)
        else:
            os.environ["XDG_DATA_HOME"] = old


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.list:
        for name, fn in CATALOGUE.items():
            doc = (fn.__doc__ or "").strip().splitlines()
            print(f"{name:<20} {doc[0] if doc else ''}")
        return 0
    names = [n.strip() for n in args.faults.split(",") if n.strip()] or list(CATALOGUE)
    unknown = [n for n in names if n not in CATALOGUE]
    if unknown:
        print(f"unknown fault(s): {', '.join(unknown)}; see --list", file=sys.stderr)
        return 2
    seed = args.seed if args.seed is not None else int(time.time())
    work = args.work or tempfile.mkdtemp(prefix="pixmill-torture-")
    os.makedirs(work, exist_ok=True)
    procs.set_subreaper(True)
    print(f"torture: seed {seed}, work folder {work}", flush=True)
    rows: list[dict[str, Any]] = []
    failures: list[dict[str, Any]] = []
    t_start = time.monotonic()
    for name in names:
        if name in MAIN_FAULTS:
            n = args.trials
        elif name in RESUME_FAULTS:
            n = args.resume_trials
        else:
            n = args.other_trials
        indices = [args.only_trial] if args.only_trial is not None else list(range(n))
        outcomes: list[Outcome] = []
        notes: dict[str, int] = {}
        t_fault = time.monotonic()
        for i in indices:
            rng = random.Random(f"{seed}-{name}-{i}")
            tdir = os.path.join(work, f"{name}-{i}")
            if os.path.lexists(tdir):
                shutil.rmtree(tdir, ignore_errors=True)
            os.makedirs(tdir)
            with own_data_folder(os.path.join(tdir, "xdg")):
                o = run_guarded(CATALOGUE[name], rng, tdir)
            outcomes.append(o)
            kind = o.note.split(",")[0] if o.note else ""
            notes[kind] = notes.get(kind, 0) + 1
            if o.violations:
                failures.append(
                    {
                        "fault": name,
                        "trial": i,
                        "seed": seed,
                        "note": o.note,
                        "violations": o.violations,
                        "folder": tdir,
                    }
                )
            else:
                shutil.rmtree(tdir, ignore_errors=True)
            if not args.quiet:
                rec = "" if o.recovery is None else f" recovery {o.recovery:.2f} s"
                state = "ok" if not o.violations else f"{len(o.violations)} VIOLATION(S)"
                print(f"  {name} #{i}: {state} ({o.note}){rec}", flush=True)
                for line in o.violations[:10]:
                    print(f"      {line}", flush=True)
        recs = [o.recovery for o in outcomes if o.recovery is not None]
        label = outcomes[0].fault if outcomes else name
        note = ", ".join(f"{k} x{c}" for k, c in sorted(notes.items()) if k)
        rows.append(
            {
                "fault": label,
                "key": name,
                "trials": len(outcomes),
                "violations": sum(len(o.violations) for o in outcomes),
                "trials_with_violations": sum(1 for o in outcomes if o.violations),
                "trials_known_only": sum(
                    1 for o in outcomes if o.violations and not split_known(o.violations)[0]
                ),
                "slowest_recovery": max(recs) if recs else None,
                "seconds": round(time.monotonic() - t_fault, 1),
                "notes": note if len(note) < 90 else note[:87] + "...",
                "moments": [
                    [i, o.moments] for i, o in zip(indices, outcomes, strict=True) if o.moments
                ],
            }
        )
    elapsed = time.monotonic() - t_start
    print()
    print(table(rows))
    print(f"\n{sum(r['trials'] for r in rows)} trials in {elapsed:.0f} s, seed {seed}")
    for r in rows:
        if r["moments"]:
            print(f"\n{moments_text(r)}")
    if failures:
        print(f"\n{len(failures)} trial(s) broke an invariant; folders kept under {work}:")
        for f in failures:
            print(f"  {f['fault']} #{f['trial']} ({f['note']}): {f['folder']}")
            for line in f["violations"][:5]:
                print(f"      {line.splitlines()[0]}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(
                {"seed": seed, "seconds": round(elapsed, 1), "rows": rows, "failures": failures},
                fh,
                indent=2,
            )
    if not failures and args.work is None:
        shutil.rmtree(work, ignore_errors=True)
    new = [f for f in failures if split_known(f["violations"])[0]]
    if failures and not new:
        print("\nevery violation is a known engine bug:")
        for name, (_, test) in KNOWN_ENGINE_BUGS.items():
            print(f"  {name:<40} pinned by {test}")
    if new:
        return 1
    return 0 if not failures or args.allow_known else 1


if __name__ == "__main__":
    sys.exit(main())
