from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.utils.translation import gettext as _

from eldercare.accounts.scope import get_for_user
from eldercare.core import dataversion, regionview
from eldercare.core.views import add_service_errors, portal_permission_required

from . import enums, services
from .exports import export_institutions
from .forms import InstitutionForm, StatusForm
from .models import Institution
from .rules import SHORT
from .selectors import institutions_for, stored_warnings, threshold_table, warnings_of

_FILTER_KEYS = ("q", "family", "type", "ownership", "status", "region", "sort", "warnings")
PAGE_SIZE = 50


class _PagerRequest:
    """What includes/pagination.html reads of the request (`query_with`: request.GET): the
    filters as the list understood them (known keys, non-empty, in a fixed order), so the cached
    pager is a function of its key rather than of the raw query string's order and extras."""

    def __init__(self, params: dict):
        self.GET = QueryDict(mutable=True)
        for key in _FILTER_KEYS:
            if params[key]:
                self.GET[key] = params[key]


def _list_rows(actor, region, params: dict, page_number: str) -> str:
    """The table and the pager (templates/institutions/_institution_rows.html): no form, no
    CSRF token, nothing of the user's own — only what the key holds (the region in view, the
    filters, the page; the language and the data version are dataversion's)."""
    qs = institutions_for(actor=actor, region=region, params=params)
    page = Paginator(qs, PAGE_SIZE).get_page(page_number)
    table = threshold_table()
    for inst in page:
        inst.warning_list = stored_warnings(inst, table)
    return render_to_string(
        "institutions/_institution_rows.html", {"page": page, "request": _PagerRequest(params)}
    )


@portal_permission_required("institutions.view_institution")
def institution_list(request):
    params = {k: request.GET.get(k, "") for k in _FILTER_KEYS}
    region = regionview.view_region(request)
    if request.GET.get("export") in ("csv", "xlsx"):
        if not request.user.has_perm("institutions.export_institution"):
            raise PermissionDenied
        qs = institutions_for(actor=request.user, region=region, params=params)
        content, ctype, name = export_institutions(actor=request.user, queryset=qs, fmt=request.GET["export"])
        resp = HttpResponse(content, content_type=ctype)
        resp["Content-Disposition"] = f'attachment; filename="{name}"'
        return resp
    page_number = request.GET.get("page", "")
    # The rows depend on the scope only through the region in view (Institution has no
    # scope_visible); no permission changes them (the export/new buttons are outside).
    rows = dataversion.cached_fragment(
        "institution_list",
        (getattr(region, "code", None), *(params[k] for k in _FILTER_KEYS), page_number),
        lambda: _list_rows(request.user, region, params, page_number),
    )
    return render(
        request,
        "institutions/institution_list.html",
        {
            "rows": rows,
            "params": params,
            "families": enums.Family.choices,
            "types": enums.INSTITUTION_TYPES,
            "statuses": enums.Status.choices,
            "ownerships": enums.Ownership.choices,
            "warning_choices": [(k, v) for k, v in SHORT.items() if k != "may_open_hospital"],
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
            "can_edit": request.user.has_perm(services.FAMILY_PERMISSION[inst.family]),
            "warnings": warnings_of(inst),
            "ownership_label": enums.OWNERSHIP_LABELS.get(inst.family, {}).get(inst.ownership, ""),
        },
    )


def _editable_family(user, family=None):
    allowed = [f for f, perm in services.FAMILY_PERMISSION.items() if user.has_perm(perm)]
    if family is not None:
        if family not in allowed:
            raise PermissionDenied
        return family
    if not allowed:
        raise PermissionDenied
    return allowed[0]


@portal_permission_required("institutions.view_institution")
def institution_create(request):
    family = _editable_family(request.user, request.GET.get("family") or None)
    form = InstitutionForm(request.POST or None, actor=request.user, family=family)
    if request.method == "POST" and form.is_valid():
        try:
            inst = services.institution_create(
                actor=request.user,
                family=family,
                facts=form.facts(),
                credit_code=form.cleaned_data.get("credit_code") or "",
            )
        except (ValidationError, PermissionDenied) as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Saved."))
            return redirect("institutions:detail", pk=inst.pk)
    return render(request, "institutions/institution_form.html", {"form": form, "family": family})


@portal_permission_required("institutions.view_institution")
def institution_edit(request, pk):
    inst = get_for_user(Institution, request.user, pk=pk)
    _editable_family(request.user, inst.family)
    form = InstitutionForm(request.POST or None, actor=request.user, family=inst.family, instance=inst)
    if request.method == "POST" and form.is_valid():
        try:
            services.institution_change(
                actor=request.user,
                institution=inst,
                changes=form.facts(),
                effective=form.cleaned_data.get("effective"),
            )
        except (ValidationError, PermissionDenied) as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Saved."))
            return redirect("institutions:detail", pk=inst.pk)
    return render(
        request, "institutions/institution_form.html", {"form": form, "family": inst.family, "obj": inst}
    )


@portal_permission_required("institutions.view_institution")
def institution_status(request, pk):
    inst = get_for_user(Institution, request.user, pk=pk)
    _editable_family(request.user, inst.family)
    form = StatusForm(request.POST or None, initial={"status": inst.status})
    if request.method == "POST" and form.is_valid():
        try:
            services.institution_set_status(
                actor=request.user,
                institution=inst,
                status=form.cleaned_data["status"],
                effective=form.cleaned_data["effective"],
            )
        except (ValidationError, PermissionDenied) as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Saved."))
            return redirect("institutions:detail", pk=inst.pk)
    return render(request, "institutions/institution_status.html", {"form": form, "obj": inst})
