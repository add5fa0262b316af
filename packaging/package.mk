# Packaging targets, included from the top Makefile (which defines VENV, PY and STAMP).
#
#   make icons          re-render resources/icons from the SVG sources (commit the result)
#   make package        frozen one-folder app (build/dist/pixmill) and build/pixmill_*.deb
#   make package-smoke  install that .deb, run the smoke test, remove it (needs root)
#   make appimage       build/Pixmill-*-x86_64.AppImage from the same frozen bundle
#   make appimage-smoke the smoke test on it, run as `APP --appimage-extract-and-run ...`
#
# Everything a fresh Debian machine lacks is installed here: the Debian tools, the system
# libraries the frozen app links to (dpkg-shlibdeps needs them present to name the packages
# for Depends) and PyInstaller in the project's venv.

PYINSTALLER_VERSION := 6.22.3
PKG_BUILD := build
PKG_DIST := $(PKG_BUILD)/dist
PKG_STAMP := $(VENV)/.pyinstaller-$(PYINSTALLER_VERSION)
PKG_APT := dpkg-dev desktop-file-utils appstream zstd \
	libegl1 libgl1 libxkbcommon0 libxkbcommon-x11-0 libfontconfig1 libfreetype6 \
	libglib2.0-0 libdbus-1-3 libx11-6 libx11-xcb1 libxcb1 libxcb-cursor0 libxcb-glx0 \
	libxcb-icccm4 libxcb-image0 libxcb-keysyms1 libxcb-randr0 libxcb-render0 \
	libxcb-render-util0 libxcb-shape0 libxcb-shm0 libxcb-sync1 libxcb-util1 libxcb-xfixes0 \
	libxcb-xkb1 libwayland-client0 libwayland-cursor0 libwayland-egl1
PKG_SMOKE_APT := xvfb xauth xdotool
# The AppImage: mksquashfs for the payload, and the static runtime's compiler and libraries
# (packaging/appimage/runtime.c on Debian's squashfuse and the decompressors).
APPIMAGE_APT := squashfs-tools gcc libc6-dev libsquashfuse-dev libzstd-dev liblzma-dev \
	liblz4-dev liblzo2-dev zlib1g-dev
ICONS_APT := librsvg2-bin


.PHONY: icons package package-deps package-validate package-smoke package-clean \
	appimage appimage-deps appimage-only appimage-smoke

icons: $(STAMP)
	$(call apt_install,$(ICONS_APT))
	$(PY) packaging/make_icons.py

package-deps:
	$(call apt_install,$(PKG_APT))

$(PKG_STAMP): $(STAMP)
	$(PY) -m pip install -q 'pyinstaller==$(PYINSTALLER_VERSION)'
	@touch $@

package-validate: package-deps
	desktop-file-validate resources/io.github.pixmill.Pixmill.desktop
	appstreamcli validate --no-net resources/io.github.pixmill.Pixmill.metainfo.xml

package: $(STAMP) $(PKG_STAMP) package-deps package-validate catalogs
	@start=$$(date +%s); \
	rm -rf $(PKG_DIST)/pixmill $(PKG_BUILD)/pixmill_*.deb && \
	$(VENV)/bin/pyinstaller --noconfirm --clean --log-level WARN \
		--distpath $(PKG_DIST) --workpath $(PKG_BUILD)/pyinstaller packaging/pixmill.spec && \
	echo "bundle: $$(du -sh $(PKG_DIST)/pixmill | cut -f1) in $(PKG_DIST)/pixmill" && \
	$(PY) packaging/build_deb.py --bundle $(PKG_DIST)/pixmill --out $(PKG_BUILD) && \
	echo "make package took $$(( $$(date +%s) - start )) s"

package-smoke: package
	$(call apt_install,$(PKG_SMOKE_APT))
	@SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	$$SUDO $(PY) packaging/smoke_test.py --deb $$(ls $(PKG_BUILD)/pixmill_*.deb | head -1)

# The AppImage from the bundle `make package` froze (the .deb's); appimage-only reuses the
# bundle already in build/dist (as .ci/run does right after package-smoke).
appimage: package appimage-only

appimage-deps:
	$(call apt_install,$(APPIMAGE_APT))

# tests/packaging/test_appimage_runtime.py compiles the runtime and packs a small image.
test: appimage-deps

appimage-only: $(STAMP) package-deps appimage-deps
	@test -x $(PKG_DIST)/pixmill/pixmill || { echo "no bundle in $(PKG_DIST): make package"; exit 1; }
	rm -f $(PKG_BUILD)/Pixmill-*.AppImage
	$(PY) packaging/build_appimage.py --bundle $(PKG_DIST)/pixmill --out $(PKG_BUILD)

appimage-smoke: appimage-only
	$(call apt_install,$(PKG_SMOKE_APT))
	$(PY) packaging/smoke_test.py --appimage $$(ls $(PKG_BUILD)/Pixmill-*.AppImage | head -1)

package-clean:
	rm -rf $(PKG_BUILD)/pyinstaller $(PKG_DIST) $(PKG_BUILD)/pixmill_*.deb \
		$(PKG_BUILD)/appimage $(PKG_BUILD)/Pixmill-*.AppImage
