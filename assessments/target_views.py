"""指标与目标 pages (issue 7, DOMAIN.md §7): the indicator catalogue (weights editable by the
health bureau), the target templates — one per seed document, each item citing its clause —
with "apply to a region" (preview, then apply), and a region's targets: every indicator × year,
its own targets and those it inherits (「继承自 XX」), set and removed by hand.

Reads are scoped (eldercare.accounts.scope: a region outside the user's scope is 404); every
write is an assessments.target_services call, the same functions the API calls."""

from __future__ import annotations

from decimal import Decimal

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from eldercare.accounts.scope import for_user, get_for_user
from eldercare.core import regionview
from eldercare.core.views import add_service_errors, portal_permission_required
from eldercare.regions import codes
from eldercare.regions.models import Region

from . import target_services as services
from .models import Indicator, ReportedField, Source, Target, TargetTemplate, Unit
from .target_forms import ApplyTemplateForm, TargetForm
from .targets import ancestors_of, load_targets, not_inherited, resolve

MAX_YEARS = 15
APPLY_REGION_CHOICES = 500


def value_text(unit: str, value) -> str:
    """A target as people read it: 80.00%, 20 个, 4,200 张, 90.0 分."""
    if value is None:
        return "—"
    v = Decimal(value)
    if unit == Unit.PERCENT:
        return f"{v:.2f}%"
    if unit == Unit.COUNT:
        return f"{int(v):,} 个"
    if unit == Unit.BEDS:
        return f"{int(v):,} 张"
    return f"{v:.2f} 分"


def _region_for(request, raw: str | None) -> Region:
    """The region named in the request (404 outside the user's scope), else the one in view."""
    raw = (raw or "").strip()
    if not raw:
        region = regionview.view_region(request)
        if region is None:
            raise Http404
        return region
    if not (raw.isdigit() and len(raw) == 12):
        raise Http404
    return get_for_user(Region.objects.all(), request.user, code=raw)


def _can_set(user) -> bool:
    return user.has_perms(("assessments.add_target", "assessments.change_target"))


# -- the catalogue -----------------------------------------------------------------------------------
def _catalogue_context(request, errors=None, posted=None) -> dict:
    fields = {f.code: f.name for f in ReportedField.objects.all()}
    rows = []
    for ind in Indicator.objects.order_by("order", "code"):
        if ind.source == Source.REPORTED:
            how = " / ".join(
                fields.get(c, c) for c in (ind.reported_numerator, ind.reported_denominator) if c
            )
        else:
            how = ind.formula
        rows.append(
            {
                "indicator": ind,
                "how": how,
                "weight": (posted or {}).get(ind.code, ind.weight),
                "error": (errors or {}).get(ind.code),
            }
        )
    return {
        "rows": rows,
        "can_edit": request.user.has_perm("assessments.change_indicator"),
        "tab": "indicators",
    }


@require_GET
@portal_permission_required("assessments.view_indicator")
def indicator_list(request):
    return render(request, "assessments/targets/indicators.html", _catalogue_context(request))


@require_POST
@portal_permission_required("assessments.view_indicator", "assessments.change_indicator")
def indicator_weights(request):
    """Save the weights the form changed, one audited service call each."""
    errors, posted, saved = {}, {}, 0
    for ind in Indicator.objects.order_by("order", "code"):
        key = f"weight_{ind.code}"
        if key not in request.POST:
            continue
        raw = request.POST[key].strip()
        posted[ind.code] = raw
        try:
            if raw and Decimal(raw) == ind.weight:
                continue
        except ArithmeticError:
            pass
        try:
            services.indicator_weight_set(actor=request.user, indicator=ind, weight=raw)
            saved += 1
        except ValidationError as exc:
            errors[ind.code] = "；".join(exc.messages)
        except PermissionDenied as exc:
            raise PermissionDenied(str(exc)) from exc
    if errors:
        messages.error(request, _("Some weights were not saved; see the marked rows."))
        return render(
            request,
            "assessments/targets/indicators.html",
            _catalogue_context(request, errors, posted),
            status=400,
        )
    if saved:
        messages.success(request, _("Weights saved: %(n)d changed.") % {"n": saved})
    else:
        messages.info(request, _("No weight changed."))
    return redirect("assessments:indicators")


# -- templates --------------------------------------------------------------------------------------
def _apply_regions(user):
    return list(
        for_user(Region.objects.filter(active=True, level__lte=codes.TOWNSHIP), user)
        .order_by("code")
        .only("code", "name", "level")[: APPLY_REGION_CHOICES + 1]
    )


@require_GET
@portal_permission_required("assessments.view_target")
def template_list(request):
    templates = []
    for t in TargetTemplate.objects.prefetch_related("items__indicator"):
        items = sorted(t.items.all(), key=lambda i: (i.indicator.order, i.indicator_id, i.year))
        templates.append(
            {
                "template": t,
                "items": [{"item": i, "value": value_text(i.indicator.unit, i.value)} for i in items],
            }
        )
    region = regionview.view_region(request)
    regions = _apply_regions(request.user) if _can_set(request.user) else []
    return render(
        request,
        "assessments/targets/templates.html",
        {
            "templates": templates,
            "can_apply": _can_set(request.user),
            "regions": regions[:APPLY_REGION_CHOICES],
            "more_regions": len(regions) > APPLY_REGION_CHOICES,
            "region": region,
            "tab": "templates",
        },
    )


ACTION_LABELS = {
    "create": gettext_lazy("New"),
    "update": gettext_lazy("Replaced"),
    "unchanged": gettext_lazy("Unchanged"),
}


@require_http_methods(["GET", "POST"])
@portal_permission_required("assessments.view_target", "assessments.add_target", "assessments.change_target")
def template_apply(request, pk):
    template = get_object_or_404(TargetTemplate, pk=pk)
    form = ApplyTemplateForm(request.POST if request.method == "POST" else request.GET)
    if not form.is_valid():
        messages.error(request, _("Choose a region to apply the template to."))
        return redirect("assessments:templates")
    region = _region_for(request, form.cleaned_data["region"])
    if request.method == "POST":
        try:
            result = services.template_apply(actor=request.user, template=template, region=region)
        except ValidationError as exc:
            messages.error(request, "；".join(exc.messages))
            return redirect("assessments:templates")
        messages.success(
            request,
            _(
                "%(doc)s applied to %(region)s: %(created)d created, %(updated)d updated, %(unchanged)d unchanged."
            )
            % {
                "doc": template.doc_no,
                "region": region.name,
                "created": result.created,
                "updated": result.updated,
                "unchanged": result.unchanged,
            },
        )
        return redirect(reverse("assessments:targets") + f"?region={region.code}")
    plan = services.template_preview(actor=request.user, template=template, region=region)
    rows = []
    for row in plan:
        unit = row.item.indicator.unit
        rows.append(
            {
                "row": row,
                "label": ACTION_LABELS[row.action],
                "new": value_text(unit, row.item.value),
                "old": value_text(unit, row.target.value) if row.target is not None else "",
                "old_source": row.target.source_doc if row.target is not None else "",
            }
        )
    counts = {a: sum(1 for r in plan if r.action == a) for a in ACTION_LABELS}
    return render(
        request,
        "assessments/targets/apply.html",
        {"template": template, "region": region, "rows": rows, "counts": counts, "tab": "templates"},
    )


# -- a region's targets -------------------------------------------------------------------------------
def _years(request, tmap) -> list[int]:
    this_year = timezone.localdate().year
    set_years = sorted({e[0] for entries in tmap.values() for e in entries})

    def year_param(name):
        raw = (request.GET.get(name) or "").strip()
        return int(raw) if raw.isdigit() and 2000 <= int(raw) <= 2100 else None

    start = year_param("from") or min([this_year - 4, *set_years])
    end = year_param("to") or max([this_year + 1, *set_years])
    if end < start:
        start, end = end, start
    start = max(start, end - MAX_YEARS + 1)
    return list(range(start, end + 1))


def _targets_context(request, region: Region, form=None) -> dict:
    user = request.user
    chain = ancestors_of(region.code)
    names = dict(Region.objects.filter(code__in=(region.code, *chain)).values_list("code", "name"))
    indicators = list(Indicator.objects.filter(active=True).order_by("order", "code"))
    tmap = load_targets([i.code for i in indicators], [region.code, *chain])
    counts = not_inherited(indicators)  # a count target is the region's own total
    years = _years(request, tmap)
    matrix = []
    for ind in indicators:
        cells = []
        for y in years:
            res = resolve(tmap, ind.code, region.code, chain, y, no_inherit=counts)
            if res is None:
                cells.append({"year": y, "res": None})
                continue
            cells.append(
                {
                    "year": y,
                    "res": res,
                    "text": value_text(ind.unit, res.value),
                    "set_here": not res.inherited and res.year == y,
                    "from_name": names.get(res.region_code, res.region_code),
                }
            )
        matrix.append({"indicator": ind, "cells": cells})
    own = list(
        Target.objects.filter(region=region)
        .select_related("indicator", "set_by", "template_item")
        .order_by("indicator__order", "indicator_id", "year")
    )
    for t in own:
        t.text = value_text(t.indicator.unit, t.value)
    can_set = _can_set(user)
    children = list(
        for_user(Region.objects.filter(parent=region, active=True), user)
        .order_by("code")
        .only("code", "name")
    )
    parent = for_user(Region.objects.filter(code__in=chain[:1]), user).first()
    return {
        "region": region,
        "years": years,
        "matrix": matrix,
        "own": own,
        "form": form
        if form is not None
        else (TargetForm(initial={"year": timezone.localdate().year}) if can_set else None),
        "can_set": can_set,
        "can_delete": user.has_perm("assessments.delete_target"),
        "chain": [(c, names.get(c, c)) for c in chain],
        "children": children,
        "parent": parent,
        "this_year": timezone.localdate().year,
        "tab": "targets",
    }


@require_GET
@portal_permission_required("assessments.view_target")
def targets(request):
    region = _region_for(request, request.GET.get("region"))
    return render(request, "assessments/targets/targets.html", _targets_context(request, region))


@require_POST
@portal_permission_required("assessments.view_target", "assessments.add_target", "assessments.change_target")
def target_set(request):
    region = _region_for(request, request.POST.get("region"))
    form = TargetForm(request.POST)
    if form.is_valid():
        d = form.cleaned_data
        try:
            target, created = services.target_set(
                actor=request.user,
                indicator=d["indicator"],
                region=region,
                year=d["year"],
                value=d["value"],
                clause=d["clause"],
                source_doc=d["source_doc"],
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            msg = (
                _("Target set: %(indicator)s from %(year)d, %(value)s.")
                if created
                else _("Target changed: %(indicator)s from %(year)d, %(value)s.")
            )
            messages.success(
                request,
                msg
                % {
                    "indicator": target.indicator.name,
                    "year": target.year,
                    "value": value_text(target.indicator.unit, target.value),
                },
            )
            return redirect(reverse("assessments:targets") + f"?region={region.code}")
    return render(
        request, "assessments/targets/targets.html", _targets_context(request, region, form), status=400
    )


@require_POST
@portal_permission_required("assessments.view_target", "assessments.delete_target")
def target_delete(request, pk):
    target = get_for_user(Target.objects.select_related("indicator", "region"), request.user, pk=pk)
    region_code = target.region_id
    label = f"{target.indicator.name} {target.year}"
    services.target_delete(actor=request.user, target=target)
    messages.success(request, _("Target removed: %(target)s.") % {"target": label})
    return redirect(reverse("assessments:targets") + f"?region={region_code}")
