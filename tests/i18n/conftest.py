"""Shared by the language tests: the repository's root, packaging/catalogs.py (Babel's side of the
catalogues) loaded as a module, and the catalogues compiled once per session into a temporary
folder (PIXMILL_LOCALE_DIR points the engine at it)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]


def load_catalogs() -> ModuleType:
    """packaging/catalogs.py, which is a script, not a package module."""
    name = "pixmill_tools_catalogs"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, ROOT / "packaging" / "catalogs.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def catalogs() -> ModuleType:
    return load_catalogs()


@pytest.fixture(scope="session")
def compiled_locale(catalogs: ModuleType, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every .po compiled into a temporary locale folder, as the build compiles them."""
    out = tmp_path_factory.mktemp("locale")
    written = catalogs.compile_catalogs(out)
    assert written, "no .po file was compiled"
    return out
