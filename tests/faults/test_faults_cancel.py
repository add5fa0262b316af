"""Cancelling at random moments: through the runner API, and with SIGINT / SIGTERM to the CLI."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap
import time

import pytest
from faultkit.batch import SIGKILL, CliRun, fresh_dir, make_batch, wait_for
from faultkit.invariants import assert_clean
from faultkit.trials import SLOW, trial_cancel, trial_cancel_early

pytestmark = pytest.mark.timeout(60)


@pytest.mark.timeout(60)
@pytest.mark.parametrize("seed", [21, 22])
def test_cancel_through_the_api_at_a_random_moment(tmp_path, seed):
    outcome = trial_cancel(random.Random(seed), str(tmp_path), mode="api")
    assert_clean(outcome.violations)
    assert outcome.recovery is not None, "cancel() came after the batch had ended"


@pytest.mark.timeout(60)
@pytest.mark.parametrize("seed", [31, 32, 33])
def test_cancel_the_cli_at_a_random_moment(tmp_path, seed):
    outcome = trial_cancel(random.Random(seed), str(tmp_path), mode="cli")
    assert_clean(outcome.violations)


@pytest.mark.timeout(60)
@pytest.mark.parametrize("sig,group", [("SIGINT", True), ("SIGTERM", False)])
def test_cli_cancel_mid_batch_reports_every_file_and_exits_130(tmp_path, sig, group):
    inp = fresh_dir(str(tmp_path / "in"))
    make_batch(inp, random.Random(1), small=6, medium=0, slow=6)
    run = CliRun(
        [inp], str(tmp_path / "out"), ["--format", "webp"], str(tmp_path / "r.json"), faults=SLOW
    ).start()
    # Mid-batch: once the first output exists (the workers have booted and are converting).
    out = tmp_path / "out"
    assert wait_for(
        lambda: out.is_dir() and any(not n.startswith(".") for n in os.listdir(out)), 20
    )
    assert run.signal(getattr(signal, sig), group=group), "the CLI had already exited"
    assert run.wait() == 130
    assert "cancelled" in run.stderr
    data = run.load_report()
    assert data is not None and data["summary"]["cancelled"] > 0
    assert_clean(run.check(cancelled=True))


@pytest.mark.timeout(60)
@pytest.mark.parametrize("seed", [41, 42])
def test_sigint_in_the_first_moments(tmp_path, seed):
    """Ctrl-C while the CLI is still importing or planning: nothing written, nothing left
    running (a KeyboardInterrupt traceback from the interpreter's own start-up is Python's)."""
    outcome = trial_cancel_early(random.Random(seed), str(tmp_path))
    assert_clean([v for v in outcome.violations if "traceback" not in v])


@pytest.mark.timeout(60)
def test_cli_killed_outright_leaves_no_worker_behind(tmp_path):
    """SIGKILL to the CLI itself (no chance to clean up): its workers must notice the dead
    parent and exit rather than linger as orphans."""
    inp = fresh_dir(str(tmp_path / "in"))
    make_batch(inp, random.Random(2), small=4, medium=0, slow=6)
    run = CliRun(
        [inp], str(tmp_path / "out"), ["--format", "png"], str(tmp_path / "r.json"), faults=SLOW
    ).start()
    assert wait_for(lambda: len(run.workers()) == 2, 15)
    assert run.signal(SIGKILL), "the CLI had already exited"
    run.wait()
    from faultkit import invariants

    who = {w for w in run.tracker.seen if w[0] != run.proc.pid}
    assert_clean(invariants.check_processes(who, timeout=10.0))


#: Import hooks that interrupt the CLI's start-up, deterministically. "import": a Ctrl-C in
#: the first ~150 ms, raised when the launcher imports pixmill.engine.cli. "class set-up": a
#: Ctrl-C that lands while a dataclass is built (engine/report.py at import), which Python
#: 3.11 hands on as "RuntimeError: Error calling __set_name__" (seen once in CI from
#: test_sigint_in_the_first_moments): a descriptor whose __set_name__ is interrupted.
_INTERRUPTING_HOOKS = {
    "import": """
        class Interrupt:
            def find_spec(self, name, path=None, target=None):
                if name == "pixmill.engine.cli":
                    raise KeyboardInterrupt
                return None
        """,
    "class set-up": """
        class Interrupted:
            def __set_name__(self, owner, name):
                raise KeyboardInterrupt

        class Interrupt:
            def find_spec(self, name, path=None, target=None):
                if name == "pixmill.engine.report":
                    type("Report", (), {"files": Interrupted()})
                return None
        """,
}


@pytest.mark.timeout(60)
@pytest.mark.parametrize("where", sorted(_INTERRUPTING_HOOKS))
def test_ctrl_c_while_the_cli_starts_exits_quietly(tmp_path, where):
    """A Ctrl-C before the CLI took over its signals: exit 130, no traceback, nothing made."""
    inp = fresh_dir(str(tmp_path / "in"))
    make_batch(inp, random.Random(3), small=2, medium=0, slow=0)
    code = textwrap.dedent(_INTERRUPTING_HOOKS[where]) + textwrap.dedent(
        """
        import sys

        sys.meta_path.insert(0, Interrupt())
        from pixmill.gui.launcher import main
        sys.exit(main(sys.argv[1:]))
        """
    )
    r = subprocess.run(
        [sys.executable, "-c", code, "convert", inp, "-o", str(tmp_path / "out")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 130, r.stderr
    assert "Traceback" not in r.stderr
    assert not os.path.exists(tmp_path / "out")


@pytest.mark.timeout(60)
def test_ctrl_c_while_workers_start_prints_no_traceback(tmp_path):
    """Ctrl-C goes to the whole foreground process group, workers included. Send it the
    moment the first worker is importing (80 ms after it exists: earlier, the signal kills
    it silently during interpreter start-up)."""
    inp = fresh_dir(str(tmp_path / "in"))
    make_batch(inp, random.Random(8), small=4, medium=0, slow=2)
    run = CliRun(
        [inp], str(tmp_path / "out"), ["--format", "png"], str(tmp_path / "r.json"), faults=SLOW
    ).start()
    assert wait_for(lambda: bool(run.workers()), 15, 0.002)
    time.sleep(0.08)
    assert run.signal(signal.SIGINT, group=True), "the CLI had already exited"
    assert run.wait() == 130
    assert "Traceback" not in run.stderr, run.stderr[-1500:]
    assert_clean(run.check(cancelled=True))
