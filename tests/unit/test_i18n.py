"""The Chinese catalogue is complete and the compiled .mo matches the .po."""

import gettext
import re
from pathlib import Path

PO = Path(__file__).resolve().parents[2] / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"


def parse_po(text: str) -> list[tuple[str, str, bool]]:
    """[(msgid, msgstr, fuzzy)] for singular entries (the catalogue has no plurals)."""
    entries = []
    for block in text.split("\n\n"):
        fuzzy = "#, fuzzy" in block
        msgid = "".join(re.findall(r'"(.*)"', re.search(r"^msgid (.*?)^msgstr", block, re.S | re.M).group(1))) if "msgid" in block else None
        m = re.search(r"^msgstr (.*)", block, re.S | re.M)
        if msgid is None or not m:
            continue
        msgstr = "".join(re.findall(r'"(.*)"', m.group(1)))
        entries.append((msgid, msgstr, fuzzy))
    return entries


def unescape(s: str) -> str:
    return s.encode("utf-8").decode("unicode_escape").encode("latin-1").decode("utf-8")


def test_every_message_translated_and_none_fuzzy():
    entries = [e for e in parse_po(PO.read_text(encoding="utf-8")) if e[0]]
    assert len(entries) > 100
    assert [m for m, s, _f in entries if not s] == []
    assert [m for m, _s, f in entries if f] == []


def test_compiled_catalogue_matches_the_source():
    mo = gettext.GNUTranslations(open(PO.with_suffix(".mo"), "rb"))
    for msgid, msgstr, _f in parse_po(PO.read_text(encoding="utf-8")):
        if msgid:
            assert mo.gettext(unescape(msgid)) == unescape(msgstr), msgid


def test_placeholders_survive_translation():
    for msgid, msgstr, _f in parse_po(PO.read_text(encoding="utf-8")):
        assert sorted(re.findall(r"%\(\w+\)[sd]", msgid)) == sorted(re.findall(r"%\(\w+\)[sd]", msgstr)), msgid
