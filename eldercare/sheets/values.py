"""Cell values as township staff type them (DOMAIN.md §8). Pure functions: a raw cell in, a
Python value out, or `CellError` with a Chinese message. No Django, no ORM.

Conventions shared by every kind:
- a blank cell means "leave the stored value unchanged" -> `UNCHANGED`;
- the word 清空 clears the value -> `CLEAR`;
- numbers may carry units and thousands separators ("120张", "1,200", full-width "１２０");
- booleans: 是/有/√/Y -> True, 否/无/×/N -> False, 未填报 -> None;
- dates: Excel serials, 2025/1/5, 2025-01-05, 2025.1.5, 2025年1月5日, datetime cells;
- long numbers Excel turned into 4.40524E+17 are refused with a message to format as text.

Each reader repeats the same few lines for None / blank / 清空 instead of calling a shared
helper: these run for every cell of a 100k-row sheet, and the inlined checks (with type fast
paths) made row parsing ~3.5× faster (docs/benchmarks.md). Keep them in step when editing.
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


_FOLD_TABLE = {0x3000: " ", **{code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)}}
_NEEDS_FOLD = re.compile("[\u3000\uff01-\uff5e]").search  # far cheaper than translating
_MISSING = object()


def fold(text) -> str:
    """Trim, fold full-width ASCII to half-width, ideographic space to a space."""
    if text is None:
        return ""
    if type(text) is not str:
        text = str(text)
    if "\x00" in text:  # never meant, and PostgreSQL text cannot hold it
        text = text.replace("\x00", "")
    if text.isascii() or not _NEEDS_FOLD(text):  # nothing to fold: the common case
        return text.strip()
    return text.translate(_FOLD_TABLE).strip()


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
_UNIT_CHARS = frozenset("张个人名家床户所次元%％")  # the one-character units of `_UNITS`
_SCI_ERROR = "该列的长数字已被 Excel 转成科学计数法（如 4.40524E+17），请把该列设置为“文本”格式后重新填写。"
_FLOAT_CODE_ERROR = "该列的长数字已被 Excel 转成科学计数法或丢失精度，请把该列设置为“文本”格式后重新填写。"
_EXACT_FLOAT = 2.0**53  # below this, an integral float's repr is its exact integer


def text(raw, *, max_length: int | None = None):
    if raw is None:
        return UNCHANGED
    if isinstance(raw, str):
        value = fold(raw)
        if value == "":
            return UNCHANGED
        if value in CLEAR_WORDS:
            return CLEAR
    else:
        if isinstance(raw, float) and raw.is_integer():
            raw = int(raw)
        value = fold(raw)
    # Collapse whitespace runs to one space; `fold` has already trimmed both ends, and
    # str.split() uses the same notion of whitespace as the regex `\s`.
    value = " ".join(value.split())
    if max_length and len(value) > max_length:
        raise CellError(f"内容过长（最多{max_length}个字）。")
    return value


def code_text(raw):
    """Identifiers kept as text (credit codes, ID numbers): refuse Excel's scientific form."""
    if raw is None:
        return UNCHANGED
    if isinstance(raw, str):
        value = fold(raw)
        if value == "":
            return UNCHANGED
        if value in CLEAR_WORDS:
            return CLEAR
    else:
        if isinstance(raw, float):
            if raw >= 1e15 or not raw.is_integer():
                raise CellError(_FLOAT_CODE_ERROR)
            raw = int(raw)
        value = fold(raw)
    value = value.replace(" ", "")
    if ("E" in value or "e" in value) and _SCI.match(value):
        raise CellError(_SCI_ERROR)
    return value.upper()


def _strip_unit(cleaned: str) -> str:
    if cleaned.endswith("\n"):  # `$` also matches before a final newline: leave it to the regex
        return _UNITS.sub("", cleaned)
    if cleaned.endswith("人次"):
        return cleaned[:-2]
    if cleaned[-1:] in _UNIT_CHARS:
        return cleaned[:-1]
    return cleaned


def integer(raw, *, minimum: int | None = 0, maximum: int | None = None):
    if raw is None:
        return UNCHANGED
    kind = type(raw)
    if kind is int:
        number = raw
    elif kind is float and raw.is_integer() and -_EXACT_FLOAT < raw < _EXACT_FLOAT:
        number = int(raw)
    elif kind is str or isinstance(raw, str):
        folded = fold(raw)
        if folded == "":
            return UNCHANGED
        if folded in CLEAR_WORDS:
            return CLEAR
        number = _integer_text(folded)
    elif isinstance(raw, bool):
        raise CellError("应为整数。")
    elif isinstance(raw, (int, float, Decimal)):
        try:
            number = _integral(Decimal(str(raw)))
        except InvalidOperation as exc:
            raise CellError(f"“{raw}”不是数字。") from exc
    else:
        number = _integer_text(fold(raw))
    if minimum is not None and number < minimum:
        raise CellError(f"不能小于{minimum}。")
    if maximum is not None and number > maximum:
        raise CellError(f"不能大于{maximum}。")
    return number


def _integer_text(folded: str) -> int:
    if folded.isdigit() and folded.isascii():  # plain 120: nothing to clean
        return int(folded)
    cleaned = _strip_unit(folded.replace(",", "").replace("，", "").replace(" ", ""))
    if cleaned.isascii() and cleaned.isdigit():
        return int(cleaned)
    try:
        value = Decimal(cleaned)
    except InvalidOperation as exc:
        raise CellError(f"“{folded}”不是数字。") from exc
    return _integral(value)


def _integral(value: Decimal) -> int:
    if not value.is_finite():
        raise CellError(f"“{value}”不是数字。")
    if value != value.to_integral_value():
        raise CellError(f"应为整数，实际为 {value}。")
    return int(value)


_QUANTUM_6 = Decimal(1).scaleb(-6)


def decimal(raw, *, places: int = 6):
    if raw is None:
        return UNCHANGED
    if isinstance(raw, str):
        folded = fold(raw)
        if folded == "":
            return UNCHANGED
        if folded in CLEAR_WORDS:
            return CLEAR
        number = folded.replace(",", "")
    elif isinstance(raw, (int, float, Decimal)):
        number = str(raw)
    else:
        number = fold(raw).replace(",", "")
    try:
        value = Decimal(number)
        if not value.is_finite():
            raise InvalidOperation
        return value.quantize(_QUANTUM_6 if places == 6 else Decimal(1).scaleb(-places))
    except InvalidOperation as exc:
        raise CellError(f"“{fold(raw)}”不是数字。") from exc


TRUE_WORDS = {"是", "有", "√", "✓", "Y", "YES", "TRUE", "1", "对"}
FALSE_WORDS = {"否", "无", "×", "✗", "X", "N", "NO", "FALSE", "0", "没有"}
UNKNOWN_WORDS = {"未填报", "不详", "未知"}


def flag(raw):
    """Tri-state: True / False / None (未填报); blank = unchanged."""
    if raw is None:
        return UNCHANGED
    if isinstance(raw, str):
        folded = fold(raw)
        if folded == "":
            return UNCHANGED
        if folded in CLEAR_WORDS:
            return CLEAR
    else:
        if isinstance(raw, bool):
            return raw
        if isinstance(raw, (int, float)) and raw in (0, 1):
            return bool(raw)
        folded = fold(raw)
    word = folded.upper()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    if word in UNKNOWN_WORDS:
        return None
    raise CellError(f"“{folded}”无法识别，请填 是/否（或 有/无、√/×、Y/N）。")


_EXCEL_EPOCH = datetime.date(1899, 12, 30)
_DATE_PATTERNS = [
    re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})$"),
    re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})日?$"),
    re.compile(r"^(\d{4})(\d{2})(\d{2})$"),
]
_TIME_PART = re.compile(r"[T ]?\d{1,2}:\d{2}(:\d{2})?$")  # a time part from datetime text
_SERIAL_TEXT = re.compile(r"\d+(\.\d+)?")


def date(raw):
    if raw is None:
        return UNCHANGED
    if isinstance(raw, str):
        value = fold(raw)
        if value == "":
            return UNCHANGED
        if value in CLEAR_WORDS:
            return CLEAR
    else:
        if isinstance(raw, datetime.datetime):
            return raw.date()
        if isinstance(raw, datetime.date):
            return raw
        if isinstance(raw, (int, float)) and not isinstance(raw, bool):
            if 1 <= raw < 80000:  # an Excel serial (1900 system): 45672 = 2025-01-15
                return _EXCEL_EPOCH + datetime.timedelta(days=int(raw))
            raise CellError(f"“{raw}”不是有效日期。")
        value = fold(raw)
    if ":" in value:
        # Strip a time part before the spaces go, so "2025/01/05 8:30" keeps its day.
        value = _TIME_PART.sub("", value.strip())
    value = value.replace(" ", "")
    for pattern in _DATE_PATTERNS:
        m = pattern.match(value)
        if m:
            try:
                return datetime.date(int(m[1]), int(m[2]), int(m[3]))
            except ValueError as exc:
                raise CellError(f"“{value}”不是有效日期。") from exc
    if _SERIAL_TEXT.fullmatch(value):
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
    # Same precedence as the inverse lookup {label: code} updated with `synonyms`, without
    # building it: a synonym wins, then the last code carrying the label, then a code itself.
    if synonyms and value in synonyms:
        return synonyms[value]
    for code, label in reversed(labels.items()):
        if label == value:
            return code
    if value in labels:
        return value
    allowed = "、".join(labels.values())
    raise CellError(f"“{value}”不是有效的{column or '取值'}，可选：{allowed}。")


def chooser(labels: dict[str, str], *, synonyms: dict[str, str] | None = None, column: str = ""):
    """`choice` with its lookup built once: returns `read(raw)` behaving as
    `choice(raw, labels, synonyms=synonyms, column=column)` for the labels and synonyms as they
    are now (they are copied). For fixed enumerations read row after row."""
    lookup = {label: code for code, label in labels.items()}
    lookup.update(synonyms or {})
    codes = frozenset(labels)
    what = column or "取值"
    allowed = "、".join(labels.values())

    def read(raw):
        if raw is None:
            return UNCHANGED
        value = fold(raw)
        if isinstance(raw, str):
            if value == "":
                return UNCHANGED
            if value in CLEAR_WORDS:
                return CLEAR
        code = lookup.get(value, _MISSING)
        if code is not _MISSING:
            return code
        if value in codes:
            return value
        raise CellError(f"“{value}”不是有效的{what}，可选：{allowed}。")

    return read


def is_total_row(cells) -> bool:
    """A trailing 合计/总计 row: its first non-blank cell is one of those words."""
    for cell in cells:
        text_value = fold(cell)
        if text_value:
            return text_value.replace(" ", "") in TOTAL_WORDS or text_value.startswith(("合计", "总计"))
    return False
