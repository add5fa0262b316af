from __future__ import annotations

import os
from pathlib import Path

import pytest

from pixmill.engine.plan import format_plan, plan, plan_jobs
from pixmill.engine.recipe import Recipe, Resize
from pixmill.engine.scan import collect_sources
from tests.conftest import make_image

pytestmark = pytest.mark.timeout(30)


def rel_targets(p, out: Path) -> dict[str, str]:
    return {Path(j.source).name: os.path.relpath(j.target, out) for j in p.jobs}


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


def test_the_same_folder_twice_plans_each_file_once(photos, tmp_path):
    p = plan([photos, photos, photos / "a.jpg", photos / "sub"], Recipe(), tmp_path / "o")
    assert len(p.jobs) == 5


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


def test_naming_tokens(tmp_path):
    src = tmp_path / "holiday"
    make_image(src / "IMG_1.JPG", (400, 300))
    os.utime(src / "IMG_1.JPG", (1_700_000_000, 1_700_000_000))
    r = Recipe(
        format="webp",
        resize=Resize("fit", width=200, height=200),
        name_template="{parent}-{stem}-{ext}-{width}x{height}-{index:03d}-{date}",
    )
    job = plan([src], r, tmp_path / "out").jobs[0]
    assert Path(job.target).name.startswith("holiday-IMG_1-jpg-200x150-001-2023-11-1")


def test_unsafe_characters_in_names_are_replaced(tmp_path):
    src = tmp_path / "in"
    make_image(src / "a.jpg")
    job = plan([src], Recipe(name_template="{stem}/../x:y"), tmp_path / "out").jobs[0]
    assert Path(job.target).parent == tmp_path / "out"
    assert "/" not in Path(job.target).name


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
