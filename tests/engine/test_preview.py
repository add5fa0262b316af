"""The preview's engine side: its one-file job goes through convert_one like any other, and
the info line says what the output is."""

from __future__ import annotations

import os

import pytest

from pixmill.engine.convert import convert_one
from pixmill.engine.preview import Scratch, describe, load_picture, preview_job
from pixmill.engine.recipe import Recipe, Resize
from tests.conftest import make_image

pytestmark = pytest.mark.timeout(30)


def test_a_preview_job_converts_into_the_scratch_folder_and_is_described(tmp_path):
    source = make_image(tmp_path / "photo.jpg", (1200, 900), quality=92)
    scratch = Scratch()
    try:
        recipe = Recipe(format="webp", quality=60, resize=Resize("long_edge", long_edge=600))
        job = preview_job(str(source), recipe, scratch.folder, 7)
        assert os.path.dirname(job.target) == scratch.folder and job.target.endswith(".webp")
        assert not job.sync and job.index == 7
        result = convert_one(job)
        outcome = describe(result, recipe)
        assert outcome.ok and outcome.target == job.target
        assert outcome.bytes_out == os.path.getsize(job.target)
        assert "WebP" in outcome.text and "600 × 450 px" in outcome.text
        assert f"({outcome.bytes_out:,} bytes)" in outcome.text and "saving" in outcome.text
        assert load_picture(job.target).size == (600, 450)
    finally:
        scratch.close()
    assert not os.path.exists(scratch.folder)
    assert os.path.getsize(source) > 0  # the source is never touched


def test_a_failed_preview_says_why(tmp_path):
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0 not really a JPEG" * 4)
    job = preview_job(str(bad), Recipe(), str(tmp_path), 1)
    outcome = describe(convert_one(job), Recipe())
    assert not outcome.ok and outcome.text.startswith("Cannot preview:")


def test_the_original_is_shown_upright(tmp_path):
    from PIL import Image

    exif = Image.Exif()
    exif[0x0112] = 6  # stored sideways
    path = make_image(tmp_path / "sideways.jpg", (400, 300), quality=90, exif=exif.tobytes())
    assert load_picture(str(path)).size == (300, 400)
    assert load_picture(str(path), orient=False).size == (400, 300)
    reduced = load_picture(str(path), at_least=(75, 100))  # a JPEG decodes smaller
    assert reduced.size == (75, 100)
