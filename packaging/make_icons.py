"""Render the application icon from its SVG sources into every raster the packages need.

resources/icons/pixmill.svg is the master drawing; pixmill-16.svg, -24.svg and -32.svg are the
same windmill redrawn on whole pixels for those sizes, where scaling the master blurs. Writes
resources/icons/pixmill-<N>.png (16..512), pixmill.ico (Windows) and pixmill.icns (macOS).
Needs rsvg-convert (Debian: librsvg2-bin) and Pillow.

    python packaging/make_icons.py
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from PIL import Image

ICONS = Path(__file__).resolve().parent.parent / "resources" / "icons"
PNG_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)
ICNS_EXTRA = (1024,)  # macOS wants a 1024 px retina image; not kept as a PNG
HINTED = {16: "pixmill-16.svg", 24: "pixmill-24.svg", 32: "pixmill-32.svg"}


def source_for(size: int) -> Path:
    return ICONS / HINTED.get(size, "pixmill.svg")


def render(svg: Path, size: int, out: Path) -> Image.Image:
    rsvg = shutil.which("rsvg-convert")
    if rsvg is None:
        sys.exit("make_icons: rsvg-convert not found (Debian package librsvg2-bin)")
    size_args = ["--width", str(size), "--height", str(size), "--format", "png"]
    subprocess.run([rsvg, *size_args, "-o", str(out), str(svg)], check=True)
    with Image.open(out) as im:
        im.load()
        if im.size != (size, size):
            sys.exit(f"make_icons: {svg.name} rendered at {im.size}, expected {size}")
        return im.convert("RGBA")


def build(dest: Path) -> list[Path]:
    dest.mkdir(parents=True, exist_ok=True)
    images: dict[int, Image.Image] = {}
    written: list[Path] = []
    with tempfile.TemporaryDirectory() as tmp:
        for size in PNG_SIZES + ICNS_EXTRA:
            target = dest / f"pixmill-{size}.png" if size in PNG_SIZES else Path(tmp) / "x.png"
            images[size] = render(source_for(size), size, target)
            if size in PNG_SIZES:
                # Re-save through Pillow so the files are small and carry no render metadata.
                images[size].save(target, optimize=True)
                written.append(target)
    ico = dest / "pixmill.ico"
    images[256].save(
        ico,
        format="ICO",
        sizes=[(s, s) for s in ICO_SIZES],
        append_images=[images[s] for s in ICO_SIZES if s != 256],
    )
    icns = dest / "pixmill.icns"
    images[1024].save(
        icns, format="ICNS", append_images=[images[s] for s in (32, 64, 128, 256, 512)]
    )
    written += [ico, icns]
    return written


def main() -> int:
    for path in build(ICONS):
        print(f"{path.relative_to(ICONS.parent.parent)}  {path.stat().st_size} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
