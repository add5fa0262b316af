"""pixmill.engine.convert: convert_one's orchestration on real files, in this process: format
pairs, multi-frame sources, the hooks, the result record, the source left untouched."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from pixmill.engine.convert import Hooks, convert_one
from pixmill.engine.formats import output_format
from pixmill.engine.publish import TEMP_PREFIX
from pixmill.engine.recipe import Recipe, Resize
from pixmill.engine.result import FILE_FIELDS
from tests.conftest import make_image, photo_array, temp_leftovers
from tests.engine.images import exif_with_gps, job_for, run

pytestmark = pytest.mark.timeout(60)

SOURCE_KINDS = {
    "jpeg": ("src.jpg", {"quality": 90}),
    "png": ("src.png", {}),
    "webp": ("src.webp", {"quality": 90}),
    "avif": ("src.avif", {"quality": 80}),
    "tiff": ("src.tif", {}),
    "bmp": ("src.bmp", {}),
    "gif": ("src.gif", {}),
}
TARGETS = ["jpeg", "png", "webp", "avif", "tiff", "bmp", "gif", "same"]


@pytest.mark.parametrize("src_kind", list(SOURCE_KINDS))
@pytest.mark.parametrize("target", TARGETS)
def test_every_format_pair_converts(tmp_path, src_kind, target):
    name, save = SOURCE_KINDS[src_kind]
    src = make_image(tmp_path / name, (96, 64), **save)
    res, im = run(src, tmp_path / "out", format=target)
    assert res["status"] == "ok", res["error"]
    expected = src_kind if target == "same" else target
    assert im.format.lower() == {"jpeg": "jpeg"}.get(expected, expected)
    assert im.size == (96, 64) == (res["width"], res["height"])
    assert res["bytes_out"] == os.path.getsize(res["target"]) > 0
    assert Path(res["target"]).suffix == output_format(target, str(src))[1]


def animated(path: Path, frames: int = 4) -> Path:
    ims = [Image.new("RGB", (40, 30), (60 * i, 255 - 60 * i, 0)) for i in range(frames)]
    ims[0].save(path, save_all=True, append_images=ims[1:], duration=80, loop=0)
    return path


@pytest.mark.parametrize("fmt", ["webp", "gif"])
def test_animation_is_kept_where_the_target_holds_it(tmp_path, fmt):
    src = animated(tmp_path / "anim.gif")
    _, out = run(src, tmp_path / "o", format=fmt, resize=Resize("percent", percent=50))
    assert getattr(out, "n_frames", 1) == 4
    assert out.size == (20, 15)


def test_animation_becomes_first_frame_elsewhere_or_on_request(tmp_path):
    src = animated(tmp_path / "anim.gif")
    _, jpg = run(src, tmp_path / "j", format="jpeg")
    assert getattr(jpg, "n_frames", 1) == 1
    _, first = run(src, tmp_path / "w", format="webp", keep_frames=False)
    assert getattr(first, "n_frames", 1) == 1


def test_multipage_tiff_keeps_pages(tmp_path):
    pages = [Image.new("RGB", (50, 40), c) for c in ("red", "green", "blue")]
    src = tmp_path / "doc.tif"
    pages[0].save(src, save_all=True, append_images=pages[1:])
    _, out = run(src, tmp_path / "o", format="tiff", resize=Resize("percent", percent=50))
    assert out.n_frames == 3 and out.size == (25, 20)
    _, png = run(src, tmp_path / "p", format="png")
    assert getattr(png, "n_frames", 1) == 1


@pytest.mark.parametrize("fmt", ["jpeg", "webp", "tiff", "png", "gif"])
def test_mpo_converts_its_primary_picture(tmp_path, fmt):
    """A multi-picture JPEG (Android Ultra HDR, stereo cameras) is one photograph plus a gain
    map, depth map or second view: the output is the photograph alone, one frame, through
    the JPEG fast paths, never a two-frame animation or document."""
    primary = Image.fromarray(photo_array(1200, 800, seed=4))
    gain_map = Image.new("RGB", (300, 200), (128, 128, 128))
    src = tmp_path / "PXL_0001.jpg"
    primary.save(src, "MPO", save_all=True, append_images=[gain_map], quality=92)
    with Image.open(src) as probe:
        assert probe.format == "MPO" and probe.n_frames == 2
    res, out = run(src, tmp_path / "o", format=fmt, resize=Resize("fit", width=400, height=400))
    assert res["status"] == "ok", res
    assert out.size == (400, 267)
    assert getattr(out, "n_frames", 1) == 1
    ref = primary.resize(out.size, Image.Resampling.LANCZOS)
    diff = np.abs(np.asarray(out.convert("RGB"), np.int16) - np.asarray(ref, np.int16))
    assert diff.mean() < (12 if fmt == "gif" else 4), diff.mean()


@pytest.mark.parametrize("fmt", ["webp", "tiff", "gif", "png"])
def test_layered_psd_converts_its_composite(tmp_path, fmt):
    """Pillow shows a PSD's layers as frames; they are not an animation. data/layered.psd
    (written by ImageMagick): a red-to-blue gradient composite over two flat layers."""
    src = Path(__file__).parent / "data" / "layered.psd"
    with Image.open(src) as probe:
        assert probe.format == "PSD" and probe.n_frames == 2
    res, out = run(src, tmp_path / "o", format=fmt)
    assert res["status"] == "ok", res
    assert out.size == (40, 30) and getattr(out, "n_frames", 1) == 1
    rgb = out.convert("RGB")
    top, bottom = rgb.getpixel((20, 0)), rgb.getpixel((20, 29))
    assert top[0] > 200 and top[2] < 60, top
    assert bottom[2] > 200 and bottom[0] < 60, bottom


def test_source_is_never_modified(tmp_path):
    src = make_image(tmp_path / "a.jpg", quality=90, exif=exif_with_gps())
    before = src.read_bytes()
    mtime = src.stat().st_mtime_ns
    for fmt in ("jpeg", "png", "webp"):
        run(src, tmp_path / fmt, format=fmt, metadata="strip", keep_dates=True)
    assert src.read_bytes() == before and src.stat().st_mtime_ns == mtime


# --- the result record --------------------------------------------------------------------------

RESULT_KEYS = {*FILE_FIELDS, "index", "traceback"}


def test_a_converted_file_gives_a_complete_result(tmp_path):
    src = make_image(tmp_path / "in" / "a.jpg", (160, 120), quality=90)
    half = Resize("percent", percent=50)
    job = job_for(src, tmp_path / "out", Recipe(format="webp", resize=half))
    res = convert_one(job)
    assert set(res) == RESULT_KEYS
    target = tmp_path / "out" / "a.webp"
    assert res["status"] == "ok" and res["error"] is None and res["traceback"] is None
    assert res["index"] == job.index and res["source"] == str(src)
    assert res["target"] == str(target)
    assert res["bytes_in"] == src.stat().st_size
    assert res["bytes_out"] == target.stat().st_size
    assert (res["width"], res["height"]) == (80, 60)
    assert isinstance(res["ms"], float) and res["ms"] >= 0
    with Image.open(target) as im:
        assert im.size == (80, 60)


def test_a_damaged_file_comes_back_as_a_failed_result_not_an_exception(tmp_path):
    src = make_image(tmp_path / "a.jpg", (400, 300), quality=90)
    src.write_bytes(src.read_bytes()[:3000])
    res = convert_one(job_for(src, tmp_path / "out", Recipe(format="png")))
    assert set(res) == RESULT_KEYS
    assert res["status"] == "failed"
    assert res["error"] == "file is truncated or damaged"
    assert "Traceback" in res["traceback"] and "truncated" in res["traceback"]
    assert res["target"] is None and res["bytes_out"] is None and res["width"] is None
    assert res["bytes_in"] == 3000
    out = tmp_path / "out"
    assert not out.exists() or (list(out.iterdir()) == [] and temp_leftovers(out) == [])


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_a_source_that_is_not_a_regular_file_fails_without_blocking(tmp_path):
    fifo = tmp_path / "photo.jpg"
    os.mkfifo(fifo)
    assert stat.S_ISFIFO(fifo.stat().st_mode)
    res = convert_one(job_for(fifo, tmp_path / "out", Recipe(format="png")))
    assert res["status"] == "failed" and res["error"] == "not a regular file"
    folder = tmp_path / "album.jpg"
    folder.mkdir()
    res = convert_one(job_for(folder, tmp_path / "out", Recipe(format="png")))
    assert res["status"] == "failed" and res["error"] == "not a regular file"


# --- hooks --------------------------------------------------------------------------------------


class Calls:
    """Records the hooks convert_one calls, with what the output folder held at that moment."""

    def __init__(self, out: Path, cancel_at_poll: int | None = None) -> None:
        self.out = out
        self.cancel_at_poll = cancel_at_poll
        self.polls = 0
        self.events: list[tuple[str, Any, list[str]]] = []

    def _folder(self) -> list[str]:
        return sorted(p.name for p in self.out.iterdir()) if self.out.exists() else []

    def cancelled(self) -> bool:
        self.polls += 1
        return self.cancel_at_poll is not None and self.polls >= self.cancel_at_poll

    def announce(self, info: dict[str, Any]) -> None:
        self.events.append(("announce", info, self._folder()))

    def published(self, final: str | None) -> None:
        self.events.append(("published", final, self._folder()))

    def hooks(self, temp_tag: str = "") -> Hooks:
        return Hooks(temp_tag, self.cancelled, self.announce, self.published)


@pytest.mark.parametrize("named", [True, False], ids=["temp name", "unnamed"])
def test_announce_comes_before_publish_and_names_the_file_that_lands(tmp_path, monkeypatch, named):
    from pixmill.engine import publish

    if named:  # as where there is no O_TMPFILE
        monkeypatch.setattr(publish, "_O_TMPFILE", 0)
    elif not publish._O_TMPFILE:
        pytest.skip("O_TMPFILE is Linux's")
    src = make_image(tmp_path / "a.jpg", (90, 60), quality=90)
    out = tmp_path / "out"
    calls = Calls(out)
    res = convert_one(job_for(src, out, Recipe(format="png")), calls.hooks("beef-42-"))
    assert res["status"] == "ok"
    (kind1, info, folder1), (kind2, final, folder2) = calls.events
    assert (kind1, kind2) == ("announce", "published")
    # announced: the target is not there yet; the finished file has no name, or a temp name
    # under the worker's tag
    if named:
        assert len(folder1) == 1 and folder1[0].startswith(f"{TEMP_PREFIX}beef-42-")
    else:
        assert folder1 == []
    assert info["target"] == str(out / "a.png") == final == res["target"]
    assert folder2 == ["a.png"]
    st = os.stat(final)
    assert info["inode"] == [st.st_dev, st.st_ino]
    assert info["bytes_out"] == st.st_size == res["bytes_out"]
    assert (info["width"], info["height"]) == (90, 60)
    assert calls.polls == 2  # before reading, and before publishing


def test_published_hears_none_when_skip_finds_the_target_taken(tmp_path):
    src = make_image(tmp_path / "a.jpg", quality=90)
    out = tmp_path / "out"
    job = job_for(src, out, Recipe(format="png", on_conflict="skip"))
    make_image(out / "a.png", (10, 10))  # appears after planning
    calls = Calls(out)
    res = convert_one(job, calls.hooks())
    assert res["status"] == "skipped" and res["error"] == "target appeared while converting"
    assert [(kind, value) for kind, value, _ in calls.events][1] == ("published", None)
    assert sorted(p.name for p in out.iterdir()) == ["a.png"]
    with Image.open(out / "a.png") as im:
        assert im.size == (10, 10)


def test_cancelled_before_the_start_touches_nothing(tmp_path):
    src = make_image(tmp_path / "a.jpg", quality=90)
    calls = Calls(tmp_path / "out", cancel_at_poll=1)
    res = convert_one(job_for(src, tmp_path / "out", Recipe(format="png")), calls.hooks())
    assert res["status"] == "cancelled" and res["error"] is None
    assert not (tmp_path / "out").exists() and calls.events == []


def test_cancelled_after_encoding_publishes_nothing_and_removes_the_temp(tmp_path):
    src = make_image(tmp_path / "a.jpg", quality=90)
    out = tmp_path / "out"
    calls = Calls(out, cancel_at_poll=2)
    res = convert_one(job_for(src, out, Recipe(format="png")), calls.hooks("t-1-"))
    assert res["status"] == "cancelled" and res["target"] is None
    assert calls.events == []  # never announced, never published
    assert list(out.iterdir()) == []


def test_an_interrupt_inside_a_conversion_is_a_clean_cancel(tmp_path):
    src = make_image(tmp_path / "a.jpg", quality=90)
    out = tmp_path / "out"

    polls: list[int] = []

    def interrupted_after_encoding() -> bool:
        polls.append(1)
        if len(polls) == 2:
            raise KeyboardInterrupt
        return False

    res = convert_one(
        job_for(src, out, Recipe(format="png")), Hooks(cancelled=interrupted_after_encoding)
    )
    assert res["status"] == "cancelled" and res["error"] == "cancelled"
    assert "KeyboardInterrupt" in res["traceback"]
    assert list(out.iterdir()) == []


# --- small outputs written on the publishing thread (Hooks.write_later) -------------------------


def test_a_small_output_left_in_memory_is_written_and_named_by_publish_one(tmp_path):
    from pixmill.engine.convert import encode_one, publish_one

    src = make_image(tmp_path / "in" / "a.png", (40, 30), seed=3)
    os.utime(src, ns=(1_600_000_000_000_000_000, 1_500_000_000_000_000_000))
    job = job_for(src, tmp_path / "out", Recipe(format="png", keep_dates=True))
    made = encode_one(job, Hooks(write_later=True))
    assert not isinstance(made, dict)
    assert made.fd is None and made.tmp is None and made.info["inode"] is None
    assert made.data is not None and made.info["bytes_out"] == len(made.data)
    out = tmp_path / "out"
    assert not out.exists() or not list(out.iterdir())  # nothing on the disk yet
    result = publish_one(made, Hooks(write_later=True))
    assert result["status"] == "ok", result
    target = Path(result["target"])
    st = target.stat()
    assert made.info["inode"] == [st.st_dev, st.st_ino]  # what a supervisor is told
    assert target.read_bytes() == made_bytes(src)
    assert st.st_mtime_ns == 1_500_000_000_000_000_000  # the source's dates, as before
    assert sorted(p.name for p in out.iterdir()) == ["a.png"]


def made_bytes(src: Path) -> bytes:
    """What convert_one (written at once) makes of src into a folder of its own."""
    job = job_for(src, src.parent.parent / "at-once", Recipe(format="png", keep_dates=True))
    result = convert_one(job)
    assert result["status"] == "ok", result
    return Path(result["target"]).read_bytes()


def test_a_small_output_that_cannot_be_written_later_fails_with_the_write_message(tmp_path):
    from pixmill.engine.convert import encode_one, publish_one

    src = make_image(tmp_path / "in" / "a.png", (40, 30), seed=3)
    blocked = tmp_path / "out"
    job = job_for(src, blocked, Recipe(format="png"))
    made = encode_one(job, Hooks(write_later=True))
    assert not isinstance(made, dict)
    blocked.write_bytes(b"a file where the output folder should be")
    result = publish_one(made, Hooks(write_later=True))
    assert result["status"] == "failed"
    # The message a file gets when its temp file cannot be made at once.
    at_once = convert_one(job)
    assert at_once["status"] == "failed"
    assert result["error"] == at_once["error"], (result["error"], at_once["error"])
    assert blocked.read_bytes() == b"a file where the output folder should be"


def test_big_outputs_are_written_at_once_even_when_writing_later_is_allowed(tmp_path):
    from pixmill.engine.convert import encode_one, publish_one

    src = tmp_path / "in" / "noise.png"
    src.parent.mkdir()
    noise = np.random.default_rng(1).integers(0, 256, (200, 200, 3), np.uint8)
    Image.fromarray(noise).save(src)  # about 120 KB of PNG, small enough to read whole
    made = encode_one(job_for(src, tmp_path / "out", Recipe(format="png")), Hooks(write_later=True))
    assert not isinstance(made, dict)
    assert made.data is None and made.fd is not None and made.info["inode"] is not None
    assert publish_one(made)["status"] == "ok"
