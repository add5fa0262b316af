"""pixmill.engine.report: the batch Report (summary, exit code, JSON and CSV export) and the
summary wording the CLI and the window share."""

from __future__ import annotations

import csv
import json

import pytest

from pixmill.engine import report as report_module
from pixmill.engine.report import (
    Report,
    elapsed_text,
    human_bytes,
    human_duration,
    summary_text,
)
from pixmill.engine.result import FILE_FIELDS, make_result

pytestmark = pytest.mark.timeout(10)


def result(i: int, status: str, bytes_in: int = 0, bytes_out: int | None = None, **more):
    r = make_result(i, f"/in/{i}.jpg", status, target=f"/out/{i}.webp", bytes_in=bytes_in)
    r.update(bytes_out=bytes_out, **more)
    return r


@pytest.fixture
def report() -> Report:
    return Report(
        files=[
            result(1, "ok", 1000, 400, width=10, height=20, ms=12.5),
            result(2, "ok", 500, 700, width=3, height=4, ms=1.0),
            result(3, "skipped", 800),
            result(4, "failed", 300, error="cannot decode", traceback="Traceback: boom"),
            result(5, "cancelled", 200),
        ],
        seconds=1.23456,
    )


def test_summary_counts_every_status_and_only_ok_files_bytes(report):
    assert report.summary == {
        "total": 5,
        "ok": 2,
        "skipped": 1,
        "failed": 1,
        "cancelled": 1,
        "seconds": 1.235,
        "bytes_in": 1500,
        "bytes_out": 1100,
    }
    assert report.count("ok") == 2 and report.count("failed") == 1


def test_a_kept_summary_is_the_same_and_is_not_worked_out_again(report):
    walked = report.summary
    assert report.keep_summary() == walked
    report.files.append(dict(report.files[0]))  # a finished report does not change: kept
    assert report.summary == walked
    report.summary["total"] = -1  # a copy each time
    assert report.summary == walked


def test_an_empty_report_sums_to_zero():
    assert Report().summary == {
        "total": 0,
        "ok": 0,
        "skipped": 0,
        "failed": 0,
        "cancelled": 0,
        "seconds": 0.0,
        "bytes_in": 0,
        "bytes_out": 0,
    }
    assert Report().exit_code == 0


def test_exit_code_is_0_1_or_130():
    assert Report([result(1, "ok", 1, 1), result(2, "skipped")]).exit_code == 0
    assert Report([result(1, "ok", 1, 1), result(2, "failed")]).exit_code == 1
    assert Report([result(1, "failed"), result(2, "cancelled")], cancelled=True).exit_code == 130
    assert Report([result(1, "ok", 1, 1)], cancelled=True).exit_code == 130


def test_to_dict_has_every_file_field_plus_the_traceback(report):
    data = report.to_dict()
    assert data["summary"] == report.summary
    assert [list(f) for f in data["files"]] == [[*FILE_FIELDS, "traceback"]] * 5
    assert "index" not in data["files"][0]
    assert data["files"][3]["traceback"] == "Traceback: boom"
    assert data["files"][3]["error"] == "cannot decode"


def test_json_report_holds_the_summary_and_every_file(report, tmp_path):
    path = tmp_path / "r.json"
    report.write_json(path)
    assert json.loads(path.read_text(encoding="utf-8")) == report.to_dict()
    assert path.read_text(encoding="utf-8").endswith("}\n")


def test_csv_report_has_the_file_fields_as_header_and_one_row_per_file(report, tmp_path):
    path = tmp_path / "r.csv"
    report.write_csv(path)
    with path.open(newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    assert rows[0] == list(FILE_FIELDS)
    assert len(rows) == 6
    first = dict(zip(rows[0], rows[1], strict=True))
    assert first == {
        "source": "/in/1.jpg",
        "target": "/out/1.webp",
        "status": "ok",
        "error": "",
        "bytes_in": "1000",
        "bytes_out": "400",
        "width": "10",
        "height": "20",
        "ms": "12.5",
        "warnings": "",
        "format": "",
        "quality": "",
        "score": "",
        "kept_original": "False",
    }
    assert "Traceback" not in path.read_text(encoding="utf-8")


def test_csv_report_has_a_files_warnings_in_one_cell_a_line_each(tmp_path):
    r = result(1, "ok")
    r["warnings"] = ["TIFFReadDirectory: unknown field", "UserWarning: odd, chunk"]
    path = tmp_path / "r.csv"
    Report(files=[r]).write_csv(path)
    with path.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert rows[0]["warnings"].splitlines() == r["warnings"]


def test_json_report_lists_warnings_for_every_file(tmp_path):
    old = result(1, "ok")
    del old["warnings"]  # a result made before the field existed
    said = result(2, "failed", error="bad")
    said["warnings"] = ["libjpeg: premature end"]
    path = tmp_path / "r.json"
    Report(files=[old, said]).write_json(path)
    files = json.loads(path.read_text(encoding="utf-8"))["files"]
    assert [f["warnings"] for f in files] == [[], ["libjpeg: premature end"]]


def test_csv_quotes_commas_and_newlines_in_paths_and_errors(tmp_path):
    r = result(1, "failed", error='bad, "very"\nbad')
    r["source"] = "/in/a, b.jpg"
    path = tmp_path / "r.csv"
    Report([r]).write_csv(path)
    with path.open(newline="", encoding="utf-8") as f:
        row = list(csv.DictReader(f))[0]
    assert row["source"] == "/in/a, b.jpg" and row["error"] == 'bad, "very"\nbad'


@pytest.mark.parametrize("name, kind", [("r.csv", "csv"), ("R.CSV", "csv"), ("r.json", "json")])
def test_save_picks_the_format_by_extension(report, tmp_path, name, kind):
    path = tmp_path / name
    report.save(path)
    text = path.read_text(encoding="utf-8")
    if kind == "csv":
        assert text.splitlines()[0] == ",".join(FILE_FIELDS)
    else:
        assert json.loads(text)["summary"]["total"] == 5


def test_save_writes_json_for_any_other_extension(report, tmp_path):
    report.save(tmp_path / "report.txt")
    assert json.loads((tmp_path / "report.txt").read_text())["summary"]["ok"] == 2


def test_a_rewrite_replaces_the_old_report_and_leaves_no_temporary_file(report, tmp_path):
    path = tmp_path / "r.json"
    path.write_text("old report " * 1000)
    report.save(path)
    assert json.loads(path.read_text())["summary"]["total"] == 5
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.json"]


def _disk_full_halfway(monkeypatch) -> None:
    """The report's writes fail with ENOSPC after half of what was written reached the file."""
    real = report_module._write_parts

    def disk_full(path, parts):
        text = "".join(parts)
        real(path, [text[: len(text) // 2]])
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(report_module, "_write_parts", disk_full)


@pytest.mark.parametrize("name", ["r.json", "r.csv"])
def test_a_failed_write_leaves_the_previous_report_whole(report, tmp_path, monkeypatch, name):
    path = tmp_path / name
    path.write_text("previous")
    _disk_full_halfway(monkeypatch)
    with pytest.raises(OSError, match="No space"):
        report.save(path)
    monkeypatch.undo()
    assert path.read_text() == "previous"
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]  # no part file left


@pytest.mark.parametrize("name", ["r.json", "r.csv"])
def test_a_failed_first_write_leaves_nothing_under_the_final_name(
    report, tmp_path, monkeypatch, name
):
    _disk_full_halfway(monkeypatch)
    with pytest.raises(OSError):
        report.save(tmp_path / name)
    monkeypatch.undo()
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "n, text",
    [
        (0, "0 B"),
        (999, "999 B"),
        (1000, "1.0 KB"),
        (1500, "1.5 KB"),
        (5 * 1000**2, "5.0 MB"),
        (3 * 1000**3, "3.0 GB"),
        (2048 * 1000**3, "2048.0 GB"),
    ],
)
def test_human_bytes(n, text):
    assert human_bytes(n) == text


@pytest.mark.parametrize(
    "seconds, text",
    [
        (-3, "0 s"),
        (0, "0 s"),
        (4.4, "4 s"),
        (59.4, "59 s"),
        (59.6, "1 m 00 s"),
        (125, "2 m 05 s"),
        (3600, "1 h 00 m"),
        (3725, "1 h 02 m"),
        (90061, "25 h 01 m"),
    ],
)
def test_human_duration(seconds, text):
    assert human_duration(seconds) == text


@pytest.mark.parametrize(
    "seconds, text", [(0, "0.0 s"), (0.24, "0.2 s"), (12.34, "12.3 s"), (61, "1 m 01 s")]
)
def test_elapsed_text_shows_tenths_below_a_minute(seconds, text):
    assert elapsed_text(seconds) == text


def summary(ok=0, skipped=0, failed=0, cancelled=0, bytes_in=0, bytes_out=0, seconds=0.2):
    return {
        "total": ok + skipped + failed + cancelled,
        "ok": ok,
        "skipped": skipped,
        "failed": failed,
        "cancelled": cancelled,
        "seconds": seconds,
        "bytes_in": bytes_in,
        "bytes_out": bytes_out,
    }


def test_summary_text_for_the_window_and_for_a_terminal():
    s = summary(ok=1234, skipped=2, failed=1, bytes_in=3 * 1000**2, bytes_out=1000**2)
    assert summary_text(s) == (
        "1,234 converted · 2 skipped · 1 failed · saved 2.0 MB (3.0 MB → 1.0 MB) · in 0.2 s"
    )
    plain = summary_text(s, plain=True)
    assert plain == (
        "1,234 converted, 2 skipped, 1 failed, saved 2.0 MB (3.0 MB -> 1.0 MB), in 0.2 s"
    )
    assert plain.isascii()


def test_summary_text_says_grew_by_when_outputs_are_larger():
    s = summary(ok=2, bytes_in=999, bytes_out=3000, seconds=75)
    assert summary_text(s, plain=True) == (
        "2 converted, 0 skipped, 0 failed, grew by 2.0 KB (999 B -> 3.0 KB), in 1 m 15 s"
    )


def test_summary_text_names_cancelled_files_and_a_cancelled_batch():
    s = summary(ok=1, cancelled=4, bytes_in=10, bytes_out=10)
    text = summary_text(s, cancelled=True, plain=True)
    assert text == (
        "Cancelled: 1 converted, 0 skipped, 0 failed, 4 cancelled, saved 0 B (10 B -> 10 B), "
        "in 0.2 s"
    )
    assert not summary_text(s).startswith("Cancelled")


def test_summary_text_leaves_out_bytes_when_nothing_was_converted():
    assert summary_text(summary(skipped=3, bytes_in=100)) == (
        "0 converted · 3 skipped · 0 failed · in 0.2 s"
    )
    assert "saved" not in summary_text(summary(ok=2, bytes_in=0, bytes_out=0))


def test_summary_text_reads_a_real_reports_summary(report):
    assert summary_text(report.summary, plain=True) == (
        "2 converted, 1 skipped, 1 failed, 1 cancelled, saved 400 B (1.5 KB -> 1.1 KB), in 1.2 s"
    )
