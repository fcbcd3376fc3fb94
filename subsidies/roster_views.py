"""入住床位与入住老人 pages (DOMAIN.md §6): the monthly occupancy grid of the elder-care homes in
scope, the resident roster (masked ID numbers, birth year only; a full number shown once, with a
reason, audited — subsidies.occupancy.resident_unmask) and the probable-duplicates review list
(subsidies.checks.probable_duplicates). Reads are scoped (eldercare.accounts.scope); the only
write-like act, unmasking, is the service's call."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from eldercare.accounts.scope import for_user, get_for_user
from eldercare.core import regionview
from eldercare.core.views import portal_permission_required
from institutions.enums import Family
from institutions.models import Institution

from . import occupancy
from .checks import probable_duplicates
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
    rows = [{"institution": h, "cells": [reports.get((h.pk, m)) for m in MONTHS]} for h in homes]
    this_year = timezone.localdate().year
    return render(
        request,
        "subsidies/roster/occupancy.html",
        {
            "region": region,
            "year": year,
            "years": range(this_year, this_year - 6, -1),
            "months": MONTHS,
            "rows": rows,
            "can_import": user.has_perm("sheets.import_sheet")
            and user.has_perm("subsidies.add_occupancyreport"),
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
