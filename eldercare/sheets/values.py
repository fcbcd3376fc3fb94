"""Cell values as township staff type them (DOMAIN.md §8). Pure functions: a raw cell in, a
Python value out, or `CellError` with a Chinese message. No Django, no ORM.

Conventions shared by every kind:
- a blank cell means "leave the stored value unchanged" -> `UNCHANGED`;
- the word 清空 clears the value -> `CLEAR`;
- numbers may carry units and thousands separators ("120张", "1,200", full-width "１２０");
- booleans: 是/有/√/Y -> True, 否/无/×/N -> False, 未填报 -> None;
- dates: Excel serials, 2025/1/5, 2025-01-05, 2025.1.5, 2025年1月5日, datetime cells;
- long numbers Excel turned into 4.40524E+17 are refused with a message to format as text.
"""

from __future__ import annotations

import datetime
import re
from decimal import Decimal, InvalidOperation


class _Marker:
    def __init__(self, name):
        self.name = name

    def __repr__(self):
        return self.name

    def __bool__(self):
        return False


UNCHANGED = _Marker("UNCHANGED")
CLEAR = _Marker("CLEAR")
CLEAR_WORDS = {"清空"}
TOTAL_WORDS = {"合计", "总计", "小计"}


class CellError(ValueError):
    """A value that cannot be read; the message is Chinese and names the problem."""


def fold(text) -> str:
    """Trim, fold full-width ASCII to half-width, ideographic space to a space."""
    if text is None:
        return ""
    out = []
    for ch in str(text):
        code = ord(ch)
        if code == 0x3000:
            out.append(" ")
        elif 0xFF01 <= code <= 0xFF5E:
            out.append(chr(code - 0xFEE0))
        else:
            out.append(ch)
    return "".join(out).strip()


def _blank_or_clear(raw):
    if raw is None:
        return UNCHANGED
    if isinstance(raw, str):
        text = fold(raw)
        if text == "":
            return UNCHANGED
        if text in CLEAR_WORDS:
            return CLEAR
    return None


_SCI = re.compile(r"^[+-]?\d(\.\d+)?[eE]\+?\d+$")
_UNITS = re.compile(r"(张|个|人|名|家|床|户|所|次|人次|元|%|％)$")


def text(raw, *, max_length: int | None = None):
    special = _blank_or_clear(raw)
    if special is not None:
        return special
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)
    value = re.sub(r"\s+", " ", fold(raw))
    if max_length and len(value) > max_length:
        raise CellError(f"内容过长（最多{max_length}个字）。")
    return value


def code_text(raw):
    """Identifiers kept as text (credit codes, ID numbers): refuse Excel's scientific form."""
    special = _blank_or_clear(raw)
    if special is not None:
        return special
    if isinstance(raw, float):
        if raw >= 1e15 or not raw.is_integer():
            raise CellError(
                "该列的长数字已被 Excel 转成科学计数法或丢失精度，请把该列设置为“文本”格式后重新填写。"
            )
        raw = int(raw)
    value = fold(raw).replace(" ", "")
    if _SCI.match(value):
        raise CellError(
            "该列的长数字已被 Excel 转成科学计数法（如 4.40524E+17），请把该列设置为“文本”格式后重新填写。"
        )
    return value.upper()


def integer(raw, *, minimum: int | None = 0, maximum: int | None = None):
    special = _blank_or_clear(raw)
    if special is not None:
        return special
    if isinstance(raw, bool):
        raise CellError("应为整数。")
    if isinstance(raw, (int, float, Decimal)):
        value = Decimal(str(raw))
    else:
        cleaned = _UNITS.sub("", fold(raw).replace(",", "").replace("，", "").replace(" ", ""))
        try:
            value = Decimal(cleaned)
        except InvalidOperation as exc:
            raise CellError(f"“{fold(raw)}”不是数字。") from exc
    if value != value.to_integral_value():
        raise CellError(f"应为整数，实际为 {value}。")
    number = int(value)
    if minimum is not None and number < minimum:
        raise CellError(f"不能小于{minimum}。")
    if maximum is not None and number > maximum:
        raise CellError(f"不能大于{maximum}。")
    return number


def decimal(raw, *, places: int = 6):
    special = _blank_or_clear(raw)
    if special is not None:
        return special
    try:
        value = (
            Decimal(str(raw))
            if isinstance(raw, (int, float, Decimal))
            else Decimal(fold(raw).replace(",", ""))
        )
    except InvalidOperation as exc:
        raise CellError(f"“{fold(raw)}”不是数字。") from exc
    return value.quantize(Decimal(1).scaleb(-places))


TRUE_WORDS = {"是", "有", "√", "✓", "Y", "YES", "TRUE", "1", "对"}
FALSE_WORDS = {"否", "无", "×", "✗", "X", "N", "NO", "FALSE", "0", "没有"}
UNKNOWN_WORDS = {"未填报", "不详", "未知"}


def flag(raw):
    """Tri-state: True / False / None (未填报); blank = unchanged."""
    special = _blank_or_clear(raw)
    if special is not None:
        return special
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, (int, float)) and raw in (0, 1):
        return bool(raw)
    word = fold(raw).upper()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    if word in UNKNOWN_WORDS:
        return None
    raise CellError(f"“{fold(raw)}”无法识别，请填 是/否（或 有/无、√/×、Y/N）。")


_EXCEL_EPOCH = datetime.date(1899, 12, 30)
_DATE_PATTERNS = [
    re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})$"),
    re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})日?$"),
    re.compile(r"^(\d{4})(\d{2})(\d{2})$"),
]


def date(raw):
    special = _blank_or_clear(raw)
    if special is not None:
        return special
    if isinstance(raw, datetime.datetime):
        return raw.date()
    if isinstance(raw, datetime.date):
        return raw
    if isinstance(raw, (int, float)) and not isinstance(raw, bool):
        if 1 <= raw < 80000:  # an Excel serial (1900 system): 45672 = 2025-01-15
            return _EXCEL_EPOCH + datetime.timedelta(days=int(raw))
        raise CellError(f"“{raw}”不是有效日期。")
    value = fold(raw).replace(" ", "")
    value = re.sub(r"[T ]?\d{1,2}:\d{2}(:\d{2})?$", "", value)  # a time part from datetime text
    for pattern in _DATE_PATTERNS:
        m = pattern.match(value)
        if m:
            y, mo, d = (int(g) for g in m.groups())
            try:
                return datetime.date(y, mo, d)
            except ValueError as exc:
                raise CellError(f"“{value}”不是有效日期。") from exc
    if re.fullmatch(r"\d+(\.\d+)?", value):
        return date(float(value))
    raise CellError(f"“{value}”无法识别为日期，请写成 2025-01-05 或 2025年1月5日。")


_MONTH_PATTERNS = [
    re.compile(r"^(\d{4})[-/.](\d{1,2})$"),
    re.compile(r"^(\d{4})年(\d{1,2})月?$"),
    re.compile(r"^(\d{4})(\d{2})$"),
]


def month(raw):
    """A reporting month (2025-01, 2025/1, 2025年1月, an Excel date) -> the first day of it."""
    special = _blank_or_clear(raw)
    if special is not None:
        return special
    if isinstance(raw, (datetime.date, int, float)) and not isinstance(raw, bool):
        return date(raw).replace(day=1)
    value = fold(raw).replace(" ", "")
    for pattern in _MONTH_PATTERNS:
        m = pattern.match(value)
        if m:
            y, mo = (int(g) for g in m.groups())
            if 1 <= mo <= 12:
                return datetime.date(y, mo, 1)
    try:
        return date(value).replace(day=1)
    except CellError as exc:
        raise CellError(f"“{value}”无法识别为年月，请写成 2025-01 或 2025年1月。") from exc


def choice(raw, labels: dict[str, str], *, synonyms: dict[str, str] | None = None, column: str = ""):
    """A Chinese label (or the API code itself) -> the code."""
    special = _blank_or_clear(raw)
    if special is not None:
        return special
    value = fold(raw)
    lookup = {label: code for code, label in labels.items()}
    lookup.update(synonyms or {})
    if value in lookup:
        return lookup[value]
    if value in labels:
        return value
    allowed = "、".join(labels.values())
    raise CellError(f"“{value}”不是有效的{column or '取值'}，可选：{allowed}。")


def is_total_row(cells) -> bool:
    """A trailing 合计/总计 row: its first non-blank cell is one of those words."""
    for cell in cells:
        text_value = fold(cell)
        if text_value:
            return text_value.replace(" ", "") in TOTAL_WORDS or text_value.startswith(("合计", "总计"))
    return False
