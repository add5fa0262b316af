"""Started where there is no screen (an SSH session, a server): `pixmill` with no arguments and
`pixmill-gui` say so in one line and exit 2 before Qt is imported, instead of dying inside Qt
with its platform-plugin message. Every case that can draw (X11, Wayland, an explicit
offscreen/minimal platform, macOS, Windows) is let through."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from pixmill.gui.launcher import missing_display

NO_SCREEN_ENV = {
    k: v
    for k, v in os.environ.items()
    if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")
}


@pytest.mark.timeout(10)
@pytest.mark.parametrize(
    "env",
    [
        {"DISPLAY": ":0"},
        {"WAYLAND_DISPLAY": "wayland-0"},
        {"DISPLAY": ":1", "WAYLAND_DISPLAY": "wayland-0"},
        {"QT_QPA_PLATFORM": "offscreen"},
        {"QT_QPA_PLATFORM": "minimal"},
        {"QT_QPA_PLATFORM": "vnc:size=800x600"},
        {"QT_QPA_PLATFORM": "eglfs"},
        {"QT_QPA_PLATFORM": "xcb", "DISPLAY": ":0"},
        {"QT_QPA_PLATFORM": "wayland", "WAYLAND_DISPLAY": "wayland-1"},
        {"QT_QPA_PLATFORM": "wayland-egl", "WAYLAND_DISPLAY": "wayland-1"},
        {"QT_QPA_PLATFORM": "wayland;xcb", "DISPLAY": ":0"},
        {"QT_QPA_PLATFORM": "xcb;offscreen"},
        {"QT_QPA_PLATFORM": ";", "DISPLAY": ":0"},
    ],
    ids=lambda env: ",".join(f"{k}={v}" for k, v in env.items()),
)
def test_a_display_or_a_headless_platform_lets_the_window_start(env):
    assert missing_display(env, "linux") is None


@pytest.mark.timeout(10)
@pytest.mark.parametrize("platform", ["darwin", "win32", "cygwin"])
def test_macos_and_windows_have_no_display_variable_and_always_start(platform):
    assert missing_display({}, platform) is None


@pytest.mark.timeout(10)
@pytest.mark.parametrize(
    ("env", "unset"),
    [
        ({}, "DISPLAY and WAYLAND_DISPLAY are not set"),
        ({"DISPLAY": ""}, "DISPLAY and WAYLAND_DISPLAY are not set"),
        ({"QT_QPA_PLATFORM": "xcb", "WAYLAND_DISPLAY": "w"}, "DISPLAY is not set"),
        ({"QT_QPA_PLATFORM": "wayland", "DISPLAY": ":0"}, "WAYLAND_DISPLAY is not set"),
        ({"QT_QPA_PLATFORM": "wayland;xcb"}, "WAYLAND_DISPLAY and DISPLAY are not set"),
        ({"QT_QPA_PLATFORM": ";"}, "DISPLAY and WAYLAND_DISPLAY are not set"),
    ],
)
def test_no_display_is_one_line_naming_what_is_missing_and_the_cli(env, unset):
    for platform in ("linux", "freebsd14"):
        message = missing_display(env, platform)
        assert message is not None and "\n" not in message
        assert message.startswith("pixmill: no display found")
        assert unset in message
        assert "`pixmill convert ...` works without one" in message


def _run_launcher(call: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    code = (
        "import sys; from pixmill.gui import launcher; "
        f"rc = launcher.{call}; "
        "print('qt imported' if any(m.startswith('PySide6') for m in sys.modules) else 'no qt'); "
        "sys.exit(rc)"
    )
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=env
    )


@pytest.mark.timeout(60)
@pytest.mark.parametrize("call", ["main([])", "gui_main([])", "gui_main(['.'])"])
def test_pixmill_and_pixmill_gui_without_a_display_exit_2_before_qt(call):
    r = _run_launcher(call, NO_SCREEN_ENV)
    assert r.returncode == 2, r.stdout + r.stderr
    assert r.stdout.strip() == "no qt"
    lines = r.stderr.splitlines()
    assert len(lines) == 1, r.stderr
    assert "no display found" in lines[0] and "pixmill convert" in lines[0]


@pytest.mark.timeout(60)
def test_the_cli_needs_no_display():
    r = _run_launcher("main(['presets'])", NO_SCREEN_ENV)
    assert r.returncode == 0, r.stderr
    assert "no display" not in r.stderr and r.stdout.strip().endswith("no qt")


@pytest.mark.timeout(60)
def test_the_console_script_without_a_display(tmp_path):
    """The installed `pixmill` script (what the .deb's /usr/bin/pixmill runs too)."""
    script = os.path.join(os.path.dirname(sys.executable), "pixmill")
    r = subprocess.run(
        [script], capture_output=True, text=True, timeout=60, env=NO_SCREEN_ENV, cwd=tmp_path
    )
    assert r.returncode == 2
    assert r.stderr.count("\n") == 1 and "no display found" in r.stderr
    assert "Qt platform plugin" not in r.stderr
