"""The batch's outcome before it runs: a sample of the planned files converted for real (in
the runner's pool, by convert_one, into a temporary folder that is removed afterwards), and
the total output size, saving and time that sample points to.

Used by `pixmill convert --dry-run --estimate` and the window's Estimate button.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import tempfile
from dataclasses import dataclass

from .i18n import _, ngettext
from .job import Job
from .runner import BatchRunner

#: Files converted for an estimate: enough to average out easy and hard images.
SAMPLE = 12


@dataclass(frozen=True)
class Estimate:
    """What a sample of converted files says about the whole batch. bytes_in: every file to
    convert; bytes_out: their expected total output; seconds: the expected time on the
    pool's workers; sample: files converted to say so (failed: of those, the failures)."""

    files: int
    sample: int
    failed: int
    bytes_in: int
    bytes_out: int
    seconds: float

    @property
    def saving(self) -> float:
        """The expected saving as a fraction of the input (negative: the outputs grow)."""
        return 1.0 - self.bytes_out / self.bytes_in if self.bytes_in else 0.0

    def describe(self) -> str:
        from .report import human_bytes, human_duration

        if not self.sample:
            return _("nothing to estimate: no file to convert")
        change = _("saving {percent} %") if self.saving >= 0 else _("growing by {percent} %")
        change = change.format(percent=f"{abs(self.saving) * 100:.0f}")
        if self.failed:
            sample = ngettext(
                "from {sample} converted as a sample; {failed} of them failed",
                "from {sample} converted as a sample; {failed} of them failed",
                self.failed,
            ).format(sample=self.sample, failed=self.failed)
        else:
            sample = ngettext(
                "from {sample} converted as a sample",
                "from {sample} converted as a sample",
                self.sample,
            ).format(sample=self.sample)
        # Translators: e.g. "about 120.0 MB -> 31.2 MB (saving 74 %), about 2 m 05 s for
        # 1,000 files (from 12 converted as a sample)".
        return ngettext(
            "about {before} -> {after} ({change}), about {duration} for {files} file ({sample})",
            "about {before} -> {after} ({change}), about {duration} for {files} files ({sample})",
            self.files,
        ).format(
            before=human_bytes(self.bytes_in),
            after=human_bytes(self.bytes_out),
            change=change,
            duration=human_duration(self.seconds),
            files=f"{self.files:,}",
            sample=sample,
        )


def sample_of(jobs: list[Job], size: int = SAMPLE) -> list[Job]:
    """Up to size jobs spread evenly over the files to convert (a folder of big photos and
    one of icons both count)."""
    todo = [j for j in jobs if j.action == "convert"]
    if len(todo) <= size:
        return todo
    step = len(todo) / size
    return [todo[int(i * step)] for i in range(size)]


def estimate(jobs: list[Job], runner: BatchRunner, size: int = SAMPLE) -> Estimate:
    """Convert a sample of jobs into a temporary folder with runner and scale up."""
    todo = [j for j in jobs if j.action == "convert"]
    picked = sample_of(jobs, size)
    total_in = sum(j.size for j in todo)
    if not picked:
        return Estimate(0, 0, 0, 0, 0, 0.0)
    scratch = tempfile.mkdtemp(prefix="pixmill-estimate-")
    try:
        trial = [
            dataclasses.replace(
                job,
                index=i,
                target=os.path.join(scratch, f"{i}{os.path.splitext(job.target)[1]}"),
                sync=False,
                replace=False,
            )
            for i, job in enumerate(picked, start=1)
        ]
        report = runner.run(trial)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    done = [f for f in report.files if f["status"] == "ok"]
    failed = sum(1 for f in report.files if f["status"] == "failed")
    sample_in = sum(f.get("bytes_in") or 0 for f in done)
    sample_out = sum(f.get("bytes_out") or 0 for f in done)
    ratio = sample_out / sample_in if sample_in else 0.0
    per_file = sum(f.get("ms") or 0.0 for f in report.files) / 1000.0 / len(report.files)
    seconds = per_file * len(todo) / max(1, runner.workers)
    return Estimate(len(todo), len(picked), failed, total_in, round(total_in * ratio), seconds)
