"""pixmill.engine.naming: the naming template's tokens, safe file names and the renamed
siblings (photo.webp -> photo-1.webp)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from pixmill.engine.job import Source
from pixmill.engine.naming import renamed, render_name, safe_name, uses_size
from pixmill.engine.plan import plan
from pixmill.engine.recipe import Recipe, Resize
from tests.conftest import make_image

pytestmark = pytest.mark.timeout(30)


def test_naming_tokens(tmp_path):
    src = tmp_path / "holiday"
    make_image(src / "IMG_1.JPG", (400, 300))
    os.utime(src / "IMG_1.JPG", (1_700_000_000, 1_700_000_000))
    r = Recipe(
        format="webp",
        resize=Resize("fit", width=200, height=200),
        name_template="{parent}-{stem}-{ext}-{width}x{height}-{index:03d}-{date}",
    )
    job = plan([src], r, tmp_path / "out").jobs[0]
    assert Path(job.target).name.startswith("holiday-IMG_1-jpg-200x150-001-2023-11-1")


def test_unsafe_characters_in_names_are_replaced(tmp_path):
    src = tmp_path / "in"
    make_image(src / "a.jpg")
    job = plan([src], Recipe(name_template="{stem}/../x:y"), tmp_path / "out").jobs[0]
    assert Path(job.target).parent == tmp_path / "out"
    assert "/" not in Path(job.target).name


def render(template: str, path: str = "/photos/trip/IMG_7.JPEG", **kw) -> str:
    source = Source(path, None, mtime=kw.pop("mtime", 0.0))
    return render_name(
        Recipe(name_template=template), source, kw.pop("index", 1), kw.pop("size", (0, 0))
    )


def test_the_default_template_is_the_stem():
    assert render("{stem}") == "IMG_7"
    assert render("{stem}", "/photos/archive.tar.gz") == "archive.tar"


@pytest.mark.parametrize(
    "template, name",
    [
        ("{ext}", "jpeg"),
        ("{parent}", "trip"),
        ("{index}", "42"),
        ("{index:05d}", "00042"),
        ("{width}x{height}", "640x480"),
        ("{stem}_{width:>5}", "IMG_7_  640"),
        ("{{stem}}", "{stem}"),
        ("{stem[0]}", "I"),
        ("{parent}/{stem}", "trip_IMG_7"),
    ],
)
def test_each_token_renders_its_value(template, name):
    assert render(template, index=42, size=(640, 480)) == name


def test_date_token_is_the_sources_local_modification_date():
    mtime = 1_700_000_000.0
    expected = time.strftime("%Y-%m-%d", time.localtime(mtime))
    assert render("{date}", mtime=mtime) == expected


def test_a_name_that_renders_empty_falls_back_to_the_stem():
    assert render("{parent}", "/a.jpg") == "a"
    assert render("..", "/x/b.jpg") == "b"


@pytest.mark.parametrize(
    "raw, safe",
    [
        ("a/b\\c:d*e?f", "a_b_c_d_e_f"),
        ('q"<>|', "q____"),
        ("tab\there\nnl\x00", "tab_here_nl_"),
        ("  spaced  ", "spaced"),
        ("trailing...", "trailing"),
        ("ünïcödé ok", "ünïcödé ok"),
    ],
)
def test_safe_name_replaces_characters_no_file_system_takes(raw, safe):
    assert safe_name(raw, "fallback") == safe


@pytest.mark.parametrize("raw", ["", "   ", ".", "..", "...", " . "])
def test_safe_name_never_returns_an_empty_or_dot_name(raw):
    assert safe_name(raw, "fallback") == "fallback"


def test_safe_name_caps_the_length():
    assert safe_name("x" * 500, "f") == "x" * 200


def test_renamed_counts_before_the_extension():
    assert renamed("/out/photo.webp", 0) == "/out/photo.webp"
    assert renamed("/out/photo.webp", 1) == "/out/photo-1.webp"
    assert renamed("/out/photo.webp", 12) == "/out/photo-12.webp"
    assert renamed("/out.d/photo", 2) == "/out.d/photo-2"
    assert renamed("/out/a.b.png", 3) == "/out/a.b-3.png"


@pytest.mark.parametrize(
    "template, needs",
    [
        ("{stem}", False),
        ("{stem}_{index}_{date}", False),
        ("{width}", True),
        ("{stem}_{height:04d}", True),
        ("{width}x{height}", True),
    ],
)
def test_uses_size_only_for_width_and_height(template, needs):
    assert uses_size(template) is needs
