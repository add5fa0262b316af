#!/usr/bin/env bash
# macOS: freeze Pixmill.app with PyInstaller and wrap it in a compressed disk image.
#
#   packaging/macos/build_dmg.sh [PYTHON]      (PYTHON: the interpreter with pixmill and
#                                               pyinstaller installed; default python3)
# Output: build/dist/Pixmill.app and build/pixmill-<version>-macos-<arch>.dmg
#
# The app is signed ad hoc (codesign -s -), which Apple Silicon needs to run it at all.
# A release for other people also needs a Developer ID signature and notarisation, which
# need Apple credentials: set MACOS_SIGN_IDENTITY to sign with one (notarytool is then a
# separate step in the release workflow). Built and tested only by
# .github/workflows/package.yml on a macOS runner.
set -euo pipefail

cd "$(dirname "$0")/../.."
PY="${1:-python3}"
VERSION="$("$PY" -c 'import pixmill.engine; print(pixmill.engine.__version__)')"
ARCH="$(uname -m)"
DMG="build/pixmill-${VERSION}-macos-${ARCH}.dmg"

rm -rf build/dist/Pixmill.app build/dist/pixmill "$DMG"
PIXMILL_VERSION="$VERSION" "$PY" -m PyInstaller --noconfirm --clean --log-level WARN \
    --distpath build/dist --workpath build/pyinstaller packaging/pixmill.spec

APP=build/dist/Pixmill.app
test -x "$APP/Contents/MacOS/pixmill"
if [ -n "${MACOS_SIGN_IDENTITY:-}" ]; then
    # Notarisation requires the hardened runtime; Python needs these two exceptions from it.
    codesign --force --deep --timestamp --options runtime \
        --entitlements packaging/macos/entitlements.plist --sign "$MACOS_SIGN_IDENTITY" "$APP"
else
    codesign --force --deep --sign - "$APP"
fi
codesign --verify --deep --strict "$APP"

# The disk image shows the app next to a link to /Applications: drag one onto the other.
STAGE="$(mktemp -d)"
trap 'rm -rf "$STAGE"' EXIT
cp -R "$APP" "$STAGE/"
ln -s /Applications "$STAGE/Applications"
hdiutil create -volname "Pixmill" -srcfolder "$STAGE" -fs HFS+ -format UDZO -ov "$DMG"

echo "app: $(du -sh "$APP" | cut -f1)  dmg: $(du -h "$DMG" | cut -f1)  $DMG"
