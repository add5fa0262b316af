"""The catalogues: the .pot holds exactly what the sources mark, and every language's .po
translates every message of it, completely, with the same placeholders, and compiles."""

from __future__ import annotations

import gettext
import string

import pytest
from babel.messages.pofile import read_po

from pixmill.engine.i18n import DOMAIN, LANGUAGE_NAMES

from .conftest import ROOT, load_catalogs

LOCALE = ROOT / "resources" / "locale"
LANGUAGES = sorted(p.parent.parent.name for p in LOCALE.glob(f"*/LC_MESSAGES/{DOMAIN}.po"))


def _read(path):
    with open(path, "rb") as f:
        return read_po(f, domain=DOMAIN)


def _keys(catalog) -> set[tuple[str | None, str | tuple[str, ...]]]:
    return {(m.context, m.id) for m in catalog if m.id}


def _fields(text: str) -> list[tuple[str, str, str | None]]:
    """The replacement fields of a str.format() message: name, format spec, conversion."""
    return sorted(
        (name, spec or "", conversion)
        for _literal, name, spec, conversion in string.Formatter().parse(text)
        if name is not None
    )


@pytest.mark.timeout(120)
def test_the_template_is_up_to_date_with_the_sources():
    extracted = load_catalogs().template()
    stored = _read(LOCALE / f"{DOMAIN}.pot")
    missing = _keys(extracted) - _keys(stored)
    gone = _keys(stored) - _keys(extracted)
    assert not missing and not gone, (
        "run `python packaging/catalogs.py extract` and `update`, then translate: "
        f"new {sorted(missing, key=str)}, removed {sorted(gone, key=str)}"
    )


@pytest.mark.timeout(30)
def test_simplified_chinese_is_there():
    assert "zh_CN" in LANGUAGES


@pytest.mark.timeout(60)
@pytest.mark.parametrize("language", LANGUAGES)
def test_every_message_is_translated_with_the_same_placeholders(language):
    template = _read(LOCALE / f"{DOMAIN}.pot")
    po = _read(LOCALE / language / "LC_MESSAGES" / f"{DOMAIN}.po")
    assert dict(po.mime_headers)["Language"] == language
    assert _keys(po) == _keys(template), "run `python packaging/catalogs.py update`"
    problems = []
    for message in po:
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if message.fuzzy:
            problems.append(f"fuzzy: {ids[0]!r}")
        if len(strings) != (po.num_plurals if message.pluralizable else 1):
            problems.append(f"wrong number of plural forms: {ids[0]!r}")
        expected = _fields(ids[0])
        if _fields(ids[-1]) != expected:
            problems.append(f"singular and plural differ in placeholders: {ids[0]!r}")
        for text in strings:
            if not text or not text.strip():
                problems.append(f"untranslated: {ids[0]!r}")
            elif _fields(text) != expected:
                problems.append(f"placeholders differ: {ids[0]!r} -> {text!r}")
    problems += [f"{m.id!r}: {e}" for m, errors in po.check() for e in errors]
    assert not problems, "\n".join(problems)


@pytest.mark.timeout(30)
def test_chinese_has_one_plural_form():
    po = _read(LOCALE / "zh_CN" / "LC_MESSAGES" / f"{DOMAIN}.po")
    assert po.plural_forms == "nplurals=1; plural=0;"


@pytest.mark.timeout(30)
@pytest.mark.parametrize("language", LANGUAGES)
def test_every_language_has_its_own_name(language):
    assert language in LANGUAGE_NAMES, "add the language's own name to i18n.LANGUAGE_NAMES"


@pytest.mark.timeout(60)
def test_the_compiled_catalogue_reads_with_gettext(compiled_locale):
    zh = gettext.translation(DOMAIN, str(compiled_locale), languages=["zh_CN"])
    assert zh.gettext("file is empty") == "文件为空"
    assert zh.ngettext("{count} converted", "{count} converted", 5) == "已转换 {count} 个"
    assert zh.pgettext("quality target", "balanced") == "均衡"
    assert not list(LOCALE.glob("*/LC_MESSAGES/*.mo.part"))
