"""The `township_reports` kind of the spreadsheet engine (CONTRACT.md: key township code + year;
区划代码* (a township) | 年度* | one column per ReportedField by its name, with its synonyms).

Who may import what (CONTRACT.md): a county user's rows (health or civil) are saved and accepted
at once — they take effect immediately; a township user's rows are staged, and when a county
user accepts the batch the reports become accepted (that *is* the county's acceptance, audited
as theirs); the township's confirm is its submission. A township user's rows for another
township are refused, and every row must name a township-level region.

Cells follow the engine's conventions (DOMAIN.md §8): a missing column or a blank cell leaves
the stored figure unchanged, 清空 clears it; numbers such as "1,200", "１２０" or "95.5分" are read
by assessments.township_reports.parse_number, which also checks ≥ 0, the field's maximum and
decimals. Over the figures as they will be, a numerator above its denominator (`not_above`) is
an error of the numerator's column, and such a pair must be given together.

Plan per row: create / update (the diff, and the status change to 已审核锁定) / unchanged — an
accepted report whose figures the file restates. A row that would change an accepted (locked)
report is an error: 「该乡镇该年度数据已审核锁定」 (a county user reopens it first). Validation looks
everything up in a fixed number of set queries (the regions, the stored reports, the fields).

Undo: created reports are deleted and updated ones restored exactly as they were (figures,
status, the acceptance), while nothing changed them after the import."""

from __future__ import annotations

import datetime
import time

from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from eldercare.accounts.roles import TOWNSHIP
from eldercare.accounts.scope import SYSTEM, actor_prefix
from eldercare.audit.models import Action
from eldercare.audit.services import record
from eldercare.regions import codes
from eldercare.sheets import tables
from eldercare.sheets import values as v
from eldercare.sheets.headers import Column
from eldercare.sheets.kinds import CREATE, UNCHANGED, UPDATE, Validation, record_import, undo_parts

from . import township_reports as svc
from .models import ReportStatus, TownshipReport

REGION = Column(
    "区划代码",
    "region",
    required=True,
    synonyms=("乡镇代码", "乡镇（街道）代码", "乡镇区划代码", "行政区划代码", "统计用区划代码", "区划编码"),
)
REGION_NAME = Column(
    "乡镇名称", "region_name", synonyms=("乡镇（街道）", "乡镇（街道）名称", "乡镇", "街道", "单位名称")
)
YEAR = Column("年度", "year", required=True, synonyms=("年份", "统计年度", "报告年度", "填报年度"))
FIELD_PREFIX = "f:"
LOCKED_ROW = "该乡镇该年度数据已审核锁定，如需更正请县级在“乡镇年报”中退回后再导入。"
STATUS_LABELS = dict(ReportStatus.choices)
# What undo restores on an updated report.
RESTORED = (
    "values",
    "status",
    "accepted_values",
    "previous_accepted_values",
    "accepted_at",
    "accepted_by_id",
    "submitted_at",
    "submitted_by_id",
    "acceptances",
    "reopened_reason",
)
_MOMENTS = {"accepted_at", "submitted_at", "updated_at"}


def _key(code: str) -> str:
    return FIELD_PREFIX + code


def _iso(value):
    return value.isoformat() if isinstance(value, (datetime.date, datetime.datetime)) else value


def _same_moment(stamp: datetime.datetime, stored: str | None) -> bool:
    return stored is not None and stamp == datetime.datetime.fromisoformat(stored)


def _stale(op: dict, message: str):
    from eldercare.sheets.engine import StaleBatch

    return StaleBatch(f"第{op['row']}行：{message.rstrip('。')}。校验后数据已有变化，请重新校验后再提交。")


def _snapshot(r: TownshipReport) -> dict:
    return {name: _iso(getattr(r, name)) for name in (*RESTORED, "updated_at")}


def _untouched(r: TownshipReport, stamp) -> bool:
    """Nothing changed the report since the import left it as `stamp` (its snapshot then)."""
    if not isinstance(stamp, dict):
        return False
    now = _snapshot(r)
    moments = [k for k in _MOMENTS if k in stamp]
    if any(
        (now[k] is None) != (stamp[k] is None) or (now[k] and not _same_moment(getattr(r, k), stamp[k]))
        for k in moments
    ):
        return False
    return all(now[k] == stamp[k] for k in RESTORED if k not in _MOMENTS)


class _Row:
    def __init__(self, number: int, canonical: dict):
        self.row, self.canonical = number, canonical
        self.errors: list[dict] = []
        self.warnings: list[dict] = []
        self.facts: dict = {}
        self.given: dict = {}  # field code -> Decimal | CLEAR

    def error(self, key, message):
        column = self.canonical.get(key, key) if key else None
        self.errors.append({"row": self.row, "column": column, "message": message})

    def warn(self, key, message):
        column = self.canonical.get(key, key) if key else None
        self.warnings.append({"row": self.row, "column": column, "message": message})


def read_region(raw) -> str:
    code = v.code_text(raw)
    if code is v.UNCHANGED or code is v.CLEAR:
        raise v.CellError("区划代码为必填项。")
    try:
        return codes.normalise(code)
    except codes.RegionCodeError:
        raise v.CellError(f"“{code}”不是有效的区划代码（12位统计用区划代码，如 370306100000）。") from None


class TownshipReportsKind:
    name = "township_reports"
    label = "乡镇年报"
    revertible = True
    preview_heading = "乡镇（街道）· 年度"

    # -- what the pages and the template show ------------------------------------------------
    @property
    def fields(self):
        return svc.reported_fields()

    @property
    def columns(self) -> list[Column]:
        return [
            REGION,
            REGION_NAME,
            YEAR,
            *(Column(f.name, _key(f.code), synonyms=tuple(f.synonyms or ())) for f in self.fields),
        ]

    @property
    def example(self) -> dict:
        figures = {
            "pop60": "8,260",
            "fd_signed60": "6,015",
            "pop65": "6,120",
            "health_managed65": "4,790",
            "villages": "18",
            "villages_with_center": "13",
            "satisfaction": "92.5",
        }
        out = {
            "region": "示例：370306100000",
            "region_name": "北郊镇",
            "year": str(timezone.localdate().year - 1),
        }
        for f in self.fields:
            out[_key(f.code)] = figures.get(f.code, "0")
        return out

    @property
    def rules(self) -> list[str]:
        fields = self.fields
        by_code = {f.code: f for f in fields}
        pairs = [f"“{f.name}”不能大于“{by_code[f.not_above].name}”" for f in fields if f.not_above in by_code]
        bounded = [
            f"“{f.name}”填 0–{svc.show(f.max_value)}" + (f"，最多{f.decimals}位小数" if f.decimals else "")
            for f in fields
            if f.max_value is not None
        ]
        out = [
            "每行一个乡镇（街道）一个年度：区划代码填乡镇级的12位统计用区划代码（如 370306100000，也可只写前9位），年度填 2025 或 2025年。",
            "人数、村数填整数，可带千分位（1,200）；" + ("；".join(bounded) + "。" if bounded else ""),
        ]
        if pairs:
            out.append("；".join(pairs) + "。成对的两项须同时填写。")
        out += [
            "乡镇用户只能填报本乡镇（街道）的数据；上传确认即为报送，经县级卫健或民政部门接受后即审核通过并锁定。县级用户上传的数据立即生效（直接审核锁定）。",
            "已审核锁定的年报不能通过导入修改；如需更正，请县级在“乡镇年报”中退回后再导入。只有审核通过的数据计入指标考核。",
        ]
        return out

    @property
    def hints(self) -> dict[str, str]:
        out = {}
        for f in self.fields:
            parts = []
            if f.max_value is not None:
                parts.append(f"0–{svc.show(f.max_value)}")
            parts.append(f"最多{f.decimals}位小数" if f.decimals else "整数")
            if f.not_above:
                parts.append(
                    "不大于" + next((g.name for g in self.fields if g.code == f.not_above), f.not_above)
                )
            out[_key(f.code)] = "，".join(parts)
        return out

    # -- who ---------------------------------------------------------------------------------
    def check_can_import(self, actor) -> None:
        if actor is SYSTEM:
            return
        if not actor.has_perm("sheets.import_sheet"):
            raise PermissionDenied(_("You do not have permission to upload spreadsheets."))
        if not svc.may_edit(actor):
            raise PermissionDenied("您没有填报乡镇年报的权限。")

    def staged_for(self, actor) -> bool:
        """CONTRACT.md: a township's reports wait for a county user (targets depend on them)."""
        return actor is not SYSTEM and TOWNSHIP in actor.roles

    # -- validate ----------------------------------------------------------------------------
    def validate(self, *, actor, data: bytes, as_of, progress) -> Validation:
        t0 = time.perf_counter()
        fields = self.fields
        columns = self.columns
        table = tables.read_table(
            data,
            columns,
            hint="未找到表头行：表头须包含 区划代码、年度 和各填报项（如 60岁以上常住老年人数），可下载导入模板对照。",
            example_key="region",
        )
        out = table.out
        if out.errors:
            return out
        canonical = {c.key: c.canonical for c in columns}
        parsed = [self._parse(n, cells, fields, canonical) for n, cells in table.rows]
        t_parse = time.perf_counter()
        self._plan(actor, parsed, fields, canonical, out)
        out.timings = {"parse_s": round(t_parse - t0, 3), "plan_s": round(time.perf_counter() - t_parse, 3)}
        progress(0.95)
        return out

    @staticmethod
    def _parse(number: int, cells: dict, fields, canonical: dict) -> _Row:
        row = _Row(number, canonical)
        try:
            row.facts["region"] = read_region(cells.get("region"))
        except v.CellError as exc:
            row.error("region", str(exc))
        raw_year = cells.get("year")
        if raw_year is None or v.fold(raw_year) in ("", *v.CLEAR_WORDS):
            row.error("year", "年度为必填项。")
        else:
            try:
                row.facts["year"] = svc.parse_year(raw_year)
            except v.CellError as exc:
                row.error("year", str(exc))
        name = cells.get("region_name")
        if isinstance(name, str) and v.fold(name) and v.fold(name) not in v.CLEAR_WORDS:
            row.facts["region_name"] = " ".join(v.fold(name).split())
        for f in fields:
            key = _key(f.code)
            if key not in cells:
                continue  # a missing column leaves the stored figure unchanged
            try:
                value = svc.parse_number(cells[key], f)
            except v.CellError as exc:
                row.error(key, f"“{f.name}”{exc}")
                continue
            if value is not v.UNCHANGED:
                row.given[f.code] = value
        return row

    def _plan(self, actor, parsed: list[_Row], fields, canonical: dict, out: Validation) -> None:
        from eldercare.regions.models import Region

        try:
            prefix = actor_prefix(actor)
        except PermissionError:
            prefix = "\x00"
        township_user = self.staged_for(actor)
        seen: dict[tuple, int] = {}
        good = []
        for row in parsed:
            key = (row.facts.get("region"), row.facts.get("year"))
            if not row.errors:
                if key in seen:
                    row.error("year", f"与第{seen[key]}行重复（同一乡镇同一年度出现两次）。")
                else:
                    seen[key] = row.row
                region = row.facts["region"]
                if prefix is not None and not region.startswith(prefix):
                    if township_user:
                        row.error(
                            "region",
                            f"只能填报本乡镇（街道）的数据（{actor.region_id}），不能填报 {region}。",
                        )
                    else:
                        row.error("region", f"区划 {region} 不在您的管辖范围内。")
            (out.errors.extend(row.errors) if row.errors else good.append(row))

        regions = {
            r["code"]: r
            for r in Region.objects.filter(code__in={r.facts["region"] for r in good}).values(
                "code", "name", "level"
            )
        }
        stored: dict[tuple[str, int], TownshipReport] = {}
        if good:
            for r in TownshipReport.objects.filter(
                region_id__in={r.facts["region"] for r in good}, year__in={r.facts["year"] for r in good}
            ):
                stored[(r.region_id, r.year)] = r
        level_names = {
            codes.PROVINCE: "省级",
            codes.CITY: "市级",
            codes.COUNTY: "县级",
            codes.VILLAGE: "村（社区）级",
        }
        for row in good:
            code, year = row.facts["region"], row.facts["year"]
            region = regions.get(code)
            if region is None:
                row.error("region", f"找不到区划代码为 {code} 的乡镇（街道）。")
            elif region["level"] != codes.TOWNSHIP:
                row.error(
                    "region",
                    f"{region['name']}（{code}）是{level_names.get(region['level'], '')}区划；乡镇年报须按乡镇（街道）填报。",
                )
            if row.errors:
                out.errors.extend(row.errors)
                continue
            given_name = row.facts.get("region_name")
            if given_name and given_name not in (region["name"], code):
                row.warn(
                    "region_name",
                    f"表中名称“{given_name}”与区划代码对应的“{region['name']}”不一致，已按区划代码导入。",
                )
            ex = stored.get((code, year))
            before = dict(ex.values or {}) if ex is not None else {}
            after = dict(before)
            for field_code, value in row.given.items():
                if value is v.CLEAR:
                    after.pop(field_code, None)
                else:
                    after[field_code] = svc.to_json(value)
            after = {f.code: after[f.code] for f in fields if f.code in after}
            for field_code, message in svc.pair_errors(fields, after).items():
                row.error(_key(field_code), message)
            diff = {
                k: [before.get(k), after.get(k)]
                for k in after.keys() | before.keys()
                if before.get(k) != after.get(k)
            }
            status_before = ex.status if ex is not None else None
            if ex is not None and ex.status == ReportStatus.ACCEPTED:
                if diff:
                    row.error(None, LOCKED_ROW)
            elif ex is not None and ex.status == ReportStatus.SUBMITTED and diff:
                # What the county is about to accept must stay what was submitted.
                row.error(None, f"{region['name']}{year}年度数据{svc.SUBMITTED_MESSAGE}。")
            elif not after and not row.errors:
                row.error(None, "该行没有填写任何填报项。")
            if not row.errors and (ex is None or ex.status != ReportStatus.ACCEPTED):
                missing = svc.missing_fields(fields, after)
                if missing:
                    row.warn(
                        None,
                        "未填写：" + "、".join(f.name for f in missing) + "（相关指标将按数据不足计）。",
                    )
            out.warnings.extend(row.warnings)
            if row.errors:
                out.errors.extend(row.errors)
                continue
            op = {
                "row": row.row,
                "name": f"{region['name']} · {year}年度",
                "region": code,
                "year": year,
                "values": after,
            }
            if ex is None:
                op["op"] = CREATE
            else:
                op.update(id=ex.pk, stamp=ex.updated_at.isoformat(), was=ex.status, before=before)
                if ex.status == ReportStatus.ACCEPTED:
                    op["op"] = UNCHANGED
                else:
                    op["op"] = UPDATE
                    op["diff"] = {k: diff[k] for k in sorted(diff, key=[f.code for f in fields].index)}
                    op["status"] = [status_before, ReportStatus.ACCEPTED]
            out.ops.append(op)
        out.warnings.sort(key=lambda w: w["row"] or 0)

    def describer(self, user, ops):
        return _Describer(self.fields)

    # -- apply -------------------------------------------------------------------------------
    def apply(self, *, actor, batch, ops, now, data_path) -> dict:
        """Save and accept every row's report. The uploader saves (and so submits); the acceptor
        is the county user who accepted the staged batch, or the uploader for a county upload."""
        from eldercare.regions.models import Region

        acceptor = actor
        if batch.staged:
            # Applied when a county user accepts the batch (engine.accept sets decided_by first).
            acceptor = batch.decided_by if batch.decided_by_id else None
            if acceptor is None or not svc.may_accept(acceptor):
                raise PermissionDenied("乡镇上传的年报须由县级卫健、民政部门接受。")
        writes = [op for op in ops if op["op"] in (CREATE, UPDATE)]
        same = [op for op in ops if op["op"] == UNCHANGED]
        wanted = {(op["region"], op["year"]) for op in ops}
        current: dict[tuple[str, int], TownshipReport] = {}
        if wanted:
            for r in (
                TownshipReport.objects.select_for_update(of=("self",))
                .select_related("region")
                .filter(region_id__in={c for c, _y in wanted}, year__in={y for _c, y in wanted})
            ):
                current[(r.region_id, r.year)] = r
        for op in (*writes, *same):
            rec = current.get((op["region"], op["year"]))
            if op["op"] == CREATE and rec is not None:
                raise _stale(op, "该乡镇该年度数据在校验后已被他人填报")
            if op["op"] == UPDATE and rec is not None and rec.status == ReportStatus.ACCEPTED:
                raise _stale(op, "该乡镇该年度数据在校验后已审核锁定")
            # The stamp, and the status and figures too (two writes within one clock tick).
            if op["op"] != CREATE and (
                rec is None
                or not _same_moment(rec.updated_at, op["stamp"])
                or rec.status != op.get("was", rec.status)
                or (rec.values or {}) != op.get("before", rec.values or {})
            ):
                raise _stale(op, "该乡镇该年度数据在校验后已被修改")
        regions = Region.objects.in_bulk({op["region"] for op in writes if op["op"] == CREATE})
        submitted_at = self._submitted_at(batch, now)
        undo = {"created": [], "updated": {}, "stamps": {}}
        detail = {"batch": batch.pk, "step": "import"}
        for op in sorted(writes, key=lambda o: o["row"]):
            if op["op"] == CREATE:
                region = regions.get(op["region"])
                if region is None:
                    raise _stale(op, "该区划已不存在")
                r = TownshipReport.objects.create(region=region, year=op["year"], values=op["values"])
                record(
                    actor,
                    Action.CREATE,
                    r,
                    changes={k: [None, val] for k, val in op["values"].items()},
                    detail=detail,
                )
                undo["created"].append(r.pk)
            else:
                r = current[(op["region"], op["year"])]
                undo["updated"][str(r.pk)] = _snapshot(r)
                if op.get("diff"):
                    r.values = op["values"]
                    r.save(update_fields=["values", "updated_at"])
                    record(actor, Action.UPDATE, r, changes=op["diff"], detail=detail)
            before = r.status
            r.status = ReportStatus.SUBMITTED
            r.submitted_at, r.submitted_by = submitted_at, actor if getattr(actor, "pk", None) else None
            r.save(update_fields=["status", "submitted_at", "submitted_by", "updated_at"])
            record(
                actor,
                Action.TRANSITION,
                r,
                changes={"status": [before, r.status]},
                detail={"action": "submit", **detail},
            )
            svc._accept(r, acceptor, now, detail=detail)
            undo["stamps"][str(r.pk)] = _snapshot(r)
        if writes:
            record_import(acceptor, TownshipReport, kind=self.name, batch=batch, undo=undo, writes=writes)
            svc._touch((svc._county_of(op["region"]), op["year"]) for op in writes)
        return undo

    @staticmethod
    def _submitted_at(batch, now):
        """A staged batch was submitted when its uploader confirmed it (the audit trail says when)."""
        if not batch.staged:
            return now
        from eldercare.audit.models import AuditEvent

        event = (
            AuditEvent.objects.filter(
                object_type="sheets.importbatch",
                object_id=str(batch.pk),
                detail__step="submitted_for_acceptance",
            )
            .order_by("-at", "-id")
            .first()
        )
        return event.at if event is not None else now

    # -- revert ------------------------------------------------------------------------------
    def revert(self, *, actor, batch, undo) -> None:
        if actor is not SYSTEM and not svc.may_accept(actor):
            raise PermissionDenied("只有县级卫健、民政部门可以撤销乡镇年报的导入。")
        created, updated, stamps = undo_parts(undo)
        locked = {
            r.pk: r
            for r in TownshipReport.objects.select_for_update(of=("self",))
            .select_related("region")
            .filter(pk__in=[*created, *updated])
        }
        later = [
            f"{r.region.name}{r.year}年度" for pk, r in locked.items() if not _untouched(r, stamps.get(pk))
        ]
        if later or len(locked) != len(created) + len(updated):
            names = "、".join(later[:10]) or "部分年报已被删除"
            raise ValidationError(f"不能撤销本次导入：导入后这些乡镇年报又有变化（{names}）。")
        detail = {"batch": batch.pk, "step": "import_reverted"}
        for pk, before in updated.items():
            r = locked[pk]
            now_state = _snapshot(r)
            restored = {}
            for name in RESTORED:
                value = before[name]
                if name in _MOMENTS and value:
                    value = datetime.datetime.fromisoformat(value)
                restored[name] = value
            TownshipReport.objects.filter(pk=pk).update(
                **restored, updated_at=datetime.datetime.fromisoformat(before["updated_at"])
            )
            record(
                actor,
                Action.UPDATE,
                r,
                changes={k: [now_state[k], before[k]] for k in RESTORED if now_state[k] != before[k]},
                detail=detail,
            )
        for pk in created:
            r = locked[pk]
            record(
                actor,
                Action.DELETE,
                r,
                changes={"values": [r.values, None], "status": [r.status, None]},
                detail=detail,
            )
        TownshipReport.objects.filter(pk__in=created).delete()
        svc._touch((svc._county_of(r.region_id), r.year) for r in locked.values())


class _Describer:
    def __init__(self, fields):
        self.names = {f.code: f.name for f in fields}

    def changes(self, op: dict) -> list[dict]:
        if op.get("op") == UPDATE:
            out = [
                {
                    "field": self.names.get(k, k),
                    "old": svc.show(old) or _("(blank)"),
                    "new": svc.show(new) or _("(blank)"),
                }
                for k, (old, new) in (op.get("diff") or {}).items()
            ]
            old, new = op.get("status") or [None, None]
            if old != new:
                out.append(
                    {"field": "状态", "old": STATUS_LABELS.get(old, old), "new": STATUS_LABELS.get(new, new)}
                )
            return out
        if op.get("op") == CREATE:
            return [
                {"field": self.names.get(k, k), "new": svc.show(val)}
                for k, val in (op.get("values") or {}).items()
            ]
        return []

    def link(self, op: dict) -> str | None:
        if not op.get("region"):
            return None
        return svc.report_link(op["region"], op["year"])
