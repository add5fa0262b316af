"""The AppImage runtime (packaging/appimage/runtime.c) and the image layout of
packaging/build_appimage.py, on a small AppDir: the type-2 magic and the payload offset,
--appimage-extract, and --appimage-extract-and-run as a user without FUSE runs it (arguments,
exit status, the AppImage variables, signals passed on, the extraction shared by instances
running at once and removed by the last one out).

Needs gcc, libsquashfuse-dev and squashfs-tools (packaging/package.mk installs them for
`make test` too)."""

from __future__ import annotations

import fcntl
import importlib.util
import os
import signal
import subprocess
import termios
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _load_builder():
    spec = importlib.util.spec_from_file_location(
        "build_appimage", ROOT / "packaging" / "build_appimage.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


APPRUN = """#!/bin/sh
case "$1" in
  sleep) sleep "$2"; cat "$APPDIR/data.txt"; exit 0 ;;
  term) trap 'echo got TERM; exit 42' TERM; echo ready; while :; do sleep 0.05; done ;;
  ints) n=0; trap 'n=$((n+1))' INT; echo ready; i=0
        while [ $i -lt 40 ]; do sleep 0.05; i=$((i+1)); done; echo "ints $n"; exit 0 ;;
esac
echo "args:$*"
echo "APPIMAGE=$APPIMAGE"
echo "APPDIR=$APPDIR"
echo "OWD=$OWD"
exit 7
"""


@pytest.fixture(scope="module")
def image(tmp_path_factory) -> Path:
    builder = _load_builder()
    work = tmp_path_factory.mktemp("appimage")
    runtime = builder.build_runtime(work)
    appdir = work / "Test.AppDir"
    (appdir / "usr" / "bin").mkdir(parents=True)
    (appdir / "AppRun").write_text(APPRUN)
    (appdir / "AppRun").chmod(0o755)
    (appdir / "data.txt").write_text("payload data\n")
    (appdir / "usr" / "bin" / "tool").symlink_to("../../AppRun")
    big = os.urandom(3 << 20)  # spans several 1 MiB blocks and the copy buffer
    (appdir / "usr" / "big.bin").write_bytes(big)
    payload = work / "payload.squashfs"
    builder.make_payload(appdir, payload)
    out = work / "Test-x86_64.AppImage"
    out.write_bytes(runtime.read_bytes() + payload.read_bytes())
    out.chmod(0o755)
    return out


@pytest.fixture
def tmpdir_env(tmp_path) -> dict[str, str]:
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    return {**os.environ, "TMPDIR": str(tmp)}


@pytest.mark.timeout(120)
def test_type2_magic_and_the_payload_offset(image):
    head = image.read_bytes()[:16]
    assert head[:4] == b"\x7fELF" and head[8:11] == b"AI\x02"
    r = subprocess.run([image, "--appimage-offset"], capture_output=True, text=True, timeout=30)
    offset = int(r.stdout)
    with image.open("rb") as f:
        f.seek(offset)
        assert f.read(4) == b"hsqs"
    runtime = image.parent / "runtime-x86_64"
    assert offset == runtime.stat().st_size


@pytest.mark.timeout(120)
def test_extract_and_run_passes_arguments_status_and_variables(image, tmpdir_env, tmp_path):
    r = subprocess.run(
        [image, "--appimage-extract-and-run", "a b", "--flag"],
        capture_output=True,
        text=True,
        timeout=60,
        env=tmpdir_env,
        cwd=tmp_path,
    )
    assert r.returncode == 7, r.stderr
    lines = dict(line.split("=", 1) for line in r.stdout.splitlines() if "=" in line)
    assert "args:a b --flag" in r.stdout
    assert lines["APPIMAGE"] == str(image)
    assert lines["APPDIR"].startswith(tmpdir_env["TMPDIR"] + "/appimage_extracted_")
    assert lines["OWD"] == str(tmp_path)
    assert os.listdir(tmpdir_env["TMPDIR"]) == []  # removed after the run


@pytest.mark.timeout(120)
def test_without_options_it_runs_the_app_too(image, tmpdir_env):
    r = subprocess.run([image, "x"], capture_output=True, text=True, timeout=60, env=tmpdir_env)
    assert r.returncode == 7 and "args:x" in r.stdout


@pytest.mark.timeout(120)
def test_extract_unpacks_files_modes_and_symlinks(image, tmp_path):
    r = subprocess.run([image, "--appimage-extract"], cwd=tmp_path, capture_output=True, timeout=60)
    assert r.returncode == 0, r.stderr
    root = tmp_path / "squashfs-root"
    assert (root / "data.txt").read_text() == "payload data\n"
    assert os.access(root / "AppRun", os.X_OK)
    assert not os.access(root / "data.txt", os.X_OK)
    assert os.readlink(root / "usr" / "bin" / "tool") == "../../AppRun"
    assert (root / "usr" / "big.bin").stat().st_size == 3 << 20


@pytest.mark.timeout(120)
def test_instances_running_at_once_share_the_folder_and_the_last_removes_it(image, tmpdir_env):
    slow = subprocess.Popen(
        [image, "--appimage-extract-and-run", "sleep", "1.5"],
        stdout=subprocess.PIPE,
        text=True,
        env=tmpdir_env,
    )
    time.sleep(0.8)
    quick = subprocess.run(
        [image, "--appimage-extract-and-run", "sleep", "0"],
        capture_output=True,
        text=True,
        timeout=60,
        env=tmpdir_env,
    )
    assert quick.returncode == 0 and quick.stdout == "payload data\n"
    # The quick one finished first: the folder must still be there for the slow one.
    out, _ = slow.communicate(timeout=60)
    assert slow.returncode == 0 and out == "payload data\n"
    assert os.listdir(tmpdir_env["TMPDIR"]) == []


@pytest.mark.timeout(120)
def test_sigterm_is_passed_on_to_the_app(image, tmpdir_env):
    proc = subprocess.Popen(
        [image, "--appimage-extract-and-run", "term"],
        stdout=subprocess.PIPE,
        text=True,
        env=tmpdir_env,
    )
    assert proc.stdout.readline() == "ready\n"
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 42 and "got TERM" in out
    assert os.listdir(tmpdir_env["TMPDIR"]) == []


@pytest.mark.timeout(120)
def test_ctrl_c_in_a_terminal_reaches_the_app_once(image, tmpdir_env):
    """The terminal sends Ctrl-C's SIGINT to the whole foreground process group, the app
    included: the runtime must not pass on a second one (the CLI takes a second Ctrl-C as
    "stop now")."""
    master, slave = os.openpty()

    def controlling_terminal() -> None:
        os.setsid()
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    proc = subprocess.Popen(
        [image, "--appimage-extract-and-run", "ints"],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        preexec_fn=controlling_terminal,
        env=tmpdir_env,
    )
    os.close(slave)
    out = b""
    try:
        while b"ready" not in out:
            out += os.read(master, 1024)
        # Four presses apart: a second signal sent at once may merge with the terminal's
        # while both are pending, but not at every press.
        for _ in range(4):
            os.write(master, b"\x03")
            time.sleep(0.25)
        assert proc.wait(timeout=30) == 0, out
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    while True:  # the rest of the output, until the terminal closes with the last process
        try:
            chunk = os.read(master, 1024)
        except OSError:  # EIO: no process has the terminal open any more
            break
        if not chunk:
            break
        out += chunk
    os.close(master)
    assert b"ints 4" in out, out


@pytest.mark.timeout(120)
def test_the_runtime_alone_says_there_is_no_image(image):
    runtime = image.parent / "runtime-x86_64"
    r = subprocess.run([runtime, "x"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 127 and "no SquashFS image" in r.stderr
