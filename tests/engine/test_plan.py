"""pixmill.engine.plan: scan options for an output folder, targets and collisions decided up
front (never overwriting a source), and the dry-run listing."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pixmill.engine.job import Job, Plan, Source
from pixmill.engine.plan import DEFAULT_SUBFOLDER, format_plan, plan, plan_jobs, scan_options
from pixmill.engine.recipe import Recipe, Resize
from pixmill.engine.scan import ScanOptions, collect_sources
from tests.conftest import make_image

pytestmark = pytest.mark.timeout(30)


def rel_targets(p, out: Path) -> dict[str, str]:
    return {Path(j.source).name: os.path.relpath(j.target, out) for j in p.jobs}


def touch(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x")
    return path


def test_tree_is_preserved_below_each_input_folder(photos, tmp_path):
    out = tmp_path / "out"
    p = plan([photos], Recipe(format="webp"), out)
    assert rel_targets(p, out) == {
        "a.jpg": "a.webp",
        "b.jpg": "b.webp",
        "c.png": "c.webp",
        "d.png": "sub/d.webp",
        "e.webp": "sub/deeper/e.webp",
    }
    assert all(j.action == "convert" for j in p.jobs)


def test_flat_and_no_recursive(photos, tmp_path):
    out = tmp_path / "out"
    flat = plan([photos], Recipe(format="png", preserve_tree=False), out)
    assert {Path(j.target).parent for j in flat.jobs} == {out}
    shallow = plan([photos], Recipe(recursive=False), out)
    assert sorted(Path(j.source).name for j in shallow.jobs) == ["a.jpg", "b.jpg", "c.png"]


def test_explicit_files_are_planned_whatever_their_extension(tmp_path):
    f = tmp_path / "scan0001"
    make_image(f, format="PNG")
    p = plan([f], Recipe(format="jpeg"), tmp_path / "out")
    assert [Path(j.target).name for j in p.jobs] == ["scan0001.jpg"]


def test_collisions_between_inputs_are_renamed(tmp_path):
    src = tmp_path / "in"
    make_image(src / "a.png")
    make_image(src / "a.jpg")
    make_image(src / "A.gif")
    out = tmp_path / "out"
    p = plan([src], Recipe(format="webp"), out)
    names = sorted(Path(j.target).name for j in p.jobs)
    assert len(set(n.casefold() for n in names)) == 3
    assert "a.webp" in names or "A.webp" in names


def test_existing_targets_follow_the_policy(tmp_path):
    src = tmp_path / "in"
    make_image(src / "a.jpg")
    out = tmp_path / "out"
    make_image(out / "a.webp")
    renamed = plan([src], Recipe(format="webp"), out).jobs[0]
    assert Path(renamed.target).name == "a-1.webp" and renamed.action == "convert"
    skipped = plan([src], Recipe(format="webp", on_conflict="skip"), out).jobs[0]
    assert skipped.action == "skip" and "exists" in skipped.reason
    over = plan([src], Recipe(format="webp", on_conflict="overwrite"), out).jobs[0]
    assert Path(over.target).name == "a.webp" and over.action == "convert"


def test_skip_policy_skips_the_second_of_two_colliding_inputs(tmp_path):
    src = tmp_path / "in"
    make_image(src / "a.jpg")
    make_image(src / "a.png")
    jobs = plan([src], Recipe(format="webp", on_conflict="skip"), tmp_path / "out").jobs
    assert [j.action for j in jobs] == ["convert", "skip"]
    assert "batch" in jobs[1].reason


@pytest.mark.parametrize("policy", ["rename", "overwrite"])
def test_output_into_the_input_folder_never_targets_a_source(tmp_path, policy):
    src = tmp_path / "in"
    make_image(src / "a.jpg")
    make_image(src / "b.png")
    jobs = plan([src], Recipe(format="same", on_conflict=policy), src).jobs
    sources = {j.source for j in jobs}
    assert all(j.target not in sources for j in jobs)
    assert sorted(Path(j.target).name for j in jobs) == ["a-1.jpg", "b-1.png"]


def test_output_folder_inside_the_input_is_never_rescanned(tmp_path):
    src = tmp_path / "in"
    make_image(src / "a.jpg")
    out = src / "out"
    make_image(out / "old.jpg")
    jobs = plan([src], Recipe(), out).jobs
    assert [Path(j.source).name for j in jobs] == ["a.jpg"]


def test_subfolder_next_to_each_source(photos):
    p = plan([photos], Recipe(format="png"), None)
    for j in p.jobs:
        assert Path(j.target).parent == Path(j.source).parent / "converted"
    make_image(photos / "converted" / "z.jpg")
    again = plan([photos], Recipe(format="png"), None)
    assert "z.jpg" not in {Path(j.source).name for j in again.jobs}


def test_plan_jobs_are_indexed_in_order(photos, tmp_path):
    sources, _ = collect_sources([photos])
    jobs = plan_jobs(sources, Recipe(), tmp_path / "out")
    assert [j.index for j in jobs] == list(range(1, len(jobs) + 1))


def test_dry_run_listing_mentions_every_source(photos, tmp_path):
    p = plan([photos], Recipe(format="jpeg"), tmp_path / "out")
    text = format_plan(p)
    for j in p.jobs:
        assert j.source in text
    assert "5 to convert" in text
    assert not (tmp_path / "out").exists()


# --- scan options -------------------------------------------------------------------------


def test_scan_options_exclude_the_output_folder_by_path(tmp_path):
    assert scan_options(True, tmp_path / "out") == ScanOptions(
        True, exclude_dirs=(str(tmp_path / "out"),)
    )
    assert scan_options(False, "rel/out").exclude_names == ()


def test_scan_options_without_an_output_folder_exclude_the_subfolder_by_name():
    assert DEFAULT_SUBFOLDER == "converted"
    assert scan_options(True, None) == ScanOptions(True, exclude_names=("converted",))
    assert scan_options(False, None, "small") == ScanOptions(False, exclude_names=("small",))


def test_scan_options_for_an_output_folder_not_chosen_yet_skip_nothing():
    """The window counts its sources while the output folder field is still empty: that must
    not exclude the current directory (what "" resolves to)."""
    assert scan_options(True, "") == ScanOptions(True)


def test_a_custom_subfolder_is_used_and_never_rescanned(tmp_path):
    src = tmp_path / "in"
    touch(src / "a.jpg")
    touch(src / "small" / "old.jpg")
    p = plan([src], Recipe(format="png"), None, subfolder="small")
    assert [(Path(j.source).name, j.target) for j in p.jobs] == [
        ("a.jpg", str(src / "small" / "a.png"))
    ]


# --- targets ------------------------------------------------------------------------------


def test_jobs_carry_the_sources_format_size_and_time(tmp_path):
    sources = [Source(str(tmp_path / "a.gif"), None, 123, 4.5)]
    (job,) = plan_jobs(sources, Recipe(format="same"), tmp_path / "out")
    target = str(tmp_path / "out" / "a.gif")
    assert job == Job(1, str(tmp_path / "a.gif"), target, "gif", Recipe(), size=123, mtime=4.5)


def test_a_relative_output_folder_gives_absolute_targets(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (job,) = plan_jobs([Source(str(tmp_path / "a.jpg"), None)], Recipe(), "out")
    assert job.target == str(tmp_path / "out" / "a.jpg")


def test_each_input_folder_is_its_own_tree_root(tmp_path):
    touch(tmp_path / "one" / "x" / "a.jpg")
    touch(tmp_path / "two" / "x" / "a.jpg")
    touch(tmp_path / "two" / "b.jpg")
    out = tmp_path / "out"
    p = plan([tmp_path / "one", tmp_path / "two"], Recipe(), out)
    assert [os.path.relpath(j.target, out) for j in p.jobs] == ["x/a.jpg", "b.jpg", "x/a-1.jpg"]


def test_files_given_directly_go_to_the_top_of_the_output_folder(tmp_path):
    f = touch(tmp_path / "deep" / "er" / "a.jpg")
    (job,) = plan([f], Recipe(preserve_tree=True), tmp_path / "out").jobs
    assert job.target == str(tmp_path / "out" / "a.jpg")


def test_width_and_height_tokens_read_the_image_headers(tmp_path):
    src = tmp_path / "in"
    make_image(src / "wide.png", (300, 100))
    make_image(src / "tall.png", (100, 300))
    r = Recipe(name_template="{stem}_{width}x{height}")
    assert sorted(Path(j.target).name for j in plan([src], r, tmp_path / "out").jobs) == [
        "tall_100x300.png",
        "wide_300x100.png",
    ]
    half = r.replace(resize=Resize("percent", percent=50))
    assert sorted(Path(j.target).name for j in plan([src], half, tmp_path / "out").jobs) == [
        "tall_50x150.png",
        "wide_150x50.png",
    ]


def test_an_unreadable_header_names_the_file_with_zero_size(tmp_path):
    bad = touch(tmp_path / "in" / "bad.png")
    (job,) = plan([bad], Recipe(name_template="{stem}_{width}"), tmp_path / "out").jobs
    assert Path(job.target).name == "bad_0.png" and job.action == "convert"


def test_rename_numbering_skips_names_taken_on_disk_whatever_their_case(tmp_path):
    touch(tmp_path / "in" / "a.jpg")
    out = tmp_path / "out"
    touch(out / "A.WEBP")
    touch(out / "a-1.Webp")
    touch(out / "A-2.webp")
    (job,) = plan([tmp_path / "in"], Recipe(format="webp"), out).jobs
    assert job.target == str(out / "a-3.webp")


def test_rename_numbering_skips_names_taken_earlier_in_the_batch(tmp_path):
    src = tmp_path / "in"
    for name in ("a.gif", "a.jpg", "a.png", "a-1.bmp"):
        touch(src / name)
    out = tmp_path / "out"
    jobs = plan([src], Recipe(format="webp"), out).jobs
    assert [(Path(j.source).name, Path(j.target).name) for j in jobs] == [
        ("a-1.bmp", "a-1.webp"),
        ("a.gif", "a.webp"),
        ("a.jpg", "a-2.webp"),
        ("a.png", "a-3.webp"),
    ]


def test_overwrite_still_renames_a_second_file_of_the_batch(tmp_path):
    src = tmp_path / "in"
    touch(src / "a.jpg")
    touch(src / "a.png")
    touch(tmp_path / "out" / "a.webp")
    jobs = plan([src], Recipe(format="webp", on_conflict="overwrite"), tmp_path / "out").jobs
    assert [Path(j.target).name for j in jobs] == ["a.webp", "a-1.webp"]
    assert [j.action for j in jobs] == ["convert", "convert"]


def test_skip_policy_never_targets_a_source_and_says_so(tmp_path):
    src = tmp_path / "in"
    touch(src / "a.jpg")
    touch(src / "b.gif")
    jobs = plan([src], Recipe(format="jpeg", on_conflict="skip"), src).jobs
    assert [(Path(j.source).name, j.action, j.reason) for j in jobs] == [
        ("a.jpg", "skip", "target exists (it is a source)"),
        ("b.gif", "convert", ""),
    ]


def test_skip_policy_reasons_for_disk_and_batch_collisions(tmp_path):
    src = tmp_path / "in"
    touch(src / "a.jpg")
    touch(src / "b.jpg")
    touch(src / "b.png")
    out = tmp_path / "out"
    touch(out / "a.webp")
    jobs = plan([src], Recipe(format="webp", on_conflict="skip"), out).jobs
    assert [(Path(j.source).name, j.action, j.reason) for j in jobs] == [
        ("a.jpg", "skip", "target exists"),
        ("b.jpg", "convert", ""),
        ("b.png", "skip", "another file in this batch already makes this target"),
    ]
    assert Plan(jobs).to_convert == 1


def test_a_skipped_job_keeps_its_planned_target(tmp_path):
    touch(tmp_path / "in" / "a.jpg")
    touch(tmp_path / "out" / "a.png")
    p = plan([tmp_path / "in"], Recipe(format="png", on_conflict="skip"), tmp_path / "out")
    (job,) = p.jobs
    assert job.action == "skip" and job.target == str(tmp_path / "out" / "a.png")


# --- the dry-run listing ------------------------------------------------------------------


def test_dry_run_listing_shows_targets_skips_notes_and_counts(tmp_path):
    recipe = Recipe()
    p = Plan(
        jobs=[
            Job(1, "/in/a.jpg", "/out/a.jpg", "jpeg", recipe),
            Job(2, "/in/b.jpg", "/out/b.jpg", "jpeg", recipe, "skip", "target exists"),
        ],
        problems=[("/in/empty", "holds no images")],
    )
    assert format_plan(p).splitlines() == [
        "/in/a.jpg  ->  /out/a.jpg",
        "skip  /in/b.jpg  (target exists)",
        "note  /in/empty: holds no images",
        "1 to convert, 1 to skip",
    ]


def test_an_empty_plan_lists_only_the_counts():
    assert format_plan(Plan()) == "0 to convert, 0 to skip"


def test_plan_returns_the_scans_problems(tmp_path):
    touch(tmp_path / "in" / "a.jpg")
    p = plan([tmp_path / "in", tmp_path / "missing"], Recipe(), tmp_path / "out")
    assert len(p.jobs) == 1
    assert [path for path, _ in p.problems] == [str(tmp_path / "missing")]
