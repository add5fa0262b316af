"""Fixtures shared by every suite: real image files made with Pillow, source hashing, and a
check that no worker process outlives a test."""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def photo_array(w: int, h: int, seed: int = 0) -> np.ndarray:
    """A smooth, photo-like RGB gradient with some texture (compresses like a photo)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    r = 128 + 100 * np.sin(x / (w / 6.0) + seed)
    g = 128 + 100 * np.cos(y / (h / 5.0))
    b = 128 + 60 * np.sin((x + y) / (w / 9.0))
    arr = np.stack([r, g, b], axis=-1) + rng.normal(0, 6, (h, w, 3))
    return arr.clip(0, 255).astype(np.uint8)


def make_image(
    path: Path,
    size: tuple[int, int] = (160, 120),
    mode: str = "RGB",
    seed: int = 0,
    **save: object,
) -> Path:
    """Write a real image file; the format comes from the extension unless save has format."""
    path.parent.mkdir(parents=True, exist_ok=True)
    im = Image.fromarray(photo_array(size[0], size[1], seed))
    if mode != "RGB":
        im = im.convert(mode)
    im.save(path, **save)
    return path


@pytest.fixture
def image_factory() -> Callable[..., Path]:
    return make_image


def tree_hashes(root: Path) -> dict[str, str]:
    """sha256 of every file under root, by relative path."""
    out = {}
    for p in sorted(root.rglob("*")):
        if p.is_file():
            out[str(p.relative_to(root))] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def temp_leftovers(root: Path) -> list[Path]:
    return [p for p in root.rglob(".pixmill-*") if p.is_file()]


def child_pids() -> set[int]:
    """Live (non-zombie) child processes of this test process."""
    me = os.getpid()
    out = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        state, ppid = fields[0], int(fields[1])
        if ppid != me or state == "Z":
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmdline = f.read()
        except OSError:
            continue
        # multiprocessing's resource tracker lives as long as this process, by design
        if b"resource_tracker" not in cmdline:
            out.add(int(entry))
    return out


@pytest.fixture(autouse=True)
def _own_data_folder(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """Every test gets its own Pixmill data folder (the batch journal and its locks), also
    for the CLIs and windows it starts: nothing reads or writes the user's."""
    data = tmp_path_factory.mktemp("xdg-data")
    monkeypatch.setenv("XDG_DATA_HOME", str(data))
    return data / "Pixmill"


@pytest.fixture
def photos(tmp_path: Path) -> Iterator[Path]:
    """A small folder tree of real photos: in/a.jpg ... in/sub/d.png."""
    root = tmp_path / "in"
    make_image(root / "a.jpg", (640, 480), seed=1, quality=90)
    make_image(root / "b.jpg", (480, 640), seed=2, quality=90)
    make_image(root / "c.png", (300, 200), seed=3)
    make_image(root / "sub" / "d.png", (200, 300), seed=4)
    make_image(root / "sub" / "deeper" / "e.webp", (320, 240), seed=5)
    yield root


@pytest.fixture
def supervision(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """The supervisor's log: a stalled pool (the slow way out) shows up here."""
    caplog.set_level(logging.INFO, logger="pixmill.engine.supervisor")
    return caplog


def stalls(log: pytest.LogCaptureFixture) -> list[str]:
    """The "pool stalled" lines in a supervision log."""
    return [r.getMessage() for r in log.records if "pool stalled" in r.getMessage()]
