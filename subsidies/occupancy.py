"""Writes to occupancy reports and resident rosters: atomic, scoped, audited (DOMAIN.md §6).

Occupancy: beds occupied at month end, self-care and disabled, per elder-care institution and
month (the first day of it). Occupied beds may not exceed the 核定养老床位 the registry held on
that month's last day (`institutions.models.versions_on`), or — for a month before the
institution's first recorded version — its current copy; an institution without a recorded bed
count is not checked (nothing certain to block). Creating needs
`subsidies.add_occupancyreport`, changing a stored month `subsidies.change_occupancyreport`
(a township's corrections arrive through an import that a county user accepts).
`occupancy_submit` is the page's entry of one month: a county user's figures through
`occupancy_record`, a township user's — checked by the same rules first — as a one-row
`occupancy` batch staged for a county user's acceptance, exactly like their upload.

Residents: one row per stay ([入住, 退住)) of a person in a home, keyed by institution, ID hash
and admission date. The ID number is validated (GB 11643), stored encrypted with a keyed lookup
hash and shown masked (subsidies/idcard.py); it is never put in an audit record, a log line or
an error message. A person's stays may not overlap — in two homes that is the duplicate claim
DOMAIN.md §6 blocks; the other home is named only when it is in the actor's scope. Recording a
stay or its discharge needs `subsidies.add_resident`; changing a recorded stay's name, ability
level or a discharge already recorded needs `subsidies.change_resident`. `resident_unmask`
returns the full number to a holder of `subsidies.unmask_resident` who gives a reason, and
audits it (refusals too)."""

from __future__ import annotations

import calendar
import datetime
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from eldercare.accounts.scope import SYSTEM, region_in_scope
from eldercare.audit.models import Action, Result
from eldercare.audit.services import record
from institutions.enums import Family, Status
from institutions.models import InstitutionVersion

from . import idcard
from .models import OccupancyReport, Resident

ABILITY_LEVELS = dict(Resident._meta.get_field("ability_level").choices)
MAX_BEDS = 100_000
OTHER_HOME = "另一家养老机构"


# == occupancy ======================================================================
def month_start(day: datetime.date) -> datetime.date:
    return day.replace(day=1)


def month_end(month: datetime.date) -> datetime.date:
    return month.replace(day=calendar.monthrange(month.year, month.month)[1])


@dataclass(frozen=True)
class Capacity:
    beds: int | None  # 核定养老床位 on the month's last day; None: not recorded
    status: str  # the institution's status that day
    from_history: bool  # False: the current copy stood in (no version covers the day)


def capacities(current: dict[int, dict], pairs) -> dict[tuple[int, datetime.date], Capacity]:
    """For each (institution id, month): the approved elder-care beds and the status on the
    month's last day, from the effective-dated registry in one query. `current`: id →
    {"beds_eldercare", "status"} (the current copy, already read by the caller)."""
    pairs = set(pairs)
    if not pairs:
        return {}
    ends = {m: month_end(m) for _i, m in pairs}
    first, last = min(ends.values()), max(ends.values())
    spans: dict[int, list[tuple]] = {}
    for inst, start, end, beds, status in (
        InstitutionVersion.objects.filter(institution_id__in={i for i, _m in pairs}, valid_from__lte=last)
        .filter(Q(valid_to__isnull=True) | Q(valid_to__gt=first))
        .values_list("institution_id", "valid_from", "valid_to", "beds_eldercare", "status")
    ):
        spans.setdefault(inst, []).append((start, end, beds, status))
    out = {}
    for inst, month in pairs:
        day = ends[month]
        hit = next(
            (s for s in spans.get(inst, ()) if s[0] <= day and (s[1] is None or s[1] > day)),
            None,
        )
        if hit is not None:
            out[(inst, month)] = Capacity(hit[2], hit[3], True)
        else:
            now = current.get(inst, {})
            out[(inst, month)] = Capacity(now.get("beds_eldercare"), now.get("status", ""), False)
    return out


def capacity_error(self_care: int, disabled: int, month: datetime.date, cap: Capacity) -> str | None:
    occupied = self_care + disabled
    if cap.beds is not None and occupied > cap.beds:
        when = f"{month.year}年{month.month}月末" if cap.from_history else "现"
        return (
            f"自理与失能入住床位数合计 {occupied} 张，超过该机构{when}的核定养老床位数 {cap.beds} 张"
            "（入住床位数不能超过核定床位数）。"
        )
    return None


def occupancy_errors(
    institution_family: str, month: datetime.date, self_care, disabled, cap: Capacity, today: datetime.date
) -> dict[str, str]:
    """{field: Chinese message} for a report; pure (the capacity is looked up by the caller)."""
    errors = {}
    if institution_family != Family.ELDERCARE:
        errors["institution"] = "入住床位数只能为养老服务机构填报。"
    if month > month_start(today):
        errors["month"] = f"{month.year}年{month.month}月尚未到来，不能填报。"
    elif month_end(month) > today:
        # Beds occupied *at month end* (DOMAIN.md §6): known on the month's last day.
        errors["month"] = (
            f"{month.year}年{month.month}月尚未结束，月末入住床位数请于{month_end(month):%m月%d日}起填报。"
        )
    for field, value, label in (("self_care", self_care, "自理"), ("disabled", disabled, "失能")):
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            errors[field] = f"{label}入住床位数应为不小于0的整数。"
        elif value > MAX_BEDS:
            errors[field] = f"{label}入住床位数不能大于{MAX_BEDS}。"
    if not errors:
        problem = capacity_error(self_care, disabled, month, cap)
        if problem:
            errors["disabled"] = problem
    return errors


def _check_scope(actor, institution) -> None:
    if actor is not SYSTEM and not region_in_scope(actor, institution.region_id):
        raise PermissionDenied("该养老机构不在您的管辖范围内。")


def _user(actor):
    return actor if getattr(actor, "pk", None) else None


def _occupancy_changes(before: OccupancyReport | None, after: OccupancyReport) -> dict:
    fields = ("self_care", "disabled")
    if before is None:
        return {
            "institution": [None, after.institution_id],
            "month": [None, after.month.isoformat()],
            **{f: [None, getattr(after, f)] for f in fields},
        }
    return {
        f: [getattr(before, f), getattr(after, f)] for f in fields if getattr(before, f) != getattr(after, f)
    }


def write_occupancy(
    actor, institution_id: int, month: datetime.date, self_care: int, disabled: int, *, detail=None
) -> tuple[OccupancyReport, str]:
    """Store one month (already checked by the caller: permission, scope, capacity) and audit
    it. Returns (report, "create" | "update" | "unchanged")."""
    existing = (
        OccupancyReport.objects.select_for_update().filter(institution_id=institution_id, month=month).first()
    )
    if existing is not None and (existing.self_care, existing.disabled) == (self_care, disabled):
        return existing, "unchanged"
    before = None
    if existing is None:
        report = OccupancyReport(
            institution_id=institution_id,
            month=month,
            self_care=self_care,
            disabled=disabled,
            created_by=_user(actor),
        )
    else:
        before = OccupancyReport(self_care=existing.self_care, disabled=existing.disabled)
        report = existing
        report.self_care, report.disabled = self_care, disabled
    report.save()
    record(
        actor,
        Action.CREATE if before is None else Action.UPDATE,
        report,
        changes=_occupancy_changes(before, report),
        detail=detail,
    )
    return report, "create" if before is None else "update"


def capacity_of(institution, month: datetime.date) -> Capacity:
    """The 核定养老床位 and status of one institution on the last day of `month` (any day of it)."""
    month = month_start(month)
    current = {institution.pk: {"beds_eldercare": institution.beds_eldercare, "status": institution.status}}
    return capacities(current, [(institution.pk, month)])[(institution.pk, month)]


def _checked_figures(institution, month: datetime.date, self_care, disabled) -> None:
    """The rules of a month's figures (the import's too: sheet_kinds.OccupancyKind) — within the
    month's 核定 beds, no month still to come, whole numbers — as ValidationError({field: …})."""
    cap = capacity_of(institution, month)
    errors = occupancy_errors(institution.family, month, self_care, disabled, cap, timezone.localdate())
    if errors:
        raise ValidationError(errors)


def _record(actor, institution, month: datetime.date, self_care: int, disabled: int):
    if actor is not SYSTEM and not actor.has_perm("subsidies.add_occupancyreport"):
        raise PermissionDenied("您没有填报入住床位数的权限。")
    _check_scope(actor, institution)
    month = month_start(month)
    stored = OccupancyReport.objects.filter(institution=institution, month=month).values_list(
        "self_care", "disabled"
    )
    changes = bool(stored) and stored[0] != (self_care, disabled)
    if changes and actor is not SYSTEM and not actor.has_perm("subsidies.change_occupancyreport"):
        raise PermissionDenied(
            f"{institution.name}{month.year}年{month.month}月的入住床位数已填报；修改须由县级民政部门办理（或通过批量导入提交县级接受）。"
        )
    _checked_figures(institution, month, self_care, disabled)
    return write_occupancy(actor, institution.pk, month, self_care, disabled)


@transaction.atomic
def occupancy_record(
    actor, institution, month: datetime.date, self_care: int, disabled: int
) -> OccupancyReport:
    """Record (or correct) one month's occupancy of an elder-care institution. `month`: any day
    of it. ValidationError({field: message}) for bad figures, PermissionDenied outside scope."""
    report, _op = _record(actor, institution, month, self_care, disabled)
    return report


# -- one month entered on a page -------------------------------------------------------
ENTRY_FIELDS = {
    "养老机构信用代码": "institution",
    "年月": "month",
    "自理入住床位数": "self_care",
    "失能入住床位数": "disabled",
}


def entry_is_staged(actor) -> bool:
    """Whether a month this actor enters waits for a county user's acceptance — exactly when the
    actor's `occupancy` upload would (a township's figures: money depends on them)."""
    from eldercare.sheets import kinds

    return actor is not SYSTEM and kinds.get("occupancy").staged_for(actor)


def _entry_sheet(institution, month: datetime.date, self_care: int, disabled: int) -> bytes:
    import csv
    import io

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(list(ENTRY_FIELDS))
    writer.writerow([institution.portal_no, f"{month:%Y-%m}", self_care, disabled])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def occupancy_submit(actor, institution, month: datetime.date, self_care: int, disabled: int):
    """One month of one institution entered on a page. A county user's figures are recorded at
    once (`occupancy_record`); a township user's go the way of their upload: a one-row
    `occupancy` batch, validated by the same rules and staged until a county user accepts it on
    the 批量导入 page (eldercare/sheets/engine.py; the write, audited, happens then).
    Returns (outcome, object): ("create" | "update" | "unchanged", the report) or ("pending",
    the batch). ValidationError({field: message}) for bad figures, PermissionDenied outside
    scope or without the permission."""
    month = month_start(month)
    if not entry_is_staged(actor):
        with transaction.atomic():
            report, op = _record(actor, institution, month, self_care, disabled)
        return op, report
    from eldercare.sheets import engine, kinds
    from eldercare.sheets.models import ImportBatch

    if not actor.has_perm("subsidies.add_occupancyreport"):
        raise PermissionDenied("您没有填报入住床位数的权限。")
    _check_scope(actor, institution)
    kinds.get("occupancy").check_can_import(actor)
    _checked_figures(institution, month, self_care, disabled)
    stored = OccupancyReport.objects.filter(institution=institution, month=month).first()
    if stored is not None and (stored.self_care, stored.disabled) == (self_care, disabled):
        return "unchanged", stored
    name = f"页面录入：{institution.name} {month.year}年{month.month}月.csv".replace("/", "／")
    batch = engine.start_import(
        actor=actor,
        kind="occupancy",
        data=_entry_sheet(institution, month, self_care, disabled),
        filename=name,
        inline=True,
    )
    if batch.status == ImportBatch.Status.PENDING:
        return "pending", batch
    report = ImportBatch.objects.get(pk=batch.pk).get_report()
    errors: dict[str, list[str]] = {}
    for e in report.get("errors", []):
        errors.setdefault(ENTRY_FIELDS.get(e.get("column"), "__all__"), []).append(e["message"])
    if batch.status == ImportBatch.Status.INVALID and errors:
        engine.abandon(actor=actor, batch=batch)
        raise ValidationError(errors)
    raise ValidationError(batch.message or "未能提交，请稍后重试。")


def pending_entries(actor, institution, month: datetime.date) -> list[dict]:
    """The township figures for this institution and month waiting for a county user's
    acceptance, in the actor's scope: [{"batch", "self_care", "disabled", "username"}]."""
    from eldercare.accounts.scope import for_user
    from eldercare.sheets.models import ImportBatch

    month = month_start(month).isoformat()
    out = []
    batches = for_user(ImportBatch.objects.filter(kind="occupancy", status=ImportBatch.Status.PENDING), actor)
    for batch in batches.order_by("created_at", "id"):
        for op in batch.get_ops():
            if op.get("institution", [None])[0] == institution.pk and op.get("month") == month:
                out.append(
                    {
                        "batch": batch,
                        "self_care": op.get("self_care"),
                        "disabled": op.get("disabled"),
                        "username": batch.username,
                    }
                )
    return out


def not_operating_warning(month: datetime.date, cap: Capacity) -> str | None:
    if cap.status and cap.status != Status.OPERATING:
        label = dict(Status.choices).get(cap.status, cap.status)
        return f"该机构{month.year}年{month.month}月末的登记状态为“{label}”，请核实入住床位数。"
    return None


# == residents ======================================================================
def stays_overlap(
    a1: datetime.date, d1: datetime.date | None, a2: datetime.date, d2: datetime.date | None
) -> bool:
    """[a1, d1) and [a2, d2) share a day; None = still there."""
    return (d2 is None or a1 < d2) and (d1 is None or a2 < d1)


def stay_text(admitted: datetime.date, discharged: datetime.date | None) -> str:
    """The period before 入住记录: 2024-01-01 至 2025-03-01 的 / 2024-06-01 起、至今未退住的."""
    if discharged:
        return f"{admitted:%Y-%m-%d} 至 {discharged:%Y-%m-%d} 的"
    return f"{admitted:%Y-%m-%d} 起、至今未退住的"


def overlap_message(other_name: str | None, admitted, discharged, *, same_home: bool) -> str:
    """`other_name` None: the other home is outside the actor's scope — neither its name nor the
    other stay's dates are told."""
    if same_home:
        return f"与该老人在本机构 {stay_text(admitted, discharged)}入住记录时间重叠。"
    if other_name is None:
        return f"该老人在{OTHER_HOME}有时间重叠的入住记录（同一人不能同时入住两家养老机构），请核实。"
    return (
        f"该老人在{other_name}有 {stay_text(admitted, discharged)}入住记录，与本次入住时间重叠"
        "（同一人不能同时入住两家养老机构）。"
    )


def stay_errors(
    *,
    institution_family: str,
    name,
    ability_level,
    birth_date: datetime.date,
    admitted_on,
    discharged_on,
    today: datetime.date,
) -> dict[str, str]:
    """{field: Chinese message} for a stay; pure."""
    errors = {}
    if institution_family != Family.ELDERCARE:
        errors["institution"] = "入住老人名册只能为养老服务机构登记。"
    if not isinstance(name, str) or not name.strip():
        errors["name"] = "请填写姓名。"
    elif len(name.strip()) > 50:
        errors["name"] = "姓名过长（最多50个字）。"
    if ability_level not in ABILITY_LEVELS:
        errors["ability_level"] = "能力等级应为：" + "、".join(ABILITY_LEVELS.values()) + "（或 0–4）。"
    if not isinstance(admitted_on, datetime.date):
        errors["admitted_on"] = "请填写入住日期。"
    else:
        if admitted_on > today:
            errors["admitted_on"] = "入住日期不能晚于今天。"
        elif admitted_on < birth_date:
            errors["admitted_on"] = "入住日期早于身份证号中的出生日期。"
        if discharged_on is not None:
            if discharged_on <= admitted_on:
                errors["discharged_on"] = "退住日期应晚于入住日期。"
            elif discharged_on > today:
                errors["discharged_on"] = "退住日期不能晚于今天。"
    return errors


def lock_person(id_hash: str) -> None:
    """Serialise writes about one person (the overlap check sees a committed state): an
    advisory transaction lock on PostgreSQL; SQLite serialises writers anyway."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(%s)", [int(id_hash[:15], 16)])


def _overlaps(actor, id_hash: str, institution_id: int, admitted, discharged, exclude_pk=None) -> list[str]:
    others = (
        Resident.objects.filter(id_hash=id_hash)
        .exclude(pk=exclude_pk)
        .filter(Q(discharged_on__isnull=True) | Q(discharged_on__gt=admitted))
        .values(
            "institution_id", "institution__name", "institution__region_id", "admitted_on", "discharged_on"
        )
    )
    if discharged is not None:
        others = others.filter(admitted_on__lt=discharged)
    out = []
    for o in others.order_by("admitted_on"):
        visible = actor is SYSTEM or region_in_scope(actor, o["institution__region_id"])
        out.append(
            overlap_message(
                o["institution__name"] if visible else None,
                o["admitted_on"],
                o["discharged_on"],
                same_home=o["institution_id"] == institution_id,
            )
        )
    return out


def _resident_changes(before: dict | None, r: Resident) -> dict:
    # Never the ID number, nor the birth date (with the masked number it gives the number away).
    fields = ("name", "ability_level", "admitted_on", "discharged_on")
    after = {f: getattr(r, f) for f in fields}
    after = {k: (v.isoformat() if isinstance(v, datetime.date) else v) for k, v in after.items()}
    if before is None:
        return {"institution": [None, r.institution_id], "id_masked": [None, r.id_masked]} | {
            k: [None, v] for k, v in after.items() if v is not None
        }
    return {k: [before[k], v] for k, v in after.items() if before[k] != v}


def _snapshot(r: Resident) -> dict:
    return {
        f: (getattr(r, f).isoformat() if isinstance(getattr(r, f), datetime.date) else getattr(r, f))
        for f in ("name", "ability_level", "admitted_on", "discharged_on")
    }


def needs_change_permission(before: dict, after: dict) -> bool:
    """Recording the discharge of an open stay is roster keeping (add); anything else on a
    recorded stay — name, ability level, a discharge already recorded — is a change."""
    changed = {k for k in after if after[k] != before[k]}
    return bool(changed - {"discharged_on"}) or (
        "discharged_on" in changed and before["discharged_on"] is not None
    )


def write_resident(
    actor,
    institution,
    person: idcard.IdNumber | None,
    *,
    name: str,
    ability_level: int,
    admitted_on: datetime.date,
    discharged_on: datetime.date | None,
    id_hash: str | None = None,
    id_cipher: str | None = None,
    id_masked: str | None = None,
    birth_date: datetime.date | None = None,
    existing: Resident | None = None,
    detail=None,
) -> tuple[Resident, str]:
    """Store one stay (checked by the caller) and audit it; an import passes the hash, cipher
    and mask computed at validation (the plan never holds the number). Returns (resident, op)."""
    if existing is not None:
        before = _snapshot(existing)
        existing.name, existing.ability_level, existing.discharged_on = name, ability_level, discharged_on
        if _snapshot(existing) == before:
            return existing, "unchanged"
        existing.save()
        record(actor, Action.UPDATE, existing, changes=_resident_changes(before, existing), detail=detail)
        return existing, "update"
    resident = Resident(
        institution=institution,
        name=name,
        id_cipher=id_cipher or idcard.encrypt(person.number),
        id_hash=id_hash or idcard.lookup_hash(person.number),
        id_masked=id_masked or person.masked,
        birth_date=birth_date or person.birth_date,
        ability_level=ability_level,
        admitted_on=admitted_on,
        discharged_on=discharged_on,
        created_by=_user(actor),
    )
    resident.save()
    record(actor, Action.CREATE, resident, changes=_resident_changes(None, resident), detail=detail)
    return resident, "create"


@transaction.atomic
def resident_record(
    actor,
    institution,
    *,
    name: str,
    id_number: str,
    ability_level: int,
    admitted_on: datetime.date,
    discharged_on: datetime.date | None = None,
) -> Resident:
    """Record a stay, or update the stay with the same key (institution, person, admission
    day). ValidationError({field: message}) — never with the number in it."""
    if actor is not SYSTEM and not actor.has_perm("subsidies.add_resident"):
        raise PermissionDenied("您没有登记入住老人的权限。")
    _check_scope(actor, institution)
    try:
        person = idcard.parse(id_number)
    except idcard.IdCardError as exc:
        raise ValidationError({"id_number": str(exc)}) from None
    name = (name or "").strip()
    errors = stay_errors(
        institution_family=institution.family,
        name=name,
        ability_level=ability_level,
        birth_date=person.birth_date,
        admitted_on=admitted_on,
        discharged_on=discharged_on,
        today=timezone.localdate(),
    )
    if errors:
        raise ValidationError(errors)
    id_hash = idcard.lookup_hash(person.number)
    lock_person(id_hash)
    existing = (
        Resident.objects.select_for_update()
        .filter(institution=institution, id_hash=id_hash, admitted_on=admitted_on)
        .first()
    )
    if existing is not None:
        after = {"name": name, "ability_level": ability_level, "discharged_on": _iso(discharged_on)}
        before = {k: v for k, v in _snapshot(existing).items() if k in after}
        if (
            actor is not SYSTEM
            and needs_change_permission(before, after)
            and not actor.has_perm("subsidies.change_resident")
        ):
            raise PermissionDenied("您没有修改入住记录的权限（可补填退住日期）；如需更正请联系县级民政部门。")
    problems = _overlaps(
        actor, id_hash, institution.pk, admitted_on, discharged_on, getattr(existing, "pk", None)
    )
    if problems:
        raise ValidationError({"admitted_on": problems})
    resident, _op = write_resident(
        actor,
        institution,
        person,
        name=name,
        ability_level=ability_level,
        admitted_on=admitted_on,
        discharged_on=discharged_on,
        existing=existing,
    )
    return resident


def _iso(day):
    return day.isoformat() if isinstance(day, datetime.date) else day


@transaction.atomic
def resident_discharge(actor, resident: Resident, on: datetime.date) -> Resident:
    """Record the day a resident left (the stay is [入住, 退住))."""
    r = Resident.objects.select_for_update().select_related("institution").get(pk=resident.pk)
    if actor is not SYSTEM:
        if not (actor.has_perm("subsidies.add_resident") or actor.has_perm("subsidies.change_resident")):
            raise PermissionDenied("您没有登记入住老人的权限。")
        _check_scope(actor, r.institution)
        if (
            r.discharged_on is not None
            and r.discharged_on != on
            and not actor.has_perm("subsidies.change_resident")
        ):
            raise PermissionDenied(
                f"该老人已于 {r.discharged_on:%Y-%m-%d} 退住；更正退住日期须由县级民政部门办理。"
            )
    if not isinstance(on, datetime.date):
        raise ValidationError({"discharged_on": "请填写退住日期。"})
    if on <= r.admitted_on:
        raise ValidationError({"discharged_on": "退住日期应晚于入住日期。"})
    if on > timezone.localdate():
        raise ValidationError({"discharged_on": "退住日期不能晚于今天。"})
    lock_person(r.id_hash)
    problems = _overlaps(actor, r.id_hash, r.institution_id, r.admitted_on, on, r.pk)
    if problems:
        raise ValidationError({"discharged_on": problems})
    r, _op = write_resident(
        actor,
        r.institution,
        None,
        name=r.name,
        ability_level=r.ability_level,
        admitted_on=r.admitted_on,
        discharged_on=on,
        existing=r,
    )
    return r


MIN_REASON = 4


def resident_unmask(actor, resident: Resident, reason: str) -> str:
    """The full ID number, for a holder of `subsidies.unmask_resident` in scope who states why.
    Every attempt is audited (Action.UNMASK; refusals with result denied), with the reason and
    never the number. Not in a transaction of its own: a refusal's record must stay."""
    reason = " ".join((reason or "").split())[:300]
    institution = resident.institution
    detail = {"reason": reason, "shown": resident.id_masked}
    if actor is not SYSTEM:
        allowed = actor.has_perm("subsidies.unmask_resident")
        if not allowed or not region_in_scope(actor, institution.region_id):
            record(actor, Action.UNMASK, resident, result=Result.DENIED, detail=detail)
            if not allowed:
                raise PermissionDenied("您没有查看完整身份证号的权限。")
            raise PermissionDenied("该老人所在的养老机构不在您的管辖范围内。")
    if len(reason) < MIN_REASON:
        record(actor, Action.UNMASK, resident, result=Result.DENIED, detail={**detail, "why": "no reason"})
        raise ValidationError({"reason": f"请填写查看完整身份证号的事由（至少{MIN_REASON}个字）。"})
    number = idcard.decrypt(resident.id_cipher)
    record(actor, Action.UNMASK, resident, detail=detail)
    return number


def residents_with_id(actor, id_number: str):
    """The stays of the person with this ID number that the actor may see (found by the keyed
    hash: nothing is decrypted). IdCardError for a malformed number."""
    from eldercare.accounts.scope import for_user

    person = idcard.parse(id_number)
    return for_user(Resident, actor).filter(id_hash=idcard.lookup_hash(person.number))
