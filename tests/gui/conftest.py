"""Fixtures for the window's tests: isolated settings and presets, small generated images, and
a real window on a real (one-worker) BatchRunner that is always stopped afterwards."""

from __future__ import annotations

import atexit
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path


def _offscreen_screen() -> None:
    """Offscreen Qt pretends to have an 800x800 screen, smaller than the window's minimum
    size; give it a desktop-sized one so geometry behaves as on a real screen."""
    if os.environ.get("QT_QPA_PLATFORM", "offscreen") != "offscreen":
        return
    screen = {
        "name": "test",
        "x": 0,
        "y": 0,
        "width": 1600,
        "height": 1000,
        "logicalDpi": 96,
        "logicalBaseDpi": 96,
        "dpr": 1,
    }
    folder = tempfile.mkdtemp(prefix="pixmill-qt-")
    atexit.register(shutil.rmtree, folder, True)
    config = Path(folder) / "offscreen.json"
    config.write_text(json.dumps({"screens": [screen]}))
    os.environ["QT_QPA_PLATFORM"] = f"offscreen:configfile={config}"


_offscreen_screen()

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from PIL import Image  # noqa: E402
from PySide6.QtCore import QSettings, QStandardPaths  # noqa: E402

from pixmill.engine.recipe import Recipe, Resize  # noqa: E402
from pixmill.engine.runner import BatchRunner  # noqa: E402

QStandardPaths.setTestModeEnabled(True)  # nothing a test does touches the user's folders

#: A recipe slow enough (about 0.1-0.2 s a file) to pause or cancel in the middle of a batch.
SLOW_RECIPE = Recipe(
    format="png",
    png_compress_level=9,
    resize=Resize("percent", percent=400.0, upscale=True),
)


def write_images(
    folder: Path,
    count: int,
    size: tuple[int, int] = (200, 150),
    prefix: str = "img",
    ext: str = "png",
) -> list[Path]:
    """count noisy images (noise keeps encoders honest), named prefix00.ext, prefix01.ext..."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(len(prefix) + count)
    paths = []
    for i in range(count):
        pixels = rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
        path = folder / f"{prefix}{i:02d}.{ext}"
        Image.fromarray(pixels).save(path)
        paths.append(path)
    return paths


def write_corrupt(folder: Path, name: str) -> Path:
    """A file with an image's name and garbage inside."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(b"\xff\xd8\xff\xe0 this is not really a JPEG" * 10)
    return path


def temp_leftovers(root: Path) -> list[Path]:
    return [p for p in root.rglob(".pixmill-*.tmp")]


@pytest.fixture
def images() -> Callable[..., list[Path]]:
    """write_images(folder, count, size=(200, 150), prefix="img", ext="png")."""
    return write_images


@pytest.fixture
def corrupt() -> Callable[[Path, str], Path]:
    """write_corrupt(folder, name): a file named like an image that is not one."""
    return write_corrupt


@pytest.fixture
def leftovers() -> Callable[[Path], list[Path]]:
    """leftovers(root): Pixmill temp files anywhere under root."""
    return temp_leftovers


@pytest.fixture
def slow_recipe() -> Recipe:
    return SLOW_RECIPE


@pytest.fixture
def settings(tmp_path: Path) -> QSettings:
    return QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)


@pytest.fixture
def presets_dir(tmp_path: Path) -> Path:
    return tmp_path / "presets"


@pytest.fixture
def runner() -> Iterator[BatchRunner]:
    r = BatchRunner(workers=1)
    yield r
    r.shutdown()


@pytest.fixture
def make_window(qtbot, settings: QSettings, presets_dir: Path, runner: BatchRunner):
    """Build MainWindows on the shared test settings; each is cancelled, closed and its
    runner stopped at the end of the test."""
    from pixmill.gui.main_window import MainWindow

    made: list[MainWindow] = []

    def make(**kwargs: object) -> MainWindow:
        kwargs.setdefault("runner", runner)
        kwargs.setdefault("settings", settings)
        kwargs.setdefault("presets_dir", presets_dir)
        kwargs.setdefault("warm_pool", False)
        w = MainWindow(**kwargs)  # type: ignore[arg-type]
        w.confirm_quit = lambda: True  # type: ignore[method-assign]
        qtbot.addWidget(w)
        made.append(w)
        return w

    yield make
    for w in made:
        if w.batch.busy:
            w.cancel()
            qtbot.waitUntil(lambda w=w: not w.batch.busy, timeout=20000)
        w.sources.cancel_scans()
        w.batch.runner.shutdown()


@pytest.fixture
def window(make_window):
    w = make_window()
    w.output.set_workers(1)
    w.show()
    return w


@pytest.fixture
def wait_counted(qtbot) -> Callable[..., None]:
    """wait_counted(window): until its source list has finished counting."""

    def wait(window, timeout: int = 10000) -> None:
        qtbot.waitUntil(lambda: not window.sources.is_scanning(), timeout=timeout)

    return wait
