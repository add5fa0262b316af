"""The wheel pyproject.toml builds: one import name, `pixmill`, holding the engine, the window,
the resources and `python -m pixmill`, and working from the wheel alone."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.timeout(180)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    # No build isolation: the build backend comes from the test extras, so this works offline.
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation"]
        + ["-w", str(out), str(ROOT)],
        check=True,
        capture_output=True,
        text=True,
    )
    (path,) = out.glob("pixmill-*.whl")
    return path


def test_the_only_top_level_import_name_is_pixmill(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as z:
        names = z.namelist()
        top_level = z.read(next(n for n in names if n.endswith(".dist-info/top_level.txt")))
    tops = {n.split("/", 1)[0] for n in names if not n.split("/", 1)[0].endswith(".dist-info")}
    assert tops == {"pixmill"}
    assert top_level.decode().split() == ["pixmill"]
    for expected in (
        "pixmill/__main__.py",
        "pixmill/engine/convert.py",
        "pixmill/engine/runner.py",
        "pixmill/gui/main_window.py",
        "pixmill/gui/launcher.py",
        "pixmill/resources/presets/01-web-2048-webp.json",
        "pixmill/resources/icons/pixmill-256.png",
        "pixmill/resources/io.github.pixmill.Pixmill.desktop",
    ):
        assert expected in names, expected
    assert not [n for n in names if "/tests/" in n or n.startswith(("engine/", "gui/"))]


def test_the_scripts_point_into_the_namespace(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as z:
        entry = next(n for n in z.namelist() if n.endswith(".dist-info/entry_points.txt"))
        text = z.read(entry).decode()
    assert "pixmill = pixmill.gui.launcher:run" in text
    assert "pixmill-gui = pixmill.gui.launcher:gui_main" in text


def test_python_m_pixmill_runs_from_the_unpacked_wheel_alone(wheel: Path, tmp_path: Path) -> None:
    """Unpacked somewhere else and put first on a path without this checkout or its editable
    install (-S: no site-packages), `python -m pixmill` answers from the wheel's files."""
    target = tmp_path / "site"
    with zipfile.ZipFile(wheel) as z:
        z.extractall(target)
    boot = (
        "import sys, runpy; sys.path[:0] = [sys.argv.pop(1)]; "
        "runpy.run_module('pixmill', run_name='__main__', alter_sys=True)"
    )
    r = subprocess.run(
        [sys.executable, "-S", "-c", boot, str(target), "--version"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().startswith("pixmill ")
    probe = (
        "import sys; sys.path[:0] = [sys.argv[1]]; "
        "import pixmill.engine.plan as m; print(m.__file__)"
    )
    r = subprocess.run(
        [sys.executable, "-S", "-c", probe, str(target)], capture_output=True, text=True
    )
    assert r.returncode == 0, r.stderr
    assert Path(r.stdout.strip()).is_relative_to(target)
