"""Durable publish at the system-call level: `pixmill convert` under strace.

For every output, the worker process that wrote it syncs the file (fsync or fdatasync of a
descriptor of it: the unnamed file its O_TMPFILE openat returned, or an exclusive
`.pixmill-*.tmp` file made by O_CREAT|O_EXCL, or one its publisher thread opened again by
path) after the last write into it and before the link or rename that gives it its final name
(a linkat of "/proc/self/fd/N" for an unnamed file), so a power cut cannot leave an empty or
truncated file under a final name; and each output folder is opened (O_DIRECTORY) and fsynced
after the last name was made in it. A chunk of small files has the writeback of all its files
started (sync_file_range) before the first is waited for. With --no-sync none of this happens,
which shows that the trace tells the two apart.

strace is a system package (the Makefile's APT_PACKAGES).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from faultkit.batch import PIXMILL

from tests.conftest import make_image

pytestmark = pytest.mark.timeout(60)

#: clone*/fork: which thread belongs to which process (descriptors are per process).
TRACED = (
    "clone,clone3,fork,vfork,openat,close,write,pwrite64,writev,fsync,fdatasync,syncfs,"
    "sync_file_range,link,linkat,rename,renameat,renameat2"
)
_PUBLISH = ("link", "linkat", "rename", "renameat", "renameat2")
_WRITE = ("write", "pwrite64", "writev")
_NEW_TASK = ("clone", "clone3", "fork", "vfork")
_LINE = re.compile(r"^(\d+)\s+(.*)$")
_CALL = re.compile(r"^(\w+)\((.*)\)\s+=\s+(.*)$")
_UNFINISHED = re.compile(r"^(\w+)\((.*) <unfinished \.\.\.>$")
_RESUMED = re.compile(r"^<\.\.\. (\w+) resumed>(.*)$")
_STRING = re.compile(r'"((?:[^"\\]|\\.)*)"')


@dataclass
class Call:
    """One finished system call of a `strace -f` trace: the thread (strace -f prints thread
    ids), name, argument text, result, and the trace lines where it began and ended. strace
    writes the lines in the order it sees the calls, so a call that begins on a later line
    than another one ended on came after it."""

    tid: int
    name: str
    args: str
    ret: str
    begin: int
    end: int
    pid: int = 0  # the process (thread group) of tid: filled in by analyse()
    source: str = ""  # a link or rename's source file (see Trace.temps): filled in by analyse()

    @property
    def ok(self) -> bool:
        return not self.ret.startswith("-1")

    def paths(self) -> list[str]:
        return [os.path.normpath(s) for s in _STRING.findall(self.args)]

    def number(self) -> int:
        """The number this call returned (openat's descriptor, clone's new thread id)."""
        return int(self.ret.split()[0])

    def fd(self) -> int:
        """The descriptor this call took first (fsync, close, write)."""
        return int(self.args.split(",")[0])


def parse_strace(text: str) -> list[Call]:
    """The calls of a `strace -f -o FILE` trace, with the halves of calls other threads
    interrupted ("<unfinished ...>", "<... resumed>") joined, in the order they ended."""
    calls, pending = [], {}
    for i, line in enumerate(text.splitlines()):
        m = _LINE.match(line)
        if not m:
            continue
        tid, rest = int(m.group(1)), m.group(2)
        if rest.startswith(("---", "+++")):
            continue  # a signal or an exit
        if u := _UNFINISHED.match(rest):
            pending[tid] = (u.group(1), u.group(2), i)
            continue
        begin = i
        if r := _RESUMED.match(rest):
            name, head, begin = pending.pop(tid)
            rest = f"{name}({head}{r.group(2)}"
        if c := _CALL.match(rest):
            calls.append(Call(tid, c.group(1), c.group(2), c.group(3), begin, i))
    return calls


@dataclass
class Temp:
    """A file made for an output, unnamed (O_TMPFILE) or a `.pixmill-*.tmp` file created
    exclusively (O_CREAT|O_EXCL): by which process, the trace line where the last write into
    it ended, the (begin, end) lines of the syncs of any of that process's descriptors of it,
    and the lines where writebacks of it were started (sync_file_range)."""

    pid: int
    last_write: int | None = None
    syncs: list[tuple[int, int]] = field(default_factory=list)
    writebacks: list[int] = field(default_factory=list)


@dataclass
class Trace:
    # temp path, or "<unnamed ...>" for an O_TMPFILE file -> how it was made, written, synced
    temps: dict[str, Temp]
    publishes: list[Call]  # successful link/linkat/rename*: paths() = [source, target]
    folder_syncs: dict[str, list[int]]  # folder -> lines where syncs of an O_DIRECTORY fd began
    # (process, folder) -> (begin, end) lines of its syncfs calls through that folder: every
    # file of the folder's file system written before one began is on the disk once it ends
    fs_syncs: dict[tuple[int, str], list[tuple[int, int]]] = field(default_factory=dict)


def analyse(calls: list[Call]) -> Trace:
    # Threads to processes first: a new thread may show up in the trace before the clone
    # that made it returns in its creator's.
    group: dict[int, int] = {}
    for call in calls:
        if call.name in _NEW_TASK and call.ok:
            group[call.number()] = -call.tid if "CLONE_THREAD" in call.args else 0

    def pid_of(tid: int) -> int:
        while group.get(tid, 0) < 0:
            tid = -group[tid]
        return tid

    trace = Trace({}, [], {})
    fds: dict[tuple[int, int], tuple[str, str]] = {}  # (process, fd) -> (path, openat flags)
    # A close frees its descriptor as it begins, and another thread's openat may return that
    # number before the close itself returns: a close takes effect on the line it began on,
    # every other call on the line it ended on.
    for call in sorted(calls, key=lambda c: c.begin if c.name == "close" else c.end):
        call.pid = pid_of(call.tid)
        if not call.ok:
            continue
        if call.name == "openat":
            path, flags = call.paths()[0], call.args.split(",")[2]
            if "O_TMPFILE" in flags:  # a file without a name, known by its descriptor
                path = f"<unnamed in {path}, process {call.pid} line {call.end + 1}>"
                trace.temps[path] = Temp(call.pid)
            fds[(call.pid, call.number())] = (path, flags)
            name = os.path.basename(path)
            is_temp = name.startswith(".pixmill-") and name.endswith(".tmp")
            if is_temp and "O_CREAT" in flags and "O_EXCL" in flags:
                trace.temps[path] = Temp(call.pid)
        elif call.name == "close":
            fds.pop((call.pid, call.fd()), None)
        elif call.name in _WRITE:
            temp = trace.temps.get(fds.get((call.pid, call.fd()), ("", ""))[0])
            if temp is not None and temp.pid == call.pid:
                temp.last_write = call.end
        elif call.name in ("fsync", "fdatasync"):
            path, flags = fds.get((call.pid, call.fd()), ("", ""))
            temp = trace.temps.get(path)
            if temp is not None and temp.pid == call.pid:
                temp.syncs.append((call.begin, call.end))
            if "O_DIRECTORY" in flags:
                trace.folder_syncs.setdefault(path, []).append(call.begin)
        elif call.name == "sync_file_range":
            temp = trace.temps.get(fds.get((call.pid, call.fd()), ("", ""))[0])
            if temp is not None and temp.pid == call.pid:
                temp.writebacks.append(call.begin)
        elif call.name == "syncfs":
            path, flags = fds.get((call.pid, call.fd()), ("", ""))
            if path:
                trace.fs_syncs.setdefault((call.pid, path), []).append((call.begin, call.end))
        elif call.name in _PUBLISH:
            call.source = call.paths()[0]
            if m := re.fullmatch(r"/proc/self/fd/(\d+)", call.source):
                call.source = fds.get((call.pid, int(m.group(1))), ("", ""))[0]
            trace.publishes.append(call)
    return trace


_FIVE = ["a.jpg", "b.png", "c.jpg", "d.png", "sub/e.jpg"]


def _convert_traced(
    tmp_path: Path, *extra: str, names: list[str] = _FIVE
) -> tuple[Trace, list[str]]:
    """Small images (by default five, one in a subfolder: two output folders) to PNG under
    strace; the analysed trace and the outputs."""
    strace = shutil.which("strace")
    assert strace, "strace is not installed (the Makefile's APT_PACKAGES lists it)"
    inp, out = tmp_path / "in", tmp_path / "out"
    for i, rel in enumerate(names):
        make_image(inp / rel, (120 + 10 * (i % 8), 90), seed=i)
    log = tmp_path / "trace.txt"
    # -s 0: no written data in the trace (file names are always shown in full).
    cmd = [strace, "-f", "-qq", "-s", "0", "-e", f"trace={TRACED}", "-o", str(log)]
    cmd += [PIXMILL, "convert", str(inp), "-o", str(out), "--format", "png", "--workers", "2"]
    r = subprocess.run(
        [*cmd, "--quiet", *extra],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=50,
    )
    assert r.returncode == 0, r.stderr[-2000:]
    outputs = sorted(
        os.path.normpath(os.path.join(d, n)) for d, _, names in os.walk(out) for n in names
    )
    assert [os.path.relpath(p, out) for p in outputs] == sorted(
        os.path.splitext(n)[0] + ".png" for n in names
    )
    return analyse(parse_strace(log.read_text(errors="replace"))), outputs


def _published(trace: Trace, output: str) -> tuple[Call, Temp]:
    """The one call that gave output its name, and the file it came from (made, written and
    named by one process)."""
    calls = [c for c in trace.publishes if c.paths()[1:2] == [output]]
    assert len(calls) == 1, f"{output}: named by {len(calls)} calls: {calls}"
    src = calls[0].source
    temp = trace.temps.get(src)
    assert temp is not None, (
        f"{output}: published from {src!r}, neither an unnamed file nor an exclusive temp"
    )
    assert temp.pid == calls[0].pid, f"{output}: named by another process than its writer"
    assert temp.last_write is not None, f"{output}: nothing was written into {src}"
    return calls[0], temp


def _check_synced_before_named(trace: Trace, outputs: list[str]) -> dict[str, int]:
    """Every output's data synced between the last write into its temp file and the call
    that named it: by a sync of the temp file, or by a syncfs its process made through the
    output's folder (the same file system). How many were synced each way."""
    ways = {"file": 0, "file system": 0}
    for output in outputs:
        call, temp = _published(trace, output)
        own = [(b, e) for b, e in temp.syncs if temp.last_write < b and e < call.begin]
        fs = trace.fs_syncs.get((temp.pid, os.path.dirname(output)), [])
        whole = [(b, e) for b, e in fs if temp.last_write < b and e < call.begin]
        assert own or whole, (
            f"{output}: no sync of its temp file or its file system between the last write "
            f"into it (trace line {temp.last_write + 1}) and its {call.name} (line "
            f"{call.begin + 1}); syncs (begin, end): {[(b + 1, e + 1) for b, e in temp.syncs]}, "
            f"syncfs: {[(b + 1, e + 1) for b, e in fs]}"
        )
        ways["file" if own else "file system"] += 1
    return ways


@pytest.mark.timeout(60)
def test_each_output_is_fsynced_before_its_name_and_its_folder_after(tmp_path):
    trace, outputs = _convert_traced(tmp_path)
    _check_synced_before_named(trace, outputs)
    for folder in sorted({os.path.dirname(o) for o in outputs}):
        last = max(c.end for c in trace.publishes if os.path.dirname(c.paths()[1]) == folder)
        after = [b for b in trace.folder_syncs.get(folder, []) if b > last]
        assert after, (
            f"{folder}: no fsync of the folder after its last output was named (line "
            f"{last + 1}); folder syncs began on lines "
            f"{[b + 1 for b in trace.folder_syncs.get(folder, [])]}"
        )


@pytest.mark.timeout(60)
def test_chunks_of_small_files_are_synced_together_before_their_names(tmp_path):
    """Many small files travel several to a pool task, and a task's outputs are synced
    together before the first of them is named: by one syncfs of their file system (on a
    local disk one with little else to write, engine/syncfs.py), or else by starting the
    writeback of all of them (sync_file_range) before the first is waited for. Seen in the
    trace: one syncfs covered this file and another of its process, or between this file's
    writeback start and its sync the writeback of another file of the chunk began."""
    names = [f"p{i:02d}.png" for i in range(48)]
    trace, outputs = _convert_traced(tmp_path, names=names)
    ways = _check_synced_before_named(trace, outputs)
    named = {o: _published(trace, o) for o in outputs}

    def covered(sync: tuple[int, int], output: str) -> bool:
        call, temp = named[output]
        return temp.last_write < sync[0] and sync[1] < call.begin

    together = 0
    for output, (_call, temp) in named.items():
        fs = trace.fs_syncs.get((temp.pid, os.path.dirname(output)), [])
        if any(
            covered(sync, output)
            and any(o != output and named[o][1].pid == temp.pid and covered(sync, o) for o in named)
            for sync in fs
        ):
            together += 1
            continue
        if not temp.writebacks or not temp.syncs:
            continue
        began, synced = temp.writebacks[0], temp.syncs[0][0]
        others = [
            w
            for t in trace.temps.values()
            if t is not temp and t.pid == temp.pid
            for w in t.writebacks
            if began < w < synced
        ]
        together += bool(others)
    # Chunks shrink towards the end of a batch (the last files go one to a task, synced on
    # their own): about 20 of these 48 files in practice, 0 unbatched.
    assert together >= len(outputs) // 4, (together, len(outputs), ways)


@pytest.mark.timeout(60)
def test_no_sync_publishes_without_any_fsync(tmp_path):
    """The same batch with --no-sync: the same temp files and links in the trace, and no
    fsync of any temp file or output folder (so the test above can tell)."""
    trace, outputs = _convert_traced(tmp_path, "--no-sync")
    for output in outputs:
        _published(trace, output)
    synced = {p: t.syncs + t.writebacks for p, t in trace.temps.items() if t.syncs or t.writebacks}
    assert not synced, f"--no-sync, yet temp files were fsynced: {synced}"
    assert not trace.fs_syncs, f"--no-sync, yet file systems were synced: {trace.fs_syncs}"
    folders = {os.path.dirname(o) for o in outputs}
    assert not {f: trace.folder_syncs[f] for f in folders if f in trace.folder_syncs}


@pytest.mark.timeout(10)
def test_a_descriptor_freed_by_a_close_still_running_belongs_to_the_new_openat():
    """Seen once in CI: a close of descriptor 12 ended after another thread's openat had
    already been given 12, and the fsync of the temp file through it went unattributed."""
    tmp = "/out/.pixmill-1-2-3.tmp"
    text = "\n".join(
        [
            f'10 openat(AT_FDCWD, "{tmp}", O_RDWR|O_CREAT|O_EXCL|O_CLOEXEC, 0666) = 12',
            "10 write(12, ..., 100) = 100",
            "10 close(12 <unfinished ...>",
            f'11 openat(AT_FDCWD, "{tmp}", O_RDWR|O_CLOEXEC) = 12',
            "10 <... close resumed>) = 0",
            "11 fsync(12) = 0",
            f'11 link("{tmp}", "/out/a.png") = 0',
        ]
    )
    trace = analyse(parse_strace("10 clone3({flags=CLONE_VM|CLONE_THREAD}, 88) = 11\n" + text))
    assert trace.temps[tmp].syncs == [(6, 6)]
    assert trace.temps[tmp].last_write == 2
