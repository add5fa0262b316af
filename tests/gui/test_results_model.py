"""ResultsModel: batch inserts, the in-model errors-only filter, and 100,000 rows."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from pixmill.engine.result import make_result
from pixmill.gui import formatting
from pixmill.gui.results import (
    COL_DIMS,
    COL_FILE,
    COL_MESSAGE,
    COL_SIZE,
    COL_STATUS,
    COLUMNS,
    TOOLTIP_WARNINGS,
    ResultsModel,
)

pytestmark = pytest.mark.timeout(60)


def _ok(i: int) -> dict:
    r = make_result(i, f"/photos/img{i}.jpg", "ok", bytes_in=2_000_000)
    r.update(target=f"/out/img{i}.webp", bytes_out=500_000, width=1600, height=1200, ms=120.0)
    return r


def _failed(i: int) -> dict:
    return make_result(
        i, f"/photos/bad{i}.jpg", "failed", "not an image\nmore", traceback="Traceback..."
    )


def test_rows_show_name_status_sizes_dimensions_and_message(qtbot):
    model = ResultsModel()
    model.append_results([_ok(1), _failed(2)])
    text = lambda row, col: model.data(model.index(row, col))  # noqa: E731
    assert text(0, COL_FILE) == "img1.jpg"
    assert text(0, COL_STATUS) == "Converted"
    assert text(0, COL_SIZE) == "2.0 MB → 500.0 KB"
    assert text(0, COL_DIMS) == "1600 × 1200"
    assert text(0, COL_MESSAGE) == "img1.webp"
    assert text(1, COL_STATUS) == "Failed"
    assert text(1, COL_MESSAGE) == "not an image"
    assert model.data(model.index(1, COL_STATUS), Qt.ItemDataRole.DecorationRole) is not None
    assert model.data(model.index(1, COL_FILE), Qt.ItemDataRole.ToolTipRole) == "/photos/bad2.jpg"


def test_a_painted_cell_is_one_call_into_python_with_what_data_says(qtbot):
    """The table's delegate gets every role of a cell from one multiData call (each call
    from Qt into Python waits for the GIL while a batch runs), and gets what data() says."""
    from PySide6.QtWidgets import QStyledItemDelegate, QStyleOptionViewItem, QTableView

    calls = {"data": 0, "multiData": 0}

    class Counting(ResultsModel):
        def data(self, index, role=Qt.ItemDataRole.DisplayRole):
            calls["data"] += 1
            return super().data(index, role)

        def multiData(self, index, roleDataSpan):  # noqa: N803
            calls["multiData"] += 1
            return super().multiData(index, roleDataSpan)

    model = Counting()
    model.append_results([_ok(1), _failed(2)] * 10)
    view = QTableView()
    view.setModel(model)
    view.resize(900, 400)
    view.grab()  # paints every cell on screen
    assert calls["multiData"] >= 2 * len(COLUMNS)
    assert calls["data"] == 0

    for row, col in ((0, COL_SIZE), (1, COL_MESSAGE), (1, COL_STATUS)):
        index, option = model.index(row, col), QStyleOptionViewItem()
        QStyledItemDelegate().initStyleOption(option, index)
        assert option.text == model.data(index)
        assert bool(option.displayAlignment & Qt.AlignmentFlag.AlignRight) == (col == COL_SIZE)
    assert not option.icon.isNull()  # the failed file's status icon
    option = QStyleOptionViewItem()
    QStyledItemDelegate().initStyleOption(option, model.index(1, COL_MESSAGE))
    assert option.palette.text().color() == model._error_color().color()  # noqa: SLF001


def test_a_file_with_warnings_is_marked_in_its_status_column(qtbot):
    warned = _ok(2)
    warned["warnings"] = ["TIFFReadDirectory: Unknown field with tag 33723", "second"]
    many = _ok(3)
    many["warnings"] = [f"warning {i}" for i in range(TOOLTIP_WARNINGS + 3)]
    old = _ok(4)
    del old["warnings"]  # a result from before results carried warnings
    model = ResultsModel()
    model.append_results([_ok(1), warned, many, old, _failed(5)])

    def role(row: int, r: Qt.ItemDataRole):
        return model.data(model.index(row, COL_STATUS), r)

    icon = lambda row: role(row, Qt.ItemDataRole.DecorationRole).cacheKey()  # noqa: E731
    tip = lambda row: role(row, Qt.ItemDataRole.ToolTipRole)  # noqa: E731
    assert model.data(model.index(1, COL_STATUS)) == "Converted", "the word stays the same"
    assert icon(1) != icon(0) and icon(1) == icon(2)
    assert icon(3) == icon(0) and tip(0) is None and tip(3) is None and tip(4) is None
    assert tip(1) == "2 warnings:\n• TIFFReadDirectory: Unknown field with tag 33723\n• second"
    assert tip(2).count("•") == TOOLTIP_WARNINGS and tip(2).endswith(
        "and 3 more (double-click for all)"
    )
    assert role(1, Qt.ItemDataRole.AccessibleTextRole) == "img2.jpg: Converted, 2 warnings"


def test_errors_only_filter_applies_to_rows_added_later(qtbot):
    model = ResultsModel()
    model.append_results([_ok(1), _failed(2), _ok(3)])
    model.set_errors_only(True)
    assert model.rowCount() == 1
    model.append_results([_failed(4), _ok(5)])
    assert model.rowCount() == 2
    assert [model.result(r)["index"] for r in range(2)] == [2, 4]
    model.set_errors_only(False)
    assert model.rowCount() == 5
    assert model.count("failed") == 2 and model.count() == 5
    model.clear()
    assert model.rowCount() == 0 and model.count() == 0


def test_a_hundred_thousand_rows_in_batches(qtbot):
    model = ResultsModel()
    inserted: list[int] = []
    model.rowsInserted.connect(lambda parent, first, last: inserted.append(last - first + 1))
    batch = 3_000  # about what 30 Hz flushes carry at 90,000 files a second
    for start in range(0, 100_000, batch):
        model.append_results(
            [
                _failed(i) if i % 1000 == 0 else _ok(i)
                for i in range(start, min(start + batch, 100_000))
            ]
        )
    assert model.rowCount() == 100_000
    assert len(inserted) == -(-100_000 // batch), "one insertion per batch"
    assert model.data(model.index(99_999, COL_FILE)) == "img99999.jpg"
    model.set_errors_only(True)
    assert model.rowCount() == 100


def test_progress_text():
    from pixmill.engine.events import Progress

    p = Progress(30, 120, 28, 0, 2, 0, 10.0, 3.04, 0.0, 29.6)
    assert formatting.progress_text(p) == "30 / 120 · 3.0 files/s · ETA 30 s"
    paused = Progress(30, 120, 28, 0, 2, 0, 10.0, 3.0, 0.0, None, paused=True)
    assert formatting.progress_text(paused) == "Paused · 30 / 120 · 3.0 files/s · ETA —"
    assert formatting.duration(3725) == "1 h 02 m"


def test_a_running_batchs_rows_join_the_table_together_and_all_before_its_report(qtbot):
    from pixmill.engine.report import Report
    from pixmill.gui.results_panel import ROWS_EVERY_MS, ResultsPanel

    panel = ResultsPanel()
    qtbot.addWidget(panel)
    inserts = []
    panel.model.rowsInserted.connect(lambda *_: inserts.append(panel.model.rowCount()))
    for i in range(3):  # three flushes of the bridge in quick succession
        panel.queue_results([_ok(2 * i), _failed(2 * i + 1)])
    assert panel.model.rowCount() == 0, "rows wait to join the table together"
    qtbot.waitUntil(lambda: panel.model.rowCount() == 6, timeout=ROWS_EVERY_MS * 20)
    assert inserts == [6], "one insertion, one repaint of the followed tail"
    assert "3 converted" in panel.summaryLabel.text() and "3 failed" in panel.summaryLabel.text()

    panel.queue_results([_ok(6)])
    panel.show_report(Report(files=[*panel.model.all_results(), _ok(6)]), "/out")
    assert panel.model.rowCount() == 7, "the last rows are in before the report shows"
    panel.queue_results([_ok(7)])
    panel.clear()
    qtbot.wait(ROWS_EVERY_MS * 3)
    assert panel.model.rowCount() == 0, "a cleared panel drops rows still on their way"


def test_the_tables_header_shows_the_titles_without_asking_the_python_model(qtbot, monkeypatch):
    """Each call from Qt into Python takes the GIL: the header asks a model of its own."""
    from PySide6.QtCore import QModelIndex

    from pixmill.gui.results_panel import ResultsPanel

    asked = []
    original = ResultsModel.headerData
    monkeypatch.setattr(
        ResultsModel, "headerData", lambda self, *a: asked.append(a) or original(self, *a)
    )
    panel = ResultsPanel()
    qtbot.addWidget(panel)
    model, header = panel.model, panel.view.horizontalHeader()
    horizontal = Qt.Orientation.Horizontal
    titles = header.model()
    assert titles is not model and titles.columnCount() == model.columnCount(QModelIndex())
    for section in range(model.columnCount(QModelIndex())):
        for role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.TextAlignmentRole):
            assert titles.headerData(section, horizontal, role) == model.headerData(
                section, horizontal, role
            )
    assert titles.headerData(COL_SIZE, horizontal) == "Size"
    asked.clear()
    panel.add_results([_ok(1)])
    panel.resize(900, 300)
    panel.grab()  # lays the table out and paints it, header and all
    assert asked == []
    assert header.sectionSize(COL_FILE) > 0 and header.stretchLastSection()
