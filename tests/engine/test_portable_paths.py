"""Windows and macOS facts that can be tested on Linux: the planner and the naming under the
Windows path rules (drive letters, UNC shares, backslashes, device names), the retry when a
scanner holds the target on Windows, and case-insensitive collisions (Photo.JPG and photo.jpg
becoming one target, as they do on NTFS, APFS and FAT)."""

from __future__ import annotations

import errno
import ntpath
import os
import posixpath
from pathlib import Path

import pytest

from pixmill.engine import naming, publish
from pixmill.engine.errors import ConversionError
from pixmill.engine.job import Source
from pixmill.engine.naming import renamed, render_name, safe_name
from pixmill.engine.plan import plan, plan_jobs
from pixmill.engine.recipe import Recipe

pytestmark = pytest.mark.timeout(30)


@pytest.fixture
def windows(monkeypatch):
    """The naming and the planner under Windows' path rules and device names."""
    monkeypatch.setattr(naming, "_path", ntpath)
    monkeypatch.setattr(naming, "_WINDOWS", True)


def targets(jobs) -> dict[str, str]:
    return {j.source: j.target for j in jobs}


# --- drive letters and UNC shares --------------------------------------------------------------
def test_drive_letter_sources_keep_their_tree_under_a_drive_letter_output(windows):
    sources = [
        Source(r"D:\Photos\2024\IMG_0001.JPG", r"D:\Photos"),
        Source(r"D:\Photos\2024\Trip\IMG_0002.jpeg", r"D:\Photos"),
        Source(r"D:\Photos\cover.png", r"D:\Photos"),
    ]
    jobs = plan_jobs(sources, Recipe(format="webp"), "E:/Converted")
    assert targets(jobs) == {
        r"D:\Photos\2024\IMG_0001.JPG": r"E:\Converted\2024\IMG_0001.webp",
        r"D:\Photos\2024\Trip\IMG_0002.jpeg": r"E:\Converted\2024\Trip\IMG_0002.webp",
        r"D:\Photos\cover.png": r"E:\Converted\cover.webp",
    }
    assert all(j.action == "convert" for j in jobs)


def test_unc_share_sources_and_output(windows):
    root = r"\\nas\family\Photos"
    sources = [Source(root + r"\a.jpg", root), Source(root + r"\Holiday\b.tif", root)]
    jobs = plan_jobs(sources, Recipe(format="jpeg"), r"\\nas\family\Web")
    assert targets(jobs) == {
        root + r"\a.jpg": r"\\nas\family\Web\a.jpg",
        root + r"\Holiday\b.tif": r"\\nas\family\Web\Holiday\b.jpg",
    }


def test_no_output_folder_puts_a_subfolder_next_to_each_source_on_the_same_drive(windows):
    sources = [Source(r"C:\Users\ann\Pictures\x.png", None), Source(r"\\srv\s\y.jpg", None)]
    jobs = plan_jobs(sources, Recipe(format="png"), None)
    assert targets(jobs) == {
        r"C:\Users\ann\Pictures\x.png": r"C:\Users\ann\Pictures\converted\x.png",
        r"\\srv\s\y.jpg": r"\\srv\s\converted\y.png",
    }


def test_the_parent_token_and_the_extension_token_follow_windows_paths(windows):
    recipe = Recipe(format="webp", name_template="{parent}-{stem}-{ext}")
    src = Source(r"C:\Shoot\Day 1\DSC_0042.NEF", r"C:\Shoot")
    assert render_name(recipe, src, 1, (0, 0)) == "Day 1-DSC_0042-nef"
    at_root = Source(r"\\server\share\top.jpg", None)
    assert render_name(recipe, at_root, 1, (0, 0)) == "-top-jpg"


def test_posix_rules_take_a_backslash_as_part_of_the_name(monkeypatch):
    """The same source string under the Linux rules: one file name with backslashes in it,
    which the naming makes safe for every file system (no backslash or colon)."""
    monkeypatch.setattr(naming, "_path", posixpath)
    monkeypatch.setattr(naming, "_WINDOWS", False)
    src = Source(r"C:\Shoot\a.jpg", None)
    assert render_name(Recipe(), src, 1, (0, 0)) == "C__Shoot_a"


def test_renamed_siblings_keep_the_drive_and_the_extension(windows):
    assert renamed(r"C:\out.d\photo.webp", 2) == r"C:\out.d\photo-2.webp"
    assert renamed(r"\\srv\share.x\noext", 1) == r"\\srv\share.x\noext-1"


# --- Windows device names ----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("stem", "name"),
    [
        ("con", "con_"),
        ("CON", "CON_"),
        ("Aux.final", "Aux_.final"),
        ("nul ", "nul_"),
        ("lpt1", "lpt1_"),
        ("COM9", "COM9_"),
        ("com\u00b9", "com\u00b9_"),
        ("console", "console"),
        ("lpt10", "lpt10"),
        ("my con", "my con"),
    ],
)
def test_windows_device_names_are_never_output_names(windows, stem, name):
    assert safe_name(stem, "image") == name


def test_device_names_are_kept_where_they_are_ordinary_names(monkeypatch):
    monkeypatch.setattr(naming, "_WINDOWS", False)
    assert safe_name("con", "image") == "con"
    assert safe_name("LPT1.draft", "image") == "LPT1.draft"


def test_a_planned_device_name_gets_a_usable_target(windows):
    jobs = plan_jobs([Source(r"C:\in\CON.jpg", r"C:\in")], Recipe(format="webp"), r"C:\out")
    assert jobs[0].target == r"C:\out\CON_.webp"


# --- case-insensitive collisions ---------------------------------------------------------------
def test_photo_jpg_and_photo_jpg_become_one_target_and_the_second_is_renamed(windows):
    sources = [Source(r"C:\in\Photo.JPG", r"C:\in"), Source(r"C:\in\photo.jpg", r"C:\in")]
    jobs = plan_jobs(sources, Recipe(format="webp"), r"C:\out")
    assert [j.target for j in jobs] == [r"C:\out\Photo.webp", r"C:\out\photo-1.webp"]


def test_case_collisions_are_avoided_on_every_system(tmp_path):
    """Planned on Linux too: the output folder may be a USB stick (FAT), a Samba share or a
    macOS disk, where the two names are one file; two distinct names are safe everywhere."""
    src = tmp_path / "in"
    src.mkdir()
    for name in ("Photo.JPG", "photo.jpg", "PHOTO.png"):
        (src / name).write_bytes(b"x")
    p = plan([src], Recipe(format="webp"), tmp_path / "out")
    names = sorted(Path(j.target).name for j in p.jobs)
    assert len({n.casefold() for n in names}) == 3, names
    assert sorted(n.casefold() for n in names) == ["photo-1.webp", "photo-2.webp", "photo.webp"]


def test_case_collision_skip_policy(windows):
    sources = [Source(r"C:\in\IMG.jpg", r"C:\in"), Source(r"C:\in\img.JPG", r"C:\in")]
    jobs = plan_jobs(sources, Recipe(format="png", on_conflict="skip"), r"C:\out")
    assert [j.action for j in jobs] == ["convert", "skip"]


def test_an_output_differing_only_in_case_from_an_existing_file_is_renamed(tmp_path):
    """A file already in the output folder counts whatever its case."""
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "beach.jpg").write_bytes(b"x")
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "BEACH.WEBP").write_bytes(b"old")
    p = plan([tmp_path / "in"], Recipe(format="webp"), tmp_path / "out")
    assert Path(p.jobs[0].target).name == "beach-1.webp"


def test_a_target_differing_only_in_case_from_a_source_never_overwrites_it(windows):
    sources = [Source(r"C:\pics\Logo.PNG", r"C:\pics")]
    jobs = plan_jobs(sources, Recipe(format="png"), r"C:\PICS")
    assert jobs[0].target == r"C:\PICS\Logo-1.png"


# --- the Windows retry on a locked target ------------------------------------------------------
class Locked:
    """os.replace that fails like a target held open by a scanner, `times` times."""

    def __init__(self, times: int) -> None:
        self.times = times
        self.calls = 0
        self.real = os.replace

    def __call__(self, src, dst) -> None:
        self.calls += 1
        if self.calls <= self.times:
            raise PermissionError(errno.EACCES, "The process cannot access the file", dst)
        self.real(src, dst)


@pytest.fixture
def no_sleep(monkeypatch):
    slept: list[float] = []
    monkeypatch.setattr(publish.time, "sleep", slept.append)
    return slept


def _temp(folder: Path) -> str:
    """A finished output under a temp name, as on Windows (no O_TMPFILE there)."""
    fd, tmp = publish.create_temp(str(folder), named=True)
    os.write(fd, b"new")
    os.close(fd)
    return tmp


@pytest.mark.parametrize("policy", ["overwrite", "rename"])
def test_windows_retries_a_locked_target_until_it_is_free(tmp_path, monkeypatch, no_sleep, policy):
    monkeypatch.setattr(publish, "_RETRY_LOCKED", True)
    locked = Locked(times=3)
    monkeypatch.setattr(publish.os, "replace", locked)
    # rename: no hard links on this share (FAT, some SMB servers): the replace path
    if policy == "rename":
        monkeypatch.setattr(
            publish.os, "link", lambda a, b, **kw: (_ for _ in ()).throw(OSError(errno.EPERM, "no"))
        )
    target = tmp_path / "photo.webp"
    if policy == "overwrite":
        target.write_bytes(b"old")
    assert publish.publish(_temp(tmp_path), str(target), policy) == str(target)
    assert target.read_bytes() == b"new"
    assert locked.calls == 4 and len(no_sleep) == 3
    assert not list(tmp_path.glob(".pixmill-*"))


def test_windows_gives_up_on_a_target_that_stays_locked(tmp_path, monkeypatch, no_sleep):
    monkeypatch.setattr(publish, "_RETRY_LOCKED", True)
    locked = Locked(times=100)
    monkeypatch.setattr(publish.os, "replace", locked)
    tmp = _temp(tmp_path)
    with pytest.raises(PermissionError):
        publish.publish(tmp, str(tmp_path / "x.webp"), "overwrite")
    assert locked.calls == publish._REPLACE_ATTEMPTS
    assert sum(no_sleep) == pytest.approx(0.75) and Path(tmp).exists()


def test_elsewhere_a_permission_error_is_final_at_once(tmp_path, monkeypatch, no_sleep):
    monkeypatch.setattr(publish, "_RETRY_LOCKED", False)
    locked = Locked(times=1)
    monkeypatch.setattr(publish.os, "replace", locked)
    with pytest.raises(PermissionError):
        publish.publish(_temp(tmp_path), str(tmp_path / "x.webp"), "overwrite")
    assert locked.calls == 1 and no_sleep == []


def test_no_hard_links_and_a_taken_name_renames_instead_of_clobbering(tmp_path, monkeypatch):
    monkeypatch.setattr(
        publish.os, "link", lambda a, b, **kw: (_ for _ in ()).throw(OSError(errno.EPERM, "no"))
    )
    (tmp_path / "a.webp").write_bytes(b"theirs")
    got = publish.publish(_temp(tmp_path), str(tmp_path / "a.webp"), "rename")
    assert got == str(tmp_path / "a-1.webp")
    assert (tmp_path / "a.webp").read_bytes() == b"theirs"
    assert publish.publish(_temp(tmp_path), str(tmp_path / "a.webp"), "skip") is None


def test_publish_never_loops_forever(tmp_path, monkeypatch):
    monkeypatch.setattr(
        publish.os,
        "link",
        lambda a, b, **kw: (_ for _ in ()).throw(FileExistsError(errno.EEXIST, "x")),
    )
    with pytest.raises(ConversionError):
        publish.publish(_temp(tmp_path), str(tmp_path / "a.webp"), "rename")
