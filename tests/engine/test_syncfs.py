"""engine/syncfs.py: one syncfs for a chunk's outputs where it keeps the promise of a sync of
each file (a local disk file system) and costs little (little else waiting to be written);
publish.sync_many falls back to a sync of each file everywhere else."""

from __future__ import annotations

import ctypes
import errno
import os
import sys

import pytest

from pixmill.engine import publish, syncfs

pytestmark = [
    pytest.mark.timeout(30),
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="syncfs is Linux's"),
]


@pytest.fixture
def calls(monkeypatch):
    """The syncfs calls made (by the folder each descriptor is open on), succeeding; this
    machine's temp folder counts as a local disk with nothing else to write."""
    made: list[str] = []

    def fake(fd: int) -> int:
        made.append(os.readlink(f"/proc/self/fd/{fd}"))
        return 0

    monkeypatch.setattr(syncfs, "_libc_syncfs", lambda: fake)
    monkeypatch.setattr(syncfs, "_dirty_bytes", lambda: 0)
    monkeypatch.setattr(syncfs, "fs_type", lambda dev: "ext4")
    return made


def test_the_type_of_a_folders_file_system_comes_from_mountinfo(tmp_path):
    kind = syncfs.fs_type(os.stat(tmp_path).st_dev)
    assert kind is not None
    with open("/proc/self/mountinfo") as f:
        assert f" - {kind} " in f.read()


def test_dirty_pages_are_read_from_meminfo():
    assert 0 <= syncfs._dirty_bytes() < 1 << 50


def test_one_syncfs_per_file_system_for_several_folders(tmp_path, calls):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir(), b.mkdir()
    assert syncfs.sync_file_systems([str(a), str(b), str(a)])
    assert len(calls) == 1 and calls[0] in (str(a), str(b))


def test_nothing_is_synced_when_much_waits_to_be_written(tmp_path, calls, monkeypatch):
    monkeypatch.setattr(syncfs, "_dirty_bytes", lambda: 1 << 30)
    assert not syncfs.sync_file_systems([str(tmp_path)])
    assert calls == []


def test_nothing_is_synced_on_a_network_file_system(tmp_path, calls, monkeypatch):
    monkeypatch.setattr(syncfs, "fs_type", lambda dev: "nfs4")
    assert not syncfs.sync_file_systems([str(tmp_path)])
    assert calls == []


def test_a_folder_that_cannot_be_opened_leaves_it_to_each_file(tmp_path, calls):
    assert not syncfs.sync_file_systems([str(tmp_path / "gone")])
    assert not syncfs.sync_file_systems([])
    assert calls == []


def test_a_failed_syncfs_raises_with_its_error(tmp_path, monkeypatch):
    def failing(fd: int) -> int:
        ctypes.set_errno(errno.EIO)
        return -1

    monkeypatch.setattr(syncfs, "_libc_syncfs", lambda: failing)
    monkeypatch.setattr(syncfs, "_dirty_bytes", lambda: 0)
    monkeypatch.setattr(syncfs, "fs_type", lambda dev: "xfs")
    with pytest.raises(OSError) as info:
        syncfs.sync_file_systems([str(tmp_path)])
    assert info.value.errno == errno.EIO and info.value.filename == str(tmp_path)


def test_the_real_syncfs_runs_on_a_local_disk(tmp_path, monkeypatch):
    monkeypatch.setattr(syncfs, "_dirty_bytes", lambda: 0)
    local = syncfs.fs_type(os.stat(tmp_path).st_dev) in syncfs.LOCAL_DISK_TYPES
    assert syncfs.sync_file_systems([str(tmp_path)]) == local


def _files(folder, n: int) -> list[int]:
    fds = []
    for i in range(n):
        fd = os.open(folder / f"f{i}", os.O_RDWR | os.O_CREAT, 0o666)
        os.write(fd, b"data")
        fds.append(fd)
    return fds


def test_sync_many_syncs_a_chunk_by_its_file_system(tmp_path, calls, monkeypatch):
    synced: list[int] = []
    monkeypatch.setattr(publish, "_fdatasync", synced.append)
    fds = _files(tmp_path, 3)
    try:
        publish.sync_many(fds, {str(tmp_path)})
    finally:
        for fd in fds:
            os.close(fd)
    assert calls == [str(tmp_path)] and synced == []


@pytest.mark.parametrize("why", ["busy disk", "one file"])
def test_sync_many_syncs_each_file_otherwise(tmp_path, calls, monkeypatch, why):
    if why == "busy disk":
        monkeypatch.setattr(syncfs, "_dirty_bytes", lambda: 1 << 30)
    synced: list[int] = []
    monkeypatch.setattr(publish, "_fdatasync", synced.append)
    fds = _files(tmp_path, 3 if why == "busy disk" else 1)
    try:
        publish.sync_many(fds, {str(tmp_path)})
    finally:
        for fd in fds:
            os.close(fd)
    assert calls == [] and synced == fds
