"""SIGKILL to the whole process group of `pixmill convert` (the CLI and its workers at once,
like a crash or the OOM killer taking the session), then `pixmill convert --resume`: every
source ends with exactly one complete output, no renamed duplicate, no temp file, and the
resumed report lists every file once. The short version of the torture driver's
crash-resume trial (30 random trials in `make torture`).
"""

from __future__ import annotations

import os
import random
import sqlite3

import pytest
from faultkit.invariants import assert_clean
from faultkit.trials import RESUME_FILES, CrashResume, kill_group_when, trial_crash_resume

pytestmark = pytest.mark.timeout(40)


@pytest.mark.timeout(40)
@pytest.mark.parametrize(
    "seed,case",
    [
        # PNG, killed 0.05 s after the start: long before the batch is in the journal.
        (27, "no batch yet"),
        # WebP, killed at 195 outputs, the first --resume killed too.
        (23, "mid-batch+resume killed"),
        # PNG, killed at 277 of 300 outputs: near the end.
        (17, "mid-batch"),
    ],
)
def test_sigkill_to_the_process_group_then_resume(tmp_path, seed, case):
    outcome = trial_crash_resume(random.Random(seed), str(tmp_path))
    assert_clean(outcome.violations)
    assert outcome.note.split(",")[0] == case, outcome.note
    assert outcome.kills >= 1, f"no kill reached a running batch: {outcome.note}"


def _outputs(out: str) -> dict[str, tuple[int, int]]:
    """Output path -> (inode, mtime_ns), for the files under final names."""
    found = {}
    for dirpath, _dirs, files in os.walk(out):
        for name in files:
            if not name.startswith("."):
                st = os.stat(os.path.join(dirpath, name))
                found[os.path.join(dirpath, name)] = (st.st_ino, st.st_mtime_ns)
    return found


def _recorded(cr: CrashResume, batch: int) -> set[str]:
    """The outputs the journal had recorded for the batch (read-only look at the database
    the killed process left, WAL included)."""
    path = os.path.join(cr.env["XDG_DATA_HOME"], "Pixmill", "journal.sqlite3")
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        rows = conn.execute(
            "SELECT final FROM files WHERE batch = ? AND status = 'ok'", (batch,)
        ).fetchall()
    finally:
        conn.close()
    return {r[0] for r in rows}


@pytest.mark.timeout(40)
def test_resume_adopts_the_outputs_the_killed_batch_published(tmp_path):
    """Killed right after its first outputs appeared (most, at least the newest, published
    but not yet in the journal): the resume adopts them as they are (same inode, same
    mtime: not rewritten, no `-1` copy made) and converts the rest."""
    cr = CrashResume(str(tmp_path), random.Random(5), fmt="webp", long_edge=0)
    hit = kill_group_when(cr.convert("report-killed.json"), cr.out, ("outputs", 5), "batch")
    assert hit.delivered, "the batch ended before the kill"
    assert_clean(hit.violations)
    kept = _outputs(cr.out)
    assert len(kept) >= 5
    rows, problem = cr.batches()
    assert not problem and [r.state for r in rows] == ["interrupted"], (rows, problem)
    unrecorded = set(kept) - _recorded(cr, rows[0].id)
    assert unrecorded, "every output was in the journal already: nothing left to adopt"

    final = cr.resume("report.json")
    final.wait()
    assert_clean(cr.check(final, rows[0].id))
    after = _outputs(cr.out)
    rewritten = {p: (kept[p], after.get(p)) for p in kept if after.get(p) != kept[p]}
    assert not rewritten, f"outputs made before the kill were replaced: {rewritten}"
    data = final.load_report()
    assert data is not None
    by_target = {f["target"]: f for f in data["files"]}
    assert all(by_target[p]["status"] == "ok" for p in kept)
    assert sum(f["status"] == "ok" for f in data["files"]) == RESUME_FILES
    assert data["summary"]["ok"] == RESUME_FILES
