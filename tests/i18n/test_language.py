"""Choosing the language: from the environment as GNU gettext does, overridden by
set_language() (PIXMILL_LANGUAGE, which spawned workers inherit), English when nothing is
asked for or no catalogue fits; and real conversions, in fresh processes, that say their
per-file errors and summary in Chinese (or, untouched, in English)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from pixmill.engine import i18n

from .conftest import ROOT

_LANGUAGE_VARS = ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG", i18n.LANGUAGE_VARIABLE)
_HAN = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture
def language(monkeypatch, compiled_locale):
    """The engine's language chosen afresh from a clean environment for this test, and
    forgotten after it (the next user loads it again from the real environment)."""
    for name in _LANGUAGE_VARS:
        # Set first so that teardown restores each one as it was, even one set_language()
        # wrote during the test (a bare delenv of a missing variable records nothing).
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)
    monkeypatch.setenv(i18n.LOCALE_DIR_VARIABLE, str(compiled_locale))
    i18n._current = None
    yield monkeypatch
    i18n._current = None


@pytest.mark.timeout(30)
def test_english_without_any_language_set(language):
    assert i18n._("file is empty") == "file is empty"
    assert i18n.current_language() == "en"


@pytest.mark.timeout(30)
@pytest.mark.parametrize(
    ("variables", "expected"),
    [
        ({"LANG": "zh_CN.UTF-8"}, "文件为空"),
        ({"LC_MESSAGES": "zh_CN.UTF-8", "LANG": "en_US.UTF-8"}, "文件为空"),
        ({"LC_ALL": "zh_CN.UTF-8", "LC_MESSAGES": "en_US.UTF-8"}, "文件为空"),
        ({"LANGUAGE": "zh_CN", "LC_ALL": "en_US.UTF-8"}, "文件为空"),
        ({"LANGUAGE": "zh_CN", "LANG": "C.UTF-8"}, "文件为空"),  # a bare terminal
        ({"LANGUAGE": "fr:zh_CN"}, "文件为空"),  # no French yet: the next preference
        ({"LANGUAGE": "en:zh_CN"}, "file is empty"),  # English first: the source
        ({"LANGUAGE": "fr"}, "file is empty"),  # no catalogue: English, no error
        ({"LANG": "de_DE.UTF-8"}, "file is empty"),
        ({"LANG": "C"}, "file is empty"),
    ],
)
def test_the_environment_chooses_like_gettext(language, variables, expected):
    for name, value in variables.items():
        language.setenv(name, value)
    assert i18n._("file is empty") == expected


@pytest.mark.timeout(30)
def test_a_language_falls_back_to_its_base_catalogue(language, tmp_path, compiled_locale):
    # Only a "zh" catalogue: zh_CN and zh_TW users get it.
    zh = tmp_path / "zh" / "LC_MESSAGES"
    zh.mkdir(parents=True)
    mo = compiled_locale / "zh_CN" / "LC_MESSAGES" / f"{i18n.DOMAIN}.mo"
    (zh / mo.name).write_bytes(mo.read_bytes())
    language.setenv(i18n.LOCALE_DIR_VARIABLE, str(tmp_path))
    language.setenv("LANG", "zh_TW.UTF-8")
    assert i18n._("file is empty") == "文件为空"


@pytest.mark.timeout(30)
def test_a_broken_catalogue_means_english(language, tmp_path):
    broken = tmp_path / "zh_CN" / "LC_MESSAGES"
    broken.mkdir(parents=True)
    (broken / f"{i18n.DOMAIN}.mo").write_bytes(b"not a catalogue")
    language.setenv(i18n.LOCALE_DIR_VARIABLE, str(tmp_path))
    language.setenv("LANGUAGE", "zh_CN")
    assert i18n._("file is empty") == "file is empty"


@pytest.mark.timeout(30)
def test_set_language_overrides_the_environment_and_is_inherited(language):
    language.setenv("LANGUAGE", "zh_CN")
    assert i18n._("cancelled") == "已取消"
    i18n.set_language("en")
    assert os.environ[i18n.LANGUAGE_VARIABLE] == "en"
    assert i18n._("cancelled") == "cancelled"
    assert i18n.current_language() == "en"
    i18n.set_language(None)  # back to the system's choice
    assert i18n.LANGUAGE_VARIABLE not in os.environ
    assert i18n._("cancelled") == "已取消"
    assert i18n.current_language() == "zh_CN"


@pytest.mark.timeout(30)
def test_plural_forms_and_lazy_marks(language):
    from pixmill.engine.codecs import UNREADABLE
    from pixmill.engine.report import summary_text

    summary = {"ok": 1, "skipped": 0, "failed": 2, "bytes_in": 0, "bytes_out": 0, "seconds": 3}
    assert summary_text(summary) == "1 converted · 0 skipped · 2 failed · in 3.0 s"
    assert i18n._(UNREADABLE[".svg"]) == "SVG vector images are not supported"
    i18n.set_language("zh_CN")
    assert summary_text(summary) == "已转换 1 个 · 跳过 0 个 · 失败 2 个 · 用时 3.0 秒"
    assert i18n._(UNREADABLE[".svg"]) == "不支持 SVG 矢量图像"
    assert UNREADABLE[".svg"] == "SVG vector images are not supported"  # the mark stays


@pytest.mark.timeout(30)
def test_available_languages_lists_the_compiled_catalogues(language):
    assert i18n.available_languages() == [("en", "English"), ("zh_CN", "简体中文")]


# --- real conversions in fresh processes ---------------------------------------------------


def _inputs(folder: Path) -> Path:
    """A folder with one good photo, one truncated JPEG and one PNG of random bytes."""
    folder.mkdir()
    Image.new("RGB", (64, 48), (200, 40, 40)).save(folder / "good.jpg", quality=90)
    whole = folder / "whole.jpg"
    Image.effect_noise((256, 256), 64).convert("RGB").save(whole, quality=95)
    (folder / "cut.jpg").write_bytes(whole.read_bytes()[:2000])
    whole.unlink()
    (folder / "noise.png").write_bytes(os.urandom(3000))
    return folder


def _env(tmp_path: Path, locale: Path, **language: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _LANGUAGE_VARS}
    env.update(language)
    env[i18n.LOCALE_DIR_VARIABLE] = str(locale)
    env["XDG_DATA_HOME"] = str(tmp_path / "data")  # the batch journal, away from the user's
    return env


_CONVERT_ONE = """
import json, sys
from pixmill.engine.convert import convert_one
from pixmill.engine.plan import plan
from pixmill.engine.recipe import Recipe
jobs = plan([sys.argv[1]], Recipe(format="png"), sys.argv[2]).jobs
print(json.dumps({j.source.rsplit("/", 1)[1]: convert_one(j)["error"] for j in jobs}))
"""


def _convert_one_each(tmp_path: Path, env: dict[str, str]) -> dict[str, str | None]:
    done = subprocess.run(
        [sys.executable, "-c", _CONVERT_ONE, str(_inputs(tmp_path / "in")), str(tmp_path / "out")],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.mark.timeout(180)
def test_a_corrupt_file_fails_in_chinese_with_language_zh_cn(tmp_path, compiled_locale):
    errors = _convert_one_each(tmp_path, _env(tmp_path, compiled_locale, LANGUAGE="zh_CN"))
    assert errors["good.jpg"] is None
    assert errors["noise.png"] == "不是图像，或是 Pixmill 无法读取的格式"
    assert _HAN.search(errors["cut.jpg"]), errors["cut.jpg"]


@pytest.mark.timeout(180)
def test_a_corrupt_file_fails_in_english_without_a_language(tmp_path, compiled_locale):
    errors = _convert_one_each(tmp_path, _env(tmp_path, compiled_locale, LANG="C.UTF-8"))
    assert errors["good.jpg"] is None
    assert errors["noise.png"] == "not an image, or a format Pixmill cannot read"
    assert not _HAN.search(errors["cut.jpg"]), errors["cut.jpg"]


_BATCH = """
import json, sys
from pixmill.engine import i18n
from pixmill.engine.plan import plan
from pixmill.engine.recipe import Recipe
from pixmill.engine.report import summary_text
from pixmill.engine.runner import BatchRunner

if __name__ == "__main__":
    i18n.set_language(sys.argv[3])  # as the window's Preferences will, before the pool starts
    jobs = plan([sys.argv[1]], Recipe(format="png"), sys.argv[2]).jobs
    runner = BatchRunner(workers=1)
    try:
        report = runner.run(jobs)
    finally:
        runner.shutdown()
    errors = {f["source"].rsplit("/", 1)[1]: f["error"] for f in report.files}
    print(json.dumps({"errors": errors, "summary": summary_text(report.summary)}))
"""


@pytest.mark.timeout(240)
@pytest.mark.parametrize(
    ("system", "chosen", "noise", "converted"),
    [
        ("C.UTF-8", "zh_CN", "不是图像，或是 Pixmill 无法读取的格式", "已转换 1 个"),
        ("zh_CN.UTF-8", "en", "not an image, or a format Pixmill cannot read", "1 converted"),
    ],
    ids=["chinese-chosen-on-an-english-system", "english-chosen-on-a-chinese-system"],
)
def test_spawned_workers_speak_the_chosen_language(
    tmp_path, compiled_locale, system, chosen, noise, converted
):
    script = tmp_path / "batch.py"
    script.write_text(_BATCH, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, str(script), str(_inputs(tmp_path / "in")), str(tmp_path / "out"), chosen],
        env=_env(tmp_path, compiled_locale, LANG=system),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=200,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["errors"]["noise.png"] == noise  # made in a spawned worker
    assert result["errors"]["good.jpg"] is None
    assert result["summary"].startswith(converted)


@pytest.mark.timeout(240)
def test_the_cli_says_its_summary_in_chinese(tmp_path, compiled_locale):
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pixmill",
            "convert",
            str(_inputs(tmp_path / "in")),
            "-o",
            str(tmp_path / "out"),
            "--format",
            "png",
            "--workers",
            "1",
        ],
        env=_env(tmp_path, compiled_locale, LANGUAGE="zh_CN"),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=200,
    )
    assert done.returncode == 1, done.stderr  # two files failed
    assert "已转换 1 个, 跳过 0 个, 失败 2 个" in done.stderr, done.stderr
    assert "不是图像，或是 Pixmill 无法读取的格式" in done.stderr, done.stderr
