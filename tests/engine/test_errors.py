"""pixmill.engine.errors: describe_error (one line in the user's words, by exception and
stage) and how_it_ended (a dead worker's exit as words)."""

from __future__ import annotations

import errno
import io
import json
import os
import struct
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image

from pixmill.engine.convert import convert_one
from pixmill.engine.errors import ConversionError, describe_error, how_it_ended
from pixmill.engine.job import Job
from pixmill.engine.recipe import Recipe
from tests.conftest import make_image
from tests.engine.images import job_for

pytestmark = pytest.mark.timeout(60)


# --- through convert_one ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "content, words",
    [
        (b"", "empty"),
        (b"hello, this is not a picture" * 10, "not an image"),
        (None, "truncated"),
    ],
)
def test_bad_inputs_fail_alone_with_a_clear_message(tmp_path, content, words):
    src = tmp_path / "bad.jpg"
    if content is None:
        make_image(tmp_path / "good.jpg", (400, 300), quality=90)
        data = (tmp_path / "good.jpg").read_bytes()
        content = data[: len(data) // 2]
    src.write_bytes(content)
    res = convert_one(job_for(src, tmp_path / "out", Recipe(format="png")))
    assert res["status"] == "failed"
    assert words in res["error"]
    assert res["traceback"]
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_decompression_bomb_fails_cleanly(tmp_path):
    # A tiny PNG whose header declares 20000 x 20000 pixels (400 megapixels).
    buf = io.BytesIO()
    Image.new("1", (20000, 20000)).save(buf, "PNG", optimize=True)
    src = tmp_path / "bomb.png"
    src.write_bytes(buf.getvalue())
    assert src.stat().st_size < 200_000
    res = convert_one(job_for(src, tmp_path / "out", Recipe(format="jpeg")))
    assert res["status"] == "failed"
    assert "400 megapixels" in res["error"] and "250 megapixel" in res["error"]


def test_unwritable_output_folder_is_a_clear_error(tmp_path):
    if os.geteuid() == 0:
        # root ignores permission bits: a file where the folder should be blocks it instead
        (tmp_path / "out").write_text("x")
        res = convert_one(job_for(make_image(tmp_path / "a.jpg"), tmp_path / "out", Recipe()))
        assert res["status"] == "failed" and res["error"]
        return
    out = tmp_path / "out"
    out.mkdir()
    out.chmod(0o500)
    res = convert_one(job_for(make_image(tmp_path / "a.jpg"), out, Recipe()))
    assert res["status"] == "failed" and "permission denied" in res["error"]


def test_a_source_that_vanished_names_the_missing_file(tmp_path):
    src = make_image(tmp_path / "a.jpg")
    job = job_for(src, tmp_path / "out", Recipe(format="png"))
    src.unlink()
    res = convert_one(job)
    assert res["status"] == "failed"
    assert res["error"] == f"file or folder not found (moved or deleted?): {src}"


# --- describe_error, kind by kind -------------------------------------------------------------


def a_job(tmp_path: Path, fmt: str = "webp") -> Job:
    """A job whose output folder exists (describe_error asks its file system for free space)."""
    return Job(1, str(tmp_path / "a.jpg"), str(tmp_path / f"a.{fmt}"), fmt, Recipe(format=fmt))


def raised(call: Callable[..., object], *args: object) -> BaseException:
    """The exception a real call raises."""
    try:
        call(*args)
    except BaseException as exc:  # noqa: BLE001
        return exc
    raise AssertionError(f"{call} did not raise")


def test_a_conversion_error_is_already_in_the_users_words(tmp_path):
    exc = ConversionError("output would be 20000x4, larger than WEBP's 16383 px limit")
    for stage in ("read", "write", "publish"):
        assert describe_error(exc, a_job(tmp_path), stage) == str(exc)


def test_a_decompression_bomb_gives_its_size_and_the_limit(tmp_path, monkeypatch):
    path = tmp_path / "big.png"
    Image.new("1", (1500, 1500)).save(path)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1_000_000)  # raises above 2 MP
    exc = raised(Image.open, path)
    assert isinstance(exc, Image.DecompressionBombError)
    assert describe_error(exc) == (
        "image is 2 megapixels, above the 2 megapixel safety limit (possible decompression bomb)"
    )
    odd = Image.DecompressionBombError("too many frames")
    assert describe_error(odd) == "image is too large (possible decompression bomb)"


def test_an_unidentified_file_is_not_an_image():
    exc = raised(Image.open, io.BytesIO(b"plain text, not a picture" * 4))
    assert describe_error(exc) == "not an image, or a format Pixmill cannot read"


@pytest.mark.parametrize("stage", ["read", "write"])
def test_memory_errors_say_memory(tmp_path, stage):
    assert describe_error(MemoryError(), a_job(tmp_path), stage) == (
        "not enough memory to convert this image"
    )
    enomem = OSError(errno.ENOMEM, os.strerror(errno.ENOMEM))
    assert describe_error(enomem, a_job(tmp_path), stage) == (
        "not enough memory to convert this image"
    )


def test_an_interrupt_is_a_cancel(tmp_path):
    assert describe_error(KeyboardInterrupt(), a_job(tmp_path), "write") == "cancelled"
    assert describe_error(SystemExit(0), a_job(tmp_path), "read") == "cancelled"


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
@pytest.mark.parametrize("stage", ["read", "write", "publish"])
def test_a_full_disk_is_named(tmp_path, stage):
    with open("/dev/full", "wb", buffering=0) as full:
        exc = raised(full.write, b"pixels")
    assert exc.errno == errno.ENOSPC
    assert describe_error(exc, a_job(tmp_path), stage) == "disk full: no space left for the output"


@pytest.mark.parametrize("stage", ["read", "write"])
def test_a_file_size_limit_is_named(tmp_path, stage):
    exc = OSError(errno.EFBIG, os.strerror(errno.EFBIG))
    assert describe_error(exc, a_job(tmp_path), stage) == (
        "output file too large for the destination (file size limit)"
    )


@pytest.mark.skipif(os.name != "posix", reason="RLIMIT_FSIZE is POSIX")
def test_an_encoder_message_hiding_a_file_size_limit_is_seen_through(tmp_path):
    """libtiff reports a write cut short by RLIMIT_FSIZE in its own words; a temp file that
    reached the limit tells the real reason. Run in a child: the limit is per process."""
    child = r"""
import json, resource, sys
from pixmill.engine.errors import describe_error
from pixmill.engine.job import Job
from pixmill.engine.recipe import Recipe
folder = sys.argv[1]
job = Job(1, folder + "/a.png", folder + "/a.tif", "tiff", Recipe(format="tiff"))
hard = resource.getrlimit(resource.RLIMIT_FSIZE)[1]
resource.setrlimit(resource.RLIMIT_FSIZE, (200_000, hard))
out = []
for size in (150_000, 1_000):
    tmp = folder + f"/.pixmill-{size}.tmp"
    with open(tmp, "wb") as f:
        f.write(b"\0" * size)
    out.append(describe_error(RuntimeError("encoder error -2"), job, "write", tmp))
print(json.dumps(out))
"""
    r = subprocess.run(
        [sys.executable, "-c", child, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=50,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert r.returncode == 0, r.stderr[-2000:]
    assert json.loads(r.stdout) == [
        "output file too large for the destination (file size limit)",
        "could not write the TIFF file: encoder error -2",
    ]


def test_permission_denied_names_the_file(tmp_path):
    for code in (errno.EACCES, errno.EPERM):
        exc = PermissionError(code, os.strerror(code), str(tmp_path / "out" / "a.webp"))
        assert describe_error(exc, a_job(tmp_path), "write") == (
            f"permission denied: {tmp_path / 'out' / 'a.webp'}"
        )
    bare = PermissionError(errno.EACCES, os.strerror(errno.EACCES))
    assert describe_error(bare, a_job(tmp_path), "publish") == "permission denied"


def test_a_read_only_drive_is_named(tmp_path):
    exc = OSError(errno.EROFS, os.strerror(errno.EROFS), "/media/card/a.webp")
    assert describe_error(exc, a_job(tmp_path), "write") == "the output drive is read-only"


def test_a_missing_file_or_folder_is_named(tmp_path):
    missing = tmp_path / "gone" / "a.jpg"
    exc = raised(open, missing, "rb")
    assert describe_error(exc) == f"file or folder not found (moved or deleted?): {missing}"
    assert describe_error(OSError(errno.ENOENT, "No such file")) == "not found"


def test_other_system_errors_give_the_systems_words(tmp_path):
    exc = raised(open, tmp_path, "rb")
    assert isinstance(exc, IsADirectoryError)
    assert describe_error(exc) == f"{os.strerror(errno.EISDIR)}: {tmp_path}"
    bare = OSError(errno.EISDIR, os.strerror(errno.EISDIR))
    assert describe_error(bare, a_job(tmp_path), "write") == os.strerror(errno.EISDIR)


def test_a_truncated_file_is_named(tmp_path):
    path = make_image(tmp_path / "a.jpg", (400, 300), quality=90)
    path.write_bytes(path.read_bytes()[:3000])

    def load() -> None:
        with Image.open(path) as im:
            im.load()

    exc = raised(load)
    assert isinstance(exc, OSError) and exc.errno is None
    assert describe_error(exc) == "file is truncated or damaged"
    for text in ("broken data stream when reading image file", "premature end of data"):
        assert describe_error(OSError(text)) == "file is truncated or damaged"


def test_an_os_error_without_a_code_at_read_stage():
    assert describe_error(OSError("decoder error -9")) == (
        "cannot read or write the image: decoder error -9"
    )
    assert describe_error(OSError()) == "input/output error"


def test_a_decoders_odd_exception_at_read_stage_means_a_damaged_file():
    exc = raised(struct.unpack, "<I", b"\x00\x01")
    assert describe_error(exc) == f"file is damaged or unsupported: {exc}"
    assert describe_error(ValueError(), None, "read") == (
        "file is damaged or unsupported: ValueError"
    )
    assert describe_error(NotImplementedError("bit depth 5")) == (
        "file is damaged or unsupported: bit depth 5"
    )


def test_an_encoders_failure_names_the_output_format(tmp_path):
    exc = raised(Image.new("RGBA", (4, 4)).save, io.BytesIO(), "JPEG")
    assert describe_error(exc, a_job(tmp_path, "jpeg"), "write") == (
        "could not write the JPEG file: cannot write mode RGBA as JPEG"
    )
    assert describe_error(ValueError("bad tile"), None, "write") == (
        "could not write the output file: bad tile"
    )
    assert describe_error(RuntimeError(), a_job(tmp_path, "avif"), "publish") == (
        "could not write the AVIF file: RuntimeError"
    )


# --- how_it_ended -----------------------------------------------------------------------------


@pytest.mark.skipif(os.name != "posix", reason="signals")
def test_how_it_ended_names_the_signal_that_killed_a_process():
    for sig, name in ((9, "SIGKILL"), (15, "SIGTERM")):
        proc = subprocess.Popen(["sleep", "30"])
        assert how_it_ended(proc.poll()) == ""  # still running
        proc.send_signal(sig)
        assert how_it_ended(proc.wait()) == f" (killed by {name})"


@pytest.mark.skipif(os.name != "posix", reason="sh")
def test_how_it_ended_gives_an_exit_code_and_nothing_for_a_clean_exit():
    assert how_it_ended(subprocess.run(["sh", "-c", "exit 3"]).returncode) == " (exit code 3)"
    assert how_it_ended(subprocess.run(["sh", "-c", "exit 0"]).returncode) == ""


def test_how_it_ended_with_no_exit_or_an_unknown_signal():
    assert how_it_ended(None) == ""
    assert how_it_ended(0) == ""
    assert how_it_ended(-200) == " (signal 200)"
    assert how_it_ended(-6) == " (killed by SIGABRT)"
