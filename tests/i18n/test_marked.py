"""Every user-visible string of the engine is marked for translation: an AST scan finds no
unmarked prose, no literal handed unmarked to a place the user reads, and no f-string inside
_(); Babel's extraction finds exactly the messages the scan sees marked.

The window and the CLI join by adding their files to SCOPE (marking.py already knows Qt's
text setters and widgets, and argparse's help=)."""

from __future__ import annotations

from pathlib import Path

import pytest

from .conftest import ROOT
from .machine_strings import MACHINE_STRINGS
from .marking import Finding, allowed, scan

#: The files whose strings are checked: every module of the engine (the CLI is engine/cli.py)
#: and of the window; a new file is checked without being listed.
SCOPE = sorted(
    p.relative_to(ROOT).as_posix()
    for folder in ("engine", "gui")
    for p in (ROOT / folder).glob("*.py")
)


def _findings() -> list[Finding]:
    found: list[Finding] = []
    for rel in SCOPE:
        found += scan(ROOT / rel, ROOT)[0]
    return found


@pytest.mark.timeout(60)
def test_every_user_visible_string_in_scope_is_marked():
    unmarked = [f for f in _findings() if allowed(f, MACHINE_STRINGS) is None]
    assert not unmarked, (
        "mark these with _() / ngettext() / N_() (or allow-list them in "
        "tests/i18n/machine_strings.py, saying why):\n" + "\n".join(map(str, unmarked))
    )


@pytest.mark.timeout(60)
def test_every_allow_list_entry_excuses_a_literal():
    used = {allowed(f, MACHINE_STRINGS) for f in _findings()}
    stale = [key for key in MACHINE_STRINGS if key not in used]
    assert not stale, f"allow-list entries that match nothing any more: {stale}"


def _babel_messages(catalogs, path: Path) -> list[str]:
    from babel.messages.extract import extract_from_file

    out = []
    for _lineno, message, _comments, _context in extract_from_file(
        "python", str(path), keywords=catalogs.KEYWORDS
    ):
        out += list(message) if isinstance(message, tuple) else [message]
    return sorted(out)


@pytest.mark.timeout(60)
@pytest.mark.parametrize("rel", SCOPE)
def test_babel_extracts_what_the_source_marks(catalogs, rel):
    marked = sorted(text for _line, text in scan(ROOT / rel, ROOT)[1])
    assert _babel_messages(catalogs, ROOT / rel) == marked


_SAMPLE = r'''
"""A module docstring is not a message."""
import logging
import warnings
from pixmill.engine.i18n import N_, _, ngettext
log = logging.getLogger(__name__)
REASONS = {"svg": N_("vector images are not supported"), "bad": "files like this are bad"}

def describe_thing(n, low, conn, label, window):
    """Nor a function's."""
    log.warning("the journal is slow today: %s", n)
    conn.execute("SELECT a FROM b WHERE c = ?", (n,))
    if "broken data stream" in low:
        raise ConversionError("file is broken")
    warnings.warn(f"frame {n} was lost")
    label.setText("Start")
    label.setToolTip(_("Convert every file"))
    window.setWindowTitle(_(f"Pixmill {n}"))
    QPushButton("Cancel", window)
    sys.stderr.write("stopped\n")
    msg = ngettext("{n} file", "{n} files", n).format(n=n)
    if n:
        return "cancelled"
    return msg
'''


@pytest.mark.timeout(30)
def test_the_scan_finds_unmarked_text_and_leaves_machine_text(tmp_path):
    (tmp_path / "sample.py").write_text(_SAMPLE, encoding="utf-8")
    findings, marked = scan(tmp_path / "sample.py", tmp_path)
    assert {(f.text, f.why) for f in findings} == {
        ("files like this are bad", "unmarked prose"),
        ("file is broken", "user text passed to ConversionError()"),
        ("frame {} was lost", "user text passed to warn()"),
        ("Start", "user text passed to setText()"),
        ("Pixmill {}", "an f-string cannot be translated: use .format()"),
        ("Cancel", "user text passed to QPushButton()"),
        ("stopped\n", "user text passed to write()"),
        ("cancelled", "user text returned by describe_thing()"),
    }
    assert sorted(text for _line, text in marked) == sorted(
        ["vector images are not supported", "Convert every file", "{n} file", "{n} files"]
    )
