"""pixmill.engine.journal and locks: the SQLite batch journal on a real database in the test's
own data folder (tests/conftest.py), what it keeps, how it survives bad databases, and the
file locks that tell a running batch from a dead one."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pixmill.engine.job import Source
from pixmill.engine.journal import (
    FINISHED,
    INTERRUPTED,
    KEEP_BATCHES,
    RUNNING,
    Journal,
    JournalError,
    data_dir,
)
from pixmill.engine.locks import FileLock, LockBusy
from pixmill.engine.plan import plan_jobs
from pixmill.engine.recipe import Recipe

pytestmark = pytest.mark.timeout(60)


def jobs_for(folder: Path, n: int, recipe: Recipe | None = None) -> list:
    sources = [
        Source(str(folder / f"p{i}.png"), str(folder), 100 + i, 1000.5 + i) for i in range(n)
    ]
    return plan_jobs(sources, recipe or Recipe(format="jpeg"), folder / "out")


def begin(journal: Journal, jobs: list, recipe: Recipe | None = None) -> int:
    recipe = recipe or Recipe(format="jpeg")
    return journal.begin(jobs, recipe, ["/in"], "/out", "converted", "cli", time.time())


def ok(job, target: str | None = None, size: int = 10) -> dict:
    return {
        "index": job.index,
        "source": job.source,
        "target": target or job.target,
        "status": "ok",
        "error": None,
        "bytes_in": job.size,
        "bytes_out": size,
        "width": 4,
        "height": 3,
        "ms": 1.5,
        "warnings": ["libpng warning: iCCP: known incorrect sRGB profile"],
    }


def test_the_journal_lives_in_the_users_data_folder_in_wal_mode(_own_data_folder):
    assert data_dir() == _own_data_folder
    with Journal.open() as journal:
        assert journal.path == _own_data_folder / "journal.sqlite3"
    conn = sqlite3.connect(_own_data_folder / "journal.sqlite3")
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()


def test_a_batch_keeps_its_recipe_inputs_output_and_every_files_result(tmp_path):
    recipe = Recipe(format="webp", quality=70, name="mine")
    jobs = jobs_for(tmp_path, 3, recipe)
    with Journal.open() as journal:
        batch = begin(journal, jobs, recipe)
        journal.record(batch, [ok(jobs[1], size=1234)], "/out", recipe.fingerprint())
        info = journal.batch(batch)
        rows = journal.files(batch)
    assert info is not None and info.recipe == recipe and info.inputs == ["/in"]
    assert info.output == "/out" and info.total == 3 and info.counts == {"ok": 1}
    assert info.state == INTERRUPTED  # running, but no process holds its lock
    assert [r.source for r in rows] == [j.source for j in jobs]
    assert rows[0].status is None and rows[1].status == "ok"
    assert rows[1].final == jobs[1].target and rows[1].bytes_out == 1234
    result = rows[1].result()
    assert result["warnings"] == ["libpng warning: iCCP: known incorrect sRGB profile"]
    assert result["target"] == jobs[1].target and result["width"] == 4


def test_a_batch_whose_lock_is_held_is_running_and_one_that_ended_is_not(tmp_path):
    jobs = jobs_for(tmp_path, 1)
    with Journal.open() as journal:
        batch = begin(journal, jobs)
        lock = FileLock(journal.lock_path(batch))
        lock.acquire("test")
        assert journal.batch(batch).state == RUNNING
        assert journal.latest_interrupted() is None
        lock.release()
        assert journal.latest_interrupted().id == batch
        journal.set_state(batch, FINISHED)
        assert journal.batch(batch).state == FINISHED
        assert journal.latest_interrupted() is None


def test_the_outputs_table_remembers_what_a_recipe_made_of_each_source(tmp_path):
    recipe = Recipe(format="jpeg")
    jobs = jobs_for(tmp_path, 2, recipe)
    with Journal.open() as journal:
        batch = begin(journal, jobs, recipe)
        journal.record(batch, [ok(jobs[0], size=77)], "/out", recipe.fingerprint())
        made = journal.outputs("/out", recipe.fingerprint())
        assert made == {jobs[0].source: (jobs[0].size, jobs[0].mtime, jobs[0].target, 77)}
        assert journal.outputs("/out", Recipe(format="png").fingerprint()) == {}
        assert journal.outputs("/elsewhere", recipe.fingerprint()) == {}


def test_the_fingerprint_follows_the_output_not_the_name_or_the_policy():
    base = Recipe(format="jpeg", quality=80)
    assert base.fingerprint() == base.replace(name="x", on_conflict="skip").fingerprint()
    assert base.fingerprint() != base.replace(quality=81).fingerprint()
    assert base.fingerprint() != base.replace(name_template="{stem}_s").fingerprint()


def test_paths_that_are_not_utf8_are_kept_exactly(tmp_path):
    name = os.fsdecode(b"caf\xe9-\xff.png")  # Latin-1 bytes: not valid UTF-8
    jobs = plan_jobs([Source(str(tmp_path / name), None, 5, 1.0)], Recipe(), tmp_path / "o")
    with Journal.open() as journal:
        batch = begin(journal, jobs)
        result = ok(jobs[0]) | {"error": f"bad {name}"}
        journal.record(batch, [result], "/out", Recipe().fingerprint())
        row = journal.files(batch)[0]
    assert row.source == jobs[0].source and row.final == jobs[0].target
    assert "bad caf" in row.error


def test_only_the_most_recent_batches_are_kept(tmp_path):
    jobs = jobs_for(tmp_path, 2)
    with Journal.open() as journal:
        ids = [begin(journal, jobs) for _ in range(KEEP_BATCHES + 3)]
        kept = [b.id for b in journal.batches(100)]
        assert kept == sorted(ids[-KEEP_BATCHES:], reverse=True)
        assert journal.files(ids[0]) == []


def test_a_damaged_journal_is_set_aside_and_a_new_one_started(_own_data_folder):
    _own_data_folder.mkdir(parents=True)
    (_own_data_folder / "journal.sqlite3").write_bytes(b"this is not a database" * 100)
    with Journal.open() as journal:
        assert journal.set_aside is not None and Path(journal.set_aside).exists()
        assert journal.batches() == []


def test_an_unusable_data_folder_is_a_journal_error_with_the_reason(_own_data_folder):
    _own_data_folder.parent.mkdir(parents=True, exist_ok=True)
    _own_data_folder.write_text("a file where the folder should be")
    with pytest.raises(JournalError, match="cannot open the batch journal"):
        Journal.open()


def test_a_journal_locked_by_another_process_fails_writes_within_the_busy_time(tmp_path):
    with Journal.open() as journal:
        path = journal.path
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sqlite3, sys, time\n"
            f"c = sqlite3.connect({str(path)!r}, isolation_level=None)\n"
            "c.execute('BEGIN EXCLUSIVE'); print('held', flush=True); time.sleep(30)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        with Journal.open() as journal:
            t0 = time.monotonic()
            with pytest.raises(JournalError, match="locked"):
                begin(journal, jobs_for(tmp_path, 1))
            assert time.monotonic() - t0 < 5.0
    finally:
        holder.kill()
        holder.wait()
        holder.stdout.close()


def test_a_file_lock_is_exclusive_and_says_who_holds_it(tmp_path):
    path = str(tmp_path / "locks" / "x.lock")
    first, second = FileLock(path), FileLock(path)
    first.acquire("process 1 (cli)")
    assert not second.is_free()
    with pytest.raises(LockBusy, match="process 1"):
        second.acquire("process 2")
    first.release()
    assert second.is_free()
    second.acquire("process 2")
    second.release(remove=True)
    assert not os.path.exists(path)


def test_a_lock_is_free_once_its_process_is_killed(tmp_path):
    path = str(tmp_path / "held.lock")
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\n"
            "from pixmill.engine.locks import FileLock\n"
            f"FileLock({path!r}).acquire('child'); print('held', flush=True); time.sleep(30)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout.readline().strip() == "held"
        assert not FileLock(path).is_free()
    finally:
        child.kill()
        child.wait()
        child.stdout.close()
    assert FileLock(path).is_free()
