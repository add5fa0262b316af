"""Build the AppImage from the same frozen one-folder app as the .deb.

    python packaging/build_appimage.py --bundle build/dist/pixmill --out build/

1. The runtime (packaging/appimage/runtime.c): compiled statically against Debian's
   squashfuse library and the decompressors (libsquashfuse-dev, libzstd-dev, ...), stripped,
   with the type-2 magic "AI\\x02" at offset 8 of its ELF header.
2. The AppDir: the bundle in usr/lib/pixmill, AppRun (a symlink to the frozen program, which
   opens the window with no arguments or only paths and is the CLI with a subcommand, like
   /usr/bin/pixmill of the .deb), usr/bin/pixmill and pixmill-gui, the desktop entry and the
   icon at the top (as the AppImage format asks) and in usr/share with the hicolor icons and
   the AppStream metainfo, and .DirIcon.
3. The payload: `mksquashfs` (Debian's squashfs-tools), zstd, owned by root, reproducible
   (fixed timestamps).
4. The AppImage: runtime + payload, build/Pixmill-<version>-x86_64.AppImage.

Needs gcc, squashfs-tools, libsquashfuse-dev and the decompressors' -dev packages
(packaging/package.mk installs them), desktop-file-validate and appstreamcli. Standard
library only.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APP_ID = "io.github.pixmill.Pixmill"
ICON_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
RUNTIME_SOURCE = ROOT / "packaging" / "appimage" / "runtime.c"
RUNTIME_LIBS = ["-lsquashfuse", "-lzstd", "-llzma", "-llz4", "-llzo2", "-lz"]
#: ELF e_ident padding (offset 8): "AI" and the AppImage type, as the AppImage spec asks.
APPIMAGE_MAGIC = b"AI\x02"
SOURCE_DATE_EPOCH = 1700000000  # fixed file times in the image: same bundle, same payload


def run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, check=True, text=True, **kw)


def project_version() -> str:
    text = (ROOT / "engine" / "__init__.py").read_text(encoding="utf-8")
    m = re.search(r'__version__\s*=\s*"([^"]+)"', text)
    if not m:
        sys.exit("build_appimage: no __version__ in engine/__init__.py")
    return m.group(1)


def build_runtime(work: Path) -> Path:
    """Compile and stamp the runtime; returns its path."""
    out = work / f"runtime-{platform.machine()}"
    cc = os.environ.get("CC", "gcc")
    run([cc, "-static", "-O2", "-s", "-Wall", "-o", str(out), str(RUNTIME_SOURCE), *RUNTIME_LIBS])
    data = bytearray(out.read_bytes())
    if data[:4] != b"\x7fELF" or any(data[8:11]):
        sys.exit(f"build_appimage: {out} is not an ELF file with free padding bytes")
    data[8:11] = APPIMAGE_MAGIC
    out.write_bytes(data)
    return out


def make_appdir(bundle: Path, appdir: Path) -> None:
    """Lay out the AppDir (hard links to the bundle's files: no 300 MB copy)."""
    if appdir.exists():
        shutil.rmtree(appdir)
    lib = appdir / "usr" / "lib" / "pixmill"
    lib.parent.mkdir(parents=True)

    def link_or_copy(src: str, dst: str) -> None:
        try:
            os.link(src, dst)
        except OSError:
            shutil.copy2(src, dst)

    shutil.copytree(bundle, lib, symlinks=True, copy_function=link_or_copy)
    if not (lib / "pixmill").is_file():
        sys.exit(f"build_appimage: no pixmill program in {bundle}")
    (appdir / "usr" / "bin").mkdir()
    for name in ("pixmill", "pixmill-gui"):
        (appdir / "usr" / "bin" / name).symlink_to("../lib/pixmill/pixmill")
    (appdir / "AppRun").symlink_to("usr/lib/pixmill/pixmill")

    res = ROOT / "resources"
    share = appdir / "usr" / "share"
    for src, dst in [
        (res / f"{APP_ID}.desktop", share / "applications" / f"{APP_ID}.desktop"),
        (res / f"{APP_ID}.metainfo.xml", share / "metainfo" / f"{APP_ID}.metainfo.xml"),
        (res / "icons" / "pixmill.svg", share / "icons/hicolor/scalable/apps" / f"{APP_ID}.svg"),
        *[
            (
                res / "icons" / f"pixmill-{size}.png",
                share / f"icons/hicolor/{size}x{size}/apps" / f"{APP_ID}.png",
            )
            for size in ICON_SIZES
        ],
    ]:
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dst)
    # The format's own places: one desktop entry and its icon at the top, and .DirIcon.
    (appdir / f"{APP_ID}.desktop").symlink_to(f"usr/share/applications/{APP_ID}.desktop")
    (appdir / f"{APP_ID}.png").symlink_to(f"usr/share/icons/hicolor/256x256/apps/{APP_ID}.png")
    (appdir / ".DirIcon").symlink_to(f"{APP_ID}.png")


def validate(appdir: Path) -> None:
    run(["desktop-file-validate", str(appdir / f"{APP_ID}.desktop")])
    run(
        ["appstreamcli", "validate", "--no-net", "--pedantic", "--explain", "--no-color"]
        + [str(appdir / "usr" / "share" / "metainfo" / f"{APP_ID}.metainfo.xml")],
        stdout=subprocess.DEVNULL,
    )


def make_payload(appdir: Path, payload: Path) -> None:
    payload.unlink(missing_ok=True)
    run(
        [
            "mksquashfs",
            str(appdir),
            str(payload),
            "-root-owned",
            "-noappend",
            "-no-xattrs",
            "-quiet",
            "-no-progress",
            "-comp",
            "zstd",
            "-Xcompression-level",
            "19",
            "-b",
            "1M",
            "-mkfs-time",
            str(SOURCE_DATE_EPOCH),
            "-all-time",
            str(SOURCE_DATE_EPOCH),
        ]  # fmt: skip
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bundle", type=Path, required=True, help="PyInstaller's dist/pixmill")
    parser.add_argument("--out", type=Path, required=True, help="folder for the AppImage")
    args = parser.parse_args()
    t0 = time.monotonic()
    work = args.out / "appimage"
    work.mkdir(parents=True, exist_ok=True)
    runtime = build_runtime(work)
    appdir = work / "Pixmill.AppDir"
    make_appdir(args.bundle.resolve(), appdir)
    validate(appdir)
    payload = work / "payload.squashfs"
    make_payload(appdir, payload)
    target = args.out / f"Pixmill-{project_version()}-{platform.machine()}.AppImage"
    tmp = target.with_name(target.name + ".part")
    with tmp.open("wb") as out:
        for part in (runtime, payload):
            with part.open("rb") as src:
                shutil.copyfileobj(src, out, 1 << 20)
    tmp.chmod(0o755)
    tmp.replace(target)
    payload.unlink()
    size = target.stat().st_size
    print(
        f"{target}  {size / 1e6:.1f} MB (runtime {runtime.stat().st_size / 1e3:.0f} KB)  "
        f"({time.monotonic() - t0:.0f} s)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
