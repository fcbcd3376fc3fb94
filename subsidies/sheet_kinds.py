"""The `occupancy` and `residents` kinds of the spreadsheet engine (CONTRACT.md columns).

Institutions are referenced by 统一社会信用代码 or, without one, by the portal's 系统编号; a
township user imports for the elder-care institutions of their own township, a county user for
their county (an institution elsewhere in the county is "outside your scope", one further away
is not found). Validation looks everything up in a fixed number of set queries, whatever the
number of rows (occupancy: the institutions, their registry versions on the months' last days,
the stored months; residents: the institutions, the stored stays of the people in the file).

`occupancy` (key: institution + month): a township user's rows are staged and take effect
when a county user accepts the batch (money depends on them); a county user's at once. A month
already stored with the same figures is unchanged (re-uploading changes nothing); other figures
are an update with its diff. Occupied beds above the 核定养老床位 of that month's last day are
refused (subsidies/occupancy.py).

`residents` (key: institution + ID number + 入住日期): take effect at once. The ID number is
checked (GB 11643 check character, a real birth date), and from the moment it is read it exists
only as its keyed hash, its cipher and its mask: the stored plan, the preview, every error and
warning, the audit trail and the logs see `3703**********123X`, never the number; the annotated
error sheet masks the column too (`redact_rows`). Numbers Excel turned into 4.40524E+17 are
refused with the message to format the column as text. The uploaded file (the numbers in clear)
is deleted as soon as the batch is committed, returned or abandoned and at most an hour after
the upload (`upload_ttl`, the engine's 10-minute sweep); the plan of a batch that can no longer
be committed loses its ciphers (`redact_plan`), and a number quoted from any cell or the file
name is masked (`redact_text`). A person's stays may not overlap — in
two homes that is a duplicate claim (DOMAIN.md §6): the error names the other home only when it
is in the uploader's scope, else "另一家养老机构". A township user may add stays and record the
discharge of an open stay; changing a recorded stay needs `subsidies.change_resident`.

Undo (both): created rows are deleted and updated ones restored, while nothing changed them
after the import."""

from __future__ import annotations

import datetime
import time

from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from contracts.importers import read_reference
from eldercare.accounts.roles import TOWNSHIP
from eldercare.accounts.scope import SYSTEM, actor_prefix
from eldercare.audit.models import Action
from eldercare.audit.services import record
from eldercare.sheets import tables
from eldercare.sheets import values as v
from eldercare.sheets.headers import Column, find_header
from eldercare.sheets.kinds import CREATE, UNCHANGED, UPDATE, Validation, record_import, undo_parts
from institutions.enums import Family
from institutions.models import Institution

from . import idcard
from . import occupancy as svc
from .models import OccupancyReport, Resident

_INSTITUTION_SYNONYMS = (
    "养老机构统一社会信用代码",
    "养老服务机构信用代码",
    "统一社会信用代码",
    "社会信用代码",
    "信用代码",
    "机构信用代码",
    "养老机构代码",
    "养老机构系统编号",
    "系统编号",
)
_HOME_NAME = Column("养老机构名称", "home_name", synonyms=("机构名称", "单位名称", "名称"))

OCCUPANCY_COLUMNS = [
    Column("养老机构信用代码", "institution", required=True, synonyms=_INSTITUTION_SYNONYMS),
    _HOME_NAME,
    Column("年月", "month", required=True, synonyms=("月份", "填报月份", "统计月份", "报告月份")),
    Column(
        "自理入住床位数",
        "self_care",
        required=True,
        synonyms=("自理床位数", "自理入住数", "自理老人入住床位数", "自理老人床位数", "自理"),
    ),
    Column(
        "失能入住床位数",
        "disabled",
        required=True,
        synonyms=("失能床位数", "失能入住数", "失能老人入住床位数", "失能老人床位数", "失能"),
    ),
]
RESIDENT_COLUMNS = [
    Column("养老机构信用代码", "institution", required=True, synonyms=_INSTITUTION_SYNONYMS),
    _HOME_NAME,
    Column("姓名", "name", required=True, synonyms=("老人姓名", "入住老人姓名")),
    Column(
        "身份证号", "id_number", required=True, synonyms=("身份证号码", "公民身份号码", "身份证", "证件号码")
    ),
    Column(
        "能力等级", "ability_level", required=True, synonyms=("老年人能力等级", "能力评估等级", "评估等级")
    ),
    Column("入住日期", "admitted_on", required=True, synonyms=("入住时间", "入院日期")),
    Column("退住日期", "discharged_on", synonyms=("退住时间", "离院日期", "出院日期")),
]
OCC_COL = {c.key: c.canonical for c in OCCUPANCY_COLUMNS}
RES_COL = {c.key: c.canonical for c in RESIDENT_COLUMNS}

ABILITY_LABELS = {str(code): label for code, label in svc.ABILITY_LEVELS.items()}
_ABILITY_SYNONYMS = {
    "完好": "0",
    "能力完好（0级）": "0",
    "轻度": "1",
    "中度": "2",
    "重度": "3",
    "完全": "4",
    **{f"{n}级": str(n) for n in range(5)},
}
READ_ABILITY = v.chooser(ABILITY_LABELS, synonyms=_ABILITY_SYNONYMS, column="能力等级")
MIN_YEAR = 2000


# -- reading ------------------------------------------------------------------------------------
def read_table(data: bytes, columns: list[Column], *, hint: str, example_key: str):
    """The shared table reader (eldercare/sheets/tables.py) as (rows, validation)."""
    table = tables.read_table(data, columns, hint=hint, example_key=example_key)
    return table.rows, table.out


def read_month(raw):
    """年月: 2025-01, 2025/1, 2025年1月, 202501, an Excel date. A bare number such as 2025.1
    is refused: it is January or October."""
    if isinstance(raw, (int, float)) and not isinstance(raw, bool):
        if 1900 <= raw < 2200 and not float(raw).is_integer():
            raise v.CellError(
                f"“{raw}”无法确定月份（可能是{int(raw)}年1月或10月），请写成 2025-01 或 2025年1月。"
            )
        if float(raw).is_integer() and 190001 <= raw <= 219912:
            raw = str(int(raw))
    month = v.month(raw)
    if isinstance(month, datetime.date) and month.year < MIN_YEAR:
        raise v.CellError(f"年月 {month.year}年{month.month}月 不合理，请写成 2025-01 或 2025年1月。")
    return month


def read_ability(raw):
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)
    if isinstance(raw, int) and not isinstance(raw, bool):
        raw = str(raw)
    return READ_ABILITY(raw)


def read_id_number(raw):
    """An IdNumber, UNCHANGED for a blank cell, or CellError (never quoting the number)."""
    value = v.code_text(raw)  # refuses 4.40524E+17 with the "format the column as text" message
    if value is v.CLEAR:
        raise v.CellError("身份证号不能清空。")
    if not value:
        return v.UNCHANGED
    try:
        return idcard.parse(value)
    except idcard.IdCardError as exc:
        raise v.CellError(str(exc)) from None


def _ref_text(ref: tuple) -> str:
    return f"{'系统编号' if ref[0] == 'portal' else '信用代码'}为{ref[1]}"


class _Row:
    def __init__(self, number: int, canonical: dict):
        self.row, self.canonical = number, canonical
        self.errors: list[dict] = []
        self.warnings: list[dict] = []
        self.ref = None
        self.facts: dict = {}

    def error(self, key, message):
        self.errors.append({"row": self.row, "column": self.canonical.get(key, key), "message": message})

    def warn(self, key, message):
        self.warnings.append({"row": self.row, "column": self.canonical.get(key, key), "message": message})

    def read(self, key, reader, cells):
        if key not in cells:
            return v.UNCHANGED
        try:
            return reader(cells[key])
        except v.CellError as exc:
            self.error(key, str(exc))
            return None


def _reference(row: _Row, cells: dict) -> None:
    try:
        ref = read_reference(cells.get("institution"))
    except v.CellError as exc:
        row.error("institution", str(exc))
        return
    if isinstance(ref, tuple):
        row.ref = ref
    else:
        row.error("institution", "养老机构信用代码为必填项（无统一社会信用代码的填平台系统编号）。")
    name = cells.get("home_name")
    if isinstance(name, str) and v.fold(name):
        row.facts["home_name"] = " ".join(v.fold(name).split())


def _prefix(actor) -> str | None:
    try:
        return actor_prefix(actor)
    except PermissionError:
        return "\x00"  # no scope: nothing matches


def _within(region: str, prefix: str | None) -> bool:
    return prefix is None or region.startswith(prefix)


class _Homes:
    """Every institution the file references, in one query, found only within the actor's
    county (a home of another township is "outside your scope"; one further away not found)."""

    FIELDS = ("id", "name", "family", "region_id", "credit_code", "portal_no", "beds_eldercare", "status")

    def __init__(self, refs, prefix: str | None):
        self.prefix = prefix
        self.county = None if prefix is None else prefix[:6]
        codes = {val for kind, val in refs if kind == "code"}
        portal = {val for kind, val in refs if kind == "portal"}
        self.by_code: dict[str, list[dict]] = {}
        self.by_portal: dict[str, dict] = {}
        self.by_id: dict[int, dict] = {}
        if not codes and not portal:
            return
        qs = Institution.objects.filter(Q(credit_code__in=codes) | Q(portal_no__in=portal))
        if self.county is not None:
            qs = qs.filter(region__code__startswith=self.county)
        for rec in qs.values(*self.FIELDS):
            self.by_id[rec["id"]] = rec
            if rec["credit_code"]:
                self.by_code.setdefault(rec["credit_code"], []).append(rec)
            if rec["portal_no"]:
                self.by_portal[rec["portal_no"]] = rec

    def find(self, row: _Row) -> dict | None:
        kind, val = row.ref
        found = (
            [self.by_portal[val]] if kind == "portal" and val in self.by_portal else self.by_code.get(val, [])
        )
        home = next((r for r in found if r["family"] == Family.ELDERCARE), None)
        if home is None:
            if found:
                row.error("institution", f"{_ref_text(row.ref)}的机构登记为医疗卫生机构，不是养老服务机构。")
            else:
                row.error("institution", f"找不到{_ref_text(row.ref)}的养老服务机构。")
            return None
        if not _within(home["region_id"], self.prefix):
            row.error("institution", "该养老机构不在您的管辖范围内。")
            return None
        given = row.facts.get("home_name")
        if given and given != home["name"]:
            row.warn("home_name", f"表中机构名称“{given}”与登记的“{home['name']}”不一致，已按信用代码导入。")
        return home


def _stale(op: dict, message: str):
    from eldercare.sheets.engine import StaleBatch

    return StaleBatch(f"第{op['row']}行：{message.rstrip('。')}。校验后数据已有变化，请重新校验后再提交。")


def _day(value) -> datetime.date | None:
    return datetime.date.fromisoformat(value) if value else None


def _same_moment(stamp: datetime.datetime, stored: str | None) -> bool:
    """An updated_at against one kept as text (compared as instants: the text may carry
    another UTC offset than the database returns)."""
    return stored is not None and stamp == datetime.datetime.fromisoformat(stored)


def _iso(value):
    return value.isoformat() if isinstance(value, datetime.date) else value


def _check_perm(actor, perm: str, message: str) -> None:
    if actor is SYSTEM:
        return
    if not actor.has_perm("sheets.import_sheet"):
        raise PermissionDenied(_("You do not have permission to upload spreadsheets."))
    if not actor.has_perm(perm):
        raise PermissionDenied(message)


def _month_text(month: datetime.date) -> str:
    return f"{month.year}年{month.month}月"


# ====================================================================================
class OccupancyKind:
    name = "occupancy"
    label = "入住床位月报"
    revertible = True
    preview_heading = "养老机构 · 年月"
    columns = OCCUPANCY_COLUMNS
    example = {
        "institution": "示例：52370306MJD600087D",  # rows whose code starts with 示例 are skipped
        "home_name": "北郊镇敬老院",
        "month": "2026年1月",
        "self_care": "30",
        "disabled": "12",
    }
    rules = [
        "每行一家养老机构一个月：年月可写 2026-01、2026/1、2026年1月 或日期；床位数为当月末实际入住的床位。",
        "自理与失能入住床位数合计不能超过该机构当月末的核定养老床位数。",
        "养老机构按统一社会信用代码查找，无代码的填平台系统编号（JG…）；乡镇用户只能填报本乡镇的机构。",
        "乡镇用户上传的月报经县级民政或卫健部门接受后生效；已填报的月份再次上传相同数字不作修改，数字不同则作为修改待接受。",
    ]

    def check_can_import(self, actor) -> None:
        _check_perm(actor, "subsidies.add_occupancyreport", "您没有填报入住床位数的权限。")

    def staged_for(self, actor) -> bool:
        """A township's figures wait for a county user (CONTRACT.md: money depends on them)."""
        return actor is not SYSTEM and TOWNSHIP in actor.roles

    def validate(self, *, actor, data: bytes, as_of, progress) -> Validation:
        t0 = time.perf_counter()
        rows, out = read_table(
            data,
            OCCUPANCY_COLUMNS,
            hint="未找到表头行：表头须包含 养老机构信用代码、年月、自理入住床位数、失能入住床位数（可下载导入模板对照）。",
            example_key="institution",
        )
        if out.errors:
            return out
        parsed = [self._parse(n, cells) for n, cells in rows]
        t_parse = time.perf_counter()
        self._plan(actor, parsed, out)
        out.timings = {"parse_s": round(t_parse - t0, 3), "plan_s": round(time.perf_counter() - t_parse, 3)}
        progress(0.95)
        return out

    @staticmethod
    def _parse(number: int, cells: dict) -> _Row:
        row = _Row(number, OCC_COL)
        _reference(row, cells)
        month = row.read("month", read_month, cells)
        if isinstance(month, datetime.date):
            row.facts["month"] = month
        elif month is v.CLEAR or month is v.UNCHANGED:
            row.error("month", "年月为必填项。")
        for key in ("self_care", "disabled"):
            value = row.read(key, lambda raw: v.integer(raw, minimum=0, maximum=svc.MAX_BEDS), cells)
            if value is v.CLEAR:
                row.error(key, f"{OCC_COL[key]}不能清空。")
            elif isinstance(value, int):
                row.facts[key] = value
        return row

    def _plan(self, actor, parsed: list[_Row], out: Validation) -> None:
        prefix = _prefix(actor)
        may_change = (
            actor is SYSTEM or self.staged_for(actor) or actor.has_perm("subsidies.change_occupancyreport")
        )
        today = timezone.localdate()
        seen: dict[tuple, int] = {}
        good = []
        for row in parsed:
            if row.ref and "month" in row.facts:
                key = (row.ref, row.facts["month"])
                if key in seen:
                    row.error("month", f"与第{seen[key]}行重复（同一机构同一月份出现两次）。")
                else:
                    seen[key] = row.row
            (out.errors.extend(row.errors) if row.errors else good.append(row))

        homes = _Homes([r.ref for r in good], prefix)
        found = []
        for row in good:
            home = homes.find(row)
            if home is None:
                out.errors.extend(row.errors)
            else:
                found.append((row, home))
        stored: dict[tuple[int, datetime.date], dict] = {}
        if found:
            months = {r.facts["month"] for r, _h in found}
            for rec in OccupancyReport.objects.filter(
                institution_id__in={h["id"] for _r, h in found}, month__in=months
            ).values("id", "institution_id", "month", "self_care", "disabled", "updated_at"):
                stored[(rec["institution_id"], rec["month"])] = rec
        caps = svc.capacities(homes.by_id, [(h["id"], r.facts["month"]) for r, h in found])

        keys: dict[tuple[int, datetime.date], int] = {}
        for row, home in found:
            month = row.facts["month"]
            first = keys.setdefault((home["id"], month), row.row)
            if first != row.row:  # the same home by its code in one row, its 系统编号 in another
                row.error("month", f"与第{first}行重复（同一机构同一月份出现两次）。")
                out.errors.extend(row.errors)
                continue
            ex = stored.get((home["id"], month))
            figures = {k: row.facts.get(k, ex[k] if ex else None) for k in ("self_care", "disabled")}
            for key, value in figures.items():
                if value is None:
                    row.error(key, f"新填报的月份须填写{OCC_COL[key]}。")
            if not row.errors:
                cap = caps[(home["id"], month)]
                errors = svc.occupancy_errors(
                    home["family"], month, figures["self_care"], figures["disabled"], cap, today
                )
                for key, message in errors.items():
                    row.error(key if key in OCC_COL else "month", message)
                if not errors:
                    warning = svc.not_operating_warning(month, cap)
                    if warning:
                        row.warn("month", warning)
                    if cap.beds is None:
                        row.warn(
                            "disabled", "该机构未登记核定养老床位数，无法核对入住床位数是否超过核定床位。"
                        )
            diff = {}
            if ex is not None and not row.errors:
                diff = {k: [ex[k], figures[k]] for k in figures if ex[k] != figures[k]}
                if diff and not may_change:
                    row.error("self_care", f"该机构{_month_text(month)}已填报；您没有修改已填报月份的权限。")
            out.warnings.extend(row.warnings)
            if row.errors:
                out.errors.extend(row.errors)
                continue
            op = {
                "row": row.row,
                "name": f"{home['name']} · {_month_text(month)}",
                "institution": [home["id"], home["name"]],
                "month": month.isoformat(),
                **figures,
            }
            if ex is None:
                op["op"] = CREATE
            else:
                op.update(id=ex["id"], stamp=ex["updated_at"].isoformat())
                op["op"] = UPDATE if diff else UNCHANGED
                if diff:
                    op["diff"] = diff
            out.ops.append(op)
        out.warnings.sort(key=lambda w: w["row"] or 0)

    def describer(self, user, ops):
        return _OccupancyDescriber()

    def apply(self, *, actor, batch, ops, now, data_path) -> dict:
        writes = [op for op in ops if op["op"] in (CREATE, UPDATE)]
        same = [op for op in ops if op["op"] == UNCHANGED]
        wanted = {(op["institution"][0], _day(op["month"])) for op in (*writes, *same)}
        current = {}
        if wanted:
            # The file's institutions × months (a superset, one query), locked; matched by key.
            for r in (
                OccupancyReport.objects.select_for_update()
                .filter(institution_id__in={i for i, _m in wanted}, month__in={m for _i, m in wanted})
                .values("id", "institution_id", "month", "self_care", "disabled", "updated_at")
            ):
                current[(r["institution_id"], r["month"])] = r
        for op in (*writes, *same):
            rec = current.get((op["institution"][0], _day(op["month"])))
            if op["op"] == CREATE and rec is not None:
                raise _stale(op, "该月份在校验后已被他人填报")
            if op["op"] != CREATE and (rec is None or not _same_moment(rec["updated_at"], op["stamp"])):
                raise _stale(op, "该月份的入住床位数在校验后已被修改")
        # The registry may have changed since validation (a staged batch waits for acceptance).
        homes = {
            rec["id"]: rec
            for rec in Institution.objects.filter(pk__in={op["institution"][0] for op in writes}).values(
                "id", "family", "region_id", "beds_eldercare", "status"
            )
        }
        caps = svc.capacities(homes, [(op["institution"][0], _day(op["month"])) for op in writes])
        undo = {"created": [], "updated": {}, "stamps": {}}
        detail = {"batch": batch.pk, "step": "import"}
        for op in sorted(writes, key=lambda o: o["row"]):
            inst, month = op["institution"][0], _day(op["month"])
            if inst not in homes:
                raise _stale(op, "该养老机构已不存在")
            problem = svc.capacity_error(op["self_care"], op["disabled"], month, caps[(inst, month)])
            if problem:
                raise _stale(op, problem)
            if op["op"] == UPDATE:
                rec = current[(inst, month)]
                undo["updated"][str(rec["id"])] = {
                    "self_care": rec["self_care"],
                    "disabled": rec["disabled"],
                    "updated_at": rec["updated_at"].isoformat(),
                }
            report, done = svc.write_occupancy(
                actor, inst, month, op["self_care"], op["disabled"], detail=detail
            )
            if done == CREATE:
                undo["created"].append(report.pk)
            undo["stamps"][str(report.pk)] = report.updated_at.isoformat()
        if writes:
            record_import(actor, OccupancyReport, kind=self.name, batch=batch, undo=undo, writes=writes)
        return undo

    def revert(self, *, actor, batch, undo) -> None:
        if actor is not SYSTEM and not actor.has_perm("subsidies.change_occupancyreport"):
            raise PermissionDenied("您没有修改入住床位数的权限。")
        created, updated, stamps = undo_parts(undo)
        locked = {
            r.pk: r
            for r in OccupancyReport.objects.select_for_update()
            .select_related("institution")
            .filter(pk__in=[*created, *updated])
        }
        later = [
            f"{r.institution.name}{_month_text(r.month)}"
            for pk, r in locked.items()
            if not _same_moment(r.updated_at, stamps.get(pk))
        ]
        if later or len(locked) != len(created) + len(updated):
            names = "、".join(later[:10]) or "部分月报已被删除"
            raise ValidationError(f"不能撤销本次导入：导入后这些月报又有修改（{names}）。")
        for pk, before in updated.items():
            r = locked[pk]
            changes = {
                k: [getattr(r, k), before[k]] for k in ("self_care", "disabled") if getattr(r, k) != before[k]
            }
            OccupancyReport.objects.filter(pk=pk).update(
                self_care=before["self_care"],
                disabled=before["disabled"],
                updated_at=datetime.datetime.fromisoformat(before["updated_at"]),
            )
            record(
                actor,
                Action.UPDATE,
                r,
                changes=changes,
                detail={"batch": batch.pk, "step": "import_reverted"},
            )
        for pk in created:
            r = locked[pk]
            record(
                actor,
                Action.DELETE,
                r,
                changes={"self_care": [r.self_care, None], "disabled": [r.disabled, None]},
                detail={"batch": batch.pk, "step": "import_reverted"},
            )
        OccupancyReport.objects.filter(pk__in=created).delete()


class _OccupancyDescriber:
    LABELS = {"self_care": "自理入住床位数", "disabled": "失能入住床位数"}

    def changes(self, op: dict) -> list[dict]:
        if op.get("op") == UPDATE:
            return [
                {"field": self.LABELS[k], "old": str(old), "new": str(new)}
                for k, (old, new) in (op.get("diff") or {}).items()
            ]
        if op.get("op") == CREATE:
            return [{"field": self.LABELS[k], "new": str(op[k])} for k in ("self_care", "disabled")]
        return []

    def link(self, op: dict) -> str | None:
        from django.urls import reverse

        return reverse("institutions:detail", args=[op["institution"][0]]) if op.get("institution") else None


# ====================================================================================
class ResidentsKind:
    name = "residents"
    label = "入住老人名册"
    revertible = True
    preview_heading = "老人（身份证号已脱敏）· 养老机构"
    columns = RESIDENT_COLUMNS
    example = {
        "institution": "52370306MJD600087D",
        "home_name": "北郊镇敬老院",
        "name": "示例：张三",  # rows whose name starts with 示例 are skipped
        "id_number": "11010519491231002X",  # the example of GB 11643 itself
        "ability_level": "轻度失能",
        "admitted_on": "2026-01-05",
    }
    rules = [
        "每行一位老人的一次入住：同一养老机构、同一身份证号、同一入住日期为同一条记录；退住日期为空表示仍在住。",
        "身份证号须为18位居民身份证号码（校验码正确、出生日期真实）；请把该列设置为“文本”格式，否则 Excel 会把它变成 4.40524E+17。",
        "能力等级填 能力完好、轻度失能、中度失能、重度失能、完全失能（或 0–4）。",
        "同一位老人的入住时间不能与其在其他养老机构的入住时间重叠。",
        "名册导入后立即生效；身份证号加密保存，页面、导出和提示中均脱敏显示。乡镇用户可新增入住记录、补填退住日期，更正已登记的记录须由县级民政部门办理。",
        "上传的名册文件在导入完成、被退回或放弃后立即删除；校验后未确认的上传 1 小时后自动作废并删除，请及时确认。",
    ]
    choices = {"ability_level": list(ABILITY_LABELS.values())}
    # The uploaded file holds the ID numbers in clear: kept only until the batch is committed,
    # returned or abandoned, and at most this long while it waits (engine.cleanup_uploads).
    upload_ttl = datetime.timedelta(hours=1)

    def check_can_import(self, actor) -> None:
        _check_perm(actor, "subsidies.add_resident", "您没有登记入住老人的权限。")

    @staticmethod
    def redact_text(text: str) -> str:
        """A file name or a message quoting a cell: any ID number in it masked."""
        return idcard.mask_numbers(text)

    @staticmethod
    def redact_plan(ops: list[dict]) -> list[dict]:
        """A batch that can no longer be committed (committed, returned, abandoned, invalid)
        keeps hashes and masks only: the encrypted numbers the plan carried for the commit go
        (the preview and the undo record do not need them)."""
        return [{k: v for k, v in op.items() if k not in ("cipher", "birth_date")} for op in ops]

    def staged_for(self, actor) -> bool:
        return False  # CONTRACT.md: residents take effect at once

    def redact_rows(self, rows: list[list]) -> list[list]:
        """The annotated error sheet: the user's rows with the ID column masked."""
        header = find_header([list(r) for r in rows[:15]], RESIDENT_COLUMNS)
        if header is None:
            return rows
        pos = next((p for p, col in header.columns.items() if col.key == "id_number"), None)
        if pos is None:
            return rows
        out = [list(r) for r in rows]
        for r in out[header.row :]:
            if pos < len(r) and r[pos] not in (None, ""):
                r[pos] = idcard.mask(str(r[pos]).strip()) if len(str(r[pos]).strip()) >= 8 else "****"
        return out

    def validate(self, *, actor, data: bytes, as_of, progress) -> Validation:
        t0 = time.perf_counter()
        rows, out = read_table(
            data,
            RESIDENT_COLUMNS,
            hint="未找到表头行：表头须包含 养老机构信用代码、姓名、身份证号、能力等级、入住日期（可下载导入模板对照）。",
            example_key="name",
        )
        if out.errors:
            return out
        today = timezone.localdate()
        parsed = [self._parse(n, cells, today) for n, cells in rows]
        t_parse = time.perf_counter()
        self._plan(actor, parsed, out, today)
        out.timings = {"parse_s": round(t_parse - t0, 3), "plan_s": round(time.perf_counter() - t_parse, 3)}
        # The stored report never quotes a number, whatever cell it came from (a home name, …).
        for item in (*out.errors, *out.warnings):
            item["message"] = idcard.mask_numbers(item["message"])
        progress(0.95)
        return out

    @staticmethod
    def _parse(number: int, cells: dict, today: datetime.date) -> _Row:
        row = _Row(number, RES_COL)
        _reference(row, cells)
        f = row.facts
        person = row.read("id_number", read_id_number, cells)
        if isinstance(person, idcard.IdNumber):
            f["person"] = person
            f["hash"] = idcard.lookup_hash(person.number)
        elif person is v.UNCHANGED:
            row.error("id_number", "身份证号为必填项。")
        name = row.read("name", lambda raw: v.text(raw, max_length=50), cells)
        if isinstance(name, str) and idcard.mask_numbers(name) != name:
            row.error("name", "姓名一栏填的是身份证号，请核对各列是否错位。")
        elif isinstance(name, str):
            f["name"] = name
        elif name is v.CLEAR or name is v.UNCHANGED:
            row.error("name", "姓名为必填项。")
        ability = row.read("ability_level", read_ability, cells)
        if isinstance(ability, str):
            f["ability_level"] = int(ability)
        elif ability is v.CLEAR:
            row.error("ability_level", "能力等级不能清空。")
        admitted = row.read("admitted_on", v.date, cells)
        if isinstance(admitted, datetime.date):
            f["admitted_on"] = admitted
        elif admitted is v.CLEAR or admitted is v.UNCHANGED:
            row.error("admitted_on", "入住日期为必填项。")
        discharged = row.read("discharged_on", v.date, cells)
        if isinstance(discharged, datetime.date):
            f["discharged_on"] = discharged
        elif discharged is v.CLEAR:
            f["discharged_on"] = None  # 清空: the stay is open again
        if row.errors:
            return row
        # The stay's own checks, with what the row gives (the stored stay fills the rest later).
        errors = svc.stay_errors(
            institution_family=Family.ELDERCARE,
            name=f["name"],
            ability_level=f.get("ability_level", 0),
            birth_date=person.birth_date,
            admitted_on=f["admitted_on"],
            discharged_on=f.get("discharged_on"),
            today=today,
        )
        for key, message in errors.items():
            row.error(key, message)
        return row

    def _plan(self, actor, parsed: list[_Row], out: Validation, today) -> None:
        prefix = _prefix(actor)
        may_change = actor is SYSTEM or actor.has_perm("subsidies.change_resident")
        seen: dict[tuple, int] = {}
        good = []
        for row in parsed:
            if not row.errors:
                key = (row.ref, row.facts["hash"], row.facts["admitted_on"])
                if key in seen:
                    row.error(
                        "admitted_on", f"与第{seen[key]}行重复（同一机构同一老人同一入住日期出现两次）。"
                    )
                else:
                    seen[key] = row.row
            (out.errors.extend(row.errors) if row.errors else good.append(row))

        homes = _Homes([r.ref for r in good], prefix)
        found = []
        for row in good:
            home = homes.find(row)
            if home is None:
                out.errors.extend(row.errors)
            else:
                found.append((row, home))
        # Every stored stay of the people in the file, wherever they are (the overlap check).
        stays: dict[str, list[dict]] = {}
        if found:
            for rec in Resident.objects.filter(id_hash__in={r.facts["hash"] for r, _h in found}).values(
                "id",
                "institution_id",
                "institution__name",
                "institution__region_id",
                "id_hash",
                "name",
                "ability_level",
                "admitted_on",
                "discharged_on",
                "updated_at",
            ):
                stays.setdefault(rec["id_hash"], []).append(rec)

        # Pass 1: each row's stay as it will be (the stored one it restates, the facts after).
        keys: dict[tuple, int] = {}
        candidates = []  # (row, home, stored stay | None, facts after, diff)
        for row, home in found:
            f = row.facts
            first = keys.setdefault((home["id"], f["hash"], f["admitted_on"]), row.row)
            if first != row.row:
                row.error("admitted_on", f"与第{first}行重复（同一机构同一老人同一入住日期出现两次）。")
                out.errors.extend(row.errors)
                continue
            ex = next(
                (
                    s
                    for s in stays.get(f["hash"], ())
                    if s["institution_id"] == home["id"] and s["admitted_on"] == f["admitted_on"]
                ),
                None,
            )
            after = {
                "name": f["name"],
                "ability_level": f.get("ability_level", ex["ability_level"] if ex else None),
                "discharged_on": f["discharged_on"]
                if "discharged_on" in f
                else (ex["discharged_on"] if ex else None),
            }
            if after["ability_level"] is None:
                row.error("ability_level", "能力等级为必填项。")
            diff = {}
            if ex is not None and not row.errors:
                before = {k: ex[k] for k in after}
                diff = {k: [_iso(before[k]), _iso(after[k])] for k in after if before[k] != after[k]}
                if diff and not may_change and svc.needs_change_permission(before, after):
                    row.error(
                        "name",
                        "该入住记录已登记；您没有修改入住记录的权限（可补填退住日期），如需更正请联系县级民政部门。",
                    )
            candidates.append((row, home, ex, after, diff))

        # Pass 2: no two stays of one person overlap. A stored stay the file restates counts as
        # the file has it, wherever its row is (a discharge in one row makes room for an admission
        # in another); new stays are compared with the stored ones and with earlier valid rows.
        restated = {
            ex["id"]: (row.row, after["discharged_on"])
            for row, _h, ex, after, _d in candidates
            if ex is not None
        }
        planned: dict[str, list[tuple]] = {}  # hash -> [(row, institution id, admitted, discharged)]
        for row, home, ex, after, diff in candidates:
            if not row.errors:
                own = ex["id"] if ex is not None else None
                self._overlap_errors(prefix, row, home, own, after["discharged_on"], stays, restated, planned)
            out.warnings.extend(row.warnings)
            if row.errors:
                out.errors.extend(row.errors)
                continue
            if ex is None:
                planned.setdefault(row.facts["hash"], []).append(
                    (row.row, home["id"], row.facts["admitted_on"], after["discharged_on"])
                )
            f = row.facts
            person: idcard.IdNumber = f["person"]
            op = {
                "row": row.row,
                "name": f"{f['name']}（{person.masked}）· {home['name']}",
                "institution": [home["id"], home["name"]],
                "hash": f["hash"],
                "masked": person.masked,
                "facts": {
                    "name": after["name"],
                    "ability_level": after["ability_level"],
                    "admitted_on": f["admitted_on"].isoformat(),
                    "discharged_on": _iso(after["discharged_on"]),
                },
            }
            if ex is None:
                # The cipher only (the birth date comes back from it at commit): with the mask, a
                # birth date would give most of the number away.
                op.update(op=CREATE, cipher=idcard.encrypt(person.number))
            else:
                op.update(id=ex["id"], stamp=ex["updated_at"].isoformat(), op=UPDATE if diff else UNCHANGED)
                if diff:
                    op["diff"] = diff
            out.ops.append(op)
        out.warnings.sort(key=lambda w: w["row"] or 0)

    @staticmethod
    def _overlap_errors(prefix, row: _Row, home: dict, own, discharged, stays, restated, planned) -> None:
        f = row.facts
        admitted = f["admitted_on"]
        for s in stays.get(f["hash"], ()):
            if s["id"] == own:
                continue
            # A stay another row restates, with the discharge that row gives it.
            other_end = restated[s["id"]][1] if s["id"] in restated else s["discharged_on"]
            if svc.stays_overlap(admitted, discharged, s["admitted_on"], other_end):
                visible = _within(s["institution__region_id"], prefix)
                row.error(
                    "admitted_on",
                    svc.overlap_message(
                        s["institution__name"] if visible else None,
                        s["admitted_on"],
                        other_end,
                        same_home=s["institution_id"] == home["id"],
                    ),
                )
        for other_row, inst, a2, d2 in planned.get(f["hash"], ()):
            if svc.stays_overlap(admitted, discharged, a2, d2):
                where = "同一机构" if inst == home["id"] else "另一机构"
                row.error("admitted_on", f"与第{other_row}行（同一老人在{where}）的入住时间重叠。")

    def describer(self, user, ops):
        return _ResidentDescriber()

    def apply(self, *, actor, batch, ops, now, data_path) -> dict:
        writes = [op for op in ops if op["op"] in (CREATE, UPDATE)]
        same = [op for op in ops if op["op"] == UNCHANGED]
        hashes = {op["hash"] for op in ops}
        for h in sorted(hashes):
            svc.lock_person(h)
        stays: dict[str, list[Resident]] = {}
        for r in Resident.objects.select_for_update().filter(id_hash__in=hashes):
            stays.setdefault(r.id_hash, []).append(r)
        by_pk = {r.pk: r for rs in stays.values() for r in rs}
        for op in (*writes, *same):
            if op["op"] == CREATE:
                admitted = _day(op["facts"]["admitted_on"])
                if any(
                    r.institution_id == op["institution"][0] and r.admitted_on == admitted
                    for r in stays.get(op["hash"], ())
                ):
                    raise _stale(op, "该入住记录在校验后已被他人登记")
            else:
                r = by_pk.get(op["id"])
                if r is None or not _same_moment(r.updated_at, op["stamp"]):
                    raise _stale(op, "该入住记录在校验后已被修改")
        institutions = Institution.objects.in_bulk({op["institution"][0] for op in writes})
        stated = {op["id"] for op in (*writes, *same) if op["op"] != CREATE}
        undo = {"created": [], "updated": {}, "stamps": {}}
        detail = {"batch": batch.pk, "step": "import"}
        for op in sorted(writes, key=lambda o: o["row"]):
            f = op["facts"]
            admitted, discharged = _day(f["admitted_on"]), _day(f["discharged_on"])
            inst = institutions.get(op["institution"][0])
            if inst is None:
                raise _stale(op, "该养老机构已不存在")
            # Stays stored since validation (another upload, a page) must not overlap either;
            # those the batch states itself were checked against each other at validation.
            for r in stays.get(op["hash"], ()):
                if r.pk in stated:
                    continue
                if svc.stays_overlap(admitted, discharged, r.admitted_on, r.discharged_on):
                    raise _stale(op, "该老人在校验后登记了时间重叠的入住记录")
            if op["op"] == CREATE:
                try:
                    number = idcard.decrypt(op["cipher"])
                except idcard.DecryptError as exc:
                    raise _stale(op, "身份证号加密密钥在校验后已更换") from exc
                if idcard.lookup_hash(number) != op["hash"]:
                    raise _stale(op, "身份证号查询密钥在校验后已更换")
                born = _day(op.get("birth_date")) or idcard.birth_date_of(number)
                resident, _done = svc.write_resident(
                    actor,
                    inst,
                    None,
                    name=f["name"],
                    ability_level=f["ability_level"],
                    admitted_on=admitted,
                    discharged_on=discharged,
                    id_hash=op["hash"],
                    id_cipher=op["cipher"],
                    id_masked=op["masked"],
                    birth_date=born,
                    detail=detail,
                )
                undo["created"].append(resident.pk)
            else:
                r = by_pk[op["id"]]
                undo["updated"][str(r.pk)] = {
                    "name": r.name,
                    "ability_level": r.ability_level,
                    "discharged_on": _iso(r.discharged_on),
                    "updated_at": r.updated_at.isoformat(),
                }
                resident, _done = svc.write_resident(
                    actor,
                    inst,
                    None,
                    name=f["name"],
                    ability_level=f["ability_level"],
                    admitted_on=admitted,
                    discharged_on=discharged,
                    existing=r,
                    detail=detail,
                )
            undo["stamps"][str(resident.pk)] = resident.updated_at.isoformat()
        if writes:
            # a roster's changes hold personal data: the ids updated instead
            ids_updated = [int(pk) for pk in list(undo["updated"])[:200]]
            record_import(
                actor,
                Resident,
                kind=self.name,
                batch=batch,
                undo=undo,
                writes=writes,
                extra={"ids_updated": ids_updated},
                changes=False,
            )
        return undo

    def revert(self, *, actor, batch, undo) -> None:
        if actor is not SYSTEM and not actor.has_perm("subsidies.change_resident"):
            raise PermissionDenied("您没有修改入住记录的权限。")
        created, updated, stamps = undo_parts(undo)
        locked = {r.pk: r for r in Resident.objects.select_for_update().filter(pk__in=[*created, *updated])}
        later = [str(r) for pk, r in locked.items() if not _same_moment(r.updated_at, stamps.get(pk))]
        if later or len(locked) != len(created) + len(updated):
            names = "、".join(later[:10]) or "部分记录已被删除"
            raise ValidationError(f"不能撤销本次导入：导入后这些入住记录又有修改（{names}）。")
        for pk, before in updated.items():
            r = locked[pk]
            discharged = _day(before["discharged_on"])
            if discharged != r.discharged_on:
                clash = (
                    Resident.objects.filter(id_hash=r.id_hash)
                    .exclude(pk__in=[r.pk, *created])
                    .filter(Q(discharged_on__isnull=True) | Q(discharged_on__gt=r.admitted_on))
                )
                if discharged is not None:
                    clash = clash.filter(admitted_on__lt=discharged)
                if clash.exists():
                    raise ValidationError(
                        f"不能撤销本次导入：恢复{r}原来的退住日期将与其之后登记的入住记录时间重叠。"
                    )
            changes = {
                k: [_iso(getattr(r, k)), before[k]]
                for k in ("name", "ability_level", "discharged_on")
                if _iso(getattr(r, k)) != before[k]
            }
            Resident.objects.filter(pk=pk).update(
                name=before["name"],
                ability_level=before["ability_level"],
                discharged_on=discharged,
                updated_at=datetime.datetime.fromisoformat(before["updated_at"]),
            )
            record(
                actor,
                Action.UPDATE,
                r,
                changes=changes,
                detail={"batch": batch.pk, "step": "import_reverted"},
            )
        for pk in created:
            r = locked[pk]
            record(
                actor,
                Action.DELETE,
                r,
                changes={"name": [r.name, None], "id_masked": [r.id_masked, None]},
                detail={"batch": batch.pk, "step": "import_reverted"},
            )
        Resident.objects.filter(pk__in=created).delete()


class _ResidentDescriber:
    LABELS = {
        "name": "姓名",
        "ability_level": "能力等级",
        "admitted_on": "入住日期",
        "discharged_on": "退住日期",
    }

    @staticmethod
    def value(key, value) -> str:
        if value in (None, ""):
            return _("(blank)")
        if key == "ability_level":
            return svc.ABILITY_LEVELS.get(int(value), str(value))
        return str(value)

    def changes(self, op: dict) -> list[dict]:
        if op.get("op") == UPDATE:
            return [
                {"field": self.LABELS[k], "old": self.value(k, old), "new": self.value(k, new)}
                for k, (old, new) in (op.get("diff") or {}).items()
            ]
        if op.get("op") == CREATE:
            f = op.get("facts") or {}
            shown = [
                {"field": "能力等级", "new": self.value("ability_level", f.get("ability_level"))},
                {"field": "入住日期", "new": self.value("admitted_on", f.get("admitted_on"))},
            ]
            if f.get("discharged_on"):
                shown.append({"field": "退住日期", "new": f["discharged_on"]})
            return shown
        return []

    def link(self, op: dict) -> str | None:
        from django.urls import reverse

        return reverse("institutions:detail", args=[op["institution"][0]]) if op.get("institution") else None
