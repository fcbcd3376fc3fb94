"""Township reports: the yearly reported figures (DOMAIN.md §7, CONTRACT.md `township_reports`),
entered on the 乡镇年报 pages, through the API or by spreadsheet — DHIS2's data approval plus
what its users asked for (issue 7).

States (assessments.models.ReportStatus):

    draft ──submit──▶ submitted ──accept──▶ accepted (locked) ──reopen──▶ reopened ──submit──▶ …
                          └──────────reopen (return)──────────▶ reopened

- A township user keeps the report of their own township; a county user (health or civil, with
  `assessments.accept_townshipreport`) may enter any township's report in their county, e.g.
  from paper. Writes are refused while the report is submitted or accepted.
- Accepting copies `values` into `accepted_values` (the former accepted values move to
  `previous_accepted_values`) and locks the report. **Only accepted values count**: after a
  reopen the last accepted values keep counting until the corrected report is accepted again
  (decision recorded in docs/adr/0014-township-report-approval.md); the report is then marked
  「有修订」 (`TownshipReport.changed_since_accepted`).
- Accept takes row locks (select_for_update), so two officers accepting at once give one
  acceptance; the other is told 「已被他人审核」. Many reports may be accepted in one call
  (bulk accept), each transition audited.
- Every accept or reopen touches the county's year for the debounced recompute
  (assessments.recompute.touch), inside the transaction.

Values are JSON numbers keyed by ReportedField code (ints for whole numbers, floats with at most
the field's decimals otherwise: read them with `as_decimal`). Each figure is ≥ 0, within its
field's `max_value` and `decimals`; a figure with `not_above` may not exceed that field's figure
("A numerator above its denominator is an import error"); a submitted report gives the two of
such a pair together or not at all (a numerator without its denominator would skew the county's
Σ/Σ), while a draft may be saved half-filled.
Every message names the column header the township sees.

The reporting calendar: `ReportingPeriod` gives the due date of a year's reports; without one
it is 31 January of the following year (`due_date`). `remind` (the daily beat task
`assessments.remind_township_reports`) tells the township users of townships without a
submitted or accepted report 7 days and 1 day before the due date, and weekly once it is
overdue, and the county's health and civil officers get one overdue summary a week — each at
most once (ReminderSent)."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from eldercare.accounts.roles import CIVIL, HEALTH, TOWNSHIP
from eldercare.accounts.scope import SYSTEM, region_in_scope, users_covering
from eldercare.audit.models import Action
from eldercare.audit.services import record
from eldercare.regions import codes
from eldercare.sheets import values as v

from .models import ReminderSent, ReportedField, ReportingPeriod, ReportStatus, TownshipReport

DATASET = "township_reports"
MIN_YEAR = 2000
MAX_NUMBER = Decimal("999999999999")  # fits the reports' Decimal(14, 2) facts
LOCKED_MESSAGE = "已审核锁定，如需更正请县级退回"
SUBMITTED_MESSAGE = "已提交待审核，暂不能修改；如需修改请县级退回"
EDITABLE = (ReportStatus.DRAFT, ReportStatus.REOPENED)
COUNTED = (ReportStatus.SUBMITTED, ReportStatus.ACCEPTED)  # "reported" for the calendar
# Reminders (days before the due date; overdue ones weekly from the day after it).
BEFORE_DAYS = (7, 1)
OVERDUE_EVERY = 7
REMIND_YEARS_BACK = 365  # days after the due date that overdue reminders keep coming


class ReportRefused(Exception):
    """A refused action, with its Chinese reason; `status` as the API answers it (the shape of
    eldercare.workflow.services.TransitionRefused: 409 state/locked/taken, 400 comment, 403)."""

    def __init__(self, message: str, code: str):
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = {"state": 409, "locked": 409, "taken": 409, "comment": 400}.get(code, 403)


# -- the fields and their values ----------------------------------------------------------------
def reported_fields() -> list[ReportedField]:
    return list(ReportedField.objects.order_by("order", "code"))


def as_decimal(values: dict | None, code: str) -> Decimal | None:
    """A stored figure as a Decimal (exact: the JSON number has at most the field's decimals)."""
    if not values or values.get(code) is None:
        return None
    return Decimal(str(values[code]))


def to_json(number: Decimal) -> int | float:
    """The stored form: an int for a whole number, else a float (exact to its ≤ 2 decimals)."""
    if number == number.to_integral_value():
        return int(number)
    return float(number)


def show(value) -> str:
    """A figure as the pages show it (1,200 · 95.5), '' for none."""
    if value is None or value == "":
        return ""
    d = Decimal(str(value))
    if d == d.to_integral_value():
        return f"{int(d):,}"
    return f"{d:,}"


_UNIT_SUFFIXES = ("人次", "人", "个", "分", "%", "％", "村")


def parse_number(raw, f: ReportedField):
    """One figure as typed in a cell, a form or a JSON body: a Decimal, `UNCHANGED` (blank) or
    `CLEAR` (清空), else CellError with a Chinese message (the caller names the column).
    Thousands separators, full-width digits and a unit (人, 个, 分, %) are accepted."""
    if raw is None:
        return v.UNCHANGED
    if isinstance(raw, bool):
        raise v.CellError("应为数字。")
    if isinstance(raw, str):
        text = v.fold(raw)
        if text == "":
            return v.UNCHANGED
        if text in v.CLEAR_WORDS:
            return v.CLEAR
        cleaned = text.replace(",", "").replace("，", "").replace(" ", "")
        for suffix in _UNIT_SUFFIXES:
            if cleaned.endswith(suffix):
                cleaned = cleaned[: -len(suffix)]
                break
        try:
            number = Decimal(cleaned)
        except InvalidOperation:
            raise v.CellError(f"“{text}”不是数字。") from None
    elif isinstance(raw, (int, float, Decimal)):
        try:
            number = Decimal(str(raw))
        except InvalidOperation:
            raise v.CellError(f"“{raw}”不是数字。") from None
    else:
        raise v.CellError(f"“{raw}”不是数字。")
    if not number.is_finite():
        raise v.CellError(f"“{raw}”不是数字。")
    if number < 0:
        raise v.CellError("不能为负数。")
    if f.decimals == 0:
        if number != number.to_integral_value():
            raise v.CellError(f"应为整数，实际为 {number}。")
    else:
        exponent = number.normalize().as_tuple().exponent
        if isinstance(exponent, int) and -exponent > f.decimals:
            raise v.CellError(f"最多保留{f.decimals}位小数。")
    if f.max_value is not None and number > f.max_value:
        raise v.CellError(f"不能大于{show(f.max_value)}。")
    if number > MAX_NUMBER:
        raise v.CellError("数值过大，请核对。")
    return number.normalize() if number == number.to_integral_value() else number


def pair_errors(fields: list[ReportedField], values: dict, *, complete: bool = True) -> dict[str, str]:
    """{field code: message} for the cross-field rules over the values as they will be: a
    figure above its `not_above` field's figure, and — `complete`: for a submission, not a draft
    being saved — one of such a pair given without the other."""
    by_code = {f.code: f for f in fields}
    errors = {}
    for f in fields:
        if not f.not_above or f.not_above not in by_code:
            continue
        den_field = by_code[f.not_above]
        num, den = as_decimal(values, f.code), as_decimal(values, den_field.code)
        if num is None and den is None:
            continue
        if num is None or den is None:
            if not complete:
                continue
            missing, given = (f, den_field) if num is None else (den_field, f)
            errors[missing.code] = f"填写了“{given.name}”，须同时填写“{missing.name}”。"
        elif num > den:
            errors[f.code] = f"“{f.name}”（{show(num)}）不能大于“{den_field.name}”（{show(den)}）。"
    return errors


def missing_fields(fields: list[ReportedField], values: dict) -> list[ReportedField]:
    return [f for f in fields if (values or {}).get(f.code) is None]


def clean_values(
    fields: list[ReportedField], current: dict, given: dict, *, partial: bool = True, complete: bool = False
):
    """The values after applying `given` ({code: raw}) to `current`: blank or null clears a figure
    in a form or a JSON body (`partial`: codes not given keep their figure; `complete`: the
    pairs must be whole, as for a submission). Returns the new values, or raises
    ValidationError({code: message naming the column})."""
    by_code = {f.code: f for f in fields}
    errors = {}
    unknown = [k for k in given if k not in by_code]
    if unknown:
        errors["values"] = f"未知的填报项：{'、'.join(map(str, unknown))}。"
    out = dict(current or {}) if partial else {}
    for code, raw in given.items():
        f = by_code.get(code)
        if f is None:
            continue
        try:
            number = parse_number(raw, f)
        except v.CellError as exc:
            errors[code] = f"“{f.name}”{exc}"
            continue
        if number is v.UNCHANGED or number is v.CLEAR:
            out.pop(code, None)  # a form's blank input or a JSON null: no figure
        else:
            out[code] = to_json(number)
    out = {f.code: out[f.code] for f in fields if f.code in out}  # catalogue order, known codes
    if not errors:
        errors.update(pair_errors(fields, out, complete=complete))
    if errors:
        raise ValidationError(errors)
    return out


def parse_year(raw) -> int:
    """年度: 2025, "2025", "2025年", "2025年度"; from 2000 to this year."""
    text = v.fold(raw if not isinstance(raw, float) or not raw.is_integer() else int(raw))
    text = text.removesuffix("年度").removesuffix("年").strip()
    if not (text.isdigit() and len(text) == 4):
        raise v.CellError(f"“{v.fold(raw)}”不是年度，请写成 2025 或 2025年。")
    year = int(text)
    this_year = timezone.localdate().year
    if year < MIN_YEAR or year > this_year:
        raise v.CellError(f"年度 {year} 不合理（{MIN_YEAR}–{this_year}）。")
    return year


# -- who may do what ----------------------------------------------------------------------------
def _is_county_officer(actor) -> bool:
    """Health or civil at county level or above (they accept and reopen)."""
    if actor is SYSTEM:
        return True
    region = getattr(actor, "region_id", None)
    return bool(
        region
        and actor.has_perm("assessments.accept_townshipreport")
        and codes.level_of(region) <= codes.COUNTY
    )


def may_edit(actor) -> bool:
    return actor is SYSTEM or actor.has_perm("assessments.change_townshipreport") or _is_county_officer(actor)


def may_submit(actor) -> bool:
    return actor is SYSTEM or actor.has_perm("assessments.submit_townshipreport") or _is_county_officer(actor)


def may_accept(actor) -> bool:
    return _is_county_officer(actor)


def _check_region(actor, region) -> None:
    code = getattr(region, "code", region)
    if codes.level_of(code) != codes.TOWNSHIP:
        raise ValidationError({"region": "乡镇年报须按乡镇（街道）填报，请选择乡镇级区划。"})
    if actor is not SYSTEM and not region_in_scope(actor, code):
        raise PermissionDenied("该乡镇不在您的管辖范围内。")


def actions_for(actor, report: TownshipReport | None) -> set[str]:
    """What `actor` may do with the report now: edit, submit, accept, reopen."""
    status = report.status if report is not None else ReportStatus.DRAFT
    out = set()
    if report is not None and actor is not SYSTEM and not region_in_scope(actor, report.region_id):
        return out
    if status in EDITABLE and may_edit(actor):
        out.add("edit")
    if report is not None and status in EDITABLE and may_submit(actor) and report.values:
        out.add("submit")
    if report is not None and may_accept(actor):
        if status == ReportStatus.SUBMITTED:
            out.add("accept")
        if status in (ReportStatus.SUBMITTED, ReportStatus.ACCEPTED):
            out.add("reopen")
    return out


def _user(actor):
    return actor if getattr(actor, "pk", None) else None


def _label(report: TownshipReport) -> str:
    return f"{report.region.name}{report.year}年度"


# -- writes -------------------------------------------------------------------------------------
def _county_of(code: str) -> str:
    return code[:6].ljust(12, "0")


def _touch(pairs) -> None:
    """The debounced recompute of the (county, year) slices a change touched (after commit)."""
    from . import recompute

    for county, year in sorted(set(pairs)):
        recompute.touch(county, year)


def _locked(pk) -> TownshipReport:
    return TownshipReport.objects.select_for_update(of=("self",)).select_related("region").get(pk=pk)


@transaction.atomic
def report_save(*, actor, region, year: int, values: dict, partial: bool = True) -> TownshipReport:
    """Create or change the report of `region` (a township) for `year`. `values`: {code: raw
    figure}; blank or null clears a figure; with `partial`, codes not given keep theirs.
    Refused while the report is submitted or accepted."""
    from eldercare.regions.models import Region

    code = getattr(region, "code", region)
    _check_region(actor, code)
    if not may_edit(actor):
        raise PermissionDenied("您没有填报乡镇年报的权限。")
    try:
        year = parse_year(year)
    except v.CellError as exc:
        raise ValidationError({"year": str(exc)}) from None
    region_obj = region if isinstance(region, Region) else Region.objects.filter(code=code).first()
    if region_obj is None:
        raise ValidationError({"region": f"找不到区划代码为 {code} 的乡镇（街道）。"})
    report = TownshipReport.objects.select_for_update(of=("self",)).filter(region_id=code, year=year).first()
    created = False
    if report is None:
        try:
            with transaction.atomic():
                report = TownshipReport.objects.create(region=region_obj, year=year)
                created = True
        except IntegrityError:  # created by someone else a moment ago
            report = TownshipReport.objects.select_for_update(of=("self",)).get(region_id=code, year=year)
    report.region = region_obj
    return _write(actor, report, values, partial=partial, created=created)


def _write(actor, report: TownshipReport, values: dict, *, partial: bool, created: bool) -> TownshipReport:
    if report.status == ReportStatus.ACCEPTED:
        raise ReportRefused(f"{_label(report)}{LOCKED_MESSAGE}。", "locked")
    if report.status == ReportStatus.SUBMITTED:
        raise ReportRefused(f"{_label(report)}{SUBMITTED_MESSAGE}。", "state")
    fields = reported_fields()
    before = dict(report.values or {})
    after = clean_values(fields, before, values or {}, partial=partial)
    changes = {
        k: [before.get(k), after.get(k)]
        for k in sorted(set(before) | set(after))
        if before.get(k) != after.get(k)
    }
    if not changes and not created:
        return report
    report.values = after
    report.save(update_fields=["values", "updated_at"])
    record(actor, Action.CREATE if created else Action.UPDATE, report, changes=changes)
    if report.accepted_values is not None:
        # A correction under way: the report's 「有修订」 marker follows the edit.
        _touch([(_county_of(report.region_id), report.year)])
    return report


@transaction.atomic
def report_submit(*, actor, report: TownshipReport) -> TownshipReport:
    """draft or reopened → submitted (a township for its own township, or a county user)."""
    r = _locked(report.pk)
    if actor is not SYSTEM and not region_in_scope(actor, r.region_id):
        raise PermissionDenied("该乡镇不在您的管辖范围内。")
    if not may_submit(actor):
        raise ReportRefused("您没有报送乡镇年报的权限。", "role")
    if r.status not in EDITABLE:
        raise ReportRefused(f"{_label(r)}{r.get_status_display()}，不能再次提交。", "state")
    if not r.values:
        raise ReportRefused(f"{_label(r)}尚未填写任何数据，不能提交。", "state")
    # The figures as they stand must pass the rules, the pairs whole (a draft may be partial).
    clean_values(reported_fields(), r.values, {}, partial=True, complete=True)
    before = r.status
    r.status = ReportStatus.SUBMITTED
    r.submitted_at, r.submitted_by = timezone.now(), _user(actor)
    r.save(update_fields=["status", "submitted_at", "submitted_by", "updated_at"])
    record(actor, Action.TRANSITION, r, changes={"status": [before, r.status]}, detail={"action": "submit"})
    transaction.on_commit(lambda: _notify_submitted(r))
    return r


@dataclass
class Accepted:
    """What a (bulk) acceptance did: the reports accepted, and those left with the reason."""

    accepted: list[TownshipReport] = field(default_factory=list)
    skipped: list[tuple[TownshipReport, str]] = field(default_factory=list)


def _accept(r: TownshipReport, actor, now, *, detail: dict | None = None) -> None:
    """The acceptance itself, on a locked row (also the county's acceptance of a township's
    staged upload: assessments.sheet_kind)."""
    before = {
        "status": r.status,
        "accepted_values": r.accepted_values,
        "acceptances": r.acceptances,
    }
    r.previous_accepted_values = r.accepted_values
    r.accepted_values = dict(r.values or {})
    r.accepted_at, r.accepted_by = now, _user(actor)
    r.acceptances += 1
    r.status = ReportStatus.ACCEPTED
    r.save(
        update_fields=[
            "status",
            "accepted_values",
            "previous_accepted_values",
            "accepted_at",
            "accepted_by",
            "acceptances",
            "updated_at",
        ]
    )
    record(
        actor,
        Action.TRANSITION,
        r,
        changes={
            "status": [before["status"], r.status],
            "accepted_values": [before["accepted_values"], r.accepted_values],
            "acceptances": [before["acceptances"], r.acceptances],
        },
        detail={"action": "accept", **(detail or {})},
    )


def report_accept(*, actor, reports, strict: bool = False) -> Accepted:
    """submitted → accepted (locked), for health or civil at county level, for every report in
    `reports` (objects or ids) in their scope — bulk accept in one call, each audited. Rows are
    locked first: a report another officer accepted a moment ago is skipped with 「已被他人审核」.
    `strict`: refuse the whole call (ReportRefused) unless every report is accepted."""
    if not may_accept(actor):
        raise ReportRefused("只有县级卫健、民政部门可以审核乡镇年报。", "role")
    ids = sorted({int(getattr(r, "pk", r)) for r in reports})
    outcome = Accepted()
    if not ids:
        return outcome
    with transaction.atomic():
        locked = list(
            TownshipReport.objects.select_for_update(of=("self",))
            .select_related("region", "accepted_by")
            .filter(pk__in=ids)
            .order_by("pk")
        )
        if len(locked) != len(ids) or any(
            actor is not SYSTEM and not region_in_scope(actor, r.region_id) for r in locked
        ):
            raise PermissionDenied("所选的乡镇年报不在您的管辖范围内。")
        now = timezone.now()
        for r in locked:
            if r.status == ReportStatus.SUBMITTED:
                _accept(r, actor, now)
                outcome.accepted.append(r)
            elif r.status == ReportStatus.ACCEPTED:
                who = (r.accepted_by.full_name or r.accepted_by.username) if r.accepted_by else "他人"
                at = timezone.localtime(r.accepted_at).strftime("%Y-%m-%d %H:%M") if r.accepted_at else ""
                outcome.skipped.append((r, f"{_label(r)}已被他人审核（{who} {at}）。"))
            else:
                outcome.skipped.append((r, f"{_label(r)}{r.get_status_display()}，尚未提交，不能审核。"))
        if strict and outcome.skipped:
            r, message = outcome.skipped[0]
            raise ReportRefused(message, "taken" if r.status == ReportStatus.ACCEPTED else "state")
        _touch((_county_of(r.region_id), r.year) for r in outcome.accepted)
        accepted = list(outcome.accepted)
        transaction.on_commit(lambda: _notify_township(accepted, "accepted"))
    return outcome


@transaction.atomic
def report_reopen(*, actor, report: TownshipReport, reason: str) -> TownshipReport:
    """accepted → reopened for a correction (county; a reason is required). The last accepted
    values keep counting until the corrected report is accepted again. A submitted report may
    be returned the same way before it is accepted."""
    if not may_accept(actor):
        raise ReportRefused("只有县级卫健、民政部门可以退回乡镇年报。", "role")
    reason = " ".join((reason or "").split())
    if not reason:
        raise ReportRefused("请填写退回修订的原因。", "comment")
    r = _locked(report.pk)
    if actor is not SYSTEM and not region_in_scope(actor, r.region_id):
        raise PermissionDenied("该乡镇不在您的管辖范围内。")
    if r.status not in (ReportStatus.ACCEPTED, ReportStatus.SUBMITTED):
        raise ReportRefused(f"{_label(r)}{r.get_status_display()}，无需退回。", "state")
    before = r.status
    r.status = ReportStatus.REOPENED
    r.reopened_reason = reason[:300]
    r.save(update_fields=["status", "reopened_reason", "updated_at"])
    record(
        actor,
        Action.TRANSITION,
        r,
        changes={"status": [before, r.status]},
        detail={"action": "reopen", "reason": r.reopened_reason},
    )
    _touch([(_county_of(r.region_id), r.year)])
    transaction.on_commit(lambda: _notify_township([r], "reopened"))
    return r


# -- notices ------------------------------------------------------------------------------------
def report_link(region_code: str, year: int) -> str:
    from django.urls import reverse

    return reverse("assessments:township_report", args=[region_code, year])


def _officers_over(region_code: str):
    """The county's health and civil officers (county level) over a township."""
    county = _county_of(region_code)
    return (
        users_covering(region_code)
        .filter(region_id=county, groups__name__in=[HEALTH, CIVIL])
        .filter(groups__permissions__codename="accept_townshipreport")
        .distinct()
    )


def _township_users(region_code: str):
    return users_covering(region_code).filter(region_id=region_code, groups__name=TOWNSHIP).distinct()


def _notify(users, title: str, body: str, link: str) -> int:
    from eldercare.core.models import Notification

    notes = [Notification(user=u, title=title[:200], body=body, link=link) for u in users]
    Notification.objects.bulk_create(notes)
    return len(notes)


def _notify_submitted(r: TownshipReport) -> None:
    users = [u for u in _officers_over(r.region_id) if u.pk != r.submitted_by_id]
    _notify(users, f"乡镇年报待审核：{_label(r)}", "请在“乡镇年报”中审核。", report_link(r.region_id, r.year))


def _notify_township(reports, what: str) -> None:
    for r in reports:
        if what == "accepted":
            title, body = f"乡镇年报已审核：{_label(r)}", "数据已锁定并计入指标考核。"
        else:
            title, body = f"乡镇年报已退回修订：{_label(r)}", f"退回原因：{r.reopened_reason}"
        _notify(_township_users(r.region_id), title, body, report_link(r.region_id, r.year))


# -- the reporting calendar ---------------------------------------------------------------------
def default_due_date(year: int) -> datetime.date:
    """Without a ReportingPeriod: 31 January of the following year."""
    return datetime.date(year + 1, 1, 31)


def due_date(year: int) -> tuple[datetime.date, bool]:
    """(the due date of `year`'s township reports, whether it is the default)."""
    period = ReportingPeriod.objects.filter(dataset=DATASET, year=year).first()
    if period is not None:
        return period.due_on, False
    return default_due_date(year), True


@transaction.atomic
def period_set(*, actor, year: int, due_on: datetime.date, note: str = "") -> ReportingPeriod:
    """Set the due date of `year`'s township reports (health or admin), audited."""
    if actor is not SYSTEM and not (
        actor.has_perm("assessments.add_reportingperiod")
        and actor.has_perm("assessments.change_reportingperiod")
    ):
        raise PermissionDenied("您没有设置报送截止日期的权限。")
    if due_on.year < year:
        raise ValidationError({"due_on": f"{year}年度数据的截止日期不能早于{year}年。"})
    period = ReportingPeriod.objects.select_for_update().filter(dataset=DATASET, year=year).first()
    before = (period.due_on.isoformat(), period.note) if period else (None, None)
    if period is None:
        period = ReportingPeriod.objects.create(dataset=DATASET, year=year, due_on=due_on, note=note[:200])
        record(
            actor, Action.CREATE, period, changes={"due_on": [None, due_on.isoformat()], "note": [None, note]}
        )
        return period
    if (period.due_on, period.note) == (due_on, note[:200]):
        return period
    period.due_on, period.note = due_on, note[:200]
    period.save(update_fields=["due_on", "note"])
    record(
        actor,
        Action.UPDATE,
        period,
        changes={"due_on": [before[0], due_on.isoformat()], "note": [before[1], period.note]},
    )
    return period


def townships_under(prefix: str):
    from eldercare.regions.models import Region

    return Region.objects.filter(level=codes.TOWNSHIP, code__startswith=prefix, active=True).order_by("code")


def pending_uploads(prefix: str, year: int | None = None) -> dict[tuple[str, int], int]:
    """{(township, year): batch id} of township uploads waiting for a county user's acceptance:
    the township has reported (its confirm is the submission)."""
    from eldercare.sheets.models import ImportBatch

    out = {}
    batches = ImportBatch.objects.filter(
        kind=DATASET, status=ImportBatch.Status.PENDING, region__code__startswith=prefix
    ).only("id", "result")
    for batch in batches:
        for op in batch.get_ops():
            if op.get("region") and (year is None or op.get("year") == year):
                out.setdefault((op["region"], op["year"]), batch.pk)
    return out


@dataclass
class Outstanding:
    region: object  # Region
    report: TownshipReport | None
    reason: str  # 未填报 · 待提交 · 已退回修订


def not_yet_reported(prefix: str, year: int) -> list[Outstanding]:
    """The townships under `prefix` without a submitted or accepted report for `year` (nor an
    upload of it awaiting acceptance), with why."""
    reports = {
        r.region_id: r for r in TownshipReport.objects.filter(year=year, region__code__startswith=prefix)
    }
    pending = pending_uploads(prefix, year)
    out = []
    for region in townships_under(prefix):
        r = reports.get(region.code)
        if r is not None and r.status in COUNTED:
            continue
        if (region.code, year) in pending:
            continue
        if r is None or (r.status == ReportStatus.DRAFT and not r.values):
            reason = "未填报"
        elif r.status == ReportStatus.REOPENED:
            reason = "已退回修订，待重新提交"
        else:
            reason = "已填写，尚未提交"
        out.append(Outstanding(region, r, reason))
    return out


def _reminder_kind(days_left: int) -> str | None:
    """Which reminder is due `days_left` days before the due date (negative: overdue), if any.
    Windows rather than exact days, so a day the beat missed is caught up the next day (the
    kind makes it once): 7 days before (2–7 days left), 1 day before (1 or 0), then one a week
    from the day after the due date (days 1–7 overdue: week 1, 8–14: week 2 …)."""
    if BEFORE_DAYS[1] < days_left <= BEFORE_DAYS[0]:
        return f"before-{BEFORE_DAYS[0]}"
    if 0 <= days_left <= BEFORE_DAYS[1]:
        return f"before-{BEFORE_DAYS[1]}"
    if days_left < 0 and -days_left <= REMIND_YEARS_BACK:
        return f"overdue-w{(-days_left - 1) // OVERDUE_EVERY + 1}"
    return None


def _once(region_code: str, year: int, kind: str) -> bool:
    """Claim the reminder (region, year, kind); False when it was sent already."""
    try:
        with transaction.atomic():
            _obj, created = ReminderSent.objects.get_or_create(region_id=region_code, year=year, kind=kind)
    except IntegrityError:  # a concurrent pass claimed it first
        return False
    return created


def remind(*, today: datetime.date | None = None) -> dict:
    """The daily pass (beat task `assessments.remind_township_reports`): township users of
    unreported townships are told 7 days and 1 day before the due date and weekly once it is
    overdue; each county's health and civil officers get one overdue summary a week. Every
    notice goes out at most once (ReminderSent, claimed in the notice's transaction)."""
    from django.contrib.auth import get_user_model
    from django.urls import reverse

    today = today or timezone.localdate()
    counts = {"townships": 0, "notices": 0, "summaries": 0}
    years = []
    # The year being reported (last year's, due early this year) and this year's, should a
    # ReportingPeriod set its due date within the year.
    for year in (today.year - 1, today.year):
        due, _default = due_date(year)
        kind = _reminder_kind((due - today).days)
        if kind:
            # The due date is part of the key: a deadline moved is announced afresh.
            years.append((year, due, f"{kind}@{due:%Y%m%d}"))
    if not years:
        return counts
    users = (
        get_user_model()
        .objects.filter(is_active=True, groups__name=TOWNSHIP, region__level=codes.TOWNSHIP)
        .distinct()
    )
    by_township: dict[str, list] = {}
    for u in users:
        by_township.setdefault(u.region_id, []).append(u)
    counties = sorted({_county_of(c) for c in by_township} | set(_counties_with_officers()))
    list_url = reverse("assessments:township_calendar")
    for year, due, kind in years:
        days_left = (due - today).days
        for county in counties:
            outstanding = not_yet_reported(codes.prefix_of(county), year)
            for item in outstanding:
                code = item.region.code
                recipients = by_township.get(code, [])
                if not recipients:
                    continue
                with transaction.atomic():
                    if not _once(code, year, kind):
                        continue
                    if days_left >= 0:
                        when = "今天" if days_left == 0 else f"还有{days_left}天"
                        title = f"{year}年度乡镇年报将于{due:%Y-%m-%d}截止（{when}）"
                    else:
                        title = f"{year}年度乡镇年报已逾期{-days_left}天（截止日期{due:%Y-%m-%d}）"
                    body = f"{item.region.name}：{item.reason}。请在“乡镇年报”中填报并提交。"
                    counts["notices"] += _notify(recipients, title, body, report_link(code, year))
                    counts["townships"] += 1
            if days_left < 0 and outstanding:
                officers = list(
                    get_user_model()
                    .objects.filter(is_active=True, region_id=county, groups__name__in=[HEALTH, CIVIL])
                    .filter(groups__permissions__codename="accept_townshipreport")
                    .distinct()
                )
                if not officers:
                    continue
                with transaction.atomic():
                    if not _once(county, year, kind.replace("overdue-", "summary-")):
                        continue
                    names = "、".join(item.region.name for item in outstanding[:30])
                    more = f"等{len(outstanding)}个" if len(outstanding) > 30 else f"共{len(outstanding)}个"
                    title = f"{year}年度乡镇年报逾期未报：{more}乡镇（街道）"
                    body = f"截止日期{due:%Y-%m-%d}，已逾期{-days_left}天。未报送：{names}。"
                    _notify(officers, title, body, f"{list_url}?year={year}")
                    counts["summaries"] += 1
    if counts["notices"] or counts["summaries"]:
        record(
            SYSTEM,
            Action.BULK,
            object_type="assessments.remindersent",
            object_repr="township report reminders",
            detail={**counts, "day": today.isoformat()},
        )
    return counts


def _counties_with_officers() -> list[str]:
    from django.contrib.auth import get_user_model

    return list(
        get_user_model()
        .objects.filter(is_active=True, groups__name__in=[HEALTH, CIVIL], region__level=codes.COUNTY)
        .values_list("region_id", flat=True)
        .distinct()
    )
