"""Pixmill's translation catalogues, with Babel's API (a development tool, never imported by the
app): extract the messages into resources/locale/pixmill.pot, start or update a language's
.po file from it, and compile every .po into the .mo file the app reads.

    python packaging/catalogs.py extract        # sources -> resources/locale/pixmill.pot
    python packaging/catalogs.py init zh_TW     # a new language: resources/locale/zh_TW/...po
    python packaging/catalogs.py update         # every .po gains the .pot's new messages
    python packaging/catalogs.py compile [DIR]  # every .po -> .mo beside it (or under DIR)

The same as `pybabel extract -F resources/locale/babel.cfg --no-default-keywords -k _
-k ngettext:1,2 -k N_ -k pgettext:1c,2 --add-comments=Translators:
-o resources/locale/pixmill.pot .`, then
`pybabel init/update/compile -D pixmill -d resources/locale`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from babel.messages.catalog import Catalog

ROOT = Path(__file__).resolve().parent.parent
LOCALE = ROOT / "resources" / "locale"
DOMAIN = "pixmill"
TEMPLATE = LOCALE / f"{DOMAIN}.pot"
MAPPING = LOCALE / "babel.cfg"
#: The functions whose literal arguments are messages (engine/i18n.py).
KEYWORDS: dict[str, object] = {
    "_": None,
    "ngettext": (1, 2),
    "N_": None,
    "pgettext": ((1, "c"), 2),
}
COMMENT_TAGS = ("Translators:",)
HEADER = """\
# Messages of Pixmill (the engine, the CLI and the window), extracted from the sources by
# `python packaging/catalogs.py extract`. Do not edit by hand: translate a copy made by `init`.
# Copyright (C) YEAR The Pixmill authors
# This file is distributed under the same license as the Pixmill project.
#"""


def _method_map() -> tuple[list[tuple[str, str]], dict[str, dict[str, str]]]:
    from babel.messages.frontend import parse_mapping_cfg

    with open(MAPPING, encoding="utf-8") as f:
        return parse_mapping_cfg(f, filename=str(MAPPING))


def extracted(
    root: Path = ROOT,
) -> Iterator[tuple[str, int, str | tuple[str, ...], list[str], str | None]]:
    """(file, line, message, translator comments, context) for every marked message under
    root, as babel.cfg and KEYWORDS select them."""
    from babel.messages.extract import extract_from_dir

    method_map, options_map = _method_map()
    yield from extract_from_dir(
        str(root),
        method_map,
        options_map,
        keywords=KEYWORDS,
        comment_tags=COMMENT_TAGS,
        strip_comment_tags=True,
    )


def template(root: Path = ROOT) -> Catalog:
    """The catalogue of every marked message, as `extract` writes it."""
    from babel.messages.catalog import Catalog

    catalog = Catalog(
        domain=DOMAIN,
        header_comment=HEADER,
        project="Pixmill",
        version=_version(),
        copyright_holder="The Pixmill authors",
        msgid_bugs_address="https://github.com/pixmill/pixmill/issues",
        charset="utf-8",
    )
    for filename, lineno, message, comments, context in extracted(root):
        catalog.add(
            message,
            None,
            [(Path(filename).as_posix(), lineno)],
            auto_comments=comments,
            context=context,
        )
    return catalog


def _version() -> str:
    for line in (ROOT / "engine" / "__init__.py").read_text(encoding="utf-8").splitlines():
        if line.startswith("__version__"):
            return line.split("=", 1)[1].strip().strip("\"'")
    return "0"


def extract() -> Path:
    from babel.messages.pofile import write_po

    with open(TEMPLATE, "wb") as f:
        write_po(f, template(), width=100, sort_by_file=True)
    return TEMPLATE


def po_files(locale_dir: Path = LOCALE) -> list[Path]:
    return sorted(locale_dir.glob(f"*/LC_MESSAGES/{DOMAIN}.po"))


def _read(path: Path) -> Catalog:
    from babel.messages.pofile import read_po

    with open(path, "rb") as f:
        return read_po(f, domain=DOMAIN, abort_invalid=True)


def init(language: str) -> Path:
    """A new language's .po file from the template (all messages untranslated)."""
    from babel.messages.pofile import write_po

    po = LOCALE / language / "LC_MESSAGES" / f"{DOMAIN}.po"
    if po.exists():
        raise SystemExit(f"{po} exists already; use `update`")
    catalog = _read(TEMPLATE)
    catalog.locale = language
    catalog.header_comment = (
        f"# {language} translation of Pixmill's messages (see README.md, Languages).\n"
        "# Copyright (C) YEAR The Pixmill authors\n"
        "# This file is distributed under the same license as the Pixmill project.\n#"
    )
    catalog.fuzzy = False
    catalog.revision_date = catalog.creation_date
    po.parent.mkdir(parents=True, exist_ok=True)
    with open(po, "wb") as f:
        write_po(f, catalog, width=100)
    return po


def update() -> list[Path]:
    """Every .po file gains the template's new messages and loses the ones gone (kept as
    obsolete entries); a changed message is marked fuzzy for the translator."""
    from babel.messages.pofile import write_po

    source = _read(TEMPLATE)
    done = []
    for po in po_files():
        catalog = _read(po)
        catalog.update(source, update_header_comment=False)
        with open(po, "wb") as f:
            write_po(f, catalog, width=100, ignore_obsolete=False)
        done.append(po)
    return done


def compile_catalogs(out_dir: Path | None = None, locale_dir: Path = LOCALE) -> list[Path]:
    """Compile every <lang>/LC_MESSAGES/pixmill.po under locale_dir into a .mo file beside
    it, or under out_dir with the same layout. Fuzzy entries are left out (English shows
    instead). Returns the .mo files written."""
    from babel.messages.mofile import write_mo

    written = []
    for po in po_files(locale_dir):
        catalog = _read(po)
        errors = [(m.id, e) for m, errs in catalog.check() for e in errs]
        if errors:
            raise SystemExit(f"{po}: {errors[0][0]!r}: {errors[0][1]}")
        target = po.with_suffix(".mo")
        if out_dir is not None:
            target = Path(out_dir) / po.relative_to(locale_dir).with_suffix(".mo")
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(target.name + ".part")
        with open(tmp, "wb") as f:
            write_mo(f, catalog, use_fuzzy=False)
        tmp.replace(target)
        written.append(target)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="packaging/catalogs.py", description="Pixmill's translation catalogues, with Babel."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("extract", help="write resources/locale/pixmill.pot from the sources")
    sub.add_parser("update", help="merge the .pot's changes into every .po")
    p_init = sub.add_parser("init", help="start a language's .po from the .pot")
    p_init.add_argument("language", help="its code, e.g. zh_TW, de, pt_BR")
    p_compile = sub.add_parser("compile", help="compile every .po into a .mo")
    p_compile.add_argument("out_dir", nargs="?", type=Path, help="default: beside each .po")
    args = parser.parse_args(argv)
    if args.command == "extract":
        print(extract())
    elif args.command == "update":
        for po in update():
            print(po)
    elif args.command == "init":
        print(init(args.language))
    else:
        for mo in compile_catalogs(args.out_dir):
            print(mo)
    return 0


if __name__ == "__main__":
    sys.exit(main())
