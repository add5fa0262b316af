"""pixmill.engine.scan: walking the inputs (folders and files) into Sources, each image once,
and the problems found on the way."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pixmill.engine.scan import ScanCancelled, ScanOptions, collect_sources
from tests.conftest import make_image

pytestmark = pytest.mark.timeout(30)


def names(sources) -> list[str]:
    return [Path(s.path).name for s in sources]


def touch(path: Path, data: bytes = b"x") -> Path:
    """An image-named file: the walk reads directories only, never the files' contents."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def test_only_image_files_are_planned_and_hidden_entries_skipped(tmp_path):
    src = tmp_path / "in"
    make_image(src / "x.jpg")
    (src / "notes.txt").write_text("hello")
    (src / "Thumbs.db").write_bytes(b"\0" * 10)
    make_image(src / ".hidden.jpg")
    make_image(src / ".cache" / "y.jpg")
    sources, problems = collect_sources([src])
    assert [Path(s.path).name for s in sources] == ["x.jpg"]
    assert problems == []


def test_the_same_folder_twice_plans_each_file_once(photos):
    sources, problems = collect_sources([photos, photos, photos / "a.jpg", photos / "sub"])
    assert len(sources) == 5
    assert len({s.path for s in sources}) == 5


def test_symlink_loops_end_and_fifos_are_ignored(tmp_path):
    src = tmp_path / "in"
    make_image(src / "a.jpg")
    (src / "loop").symlink_to(src, target_is_directory=True)
    (src / "sub").mkdir()
    (src / "sub" / "up").symlink_to(src, target_is_directory=True)
    os.mkfifo(src / "pipe.jpg")
    (src / "dangling.jpg").symlink_to(tmp_path / "nowhere.jpg")
    sources, _ = collect_sources([src])
    assert [Path(s.path).name for s in sources] == ["a.jpg"]


def test_missing_input_and_empty_folder_are_reported(tmp_path):
    (tmp_path / "empty").mkdir()
    _, problems = collect_sources([tmp_path / "missing", tmp_path / "empty"])
    messages = dict(problems)
    assert "not found" in messages[str(tmp_path / "missing")]
    assert "no images" in messages[str(tmp_path / "empty")]


def test_walk_is_sorted_within_folders_and_depth_first(tmp_path):
    src = tmp_path / "in"
    for rel in ("b.jpg", "a.png", "sub2/z.jpg", "sub1/y.jpg", "sub1/deep/x.jpg", "c.gif"):
        touch(src / rel)
    sources, _ = collect_sources([src])
    rel = [os.path.relpath(s.path, src) for s in sources]
    assert rel == ["a.png", "b.jpg", "c.gif", "sub1/y.jpg", "sub1/deep/x.jpg", "sub2/z.jpg"]


@pytest.mark.parametrize("run", [4096, 7])
def test_a_big_folder_is_in_name_order_whether_sorted_at_once_or_in_runs(
    tmp_path, monkeypatch, run
):
    import pixmill.engine.scan as scan

    monkeypatch.setattr(scan, "_SORT_RUN", run)  # 7: 60 files make 9 runs, the last short
    src = tmp_path / "in"
    made = [f"{(i * 37) % 60:02d}-{i}.png" for i in range(60)]
    for name in made:
        touch(src / name)
    sources, _ = collect_sources([src])
    assert names(sources) == sorted(made)


def test_inputs_keep_their_order(tmp_path):
    touch(tmp_path / "one" / "z.jpg")
    touch(tmp_path / "two" / "a.jpg")
    touch(tmp_path / "m.png")
    sources, _ = collect_sources([tmp_path / "two", tmp_path / "m.png", tmp_path / "one"])
    assert names(sources) == ["a.jpg", "m.png", "z.jpg"]


def test_sources_carry_root_size_and_mtime(tmp_path):
    src = tmp_path / "in"
    walked = touch(src / "sub" / "a.jpg", b"12345")
    os.utime(walked, (1_600_000_000, 1_600_000_000))
    given = touch(tmp_path / "b.jpg", b"123")
    sources, _ = collect_sources([src, given])
    by_name = {Path(s.path).name: s for s in sources}
    assert by_name["a.jpg"].root == str(src) and by_name["b.jpg"].root is None
    assert by_name["a.jpg"].size == 5 and by_name["b.jpg"].size == 3
    assert by_name["a.jpg"].mtime == 1_600_000_000


def test_relative_inputs_become_absolute_paths(tmp_path, monkeypatch):
    touch(tmp_path / "in" / "a.jpg")
    monkeypatch.chdir(tmp_path)
    sources, _ = collect_sources(["in"])
    assert sources[0].path == str(tmp_path / "in" / "a.jpg")
    assert sources[0].root == str(tmp_path / "in")


def test_extensions_are_matched_whatever_their_case(tmp_path):
    touch(tmp_path / "in" / "A.JPG")
    touch(tmp_path / "in" / "b.Png")
    sources, _ = collect_sources([tmp_path / "in"])
    assert names(sources) == ["A.JPG", "b.Png"]


def test_explicit_files_are_taken_whatever_their_name(tmp_path):
    odd = touch(tmp_path / "scan0001")
    hidden = touch(tmp_path / ".hidden.jpg")
    sources, problems = collect_sources([odd, hidden])
    assert names(sources) == ["scan0001", ".hidden.jpg"]
    assert problems == []


def test_a_non_regular_input_is_a_problem(tmp_path):
    os.mkfifo(tmp_path / "pipe.jpg")
    sources, problems = collect_sources([tmp_path / "pipe.jpg"])
    assert sources == []
    assert problems == [(str(tmp_path / "pipe.jpg"), "not a regular file or folder")]


def test_a_folder_of_only_non_images_holds_no_images(tmp_path):
    touch(tmp_path / "docs" / "readme.txt")
    _, problems = collect_sources([tmp_path / "docs"])
    assert problems == [(str(tmp_path / "docs"), "holds no images")]


def test_not_recursive_stays_in_the_top_folder(tmp_path):
    touch(tmp_path / "in" / "a.jpg")
    touch(tmp_path / "in" / "sub" / "b.jpg")
    sources, _ = collect_sources([tmp_path / "in"], ScanOptions(recursive=False))
    assert names(sources) == ["a.jpg"]


def test_excluded_folders_are_skipped_by_path_even_through_a_symlink(tmp_path):
    src = tmp_path / "in"
    touch(src / "a.jpg")
    touch(src / "out" / "old.jpg")
    touch(src / "keep" / "b.jpg")
    (tmp_path / "alias").symlink_to(src / "out", target_is_directory=True)
    options = ScanOptions(exclude_dirs=(str(tmp_path / "alias"),))
    sources, _ = collect_sources([src], options)
    assert names(sources) == ["a.jpg", "b.jpg"]


def test_excluded_names_skip_that_folder_at_every_depth(tmp_path):
    src = tmp_path / "in"
    touch(src / "converted" / "x.jpg")
    touch(src / "sub" / "converted" / "y.jpg")
    touch(src / "sub" / "z.jpg")
    sources, _ = collect_sources([src], ScanOptions(exclude_names=("converted",)))
    assert names(sources) == ["z.jpg"]


def test_a_symlinked_folder_is_entered_and_a_linked_file_counts_once(tmp_path):
    outside = tmp_path / "elsewhere"
    touch(outside / "far.jpg")
    src = tmp_path / "in"
    real = touch(src / "a.jpg")
    (src / "link").symlink_to(outside, target_is_directory=True)
    (src / "z-alias.jpg").symlink_to(real)
    sources, _ = collect_sources([src])
    assert [os.path.relpath(s.path, src) for s in sources] == ["a.jpg", "link/far.jpg"]
    assert {s.root for s in sources} == {str(src)}


def test_an_unreadable_subfolder_is_a_problem_and_the_walk_goes_on(tmp_path, monkeypatch):
    src = tmp_path / "in"
    touch(src / "a.jpg")
    locked = src / "locked"
    touch(locked / "b.jpg")
    touch(src / "z" / "c.jpg")
    scandir = os.scandir

    def refusing(path):
        if os.fspath(path) == str(locked):
            raise PermissionError(13, "Permission denied", str(path))
        return scandir(path)

    monkeypatch.setattr(os, "scandir", refusing)  # works as root too, unlike chmod 0
    sources, problems = collect_sources([src])
    assert names(sources) == ["a.jpg", "c.jpg"]
    assert problems == [(str(locked), "cannot read folder: Permission denied")]


def test_cancel_stops_a_walk_with_scan_cancelled(tmp_path):
    for i in range(5):
        touch(tmp_path / "in" / f"d{i}" / "a.jpg")
    calls = []

    def cancel() -> bool:
        calls.append(1)
        return len(calls) >= 3

    with pytest.raises(ScanCancelled):
        collect_sources([tmp_path / "in"], cancel=cancel)
    assert len(calls) == 3


def test_a_cancel_that_never_fires_changes_nothing(tmp_path):
    for i in range(3):
        touch(tmp_path / "in" / f"d{i}" / "a.jpg")
    sources, _ = collect_sources([tmp_path / "in"], cancel=lambda: False)
    assert len(sources) == 3


def test_the_scan_tells_how_many_images_it_found_as_it_goes(tmp_path):
    for i in range(1100):
        touch(tmp_path / "in" / f"sub{i % 3}" / f"p{i:04d}.jpg")
    told: list[int] = []
    sources, _ = collect_sources([tmp_path / "in"], ScanOptions(), progress=told.append)
    assert len(sources) == 1100
    assert told == [500, 1000]
