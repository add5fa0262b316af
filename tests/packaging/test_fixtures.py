"""The packaging smoke test's committed codec inputs (packaging/fixtures/) still decode, with
the codec libraries of this venv, to what packaging/smoke_test.py expects of the app's JPEGs:
its size, and each sample point nearer its own half's colour than the other half's."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]


def _smoke_module():
    path = ROOT / "packaging" / "smoke_test.py"
    spec = importlib.util.spec_from_file_location("pixmill_smoke", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclass looks itself up there
    spec.loader.exec_module(module)
    return module


SMOKE = _smoke_module()


def _decode(path: Path) -> Image.Image:
    if path.suffix == ".dng":
        import rawpy

        with rawpy.imread(str(path)) as raw:
            return Image.fromarray(raw.postprocess(use_camera_wb=True, output_bps=8))
    import pillow_heif
    import pillow_jxl  # noqa: F401 - registers the JPEG XL plug-in

    pillow_heif.register_heif_opener()
    with Image.open(path) as im:
        return im.convert("RGB")


@pytest.mark.parametrize("name", sorted(SMOKE.CODEC_INPUTS))
def test_fixture_decodes_to_what_the_smoke_test_expects(name: str) -> None:
    path = SMOKE.FIXTURES / name
    size, samples = SMOKE.CODEC_INPUTS[name]
    assert path.stat().st_size < 8000  # tiny, committed
    im = _decode(path)
    assert im.size == size
    for xy, colour, other in samples:
        pixel = im.getpixel(xy)
        assert SMOKE._distance(pixel, colour) < SMOKE._distance(pixel, other), (xy, pixel)
