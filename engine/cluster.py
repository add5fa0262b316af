"""Batches on a Dask cluster, the part every face may use: where the cluster is (ClusterSpec,
PIXMILL_CLUSTER), how the client's paths map to the workers' (--path-map LOCAL=REMOTE), and
the pre-flight check that runs on every worker (check(), `pixmill cluster-check`, the
window's "Test connection").

Dask is imported only inside the functions that talk to a cluster: the desktop package and
the local pool never need it (`pip install pixmill[cluster]` brings it).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from .i18n import _, ngettext
from .job import Job

__all__ = [
    "CLUSTER_ENV",
    "CheckResult",
    "ClusterError",
    "ClusterSpec",
    "PathMap",
    "batch_folders",
    "check",
    "connect",
    "parse_path_map",
    "run_check",
]

#: The environment variable that names the scheduler when --cluster is not given.
CLUSTER_ENV = "PIXMILL_CLUSTER"
#: Seconds to reach a scheduler before giving up.
CONNECT_TIMEOUT = 10.0
#: Seconds without the scheduler after which a batch's remaining files fail.
LOST_AFTER = 10.0


class ClusterError(Exception):
    """The cluster cannot be used (Dask missing, scheduler unreachable, a bad path map);
    str() is one line for the user."""


@dataclass(frozen=True)
class PathMap:
    """The client sees a folder as local; the workers see it as remote."""

    local: str
    remote: str


def parse_path_map(text: str) -> PathMap:
    """'LOCAL=REMOTE' (both absolute folders) -> PathMap; raises ClusterError."""
    local, sep, remote = text.partition("=")
    if not sep or not local or not remote:
        raise ClusterError(_("--path-map takes LOCAL=REMOTE, got {text}").format(text=repr(text)))
    if not os.path.isabs(remote) and "://" not in remote:
        raise ClusterError(
            _("--path-map: the workers' path must be absolute, got {path}").format(
                path=repr(remote)
            )
        )
    return PathMap(_clean(os.path.abspath(local)), _clean(remote))


def _clean(path: str) -> str:
    return path.rstrip("/\\") or path[:1]


def _swap(path: str | None, pairs: Sequence[tuple[str, str]]) -> str | None:
    """path with the longest matching prefix of pairs (from, to) replaced, whole folder names
    only."""
    if not path:
        return path
    best: tuple[str, str] | None = None
    for old, new in pairs:
        if (path == old or path.startswith(old.rstrip("/\\") + os.sep)) and (
            best is None or len(old) > len(best[0])
        ):
            best = (old, new)
    if best is None:
        return path
    old, new = best
    rest = path[len(old) :].lstrip("/\\")
    return f"{new.rstrip('/')}/{rest.replace(os.sep, '/')}" if rest else new


@dataclass(frozen=True)
class ClusterSpec:
    """A Dask scheduler's address and the path maps from the client's folders to the
    workers'. lost_after: seconds without the scheduler before the batch's remaining files
    fail (None: LOST_AFTER)."""

    address: str
    path_maps: tuple[PathMap, ...] = ()
    lost_after: float | None = None

    def to_remote(self, path: str) -> str:
        return _swap(path, [(m.local, m.remote) for m in self.path_maps]) or path

    def to_local(self, path: str | None) -> str | None:
        return _swap(path, [(m.remote, m.local) for m in self.path_maps])

    def remote_job(self, job: Job) -> Job:
        """The job as the workers must see it."""
        if not self.path_maps:
            return job
        return dataclasses.replace(
            job, source=self.to_remote(job.source), target=self.to_remote(job.target)
        )


@dataclass
class CheckResult:
    """The pre-flight check of a cluster: ok, one message for the user, and per worker
    address what is wrong there (empty when nothing is)."""

    ok: bool
    message: str
    workers: dict[str, list[str]] = field(default_factory=dict)


def _minimal(folders: Iterable[str]) -> list[str]:
    """The folders without those inside another one of them."""
    out: list[str] = []
    for folder in sorted({os.path.abspath(f) for f in folders}):
        if not any(folder == o or folder.startswith(o.rstrip(os.sep) + os.sep) for o in out):
            out.append(folder)
    return out


def batch_folders(jobs: Iterable[Job]) -> tuple[list[str], list[str]]:
    """The input and output folders a batch's jobs use (client paths, outermost only)."""
    inputs, outputs = set(), set()
    for job in jobs:
        if job.action == "convert":
            inputs.add(os.path.dirname(job.source))
            outputs.add(os.path.dirname(job.target))
    return _minimal(inputs), _minimal(outputs)


def connect(address: str, timeout: float = CONNECT_TIMEOUT) -> Any:
    """A distributed.Client on address; raises ClusterError with a clear reason."""
    try:
        from distributed import Client
    except ImportError:
        raise ClusterError(
            _("Dask is not installed: pip install 'pixmill[cluster]' to run on a cluster")
        ) from None
    try:
        return Client(address, timeout=timeout, set_as_default=False)
    except (OSError, TimeoutError) as exc:
        raise ClusterError(
            _("cannot reach the Dask scheduler at {address}: {error}").format(
                address=address, error=exc or type(exc).__name__
            )
        ) from None
    except Exception as exc:  # noqa: BLE001 - a bad address raises ValueError, and others
        raise ClusterError(
            _("cannot use the Dask scheduler at {address}: {error}").format(
                address=address, error=exc
            )
        ) from None


def run_check(
    client: Any,
    spec: ClusterSpec,
    inputs: Sequence[str] = (),
    outputs: Sequence[str] = (),
) -> CheckResult:
    """Run the pre-flight check on every worker of a connected client. inputs and outputs
    are client paths; the workers check them through the path maps."""
    from . import cluster_worker

    expect = cluster_worker.expected_versions()
    remote_in = [spec.to_remote(p) for p in inputs]
    remote_out = [spec.to_remote(p) for p in outputs]
    try:
        answers = client.run(cluster_worker.check_worker, expect, remote_in, remote_out)
    except Exception as exc:  # noqa: BLE001 - a worker that cannot even load Pixmill
        return CheckResult(
            False, _("the check could not run on the workers: {error}").format(error=_why(exc))
        )
    if not answers:
        return CheckResult(
            False, _("the Dask scheduler at {address} has no workers").format(address=spec.address)
        )
    workers = {addr: list(a.get("problems", [])) for addr, a in answers.items()}
    bad = {a: p for a, p in workers.items() if p}
    n = len(workers)
    if not bad:
        return CheckResult(
            True,
            ngettext("{count} worker ready", "{count} workers ready", n).format(count=n),
            workers,
        )
    addr, problems = next(iter(sorted(bad.items())))
    said = _("; ").join(problems)
    if n > 1 and len(bad) == n and all(p == problems for p in bad.values()):
        return CheckResult(
            False, _("on all {count} workers: {problems}").format(count=n, problems=said), workers
        )
    if len(bad) > 1:
        others = len(bad) - 1
        line = ngettext(
            "worker {address}: {problems} (and {count} more workers with problems)",
            "worker {address}: {problems} (and {count} more workers with problems)",
            others,
        ).format(address=addr, problems=said, count=others)
    else:
        line = _("worker {address}: {problems}").format(address=addr, problems=said)
    return CheckResult(False, line, workers)


def check(
    address: str,
    path_maps: Sequence[PathMap] = (),
    inputs: Sequence[str] = (),
    outputs: Sequence[str] = (),
    timeout: float = CONNECT_TIMEOUT,
) -> CheckResult:
    """Connect to the scheduler at address and run the pre-flight check on every worker:
    the window's "Test connection". Never raises; blocks up to a few seconds (call it off
    the GUI thread)."""
    spec = ClusterSpec(address, tuple(path_maps))
    try:
        client = connect(address, timeout)
    except ClusterError as exc:
        return CheckResult(False, str(exc))
    try:
        return run_check(client, spec, inputs, outputs)
    finally:
        try:
            client.close()
        except Exception:  # noqa: BLE001
            pass


def _why(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
