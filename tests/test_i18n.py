"""The message catalogues: complete, compiled, and used by Django.

After changing user-facing strings run `make messages`, translate what is new in
src/quanwang/locale/zh_Hans/LC_MESSAGES/django.po, and run `make messages` again so that
the committed .mo files match the .po files.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import polib
import pytest
from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext

from quanwang.core.choices import Role

LOCALE_DIR = Path(settings.LOCALE_PATHS[0])
LANGUAGES = ["zh_Hans", "en"]
CJK = re.compile(r"[\u4e00-\u9fff]")

# %(name)s, %(n)d, %(value)r, %s, %% ...; {{ name }} (templates); {name} (str.format).
PLACEHOLDER = re.compile(
    r"%(?:\([^)]+\))?[-#0 +]*(?:\*|\d+)?(?:\.(?:\*|\d+))?[diouxXeEfFgGcrsa%]"
    r"|\{\{\s*[^{}]+?\s*\}\}"
    r"|(?<!\{)\{\w*(?:![rsa])?(?::[^{}]*)?\}(?!\})"
)


def po_path(language: str) -> Path:
    return LOCALE_DIR / language / "LC_MESSAGES" / "django.po"


def live_entries(language: str) -> list[polib.POEntry]:
    return [e for e in polib.pofile(str(po_path(language))) if not e.obsolete]


def placeholders(text: str) -> Counter[str]:
    return Counter(re.sub(r"\s+", "", m) for m in PLACEHOLDER.findall(text))


def catalogue(entries: list[polib.POEntry] | polib.MOFile) -> dict[tuple[str, ...], object]:
    """(msgctxt, msgid, msgid_plural) -> translation, for what a compiled catalogue holds."""
    pairs: dict[tuple[str, ...], object] = {}
    for entry in entries:
        if not entry.msgid:  # the header
            continue
        key = (entry.msgctxt or "", entry.msgid, entry.msgid_plural or "")
        if entry.msgid_plural:
            pairs[key] = tuple(entry.msgstr_plural[i] for i in sorted(entry.msgstr_plural))
        else:
            pairs[key] = entry.msgstr
    return pairs


@pytest.mark.parametrize("language", LANGUAGES)
def test_catalogue_files_exist(language: str) -> None:
    assert po_path(language).is_file()
    assert po_path(language).with_suffix(".mo").is_file()


def test_zh_hans_catalogue_is_fully_translated() -> None:
    entries = live_entries("zh_Hans")
    assert entries
    fuzzy = [e.msgid for e in entries if e.fuzzy]
    untranslated = [e.msgid for e in entries if not e.translated()]
    assert not fuzzy, f"fuzzy entries: {fuzzy}"
    assert not untranslated, f"untranslated entries: {untranslated}"


def test_en_catalogue_leaves_english_msgids_alone() -> None:
    translated = [e.msgid for e in live_entries("en") if e.translated()]
    assert not translated, f"English msgids need no msgstr: {translated}"


@pytest.mark.parametrize("language", LANGUAGES)
def test_compiled_catalogue_matches_po(language: str) -> None:
    po = polib.pofile(str(po_path(language)))
    expected = catalogue([e for e in po if not e.obsolete and not e.fuzzy and e.translated()])
    compiled = catalogue(polib.mofile(str(po_path(language).with_suffix(".mo"))))
    assert compiled == expected, "the .mo is out of date: run `make messages`"


def test_zh_hans_placeholders_match_msgids() -> None:
    wrong = []
    for entry in live_entries("zh_Hans"):
        if entry.msgid_plural:
            source = placeholders(entry.msgid_plural)
            targets = list(entry.msgstr_plural.values())
        else:
            source = placeholders(entry.msgid)
            targets = [entry.msgstr]
        wrong += [(entry.msgid, t) for t in targets if t and placeholders(t) != source]
    assert not wrong, f"placeholders differ: {wrong}"


def test_placeholder_pattern() -> None:
    assert placeholders("%(n)d of %(total)s, %(v)r, %s %% {{ n }} {x} {{y}}") == Counter(
        ["%(n)d", "%(total)s", "%(v)r", "%s", "%%", "{{n}}", "{x}", "{{y}}"]
    )


def test_gettext_uses_the_catalogues() -> None:
    with translation.override("zh-hans"):
        chinese = gettext("Org units")
        role = str(Role.GRID_MANAGER.label)
    assert CJK.search(chinese), chinese
    assert chinese == "组织单元"
    assert role == "网格长"
    with translation.override("en"):
        assert gettext("Org units") == "Org units"
        assert str(Role.GRID_MANAGER.label) == "Grid manager"


def test_default_language_is_chinese() -> None:
    assert settings.LANGUAGE_CODE == "zh-hans"
    with translation.override(settings.LANGUAGE_CODE):
        assert gettext("Audit log") == "审计日志"
