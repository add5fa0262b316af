"""The benchmark's own meter: peak RSS of the main process and of its largest descendant."""

from __future__ import annotations

import sys
from pathlib import Path

import measure
import pytest

pytestmark = [
    pytest.mark.timeout(60),
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc"),
]

# A small parent (depth 2) whose child and grandchild each hold 150 MB for a while.
_TREE = """
import subprocess, sys, time
depth = int(sys.argv[1])
if depth:
    child = subprocess.Popen([sys.executable, "-c", sys.argv[2], str(depth - 1), sys.argv[2]])
if depth < 2:
    hoard = bytearray(150 << 20)
    hoard[::4096] = b"x" * len(hoard[::4096])  # touch every page
time.sleep(0.6)
if depth:
    child.wait()
"""


@pytest.mark.parametrize("direct", [True, False], ids=["children-files", "proc-scan"])
def test_peak_rss_of_main_process_and_of_a_grandchild(monkeypatch, direct):
    orig = measure.TreeSampler.__init__

    def init(self, root):
        orig(self, root)
        if not direct:
            self._direct = False

    monkeypatch.setattr(measure.TreeSampler, "__init__", init)
    res = measure.run_measured([sys.executable, "-c", _TREE, "2", _TREE])
    assert res.returncode == 0
    assert res.main_rss_mb is not None and res.main_rss_mb < 60
    assert res.worker_rss_mb is not None and res.worker_rss_mb > 140
    assert res.seconds >= 0.6 and res.cpu_seconds > 0


# --- scenario U's helpers (update_runs.py) ----------------------------------------------------
def _report(ok: list[str], up_to_date: list[str], other: tuple[str, str] | None = None) -> dict:
    files = [{"source": p, "status": "ok", "error": None} for p in ok]
    files += [{"source": p, "status": "skipped", "error": "up to date"} for p in up_to_date]
    if other:
        files.append({"source": other[0], "status": other[1], "error": "target exists"})
    return {"summary": {}, "files": files}


def test_touch_sources_edits_the_image_and_its_stat(tmp_path):
    from PIL import Image
    from update_runs import pick, touch_sources

    paths = []
    for i, mode in enumerate(("RGB", "L", "RGBA")):
        p = tmp_path / f"s{i}.png"
        Image.new(mode, (4, 4), 40).save(p)
        paths.append(str(p))
    before = {p: (Path(p).stat().st_mtime_ns, Image.open(p).getpixel((0, 0))) for p in paths}
    touch_sources(paths)
    for p in paths:
        with Image.open(p) as im:
            assert im.format == "PNG" and im.getpixel((0, 0)) != before[p][1]
            assert im.getpixel((1, 1)) == Image.new(im.mode, (1, 1), 40).getpixel((0, 0))
        assert Path(p).stat().st_mtime_ns != before[p][0]
    assert pick(paths, 2, seed=7) == pick(paths, 2, seed=7)
    assert len(pick(paths, 2, seed=7)) == 2 and pick(paths, 9, seed=1) == paths


def test_check_report_wants_exactly_the_changed_files_converted():
    from update_runs import check_report

    a, b, c = "/in/a.png", "/in/b.png", "/in/c.png"
    assert check_report(_report([], [a, b, c]), 3, []) is None
    assert check_report(_report([b], [a, c]), 3, [b]) is None
    assert "expected 0 converted / 3 skipped up to date, got 1 converted" in check_report(
        _report([a], [b, c]), 3, []
    )
    wrong = check_report(_report([a], [b, c]), 3, [b])
    assert "differs on 2" in wrong
    other = check_report(_report([], [a, b], (c, "skipped")), 3, [])
    assert "1 other (skipped (target exists) 1)" in other
    assert "(2 files in the report)" in check_report(_report([], [a, b]), 3, [])


# --- scenario Q's search for one fixed quality (quality_targets.py) ----------------------------
class _Fake:
    """Scores that rise with quality: target 80 is reached at quality `at`."""

    def __init__(self, at: int, dip: int | None = None) -> None:
        self.at, self.dip, self.asked = at, dip, []

    def score_at(self, q: int) -> float:
        self.asked.append(q)
        if q == self.dip:
            return 70.0  # a quality that scores below its neighbours
        return 80.0 + (q - self.at) * 0.5


def test_lowest_reaching_bisects_and_widens():
    from quality_targets import lowest_reaching

    for at in (1, 12, 49, 50, 51, 87, 100):
        fake = _Fake(at)
        assert lowest_reaching(fake.score_at, 80.0) == at
        assert len(set(fake.asked)) <= 12
    assert lowest_reaching(_Fake(101).score_at, 80.0) is None


def test_common_quality_is_the_highest_own_raised_past_a_dip():
    from quality_targets import common_quality

    assert common_quality([_Fake(70), _Fake(85), _Fake(60)], 80.0) == (85, [70, 85, 60])
    q, own = common_quality([_Fake(70, dip=85), _Fake(85)], 80.0)
    assert (q, own) == (86, [70, 85])
    assert common_quality([_Fake(70), _Fake(120)], 80.0) == (None, [70, None])


def _row(key: str, runs: list[dict], **summary) -> object:
    from run_bench import RowResult

    return RowResult(key, key, runs=runs, summary=summary)


def _run(seconds: float, **extra) -> dict:
    return {"seconds": seconds, "returncode": 0, "failed_files": 0, **extra}


def test_many_small_files_goals_linearity_memory_and_the_window_check():
    from run_bench import evaluate_goals

    rows = {
        "D": {"pixmill@2": _row("pixmill@2", [_run(10.0)], images_per_s=1000.0)},
        "D+": {
            "pixmill@2": _row("pixmill@2", [_run(105.0)], images_per_s=950.0, main_rss_mb=150.0)
        },
        "W": {"gui@2": _row("gui@2", [_run(20.0, max_gap_ms=30.0)], max_gap_ms=30.0)},
        "W+": {"gui@2": _row("gui@2", [_run(90.0, check="3 rows")], max_gap_ms=80.0)},
    }
    goals = {g["goal"]: g for g in evaluate_goals(rows, 2)}
    linear = goals["D+: Pixmill files/s at 100k vs at 10k (D)"]
    assert linear["value"] == pytest.approx(0.95) and linear["ok"] is True
    assert goals["D+: Pixmill main process peak RSS"]["ok"] is True
    assert goals["W: longest event-loop stall"]["ok"] is True
    assert goals["W: results table and counts, every file"]["ok"] is True
    assert goals["W+: longest event-loop stall"]["ok"] is False
    assert goals["W+: results table and counts, every file"]["ok"] is False  # its check failed
