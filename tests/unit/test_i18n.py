"""The Chinese catalogue is complete and the compiled .mo matches the .po."""

import gettext
import re
from pathlib import Path

PO = Path(__file__).resolve().parents[2] / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"


def parse_po(text: str) -> list[tuple[str, str, bool]]:
    """[(msgid, msgstr, fuzzy)]; for plural entries the msgid is (singular, plural) and the
    msgstr is msgstr[0] (Chinese has one form)."""
    entries = []
    for block in text.split("\n\n"):
        fuzzy = "#, fuzzy" in block
        m_id = re.search(r"^msgid (.*?)^(?:msgid_plural|msgstr)", block, re.S | re.M)
        m_str = re.search(r"^msgstr(?:\[0\])? (.*)", block, re.S | re.M)
        if not m_id or not m_str:
            continue
        msgid = "".join(re.findall(r'"(.*)"', m_id.group(1)))
        m_pl = re.search(r"^msgid_plural (.*?)^msgstr", block, re.S | re.M)
        if m_pl:
            msgid = (msgid, "".join(re.findall(r'"(.*)"', m_pl.group(1))))
        msgstr = "".join(re.findall(r'"(.*)"', m_str.group(1).split("\nmsgstr[")[0]))
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
        if isinstance(msgid, tuple):
            assert mo.ngettext(unescape(msgid[0]), unescape(msgid[1]), 1) == unescape(msgstr), msgid
        elif msgid:
            assert mo.gettext(unescape(msgid)) == unescape(msgstr), msgid


def test_placeholders_survive_translation():
    for msgid, msgstr, _f in parse_po(PO.read_text(encoding="utf-8")):
        msgid = msgid[0] if isinstance(msgid, tuple) else msgid
        assert sorted(re.findall(r"%\(\w+\)[sd]", msgid)) == sorted(re.findall(r"%\(\w+\)[sd]", msgstr)), (
            msgid
        )
