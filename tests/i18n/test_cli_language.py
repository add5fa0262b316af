"""The CLI in Chinese and, untouched, in English: `pixmill convert --help` (Pixmill's own
descriptions and argparse's headings), and a batch with broken files whose error lines and
summary have no English left, in fresh processes with the compiled catalogues."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import ROOT
from .test_language import _env, _inputs

_HAN = re.compile(r"[\u4e00-\u9fff]")


def _pixmill(tmp_path: Path, locale: Path, args: list[str], **language: str):
    return subprocess.run(
        [sys.executable, "-m", "pixmill", *args],
        env=_env(tmp_path, locale, **language),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=200,
    )


@pytest.mark.timeout(120)
def test_convert_help_in_chinese(tmp_path, compiled_locale):
    done = _pixmill(tmp_path, compiled_locale, ["convert", "--help"], LANGUAGE="zh_CN")
    assert done.returncode == 0, done.stderr
    text = done.stdout
    assert text.startswith("用法：pixmill convert "), text[:200]
    assert "\n选项:\n" in text  # argparse's heading
    assert "\n位置参数:\n" in text
    assert "显示此帮助信息并退出" in text
    assert "输出文件夹（必填）" in text  # -o
    assert "并行工作进程数（默认 " in text  # --workers, a formatted help
    assert "只打印计划，不写入任何文件" in text  # --dry-run
    for english in ("usage:", "options:", "output folder (required)", "show this help"):
        assert english not in text


@pytest.mark.timeout(120)
def test_convert_help_in_english_without_a_language(tmp_path, compiled_locale):
    done = _pixmill(tmp_path, compiled_locale, ["convert", "--help"], LANG="C.UTF-8")
    assert done.returncode == 0, done.stderr
    text = done.stdout
    assert text.startswith("usage: pixmill convert ")
    assert "\noptions:\n" in text
    assert "output folder (required)" in text
    assert "parallel workers (default " in text
    assert not _HAN.search(text)


@pytest.mark.timeout(120)
def test_argparse_errors_in_chinese(tmp_path, compiled_locale):
    done = _pixmill(
        tmp_path, compiled_locale, ["convert", "x", "--quality", "500"], LANGUAGE="zh_CN"
    )
    assert done.returncode == 2
    last = done.stderr.strip().splitlines()[-1]
    assert last == "pixmill convert：错误：参数 --quality：质量必须在 1 到 100 之间", last


def _convert(tmp_path: Path, locale: Path, **language: str):
    return _pixmill(
        tmp_path,
        locale,
        [
            "convert",
            str(_inputs(tmp_path / "in")),
            "-o",
            str(tmp_path / "out"),
            "--format",
            "png",
            "--workers",
            "1",
        ],
        **language,
    )


@pytest.mark.timeout(240)
def test_a_broken_file_fails_in_chinese_with_no_english_prefix(tmp_path, compiled_locale):
    done = _convert(tmp_path, compiled_locale, LANGUAGE="zh_CN")
    assert done.returncode == 1, done.stderr
    lines = done.stderr.strip().splitlines()
    failures = [line for line in lines if "noise.png" in line or "cut.jpg" in line]
    assert len(failures) == 2, done.stderr
    for line in failures:
        assert line.startswith("失败："), line
        assert _HAN.search(line.split("：", 2)[-1]), line  # the reason too
    assert "failed:" not in done.stderr
    assert lines[-1].startswith("已转换 1 个, 跳过 0 个, 失败 2 个"), lines[-1]


@pytest.mark.timeout(240)
def test_a_broken_file_fails_in_english_without_a_language(tmp_path, compiled_locale):
    done = _convert(tmp_path, compiled_locale, LANG="C.UTF-8")
    assert done.returncode == 1, done.stderr
    lines = done.stderr.strip().splitlines()
    failures = [line for line in lines if line.startswith("failed: ")]
    assert len(failures) == 2, done.stderr
    assert any(
        line.endswith("noise.png: not an image, or a format Pixmill cannot read")
        for line in failures
    ), done.stderr
    assert lines[-1].startswith("1 converted, 0 skipped, 2 failed"), lines[-1]
    assert not _HAN.search(done.stderr)
