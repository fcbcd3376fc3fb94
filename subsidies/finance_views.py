"""Finance pages of the subsidies (issue 6): the budget and liability table per year with its
chart and xlsx, the budget form and the cases flagged for recovery. Scoped (the region the user
looks at, re-checked by the services) and audited by the services."""

from __future__ import annotations

import datetime

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from eldercare.core import regionview
from eldercare.core.views import portal_permission_required
from eldercare.regions import codes
from eldercare.regions.models import Region

from . import payments
from .models import FundingSource

BUDGET_PERMS = ("subsidies.add_budget", "subsidies.change_budget")


def _county_or_above(region: Region) -> Region:
    """Budgets are per county: a township or village being looked at means its county."""
    if region is not None and codes.level_of(region.code) > codes.COUNTY:
        return Region.objects.get(code=region.code[:6].ljust(12, "0"))
    return region


def _year_range(params, today: datetime.date) -> tuple[int, int]:
    """?from=&to= (years); by default two years back and the five-year installments ahead."""
    default = (today.year - 2, today.year + 4)
    try:
        first, last = int(params.get("from", default[0])), int(params.get("to", default[1]))
    except (TypeError, ValueError):
        return default
    if not 2000 <= first <= last <= 2100 or last - first >= payments.MAX_YEARS:
        return default
    return first, last


class BudgetForm(forms.Form):
    year = forms.IntegerField(
        label="年度",
        min_value=2000,
        max_value=2100,
        widget=forms.NumberInput(attrs={"class": "form-control form-control-sm"}),
    )
    funding_source = forms.ChoiceField(
        label="资金来源",
        choices=FundingSource.choices,
        widget=forms.Select(attrs={"class": "form-select form-select-sm"}),
    )
    amount = forms.DecimalField(
        label="预算金额（元）",
        min_value=0,
        max_digits=14,
        decimal_places=2,
        widget=forms.NumberInput(attrs={"class": "form-control form-control-sm", "step": "0.01"}),
    )


@require_GET
@portal_permission_required("subsidies.view_budget")
def liabilities(request):
    user = request.user
    region = _county_or_above(regionview.view_region(request))
    today = timezone.localdate()
    first, last = _year_range(request.GET, today)
    try:
        rows = payments.liabilities(actor=user, region=region, years=range(first, last + 1))
    except ValidationError as exc:
        messages.error(request, "；".join(exc.messages))
        rows = []
    can_budget = user.has_perms(BUDGET_PERMS) and codes.level_of(region.code) == codes.COUNTY
    return render(
        request,
        "subsidies/liabilities.html",
        {
            "region": region,
            "first": first,
            "last": last,
            "year_choices": range(today.year - 10, today.year + 11),
            "rows": rows,
            "table": [
                [(key, r[key] if key == "year" else f"{r[key]:,.2f}", r[key]) for key, _l in payments.COLUMNS]
                for r in rows
            ],
            "columns": payments.COLUMNS,
            "explanation": payments.EXPLANATION,
            "chart": payments.liabilities_chart(rows),
            "cases": list(payments.recovery_cases(actor=user, region=region)),
            "budget_form": BudgetForm(initial={"year": today.year}) if can_budget else None,
        },
    )


@require_GET
@portal_permission_required("subsidies.view_budget")
def liabilities_export(request):
    region = _county_or_above(regionview.view_region(request))
    first, last = _year_range(request.GET, timezone.localdate())
    content = payments.liabilities_xlsx(actor=request.user, region=region, years=range(first, last + 1))
    resp = HttpResponse(
        content, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    stamp = timezone.localtime().strftime("%Y%m%d%H%M")
    resp["Content-Disposition"] = f'attachment; filename="subsidy-liabilities-{first}-{last}-{stamp}.xlsx"'
    resp["Cache-Control"] = "private, no-store"
    return resp


@require_POST
@portal_permission_required("subsidies.view_budget", *BUDGET_PERMS)
def budget_save(request):
    region = _county_or_above(regionview.view_region(request))
    form = BudgetForm(request.POST)
    back = reverse("subsidies:liabilities")
    if not form.is_valid():
        messages.error(request, "预算未保存：" + "；".join(e for errs in form.errors.values() for e in errs))
        return redirect(back)
    data = form.cleaned_data
    try:
        budget = payments.budget_set(
            actor=request.user,
            region=region,
            year=data["year"],
            funding_source=data["funding_source"],
            amount=data["amount"],
        )
    except ValidationError as exc:
        messages.error(request, "预算未保存：" + "；".join(exc.messages))
    else:
        messages.success(
            request,
            f"已保存{region.name} {budget.year} 年度{budget.get_funding_source_display()}预算 {budget.amount} 元。",
        )
    return redirect(back)
