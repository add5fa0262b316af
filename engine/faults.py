"""The fault hook: PIXMILL_FAULTS makes a worker crash, hang, hoard memory, dawdle or fail to
start on chosen files, for the reliability tests and the packaged smoke test.

PIXMILL_FAULTS="crash:SUBSTR,hang:SUBSTR,alloc:SUBSTR,slow:SUBSTR,crash-after-publish:SUBSTR,
start:any,start-exit:any": each fault hits files whose path contains SUBSTR ("start" fails
every worker's start-up, "start-exit" ends every worker process during it). Unset in normal
use, where Faults.from_env() is empty and costs nothing.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Mapping

KINDS = ("crash", "hang", "alloc", "slow", "crash-after-publish", "start", "start-exit")
_SIGKILL = getattr(signal, "SIGKILL", signal.SIGTERM)


class Faults:
    """The faults a worker process was asked to suffer."""

    def __init__(self, spec: str = "") -> None:
        self.faults: list[tuple[str, str]] = []
        for item in spec.split(","):
            kind, _, needle = item.strip().partition(":")
            if kind in KINDS and needle:
                self.faults.append((kind, needle))

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> Faults:
        return cls(environ.get("PIXMILL_FAULTS", ""))

    def __bool__(self) -> bool:
        return bool(self.faults)

    def _kinds(self) -> set[str]:
        return {kind for kind, _ in self.faults}

    def at_start(self) -> None:
        """Worker start-up: exit as if a library crashed the process while it loaded, or
        raise as if one failed to import."""
        kinds = self._kinds()
        if "start-exit" in kinds:
            os._exit(3)
        if "start" in kinds:
            raise ImportError("injected start-up failure")

    @property
    def after_publish(self) -> bool:
        """Whether some file is to crash its worker right after its output is published."""
        return "crash-after-publish" in self._kinds()

    def before_convert(self, source: str) -> None:
        """Suffer the faults aimed at this file before converting it."""
        for kind, needle in self.faults:
            if needle not in source:
                continue
            if kind == "crash":
                os.kill(os.getpid(), _SIGKILL)
            elif kind == "hang":
                while True:
                    time.sleep(3600)
            elif kind == "alloc":
                hoard = []
                while True:
                    hoard.append(bytearray(64 << 20))
            elif kind == "slow":
                time.sleep(1.0)

    def published(self, source: str) -> None:
        """Die right after this file's output is in place, before the runner hears of it."""
        if any(k == "crash-after-publish" and n in source for k, n in self.faults):
            os.kill(os.getpid(), _SIGKILL)
