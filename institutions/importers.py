"""Spreadsheet rows of the `institutions` kind -> validated facts (CONTRACT.md columns).

Pure: the row parser reads cells through `eldercare.sheets.values` and returns the facts it
could read plus row-located Chinese errors; no ORM. Lookups (regions in scope, the running
medical institution, existing records) and writes belong to the import service."""

from __future__ import annotations

from dataclasses import dataclass, field

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


def parse_row(row_number: int, cells: dict) -> ParsedRow:
    """`cells`: canonical key -> raw cell, for the columns the sheet has."""
    row = ParsedRow(row=row_number)

    def read(key, fn, **kw):
        if key not in cells:
            return v.UNCHANGED
        try:
            return fn(cells[key], **kw)
        except v.CellError as exc:
            row.error(key, str(exc))
            return v.UNCHANGED

    family = read("family", v.choice, labels=_FAMILY_LABELS, column="机构大类")
    row.family = family if isinstance(family, str) else ""
    if "family" in cells and family in (v.UNCHANGED, v.CLEAR) and not row.errors:
        row.error("family", "机构大类为必填项（医疗卫生机构 或 养老服务机构）。")
    type_labels = dict(
        enums.MedicalType.choices if row.family == enums.Family.MEDICAL else enums.EldercareType.choices
    )
    kind = read("type", v.choice, labels=type_labels, synonyms=enums.TYPE_SYNONYMS, column="机构类型")
    if isinstance(kind, str):
        row.facts["type"] = kind
    elif "type" in cells and not any(e["column"] == "机构类型" for e in row.errors):
        row.error("type", "机构类型为必填项。")

    name = read("name", v.text, max_length=200)
    if isinstance(name, str):
        row.facts["name"] = name
    elif "name" in cells:
        row.error("name", "机构名称为必填项。")

    code = read("credit_code", v.code_text)
    if isinstance(code, str) and code:
        check = cc.validate(code)
        if check.error:
            row.error("credit_code", check.error)
        else:
            row.credit_code = check.code
            if check.warning:
                row.warn("credit_code", check.warning)
    elif row.facts.get("type") not in enums.CODELESS_TYPES and "type" in row.facts:
        row.error("credit_code", "统一社会信用代码为必填项（村卫生室、农村幸福院可不填）。")

    region = read("region", v.code_text)
    if isinstance(region, str):
        try:
            row.facts["region"] = codes.normalise(region)
        except codes.RegionCodeError:
            row.error("region", f"“{region}”不是12位区划代码。")
    elif "region" in cells:
        row.error("region", "所属区划代码为必填项。")

    ownership_labels = enums.OWNERSHIP_LABELS.get(row.family, {})
    _set(
        row,
        "ownership",
        read("ownership", v.choice, labels=ownership_labels, synonyms=_OWNERSHIP_SYNONYMS, column="举办性质"),
        clear_value="",
    )
    if "grade" in cells:
        try:
            grade, grade_class = parse_grade(cells["grade"])
        except v.CellError as exc:
            row.error("grade", str(exc))
        else:
            _set(row, "grade", grade, clear_value="")
            _set(row, "grade_class", grade_class, clear_value="")
    _set(row, "address", read("address", v.text, max_length=300), clear_value="")
    _set(row, "longitude", read("longitude", v.decimal))
    _set(row, "latitude", read("latitude", v.decimal))
    _set(row, "opened_on", read("opened_on", v.date))
    _set(row, "status", read("status", v.choice, labels=dict(enums.Status.choices), column="状态"))
    _set(row, "status_date", read("status_date", v.date))
    for key in ("beds_medical", "beds_eldercare", "beds_nursing", "doctors", "nurses", "caregivers"):
        _set(row, key, read(key, v.integer))
    _set(
        row,
        "internal_unit",
        read("internal_unit", v.choice, labels=dict(enums.InternalUnit.choices), column="内设医疗机构"),
        clear_value="",
    )
    run_by = read("run_by", v.code_text)
    if isinstance(run_by, str) and run_by:
        row.facts["run_by_code"] = run_by
    elif run_by is v.CLEAR:
        row.facts["run_by"] = None
    for key, _label in enums.FLAGS:
        _set(row, key, read(key, v.flag))

    nursing, beds = row.facts.get("beds_nursing"), row.facts.get("beds_eldercare")
    if isinstance(nursing, int) and isinstance(beds, int) and nursing > beds:
        row.error("beds_nursing", f"护理型床位数（{nursing}）不能超过核定养老床位数（{beds}）。")
    return row


def row_key(row: ParsedRow) -> tuple:
    """The registry key: (credit code, family), or (region, name) for a code-less record."""
    if row.credit_code:
        return ("code", row.credit_code, row.family)
    return ("name", row.facts.get("region"), row.facts.get("name"))
