"""Replay every fuzz finding (tests/fuzz/regressions/*.bin) and the fuzz seeds.

Each finding is replayed in its own subprocess (a codec crash must not take pytest down).
Its .json note says whether the engine fix has landed: "open" findings are strict xfails
(they must still fail; when the fix lands they XPASS and fail, so flip them to "fixed"),
"fixed" findings must pass.
"""

from __future__ import annotations

import glob
import json
import os
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
FUZZ = os.path.join(HERE, "fuzz_convert.py")


def _regressions() -> list:
    params = []
    for path in sorted(glob.glob(os.path.join(HERE, "regressions", "*.bin"))):
        meta_path = path[:-4] + ".json"
        try:
            with open(meta_path, encoding="utf-8") as f:
                meta = json.load(f)
        except (OSError, ValueError):
            meta = {"status": "fixed", "signature": "?"}
        marks = []
        if meta.get("status") == "open":
            marks.append(
                pytest.mark.xfail(strict=True, reason=f"open engine bug: {meta['signature']}")
            )
        params.append(pytest.param(path, id=os.path.basename(path)[:-4], marks=marks))
    return params or [pytest.param(None, id="none-yet")]


def _replay(paths: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, FUZZ, "--replay", *paths],
        capture_output=True,
        text=True,
        timeout=240,
    )


@pytest.mark.timeout(300)
@pytest.mark.parametrize("path", _regressions())
def test_fuzz_regression(path):
    if path is None:
        pytest.skip("no fuzz findings on file")
    r = _replay([path])
    assert r.returncode == 0, f"exit {r.returncode}\n{r.stdout}\n{r.stderr[-2000:]}"


@pytest.mark.timeout(300)
def test_fuzz_seeds_convert_cleanly(tmp_path):
    """The seed inputs themselves (valid images, every format, several option bytes)."""
    sys.path.insert(0, HERE)
    try:
        import fuzz_convert
    finally:
        sys.path.remove(HERE)
    seeds = str(tmp_path / "seeds")
    fuzz_convert.write_seeds(seeds)
    files = sorted(
        os.path.join(seeds, n) for n in os.listdir(seeds) if not n.startswith("regression-")
    )
    r = _replay(files)
    assert r.returncode == 0, r.stdout[-3000:]
    assert r.stdout.count("ok ") == len(files)
