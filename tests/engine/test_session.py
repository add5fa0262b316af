"""pixmill.engine.session and recover: a batch's journal record and locks, resuming a batch
whose process died (what is done on disk stands, what was published but not recorded is
adopted, damaged outputs are redone), incremental runs, and a journal that cannot be used.

The process death is staged in this process: the batch's outputs are made with the real
convert_one, some recorded and some not, and the session lets go of its locks without
marking an end, exactly what a SIGKILL leaves. tests/faults/test_faults_crash_resume.py kills
real process trees."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from PIL import Image

from pixmill.engine.convert import convert_one
from pixmill.engine.journal import CANCELLED, DISCARDED, FINISHED, Journal, JournalError
from pixmill.engine.plan import plan
from pixmill.engine.recipe import Recipe
from pixmill.engine.recover import looks_complete, recover
from pixmill.engine.runner import BatchRunner
from pixmill.engine.session import (
    UP_TO_DATE,
    BatchError,
    BatchSession,
    discard_batch,
    interrupted_batch,
    resume_batch,
    start_batch,
)
from tests.conftest import make_image, temp_leftovers

pytestmark = pytest.mark.timeout(90)

RECIPE = Recipe(format="jpeg", quality=80)


@pytest.fixture(scope="module")
def runner():
    r = BatchRunner(workers=1)
    yield r
    r.shutdown()


def sources(folder: Path, n: int) -> Path:
    for i in range(n):
        make_image(folder / f"s{i:02d}.png", (120, 90), seed=i)
    return folder


def new_batch(src: Path, out: Path, recipe: Recipe = RECIPE, **kw) -> BatchSession:
    created = time.time()
    p = plan([str(src)], recipe, str(out))
    out.mkdir(exist_ok=True)
    return start_batch(p, recipe, [str(src)], str(out), "cli", created=created, **kw)


def die(session: BatchSession) -> None:
    """What a SIGKILL leaves: the locks go (the kernel drops them), nothing else happens."""
    session._release()


def outputs_by_stem(out: Path) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for p in out.iterdir():
        if p.is_file() and not p.name.startswith("."):
            found.setdefault(p.stem.split("-")[0], []).append(p.name)
    return found


def test_a_batch_records_its_files_and_ends_finished(tmp_path, runner):
    src = sources(tmp_path / "in", 4)
    session = new_batch(src, tmp_path / "out")
    assert session.journaled and session.warnings == []
    report = runner.run(session.jobs, journal=session)
    with Journal.open() as journal:
        info = journal.batch(session.batch_id)
        rows = journal.files(session.batch_id)
    assert report.count("ok") == 4 and info.state == FINISHED and info.counts == {"ok": 4}
    assert all(r.final and os.path.getsize(r.final) == r.bytes_out for r in rows)


def test_resume_keeps_what_was_done_adopts_what_landed_and_redoes_the_damaged(tmp_path, runner):
    src, out = sources(tmp_path / "in", 10), tmp_path / "out"
    session = new_batch(src, out)
    jobs = session.jobs
    results = [convert_one(j) for j in jobs[:6]]  # six outputs published...
    for r in results[:3]:  # ...three of them recorded before the "crash"
        session.job_finished(r)
    session.flush()
    die(session)
    adopted = {jobs[i].target: os.stat(jobs[i].target) for i in (3, 4)}
    with open(jobs[1].target, "r+b") as f:  # a recorded output cut short (power cut)
        f.truncate(100)
    with open(jobs[5].target, "r+b") as f:  # a published, unrecorded one left empty
        f.truncate(0)
    (out / ".pixmill-deadbeef-123-abcdef.tmp").write_bytes(b"half a file")
    assert interrupted_batch().id == session.batch_id

    resumed, info = resume_batch()
    # Job indices count from 1: recorded 1-3 (2 was cut short), adopted 4-5 (6 was empty).
    assert info.id == session.batch_id and set(resumed.done) == {1, 3, 4, 5}
    assert temp_leftovers(out) == []  # the dead batch's temp file is gone at once
    report = runner.run(resumed.jobs, done=resumed.done, journal=resumed)

    assert [f["source"] for f in report.files] == [j.source for j in jobs]
    assert report.count("ok") == 10
    stems = outputs_by_stem(out)
    assert sorted(stems) == sorted(f"s{i:02d}" for i in range(10))
    assert all(names == [f"{stem}.jpg"] for stem, names in stems.items()), stems
    for path, st in adopted.items():  # adopted, not converted again
        now = os.stat(path)
        assert (now.st_ino, now.st_mtime_ns) == (st.st_ino, st.st_mtime_ns)
    for i in (1, 5):
        with Image.open(jobs[i].target) as im:
            im.load()
    with Journal.open() as journal:
        assert journal.batch(info.id).state == FINISHED
    assert interrupted_batch() is None


def test_an_output_that_was_there_before_the_batch_is_not_adopted(tmp_path):
    src, out = sources(tmp_path / "in", 2), tmp_path / "out"
    session = new_batch(src, out)
    jobs = session.jobs
    convert_one(jobs[0])
    die(session)
    with Journal.open() as journal:
        rows = journal.files(session.batch_id)
    later = recover(rows, RECIPE, True, started=time.time() + 60)  # the file predates it
    assert later.done == {} and [j.target for j in later.jobs] == [j.target for j in jobs]
    now = recover(rows, RECIPE, True, started=time.time() - 60)
    assert set(now.done) == {1} and now.adopted[0]["target"] == jobs[0].target
    session.close()


def test_an_adopted_output_claimed_by_another_file_of_the_batch_is_left_to_it(tmp_path):
    src, out = tmp_path / "in", tmp_path / "out"
    make_image(src / "a.png", seed=1)
    make_image(src / "a.jpg", seed=2)  # both become a.jpg: the planner makes a-1.jpg
    session = new_batch(src, out)
    jobs = session.jobs
    assert sorted(Path(j.target).name for j in jobs) == ["a-1.jpg", "a.jpg"]
    second = next(j for j in jobs if j.target.endswith("a-1.jpg"))
    convert_one(second)
    die(session)
    with Journal.open() as journal:
        rows = journal.files(session.batch_id)
    found = recover(rows, RECIPE, True, started=time.time() - 60)
    assert list(found.done) == [second.index]  # not also taken as the other file's output
    session.close()


@pytest.mark.parametrize("fmt", ["jpeg", "png", "webp", "gif", "bmp", "tiff", "avif", "heic"])
def test_looks_complete_knows_a_whole_output_from_a_cut_one(tmp_path, fmt):
    src = make_image(tmp_path / "s.png", (64, 48))
    p = plan([str(src)], Recipe(format=fmt), str(tmp_path / "o"))
    result = convert_one(p.jobs[0])
    assert result["status"] == "ok", result["error"]
    path = result["target"]
    assert looks_complete(path, fmt) and looks_complete(path, fmt, result["bytes_out"])
    data = Path(path).read_bytes()
    Path(path).write_bytes(data[: len(data) // 2])
    assert not looks_complete(path, fmt, result["bytes_out"])
    if fmt != "tiff":  # a TIFF's end cannot be checked without the size written
        assert not looks_complete(path, fmt)
    Path(path).write_bytes(data[:-40] + bytes(40))  # the tail lost to zeros
    if fmt not in ("tiff", "bmp"):
        assert not looks_complete(path, fmt)
    Path(path).write_bytes(b"")
    assert not looks_complete(path, fmt)


def test_update_skips_what_is_up_to_date_and_replaces_what_changed(tmp_path, runner):
    src, out = sources(tmp_path / "in", 5), tmp_path / "out"
    first = new_batch(src, out, update=True)
    assert runner.run(first.jobs, journal=first).count("ok") == 5

    second = new_batch(src, out, update=True)
    report = runner.run(second.jobs, journal=second)
    assert report.count("skipped") == 5
    assert {f["error"] for f in report.files} == {UP_TO_DATE}
    assert all(os.path.exists(f["target"]) for f in report.files)

    before = {p.name: p.stat().st_ino for p in out.iterdir()}
    make_image(src / "s01.png", (130, 90), seed=9)  # changed
    make_image(src / "s09.png", (120, 90), seed=9)  # new
    (out / "s03.jpg").unlink()  # its output deleted by the user
    (out / "s04.jpg").write_bytes((out / "s04.jpg").read_bytes() + b"edited")  # changed by them
    third = new_batch(src, out, update=True)
    report = runner.run(third.jobs, journal=third)
    converted = sorted(Path(f["source"]).name for f in report.files if f["status"] == "ok")
    assert converted == ["s01.png", "s03.png", "s04.png", "s09.png"]
    names = sorted(p.name for p in out.iterdir())
    assert names == ["s00.jpg", "s01.jpg", "s02.jpg", "s03.jpg", "s04-1.jpg", "s04.jpg", "s09.jpg"]
    assert (out / "s01.jpg").stat().st_ino != before["s01.jpg"]  # replaced in place
    with Image.open(out / "s01.jpg") as im:
        assert im.size == (130, 90)
    assert (out / "s04.jpg").read_bytes().endswith(b"edited")  # the user's file is kept


def test_a_second_batch_into_the_same_folder_is_refused_while_the_first_runs(tmp_path):
    src, out = sources(tmp_path / "in", 1), tmp_path / "out"
    first = new_batch(src, out)
    with pytest.raises(BatchError, match="another Pixmill batch is writing into"):
        new_batch(src, out)
    first.close()
    second = new_batch(src, out)  # free again
    second.close()
    with Journal.open() as journal:
        assert journal.batch(first.batch_id).state == CANCELLED  # it never ran


def test_without_a_journal_the_batch_still_runs_and_says_it_cannot_be_resumed(
    tmp_path, runner, _own_data_folder
):
    _own_data_folder.parent.mkdir(parents=True, exist_ok=True)
    _own_data_folder.write_text("not a folder")
    heard: list[str] = []
    session = new_batch(sources(tmp_path / "in", 3), tmp_path / "out", warn=heard.append)
    assert not session.journaled and heard == session.warnings
    assert "cannot be resumed" in heard[0]
    assert runner.run(session.jobs, journal=session).count("ok") == 3
    session.close()


def test_a_journal_that_fails_mid_batch_is_given_up_once_and_no_file_fails(
    tmp_path, runner, monkeypatch
):
    heard: list[str] = []
    session = new_batch(sources(tmp_path / "in", 6), tmp_path / "out", warn=heard.append)

    def full(*args, **kwargs):
        raise JournalError("the batch journal cannot be written: database or disk is full")

    monkeypatch.setattr(Journal, "record", full)
    monkeypatch.setattr("pixmill.engine.session.FLUSH_SECONDS", 0.0)
    report = runner.run(session.jobs, journal=session)
    assert report.count("ok") == 6
    assert len(heard) == 1 and "disk is full" in heard[0] and "cannot be resumed" in heard[0]


def test_resume_refuses_what_cannot_be_resumed(tmp_path):
    with pytest.raises(BatchError, match="no interrupted batch"):
        resume_batch()
    with pytest.raises(BatchError, match="there is no batch 42"):
        resume_batch(42)
    session = new_batch(sources(tmp_path / "in", 1), tmp_path / "out")
    with pytest.raises(BatchError, match="still running"):
        resume_batch(session.batch_id)
    session._end(FINISHED)
    with pytest.raises(BatchError, match="is finished"):
        resume_batch(session.batch_id)


def test_discard_sweeps_the_dead_batchs_temp_files_and_forgets_it(tmp_path):
    out = tmp_path / "out"
    session = new_batch(sources(tmp_path / "in", 2), out)
    die(session)
    (out / ".pixmill-0badc0de-77-123456.tmp").write_bytes(b"x")
    info = discard_batch(session.batch_id)
    assert info.state == DISCARDED and temp_leftovers(out) == []
    assert interrupted_batch() is None
    with pytest.raises(BatchError, match="discarded"):
        resume_batch(session.batch_id)


def test_a_batch_whose_journal_gave_up_still_ends_finished_when_it_can(
    tmp_path, runner, monkeypatch
):
    session = new_batch(sources(tmp_path / "in", 3), tmp_path / "out", warn=lambda text: None)

    def full(*args, **kwargs):
        raise JournalError("the batch journal cannot be written: database or disk is full")

    monkeypatch.setattr(Journal, "record", full)
    assert runner.run(session.jobs, journal=session).count("ok") == 3
    with Journal.open() as journal:
        assert journal.batch(session.batch_id).state == FINISHED  # never offered for resume
    assert interrupted_batch() is None


def test_resume_adopts_outputs_named_by_the_format_auto_chose(tmp_path):
    src, out = sources(tmp_path / "in", 3), tmp_path / "out"
    recipe = Recipe(format="auto", quality_target="small")
    session = new_batch(src, out, recipe)
    made = [convert_one(j) for j in session.jobs[:2]]  # published, never recorded
    die(session)
    assert all(r["status"] == "ok" for r in made)
    resumed, _ = resume_batch()
    assert set(resumed.done) == {1, 2}
    assert [resumed.done[i]["target"] for i in (1, 2)] == [r["target"] for r in made]
    resumed.close()
