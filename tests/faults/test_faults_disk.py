"""The file system misbehaves: full disk, file-size limit, output folder removed or made
read-only, sources deleted or rewritten mid-run, the same folder twice, output = input."""

from __future__ import annotations

import os
import random
import resource
import time

import pytest
from faultkit.batch import ApiRun, CliRun, fresh_dir, image_bytes, make_batch, wait_for
from faultkit.invariants import assert_clean, key
from faultkit.trials import (
    SLOW,
    can_mount,
    read_only,
    tmpfs,
    trial_disk_full,
    trial_out_is_in,
    trial_outdir_readonly,
    trial_outdir_removed,
    trial_same_folder_twice,
    trial_source_changed,
)

from pixmill.engine.recipe import Recipe

pytestmark = pytest.mark.timeout(90)

needs_mount = pytest.mark.skipif(not can_mount(), reason="needs root and mount (tmpfs, bind)")

OUT_FORMATS = [
    "png",
    "jpeg",
    "webp",
    "gif",
    "bmp",
    "avif",
    "tiff",
]


def _one_photo(tmp_path, w=800, h=600) -> str:
    inp = fresh_dir(str(tmp_path / "in"))
    with open(os.path.join(inp, "photo.png"), "wb") as f:
        f.write(image_bytes("PNG", w, h))
    return inp


@needs_mount
@pytest.mark.timeout(60)
@pytest.mark.parametrize("fmt", OUT_FORMATS)
def test_full_disk_is_reported_as_disk_full_for_every_format(tmp_path, fmt):
    inp = _one_photo(tmp_path)
    out = str(tmp_path / "out")
    with tmpfs(out, 256) as mounted:
        assert mounted
        try:
            with open(os.path.join(out, "filler.bin"), "wb") as f:
                while True:
                    f.write(b"\0" * 65536)
        except OSError:
            pass
        run = ApiRun([inp], out, Recipe(format=fmt), workers=1)
        report = run.start().wait()
        v = run.check(ignore={key(os.path.join(out, "filler.bin"))})
        assert sorted(os.listdir(out)) == ["filler.bin"]  # no temp, no partial output
    (f,) = report.files
    assert f["status"] == "failed"
    assert f["error"] == "disk full: no space left for the output", f["error"]
    assert_clean(v)


@pytest.mark.timeout(60)
@pytest.mark.parametrize("fmt", OUT_FORMATS)
def test_file_size_limit_is_a_clear_per_file_failure(tmp_path, fmt):
    """RLIMIT_FSIZE on the CLI (and so on its workers): outputs over the limit fail with a
    message naming the limit, smaller ones still convert, nothing truncated remains."""
    inp = _one_photo(tmp_path)
    with open(os.path.join(inp, "tiny.png"), "wb") as f:
        f.write(image_bytes("PNG", 16, 16))
    limit = 24 << 10

    def preexec() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    run = CliRun(
        [inp], str(tmp_path / "out"), ["--format", fmt], str(tmp_path / "r.json"), preexec=preexec
    ).start()
    assert run.wait() == 1
    data = run.load_report()
    assert data is not None
    by_name = {os.path.basename(f["source"]): f for f in data["files"]}
    assert by_name["tiny.png"]["status"] == "ok"
    big = by_name["photo.png"]
    assert big["status"] == "failed"
    assert "file size limit" in big["error"], big["error"]
    assert_clean(run.check())


@needs_mount
@pytest.mark.timeout(90)
@pytest.mark.parametrize("seed,fmt", [(51, "png"), (52, "bmp")])
def test_disk_fills_up_mid_batch(tmp_path, seed, fmt):
    outcome = trial_disk_full(random.Random(seed), str(tmp_path), how="tmpfs", fmt=fmt)
    assert_clean(outcome.violations)


@pytest.mark.timeout(90)
@pytest.mark.parametrize("seed,fmt", [(53, "webp")])
def test_file_size_limit_mid_batch(tmp_path, seed, fmt):
    outcome = trial_disk_full(random.Random(seed), str(tmp_path), how="fsize", fmt=fmt)
    assert_clean(outcome.violations)


@pytest.mark.timeout(60)
@pytest.mark.parametrize("seed", [61])
def test_output_folder_removed_mid_run(tmp_path, seed):
    assert_clean(trial_outdir_removed(random.Random(seed), str(tmp_path)).violations)


@pytest.mark.timeout(60)
def test_output_folder_removed_between_write_and_publish(tmp_path):
    """rmtree while every worker is in the middle of a file: each one fails with 'not
    found', or succeeds into a re-created folder; never a half file."""
    inp = fresh_dir(str(tmp_path / "in"))
    make_batch(inp, random.Random(4), small=2, medium=0, slow=4)
    out = str(tmp_path / "out")
    run = ApiRun([inp], out, Recipe(format="png"), faults=SLOW).start()
    assert wait_for(lambda: len(run.events.started) >= 2, 20)
    import shutil

    shutil.rmtree(out, ignore_errors=True)
    run.wait()
    statuses = {key(j.source): {"ok", "failed"} for j in run.jobs}
    assert_clean(run.check(outputs_removed=True, statuses=statuses))


@needs_mount
@pytest.mark.timeout(60)
@pytest.mark.parametrize("seed", [72])
def test_output_folder_made_read_only_mid_run(tmp_path, seed):
    assert_clean(trial_outdir_readonly(random.Random(seed), str(tmp_path)).violations)


@needs_mount
@pytest.mark.timeout(60)
def test_read_only_output_folder_from_the_start(tmp_path):
    inp = fresh_dir(str(tmp_path / "in"))
    make_batch(inp, random.Random(5), small=4, medium=0, slow=0)
    out = fresh_dir(str(tmp_path / "out"))
    os.makedirs(os.path.join(out, "sub"))
    with read_only(out) as ok:
        assert ok
        run = ApiRun([inp], out, Recipe(format="webp"))
        report = run.start().wait()
        v = run.check(statuses={key(j.source): {"failed"} for j in run.jobs})
    for f in report.files:
        assert "read-only" in f["error"], f["error"]
    assert_clean(v)


@pytest.mark.timeout(60)
@pytest.mark.parametrize("how", ["deleted", "rewritten", "truncated", "replaced"])
def test_source_changes_mid_run(tmp_path, how):
    outcome = trial_source_changed(random.Random(81), str(tmp_path), how=how)
    assert_clean(outcome.violations)


@pytest.mark.timeout(60)
def test_source_deleted_before_its_turn_fails_with_not_found(tmp_path):
    inp = fresh_dir(str(tmp_path / "in"))
    make_batch(inp, random.Random(6), small=2, medium=0, slow=4)
    with open(os.path.join(inp, "zz-last.png"), "wb") as f:
        f.write(image_bytes("PNG", 32, 32))
    run = ApiRun([inp], str(tmp_path / "out"), Recipe(format="png"), faults=SLOW)
    last = next(j for j in run.jobs if j.source.endswith("zz-last.png"))
    run.start()
    assert wait_for(lambda: bool(run.events.started), 20)
    time.sleep(0.1)
    os.unlink(last.source)
    report = run.wait()
    f = next(f for f in report.files if f["index"] == last.index)
    assert f["status"] == "failed"
    assert f["error"].startswith("file or folder not found"), f["error"]
    assert_clean(run.check(mutated={key(last.source)}))


@pytest.mark.timeout(60)
@pytest.mark.parametrize("seed", [91, 92])
def test_same_folder_given_twice(tmp_path, seed):
    assert_clean(trial_same_folder_twice(random.Random(seed), str(tmp_path)).violations)


@pytest.mark.timeout(90)
@pytest.mark.parametrize("seed", [101, 102])
def test_output_folder_is_the_input_folder(tmp_path, seed):
    assert_clean(trial_out_is_in(random.Random(seed), str(tmp_path)).violations)


@pytest.mark.timeout(60)
@pytest.mark.parametrize("policy", ["overwrite", "rename", "skip"])
def test_output_in_input_folder_never_overwrites_a_source(tmp_path, policy):
    """Format 'same' into the input folder: every target name is a source's name."""
    inp = fresh_dir(str(tmp_path / "in"))
    make_batch(inp, random.Random(7), small=7, medium=0, slow=0)
    run = CliRun(
        [inp], inp, ["--format", "same", "--on-conflict", policy], str(tmp_path / "r.json")
    ).start()
    run.wait()
    assert_clean(run.check())
