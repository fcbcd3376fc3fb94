from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import render

from eldercare.accounts.scope import get_for_user
from eldercare.core import regionview
from eldercare.core.views import portal_permission_required

from . import enums
from .exports import export_institutions
from .models import Institution
from .selectors import institutions_for, warnings_of

_FILTER_KEYS = ("q", "family", "type", "ownership", "status", "region", "sort", "warnings")


@portal_permission_required("institutions.view_institution")
def institution_list(request):
    params = {k: request.GET.get(k, "") for k in _FILTER_KEYS}
    qs = institutions_for(actor=request.user, region=regionview.view_region(request), params=params)
    if request.GET.get("export") in ("csv", "xlsx"):
        if not request.user.has_perm("institutions.export_institution"):
            raise PermissionDenied
        content, ctype, name = export_institutions(actor=request.user, queryset=qs, fmt=request.GET["export"])
        resp = HttpResponse(content, content_type=ctype)
        resp["Content-Disposition"] = f'attachment; filename="{name}"'
        return resp
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    for inst in page:
        inst.warning_list = warnings_of(inst)
    return render(
        request,
        "institutions/institution_list.html",
        {
            "page": page,
            "params": params,
            "families": enums.Family.choices,
            "types": enums.INSTITUTION_TYPES,
            "statuses": enums.Status.choices,
            "ownerships": enums.Ownership.choices,
        },
    )


@portal_permission_required("institutions.view_institution")
def institution_detail(request, pk):
    inst = get_for_user(Institution.objects.select_related("region", "run_by"), request.user, pk=pk)
    versions = list(inst.versions.select_related("recorded_by").order_by("-valid_from"))
    for v in versions:
        v.changed_labels = [str(Institution._meta.get_field(name).verbose_name) for name in v.changed]
    return render(
        request,
        "institutions/institution_detail.html",
        {
            "obj": inst,
            "versions": versions,
            "warnings": warnings_of(inst),
            "ownership_label": enums.OWNERSHIP_LABELS.get(inst.family, {}).get(inst.ownership, ""),
        },
    )
