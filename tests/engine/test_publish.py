"""pixmill.engine.publish: files made without a name (O_TMPFILE) or under an exclusive temp name,
publishing under each conflict policy without clobbering, finding what a dead worker
published, and sweeping temp files (PendingSweeps)."""

from __future__ import annotations

import errno
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pixmill.engine import publish as publish_module
from pixmill.engine.convert import convert_one
from pixmill.engine.publish import (
    TEMP_PREFIX,
    PendingSweeps,
    create_temp,
    find_published,
    publish,
    sweep,
    temp_files,
)
from pixmill.engine.recipe import Recipe
from tests.conftest import make_image
from tests.engine.images import job_for, run

pytestmark = pytest.mark.timeout(60)


# --- through convert_one ----------------------------------------------------------------------


def test_output_appears_atomically_and_keeps_dates(tmp_path):
    src = make_image(tmp_path / "a.jpg", quality=90)
    os.utime(src, (1_600_000_000, 1_600_000_000))
    res, _ = run(src, tmp_path / "out", format="png", keep_dates=True)
    assert os.stat(res["target"]).st_mtime == 1_600_000_000
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["a.png"]
    mode = os.stat(res["target"]).st_mode & 0o777
    assert mode & 0o044, "outputs are readable by others like any saved file"


def test_a_target_that_appears_meanwhile_is_never_clobbered(tmp_path):
    src = make_image(tmp_path / "a.jpg", quality=90)
    job = job_for(src, tmp_path / "out", Recipe(format="png"))
    make_image(tmp_path / "out" / "a.png", (10, 10))  # appears after planning
    before = (tmp_path / "out" / "a.png").read_bytes()
    res = convert_one(job)
    assert res["status"] == "ok" and Path(res["target"]).name == "a-1.png"
    assert (tmp_path / "out" / "a.png").read_bytes() == before
    skip_job = job_for(src, tmp_path / "out2", Recipe(format="png", on_conflict="skip"))
    make_image(tmp_path / "out2" / "a.png", (10, 10))
    assert convert_one(skip_job)["status"] == "skipped"


# --- create_temp ------------------------------------------------------------------------------


def finished_temp(folder: Path, content: bytes, tag: str = "") -> tuple[str, int]:
    """A named temp file holding content, as a worker leaves it before publishing (where there
    is no O_TMPFILE): (path, inode)."""
    fd, path = create_temp(str(folder), tag, named=True)
    assert path is not None
    with os.fdopen(fd, "wb") as f:
        f.write(content)
    return path, os.stat(path).st_ino


class Finished:
    """A finished output waiting for its name, either way a worker makes one: named (a temp
    path) or, on Linux, without a name (open as fd). publish() it, then close()."""

    def __init__(self, folder: Path, content: bytes, named: bool, tag: str = "") -> None:
        self.fd, self.tmp = create_temp(str(folder), tag, named=named)
        self.tag = tag
        os.write(self.fd, content)
        self.inode = os.fstat(self.fd).st_ino

    def publish(self, target: Path | str, policy: str) -> str | None:
        try:
            return publish(self.tmp, str(target), policy, self.fd, self.tag)
        finally:
            os.close(self.fd)


needs_tmpfile = pytest.mark.skipif(
    not publish_module._O_TMPFILE, reason="O_TMPFILE is Linux's (with /proc)"
)
#: Publishing is tested both ways a worker makes a file.
both_ways = pytest.mark.parametrize(
    "named", [True, pytest.param(False, marks=needs_tmpfile)], ids=["named", "unnamed"]
)


def names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_create_temp_makes_the_folder_and_a_tagged_hidden_name(tmp_path):
    folder = tmp_path / "deep" / "er"
    fd, path = create_temp(str(folder), "c0ffee-123-", named=True)
    os.close(fd)
    assert os.path.dirname(path) == str(folder)
    assert re.fullmatch(r"\.pixmill-c0ffee-123-[0-9a-f]{10}\.tmp", os.path.basename(path))
    assert path.startswith(str(folder / TEMP_PREFIX))
    assert os.path.getsize(path) == 0


@both_ways
def test_create_temp_gives_the_permissions_of_any_saved_file(tmp_path, named):
    umask = os.umask(0o022)
    try:
        made = Finished(tmp_path, b"x", named)
    finally:
        os.umask(umask)
    final = made.publish(tmp_path / "a.png", "rename")
    assert os.stat(final).st_mode & 0o777 == 0o644


@needs_tmpfile
def test_an_unnamed_file_leaves_nothing_behind_unless_published(tmp_path):
    folder = tmp_path / "deep" / "er"
    fd, path = create_temp(str(folder), "c0ffee-123-")
    assert path is None and folder.is_dir()
    os.write(fd, b"half written")
    assert names(folder) == []  # a worker killed now leaves nothing to sweep
    os.close(fd)
    assert names(folder) == []


def test_create_temp_never_reuses_a_name(tmp_path):
    paths = set()
    for _ in range(50):
        fd, path = create_temp(str(tmp_path), "t-", named=True)
        os.close(fd)
        paths.add(path)
    assert len(paths) == 50 and len(temp_files(str(tmp_path))) == 50


@both_ways
def test_create_temp_recreates_a_folder_removed_since_it_was_made(tmp_path, named):
    folder = tmp_path / "out"
    Finished(folder, b"1", named).publish(folder / "1.png", "rename")
    shutil.rmtree(folder)  # the user deleted the output folder mid-batch
    Finished(folder, b"2", named).publish(folder / "2.png", "rename")
    assert names(folder) == ["2.png"]
    shutil.rmtree(folder)
    Finished(folder, b"3", named).publish(folder / "3.png", "rename")  # and again
    assert names(folder) == ["3.png"]


@needs_tmpfile
def test_a_file_system_without_unnamed_files_gets_temp_names(tmp_path, monkeypatch):
    def refuse(folder: str) -> int:
        raise OSError(errno.EOPNOTSUPP, "Operation not supported", folder)

    monkeypatch.setattr(publish_module, "_anonymous", refuse)
    fd, path = create_temp(str(tmp_path), "t-")
    os.close(fd)
    assert path is not None and os.path.basename(path).startswith(".pixmill-t-")
    assert str(tmp_path) in publish_module._NO_TMPFILE  # asked once per folder
    publish_module._NO_TMPFILE.discard(str(tmp_path))


# --- publish ----------------------------------------------------------------------------------


@both_ways
def test_rename_publishes_under_the_target_when_it_is_free(tmp_path, named):
    made = Finished(tmp_path, b"new", named)
    target = str(tmp_path / "a.png")
    assert made.publish(target, "rename") == target
    assert names(tmp_path) == ["a.png"]
    assert Path(target).read_bytes() == b"new" and os.stat(target).st_ino == made.inode


@both_ways
def test_rename_takes_the_next_free_sibling_and_keeps_what_is_there(tmp_path, named):
    (tmp_path / "a.png").write_bytes(b"first")
    (tmp_path / "a-1.png").write_bytes(b"second")
    made = Finished(tmp_path, b"new", named)
    final = made.publish(tmp_path / "a.png", "rename")
    assert final == str(tmp_path / "a-2.png")
    assert names(tmp_path) == ["a-1.png", "a-2.png", "a.png"]
    assert (tmp_path / "a.png").read_bytes() == b"first"
    assert (tmp_path / "a-1.png").read_bytes() == b"second"
    assert Path(final).read_bytes() == b"new" and os.stat(final).st_ino == made.inode


@both_ways
def test_skip_leaves_a_taken_target_alone_and_removes_the_temp(tmp_path, named):
    (tmp_path / "a.png").write_bytes(b"theirs")
    assert Finished(tmp_path, b"ours", named).publish(tmp_path / "a.png", "skip") is None
    assert names(tmp_path) == ["a.png"]
    assert (tmp_path / "a.png").read_bytes() == b"theirs"
    made = Finished(tmp_path, b"ours", named)
    assert made.publish(tmp_path / "b.png", "skip") == str(tmp_path / "b.png")
    assert (tmp_path / "b.png").read_bytes() == b"ours" and names(tmp_path) == ["a.png", "b.png"]


@both_ways
def test_overwrite_replaces_the_target_in_one_step(tmp_path, named):
    (tmp_path / "a.png").write_bytes(b"old")
    made = Finished(tmp_path, b"new", named, "tag-")
    assert made.publish(tmp_path / "a.png", "overwrite") == str(tmp_path / "a.png")
    assert names(tmp_path) == ["a.png"]
    assert (tmp_path / "a.png").read_bytes() == b"new"
    assert os.stat(tmp_path / "a.png").st_ino == made.inode
    made = Finished(tmp_path, b"fresh", named)
    assert made.publish(tmp_path / "b.png", "overwrite") == str(tmp_path / "b.png")
    assert names(tmp_path) == ["a.png", "b.png"] and (tmp_path / "b.png").read_bytes() == b"fresh"


@needs_tmpfile
def test_overwriting_with_an_unnamed_file_goes_through_a_tagged_temp_name(tmp_path, monkeypatch):
    """The replace needs a name to rename from: a worker killed between the two leaves a temp
    name its pool's sweep finds."""
    (tmp_path / "a.png").write_bytes(b"old")
    renamed_from = []
    real_replace = os.replace
    monkeypatch.setattr(
        publish_module.os, "replace", lambda a, b: (renamed_from.append(a), real_replace(a, b))
    )
    Finished(tmp_path, b"new", named=False, tag="pool-42-").publish(tmp_path / "a.png", "overwrite")
    assert [os.path.basename(p)[: len(".pixmill-pool-42-")] for p in renamed_from] == [
        ".pixmill-pool-42-"
    ]
    assert names(tmp_path) == ["a.png"] and (tmp_path / "a.png").read_bytes() == b"new"


@both_ways
def test_a_target_that_is_a_dangling_symlink_is_never_written_through(tmp_path, named):
    elsewhere = tmp_path / "elsewhere.png"
    (tmp_path / "a.png").symlink_to(elsewhere)
    final = Finished(tmp_path, b"new", named).publish(tmp_path / "a.png", "rename")
    assert final == str(tmp_path / "a-1.png")
    assert not elsewhere.exists() and (tmp_path / "a.png").is_symlink()


@pytest.fixture
def no_hard_links(monkeypatch: pytest.MonkeyPatch) -> None:
    """os.link fails as it does on FAT and some network shares."""

    def refuse(src: str, dst: str) -> None:
        raise OSError(errno.EPERM, "Operation not permitted", src, None, dst)

    monkeypatch.setattr(publish_module.os, "link", refuse)


def test_without_hard_links_a_free_target_is_still_published(tmp_path, no_hard_links):
    tmp, inode = finished_temp(tmp_path, b"new")
    target = str(tmp_path / "a.png")
    assert publish(tmp, target, "rename") == target
    assert names(tmp_path) == ["a.png"] and os.stat(target).st_ino == inode


def test_without_hard_links_a_taken_target_is_still_never_clobbered(tmp_path, no_hard_links):
    (tmp_path / "a.png").write_bytes(b"theirs")
    tmp, _ = finished_temp(tmp_path, b"ours")
    assert publish(tmp, str(tmp_path / "a.png"), "rename") == str(tmp_path / "a-1.png")
    assert (tmp_path / "a.png").read_bytes() == b"theirs"
    assert (tmp_path / "a-1.png").read_bytes() == b"ours"
    tmp, _ = finished_temp(tmp_path, b"ours again")
    assert publish(tmp, str(tmp_path / "a.png"), "skip") is None
    assert names(tmp_path) == ["a-1.png", "a.png"]
    assert (tmp_path / "a.png").read_bytes() == b"theirs"


# --- find_published ---------------------------------------------------------------------------


def test_find_published_finds_the_output_among_its_renamed_siblings(tmp_path):
    target = str(tmp_path / "a.png")
    announced = []
    for content in (b"one", b"two", b"three"):
        tmp, _ = finished_temp(tmp_path, content)
        st = os.stat(tmp)
        announced.append({"target": target, "inode": [st.st_dev, st.st_ino]})
        publish(tmp, target, "rename")
    assert [find_published(info) for info in announced] == [
        target,
        str(tmp_path / "a-1.png"),
        str(tmp_path / "a-2.png"),
    ]


def test_find_published_is_none_when_the_output_never_landed(tmp_path):
    target = str(tmp_path / "a.png")
    tmp, _ = finished_temp(tmp_path, b"lost")
    st = os.stat(tmp)
    info = {"target": target, "inode": [st.st_dev, st.st_ino]}
    assert find_published(info) is None  # nothing at the target at all
    (tmp_path / "a.png").write_bytes(b"someone else's")
    (tmp_path / "a-1.png").write_bytes(b"someone else's too")
    assert find_published(info) is None  # the names are taken by other files


# --- temp_files, sweep, PendingSweeps ---------------------------------------------------------


def test_sweep_removes_only_temp_files_with_the_prefix(tmp_path):
    mine, _ = finished_temp(tmp_path, b"x", "aa-1-")
    sibling, _ = finished_temp(tmp_path, b"x", "aa-12-")
    other, _ = finished_temp(tmp_path, b"x", "bb-1-")
    (tmp_path / ".pixmill-aa-1-notes.txt").write_bytes(b"not a temp")
    (tmp_path / "photo.jpg").write_bytes(b"an output")
    assert sorted(map(str, temp_files(str(tmp_path)))) == sorted([mine, sibling, other])
    assert temp_files(str(tmp_path), ".pixmill-aa-1-") == [Path(mine)]
    sweep(str(tmp_path), ".pixmill-aa-1-")
    assert names(tmp_path) == sorted(
        [".pixmill-aa-1-notes.txt", "photo.jpg", Path(sibling).name, Path(other).name]
    )
    sweep(str(tmp_path))
    assert names(tmp_path) == [".pixmill-aa-1-notes.txt", "photo.jpg"]


def test_temp_files_and_sweep_of_a_missing_folder_are_quiet(tmp_path):
    assert temp_files(str(tmp_path / "gone")) == []
    sweep(str(tmp_path / "gone"))


def live(pids: set[int]) -> set[int]:
    """The pids among these whose processes still run (not zombies)."""
    out = set()
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z":
            out.add(pid)
    return out


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_pending_sweeps_only_sweep_the_temps_of_workers_that_are_gone(tmp_path):
    worker = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        dead = subprocess.Popen([sys.executable, "-c", "pass"])
        dead.wait()
        out_a, out_b = tmp_path / "a", tmp_path / "b"
        running, _ = finished_temp(out_a, b"half", f"tag-{worker.pid}-")
        left, _ = finished_temp(out_a, b"half", f"tag-{dead.pid}-")
        left_b, _ = finished_temp(out_b, b"half", f"tag-{dead.pid}-")
        other_pool, _ = finished_temp(out_a, b"half", f"else-{dead.pid}-")
        pending = PendingSweeps()
        assert not pending
        pending.add(str(out_a), "tag-", worker.pid)
        pending.add(str(out_a), "tag-", dead.pid)
        pending.add(str(out_b), "tag-", dead.pid)
        pids = {worker.pid, dead.pid}
        pending.run(live(pids))
        assert os.path.exists(running) and os.path.exists(other_pool)
        assert not os.path.exists(left) and not os.path.exists(left_b)
        assert pending  # the running worker's sweep is still due
        worker.kill()
        worker.wait()
        pending.run(live(pids))
        assert not os.path.exists(running) and not pending
        assert os.path.exists(other_pool)  # another pool's worker with the same pid: not ours
    finally:
        worker.kill()
        worker.wait()


def test_pending_sweeps_finish_sweeps_everything_even_if_a_worker_lingers(tmp_path):
    tmp, _ = finished_temp(tmp_path, b"half", f"tag-{os.getpid()}-")
    pending = PendingSweeps()
    pending.add(str(tmp_path), "tag-", os.getpid())
    pending.finish(lambda: {os.getpid()}, timeout=0.05)  # this process never goes
    assert not os.path.exists(tmp) and not pending


# --- durability: the data is on the disk before the name -----------------------------------
def _record_syncs(monkeypatch) -> list[tuple[str, str]]:
    """Record the data syncs (of which file), the folder fsyncs and the link/replace that
    publish, in order. A file is named by what /proc says its descriptor is: its path, or for
    an unnamed file "/proc/self/fd/N" as the link that names it reads it."""
    calls: list[tuple[str, str]] = []
    real_fsync, real_datasync = os.fsync, publish_module._fdatasync
    real_link, real_replace = os.link, os.replace

    def which(fd: int) -> str:
        path = os.readlink(f"/proc/self/fd/{fd}")
        return f"/proc/self/fd/{fd}" if path.endswith(" (deleted)") else path

    def fsync(fd):
        calls.append(("fsync", which(fd)))
        return real_fsync(fd)

    def datasync(fd):
        calls.append(("fsync", which(fd)))
        return real_datasync(fd)

    def link(src, dst, *a, **kw):
        calls.append(("link", f"{src} -> {dst}"))
        return real_link(src, dst, *a, **kw)

    def replace(src, dst, *a, **kw):
        calls.append(("replace", f"{src} -> {dst}"))
        return real_replace(src, dst, *a, **kw)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(publish_module, "_fdatasync", datasync)
    monkeypatch.setattr(os, "link", link)
    monkeypatch.setattr(os, "replace", replace)
    return calls


@pytest.mark.parametrize("policy", ["rename", "overwrite"])
def test_the_output_is_synced_before_it_gets_its_name(tmp_path, monkeypatch, policy):
    src = make_image(tmp_path / "a.png")
    job = job_for(src, tmp_path / "out", Recipe(format="jpeg", on_conflict=policy))
    if policy == "overwrite":
        make_image(Path(job.target), (8, 8))  # replaced: through a temp name if unnamed
    calls = _record_syncs(monkeypatch)
    result = convert_one(job)
    assert result["status"] == "ok", result["error"]
    kinds = [k for k, _ in calls]
    synced = kinds.index("fsync")
    first_name = min(i for i, k in enumerate(kinds) if k in ("link", "replace"))
    assert synced < first_name
    final = kinds.index("link" if policy == "rename" else "replace")
    assert calls[final][1].endswith(f" -> {job.target}")
    # The file synced is the one named: its temp path, or (unnamed) the descriptor linked.
    assert calls[first_name][1].split(" -> ")[0] == calls[synced][1]
    if policy == "overwrite":
        assert os.path.basename(calls[final][1].split(" -> ")[0]).startswith(TEMP_PREFIX)


def test_no_sync_publishes_without_waiting_for_the_disk(tmp_path, monkeypatch):
    import dataclasses

    src = make_image(tmp_path / "a.png")
    job = dataclasses.replace(job_for(src, tmp_path / "out", Recipe(format="png")), sync=False)
    calls = _record_syncs(monkeypatch)
    assert convert_one(job)["status"] == "ok"
    assert [k for k, _ in calls] == ["link"]


def test_a_batch_syncs_each_output_folder_once_at_its_end(tmp_path, monkeypatch):
    from pixmill.engine.plan import plan
    from pixmill.engine.runner import BatchRunner

    for i in range(3):
        make_image(tmp_path / "in" / "sub" / f"s{i}.png", seed=i)
    make_image(tmp_path / "in" / "t.png")
    p = plan([str(tmp_path / "in")], Recipe(format="png"), str(tmp_path / "out"))
    calls = _record_syncs(monkeypatch)  # the main process's calls: workers are processes
    runner = BatchRunner(workers=1)
    try:
        report = runner.run(p.jobs)
    finally:
        runner.shutdown()
    assert report.count("ok") == 4
    synced = [path for kind, path in calls if kind == "fsync"]
    # Each output folder, and the folders the batch made, up to the output folder's parent.
    assert synced == [str(tmp_path / "out" / "sub"), str(tmp_path / "out"), str(tmp_path)]


def test_folders_made_for_outputs_are_synced_up_to_their_common_roots_parent(tmp_path, monkeypatch):
    calls = _record_syncs(monkeypatch)
    deep = [tmp_path / "o" / "a" / "b", tmp_path / "o" / "c"]
    for d in deep:
        d.mkdir(parents=True)
    publish_module.sync_folders([str(d) for d in deep] * 2)
    synced = [path for kind, path in calls if kind == "fsync"]
    want = [tmp_path / "o" / "a" / "b", tmp_path / "o" / "a", tmp_path / "o" / "c"]
    assert sorted(synced[:3]) == sorted(map(str, want))
    assert synced[3:] == [str(tmp_path / "o"), str(tmp_path)]
