"""The `institutions` kind: a registry sheet → a stored plan → set-based writes with history.

Validation (no writes): find the header, parse every row (institutions/importers.py), check
scope, permissions and duplicates, look the keys up in a handful of set queries, and diff each
row against the version in force on its effective day through the same history logic the
single-record service uses (institutions/history.py). The plan keeps, per row, the versions to
insert and to change and the new current copy, so committing is a few COPY statements.

Effective days: the file's 数据截止日期 (`as_of`) for ordinary facts; a status change takes
its 状态日期 (a closure typed in late still counts on its date). A new institution's first
version starts on its 成立日期, else on `as_of`; a new row already 停业/注销 on a later 状态日期
is operating until that date."""

from __future__ import annotations

import datetime
import itertools
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.db.models import Count, Min
from django.utils import timezone
from django.utils.translation import gettext as _

from eldercare.accounts.roles import TOWNSHIP
from eldercare.accounts.scope import SYSTEM, actor_prefix
from eldercare.audit.models import Action
from eldercare.audit.services import record_bulk
from eldercare.regions.models import Region
from eldercare.sheets import bulk
from eldercare.sheets import values as v
from eldercare.sheets.headers import find_header
from eldercare.sheets.kinds import CREATE, UNCHANGED, UPDATE, Validation
from eldercare.sheets.readers import SheetError, iter_rows

from . import enums, history, importers
from .models import FACT_FIELDS, Institution, InstitutionVersion
from .selectors import contracted_ids, threshold_table, thresholds_for, warning_codes_for
from .services import FAMILY_PERMISSION

_FK = {"region": "region_id", "run_by": "run_by_id"}
ATTNAMES = [_FK.get(f, f) for f in FACT_FIELDS]
_POS_REGION, _POS_NAME = FACT_FIELDS.index("region"), FACT_FIELDS.index("name")
# A stored version row in full, as undo keeps and restores it.
VERSION_COLUMNS = [
    "id",
    "institution_id",
    "valid_from",
    "valid_to",
    "changed",
    "recorded_at",
    "recorded_by_id",
    *ATTNAMES,
]
_STRING_FACTS = {
    f.name
    for f in Institution._meta.local_fields
    if f.name in FACT_FIELDS and f.get_internal_type() == "CharField" and not f.null
}
_DATE_FACTS = {"opened_on", "status_date"}
_DECIMAL_FACTS = {"longitude", "latitude"}
_FAMILY_LABEL = dict(enums.Family.choices)


def _blank_facts() -> dict:
    facts = {f: ("" if f in _STRING_FACTS else None) for f in FACT_FIELDS}
    facts["status"] = enums.Status.OPERATING
    return facts


def _to_json(facts: dict) -> list:
    """Facts as stored in the plan: a list in FACT_FIELDS order, JSON-ready (compact: 100k rows)."""
    out = []
    for f in FACT_FIELDS:
        val = facts[f]
        if isinstance(val, datetime.date):
            val = val.isoformat()
        elif isinstance(val, Decimal):
            val = str(val)
        out.append(val)
    return out


def _chunks(items, size=None):
    """Lookup batches: large on PostgreSQL (each batch of the existing-records query scans the
    versions once), within SQLite's bound-parameter limit elsewhere."""
    items = list(items)
    size = size or (50_000 if bulk.is_postgres() else 900)
    for i in range(0, len(items), size):
        yield items[i : i + size]


EXAMPLE_PREFIX = "示例"


class InstitutionsKind:
    name = "institutions"
    label = "机构"
    revertible = True
    columns = importers.COLUMNS
    example = {
        "name": "示例：永安街道敬老院",  # rows named 示例… are skipped (EXAMPLE_PREFIX)
        "credit_code": "91310110666007217T",
        "family": "养老服务机构",
        "type": "养老院",
        "region": "370306001000",
        "ownership": "公办公营",
        "address": "永安街道新华路1号",
        "opened_on": "2020-01-05",
        "status": "运营中",
        "beds_eldercare": "120",
        "beds_nursing": "60",
        "caregivers": "12",
        "internal_unit": "医务室",
    }

    # -- who ----------------------------------------------------------------------------------
    def check_can_import(self, actor) -> None:
        if actor is SYSTEM:
            return
        if not actor.has_perm("sheets.import_sheet"):
            raise PermissionDenied(_("You do not have permission to upload spreadsheets."))
        if TOWNSHIP not in actor.roles and not any(actor.has_perm(p) for p in FAMILY_PERMISSION.values()):
            raise PermissionDenied(_("You do not have permission to maintain institutions."))

    def staged_for(self, actor) -> bool:
        """A township user's registry rows wait for a county user (CONTRACT.md)."""
        return actor is not SYSTEM and TOWNSHIP in actor.roles

    def _families_for(self, actor) -> set[str]:
        if actor is SYSTEM or TOWNSHIP in actor.roles:
            return set(enums.Family.values)
        return {fam for fam, perm in FAMILY_PERMISSION.items() if actor.has_perm(perm)}

    # -- validate -----------------------------------------------------------------------------
    def validate(self, *, actor, data: bytes, as_of: datetime.date, progress) -> Validation:
        import time

        t0 = time.perf_counter()
        stream = iter_rows(data)
        rows = list(itertools.islice(stream, 15))  # the header is among the first 15 rows
        t_read = time.perf_counter()
        out = Validation()
        header = find_header(rows[:15], importers.COLUMNS)
        if header is None:
            raise SheetError(
                "未找到表头行：表头须包含 机构名称、机构大类、机构类型、所属区划代码 等列（可下载导入模板对照）。"
            )
        if header.missing_required:
            for name in header.missing_required:
                out.errors.append({"row": header.row, "column": name, "message": f"缺少必填列“{name}”。"})
            return out
        for name in header.unknown:
            out.warnings.append({"row": header.row, "column": name, "message": "未识别的列，已忽略。"})
        out.skipped = header.row - 1  # the title and 填报单位 rows above the header
        positions = [(pos, col.key) for pos, col in header.columns.items()]
        parsed: list[importers.ParsedRow] = []
        parse_row, is_total_row = importers.parse_row, v.is_total_row
        for number, raw in enumerate(itertools.chain(rows[header.row :], stream), start=header.row + 1):
            width = len(raw)
            cells = {key: (raw[pos] if pos < width else "") for pos, key in positions}
            if all(c == "" or c is None or (isinstance(c, str) and not c.strip()) for c in cells.values()):
                out.skipped += 1
                continue
            if is_total_row(raw):
                out.skipped += 1
                continue
            name = cells.get("name")
            if isinstance(name, str) and name.lstrip().startswith(EXAMPLE_PREFIX):
                # The template's example row, left in: never imported.
                out.skipped += 1
                out.warnings.append(
                    {"row": number, "column": "机构名称", "message": "模板中的示例行，未导入。"}
                )
                continue
            parsed.append(parse_row(number, cells))
            if number % 5000 == 0:
                progress(min(0.6, 0.6 * number / 100_000))
        out.rows_total = len(parsed)
        del rows, stream
        t_parse = time.perf_counter()
        self._plan(actor, parsed, as_of, out, progress)
        t_plan = time.perf_counter()
        out.timings = {
            "read_s": round(t_read - t0, 3),
            "parse_s": round(t_parse - t_read, 3),
            "plan_s": round(t_plan - t_parse, 3),
        }
        return out

    def _plan(self, actor, parsed, as_of, out: Validation, progress) -> None:
        families = self._families_for(actor)
        try:
            prefix = actor_prefix(actor)
        except PermissionError:
            prefix = "\x00"  # no scope: nothing matches
        county_prefix = None if prefix is None else prefix[:6]
        today = timezone.localdate()
        self._thresholds = threshold_table()
        self._contracted = contracted_ids()  # once per batch: the small-home contract rule

        # 1. row-level checks that need no database: permission, duplicates
        seen: dict[tuple, int] = {}
        good = []
        for row in parsed:
            out.warnings.extend(row.warnings)
            if row.errors:
                out.errors.extend(row.errors)
                continue
            if row.family not in families:
                row.error(
                    "family",
                    f"您无权维护{_FAMILY_LABEL.get(row.family, row.family)}（卫健部门维护医疗卫生机构，民政部门维护养老服务机构）。",
                )
            key = importers.row_key(row)
            if key in seen:
                row.error(
                    "credit_code" if key[0] == "code" else "name",
                    f"与第{seen[key]}行重复（同一机构在文件中出现两次）。",
                )
            else:
                seen[key] = row.row
            if row.errors:
                out.errors.extend(row.errors)
            else:
                good.append(row)

        # 2. regions: exist and in scope
        wanted = {r.facts["region"] for r in good if r.facts.get("region")}
        known = set()
        for chunk in _chunks(wanted):
            known.update(Region.objects.filter(code__in=chunk).values_list("code", flat=True))

        # 3. existing records by key (globally, so a key registered elsewhere is refused, not
        # duplicated), with the shape of their history: one open version is diffed against the
        # current copy without loading it.
        existing: dict[tuple, tuple] = {}
        codes = {r.credit_code for r in good if r.credit_code}
        for chunk in _chunks(codes):
            for rec in _existing(_code_in(Institution.objects.all(), chunk)):
                existing[("code", rec[R_CODE], rec[R_FAMILY])] = rec
        codeless = [(r.facts.get("region"), r.facts.get("name")) for r in good if not r.credit_code]
        for chunk in _chunks(codeless):
            names = {n for _, n in chunk}
            regions = {g for g, _ in chunk}
            for rec in _existing(
                Institution.objects.filter(credit_code="", region_id__in=regions, name__in=names)
            ):
                existing[("name", rec[R_REGION], rec[R_NAME])] = rec

        # 4. 举办医疗机构: a medical institution in the actor's county, by exact code
        run_codes = {r.facts["run_by_code"] for r in good if r.facts.get("run_by_code")}
        runners = {}
        for chunk in _chunks(run_codes):
            qs = Institution.objects.filter(credit_code__in=chunk, family=enums.Family.MEDICAL)
            if county_prefix is not None:
                qs = qs.filter(region__code__startswith=county_prefix)
            runners.update(dict(qs.values_list("credit_code", "id")))

        progress(0.7)

        # 6. per row: scope, lookups, steps, diff through the history logic
        pending_full = []  # (row, rec, steps): need their stored versions
        for row in good:
            facts = dict(row.facts)
            region = facts.get("region")
            if region and region not in known:
                row.error("region", f"未知的区划代码：{region}。")
            elif region and prefix is not None and not region.startswith(prefix):
                row.error("region", f"区划 {region} 不在您的管辖范围内。")
            code = facts.pop("run_by_code", None)
            if code:
                if row.family != enums.Family.ELDERCARE:
                    row.error("run_by", "只有养老服务机构可填写举办医疗机构信用代码。")
                elif code not in runners:
                    row.error("run_by", f"举办医疗机构信用代码 {code} 未登记为本县（区）的医疗卫生机构。")
                else:
                    facts["run_by"] = runners[code]
            rec = existing.get(importers.row_key(row))
            if rec is not None and prefix is not None and not rec[R_REGION].startswith(prefix):
                row.error(
                    "credit_code" if row.credit_code else "name",
                    "该机构已由其他辖区登记，不能在此导入；如需调整请联系县级主管部门。",
                )
            if row.errors:
                out.errors.extend(row.errors)
                continue
            steps = _steps(facts, as_of)
            if rec is None:
                op = self._plan_create(row, facts, as_of, today)
                if op is not None:
                    out.ops.append(op)
                else:
                    out.errors.extend(row.errors)
                continue
            if rec[R_NVER] == 1 and all(day >= rec[R_FIRST] for day, _c in steps):
                # One open version = the current copy: a row restating it changes nothing.
                if all(rec[R_FACT[k]] == val for _day, changes in steps for k, val in changes.items()):
                    out.ops.append(_unchanged(row, rec))
                    continue
            pending_full.append((row, _rec_dict(rec), steps))

        # 7. the rows that change something: load their versions, plan the writes
        versions: dict[int, list] = {}
        ids = [rec["id"] for _r, rec, _s in pending_full]
        for chunk in _chunks(ids):
            for ver in (
                InstitutionVersion.objects.filter(institution_id__in=chunk)
                .order_by("institution_id", "valid_from")
                .values("id", "institution_id", "valid_from", "valid_to", "changed", *ATTNAMES)
            ):
                versions.setdefault(ver["institution_id"], []).append(ver)
        for row, rec, steps in pending_full:
            spans = [
                history.Span(
                    ver["valid_from"],
                    ver["valid_to"],
                    {f: ver[_FK.get(f, f)] for f in FACT_FIELDS},
                    set(ver["changed"]),
                    id=ver["id"],
                )
                for ver in versions.get(rec["id"], [])
            ]
            op = self._plan_update(row, rec, spans, steps, today)
            if op is None:
                out.errors.extend(row.errors)
            else:
                out.ops.append(op)
        progress(0.95)

    def _check_spans(self, row, spans) -> bool:
        for span in spans:
            nursing, beds = span.facts.get("beds_nursing"), span.facts.get("beds_eldercare")
            if nursing is not None and beds is not None and nursing > beds:
                row.error("beds_nursing", f"护理型床位数（{nursing}）不能超过核定养老床位数（{beds}）。")
                return False
        return True

    def _plan_create(self, row, facts, as_of, today) -> dict | None:
        for key, label in (("name", "机构名称"), ("type", "机构类型"), ("region", "所属区划代码")):
            if not facts.get(key):
                row.error(key, f"新增机构须填写{label}。")
        if row.errors:
            return None
        initial = {**_blank_facts(), **{k: val for k, val in facts.items() if k in FACT_FIELDS}}
        start = initial.get("opened_on") or as_of
        status_day = initial.get("status_date")
        later_status = None
        if (
            status_day
            and status_day > start
            and initial["status"]
            in (
                enums.Status.SUSPENDED,
                enums.Status.CLOSED,
            )
        ):
            later_status = {"status": initial["status"], "status_date": status_day}
            initial["status"], initial["status_date"] = enums.Status.OPERATING, None
        spans = [history.Span(start, None, initial, set(k for k in facts if k in FACT_FIELDS))]
        if later_status:
            spans = history.apply_change(spans, later_status, status_day).spans
        if not self._check_spans(row, spans):
            return None
        current = history.current_span(spans, today)
        return {
            "row": row.row,
            "op": CREATE,
            "name": initial["name"],
            "family": row.family,
            "credit_code": row.credit_code,
            "credit_code_warning": next(
                (w["message"] for w in row.warnings if w["column"] == "统一社会信用代码"), ""
            ),
            "spans": [[s.valid_from, s.valid_to, sorted(s.changed), _to_json(s.facts)] for s in spans],
            "current": spans.index(current),
            "warnings": warning_codes_for(
                row.family,
                current.facts,
                run_by_id=current.facts.get("run_by"),
                thresholds=thresholds_for(current.facts["region"], self._thresholds),
                # a new home has no contract yet
                has_active_contract=None if self._contracted is None or row.family != "eldercare" else False,
            ),
        }

    def _plan_update(self, row, rec, spans, steps, today) -> dict | None:
        stored_current = {f: rec[_FK.get(f, f)] for f in FACT_FIELDS}
        spans, diff, _wrote = _apply_steps(spans, steps)
        if not any(s.dirty or s.id is None for s in spans):
            return _unchanged(row, rec)
        if not self._check_spans(row, spans):
            return None
        current = history.current_span(spans, today).facts
        return {
            "row": row.row,
            "op": UPDATE,
            "name": rec["name"],
            "family": rec["family"],
            "id": rec["id"],
            "stamp": rec["updated_at"].isoformat(),
            "diff": {k: [_plain(o), _plain(n)] for k, (o, n) in diff.items() if o != n},
            "dirty": [
                [s.id, s.valid_to, sorted(s.changed), _to_json(s.facts)] for s in spans if s.dirty and s.id
            ],
            "new": [
                [s.valid_from, s.valid_to, sorted(s.changed), _to_json(s.facts)]
                for s in spans
                if s.id is None
            ],
            "current": _to_json(current) if current != stored_current else None,
            "warnings": warning_codes_for(
                rec["family"],
                current,
                run_by_id=current.get("run_by"),
                thresholds=thresholds_for(current["region"], self._thresholds),
                has_active_contract=(
                    None
                    if self._contracted is None or rec["family"] != "eldercare"
                    else rec["id"] in self._contracted
                ),
            ),
        }

    # -- apply --------------------------------------------------------------------------------
    def apply(self, *, actor, batch, ops, now, data_path) -> dict:
        from eldercare.sheets.engine import StaleBatch

        creates = [op for op in ops if op["op"] == CREATE]
        updates = [op for op in ops if op["op"] == UPDATE]
        recorded_by = getattr(actor, "pk", None)

        # Lock the rows we change and make sure nobody changed them since validation; rows the
        # plan leaves unchanged are checked too (the file's value must still be what is stored),
        # without a lock: a change after this point comes after the import.
        stamps = {}
        for chunk in _chunks([op["id"] for op in updates]):
            stamps.update(
                dict(
                    _in(Institution.objects.select_for_update(), "id", chunk).values_list("id", "updated_at")
                )
            )
        same = [op for op in ops if op["op"] == UNCHANGED and "stamp" in op]
        for chunk in _chunks([op["id"] for op in same]):
            stamps.update(dict(_in(Institution.objects.all(), "id", chunk).values_list("id", "updated_at")))
        stale = [
            op["row"]
            for op in (*updates, *same)
            if stamps.get(op["id"]) is None or stamps[op["id"]].isoformat() != op["stamp"]
        ]
        taken = set()
        for chunk in _chunks({op["credit_code"] for op in creates if op["credit_code"]}):
            taken.update(_code_in(Institution.objects.all(), chunk).values_list("credit_code", "family"))
        codeless = [op for op in creates if not op["credit_code"]]
        for chunk in _chunks(codeless):
            first = [span[3] for span in (op["spans"][0] for op in chunk)]
            regions = {facts[_POS_REGION] for facts in first}
            names = {facts[_POS_NAME] for facts in first}
            taken.update(
                ("", region, name)
                for region, name in Institution.objects.filter(
                    credit_code="", region_id__in=regions, name__in=names
                ).values_list("region_id", "name")
            )
        stale += [
            op["row"]
            for op in creates
            if (op["credit_code"], op["family"]) in taken
            or (
                not op["credit_code"]
                and ("", op["spans"][0][3][_POS_REGION], op["spans"][0][3][_POS_NAME]) in taken
            )
        ]
        if stale:
            rows = "、".join(str(r) for r in sorted(stale)[:20])
            raise StaleBatch(f"校验后登记库已有变化（第{rows}行涉及的机构），请重新校验后再提交。")

        # What revert restores: the touched institutions' current copies and versions.
        undo = {
            "created": [],
            "updated": {},
            "stamp": now.isoformat(),
            "families": sorted({op["family"] for op in creates} | {op["family"] for op in updates}),
        }
        upd_ids = [op["id"] for op in updates]
        for chunk in _chunks(upd_ids):
            for rec in Institution.objects.filter(pk__in=chunk).values(
                "id", "warning_codes", "updated_at", *ATTNAMES
            ):
                undo["updated"][str(rec["id"])] = {"inst": _plain_dict(rec), "versions": []}
            for ver in InstitutionVersion.objects.filter(institution_id__in=chunk).values(*VERSION_COLUMNS):
                undo["updated"][str(ver["institution_id"])]["versions"].append(_plain_dict(ver))

        # Creates: reserve ids, COPY the institutions, then their versions.
        new_ids = bulk.next_ids(Institution, len(creates))
        inst_cols = [
            "id",
            "portal_no",
            "family",
            "credit_code",
            "credit_code_warning",
            "warning_codes",
            "created_at",
            "updated_at",
            *ATTNAMES,
        ]
        ver_cols = [
            "institution_id",
            "valid_from",
            "valid_to",
            "changed",
            "recorded_at",
            "recorded_by_id",
            *ATTNAMES,
        ]
        inst_rows, ver_rows = [], []
        for pk, op in zip(new_ids, creates, strict=True):
            current = op["spans"][op["current"]][3]
            inst_rows.append(
                [
                    pk,
                    f"JG{pk:08d}",
                    op["family"],
                    op["credit_code"],
                    op["credit_code_warning"][:200],
                    op["warnings"],
                    now,
                    now,
                    *current,
                ]
            )
            for vf, vt, changed, facts in op["spans"]:
                ver_rows.append([pk, vf, vt, changed, now, recorded_by, *facts])
        undo["created"] = new_ids
        bulk.insert(Institution, inst_cols, inst_rows)

        # Updates: the current copies, the changed versions, the new versions.
        cur_rows, stamp_rows, dirty_rows = [], [], []
        for op in updates:
            if op["current"] is not None:
                cur_rows.append([op["id"], *op["current"], op["warnings"], now])
            else:
                stamp_rows.append([op["id"], now])
            for vid, vt, changed, facts in op["dirty"]:
                dirty_rows.append([vid, vt, changed, *facts])
            for vf, vt, changed, facts in op["new"]:
                ver_rows.append([op["id"], vf, vt, changed, now, recorded_by, *facts])
        bulk.update(Institution, [*ATTNAMES, "warning_codes", "updated_at"], cur_rows)
        bulk.update(Institution, ["updated_at"], stamp_rows)
        # Shorten split versions before inserting the ones that continue them.
        bulk.update(InstitutionVersion, ["valid_to", "changed", *ATTNAMES], dirty_rows)
        bulk.insert(InstitutionVersion, ver_cols, ver_rows)
        if len(creates) + len(updates) > 10_000:
            bulk.analyze(Institution, InstitutionVersion)  # fresh planner statistics after a big load
        record_bulk(
            actor,
            Institution,
            count=len(creates) + len(updates),
            action=Action.IMPORT,
            detail={
                "kind": "institutions",
                "batch": batch.pk,
                "file_sha256": batch.file_sha256,
                "as_of": batch.as_of.isoformat(),
                "created": len(creates),
                "updated": len(updates),
                "ids_created": new_ids[:200],
                "ids_updated": upd_ids[:200],
                "changes": {str(op["id"]): op["diff"] for op in updates[:200]},
            },
        )
        return undo

    # -- revert -------------------------------------------------------------------------------
    def revert(self, *, actor, batch, undo) -> None:
        families = set(undo.get("families", enums.Family.values))
        # The bureau split holds for undo too; whoever accepted a township batch answers for all of it.
        if actor is not SYSTEM and actor.pk != batch.decided_by_id:
            if not all(actor.has_perm(FAMILY_PERMISSION[f]) for f in families):
                raise PermissionDenied(
                    _("This import contains institutions your department does not maintain.")
                )
        created = undo.get("created", [])
        updated = {int(k): val for k, val in undo.get("updated", {}).items()}
        ids = [*created, *updated]
        stamp = datetime.datetime.fromisoformat(undo["stamp"])
        # Lock every touched row first (not only the changed ones), then compare.
        current = {}
        for chunk in _chunks(ids):
            for pk, name, updated_at in (
                Institution.objects.select_for_update()
                .filter(pk__in=chunk)
                .values_list("id", "name", "updated_at")
            ):
                current[pk] = (name, updated_at)
        later = [name for name, updated_at in current.values() if updated_at != stamp]
        present = sum(1 for pk in created if pk in current)
        if later or present != len(created):
            names = "、".join(later[:10]) or "部分新增机构已被删除"
            raise ValidationError(
                _("This import cannot be reverted: records were changed after it (%(names)s).")
                % {"names": names}
            )
        from django.db.models import ProtectedError

        # Versions back as they were (same ids), then the current copies.
        for chunk in _chunks(list(updated)):
            InstitutionVersion.objects.filter(institution_id__in=chunk).delete()
        bulk.insert(
            InstitutionVersion,
            VERSION_COLUMNS,
            [[ver[c] for c in VERSION_COLUMNS] for item in updated.values() for ver in item["versions"]],
        )
        now = timezone.now().isoformat()
        # updated_at as it was, so an earlier batch stays revertible after this one is undone.
        bulk.update(
            Institution,
            [*ATTNAMES, "warning_codes", "updated_at"],
            [
                [
                    pk,
                    *[item["inst"][c] for c in ATTNAMES],
                    item["inst"]["warning_codes"],
                    item["inst"].get("updated_at", now),
                ]
                for pk, item in updated.items()
            ],
        )
        try:
            bulk.delete(Institution, created)
        except ProtectedError as exc:
            raise ValidationError(
                _("This import cannot be reverted: other records refer to institutions it created.")
            ) from exc
        record_bulk(
            actor,
            Institution,
            count=len(ids),
            action=Action.IMPORT,
            detail={
                "kind": "institutions",
                "batch": batch.pk,
                "step": "reverted",
                "deleted": len(created),
                "restored": len(updated),
            },
        )


def _plain(val):
    if isinstance(val, (datetime.date, Decimal)):
        return str(val)
    return val


def _plain_dict(rec: dict) -> dict:
    return {
        k: (val.isoformat() if isinstance(val, (datetime.date, datetime.datetime)) else _plain(val))
        for k, val in rec.items()
    }


def _unchanged(row, rec: tuple | dict) -> dict:
    """An unchanged row keeps the stamp it was compared against: if the record changes before
    the commit, the file's value is no longer what is stored and the batch is stale."""
    if isinstance(rec, dict):
        name, pk, stamp = rec["name"], rec["id"], rec["updated_at"]
    else:
        name, pk, stamp = rec[R_NAME], rec[R_ID], rec[R_UPDATED]
    return {"row": row.row, "op": UNCHANGED, "name": name, "id": pk, "stamp": stamp.isoformat()}


# Existing records are read as tuples (100k of them on a re-import): these name the positions.
REC_FIELDS = ["id", "family", "credit_code", "updated_at", *ATTNAMES, "nver", "first"]
R_ID, R_FAMILY, R_CODE, R_UPDATED = 0, 1, 2, 3
R_NVER, R_FIRST = len(REC_FIELDS) - 2, len(REC_FIELDS) - 1
R_FACT = {f: REC_FIELDS.index(_FK.get(f, f)) for f in FACT_FIELDS}
R_REGION, R_NAME = R_FACT["region"], R_FACT["name"]


def _existing(qs):
    return (
        qs.order_by()
        .annotate(nver=Count("versions"), first=Min("versions__valid_from"))
        .values_list(*REC_FIELDS)
    )


def _in(qs, column: str, values: list):
    """`column IN values` on the institution table; on PostgreSQL one array parameter
    (`= ANY(%s)`) instead of 50k bound values that Django would prepare one by one."""
    if bulk.is_postgres():
        # The identifier comes from the model (get_field raises for anything else) and is quoted
        # by the backend; the values are one bound parameter.
        quote = connection.ops.quote_name
        where = f"{quote(Institution._meta.db_table)}.{quote(Institution._meta.get_field(column).column)} = ANY(%s)"
        return qs.extra(where=[where], params=[list(values)])  # noqa: S610  # nosec B610  # model column, values bound
    return qs.filter(**{f"{column}__in": values})


def _code_in(qs, codes: list):
    return _in(qs, "credit_code", codes)


def _rec_dict(rec: tuple) -> dict:
    return dict(zip(REC_FIELDS, rec, strict=True))


def _apply_steps(spans, steps) -> tuple[list, dict, bool]:
    """Apply the steps in order; a status change without its own date is dated on its step's
    day, but only when the status really changes (re-stating 运营中 writes nothing)."""
    diff: dict = {}
    wrote = False
    for day, changes in steps:
        if "status" in changes and "status_date" not in changes:
            covering = next((s for s in spans if s.covers(day)), spans[0])
            if covering.facts["status"] != changes["status"]:
                changes = {**changes, "status_date": day}
        outcome = history.apply_change(spans, changes, day)
        spans, wrote = outcome.spans, wrote or outcome.wrote
        for k, (old, new) in outcome.diff.items():
            diff[k] = [diff.get(k, [old])[0], new]
    return spans, diff, wrote


def _steps(facts: dict, as_of: datetime.date) -> list[tuple[datetime.date, dict]]:
    """(effective day, changes) in date order: a status change on its own date, the rest on as_of."""
    changes = {k: val for k, val in facts.items() if k in FACT_FIELDS}
    steps: dict[datetime.date, dict] = {}
    if "status" in changes:
        status = {"status": changes.pop("status")}
        given = changes.pop("status_date", None)
        if given:
            status["status_date"] = given
        steps.setdefault(given or as_of, {}).update(status)
    if changes:
        steps.setdefault(as_of, {}).update(changes)
    return sorted(steps.items())
