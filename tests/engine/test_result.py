"""pixmill.engine.result: the per-file result record every worker and the runner make."""

from __future__ import annotations

import pickle

import pytest

from pixmill.engine.job import Job
from pixmill.engine.recipe import Recipe
from pixmill.engine.result import FILE_FIELDS, STATUSES, job_result, make_result

pytestmark = pytest.mark.timeout(10)


def test_statuses_and_report_columns():
    assert STATUSES == ("ok", "skipped", "failed", "cancelled")
    assert FILE_FIELDS[:3] == ("source", "target", "status")
    assert len(set(FILE_FIELDS)) == len(FILE_FIELDS) and "traceback" not in FILE_FIELDS


def test_a_new_result_holds_every_report_field_and_no_output_yet():
    r = make_result(3, "/in/a.jpg", "failed", "cannot decode", "/out/a.webp", 1234, "Traceback")
    assert set(r) == {"index", "traceback", *FILE_FIELDS}
    assert r == {
        "index": 3,
        "source": "/in/a.jpg",
        "target": "/out/a.webp",
        "status": "failed",
        "error": "cannot decode",
        "traceback": "Traceback",
        "bytes_in": 1234,
        "bytes_out": None,
        "width": None,
        "height": None,
        "ms": 0.0,
        "warnings": [],
        "format": None,
        "quality": None,
        "score": None,
        "kept_original": False,
    }
    assert pickle.loads(pickle.dumps(r)) == r  # crosses the process boundary as it is


def test_job_result_takes_index_source_and_size_from_the_job():
    job = Job(7, "/in/b.png", "/out/b.webp", "webp", Recipe(), size=999)
    r = job_result(job, "skipped", "target exists")
    assert (r["index"], r["source"], r["bytes_in"]) == (7, "/in/b.png", 999)
    assert (r["status"], r["error"], r["target"], r["traceback"]) == (
        "skipped",
        "target exists",
        None,
        None,
    )
    assert job_result(job, "cancelled", target=job.target)["target"] == "/out/b.webp"
