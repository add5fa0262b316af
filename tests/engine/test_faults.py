"""pixmill.engine.faults: parsing PIXMILL_FAULTS and the harmless fault kinds, in-process.

Crash, hang and alloc are never set off here (tests/faults runs them in real workers): the
tests below only aim them at other files, with os.kill and time.sleep guarded so a bug fails
the test instead of killing or hanging pytest."""

from __future__ import annotations

import os
import time

import pytest

from pixmill.engine.faults import KINDS, Faults

pytestmark = pytest.mark.timeout(10)


class Guarded(Exception):
    """Raised by the guards in place of a kill or a hang."""


@pytest.fixture
def guarded(monkeypatch) -> list[tuple]:
    """Record and refuse every os.kill and time.sleep the faults module attempts."""
    calls: list[tuple] = []

    def kill(pid: int, sig: int) -> None:
        calls.append(("kill", pid, sig))
        raise Guarded("kill")

    def sleep(seconds: float) -> None:
        calls.append(("sleep", seconds))
        raise Guarded("sleep")

    monkeypatch.setattr(os, "kill", kill)
    monkeypatch.setattr(time, "sleep", sleep)
    return calls


def test_the_spec_lists_kind_and_file_substring_pairs():
    f = Faults("crash:bad.jpg, slow:big ,crash-after-publish:x.png,start:any")
    assert f.faults == [
        ("crash", "bad.jpg"),
        ("slow", "big"),
        ("crash-after-publish", "x.png"),
        ("start", "any"),
    ]
    assert f


def test_a_needle_keeps_everything_after_the_first_colon():
    assert Faults(r"slow:C:\photos\a.jpg").faults == [("slow", r"C:\photos\a.jpg")]


@pytest.mark.parametrize(
    "spec", ["", " ", ",,", "explode:a.jpg", "crash", "crash:", "slow:,hang:", "CRASH:a.jpg"]
)
def test_unknown_kinds_and_empty_needles_are_ignored(spec):
    f = Faults(spec)
    assert f.faults == [] and not f


def test_ignored_items_do_not_hide_valid_ones():
    assert Faults("nope:x,slow:,hang:h.jpg,:y").faults == [("hang", "h.jpg")]


def test_every_documented_kind_is_accepted():
    assert [k for k, _ in Faults(",".join(f"{k}:n" for k in KINDS)).faults] == list(KINDS)


def test_from_env_reads_pixmill_faults():
    assert Faults.from_env({"PIXMILL_FAULTS": "slow:a"}).faults == [("slow", "a")]
    assert not Faults.from_env({})
    assert not Faults.from_env({"OTHER": "crash:a"})


def test_at_start_raises_import_error_for_start():
    with pytest.raises(ImportError, match="injected"):
        Faults("start:any").at_start()


def test_at_start_does_nothing_without_a_start_fault(guarded):
    Faults("crash:a,hang:b,alloc:c,slow:d,crash-after-publish:e").at_start()
    Faults().at_start()
    assert guarded == []


def test_after_publish_says_whether_some_file_will_crash_after_publishing():
    assert Faults("crash-after-publish:a.jpg").after_publish
    assert not Faults("crash:a.jpg,slow:b.jpg").after_publish
    assert not Faults().after_publish


def test_slow_sleeps_one_second_then_returns_for_a_matching_file(monkeypatch):
    naps: list[float] = []
    monkeypatch.setattr(time, "sleep", naps.append)
    f = Faults("slow:big")
    f.before_convert("/in/small.jpg")
    assert naps == []
    f.before_convert("/in/big-photo.jpg")
    assert naps == [1.0]


def test_faults_aimed_at_other_files_do_nothing(guarded):
    f = Faults("crash:bad,hang:stuck,alloc:huge,slow:big,crash-after-publish:late")
    f.before_convert("/in/fine.jpg")
    f.published("/in/fine.jpg")
    assert guarded == []


def test_published_ignores_files_that_only_other_kinds_aim_at(guarded):
    Faults("crash-after-publish:late,slow:bad").published("/in/bad.jpg")
    assert guarded == []


def test_no_faults_cost_nothing(guarded):
    f = Faults.from_env({})
    f.at_start()
    f.before_convert("/in/a.jpg")
    f.published("/in/a.jpg")
    assert not f.after_publish and guarded == []
