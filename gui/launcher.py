"""Entry points: decide between the CLI and the window before anything imports Qt."""

from __future__ import annotations

import multiprocessing
import os
import sys
from collections.abc import Sequence

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
                from engine import __version__

                print(f"pixmill {__version__}")
                return 0
            if args[0] == "convert":
                _start_resource_tracker()
            from engine.cli import main as cli_main

            return cli_main(args)
        except KeyboardInterrupt:  # Ctrl-C before the CLI took over its own signals
            return 130
    return gui_main(args)


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
    """`pixmill-gui [PATH...]`: the window."""
    multiprocessing.freeze_support()
    args = list(sys.argv[1:] if argv is None else argv)
    from gui.app import main as app_main

    return app_main(args)


def run() -> None:
    sys.exit(main())


if __name__ == "__main__":
    run()
