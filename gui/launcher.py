"""Entry points: decide between the CLI and the window before anything imports Qt."""

from __future__ import annotations

import atexit
import multiprocessing
import os
import sys
import threading
from collections.abc import Mapping, Sequence
from typing import NoReturn

_CLI_COMMANDS = frozenset({"convert", "presets", "-h", "--help", "--version"})


def main(argv: Sequence[str] | None = None) -> int:
    """`pixmill`: a subcommand runs the CLI (no Qt import); no arguments, or only paths,
    open the window with those paths queued."""
    multiprocessing.freeze_support()
    args = list(sys.argv[1:] if argv is None else argv)
    # Anything that is neither a subcommand nor an existing path is a typo: let the CLI's
    # parser say so (exit 2) instead of opening a window.
    if args and (args[0] in _CLI_COMMANDS or not all(os.path.exists(a) for a in args)):
        try:
            if args[0] == "--version":
                from pixmill.engine import __version__

                print(f"pixmill {__version__}")
                return 0
            if args[0] == "convert":
                _start_resource_tracker()
            from pixmill.engine.cli import main as cli_main

            return cli_main(args)
        except KeyboardInterrupt:  # Ctrl-C before the CLI took over its own signals
            return 130
        except Exception as exc:
            if _interrupted(exc):
                return 130
            raise
    return gui_main(args)


def _interrupted(exc: BaseException) -> bool:
    """Whether exc is a Ctrl-C that the interpreter wrapped on its way out. Python 3.11 turns
    any exception raised while a class body is being set up (a dataclass field's
    __set_name__, say) into "RuntimeError: Error calling __set_name__", with the
    KeyboardInterrupt as its cause: a Ctrl-C in the first moments of the CLI, while it
    imports, can surface that way."""
    seen: set[int] = set()
    cause: BaseException | None = exc
    while cause is not None and id(cause) not in seen:
        if isinstance(cause, KeyboardInterrupt):
            return True
        seen.add(id(cause))
        cause = cause.__cause__ or cause.__context__
    return False


def _start_resource_tracker() -> None:
    """Boot multiprocessing's resource tracker (a helper process that every spawn-context pool
    needs) now, while this process spends ~50 ms importing the engine on one core and the
    other core is idle. Left to the pool, it boots at the same moment as the workers and
    takes CPU from them: measured here, 15-30 ms off a two-worker batch."""
    if os.name != "posix":
        return
    try:
        from multiprocessing import resource_tracker

        resource_tracker.ensure_running()
    except Exception:  # the pool would start it anyway, or report why it cannot
        pass


def gui_main(argv: Sequence[str] | None = None) -> int:
    """`pixmill-gui [PATH...]`: the window. Where there is no display to open it on, one line
    on stderr says so (and that the CLI needs none) and the exit status is 2, before Qt
    starts (Qt would abort with a long message about platform plugins)."""
    multiprocessing.freeze_support()
    args = list(sys.argv[1:] if argv is None else argv)
    missing = missing_display()
    if missing is not None:
        print(missing, file=sys.stderr, flush=True)
        return 2
    from pixmill.gui.app import main as app_main

    return app_main(args)


# Qt platform plugins that draw on a screen of the X server (xcb) or of the Wayland compositor
# (wayland, wayland-egl, ...); every other one (offscreen, minimal, vnc, eglfs, linuxfb,
# cocoa, windows, ...) needs neither variable.
_X11_PLATFORMS = frozenset({"xcb"})


def missing_display(
    environ: Mapping[str, str] | None = None, platform: str | None = None
) -> str | None:
    """The one-line message for a start without a display, or None when the window can open.

    Only on X11/Wayland systems (Linux, the BSDs): macOS and Windows always have their own
    screen and no DISPLAY variable. An explicit QT_QPA_PLATFORM is honoured: offscreen,
    minimal, vnc, eglfs... need no display; xcb needs DISPLAY, wayland* WAYLAND_DISPLAY; a
    list ("wayland;xcb") is fine when any of its entries is.
    """
    env = os.environ if environ is None else environ
    plat = sys.platform if platform is None else platform
    if plat in ("win32", "cygwin", "darwin"):
        return None
    variables = {"x11": "DISPLAY", "wayland": "WAYLAND_DISPLAY"}
    wanted = env.get("QT_QPA_PLATFORM", "").strip()
    needed: list[str] = []
    for entry in wanted.split(";") if wanted else ["xcb", "wayland"]:
        name = entry.split(":", 1)[0].strip().lower()
        if name in _X11_PLATFORMS:
            name = "x11"
        elif name.startswith("wayland"):
            name = "wayland"
        elif name:
            return None  # offscreen, minimal, vnc, eglfs...: no display server needed
        else:
            continue
        if env.get(variables[name]):
            return None
        needed.append(variables[name])
    if not needed:  # QT_QPA_PLATFORM=";": Qt picks its default, X11 or Wayland
        if env.get("DISPLAY") or env.get("WAYLAND_DISPLAY"):
            return None
        needed = ["DISPLAY", "WAYLAND_DISPLAY"]
    from pixmill.engine.i18n import _, ngettext, pgettext

    names = list(dict.fromkeys(needed))
    if len(names) == 1:
        unset = ngettext("{names} is not set", "{names} are not set", 1).format(names=names[0])
    else:
        unset = ngettext("{names} is not set", "{names} are not set", len(names)).format(
            names=_("{names} and {last}").format(names=", ".join(names[:-1]), last=names[-1])
        )
    if wanted:
        unset = pgettext("list separator", ", ").join([f"QT_QPA_PLATFORM={wanted}", unset])
    return _(
        "pixmill: no display found ({reason}), so the window cannot open; "
        "`pixmill convert ...` works without one (see `pixmill convert --help`)"
    ).format(reason=unset)


def run(argv: Sequence[str] | None = None) -> NoReturn:
    """The `pixmill` program: main(), then exit with its status."""
    args = list(sys.argv[1:] if argv is None else argv)
    code = main(args)
    if args and args[0] in _CLI_COMMANDS:
        _exit_without_teardown(code)
    sys.exit(code)


def _exit_without_teardown(code: int) -> NoReturn:
    """End a CLI run: run the atexit handlers (multiprocessing's clean-up, which unlinks the
    pool's semaphores, and logging's flush), flush the standard streams, and leave without
    tearing the interpreter down: freeing every module and object took 10-15 ms of each run,
    with nothing left to write. Falls back to a normal exit while another thread still works.
    """
    others = [t for t in threading.enumerate() if t is not threading.main_thread()]
    if any(t.is_alive() and not t.daemon for t in others):
        sys.exit(code)
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe (pixmill presets | head)
            pass
    os._exit(code)


if __name__ == "__main__":
    run()
