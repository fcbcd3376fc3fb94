"""Pure helpers for 12-digit 统计用区划代码 (DOMAIN.md §2): 2 province, 2 city, 2 county,
3 township, 3 village. The level is where the trailing zeros begin. No ORM here."""

from __future__ import annotations

import re

PROVINCE, CITY, COUNTY, TOWNSHIP, VILLAGE = 1, 2, 3, 4, 5
# Length of the significant prefix at each level.
PREFIX_LEN = {PROVINCE: 2, CITY: 4, COUNTY: 6, TOWNSHIP: 9, VILLAGE: 12}
_CODE_RE = re.compile(r"^\d{12}$")


class RegionCodeError(ValueError):
    """A code that is not a valid 12-digit division code."""


def normalise(raw: object) -> str:
    """Return the 12-digit code as a string; accepts ints and short codes padded with zeros
    (e.g. a 6-digit county code 370306 -> 370306000000), which is how spreadsheets arrive."""
    text = str(raw).strip()
    if text.endswith(".0"):
        text = text[:-2]
    if re.fullmatch(r"\d{6}|\d{9}", text):
        text = text.ljust(12, "0")
    if not _CODE_RE.match(text):
        raise RegionCodeError(text)
    if text[:2] == "00":
        raise RegionCodeError(text)
    return text


def level_of(code: str) -> int:
    """Level from where the trailing zeros begin."""
    if code[2:] == "0" * 10:
        return PROVINCE
    if code[4:] == "0" * 8:
        return CITY
    if code[6:] == "0" * 6:
        return COUNTY
    if code[9:] == "000":
        return TOWNSHIP
    return VILLAGE


def prefix_of(code: str) -> str:
    """The prefix every descendant's code starts with (the scope key)."""
    return code[: PREFIX_LEN[level_of(code)]]


def implied_parent(code: str) -> str | None:
    """The parent a code implies by its digits (a village's township, …); None for a province."""
    level = level_of(code)
    if level == PROVINCE:
        return None
    keep = PREFIX_LEN[level - 1]
    return code[:keep].ljust(12, "0")


def is_within(code: str, ancestor: str) -> bool:
    return code.startswith(prefix_of(ancestor))
