"""A real Dask cluster on loopback for the cluster tests: a scheduler and two worker processes
(one thread each, each under its nanny, which starts a fresh worker when one dies), shared by
the tests of a session; helpers to set the fault hook on the workers and to wait for them."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import distributed
import pytest

from pixmill.engine.cluster import ClusterSpec
from pixmill.engine.runner import BatchRunner
from tests.conftest import make_image

WORKERS = 2


def _set_env(name: str, value: str) -> None:
    if value:
        os.environ[name] = value
    else:
        os.environ.pop(name, None)


class Cluster:
    """The loopback cluster: its address and a client for the tests' own look-ups."""

    def __init__(self) -> None:
        self._start()

    def _start(self) -> None:
        self.local = distributed.LocalCluster(
            n_workers=WORKERS,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            host="127.0.0.1",
        )
        self.address: str = self.local.scheduler_address
        self.client = distributed.Client(self.address, set_as_default=False)

    def ready(self, timeout: float = 30.0) -> None:
        """Wait until both workers are up (after a test killed one) and clear the faults.

        A nanny restarting a killed worker on this two-core machine, while the previous
        test's processes are still exiting, has once taken longer than the wait (CI: "Only
        1/2 workers arrived after 30.0"). That is the loopback cluster's start-up, not what
        the tests look at: when it happens the cluster is replaced by a fresh one, once."""
        try:
            self._wait(timeout)
        except (TimeoutError, AssertionError):
            self.close()
            self._start()
            self._wait(timeout)
        self.faults("")

    def _wait(self, timeout: float) -> None:
        self.client.wait_for_workers(WORKERS, timeout=timeout)
        deadline = time.monotonic() + timeout
        while len(self.client.scheduler_info(n_workers=-1)["workers"]) != WORKERS:
            assert time.monotonic() < deadline, "a dead worker never left the cluster"
            time.sleep(0.1)

    def faults(self, spec: str) -> None:
        """PIXMILL_FAULTS on the workers, and on their nannies for the workers they restart."""
        self.client.run(_set_env, "PIXMILL_FAULTS", spec)
        self.client.run(_set_env, "PIXMILL_FAULTS", spec, nanny=True)

    def worker_pids(self) -> dict[str, int]:
        return self.client.run(os.getpid)

    def close(self) -> None:
        self.client.close()
        self.local.close()


@pytest.fixture(scope="package")
def cluster_session() -> Iterator[Cluster]:
    """Up for the tests of this folder only: the tests after them count this process's
    children (tests/engine/test_runner.py), so the cluster's processes must be gone."""
    from tests.conftest import child_pids

    before = child_pids()
    c = Cluster()
    yield c
    c.close()
    deadline = time.monotonic() + 20
    while child_pids() - before and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not child_pids() - before, "the cluster's processes outlived it"


@pytest.fixture
def cluster(cluster_session: Cluster) -> Iterator[Cluster]:
    cluster_session.ready()
    yield cluster_session
    cluster_session.faults("")


@pytest.fixture
def cluster_runner(cluster: Cluster) -> Iterator[BatchRunner]:
    r = BatchRunner(cluster=ClusterSpec(cluster.address), time_limit=60.0)
    yield r
    r.shutdown()


def small_batch(folder: Path, n: int = 12, slow: int = 0, crash: int = 0) -> Path:
    """n small photos (JPEG and PNG, one in a subfolder), plus files marked for the slow
    and crash faults ("@slow@", "@crash@" in their names)."""
    for i in range(n):
        ext = ".png" if i % 3 == 0 else ".jpg"
        sub = "sub/" if i % 5 == 4 else ""
        make_image(folder / f"{sub}img{i:02d}{ext}", (120 + 8 * i, 90 + 4 * i), seed=i)
    for i in range(slow):
        make_image(folder / f"@slow@{i:02d}.jpg", (200, 150), seed=50 + i)
    for i in range(crash):
        make_image(folder / f"@crash@{i:02d}.jpg", (200, 150), seed=80 + i)
    return folder


def temp_files(root: Path) -> list[Path]:
    return [p for p in root.rglob(".pixmill-*") if p.is_file()]
