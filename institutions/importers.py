"""Spreadsheet rows of the `institutions` kind -> validated facts (CONTRACT.md columns).

Pure: the row parser reads cells through `eldercare.sheets.values` and returns the facts it
could read plus row-located Chinese errors; no ORM. Lookups (regions in scope, the running
medical institution, existing records) and writes belong to the import service."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from functools import partial

from eldercare.regions import codes
from eldercare.sheets import values as v
from eldercare.sheets.headers import Column

from . import credit_code as cc
from . import enums

COLUMNS = [
    Column("机构名称", "name", required=True, synonyms=("单位名称", "名称")),
    Column("统一社会信用代码", "credit_code", synonyms=("信用代码", "社会信用代码")),
    Column("机构大类", "family", required=True),
    Column("机构类型", "type", required=True),
    Column("所属区划代码", "region", required=True, synonyms=("区划代码", "行政区划代码")),
    Column("举办性质", "ownership"),
    Column("等级", "grade"),
    Column("地址", "address"),
    Column("经度", "longitude"),
    Column("纬度", "latitude"),
    Column("成立日期", "opened_on"),
    Column("状态", "status"),
    Column("状态日期", "status_date"),
    Column("核定医疗床位数", "beds_medical", synonyms=("医疗床位数",)),
    Column("核定养老床位数", "beds_eldercare", synonyms=("养老床位数", "床位数")),
    Column("护理型床位数", "beds_nursing"),
    Column("执业医师数", "doctors"),
    Column("护士数", "nurses"),
    Column("养老护理员数", "caregivers"),
    Column("内设医疗机构", "internal_unit"),
    Column("举办医疗机构信用代码", "run_by"),
    *[Column(label, key) for key, label in enums.FLAGS],
]
CANONICAL = {c.key: c.canonical for c in COLUMNS}

_FAMILY_LABELS = dict(enums.Family.choices)
_OWNERSHIP_SYNONYMS = {"民营": "private"}
_GRADE_WORDS = {"一级": "1", "二级": "2", "三级": "3", "未定级": "none"}
_CLASS_WORDS = {"甲": "A", "乙": "B", "丙": "C"}


@dataclass
class ParsedRow:
    row: int
    facts: dict = field(default_factory=dict)  # only the cells the sheet filled (CLEAR -> None/"")
    credit_code: str = ""
    family: str = ""
    errors: list[dict] = field(default_factory=list)
    warnings: list[dict] = field(default_factory=list)

    def error(self, key, message):
        self.errors.append({"row": self.row, "column": CANONICAL.get(key, key), "message": message})

    def warn(self, key, message):
        self.warnings.append({"row": self.row, "column": CANONICAL.get(key, key), "message": message})


def parse_grade(raw):
    """二级甲等 / 二甲 / 二级 / 未定级 -> ("2", "A") etc."""
    value = v.text(raw)
    if value is v.UNCHANGED or value is v.CLEAR:
        return value, value
    text = value.replace("等", "")
    for word, code in _GRADE_WORDS.items():
        if text.startswith(word):
            rest = text[len(word) :]
            return code, _CLASS_WORDS.get(rest[:1], "") if rest else ""
    if text[:1] in "一二三" and text[1:2] in _CLASS_WORDS:
        return {"一": "1", "二": "2", "三": "3"}[text[:1]], _CLASS_WORDS[text[1:2]]
    raise v.CellError(
        f"“{value}”不是有效的等级，可填：一级、二级、三级、未定级，可带甲/乙/丙（如 二级甲等、二甲）。"
    )


def _set(row: ParsedRow, key, parsed, *, clear_value=None):
    if parsed is v.UNCHANGED:
        return
    row.facts[key] = clear_value if parsed is v.CLEAR else parsed


# Readers built once (not per row): each behaves as the `v.choice` call it stands for.
_MEDICAL = enums.Family.MEDICAL
_READ_FAMILY = v.chooser(_FAMILY_LABELS, column="机构大类")
_READ_MEDICAL_TYPE = v.chooser(
    dict(enums.MedicalType.choices), synonyms=enums.TYPE_SYNONYMS, column="机构类型"
)
_READ_ELDERCARE_TYPE = v.chooser(
    dict(enums.EldercareType.choices), synonyms=enums.TYPE_SYNONYMS, column="机构类型"
)
_READ_OWNERSHIP = {
    family: v.chooser(labels, synonyms=_OWNERSHIP_SYNONYMS, column="举办性质")
    for family, labels in enums.OWNERSHIP_LABELS.items()
}
_READ_OWNERSHIP_NO_FAMILY = v.chooser({}, synonyms=_OWNERSHIP_SYNONYMS, column="举办性质")
_READ_NAME = partial(v.text, max_length=200)
# (key, reader, value stored for 清空), in the order the facts are filled.
# A count above this is a typing error (and would overflow the column): the largest 核定床位 of
# any Chinese institution is a few thousand.
MAX_COUNT = 100_000
_read_count = partial(v.integer, maximum=MAX_COUNT)
_read_status = v.chooser(dict(enums.Status.choices), column="状态")


def _read_status_no_clear(raw):
    value = _read_status(raw)
    if value is v.CLEAR:
        raise v.CellError("状态不能清空，可填：筹建中、运营中、停业、注销。")
    return value


def _coordinate(limit: int):
    def read(raw):
        value = v.decimal(raw)
        if isinstance(value, Decimal) and not (-limit <= value <= limit):
            raise v.CellError(f"应在 -{limit} 到 {limit} 之间（度）。")
        return value

    return read


_PLAIN_FIELDS = (
    ("address", partial(v.text, max_length=300), ""),
    ("longitude", _coordinate(180), None),
    ("latitude", _coordinate(90), None),
    ("opened_on", v.date, None),
    ("status", _read_status_no_clear, None),
    ("status_date", v.date, None),
    *((key, _read_count, None) for key in ("beds_medical", "beds_eldercare", "beds_nursing")),
    *((key, _read_count, None) for key in ("doctors", "nurses", "caregivers")),
    ("internal_unit", v.chooser(dict(enums.InternalUnit.choices), column="内设医疗机构"), ""),
)
_FLAG_KEYS = tuple(key for key, _label in enums.FLAGS)


_REGIONS: dict[str, str] = {}  # codes.normalise by cell text: few distinct codes, many rows


def _normalise_region(text: str) -> str:
    code = _REGIONS.get(text)
    if code is None:
        code = codes.normalise(text)  # a RegionCodeError is not cached
        if len(_REGIONS) >= 20000:
            _REGIONS.clear()
        _REGIONS[text] = code
    return code


def parse_row(row_number: int, cells: dict) -> ParsedRow:
    """`cells`: canonical key -> raw cell, for the columns the sheet has."""
    row = ParsedRow(row=row_number)
    facts = row.facts
    unchanged, cleared, cell_error = v.UNCHANGED, v.CLEAR, v.CellError

    family = unchanged
    if "family" in cells:
        try:
            family = _READ_FAMILY(cells["family"])
        except cell_error as exc:
            row.error("family", str(exc))
        else:
            if family is unchanged or family is cleared:
                row.error("family", "机构大类为必填项（医疗卫生机构 或 养老服务机构）。")
    row.family = family if isinstance(family, str) else ""

    if "type" in cells:
        read_type = _READ_MEDICAL_TYPE if row.family == _MEDICAL else _READ_ELDERCARE_TYPE
        try:
            kind = read_type(cells["type"])
        except cell_error as exc:
            row.error("type", str(exc))
        else:
            if isinstance(kind, str):
                facts["type"] = kind
            else:
                row.error("type", "机构类型为必填项。")

    if "name" in cells:
        name = unchanged
        try:
            name = _READ_NAME(cells["name"])
        except cell_error as exc:
            row.error("name", str(exc))
        if isinstance(name, str):
            facts["name"] = name
        else:
            row.error("name", "机构名称为必填项。")

    code = unchanged
    code_unreadable = False
    if "credit_code" in cells:
        try:
            code = v.code_text(cells["credit_code"])
        except cell_error as exc:
            row.error("credit_code", str(exc))
            code_unreadable = True  # filled but unreadable: not also "required"
    if code_unreadable:
        pass
    elif isinstance(code, str) and code:
        check = cc.validate(code)
        if check.error:
            row.error("credit_code", check.error)
        else:
            row.credit_code = check.code
            if check.warning:
                row.warn("credit_code", check.warning)
    elif "type" in facts and facts["type"] not in enums.CODELESS_TYPES:
        row.error("credit_code", "统一社会信用代码为必填项（村卫生室、农村幸福院可不填）。")

    if "region" in cells:
        region = unchanged
        try:
            region = v.code_text(cells["region"])
        except cell_error as exc:
            row.error("region", str(exc))
        if isinstance(region, str):
            try:
                facts["region"] = _normalise_region(region)
            except codes.RegionCodeError:
                row.error("region", f"“{region}”不是12位区划代码。")
        else:
            row.error("region", "所属区划代码为必填项。")

    if "ownership" in cells:
        read_ownership = _READ_OWNERSHIP.get(row.family, _READ_OWNERSHIP_NO_FAMILY)
        try:
            _set(row, "ownership", read_ownership(cells["ownership"]), clear_value="")
        except cell_error as exc:
            row.error("ownership", str(exc))
    if "grade" in cells:
        try:
            grade, grade_class = parse_grade(cells["grade"])
        except cell_error as exc:
            row.error("grade", str(exc))
        else:
            _set(row, "grade", grade, clear_value="")
            _set(row, "grade_class", grade_class, clear_value="")

    for key, read, clear_value in _PLAIN_FIELDS:
        if key in cells:
            raw = cells[key]
            if raw is None or raw == "":  # blank: every reader returns UNCHANGED
                continue
            try:
                parsed = read(raw)
            except cell_error as exc:
                row.error(key, str(exc))
                continue
            if parsed is not unchanged:
                facts[key] = clear_value if parsed is cleared else parsed

    if "run_by" in cells:
        try:
            run_by = v.code_text(cells["run_by"])
        except cell_error as exc:
            row.error("run_by", str(exc))
        else:
            if isinstance(run_by, str) and run_by:
                facts["run_by_code"] = run_by
            elif run_by is cleared:
                facts["run_by"] = None
    for key in _FLAG_KEYS:
        if key in cells:
            raw = cells[key]
            if raw is None or raw == "":
                continue
            try:
                parsed = v.flag(raw)
            except cell_error as exc:
                row.error(key, str(exc))
                continue
            if parsed is not unchanged:
                facts[key] = None if parsed is cleared else parsed

    nursing, beds = facts.get("beds_nursing"), facts.get("beds_eldercare")
    if isinstance(nursing, int) and isinstance(beds, int) and nursing > beds:
        row.error("beds_nursing", f"护理型床位数（{nursing}）不能超过核定养老床位数（{beds}）。")
    return row


def row_key(row: ParsedRow) -> tuple:
    """The registry key: (credit code, family), or (region, name) for a code-less record."""
    if row.credit_code:
        return ("code", row.credit_code, row.family)
    return ("name", row.facts.get("region"), row.facts.get("name"))
