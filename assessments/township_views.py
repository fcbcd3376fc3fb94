"""乡镇年报 pages (issue 7, DOMAIN.md §7): the reports of a year for the townships in view (status,
「有修订」, bulk accept), one township's report (entry form, submit, accept, reopen with a reason)
and the reporting calendar (due date, the townships not yet reported). Every write is a service
call (assessments/township_reports.py), which decides; these views fetch in the user's scope
(404 outside) and show what the services say. Chinese-only, like the other business pages."""

from __future__ import annotations

from dataclasses import dataclass

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from eldercare.accounts.scope import for_user, get_for_user
from eldercare.core import regionview
from eldercare.core.views import add_service_errors, portal_permission_required
from eldercare.regions import codes
from eldercare.regions.models import Region

from . import township_reports as svc
from .models import ReportingPeriod, ReportStatus, TownshipReport

VIEW = "assessments.view_townshipreport"
MISSING, PENDING, CHANGED = "missing", "pending", "changed"
BADGES = {
    ReportStatus.DRAFT: "text-bg-secondary",
    ReportStatus.SUBMITTED: "text-bg-primary",
    ReportStatus.ACCEPTED: "text-bg-success",
    ReportStatus.REOPENED: "text-bg-warning",
    MISSING: "text-bg-light border",
    PENDING: "text-bg-info",
}
LABELS = {**dict(ReportStatus.choices), MISSING: "未填报", PENDING: "已上传，待县级接受"}
STATUS_FILTERS = [*ReportStatus.choices, (MISSING, "未填报"), (PENDING, "已上传待接受"), (CHANGED, "有修订")]


# -- helpers ------------------------------------------------------------------------------------
def default_year() -> int:
    """The year being reported now: last year's reports are due in January."""
    return timezone.localdate().year - 1


def _year(raw, *, strict: bool = False) -> int:
    this_year = timezone.localdate().year
    try:
        year = int(raw)
    except (TypeError, ValueError):
        if strict:
            raise Http404 from None
        return default_year()
    if not svc.MIN_YEAR <= year <= this_year:
        if strict:
            raise Http404
        return default_year()
    return year


def _years() -> list[int]:
    this_year = timezone.localdate().year
    stored = set(TownshipReport.objects.values_list("year", flat=True).distinct())
    return sorted({*range(this_year - 5, this_year + 1), *stored}, reverse=True)


def townships_in(user, region) -> list[Region]:
    """The townships under the region being viewed, within the user's scope (a township user:
    their own)."""
    if region is None:
        return []
    if region.level >= codes.TOWNSHIP:
        return list(
            Region.objects.for_user(user).filter(code=region.code[:9].ljust(12, "0"), level=codes.TOWNSHIP)
        )
    return list(
        Region.objects.for_user(user)
        .filter(level=codes.TOWNSHIP, code__startswith=codes.prefix_of(region.code))
        .only("code", "name", "level", "active")
        .order_by("-active", "code")
    )


def _township(request, code: str) -> Region:
    """A township in the user's scope, or 404."""
    region = get_for_user(Region.objects.all(), request.user, code=code)
    if region.level != codes.TOWNSHIP:
        raise Http404
    return region


def _refusal(request, exc) -> None:
    messages.error(request, getattr(exc, "message", None) or "；".join(getattr(exc, "messages", [str(exc)])))


@dataclass
class Row:
    region: Region
    report: TownshipReport | None
    state: str
    label: str
    badge: str
    changed: bool
    values: list[str]
    pending_batch: int | None
    acceptable: bool


def _row(user, region, report, pending_batch, fields) -> Row:
    if report is not None and not (report.status == ReportStatus.DRAFT and not report.values):
        state = report.status
    else:
        state = PENDING if pending_batch else MISSING
    if state in (ReportStatus.DRAFT, MISSING) and pending_batch:
        state = PENDING
    values = report.values if report is not None else {}
    return Row(
        region=region,
        report=report,
        state=state,
        label=LABELS[state],
        badge=BADGES[state],
        changed=bool(report is not None and report.changed_since_accepted),
        values=[svc.show(values.get(f.code)) for f in fields],
        pending_batch=pending_batch,
        acceptable=bool(
            report is not None and report.status == ReportStatus.SUBMITTED and svc.may_accept(user)
        ),
    )


# -- the list -----------------------------------------------------------------------------------
@require_GET
@portal_permission_required(VIEW)
def report_list(request):
    user = request.user
    region = regionview.view_region(request)
    year = _year(request.GET.get("year"))
    status = request.GET.get("status") or ""
    if status not in dict(STATUS_FILTERS):
        status = ""
    fields = svc.reported_fields()
    towns = townships_in(user, region)
    prefix = codes.prefix_of(region.code) if region is not None else "\x00"
    reports = {
        r.region_id: r
        for r in for_user(TownshipReport.objects.select_related("submitted_by", "accepted_by"), user).filter(
            year=year, region__code__startswith=prefix
        )
    }
    pending = svc.pending_uploads(prefix, year)
    rows = [_row(user, t, reports.get(t.code), pending.get((t.code, year)), fields) for t in towns]
    # A report of a township retired since (not in the list of active ones) still shows.
    listed = {t.code for t in towns}
    extra = [r for code, r in reports.items() if code not in listed]
    if extra:
        names = Region.objects.in_bulk({r.region_id for r in extra})
        rows += [_row(user, names[r.region_id], r, None, fields) for r in extra]
    counts = {
        "total": len(rows),
        "accepted": sum(r.state == ReportStatus.ACCEPTED for r in rows),
        "submitted": sum(r.state in (ReportStatus.SUBMITTED, PENDING) for r in rows),
    }
    if status == CHANGED:
        rows = [r for r in rows if r.changed]
    elif status:
        rows = [r for r in rows if r.state == status]
    due, default_due = svc.due_date(year)
    return render(
        request,
        "assessments/township_list.html",
        {
            "region": region,
            "year": year,
            "years": _years(),
            "status": status,
            "statuses": STATUS_FILTERS,
            "fields": fields,
            "rows": rows,
            "counts": counts,
            "due": due,
            "default_due": default_due,
            "can_accept": svc.may_accept(user),
            "any_acceptable": any(r.acceptable for r in rows),
            "can_import": user.has_perm("sheets.import_sheet") and svc.may_edit(user),
            "can_edit": svc.may_edit(user),
            "today": timezone.localdate(),
        },
    )


@require_POST
@portal_permission_required(VIEW)
def bulk_accept(request):
    user = request.user
    year = _year(request.POST.get("year"))
    back = reverse("assessments:township_reports") + f"?year={year}"
    ids = [int(pk) for pk in request.POST.getlist("report") if pk.isdigit()]
    # Only reports the user can see; anything else is silently not theirs to accept.
    ids = list(for_user(TownshipReport.objects.all(), user).filter(pk__in=ids).values_list("pk", flat=True))
    if not ids:
        messages.warning(request, "请先勾选要审核的乡镇年报。")
        return redirect(back)
    try:
        outcome = svc.report_accept(actor=user, reports=ids)
    except (svc.ReportRefused, PermissionDenied) as exc:
        _refusal(request, exc)
        return redirect(back)
    if outcome.accepted:
        names = "、".join(r.region.name for r in outcome.accepted)
        messages.success(
            request, f"已审核 {len(outcome.accepted)} 份乡镇年报（{names}），数据已锁定并计入指标考核。"
        )
    for _r, message in outcome.skipped:
        messages.warning(request, message)
    return redirect(back)


# -- one report ---------------------------------------------------------------------------------
class ReportForm(forms.Form):
    """One input per ReportedField (text, so 1,200 and full-width digits are read like a sheet's
    cells by the service)."""

    def __init__(self, *args, fields, hints, **kwargs):
        super().__init__(*args, **kwargs)
        self.reported = fields
        for f in fields:
            self.fields[f.code] = forms.CharField(
                label=f.name, required=False, max_length=30, help_text=hints.get(f.code, "")
            )

    def values(self) -> dict:
        return {f.code: self.cleaned_data.get(f.code, "") for f in self.reported}


def _hints(fields) -> dict[str, str]:
    from .sheet_kind import FIELD_PREFIX, TownshipReportsKind

    return {k.removeprefix(FIELD_PREFIX): text for k, text in TownshipReportsKind().hints.items()}


def _detail_context(request, region, year, report, form):
    user = request.user
    fields = svc.reported_fields()
    actions = svc.actions_for(user, report)
    if report is None and svc.may_edit(user):
        actions.add("edit")
    accepted = report.accepted_values if report is not None else None
    previous = report.previous_accepted_values if report is not None else None
    current = report.values if report is not None else {}
    lines = []
    for f in fields:
        now, acc, prev = current.get(f.code), (accepted or {}).get(f.code), (previous or {}).get(f.code)
        lines.append(
            {
                "field": f,
                "value": svc.show(now),
                "accepted": svc.show(acc),
                "previous": svc.show(prev),
                "differs": accepted is not None and now != acc,
                "revised": previous is not None and acc != prev,
            }
        )
    status = report.status if report is not None else MISSING
    due, default_due = svc.due_date(year)
    pending = svc.pending_uploads(region.code[:9], year).get((region.code, year))
    return {
        "region": region,
        "year": year,
        "report": report,
        "status": status,
        "status_label": LABELS.get(status, status),
        "badge": BADGES.get(status, "text-bg-secondary"),
        "lines": lines,
        "form": form if "edit" in actions else None,
        "actions": actions,
        "missing": [f.name for f in svc.missing_fields(fields, current)] if report is not None else [],
        "due": due,
        "default_due": default_due,
        "pending_batch": pending,
        "is_county": svc.may_accept(user),
    }


@portal_permission_required(VIEW)
def report_detail(request, code, year):
    user = request.user
    region = _township(request, code)
    year = _year(year, strict=True)
    report = (
        for_user(TownshipReport.objects.select_related("submitted_by", "accepted_by"), user)
        .filter(region_id=region.code, year=year)
        .first()
    )
    fields = svc.reported_fields()
    hints = _hints(fields)
    initial = {k: svc.show(val).replace(",", "") for k, val in (report.values if report else {}).items()}
    form = ReportForm(request.POST or None, fields=fields, hints=hints, initial=initial)
    if request.method == "POST":
        if not svc.may_edit(user):
            raise PermissionDenied
        step = request.POST.get("then") or ""
        if form.is_valid():
            try:
                with transaction.atomic():
                    saved = svc.report_save(
                        actor=user, region=region, year=year, values=form.values(), partial=False
                    )
                    if step in ("submit", "accept"):
                        saved = svc.report_submit(actor=user, report=saved)
                    if step == "accept":
                        svc.report_accept(actor=user, reports=[saved], strict=True)
            except ValidationError as exc:
                add_service_errors(form, exc)
            except (svc.ReportRefused, PermissionDenied) as exc:
                _refusal(request, exc)
                return redirect("assessments:township_report", region.code, year)
            else:
                done = {
                    "submit": "已保存并提交，等待县级审核。",
                    "accept": "已保存并审核，数据已锁定并计入指标考核。",
                }
                messages.success(request, done.get(step, "已保存。提交后由县级卫健、民政部门审核。"))
                return redirect("assessments:township_report", region.code, year)
        messages.error(request, "未能保存，请检查标红的填报项。")
    context = _detail_context(request, region, year, report, form)
    return render(request, "assessments/township_report.html", context, status=400 if form.errors else 200)


def _report_or_404(request, code, year) -> TownshipReport:
    region = _township(request, code)
    year = _year(year, strict=True)
    return get_for_user(
        TownshipReport.objects.select_related("region"), request.user, region_id=region.code, year=year
    )


@require_POST
@portal_permission_required(VIEW)
def report_submit(request, code, year):
    report = _report_or_404(request, code, year)
    try:
        svc.report_submit(actor=request.user, report=report)
    except ValidationError as exc:
        messages.error(request, "不能提交：" + "；".join(exc.messages))
    except (svc.ReportRefused, PermissionDenied) as exc:
        _refusal(request, exc)
    else:
        messages.success(request, "已提交，等待县级卫健、民政部门审核。")
    return redirect("assessments:township_report", report.region_id, report.year)


@require_POST
@portal_permission_required(VIEW, "assessments.accept_townshipreport")
def report_accept(request, code, year):
    report = _report_or_404(request, code, year)
    try:
        svc.report_accept(actor=request.user, reports=[report], strict=True)
    except (svc.ReportRefused, PermissionDenied) as exc:
        _refusal(request, exc)
    else:
        messages.success(request, "已审核，数据已锁定并计入指标考核。")
    return redirect("assessments:township_report", report.region_id, report.year)


@require_POST
@portal_permission_required(VIEW, "assessments.accept_townshipreport")
def report_reopen(request, code, year):
    report = _report_or_404(request, code, year)
    try:
        svc.report_reopen(actor=request.user, report=report, reason=request.POST.get("reason") or "")
    except (svc.ReportRefused, PermissionDenied) as exc:
        _refusal(request, exc)
    else:
        messages.success(request, "已退回修订。重新审核前，指标考核仍按上次审核的数据计算。")
    return redirect("assessments:township_report", report.region_id, report.year)


# -- the reporting calendar ---------------------------------------------------------------------
class PeriodForm(forms.Form):
    due_on = forms.DateField(label="截止日期", widget=forms.DateInput(attrs={"type": "date"}))
    note = forms.CharField(label="说明", required=False, max_length=200)


@portal_permission_required(VIEW)
def calendar(request):
    user = request.user
    region = regionview.view_region(request)
    year = _year(request.GET.get("year") or request.POST.get("year"))
    can_set = user.has_perm("assessments.add_reportingperiod") and user.has_perm(
        "assessments.change_reportingperiod"
    )
    due, default_due = svc.due_date(year)
    form = PeriodForm(request.POST or None, initial={"due_on": due})
    if request.method == "POST":
        if not can_set:
            raise PermissionDenied
        if form.is_valid():
            try:
                svc.period_set(
                    actor=user, year=year, due_on=form.cleaned_data["due_on"], note=form.cleaned_data["note"]
                )
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(
                    request, f"已将{year}年度乡镇年报的截止日期设为 {form.cleaned_data['due_on']:%Y-%m-%d}。"
                )
                return redirect(reverse("assessments:township_calendar") + f"?year={year}")
    towns = townships_in(user, region)
    prefix = codes.prefix_of(region.code) if region is not None else "\x00"
    outstanding = [o for o in svc.not_yet_reported(prefix, year) if o.region.code in {t.code for t in towns}]
    today = timezone.localdate()
    days_left = (due - today).days
    return render(
        request,
        "assessments/township_calendar.html",
        {
            "region": region,
            "year": year,
            "years": _years(),
            "due": due,
            "default_due": default_due,
            "days_left": days_left,
            "overdue_days": -days_left if days_left < 0 else 0,
            "outstanding": outstanding,
            "total": len(towns),
            "reported": len(towns) - len(outstanding),
            "form": form if can_set else None,
            "period_note": ReportingPeriod.objects.filter(dataset=svc.DATASET, year=year)
            .values_list("note", flat=True)
            .first(),
        },
        status=400 if form.errors else 200,
    )
