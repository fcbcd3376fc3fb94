"""Spreadsheet rows of the `contracts` and `visits` kinds -> typed cells (CONTRACT.md columns).

Pure: cells are read through `eldercare.sheets.values` and come back as the facts the row
filled plus row-located Chinese errors; no ORM. The kinds (contracts/sheet_kind.py) look the
institutions and contracts up, check scope and plan the writes.

Institutions are referenced by 统一社会信用代码 or, for those without one (a village 幸福院 or
卫生室), by the portal's 系统编号 (JG00000012). A blank cell leaves the stored value unchanged,
清空 clears it (服务内容, 巡诊频次, 服务人次; the term and the parties cannot be cleared)."""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass, field

from eldercare.sheets import values as v
from eldercare.sheets.headers import Column
from eldercare.sheets.tables import EXAMPLE_PREFIX, FOOTER_PREFIXES, Table, read_table  # noqa: F401 - shared
from institutions import credit_code as cc

from .models import Frequency, Mode

CONTRACT_COLUMNS = [
    Column("协议编号", "agreement_no", required=True, synonyms=("合同编号", "协议号", "签约协议编号")),
    Column(
        "医疗机构信用代码",
        "medical",
        required=True,
        synonyms=("医疗机构统一社会信用代码", "医疗卫生机构信用代码", "医疗机构代码", "医疗机构系统编号"),
    ),
    Column(
        "养老机构信用代码",
        "eldercare",
        required=True,
        synonyms=("养老机构统一社会信用代码", "养老服务机构信用代码", "养老机构代码", "养老机构系统编号"),
    ),
    Column("合作方式", "mode", required=True, synonyms=("合作模式", "签约方式")),
    Column("服务内容", "services", synonyms=("服务项目",)),
    Column("巡诊频次", "visit_frequency", synonyms=("巡诊频率",)),
    Column("开始日期", "start", required=True, synonyms=("协议开始日期", "起始日期", "生效日期")),
    Column("结束日期", "end", required=True, synonyms=("协议结束日期", "到期日期", "截止日期")),
    Column("终止日期", "terminated_on", synonyms=("解约日期", "提前终止日期")),
]
VISIT_COLUMNS = [
    Column(
        "医疗机构信用代码",
        "medical",
        required=True,
        synonyms=("医疗机构统一社会信用代码", "医疗卫生机构信用代码", "医疗机构代码", "医疗机构系统编号"),
    ),
    Column("协议编号", "agreement_no", required=True, synonyms=("合同编号", "协议号", "签约协议编号")),
    Column("巡诊日期", "date", required=True, synonyms=("服务日期", "日期")),
    Column("服务人次", "persons", synonyms=("人次", "服务人数")),
]
# clean_facts' field -> the sheet column its message belongs to.
CONTRACT_CANONICAL = {c.key: c.canonical for c in CONTRACT_COLUMNS}
VISIT_CANONICAL = {c.key: c.canonical for c in VISIT_COLUMNS}

PORTAL_NO = re.compile(r"^JG\d{8}$")
SERVICE_SEPARATORS = re.compile(r"[、,，;；\s]+")
NO_SERVICES = {"无"}
MAX_PERSONS = 100_000

_MODE_SYNONYMS = {"签约": Mode.AGREEMENT, "签约服务": Mode.AGREEMENT, "医联体合作": Mode.ALLIANCE}
_FREQUENCY_SYNONYMS = {
    "每周一次": Frequency.WEEKLY,
    "周": Frequency.WEEKLY,
    "每月一次": Frequency.MONTHLY,
    "月": Frequency.MONTHLY,
    "每季": Frequency.QUARTERLY,
    "每季度一次": Frequency.QUARTERLY,
    "季度": Frequency.QUARTERLY,
    "每半年一次": Frequency.HALF_YEARLY,
    "半年": Frequency.HALF_YEARLY,
}
READ_MODE = v.chooser(dict(Mode.choices), synonyms=_MODE_SYNONYMS, column="合作方式")
READ_FREQUENCY = v.chooser(dict(Frequency.choices), synonyms=_FREQUENCY_SYNONYMS, column="巡诊频次")
# Everyday words for a few checklist entries (the entries' own names and codes always match).
SERVICE_SYNONYMS = {"巡诊": "visits", "体检": "checkup", "转诊": "referral"}


# -- cells --------------------------------------------------------------------------------------
def read_reference(raw):
    """An institution reference -> ("code", credit code) | ("portal", 系统编号), or UNCHANGED /
    CLEAR; CellError for an Excel-mangled number or a malformed code."""
    value = v.code_text(raw)  # refuses 4.40524E+17 with the "format as text" message
    if not isinstance(value, str) or not value:
        return value
    if PORTAL_NO.match(value):
        return ("portal", value)
    check = cc.validate(value)
    if check.error:
        raise v.CellError(f"{check.error}无统一社会信用代码的机构请填写平台系统编号（如 JG00000012）。")
    return ("code", check.code)


def read_agreement_no(raw):
    """协议编号 as typed (inner spaces collapsed), refusing numbers Excel has mangled."""
    if isinstance(raw, float) and (raw >= 1e15 or not raw.is_integer()):
        raise v.CellError(v._FLOAT_CODE_ERROR)
    if isinstance(raw, str) and v._SCI.match(v.fold(raw).replace(" ", "")):
        raise v.CellError(v._SCI_ERROR)
    return v.text(raw, max_length=60)


def read_services(raw, lookup: dict[str, str], allowed: list[str]):
    """服务内容: names (or codes) separated by 、 , ， ; or spaces -> codes in the order given."""
    text = v.text(raw)
    if not isinstance(text, str):
        return text
    if text in NO_SERVICES:
        return []
    codes, unknown = [], []
    for token in SERVICE_SEPARATORS.split(text):
        if not token:
            continue
        code = lookup.get(token) or lookup.get(token.lower())
        if code is None:
            unknown.append(token)
        elif code not in codes:
            codes.append(code)
    if unknown:
        raise v.CellError(
            f"未知的服务内容：{'、'.join(unknown)}；可填：{'、'.join(allowed)}（多项用“、”分隔）。"
        )
    return codes


# -- rows -------------------------------------------------------------------------------------
@dataclass
class ParsedRow:
    row: int
    canonical: dict
    agreement_no: str = ""
    medical: tuple | None = None  # ("code" | "portal", value)
    facts: dict = field(default_factory=dict)  # the cells the row filled (CLEAR kept as CLEAR)
    errors: list[dict] = field(default_factory=list)
    warnings: list[dict] = field(default_factory=list)

    def error(self, key, message):
        self.errors.append({"row": self.row, "column": self.canonical.get(key, key), "message": message})

    def warn(self, key, message):
        self.warnings.append({"row": self.row, "column": self.canonical.get(key, key), "message": message})


def _key_cells(row: ParsedRow, cells: dict) -> None:
    try:
        no = read_agreement_no(cells.get("agreement_no"))
    except v.CellError as exc:
        row.error("agreement_no", str(exc))
    else:
        if isinstance(no, str):
            row.agreement_no = no
        else:
            row.error("agreement_no", "协议编号为必填项。")
    try:
        ref = read_reference(cells.get("medical"))
    except v.CellError as exc:
        row.error("medical", str(exc))
    else:
        if isinstance(ref, tuple):
            row.medical = ref
        else:
            row.error("medical", "医疗机构信用代码为必填项（无代码的填平台系统编号）。")


def parse_contract(number: int, cells: dict, services_lookup: dict[str, str], services_allowed: list[str]):
    """`cells`: column key -> raw cell. `facts` gets eldercare (a reference), mode, services,
    visit_frequency, start, end, terminated_on — only for the cells filled (CLEAR for 清空)."""
    row = ParsedRow(row=number, canonical=CONTRACT_CANONICAL)
    _key_cells(row, cells)
    facts = row.facts
    if "eldercare" in cells:
        try:
            ref = read_reference(cells["eldercare"])
        except v.CellError as exc:
            row.error("eldercare", str(exc))
        else:
            if ref is v.CLEAR:
                row.error("eldercare", "养老机构不能清空。")
            elif isinstance(ref, tuple):
                facts["eldercare"] = ref
    readers = (
        ("mode", READ_MODE),
        ("visit_frequency", READ_FREQUENCY),
        ("start", v.date),
        ("end", v.date),
        ("terminated_on", v.date),
    )
    for key, read in readers:
        if key not in cells:
            continue
        try:
            value = read(cells[key])
        except v.CellError as exc:
            row.error(key, str(exc))
            continue
        if value is v.UNCHANGED:
            continue
        if value is v.CLEAR and key in ("mode", "start", "end"):
            row.error(key, f"{CONTRACT_CANONICAL[key]}不能清空。")
            continue
        facts[key] = value
    if "services" in cells:
        try:
            services = read_services(cells["services"], services_lookup, services_allowed)
        except v.CellError as exc:
            row.error("services", str(exc))
        else:
            if services is v.CLEAR:
                facts["services"] = []
            elif services is not v.UNCHANGED:
                facts["services"] = services
    if facts.get("visit_frequency") is v.CLEAR:
        facts["visit_frequency"] = ""
    return row


def parse_visit(number: int, cells: dict) -> ParsedRow:
    """`facts` gets date (required) and persons (None for 清空 or blank)."""
    row = ParsedRow(row=number, canonical=VISIT_CANONICAL)
    _key_cells(row, cells)
    try:
        day = v.date(cells.get("date"))
    except v.CellError as exc:
        row.error("date", str(exc))
    else:
        if isinstance(day, datetime.date):
            row.facts["date"] = day
        else:
            row.error("date", "巡诊日期为必填项。")
    if "persons" in cells:
        try:
            persons = v.integer(cells["persons"], minimum=0, maximum=MAX_PERSONS)
        except v.CellError as exc:
            row.error("persons", str(exc))
        else:
            row.facts["persons"] = persons if isinstance(persons, int) else None
    return row


def ref_text(ref: tuple) -> str:
    return f"{'系统编号' if ref[0] == 'portal' else '信用代码'}为{ref[1]}"
