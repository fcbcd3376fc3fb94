"""医养签约 pages (DOMAIN.md §3–4, issue 5): the scoped list with its filters and export, the
contract form (create / edit), the contract with its visits, quarterly performance and
timeline, termination and the 医养签约协议备案, the coverage page per township (chart and
table, the uncovered homes with suggested medical institutions) and the quarterly
non-performing list. Every write is a service call (contracts/services.py), which decides:
these views fetch the contract in the user's scope (404 outside), call the service and show
what it says."""

from __future__ import annotations

import datetime

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from eldercare.accounts.scope import for_user, get_for_user, region_in_scope
from eldercare.core import regionview
from eldercare.core.views import add_service_errors, portal_permission_required

from . import page_selectors as ps
from . import rules, selectors, services
from .exports import export_contracts
from .forms import ContractForm, TerminateForm, VisitForm
from .models import Contract, Frequency, Mode, ServiceItem

PAGE_SIZE = 50
FILTER_KEYS = ("status", "mode", "township", "medical", "filed", "q")
FILED_CHOICES = [("1", "已备案"), ("0", "未备案")]


def _decorate(c: Contract, today: datetime.date, user) -> Contract:
    c.status = c.status_on(today)
    c.status_text = rules.STATUS_LABELS[c.status]
    c.badge = ps.STATUS_BADGES[c.status]
    # The medical party may lie outside the user's scope (a township's contract with a hospital
    # elsewhere in the county): then it is shown by name only — no code, no link (issue 5).
    c.medical_linkable = region_in_scope(user, c.medical.region_id)
    c.medical_code = ps.code_of(c.medical) if c.medical_linkable else ""
    c.eldercare_code = ps.visible_code(user, c.eldercare)
    return c


# -- the list -----------------------------------------------------------------------------------
def _params(request, townships) -> dict:
    """The list's filters, each checked against its known values."""
    p = {k: (request.GET.get(k) or "").strip() for k in FILTER_KEYS}
    if p["status"] not in rules.STATUS_LABELS:
        p["status"] = ""
    if p["mode"] not in Mode.values:
        p["mode"] = ""
    if p["township"] not in {r.code for r in townships}:
        p["township"] = ""
    if not p["medical"].isdigit():
        p["medical"] = ""
    if p["filed"] not in ("1", "0"):
        p["filed"] = ""
    p["q"] = p["q"][:100]
    return p


def _filtered(request):
    region = regionview.view_region(request)
    townships = ps.townships_in(request.user, region)
    params = _params(request, townships)
    today = timezone.localdate()
    qs = selectors.contracts_for(actor=request.user, region=region, params={**params, "today": today})
    return region, townships, params, today, qs


@require_GET
@portal_permission_required("contracts.view_contract")
def contract_list(request):
    region, townships, params, today, qs = _filtered(request)
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = list(page.object_list)
    page.object_list = rows
    overlaps = ps.overlaps_for(rows)
    towns = ps.region_names({ps.township_of(c.eldercare.region_id) for c in rows})
    for c in rows:
        _decorate(c, today, request.user)
        c.overlaps = overlaps.get(c.pk, [])
        c.township_name = towns.get(ps.township_of(c.eldercare.region_id), "")
    scoped = for_user(Contract.objects.all(), request.user, region=region)
    return render(
        request,
        "contracts/list.html",
        {
            "page": page,
            "params": params,
            "region": region,
            "statuses": list(rules.STATUS_LABELS.items()),
            "modes": Mode.choices,
            "townships": townships if len(townships) > 1 else [],
            "medicals": ps.medical_parties_of(scoped),
            "filed_choices": FILED_CHOICES,
            "today": today,
            "query": request.GET.urlencode(),
        },
    )


@require_GET
@portal_permission_required("contracts.view_contract", "contracts.export_contract")
def contract_export(request):
    _region, _townships, _params_, today, qs = _filtered(request)
    fmt = request.GET.get("format") or "xlsx"
    content, ctype, name = export_contracts(actor=request.user, queryset=qs, fmt=fmt, today=today)
    resp = HttpResponse(content, content_type=ctype)
    resp["Content-Disposition"] = f'attachment; filename="{name}"'
    resp["Cache-Control"] = "private, no-store"
    return resp


# -- create / edit --------------------------------------------------------------------------------
def _warn_overlaps(request, c: Contract) -> None:
    others = services.overlapping(c)
    if others:
        listed = "、".join(f"{o.agreement_no}（{o.start:%Y-%m-%d} 至 {o.end:%Y-%m-%d}）" for o in others)
        messages.warning(
            request,
            f"注意：{c.eldercare.name}与{c.medical.name}之间另有期限重叠的协议：{listed}。"
            "续签协议应在原协议到期后开始；如为重复录入，请终止其中一份。",
        )


def _scoped(request, pk) -> Contract:
    return get_for_user(
        Contract.objects.select_related("medical", "eldercare", "eldercare__region", "created_by"),
        request.user,
        pk=pk,
    )


@portal_permission_required("contracts.view_contract", "contracts.add_contract")
def contract_new(request):
    region = regionview.view_region(request)
    initial = {k: request.GET[k] for k in ("eldercare", "medical") if (request.GET.get(k) or "").isdigit()}
    form = ContractForm(request.POST or None, actor=request.user, region=region, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            c = services.contract_create(actor=request.user, facts=form.facts())
        except (ValidationError, PermissionDenied) as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"已登记医养签约协议 {c.agreement_no}。")
            _warn_overlaps(request, c)
            return redirect("contracts:detail", pk=c.pk)
    return render(request, "contracts/form.html", {"form": form, "contract": None})


@portal_permission_required("contracts.view_contract", "contracts.change_contract")
def contract_edit(request, pk):
    c = _scoped(request, pk)
    region = regionview.view_region(request)
    initial = {
        "eldercare": c.eldercare_id,
        "medical": c.medical_id,
        "agreement_no": c.agreement_no,
        "mode": c.mode,
        "services": c.services,
        "visit_frequency": c.visit_frequency,
        "start": c.start,
        "end": c.end,
    }
    form = ContractForm(request.POST or None, actor=request.user, region=region, contract=c, initial=initial)
    if request.method == "POST" and form.is_valid():
        changes = form.facts()
        if set(changes["services"]) == set(c.services or []):
            changes["services"] = c.services  # the same checklist in another order is no change
        was_filed, stamp = c.filed_on, c.updated_at
        try:
            saved = services.contract_update(actor=request.user, contract=c, changes=changes)
        except (ValidationError, PermissionDenied) as exc:
            add_service_errors(form, exc)
        else:
            if saved.updated_at == stamp:
                messages.info(request, "内容没有变化，未作修改。")
            else:
                messages.success(request, f"已保存协议 {saved.agreement_no} 的修改。")
                if was_filed and saved.filed_on is None:
                    messages.warning(request, "该协议原已备案；修改了协议内容后需重新办理备案。")
                _warn_overlaps(request, saved)
            return redirect("contracts:detail", pk=c.pk)
    return render(request, "contracts/form.html", {"form": form, "contract": c})


# -- one contract ---------------------------------------------------------------------------------
def _detail(request, c: Contract, *, terminate_form=None, visit_form=None, status=200):
    user = request.user
    today = timezone.localdate()
    _decorate(c, today, user)
    names = dict(ServiceItem.objects.values_list("code", "name"))
    c.service_names = [names.get(s, s) for s in c.services or []]
    visits = list(c.visits.select_related("created_by").order_by("-date"))
    filings = ps.filings_of(c)
    visible = {f.pk for f in ps.filings_of(c, user)}
    open_f = ps.open_filing(filings)
    overlaps = services.overlapping(c)
    can_change = user.has_perm("contracts.change_contract")
    return render(
        request,
        "contracts/detail.html",
        {
            "c": c,
            "today": today,
            "visits": visits,
            "quarters": ps.contract_quarters(c, [v.date for v in visits], today),
            "filings": [f for f in filings if f.pk in visible],
            "open_filing": open_f,
            "open_filing_visible": open_f is not None and open_f.pk in visible,
            # A contract that has ended is not filed any more (a renewal is a new contract).
            "can_file": user.has_perm("workflow.apply_filing")
            and open_f is None
            and c.status not in (rules.TERMINATED, rules.EXPIRED),
            "can_view_filings": user.has_perm("workflow.view_filing"),
            "overlaps": overlaps,
            "timeline": ps.timeline(c, [f for f in filings if f.pk in visible]),
            "can_change": can_change,
            "terminable": can_change and c.status != rules.TERMINATED,
            "terminate_form": terminate_form or (TerminateForm() if can_change else None),
            "visit_form": visit_form or (VisitForm() if user.has_perm("contracts.add_visit") else None),
            "frequency_label": dict(Frequency.choices).get(c.visit_frequency, ""),
            "eldercare_linkable": region_in_scope(user, c.eldercare.region_id),
        },
        status=status,
    )


@require_GET
@portal_permission_required("contracts.view_contract")
def contract_detail(request, pk):
    return _detail(request, _scoped(request, pk))


@require_POST
@portal_permission_required("contracts.view_contract", "contracts.change_contract")
def contract_terminate(request, pk):
    c = _scoped(request, pk)
    form = TerminateForm(request.POST)
    if form.is_valid():
        try:
            c = services.contract_terminate(
                actor=request.user,
                contract=c,
                on=form.cleaned_data["terminated_on"],
                reason=form.cleaned_data.get("reason") or "",
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"协议 {c.agreement_no} 已于 {c.terminated_on:%Y-%m-%d} 终止。")
            return redirect("contracts:detail", pk=c.pk)
    messages.error(request, "未能终止协议，请检查终止日期。")
    return _detail(request, c, terminate_form=form)


@require_POST
@portal_permission_required("contracts.view_contract", "contracts.add_visit")
def visit_add(request, pk):
    c = _scoped(request, pk)
    form = VisitForm(request.POST)
    if form.is_valid():
        d = form.cleaned_data
        try:
            v = services.visit_record(
                actor=request.user,
                contract=c,
                date=d["date"],
                persons=d.get("persons"),
                note=d.get("note") or "",
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"已记录 {v.date:%Y-%m-%d} 的巡诊。")
            return redirect(reverse("contracts:detail", args=[c.pk]) + "#visits")
    messages.error(request, "未能记录巡诊，请检查填写的内容。")
    return _detail(request, c, visit_form=form)


@require_POST
@portal_permission_required("contracts.view_contract", "workflow.apply_filing")
def contract_file(request, pk):
    c = _scoped(request, pk)
    current = ps.open_filing(ps.filings_of(c))
    if current is not None:  # (the service checks again; its message names a draft "None")
        messages.error(
            request, f"该协议已有办理中的备案申请（{ps.filing_label(current)}），请在该申请中办理。"
        )
        return redirect("contracts:detail", pk=c.pk)
    try:
        f = services.contract_file(actor=request.user, contract=c)
    except ValidationError as exc:
        messages.error(request, "；".join(exc.messages))
        return redirect("contracts:detail", pk=c.pk)
    messages.success(request, "已创建医养签约协议备案申请（草稿）。请上传签署的协议文本，确认无误后提交。")
    return redirect("workflow:detail", pk=f.pk)


# -- coverage -----------------------------------------------------------------------------------
def _year_ends(today: datetime.date, day: datetime.date) -> list[tuple[datetime.date, str, bool]]:
    """The year-end shortcuts, (date, label, current year?): D for year Y is 31 December of Y,
    today for the current year (DOMAIN.md §7) — never a date after today."""
    years = sorted({today.year - 2, today.year - 1, today.year, min(day.year, today.year)})
    return [
        (today, "今年（截至今日）", True)
        if y == today.year
        else (datetime.date(y, 12, 31), f"{y}年末", False)
        for y in years
    ]


@require_GET
@portal_permission_required("contracts.view_contract")
def coverage(request):
    user = request.user
    region = regionview.view_region(request)
    today = timezone.localdate()
    day = ps.parse_day(request.GET.get("date"), today)
    rows = selectors.coverage_on(day, actor=user, region=region)
    towns = ps.coverage_by_township(rows, ps.townships_in(user, region))
    uncovered = ps.uncovered_with_suggestions(user, rows)
    for t in towns:
        t.uncovered_list = [uncovered[r.institution_id] for r in t.uncovered_homes]
        t.all_rows = sorted(t.covered_rows + t.uncovered_homes, key=lambda r: (not r.covered, r.name))
    operating = sum(t.operating for t in towns)
    covered = sum(t.covered for t in towns)
    chart = {
        "townships": [t.name for t in towns],
        "covered": [t.covered for t in towns],
        "uncovered": [t.uncovered for t in towns],
        # the rates as shown in the table: 2-decimal strings ("66.67"), null for no home
        "rates": [None if t.rate is None else str(t.rate) for t in towns],
    }
    return render(
        request,
        "contracts/coverage.html",
        {
            "region": region,
            "day": day,
            "today": today,
            "towns": towns,
            "operating": operating,
            "covered": covered,
            "uncovered": operating - covered,
            "rate": ps.percent(covered, operating),
            "chart": chart,
            "year_ends": _year_ends(today, day),
            "can_add": user.has_perm("contracts.add_contract"),
        },
    )


# -- performance --------------------------------------------------------------------------------
def _year_quarter(request, today) -> tuple[int, int]:
    default = ps.last_complete_quarter(today)
    try:
        year, quarter = int(request.GET.get("year", "")), int(request.GET.get("quarter", ""))
    except ValueError:
        return default
    if not (2000 <= year <= 2100 and 1 <= quarter <= 4):
        return default
    return year, quarter


@require_GET
@portal_permission_required("contracts.view_contract")
def performance(request):
    region = regionview.view_region(request)
    today = timezone.localdate()
    year, quarter = _year_quarter(request, today)
    items = selectors.performance(actor=request.user, year=year, quarter=quarter, region=region)
    towns = ps.region_names({ps.township_of(p.contract.eldercare.region_id) for p in items})
    freqs = dict(Frequency.choices)
    for p in items:
        p.contract.township_name = towns.get(ps.township_of(p.contract.eldercare.region_id), "")
        p.contract.frequency_label = freqs.get(p.contract.visit_frequency, "")
    by_township, by_medical = ps.performance_groups(items)
    first, last = rules.quarter_bounds(year, quarter)
    prev_q = ps.previous_quarter(year, quarter)
    next_q = (year + 1, 1) if quarter == 4 else (year, quarter + 1)
    return render(
        request,
        "contracts/performance.html",
        {
            "region": region,
            "year": year,
            "quarter": quarter,
            "first": first,
            "last": last,
            "items": items,
            "non_performing": sum(p.non_performing for p in items),
            "by_township": by_township,
            "by_medical": by_medical,
            "prev_q": prev_q,
            "next_q": next_q if rules.quarter_bounds(*next_q)[0] <= today else None,
            "in_progress": last >= today,
            "years": list(range(today.year - 4, today.year + 1)),
        },
    )
