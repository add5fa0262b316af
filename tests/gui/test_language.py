"""The window's language: started with LANGUAGE=zh_CN (as a Chinese desktop starts it), its
menus, buttons, labels, group titles, combo items, tooltips and status line are Chinese, and
Qt's own strings (standard buttons) too; without a language it stays English; the language
chosen in Preferences is kept and applied at the next start, over the system's."""

from __future__ import annotations

import importlib.util
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QCoreApplication
from PySide6.QtWidgets import QApplication, QComboBox, QDialogButtonBox, QGroupBox, QLabel

from pixmill.engine import i18n
from pixmill.gui.language import apply_language, install_qt_translations
from pixmill.gui.settings import Preferences, WindowSettings

pytestmark = pytest.mark.timeout(120)

ROOT = Path(__file__).resolve().parents[2]
_HAN = re.compile(r"[\u4e00-\u9fff]")
_LANGUAGE_VARS = ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG", i18n.LANGUAGE_VARIABLE)


def _chinese(text: str) -> bool:
    return bool(_HAN.search(text))


@pytest.fixture(scope="session")
def compiled_locale(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every .po compiled into a temporary locale folder, as the build compiles them
    (packaging/catalogs.py, the same as tests/i18n/conftest.py)."""
    name = "pixmill_tools_catalogs"
    module = sys.modules.get(name)
    if module is None:
        spec = importlib.util.spec_from_file_location(name, ROOT / "packaging" / "catalogs.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    out = tmp_path_factory.mktemp("locale")
    assert module.compile_catalogs(out)
    return out


@pytest.fixture
def environment(
    monkeypatch: pytest.MonkeyPatch, compiled_locale: Path
) -> Iterator[pytest.MonkeyPatch]:
    """A clean language environment on the compiled catalogues; afterwards the engine and
    Qt forget the language (the next test starts in English again)."""
    for name in _LANGUAGE_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv(i18n.LOCALE_DIR_VARIABLE, str(compiled_locale))
    i18n._current = None
    yield monkeypatch
    i18n.set_language(None)  # drops PIXMILL_LANGUAGE if a start-up set it
    monkeypatch.undo()
    i18n._current = None
    app = QApplication.instance()
    assert app is not None
    install_qt_translations(app, i18n.SOURCE_LANGUAGE)


def _start(qapp: QApplication, settings, make_window):
    """What gui.app.main does: the language first, then the window."""
    language = apply_language(qapp, settings)
    window = make_window()
    window.show()
    return language, window


def _menu_titles(window) -> list[str]:
    return [a.text() for a in window.menuBar().actions()]


def test_the_window_speaks_chinese_with_language_zh_cn(
    qtbot, qapp, environment, settings, make_window
):
    environment.setenv("LANGUAGE", "zh_CN")
    language, window = _start(qapp, settings, make_window)
    assert language == "zh_CN"

    # menus and their commands
    titles = _menu_titles(window)
    assert titles and all(_chinese(t) for t in titles), titles
    assert "文件(&F)" in titles and "帮助(&H)" in titles
    file_menu = window.menuBar().actions()[0].menu()
    assert all(_chinese(a.text()) for a in file_menu.actions() if not a.isSeparator())
    # buttons
    assert window.runBar.startButton.text() == "开始"
    assert window.runBar.pauseButton.text() == "暂停"
    assert window.sources.addFolderButton.text() == "添加文件夹…"
    # labels
    assert window.sources.totalsLabel.text() == "队列为空。"
    labels = [w.text() for w in window.findChildren(QLabel) if w.text().strip()]
    assert any(t == "格式(&F)：" for t in labels), labels
    # group titles
    groups = [g.title() for g in window.findChildren(QGroupBox) if g.title()]
    assert groups and all(_chinese(t) for t in groups), groups
    # combo items
    fmt = window.findChild(QComboBox, "formatCombo")
    assert fmt.itemText(fmt.findData("same")) == "与源文件相同"
    target = window.findChild(QComboBox, "qualityTargetCombo")
    assert [target.itemText(i) for i in range(target.count())][:3] == [
        "固定质量",
        "高（SSIMULACRA2 80）",
        "均衡（72）",
    ]
    resize = window.findChild(QComboBox, "resizeModeCombo")
    assert all(_chinese(resize.itemText(i)) for i in range(resize.count()))
    # tooltips
    assert window.runBar.startButton.toolTip().startswith("请先添加文件夹或图像")
    assert window.commands.addFolder.toolTip() == "添加文件夹（Ctrl+O）"
    # the status line and the progress bar
    assert window.statusBar().currentMessage() == "将文件夹或图像拖放到窗口任意位置即可添加。"
    assert window.runBar.progressBar.format() == "就绪"
    # Qt's own words (standard dialog buttons, text field menus) from Qt's translations
    assert QCoreApplication.translate("QPlatformTheme", "Cancel") == "取消"


def test_the_window_stays_english_without_a_language(
    qtbot, qapp, environment, settings, make_window
):
    language, window = _start(qapp, settings, make_window)
    assert language == "en"
    assert _menu_titles(window) == ["&File", "&Batch", "&Presets", "&View", "&Help"]
    assert window.runBar.startButton.text() == "Start"
    assert window.sources.totalsLabel.text() == "Nothing queued yet."
    fmt = window.findChild(QComboBox, "formatCombo")
    assert fmt.itemText(fmt.findData("same")) == "Same as the source"
    assert window.statusBar().currentMessage().startswith("Drop folders or images")
    assert QCoreApplication.translate("QPlatformTheme", "Cancel") == "Cancel"
    labels = [w.text() for w in window.findChildren(QLabel)]
    assert not any(_chinese(t) for t in labels)


def test_the_language_chosen_in_preferences_applies_at_the_next_start(
    qtbot, qapp, environment, settings, make_window
):
    environment.setenv("LANG", "en_US.UTF-8")
    _language, window = _start(qapp, settings, make_window)
    dialog = window.ask_preferences()
    combo = dialog.findChild(QComboBox, "languageCombo")
    items = [(combo.itemText(i), combo.itemData(i)) for i in range(combo.count())]
    assert items == [("System default", ""), ("English", "en"), ("简体中文", "zh_CN")]
    notes = [w.text() for w in dialog.findChildren(QLabel)]
    assert "Applies the next time Pixmill starts." in notes
    combo.setCurrentIndex(combo.findData("zh_CN"))
    dialog.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Ok).click()
    assert window.preferences().language == "zh_CN"
    assert window.runBar.startButton.text() == "Start", "applied after a restart, not now"
    window.close()

    assert WindowSettings(settings).language() == "zh_CN"
    assert WindowSettings(settings).preferences() == Preferences(language="zh_CN")
    language, again = _start(qapp, settings, make_window)  # the next start
    assert language == "zh_CN"
    assert again.runBar.startButton.text() == "开始"
    dialog = again.ask_preferences()
    combo = dialog.findChild(QComboBox, "languageCombo")
    assert combo.currentData() == "zh_CN" and combo.itemText(0) == "系统默认"
    assert "下次启动 Pixmill 时生效。" in [w.text() for w in dialog.findChildren(QLabel)]
    dialog.reject()


def test_system_default_follows_the_environment_again(
    qtbot, qapp, environment, settings, make_window
):
    WindowSettings(settings).set_preferences(Preferences(language=""))
    environment.setenv("LANG", "zh_CN.UTF-8")
    assert apply_language(qapp, settings) == "zh_CN"
    environment.setenv("LANG", "C")
    assert apply_language(qapp, settings) == "en"
    assert QCoreApplication.translate("QPlatformTheme", "Cancel") == "Cancel"
