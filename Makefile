# Pixmill: `make run` opens the app, `make test` runs the whole suite. Both set up everything
# (system libraries Qt needs, the virtual environment, the package) on a fresh Debian machine.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
APT_STAMP := .apt-deps.stamp

# Qt's runtime libraries (offscreen and xcb platforms), a font, and Xvfb for real windows.
APT_PACKAGES := libegl1 libgl1 libxkbcommon0 libxkbcommon-x11-0 libfontconfig1 libglib2.0-0 \
	libdbus-1-3 libxcb-cursor0 libxcb-icccm4 libxcb-image0 libxcb-keysyms1 libxcb-randr0 \
	libxcb-render-util0 libxcb-shape0 libxcb-xinerama0 libxcb-xkb1 libxcb-xfixes0 \
	xvfb xauth fonts-dejavu-core fonts-noto-cjk strace

.PHONY: run test lint format system-deps venv clean catalogs

run: $(STAMP) catalogs
	$(VENV)/bin/pixmill-gui

test: $(STAMP) catalogs
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest -q tests

# ruff, the architecture's import contracts (pyproject.toml [tool.importlinter]), and the
# release workflows (actionlint, which runs shellcheck on their bash steps) and scripts.
LINT_APT := shellcheck

lint: $(STAMP)
	$(call apt_install,$(LINT_APT))
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports --no-cache
	$(VENV)/bin/actionlint -shellcheck shellcheck .github/workflows/*.yml
	shellcheck .ci/run packaging/macos/build_dmg.sh

format: $(STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

# Translations: each resources/locale/*/LC_MESSAGES/pixmill.po compiled to a .mo beside it.
catalogs: $(STAMP)
	$(PY) packaging/catalogs.py compile

system-deps: $(APT_STAMP)

# $(call apt_install,packages): apt-get install the ones dpkg does not list as installed
# (used here and by the included packaging, benchmark and torture fragments).
define apt_install
	@missing=""; for p in $(1); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		if ! command -v apt-get >/dev/null 2>&1; then \
			echo "warning: not a Debian system; install these yourself:$$missing"; exit 0; \
		fi; \
		SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
		echo "installing system packages:$$missing"; \
		$$SUDO apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing; \
	fi
endef

$(APT_STAMP):
	$(call apt_install,$(APT_PACKAGES))
	@touch $@

venv: $(STAMP)

$(STAMP): pyproject.toml $(APT_STAMP)
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	@touch $@

clean:
	rm -rf $(VENV) $(APT_STAMP) build dist *.egg-info .pytest_cache .import_linter_cache

include packaging/package.mk
include tests/benchmarks/bench.mk
include tests/torture/torture.mk
