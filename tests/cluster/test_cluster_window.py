"""The window on a cluster: Preferences keeps the scheduler's address and path maps, "Test
connection" runs the engine's check on a background thread, and Start runs the batch on the
cluster's workers (then the runner comes back to this computer for previews)."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QSettings

from pixmill.engine.runner import BatchRunner
from pixmill.gui.preferences import PreferencesDialog
from pixmill.gui.settings import Preferences, WindowSettings

from .conftest import small_batch

pytestmark = pytest.mark.timeout(120)


def test_preferences_keep_the_cluster_and_test_the_connection(qtbot, tmp_path, cluster):
    dialog = PreferencesDialog(Preferences())
    qtbot.addWidget(dialog)
    assert not dialog.cluster.button.isEnabled()  # nothing to test without an address
    dialog.cluster.address.setText(cluster.address)
    dialog.cluster.maps.setPlainText(f"{tmp_path}={tmp_path}\n\n")
    chosen = dialog.preferences()
    assert chosen.cluster_address == cluster.address
    assert chosen.cluster_path_maps == (f"{tmp_path}={tmp_path}",)
    dialog.cluster.button.click()
    label = dialog.cluster.result
    qtbot.waitUntil(lambda: label.text()[:1] in ("✓", "✗"), timeout=60000)
    assert label.text().startswith("✓"), label.text()

    store = WindowSettings(QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
    store.set_preferences(chosen)
    again = store.preferences()
    assert (again.cluster_address, again.cluster_path_maps) == (
        cluster.address,
        chosen.cluster_path_maps,
    )
    assert again.cluster().address == cluster.address


def test_start_runs_the_batch_on_the_cluster(qtbot, tmp_path, cluster):
    """A file that crashes its worker tells where it ran: a cluster worker "left the
    cluster" (this process's own pool has no fault set)."""
    from pixmill.gui.main_window import MainWindow

    src = small_batch(tmp_path / "in", n=4, crash=1)
    out = tmp_path / "out"
    cluster.faults("crash:@crash@")
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    WindowSettings(settings).set_preferences(Preferences(cluster_address=cluster.address))
    runner = BatchRunner(workers=1)
    window = MainWindow(
        runner=runner, settings=settings, presets_dir=tmp_path / "presets", warm_pool=False
    )
    window.confirm_quit = lambda: True
    qtbot.addWidget(window)
    try:
        window.output.set_output(str(out), False)
        window.add_paths([src])
        qtbot.waitUntil(lambda: not window.sources.is_scanning(), timeout=10000)
        with qtbot.waitSignal(window.batchFinished, timeout=90000) as finished:
            assert window.start()
        report = finished.args[0]
        by_name = {Path(f["source"]).name: f for f in report.files}
        crashed = by_name.pop("@crash@00.jpg")
        assert crashed["status"] == "failed" and "left the cluster" in crashed["error"]
        assert {f["status"] for f in by_name.values()} == {"ok"} and len(by_name) == 4
        qtbot.waitUntil(lambda: runner.cluster is None, timeout=10000)  # home for previews
    finally:
        window.sources.cancel_scans()
        runner.shutdown()
