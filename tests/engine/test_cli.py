"""pixmill.engine.cli: `pixmill convert` and `pixmill presets` as a user runs them, a real
subprocess on real folders."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time

import pytest
from PIL import Image

from tests.conftest import make_image, temp_leftovers, tree_hashes

pytestmark = pytest.mark.timeout(120)

PIXMILL = [sys.executable, "-m", "pixmill"]


@pytest.fixture(autouse=True)
def own_config_home(tmp_path, monkeypatch):
    """The subprocesses see an empty configuration folder: a user's own presets never count."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "no-config"))


def pixmill(*args: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*PIXMILL, *map(str, args)], capture_output=True, text=True, timeout=100, **kw
    )


def test_convert_a_tree_with_a_report(photos, tmp_path):
    before = tree_hashes(photos)
    out, rep = tmp_path / "out", tmp_path / "r.json"
    r = pixmill(
        "convert",
        photos,
        "-o",
        out,
        "--format",
        "jpeg",
        "--fit",
        "200x200",
        "--quality",
        "80",
        "--report",
        rep,
        "--workers",
        "2",
    )
    assert r.returncode == 0, r.stderr
    assert "5 converted" in r.stderr
    data = json.loads(rep.read_text())
    assert data["summary"]["total"] == 5 and data["summary"]["ok"] == 5
    assert set(data["summary"]) >= {"total", "ok", "skipped", "failed", "cancelled", "seconds"}
    for f in data["files"]:
        assert set(f) >= {
            "source",
            "target",
            "status",
            "error",
            "bytes_in",
            "bytes_out",
            "width",
            "height",
            "ms",
        }
        with Image.open(f["target"]) as im:
            assert im.format == "JPEG" and max(im.size) == 200
            assert im.size == (f["width"], f["height"])
    assert (out / "sub" / "deeper" / "e.jpg").exists()
    assert tree_hashes(photos) == before


def test_failures_give_exit_1_and_one_line_each(photos, tmp_path):
    (photos / "bad.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 40)
    r = pixmill("convert", photos, "-o", tmp_path / "out", "--format", "webp")
    assert r.returncode == 1
    lines = [ln for ln in r.stderr.splitlines() if ln.startswith("failed:")]
    assert len(lines) == 1 and "bad.png" in lines[0]


def test_dry_run_prints_the_plan_and_writes_nothing(photos, tmp_path):
    out = tmp_path / "out"
    r = pixmill("convert", photos, "-o", out, "--format", "png", "--dry-run")
    assert r.returncode == 0
    assert str(out / "sub" / "d.png") in r.stdout
    assert not out.exists()


@pytest.mark.parametrize(
    "args",
    [
        ["convert", "{src}"],  # no -o
        ["convert", "{missing}", "-o", "{out}"],
        ["convert", "{src}", "-o", "{out}", "--quality", "0"],
        ["convert", "{src}", "-o", "{out}", "--fit", "abc"],
        ["convert", "{src}", "-o", "{out}", "--preset", "No Such Preset"],
        ["convert", "{src}", "-o", "{out}", "--name", "{nope}"],
        ["convert", "{src}", "-o", "{file}"],
        ["frobnicate"],
    ],
)
def test_usage_errors_exit_2(photos, tmp_path, args):
    (tmp_path / "afile").write_text("x")
    subst = {
        "src": photos,
        "missing": tmp_path / "missing",
        "out": tmp_path / "o",
        "file": tmp_path / "afile",
    }
    r = pixmill(*[a.format(**subst) if a.startswith("{") and a != "{nope}" else a for a in args])
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert r.stderr.strip()


def test_presets_are_listed_and_usable(photos, tmp_path):
    r = pixmill("presets")
    assert r.returncode == 0
    for name in (
        "Web 2048 WebP",
        "Email 1280 JPEG",
        "Thumbnails 256",
        "Lossless PNG archive",
        "Square 1080 (fill)",
    ):
        assert name in r.stdout
    out = tmp_path / "out"
    r = pixmill("convert", photos, "-o", out, "--preset", "Square 1080 (fill)", "--flat")
    assert r.returncode == 0, r.stderr
    sizes = set()
    for p in out.iterdir():
        with Image.open(p) as im:
            sizes.add(im.size)
    assert sizes and all(w == h for w, h in sizes)


def test_flags_override_a_preset_file(photos, tmp_path):
    preset = tmp_path / "mine.json"
    preset.write_text(json.dumps({"name": "mine", "format": "webp", "quality": 50}))
    out = tmp_path / "out"
    r = pixmill(
        "convert",
        photos / "a.jpg",
        "-o",
        out,
        "--preset",
        preset,
        "--format",
        "png",
        "--long-edge",
        "100",
        "--name",
        "{stem}_{width}",
    )
    assert r.returncode == 0, r.stderr
    assert [p.name for p in out.iterdir()] == ["a_100.png"]


def test_skip_policy_counts_as_success(photos, tmp_path):
    out = tmp_path / "out"
    assert pixmill("convert", photos, "-o", out, "--format", "png").returncode == 0
    r = pixmill(
        "convert",
        photos,
        "-o",
        out,
        "--format",
        "png",
        "--on-conflict",
        "skip",
        "--report",
        tmp_path / "r.json",
    )
    assert r.returncode == 0
    data = json.loads((tmp_path / "r.json").read_text())
    assert data["summary"]["skipped"] == 5


def test_ctrl_c_cancels_cleanly_with_exit_130(tmp_path):
    src = tmp_path / "in"
    for i in range(60):
        make_image(src / f"p{i:02d}.jpg", (500, 375), seed=i, quality=90)
    before = tree_hashes(src)
    out = tmp_path / "out"
    proc = subprocess.Popen(
        [
            *PIXMILL,
            "convert",
            str(src),
            "-o",
            str(out),
            "--format",
            "png",
            "--png-level",
            "9",
            "--report",
            str(tmp_path / "r.json"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not (out.exists() and any(out.iterdir())):
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert "cancelled" in err
    data = json.loads((tmp_path / "r.json").read_text())
    assert len(data["files"]) == 60
    assert data["summary"]["cancelled"] > 0
    assert temp_leftovers(out) == []
    for p in out.iterdir():
        with Image.open(p) as im:
            im.load()
    assert tree_hashes(src) == before

    # The cancelled batch continues where it stopped, with its own recipe and folders.
    assert "continue with: pixmill convert --resume 1" in err
    r = pixmill("convert", "--resume", "1", "--report", tmp_path / "r2.json")
    assert r.returncode == 0, r.stderr
    data = json.loads((tmp_path / "r2.json").read_text())
    assert sorted(f["source"] for f in data["files"]) == sorted(str(p) for p in src.iterdir())
    assert data["summary"]["ok"] == 60
    assert sorted(p.name for p in out.iterdir()) == sorted(f"p{i:02d}.png" for i in range(60))
    assert "finished" in pixmill("batches").stdout


def test_update_converts_only_new_and_changed_sources(photos, tmp_path):
    out, rep = tmp_path / "out", tmp_path / "r.json"
    args = ("convert", photos, "-o", out, "--format", "webp", "--update", "--report", rep)
    assert pixmill(*args).returncode == 0
    r = pixmill(*args)
    assert r.returncode == 0 and "0 converted, 5 skipped" in r.stderr
    assert {f["error"] for f in json.loads(rep.read_text())["files"]} == {"up to date"}
    make_image(photos / "new.png", (50, 40))
    time.sleep(0.01)
    make_image(photos / "a.jpg", (64, 48), seed=9, quality=90)
    r = pixmill(*args)
    assert r.returncode == 0 and "2 converted, 4 skipped" in r.stderr
    assert not list(out.rglob("*-1.webp"))  # the changed photo's output was replaced
    dry = pixmill("convert", photos, "-o", out, "--format", "webp", "--update", "--dry-run")
    assert dry.stdout.count("(up to date)") == 6, dry.stdout


def test_batches_lists_the_recent_batches_with_their_state(photos, tmp_path):
    assert "no batches yet" in pixmill("batches").stdout
    assert pixmill("convert", photos, "-o", tmp_path / "out", "--no-sync").returncode == 0
    listing = pixmill("batches").stdout
    assert re.search(r"^\s+1\s+\S+ \S+\s+finished\s+5/5\s+cli", listing, re.M), listing
    r = pixmill("convert", "--resume")
    assert r.returncode == 2 and "no interrupted batch to resume" in r.stderr
    r = pixmill("batches", "--discard", "1")
    assert r.returncode == 2 and "batch 1 is finished" in r.stderr


@pytest.mark.parametrize(
    "args, message",
    [
        (["--resume", "x"], "takes a batch ID"),
        (["--resume", "3", "--format", "png"], "drop --format"),
        (["IN", "--resume"], "drop INPUT"),
        (["--resume", "7"], "there is no batch 7"),
    ],
)
def test_resume_usage_errors(photos, args, message):
    r = pixmill("convert", *[str(photos) if a == "IN" else a for a in args])
    assert r.returncode == 2 and message in r.stderr, r.stderr


def test_cli_never_imports_qt(photos, tmp_path):
    code = (
        "import sys; from pixmill.gui.launcher import main; rc = main(['presets']); "
        "assert 'PySide6' not in sys.modules, 'Qt imported'; print('clean')"
    )
    r = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env={**os.environ}
    )
    assert r.returncode == 0 and "clean" in r.stdout, r.stderr


def test_cli_main_process_never_loads_pillow(photos, tmp_path):
    """Decoding is the workers' job: the main process of a real conversion starts faster
    without Pillow, and that start-up is on every batch's critical path."""
    code = (
        "import sys; from pixmill.gui.launcher import main; "
        f"rc = main(['convert', {str(photos)!r}, '-o', {str(tmp_path / 'out')!r}, "
        "'--format', 'webp', '--quiet', '--workers', '2']); "
        "loaded = sorted(m for m in sys.modules if m == 'PIL' or m.startswith('PIL.')); "
        "print('rc', rc, 'pil', loaded)"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=90)
    assert r.returncode == 0, r.stderr
    assert "rc 0 pil []" in r.stdout, r.stdout + r.stderr
    assert len(list((tmp_path / "out").rglob("*.webp"))) > 0


def test_presets_saved_from_the_window_are_found_by_name(photos, tmp_path):
    from pixmill.engine.presets import save_recipe_file
    from pixmill.engine.recipe import Recipe, Resize

    env = {**os.environ, "XDG_CONFIG_HOME": str(tmp_path / "config")}
    folder = tmp_path / "config" / "Pixmill" / "Pixmill" / "presets"
    folder.mkdir(parents=True)
    recipe = Recipe(name="Shop 500", format="webp", resize=Resize("long_edge", long_edge=500))
    save_recipe_file(recipe, folder / "shop.json")
    listing = pixmill("presets", env=env)
    assert "Shop 500" in listing.stdout and "your presets" in listing.stdout
    out = tmp_path / "out"
    r = pixmill("convert", photos / "a.jpg", "-o", out, "--preset", "shop 500", env=env)
    assert r.returncode == 0, r.stderr
    with Image.open(out / "a.webp") as im:
        assert max(im.size) == 500


@pytest.mark.skipif(not os.path.isdir("/dev/shm"), reason="POSIX named semaphores in /dev/shm")
def test_a_cli_run_that_skips_interpreter_teardown_still_cleans_up_and_flushes(photos, tmp_path):
    """`pixmill convert` leaves without the interpreter's teardown, after the atexit handlers:
    the pool's named semaphores must still be unlinked, the resource tracker must exit, and
    everything written to stdout and stderr must arrive, even through pipes."""

    def semaphores() -> set[str]:
        return {n for n in os.listdir("/dev/shm") if n.startswith("sem.mp-")}

    def trackers() -> set[int]:
        ps = subprocess.run(["ps", "-eo", "pid=,args="], capture_output=True, text=True).stdout
        return {int(line.split()[0]) for line in ps.splitlines() if "resource_tracker" in line}

    before, trackers_before = semaphores(), trackers()
    out = tmp_path / "out"
    listing = pixmill("convert", photos, "-o", out, "--dry-run")
    r = pixmill("convert", photos, "-o", out, "--format", "png", "--workers", "2")
    assert r.returncode == 0, r.stderr
    last = r.stderr.splitlines()[-1]
    assert last.startswith("5 converted, 0 skipped, 0 failed, ") and last.endswith(" s"), last
    # the plain (ASCII) form of report.summary_text, e.g. "..., saved 1.2 MB (...), in 0.2 s"
    assert re.fullmatch(
        r"5 converted, 0 skipped, 0 failed, (saved|grew by) [\d.]+ [KMG]?B "
        r"\([\d.]+ [KMG]?B -> [\d.]+ [KMG]?B\), in \d+\.\d s",
        last,
    ), last
    assert listing.returncode == 0 and listing.stdout.count(" -> ") == 5, listing.stdout
    assert semaphores() - before == set()
    deadline = time.monotonic() + 5
    while trackers() - trackers_before and time.monotonic() < deadline:
        time.sleep(0.05)  # the run's tracker leaves once it reads EOF from the dead CLI
    assert trackers() - trackers_before == set()
