"""Build the Debian package from the frozen one-folder app.

    python packaging/build_deb.py --bundle build/dist/pixmill --out build/

Lays out /opt/pixmill (the bundle), /usr/bin/pixmill and pixmill-gui (symlinks: the frozen
program picks its face from the name it was started under), the desktop entry, hicolor icons,
AppStream metainfo and the copyright file (Pixmill's licence and the third-party codecs'
notice, packaging/licenses/), asks dpkg-shlibdeps which packages provide the system
libraries the bundle links to (Depends), and packs with dpkg-deb -Zzstd.
Needs dpkg-dev. Standard library only.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APP_ID = "io.github.pixmill.Pixmill"
PACKAGE = "pixmill"
MAINTAINER = "Pixmill developers <pixmill@users.noreply.github.com>"
HOMEPAGE = "https://github.com/pixmill/pixmill"
#: A CJK font, so the Chinese window shows characters, not boxes: Noto Sans CJK (Debian's
#: and Ubuntu's default for Chinese) or, where space matters, WenQuanYi Micro Hei.
RECOMMENDS = "fonts-noto-cjk | fonts-wqy-microhei"
ICON_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
ELF_MAGIC = b"\x7fELF"

POSTINST = """#!/bin/sh
# Refresh the menu's MIME cache and the icon cache; dpkg triggers usually do this too.
set -e
if [ "$1" = "configure" ]; then
    if command -v update-desktop-database >/dev/null 2>&1; then
        update-desktop-database -q /usr/share/applications || true
    fi
    if command -v gtk-update-icon-cache >/dev/null 2>&1; then
        gtk-update-icon-cache -q -t -f /usr/share/icons/hicolor || true
    fi
fi
exit 0
"""

POSTRM = """#!/bin/sh
set -e
if [ "$1" = "remove" ] || [ "$1" = "purge" ]; then
    if command -v update-desktop-database >/dev/null 2>&1; then
        update-desktop-database -q /usr/share/applications || true
    fi
    if command -v gtk-update-icon-cache >/dev/null 2>&1; then
        gtk-update-icon-cache -q -t -f /usr/share/icons/hicolor || true
    fi
fi
exit 0
"""

DESCRIPTION = """\
Fast, safe desktop batch image converter
 Drop folders or images on the window, pick a recipe (format, quality, resize,
 metadata) and press Start: files convert in parallel on every core. Originals
 are never touched, and one broken file fails on its own while the batch goes on.
 .
 The same recipes run headless with the pixmill command."""


def run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, check=True, text=True, **kw)


def project_version() -> str:
    text = (ROOT / "engine" / "__init__.py").read_text(encoding="utf-8")  # pixmill.engine
    m = re.search(r'__version__\s*=\s*"([^"]+)"', text)
    if not m:
        sys.exit("build_deb: no __version__ in engine/__init__.py")
    return m.group(1)


def elf_files(top: Path) -> list[Path]:
    out = []
    for path in sorted(top.rglob("*")):
        if path.is_symlink() or not path.is_file():
            continue
        with path.open("rb") as f:
            if f.read(4) == ELF_MAGIC:
                out.append(path)
    return out


def shlib_depends(app_dir: Path) -> str:
    """Depends for the system libraries the bundle links to, from dpkg-shlibdeps. The
    bundle's own libraries (every folder holding an ELF file) are private: -l."""
    elves = elf_files(app_dir)
    private = sorted({str(p.parent) for p in elves})
    with tempfile.TemporaryDirectory() as tmp:
        # dpkg-shlibdeps insists on reading debian/control from the current folder.
        (Path(tmp) / "debian").mkdir()
        (Path(tmp) / "debian" / "control").write_text(
            f"Source: {PACKAGE}\n\nPackage: {PACKAGE}\nArchitecture: any\n"
        )
        proc = subprocess.run(
            ["dpkg-shlibdeps", "-O", "--ignore-missing-info", "--warnings=0"]
            + [f"-l{d}" for d in private]
            + [str(p) for p in elves],
            cwd=tmp,
            text=True,
            capture_output=True,
        )
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr)
        sys.exit(
            "build_deb: dpkg-shlibdeps failed; a library the bundle links to is not installed "
            "on this machine (see above). `make package` installs the usual ones."
        )
    m = re.search(r"^shlibs:Depends=(.*)$", proc.stdout, re.M)
    return m.group(1).strip() if m else ""


def install(src: Path, dst: Path, mode: int = 0o644) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, dst)
    dst.chmod(mode)


def normalise_modes(top: Path) -> None:
    """Directories 755, executables 755, everything else 644, whatever the umask was."""
    for dirpath, _dirnames, filenames in os.walk(top):
        os.chmod(dirpath, 0o755)
        for name in filenames:
            p = Path(dirpath) / name
            if p.is_symlink():
                continue
            executable = p.stat().st_mode & stat.S_IXUSR
            p.chmod(0o755 if executable else 0o644)


def stage(bundle: Path, root: Path) -> None:
    opt = root / "opt" / PACKAGE
    shutil.copytree(bundle, opt, symlinks=True)
    bindir = root / "usr" / "bin"
    bindir.mkdir(parents=True)
    for name in ("pixmill", "pixmill-gui"):
        (bindir / name).symlink_to(f"../../opt/{PACKAGE}/pixmill")
    share = root / "usr" / "share"
    res = ROOT / "resources"
    install(res / f"{APP_ID}.desktop", share / "applications" / f"{APP_ID}.desktop")
    install(res / f"{APP_ID}.metainfo.xml", share / "metainfo" / f"{APP_ID}.metainfo.xml")
    icons = share / "icons" / "hicolor"
    for size in ICON_SIZES:
        install(
            res / "icons" / f"pixmill-{size}.png",
            icons / f"{size}x{size}" / "apps" / f"{APP_ID}.png",
        )
    install(res / "icons" / "pixmill.svg", icons / "scalable" / "apps" / f"{APP_ID}.svg")
    doc = share / "doc" / PACKAGE
    doc.mkdir(parents=True)
    (doc / "copyright").write_text(copyright_text(opt), encoding="utf-8")
    normalise_modes(root)


def copyright_text(opt: Path) -> str:
    """Pixmill's licence, then the notice for the third-party codecs the bundle carries (the
    spec puts their licence texts in _internal/licenses/, which the notice points to)."""
    notice = ROOT / "packaging" / "licenses" / "THIRD-PARTY-NOTICES.txt"
    if not (opt / "_internal" / "licenses" / notice.name).is_file():
        sys.exit(f"build_deb: the bundle has no _internal/licenses/{notice.name}; rebuild it")
    own = (ROOT / "LICENSE").read_text(encoding="utf-8").rstrip()
    return f"{own}\n\n\n{notice.read_text(encoding='utf-8')}"


def control(root: Path, version: str, depends: str) -> None:
    arch = run(["dpkg", "--print-architecture"], capture_output=True).stdout.strip()
    size_kb = sum((p.lstat().st_size + 1023) // 1024 for p in root.rglob("*") if not p.is_dir())
    debian = root / "DEBIAN"
    debian.mkdir()
    fields = {
        "Package": PACKAGE,
        "Version": version,
        "Architecture": arch,
        "Maintainer": MAINTAINER,
        "Installed-Size": str(size_kb),
        "Depends": depends,
        "Recommends": RECOMMENDS,
        "Section": "graphics",
        "Priority": "optional",
        "Homepage": HOMEPAGE,
        "Description": DESCRIPTION,
    }
    (debian / "control").write_text("".join(f"{k}: {v}\n" for k, v in fields.items() if v))
    for name, body in (("postinst", POSTINST), ("postrm", POSTRM)):
        (debian / name).write_text(body)
        (debian / name).chmod(0o755)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bundle", type=Path, default=ROOT / "build" / "dist" / "pixmill")
    parser.add_argument("--out", type=Path, default=ROOT / "build")
    parser.add_argument("--compression", choices=("zstd", "xz"), default="zstd")
    args = parser.parse_args()
    args.bundle, args.out = args.bundle.resolve(), args.out.resolve()
    if not (args.bundle / "pixmill").is_file():
        sys.exit(f"build_deb: no frozen app at {args.bundle}; run PyInstaller first")
    version = project_version()
    t0 = time.monotonic()
    with tempfile.TemporaryDirectory(dir=args.out) as tmp:
        root = Path(tmp) / "root"
        stage(args.bundle, root)
        depends = shlib_depends(root / "opt" / PACKAGE)
        control(root, version, depends)
        arch = (root / "DEBIAN" / "control").read_text().split("Architecture: ")[1].split()[0]
        deb = args.out / f"{PACKAGE}_{version}_{arch}.deb"
        level = ["-Zzstd", "-z9"] if args.compression == "zstd" else ["-Zxz", "-z6"]
        run(
            ["dpkg-deb", "--root-owner-group", *level, "--build", str(root), str(deb)],
            stdout=subprocess.DEVNULL,
        )
    print(f"{deb}  {deb.stat().st_size / 1e6:.1f} MB  ({time.monotonic() - t0:.0f} s)")
    print(f"Depends: {depends}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
