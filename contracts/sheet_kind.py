"""The `contracts` and `visits` kinds of the spreadsheet engine (CONTRACT.md columns; ADR 0009).

Both take effect at once, for township and county users alike (CONTRACT.md "Who may import
what"): nothing is staged. Contract sheets are hundreds of rows, so the writes go through the
single-record services (contracts/services.py) — audit, the elder-care parties' compliance
warnings and the filed-clearing rule apply exactly as on the pages — while validation looks
everything up in a fixed number of set queries (one for all institution references, one for
the existing contracts, one for the pairs' other contracts, one for the checklist).

Scope (CONTRACT.md `contracts` sheet): the elder-care party must lie in the actor's region; the
medical party is found by exact code (or 系统编号) among the medical institutions of the
elder-care party's county, and only its id and name are shown. A visit is scoped by its
contract's elder-care party.

Plan per contract row: create / update (an existing contract with the same key — medical party
+ 协议编号 — whose facts differ; the preview shows the diff) / unchanged; a 终止日期 on an
existing contract terminates it (`contract_terminate`). Per visit row: create, or unchanged when
the contract already has a visit that day (re-uploading a file changes nothing).

Undo: a contracts batch restores the updated contracts' facts, termination and 已备案 as they
were and deletes the created ones — only while none of them changed after the import, no
visit or filing refers to a created one, and no visit of an updated one falls outside the term
the undo would restore. A visits batch deletes the visits it created."""

from __future__ import annotations

import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from eldercare.accounts.scope import SYSTEM, actor_prefix
from eldercare.audit.models import Action
from eldercare.audit.services import record, record_bulk
from eldercare.sheets import values as v
from eldercare.sheets.kinds import CREATE, UNCHANGED, UPDATE, Validation, undo_parts
from institutions.enums import Family
from institutions.models import Institution

from . import importers, rules, services
from .importers import CONTRACT_CANONICAL as COL
from .models import Contract, Frequency, Mode, ServiceItem, Visit

FAMILY_WORD = {Family.MEDICAL: "医疗机构", Family.ELDERCARE: "养老机构"}
FAMILY_LABEL = dict(Family.choices)
# What undo restores on an updated contract (the facts, the termination and 已备案).
RESTORED = (*services.FACTS, "terminated_on", "termination_reason", "filed_on", "expiry_notice_for")
_FK = {"medical": "medical_id", "eldercare": "eldercare_id"}
DATE_FIELDS = {"start", "end", "terminated_on", "filed_on", "expiry_notice_for"}


def clean(facts: dict, known: set[str]) -> dict:
    """The service's checks with the checklist read once per file (validation stays at a fixed
    number of queries)."""
    return services.clean_facts(facts, known_services=known)


def _iso(value):
    if isinstance(value, datetime.datetime):
        return value.isoformat()
    if isinstance(value, datetime.date):
        return value.isoformat()
    return value


def _day(value) -> datetime.date | None:
    return datetime.date.fromisoformat(value) if value else None


def _prefix(actor) -> str | None:
    try:
        return actor_prefix(actor)
    except PermissionError:
        return "\x00"  # no scope: nothing matches


def _within(region: str, prefix: str | None) -> bool:
    return prefix is None or region.startswith(prefix)


def _stub(rec: dict) -> Institution:
    """An unsaved stand-in carrying what clean_facts reads (family, region): no query."""
    return Institution(pk=rec["id"], name=rec["name"], family=rec["family"], region_id=rec["region_id"])


class _Registry:
    """Every institution the file references, read in one query: by (code, family) and 系统编号."""

    def __init__(self, refs):
        codes = {value for kind, value in refs if kind == "code"}
        portal = {value for kind, value in refs if kind == "portal"}
        self.by_code: dict[tuple[str, str], dict] = {}
        self.by_portal: dict[str, dict] = {}
        if not codes and not portal:
            return
        for rec in Institution.objects.filter(Q(credit_code__in=codes) | Q(portal_no__in=portal)).values(
            "id", "name", "family", "region_id", "credit_code", "portal_no"
        ):
            if rec["credit_code"]:
                self.by_code[(rec["credit_code"], rec["family"])] = rec
            if rec["portal_no"]:
                self.by_portal[rec["portal_no"]] = rec

    def find(self, ref: tuple, family: str, where: str | None) -> tuple[dict | None, str | None]:
        """(record, None) or (None, Chinese message). `where`: the region prefix the record must
        lie in to be found at all (a record elsewhere is "not found", never described)."""
        kind, value = ref
        word = FAMILY_WORD[family]
        if kind == "portal":
            rec = self.by_portal.get(value)
            candidates = [rec] if rec is not None else []
        else:
            candidates = [r for fam in Family.values if (r := self.by_code.get((value, fam))) is not None]
        visible = [r for r in candidates if _within(r["region_id"], where)]
        right = next((r for r in visible if r["family"] == family), None)
        if right is not None:
            return right, None
        if visible:
            return None, (
                f"{importers.ref_text(ref)}的机构登记为{FAMILY_LABEL[visible[0]['family']]}，"
                f"不是{FAMILY_LABEL[family]}。"
            )
        return None, f"找不到{importers.ref_text(ref)}的{word}。"


def _services_table() -> tuple[dict[str, str], list[str], dict[str, tuple], set[str]]:
    """The active checklist, read once: name/code -> code, the names, the order, the codes."""
    items = list(ServiceItem.objects.filter(active=True).values_list("code", "name", "order"))
    lookup = {**importers.SERVICE_SYNONYMS}
    for code, name, _order in items:
        lookup[name] = code
        lookup[code] = code
    lookup = {k: c for k, c in lookup.items() if c in {i[0] for i in items}}
    order = {code: (o, code) for code, _name, o in items}
    return lookup, [name for _c, name, _o in items], order, set(order)


def _sorted(codes: list[str], order: dict) -> list[str]:
    """Checklist order, so the same services typed in another order compare equal."""
    return sorted(codes, key=lambda c: order.get(c, (10_000, c)))


def _stale(op: dict, message: str):
    from eldercare.sheets.engine import StaleBatch

    return StaleBatch(f"第{op['row']}行：{message.rstrip('。')}。校验后登记库已有变化，请重新校验后再提交。")


def _message(exc) -> str:
    if isinstance(exc, ValidationError):
        return "；".join(exc.messages)
    return str(exc)


# ====================================================================================
class ContractsKind:
    name = "contracts"
    label = "医养签约"
    revertible = True
    preview_heading = "协议（养老机构 — 医疗机构）"
    columns = importers.CONTRACT_COLUMNS
    example = {
        "agreement_no": "示例：北郊卫协〔2026〕1号",  # rows whose 协议编号 starts with 示例 are skipped
        "medical": "12370306MB2857321M",
        "eldercare": "52370306MJD600087D",
        "mode": "签约合作",
        "services": "上门巡诊、健康体检、绿色通道",
        "visit_frequency": "每月",
        "start": "2026-01-01",
        "end": "2026-12-31",
    }

    # -- who ----------------------------------------------------------------------------------
    def check_can_import(self, actor) -> None:
        if actor is SYSTEM:
            return
        if not actor.has_perm("sheets.import_sheet"):
            raise PermissionDenied(_("You do not have permission to upload spreadsheets."))
        if not actor.has_perm("contracts.add_contract"):
            raise PermissionDenied("您没有维护医养签约协议的权限。")

    def staged_for(self, actor) -> bool:
        return False  # CONTRACT.md: a township's contracts take effect at once

    # -- validate -----------------------------------------------------------------------------
    def validate(self, *, actor, data: bytes, as_of, progress) -> Validation:
        import time

        t0 = time.perf_counter()
        table = importers.read_table(
            data,
            importers.CONTRACT_COLUMNS,
            example_key="agreement_no",
            hint="未找到表头行：表头须包含 协议编号、医疗机构信用代码、养老机构信用代码、合作方式、开始日期、结束日期 等列（可下载导入模板对照）。",
        )
        out = table.out
        if out.errors:
            return out
        lookup, allowed, order, known = _services_table()
        parsed = [importers.parse_contract(n, cells, lookup, allowed) for n, cells in table.rows]
        t_parse = time.perf_counter()
        self._plan(actor, parsed, out, known, order)
        out.timings = {"parse_s": round(t_parse - t0, 3), "plan_s": round(time.perf_counter() - t_parse, 3)}
        progress(0.95)
        return out

    def _plan(self, actor, parsed, out: Validation, known: set[str], order: dict) -> None:
        prefix = _prefix(actor)
        may_change = actor is SYSTEM or actor.has_perm("contracts.change_contract")

        # 1. no database: duplicate keys within the file
        seen: dict[tuple, int] = {}
        good = []
        for row in parsed:
            if row.medical and row.agreement_no:
                key = (row.medical, row.agreement_no)
                if key in seen:
                    row.error(
                        "agreement_no",
                        f"与第{seen[key]}行重复（同一医疗机构的同一协议编号在文件中出现两次）。",
                    )
                else:
                    seen[key] = row.row
            if row.errors:
                out.errors.extend(row.errors)
            else:
                good.append(row)

        # 2. every institution referenced, one query
        registry = _Registry(
            [r.medical for r in good] + [r.facts["eldercare"] for r in good if "eldercare" in r.facts]
        )
        county = None if prefix is None else prefix[:6]
        resolved = []  # (row, medical rec, home rec | None)
        for row in good:
            home = None
            if "eldercare" in row.facts:
                # Looked for in the actor's county, so another township's home is "outside your
                # scope" while one of another county is simply not found.
                home, problem = registry.find(row.facts["eldercare"], Family.ELDERCARE, county)
                if problem:
                    row.error("eldercare", problem)
                elif not _within(home["region_id"], prefix):
                    row.error("eldercare", "该养老机构不在您的管辖范围内，不能导入其签约协议。")
                    home = None
            where = home["region_id"][:6] if home else county
            medical, problem = registry.find(row.medical, Family.MEDICAL, where)
            if problem:
                if problem.startswith("找不到"):
                    problem = problem.rstrip("。") + "（须为养老机构所在县（区）已登记的医疗卫生机构）。"
                row.error("medical", problem)
            if row.errors:
                out.errors.extend(row.errors)
            else:
                resolved.append((row, medical, home))

        # 3. the existing contracts with these keys, and the pairs' other contracts (overlaps)
        existing: dict[tuple[int, str], dict] = {}
        medical_ids = {m["id"] for _r, m, _h in resolved}
        numbers = {r.agreement_no for r, _m, _h in resolved}
        if resolved:
            for rec in Contract.objects.filter(medical_id__in=medical_ids, agreement_no__in=numbers).values(
                "id",
                "updated_at",
                "filed_on",
                "terminated_on",
                "eldercare__region_id",
                "eldercare__name",
                *[_FK.get(f, f) for f in services.FACTS],
            ):
                existing[(rec["medical_id"], rec["agreement_no"])] = rec
        home_ids = {h["id"] for _r, _m, h in resolved if h} | {e["eldercare_id"] for e in existing.values()}
        by_pair: dict[tuple[int, int], list] = {}
        if home_ids:
            for rec in Contract.objects.filter(eldercare_id__in=home_ids).values(
                "id", "agreement_no", "medical_id", "eldercare_id", "start", "end", "terminated_on"
            ):
                by_pair.setdefault((rec["medical_id"], rec["eldercare_id"]), []).append(rec)

        # 4. per row: the facts after the file, checked by the service's own rules, diffed
        keys: dict[tuple[int, str], int] = {}
        for row, medical, home in resolved:
            ex = existing.get((medical["id"], row.agreement_no))
            first = keys.setdefault((medical["id"], row.agreement_no), row.row)
            if first != row.row:  # the same party by its code in one row, its 系统编号 in another
                row.error(
                    "agreement_no", f"与第{first}行重复（同一医疗机构的同一协议编号在文件中出现两次）。"
                )
            elif ex is not None and not _within(ex["eldercare__region_id"], prefix):
                row.error("agreement_no", "该医疗机构的这一协议编号已由其他辖区登记，不能在此导入。")
            elif ex is not None and not may_change:
                row.error("agreement_no", "您没有修改医养签约协议的权限。")
            op = None if row.errors else self._plan_row(row, medical, home, ex, known, order)
            if op is None:
                out.errors.extend(row.errors)
                continue
            if op["op"] == CREATE or (
                op["op"] == UPDATE and {"start", "end", "eldercare"} & set(op["changes"])
            ):
                self._overlap_warnings(row, op, by_pair, out)
            out.ops.append(op)
        for row in parsed:
            out.warnings.extend(row.warnings)
        out.warnings.sort(key=lambda w: w["row"] or 0)

    def _plan_row(self, row, medical: dict, home: dict | None, ex: dict | None, known, order) -> dict | None:
        given = row.facts
        med = _stub(medical)
        term = given.get("terminated_on")
        terminate = None
        if ex is None:
            for key in ("eldercare", "mode", "start", "end"):
                if key not in given:
                    row.error(key, f"新增协议须填写{COL[key]}。")
            if row.errors:
                return None
            before = None
            home_obj = _stub(home)
            facts = {
                "agreement_no": row.agreement_no,
                "medical": med,
                "eldercare": home_obj,
                "mode": given["mode"],
                "services": _sorted(given.get("services", []), order),
                "visit_frequency": given.get("visit_frequency", ""),
                "start": given["start"],
                "end": given["end"],
                "terminated_on": term if isinstance(term, datetime.date) else None,
            }
        else:
            stored_home = {
                "id": ex["eldercare_id"],
                "name": ex["eldercare__name"],
                "family": Family.ELDERCARE,
                "region_id": ex["eldercare__region_id"],
            }
            home = home or stored_home
            before = {
                "agreement_no": ex["agreement_no"],
                "medical": med,
                "eldercare": _stub(stored_home),
                "mode": ex["mode"],
                "services": list(ex["services"] or []),
                "visit_frequency": ex["visit_frequency"],
                "start": ex["start"],
                "end": ex["end"],
            }
            facts = {**before, **{k: val for k, val in given.items() if k in services.FACTS}}
            facts["eldercare"] = _stub(home)
            facts["agreement_no"] = row.agreement_no
            if "services" in given:
                facts["services"] = _sorted(given["services"], order)
            old = ex["terminated_on"]
            if term is v.CLEAR:
                if old is not None:
                    row.error("terminated_on", f"该协议已于 {old:%Y-%m-%d} 终止，导入不能撤销终止。")
            elif isinstance(term, datetime.date):
                if old is not None and term > old:
                    row.error("terminated_on", f"该协议已于 {old:%Y-%m-%d} 终止。")
                elif old is None or term < old:
                    terminate = term  # a termination brought forward is one too (contract_terminate)
            facts["terminated_on"] = terminate or old
            if row.errors:
                return None
        try:
            cleaned = clean(facts, known)
        except ValidationError as exc:
            for key, messages in exc.message_dict.items():
                for message in messages:
                    row.error(key if key in COL else None, message)
            return None
        cleaned["services"] = _sorted(cleaned["services"], order)
        name = f"{row.agreement_no}：{home['name']} — {medical['name']}"
        parties = {"medical": [medical["id"], medical["name"]], "eldercare": [home["id"], home["name"]]}
        if before is None:
            return {
                "row": row.row,
                "op": CREATE,
                "name": name,
                **parties,
                "facts": {
                    "agreement_no": cleaned["agreement_no"],
                    "mode": cleaned["mode"],
                    "services": cleaned["services"],
                    "visit_frequency": cleaned["visit_frequency"],
                    "start": cleaned["start"].isoformat(),
                    "end": cleaned["end"].isoformat(),
                    "terminated_on": _iso(cleaned.get("terminated_on")),
                },
            }
        if set(cleaned["services"]) == set(before["services"]):
            cleaned["services"] = before["services"]  # the same checklist in another order
        changes, diff = {}, {}
        for key in services.FACTS:
            old, new = before[key], cleaned[key]
            if key in _FK:
                if old.pk != new.pk:
                    changes[key] = new.pk
                    diff[key] = [old.name, new.name]
            elif old != new:
                changes[key] = _iso(new)
                diff[key] = [_iso(old), _iso(new)]
        if terminate is not None:
            diff["terminated_on"] = [_iso(ex["terminated_on"]), terminate.isoformat()]
        if not diff:
            return {
                "row": row.row,
                "op": UNCHANGED,
                "id": ex["id"],
                "stamp": ex["updated_at"].isoformat(),
                "name": name,
            }
        if changes and ex["filed_on"] is not None:
            row.warn("agreement_no", "该协议已备案；修改后“已备案”标记将清除，需重新备案。")
        return {
            "row": row.row,
            "op": UPDATE,
            "id": ex["id"],
            "stamp": ex["updated_at"].isoformat(),
            "name": name,
            **parties,
            "changes": changes,
            "terminate": _iso(terminate),
            "diff": diff,
            "term": [
                cleaned["start"].isoformat(),
                cleaned["end"].isoformat(),
                _iso(cleaned["terminated_on"]),
            ],
        }

    @staticmethod
    def _overlap_warnings(row, op, by_pair, out: Validation) -> None:
        """An overlapping contract between the same pair is flagged, not refused (rules.py)."""
        if op["op"] == CREATE:
            f = op["facts"]
            term = rules.Term(_day(f["start"]), _day(f["end"]), _day(f["terminated_on"]))
        else:
            start, end, terminated = op["term"]
            term = rules.Term(_day(start), _day(end), _day(terminated))
        pair = (op["medical"][0], op["eldercare"][0])
        others = by_pair.setdefault(pair, [])
        for other in others:
            if other["id"] is not None and other["id"] == op.get("id"):
                continue
            if rules.overlaps(rules.Term(other["start"], other["end"], other["terminated_on"]), term):
                out.warnings.append(
                    {
                        "row": row.row,
                        "column": COL["start"],
                        "message": f"与协议“{other['agreement_no']}”的期限重叠（同一医疗机构与养老机构）；续签协议宜在原协议到期后开始。",
                    }
                )
        # Later rows of the file are compared with this one too.
        others.append(
            {
                "id": op.get("id") if op["op"] == UPDATE else None,
                "agreement_no": row.agreement_no,
                "start": term.start,
                "end": term.end,
                "terminated_on": term.terminated_on,
            }
        )

    # -- preview ------------------------------------------------------------------------------
    def describer(self, user, ops):
        return _ContractDescriber()

    # -- apply --------------------------------------------------------------------------------
    def apply(self, *, actor, batch, ops, now, data_path) -> dict:
        creates = [op for op in ops if op["op"] == CREATE]
        updates = [op for op in ops if op["op"] == UPDATE]
        same = [op for op in ops if op["op"] == UNCHANGED]
        # Lock the contracts we change; those we leave must still be what the file says.
        stamps = dict(
            Contract.objects.select_for_update()
            .filter(pk__in=[op["id"] for op in updates])
            .values_list("id", "updated_at")
        )
        stamps.update(
            Contract.objects.filter(pk__in=[op["id"] for op in same]).values_list("id", "updated_at")
        )
        for op in (*updates, *same):
            if op["id"] not in stamps or stamps[op["id"]].isoformat() != op["stamp"]:
                raise _stale(op, "该协议在校验后已被修改")
        taken = set(
            Contract.objects.filter(
                medical_id__in={op["medical"][0] for op in creates},
                agreement_no__in={op["facts"]["agreement_no"] for op in creates},
            ).values_list("medical_id", "agreement_no")
        )
        for op in creates:
            if (op["medical"][0], op["facts"]["agreement_no"]) in taken:
                raise _stale(op, "该协议编号在校验后已被他人登记")
        wanted = {op[party][0] for op in (*creates, *updates) for party in ("medical", "eldercare")}
        institutions = Institution.objects.in_bulk(wanted)
        current = Contract.objects.in_bulk([op["id"] for op in updates])
        undo = {"created": [], "updated": {}, "stamps": {}}
        for op in updates:
            c = current[op["id"]]
            undo["updated"][str(c.pk)] = {
                _FK.get(f, f): _iso(getattr(c, _FK.get(f, f))) for f in (*RESTORED, "updated_at")
            }
        reason = f"按批量导入表格终止（批次 {batch.pk}）"
        for op in sorted((*creates, *updates), key=lambda o: o["row"]):
            try:
                if any(op[p][0] not in institutions for p in ("medical", "eldercare")):
                    raise _stale(op, "协议所涉机构已不存在")
                if op["op"] == CREATE:
                    f = op["facts"]
                    c = services.contract_create(
                        actor=actor,
                        facts={
                            "agreement_no": f["agreement_no"],
                            "medical": institutions[op["medical"][0]],
                            "eldercare": institutions[op["eldercare"][0]],
                            "mode": f["mode"],
                            "services": f["services"],
                            "visit_frequency": f["visit_frequency"],
                            "start": _day(f["start"]),
                            "end": _day(f["end"]),
                            "terminated_on": _day(f["terminated_on"]),
                            "termination_reason": reason if f["terminated_on"] else "",
                        },
                        refresh=False,
                    )
                    undo["created"].append(c.pk)
                    continue
                c = current[op["id"]]
                if op["changes"]:
                    changes = {}
                    for key, value in op["changes"].items():
                        if key in _FK:
                            changes[key] = institutions[value]
                        elif key in DATE_FIELDS:
                            changes[key] = _day(value)
                        else:
                            changes[key] = value
                    c = services.contract_update(actor=actor, contract=c, changes=changes, refresh=False)
                if op["terminate"]:
                    services.contract_terminate(
                        actor=actor, contract=c, on=_day(op["terminate"]), reason=reason, refresh=False
                    )
            except (ValidationError, PermissionDenied) as exc:
                raise _stale(op, _message(exc)) from exc
        touched = [*undo["created"], *(int(k) for k in undo["updated"])]
        # The homes' stored warnings, once for the batch (old and new elder-care parties alike).
        from institutions.services import refresh_warning_codes

        homes = set(Contract.objects.filter(pk__in=touched).values_list("eldercare_id", flat=True))
        homes |= {v["eldercare_id"] for v in undo["updated"].values() if v.get("eldercare_id")}
        refresh_warning_codes(Institution.objects.filter(pk__in=homes))
        undo["stamps"] = {
            str(pk): stamp.isoformat()
            for pk, stamp in Contract.objects.filter(pk__in=touched).values_list("id", "updated_at")
        }
        if touched:
            record_bulk(
                actor,
                Contract,
                count=len(touched),
                action=Action.IMPORT,
                detail={
                    "kind": self.name,
                    "batch": batch.pk,
                    "file_sha256": batch.file_sha256,
                    "created": len(creates),
                    "updated": len(updates),
                    "ids_created": undo["created"][:200],
                    "ids_updated": [op["id"] for op in updates[:200]],
                    "changes": {str(op["id"]): op["diff"] for op in updates[:200]},
                },
            )
        return undo

    # -- revert -------------------------------------------------------------------------------
    def revert(self, *, actor, batch, undo) -> None:
        from eldercare.workflow.models import Filing
        from institutions.services import refresh_warning_codes

        if actor is not SYSTEM and not actor.has_perm("contracts.change_contract"):
            raise PermissionDenied("您没有维护医养签约协议的权限。")
        created, updated, stamps = undo_parts(undo)
        locked = {
            pk: (no, stamp)
            for pk, no, stamp in Contract.objects.select_for_update()
            .filter(pk__in=[*created, *updated])
            .values_list("id", "agreement_no", "updated_at")
        }
        later = [no for pk, (no, stamp) in locked.items() if stamp.isoformat() != stamps.get(pk)]
        if later or len(locked) != len(created) + len(updated):
            names = "、".join(later[:10]) or "部分协议已被删除"
            raise ValidationError(
                _("This import cannot be reverted: records were changed after it (%(names)s).")
                % {"names": names}
            )
        referenced = set(Visit.objects.filter(contract_id__in=created).values_list("contract_id", flat=True))
        referenced |= set(
            Filing.objects.filter(
                subject_type__app_label="contracts", subject_type__model="contract", subject_id__in=created
            ).values_list("subject_id", flat=True)
        )
        if referenced:
            names = "、".join(sorted(locked[pk][0] for pk in referenced if pk in locked)[:10])
            raise ValidationError(f"不能撤销本次导入：新增的协议已有巡诊记录或备案申请（{names}）。")
        current = Contract.objects.in_bulk(list(updated))
        outside = _visits_outside_restored_terms(current, updated)
        if outside:
            raise ValidationError(
                "不能撤销本次导入：撤销将恢复协议原来的期限，而以下协议已有不在原期限内的巡诊记录（"
                + "；".join(outside)
                + "）。请先核对这些巡诊记录。"
            )
        homes = set()
        for pk, before in updated.items():
            c = current[pk]
            restore = {}
            for f in RESTORED:
                col = _FK.get(f, f)
                restore[col] = _day(before[col]) if f in DATE_FIELDS else before[col]
            diff = {
                col: [_iso(getattr(c, col)), _iso(val)]
                for col, val in restore.items()
                if getattr(c, col) != val
            }
            homes.update({c.eldercare_id, restore["eldercare_id"]})
            # updated_at as it was, so an earlier batch stays revertible after this one is undone.
            Contract.objects.filter(pk=pk).update(
                **restore, updated_at=datetime.datetime.fromisoformat(before["updated_at"])
            )
            record(
                actor, Action.UPDATE, c, changes=diff, detail={"batch": batch.pk, "step": "import_reverted"}
            )
        for c in Contract.objects.filter(pk__in=created):
            homes.add(c.eldercare_id)
            record(
                actor,
                Action.DELETE,
                c,
                changes={f: [_iso(getattr(c, _FK.get(f, f))), None] for f in services.FACTS},
                detail={"batch": batch.pk, "step": "import_reverted"},
            )
        Contract.objects.filter(pk__in=created).delete()
        refresh_warning_codes(Institution.objects.filter(pk__in=homes))


def _visits_outside_restored_terms(current: dict, updated: dict) -> list[str]:
    """For the updated contracts whose term (start, end, termination) the undo would restore to
    another one: those with a visit outside the restored term — before its start, after its
    end, or on or after its termination day (a visit is valid only on an active day) — each as
    "协议编号（原期限 … 至 …[，… 起终止]，巡诊日期 …）". One query; [] when none."""
    terms, outside = {}, []
    for pk, before in updated.items():
        c = current[pk]
        start, end, until = _day(before["start"]), _day(before["end"]), _day(before["terminated_on"])
        if (start, end, until) == (c.start, c.end, c.terminated_on):
            continue
        off = Q(date__lt=start) | Q(date__gt=end)
        if until is not None:
            off |= Q(date__gte=until)
        terms[pk] = (start, end, until)
        outside.append(Q(contract_id=pk) & off)
    if not outside:
        return []
    q = outside[0]
    for more in outside[1:]:
        q |= more
    days: dict[int, list[datetime.date]] = {}
    for cid, day in (
        Visit.objects.filter(q).order_by("contract_id", "date").values_list("contract_id", "date")
    ):
        days.setdefault(cid, []).append(day)
    out = []
    for pk in sorted(days, key=lambda pk: current[pk].agreement_no)[:10]:
        start, end, until = terms[pk]
        term = f"{start:%Y-%m-%d} 至 {end:%Y-%m-%d}" + (f"，{until:%Y-%m-%d} 起终止" if until else "")
        shown = "、".join(f"{d:%Y-%m-%d}" for d in days[pk][:5]) + ("等" if len(days[pk]) > 5 else "")
        out.append(f"{current[pk].agreement_no}（原期限 {term}，巡诊日期 {shown}）")
    return out


class _ContractDescriber:
    """The planned changes of a contracts batch in words (labels, names), for the preview."""

    LABELS = {
        "agreement_no": "协议编号",
        "medical": "医疗机构",
        "eldercare": "养老机构",
        "mode": "合作方式",
        "services": "服务内容",
        "visit_frequency": "巡诊频次",
        "start": "开始日期",
        "end": "结束日期",
        "terminated_on": "终止日期",
    }

    def __init__(self):
        self._names = None

    def _service_names(self) -> dict[str, str]:
        if self._names is None:
            self._names = dict(ServiceItem.objects.values_list("code", "name"))
        return self._names

    def value(self, key, value) -> str:
        if value in (None, "", []):
            return _("(blank)")
        if key == "mode":
            return dict(Mode.choices).get(value, value)
        if key == "visit_frequency":
            return dict(Frequency.choices).get(value, value)
        if key == "services":
            names = self._service_names()
            return "、".join(names.get(c, c) for c in value)
        return str(value)

    def changes(self, op: dict) -> list[dict]:
        if op.get("op") == UPDATE:
            return [
                {"field": self.LABELS.get(k, k), "old": self.value(k, old), "new": self.value(k, new)}
                for k, (old, new) in (op.get("diff") or {}).items()
            ]
        if op.get("op") == CREATE:
            f = op.get("facts") or {}
            shown = [
                {"field": "合作方式", "new": self.value("mode", f.get("mode"))},
                {"field": "期限", "new": f"{f.get('start')} 至 {f.get('end')}"},
            ]
            if f.get("services"):
                shown.append({"field": "服务内容", "new": self.value("services", f["services"])})
            if f.get("visit_frequency"):
                shown.append(
                    {"field": "巡诊频次", "new": self.value("visit_frequency", f["visit_frequency"])}
                )
            if f.get("terminated_on"):
                shown.append({"field": "终止日期", "new": f["terminated_on"]})
            return shown
        return []

    def link(self, op: dict) -> str | None:
        from django.urls import reverse

        return reverse("contracts:detail", args=[op["id"]]) if op.get("id") else None


# ====================================================================================
class VisitsKind:
    name = "visits"
    label = "巡诊记录"
    revertible = True
    preview_heading = "协议（养老机构）"
    columns = importers.VISIT_COLUMNS
    example = {
        "medical": "12370306MB2857321M",
        "agreement_no": "示例：北郊卫协〔2026〕1号",
        "date": "2026-03-05",
        "persons": "18",
    }

    def check_can_import(self, actor) -> None:
        if actor is SYSTEM:
            return
        if not actor.has_perm("sheets.import_sheet"):
            raise PermissionDenied(_("You do not have permission to upload spreadsheets."))
        if not actor.has_perm("contracts.add_visit"):
            raise PermissionDenied("您没有登记巡诊记录的权限。")

    def staged_for(self, actor) -> bool:
        return False

    def validate(self, *, actor, data: bytes, as_of, progress) -> Validation:
        table = importers.read_table(
            data,
            importers.VISIT_COLUMNS,
            example_key="agreement_no",
            hint="未找到表头行：表头须包含 医疗机构信用代码、协议编号、巡诊日期 等列（可下载导入模板对照）。",
        )
        out = table.out
        if out.errors:
            return out
        parsed = [importers.parse_visit(n, cells) for n, cells in table.rows]
        prefix = _prefix(actor)
        today = timezone.localdate()

        seen: dict[tuple, int] = {}
        good = []
        for row in parsed:
            if not row.errors:
                key = (row.medical, row.agreement_no, row.facts["date"])
                if key in seen:
                    row.error("date", f"与第{seen[key]}行重复（同一协议同一天的巡诊记录出现两次）。")
                else:
                    seen[key] = row.row
            if row.errors:
                out.errors.extend(row.errors)
            else:
                good.append(row)

        registry = _Registry([r.medical for r in good])
        county = None if prefix is None else prefix[:6]
        found = []
        for row in good:
            medical, problem = registry.find(row.medical, Family.MEDICAL, county)
            if problem:
                row.error("medical", problem)
                out.errors.extend(row.errors)
            else:
                found.append((row, medical))
        contracts: dict[tuple[int, str], dict] = {}
        if found:
            for rec in Contract.objects.filter(
                medical_id__in={m["id"] for _r, m in found},
                agreement_no__in={r.agreement_no for r, _m in found},
            ).values(
                "id",
                "agreement_no",
                "medical_id",
                "start",
                "end",
                "terminated_on",
                "eldercare__region_id",
                "eldercare__name",
            ):
                contracts[(rec["medical_id"], rec["agreement_no"])] = rec
        logged: dict[tuple[int, datetime.date], int | None] = {}
        if contracts:
            for cid, day, persons in Visit.objects.filter(
                contract_id__in=[c["id"] for c in contracts.values()],
                date__in={r.facts["date"] for r, _m in found},
            ).values_list("contract_id", "date", "persons"):
                logged[(cid, day)] = persons

        keys: dict[tuple[int, datetime.date], int] = {}
        for row, medical in found:
            c = contracts.get((medical["id"], row.agreement_no))
            day, persons = row.facts["date"], row.facts.get("persons")
            first = keys.setdefault((c["id"], day), row.row) if c is not None else row.row
            if first != row.row:
                row.error("date", f"与第{first}行重复（同一协议同一天的巡诊记录出现两次）。")
            elif c is None:
                row.error(
                    "agreement_no", f"找不到{medical['name']}协议编号为“{row.agreement_no}”的签约协议。"
                )
            elif not _within(c["eldercare__region_id"], prefix):
                row.error("agreement_no", "该协议的养老机构不在您的管辖范围内，不能导入其巡诊记录。")
            else:
                term = rules.Term(c["start"], c["end"], c["terminated_on"])
                problem = visit_date_error(term, day, today)
                if problem:
                    row.error("date", problem)
            if row.errors:
                out.errors.extend(row.errors)
                continue
            name = f"{row.agreement_no}：{c['eldercare__name']} — {medical['name']}"
            base = {"row": row.row, "name": name, "contract": c["id"], "date": day.isoformat()}
            if (c["id"], day) in logged:
                stored = logged[(c["id"], day)]
                if persons is not None and persons != stored:
                    row.warn(
                        "persons",
                        f"该日已有巡诊记录（服务人次 {stored if stored is not None else '未填'}），未作修改。",
                    )
                out.warnings.extend(row.warnings)
                out.ops.append({**base, "op": UNCHANGED})
                continue
            out.warnings.extend(row.warnings)
            out.ops.append({**base, "op": CREATE, "persons": persons})
        progress(0.95)
        return out

    def describer(self, user, ops):
        return _VisitDescriber()

    def apply(self, *, actor, batch, ops, now, data_path) -> dict:
        creates = [op for op in ops if op["op"] == CREATE]
        contracts = Contract.objects.in_bulk({op["contract"] for op in creates})
        logged = set(
            Visit.objects.filter(
                contract_id__in=list(contracts), date__in={_day(op["date"]) for op in creates}
            ).values_list("contract_id", "date")
        )
        created = []
        for op in creates:
            day = _day(op["date"])
            if op["contract"] not in contracts:
                raise _stale(op, "该协议已不存在")
            if (op["contract"], day) in logged:
                raise _stale(op, f"{day:%Y-%m-%d} 的巡诊记录在校验后已被登记")
            try:
                visit = services.visit_record(
                    actor=actor, contract=contracts[op["contract"]], date=day, persons=op.get("persons")
                )
            except (ValidationError, PermissionDenied) as exc:
                raise _stale(op, _message(exc)) from exc
            created.append(visit.pk)
        if created:
            record_bulk(
                actor,
                Visit,
                count=len(created),
                action=Action.IMPORT,
                detail={
                    "kind": self.name,
                    "batch": batch.pk,
                    "file_sha256": batch.file_sha256,
                    "ids_created": created[:200],
                },
            )
        return {"created": created}

    def revert(self, *, actor, batch, undo) -> None:
        if actor is not SYSTEM and not actor.has_perm("contracts.add_visit"):
            raise PermissionDenied("您没有登记巡诊记录的权限。")
        ids = [int(pk) for pk in undo.get("created", [])]
        present = list(Visit.objects.select_for_update().filter(pk__in=ids).values_list("id", flat=True))
        Visit.objects.filter(pk__in=present).delete()
        record_bulk(
            actor,
            Visit,
            count=len(present),
            action=Action.IMPORT,
            detail={"kind": self.name, "batch": batch.pk, "step": "reverted", "deleted": present[:200]},
        )


def visit_date_error(term: rules.Term, day: datetime.date, today: datetime.date) -> str | None:
    """visit_record's own checks (contracts/services.py), made before anything is written."""
    if not (term.start <= day <= term.end) or (term.terminated_on and day >= term.terminated_on):
        ended = f"，已于 {term.terminated_on:%Y-%m-%d} 终止" if term.terminated_on else ""
        return f"巡诊日期 {day:%Y-%m-%d} 不在协议有效期内（{term.start:%Y-%m-%d} 至 {term.end:%Y-%m-%d}{ended}）。"
    if day > today:
        return "巡诊日期不能晚于今天。"
    return None


class _VisitDescriber:
    def changes(self, op: dict) -> list[dict]:
        shown = [{"field": "巡诊日期", "new": op.get("date")}]
        if op.get("op") == CREATE and op.get("persons") is not None:
            shown.append({"field": "服务人次", "new": str(op["persons"])})
        return shown if op.get("op") == CREATE else []

    def link(self, op: dict) -> str | None:
        from django.urls import reverse

        return reverse("contracts:detail", args=[op["contract"]]) if op.get("contract") else None
