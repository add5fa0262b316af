"""Run one contender command and measure it: wall time, CPU time, and peak RSS of the main
process and of its largest descendant (a pool worker, or one vipsthumbnail/mogrify process).

Peak RSS is the kernel's high-water mark (VmHWM in /proc/PID/status), sampled for the whole
process tree every SAMPLE_S seconds. VmHWM never goes down, so any sample after a process's
peak is exact; only a process that lives less than one sampling interval can be missed.
Linux only; elsewhere the RSS columns stay empty.
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

SAMPLE_S = 0.1


@dataclass
class RunResult:
    seconds: float
    cpu_seconds: float
    returncode: int
    main_rss_mb: float | None
    worker_rss_mb: float | None
    stderr: str = ""
    extra: dict[str, object] = field(default_factory=dict)


def _parents() -> dict[int, int]:
    """pid -> parent pid for every process we can see."""
    out: dict[int, int] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                data = f.read()
        except OSError:
            continue
        # The command name may hold spaces and parentheses: parse after the last ')'.
        rest = data[data.rfind(b")") + 2 :].split()
        if len(rest) > 1:
            out[int(name)] = int(rest[1])
    return out


def _children_by_scan() -> Callable[[int], list[int]]:
    children: dict[int, list[int]] = {}
    for pid, ppid in _parents().items():
        children.setdefault(ppid, []).append(pid)
    return lambda pid: children.get(pid, [])


def _children_of(pid: int) -> list[int]:
    """pid's children, from /proc/PID/task/TID/children: a few small reads instead of a scan
    of every process on the machine. The sampler shares two cores with the contender, and a
    full scan every 0.1 s cost about 1.3 % of a core: nothing to one worker, which leaves a
    core idle, but taken straight from two."""
    out: list[int] = []
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return out
    for tid in tids:
        try:
            with open(f"/proc/{pid}/task/{tid}/children", "rb") as f:
                out.extend(int(c) for c in f.read().split())
        except (OSError, ValueError):
            pass
    return out


def _hwm_kb(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/status", "rb") as f:
            for line in f:
                if line.startswith(b"VmHWM:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        return None
    return None


class TreeSampler:
    """Samples VmHWM of a process and all its descendants in a background thread."""

    def __init__(self, root: int) -> None:
        self.root = root
        self.peak_kb: dict[int, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)
        self.enabled = os.path.exists(f"/proc/{root}/status")
        # /proc/PID/task/TID/children needs CONFIG_PROC_CHILDREN; scan /proc without it.
        self._direct = os.path.exists(f"/proc/{root}/task/{root}/children")

    def start(self) -> None:
        if self.enabled:
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def sample(self) -> None:
        children = _children_of if self._direct else _children_by_scan()
        stack = [self.root]
        while stack:
            pid = stack.pop()
            kb = _hwm_kb(pid)
            if kb is not None and kb > self.peak_kb.get(pid, 0):
                self.peak_kb[pid] = kb
            stack.extend(children(pid))

    def _run(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(SAMPLE_S)

    @property
    def main_mb(self) -> float | None:
        kb = self.peak_kb.get(self.root)
        return kb / 1024 if kb else None

    @property
    def worker_mb(self) -> float | None:
        others = [kb for pid, kb in self.peak_kb.items() if pid != self.root]
        return max(others) / 1024 if others else None


def run_measured(
    argv: Sequence[str],
    env: Mapping[str, str] | None = None,
    stdin: bytes | None = None,
    cwd: str | None = None,
    timeout: float = 1800.0,
) -> RunResult:
    """Run argv to completion and measure it. CPU time covers the whole tree (every
    descendant the command waited for)."""
    full_env = dict(os.environ)
    if env:
        full_env.update(env)
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        list(argv),
        stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=full_env,
        cwd=cwd,
    )
    sampler = TreeSampler(proc.pid)
    sampler.start()
    err_chunks: list[bytes] = []

    def pump() -> None:
        assert proc.stderr is not None
        err_chunks.append(proc.stderr.read())

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    if stdin is not None:
        assert proc.stdin is not None
        try:
            proc.stdin.write(stdin)
            proc.stdin.close()
        except BrokenPipeError:
            pass
    killer = threading.Timer(timeout, proc.kill)
    killer.daemon = True
    killer.start()
    try:
        _, st, usage = os.wait4(proc.pid, 0)
    finally:
        killer.cancel()
    seconds = time.perf_counter() - t0
    sampler.stop()
    proc.returncode = os.waitstatus_to_exitcode(st)
    reader.join(5)
    proc.stderr.close()
    return RunResult(
        seconds=seconds,
        cpu_seconds=usage.ru_utime + usage.ru_stime,
        returncode=proc.returncode,
        main_rss_mb=sampler.main_mb,
        worker_rss_mb=sampler.worker_mb,
        stderr=b"".join(err_chunks).decode("utf-8", "replace")[-4000:],
    )
