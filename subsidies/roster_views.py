"""入住床位与入住老人 pages (DOMAIN.md §6): the monthly occupancy grid of the elder-care homes in
scope, the resident roster (masked ID numbers, birth year only; a full number shown once, with a
reason, audited — subsidies.occupancy.resident_unmask) and the probable-duplicates review list
(subsidies.checks.probable_duplicates), and the page entering one institution's month
(subsidies.occupancy.occupancy_submit: a county user's figures recorded at once, a township
user's staged for a county user's acceptance like their upload). Reads are scoped
(eldercare.accounts.scope); writes and unmasking are the services' calls."""

from __future__ import annotations

import datetime

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from eldercare.accounts.scope import for_user, get_for_user
from eldercare.core import regionview
from eldercare.core.views import add_service_errors, portal_permission_required
from institutions.enums import Family, Status
from institutions.models import Institution

from . import occupancy
from .checks import probable_duplicates
from .forms import OccupancyEntryForm
from .models import OccupancyReport, Resident

PAGE_SIZE = 50
MONTHS = range(1, 13)


def _year(request) -> int:
    raw = (request.GET.get("year") or "").strip()
    if raw.isdigit() and 2000 <= int(raw) <= 2100:
        return int(raw)
    return timezone.localdate().year


@require_GET
@portal_permission_required("subsidies.view_occupancyreport")
def occupancy_grid(request):
    user = request.user
    region = regionview.view_region(request)
    year = _year(request)
    homes = list(
        for_user(Institution.objects.filter(family=Family.ELDERCARE), user, region=region)
        .select_related("region")
        .order_by("region__code", "name")
    )
    reports = {
        (r.institution_id, r.month.month): r
        for r in for_user(OccupancyReport.objects.all(), user, region=region).filter(
            institution__in=[h.pk for h in homes], month__year=year
        )
    }
    today = timezone.localdate()
    can_enter = user.has_perm("subsidies.add_occupancyreport")
    open_months = [m for m in MONTHS if datetime.date(year, m, 1) <= today.replace(day=1)]
    rows = [
        {
            "institution": h,
            "cells": [
                {"month": m, "report": reports.get((h.pk, m)), "can_enter": can_enter and m in open_months}
                for m in MONTHS
            ],
        }
        for h in homes
    ]
    this_year = today.year
    return render(
        request,
        "subsidies/roster/occupancy.html",
        {
            "region": region,
            "year": year,
            "years": range(this_year, this_year - 6, -1),
            "months": MONTHS,
            "rows": rows,
            "can_enter": can_enter,
            "can_import": user.has_perm("sheets.import_sheet")
            and user.has_perm("subsidies.add_occupancyreport"),
        },
    )


def month_label(year: int, month: int) -> str:
    return _("%(year)s-%(month)s") % {"year": year, "month": month}


@require_http_methods(["GET", "POST"])
@portal_permission_required("subsidies.view_occupancyreport", "subsidies.add_occupancyreport")
def occupancy_entry(request, pk, year, month):
    """录入/修改 one institution's month: 自理 and 失能 beds occupied at month end. The figures go
    through subsidies.occupancy.occupancy_submit with the user as actor (the rules, the scope and
    the audit are the service's); an institution outside the user's scope is a 404."""
    user = request.user
    home = get_for_user(
        Institution.objects.filter(family=Family.ELDERCARE).select_related("region"), user, pk=pk
    )
    if not 2000 <= year <= 2100 or not 1 <= month <= 12:
        raise Http404
    first = datetime.date(year, month, 1)
    today = timezone.localdate()
    future = first > today.replace(day=1)
    stored = OccupancyReport.objects.filter(institution=home, month=first).first()
    staged = occupancy.entry_is_staged(user)
    initial = {"self_care": stored.self_care, "disabled": stored.disabled} if stored else {}
    form = OccupancyEntryForm(request.POST or None, initial=initial)
    grid = reverse("subsidies:occupancy") + f"?year={year}"
    label = month_label(year, month)
    if request.method == "POST" and not future and form.is_valid():
        d = form.cleaned_data
        try:
            outcome, obj = occupancy.occupancy_submit(user, home, first, d["self_care"], d["disabled"])
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            figures = {
                "home": home.name,
                "month": label,
                "self_care": d["self_care"],
                "disabled": d["disabled"],
            }
            if outcome == "pending":
                messages.success(
                    request,
                    _(
                        "Submitted %(home)s %(month)s (self-care %(self_care)s, disabled %(disabled)s): "
                        "the figures take effect when a county officer accepts them (import #%(batch)s)."
                    )
                    % {**figures, "batch": obj.pk},
                )
            elif outcome == "unchanged":
                messages.info(
                    request,
                    _("%(home)s %(month)s already has these figures; nothing was changed.") % figures,
                )
            else:
                messages.success(
                    request,
                    _(
                        "Saved %(home)s %(month)s: self-care %(self_care)s, disabled %(disabled)s beds occupied."
                    )
                    % figures,
                )
            return redirect(grid)
    cap = occupancy.capacity_of(home, first)
    return render(
        request,
        "subsidies/roster/occupancy_entry.html",
        {
            "home": home,
            "year": year,
            "month": month,
            "month_label": label,
            "form": form,
            "stored": stored,
            "staged": staged,
            "future": future,
            "beds": cap.beds,
            "status_label": dict(Status.choices).get(cap.status, "") if cap.status else "",
            "not_operating": occupancy.not_operating_warning(first, cap),
            "pending": occupancy.pending_entries(user, home, first),
            "grid": grid,
        },
    )


def _residents(request, region):
    qs = for_user(Resident.objects.all(), request.user, region=region).select_related("institution")
    inst = (request.GET.get("institution") or "").strip()
    if inst.isdigit():
        qs = qs.filter(institution_id=int(inst))
    else:
        inst = ""
    q = (request.GET.get("q") or "").strip()[:50]
    if q:
        qs = qs.filter(name__icontains=q)  # by name only: never by ID number
    return qs.order_by("institution__name", "name", "admitted_on", "pk"), {"institution": inst, "q": q}


@require_GET
@portal_permission_required("subsidies.view_resident")
def resident_list(request):
    user = request.user
    region = regionview.view_region(request)
    qs, params = _residents(request, region)
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    homes = for_user(Institution.objects.filter(family=Family.ELDERCARE), user, region=region).order_by(
        "name"
    )
    return render(
        request,
        "subsidies/roster/residents.html",
        {
            "region": region,
            "page": page,
            "params": params,
            "homes": homes.only("pk", "name"),
            "can_unmask": user.has_perm("subsidies.unmask_resident"),
        },
    )


@require_POST
@portal_permission_required("subsidies.view_resident", "subsidies.unmask_resident")
def resident_unmask(request, pk):
    resident = get_for_user(Resident.objects.select_related("institution"), request.user, pk=pk)
    number, error, status = None, None, 200
    try:
        number = occupancy.resident_unmask(request.user, resident, request.POST.get("reason", ""))
    except PermissionDenied as exc:
        error, status = str(exc) or "您没有查看完整身份证号的权限。", 403
    except ValidationError as exc:
        error, status = "；".join(m for msgs in exc.message_dict.values() for m in msgs), 400
    resp = render(
        request,
        "subsidies/roster/unmask.html",
        {"resident": resident, "number": number, "error": error},
        status=status,
    )
    resp["Cache-Control"] = "no-store"
    return resp


@require_GET
@portal_permission_required("subsidies.change_application")
def duplicates(request):
    region = regionview.view_region(request)
    items = probable_duplicates(actor=request.user, region=region)
    ids = {i for item in items for i in item["institutions"]}
    names = dict(for_user(Institution.objects.filter(pk__in=ids), request.user).values_list("pk", "name"))
    for item in items:
        item["links"] = [(i, names[i]) for i in item["institutions"] if i in names]
    return render(request, "subsidies/roster/duplicates.html", {"region": region, "items": items})
