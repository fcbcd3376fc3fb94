"""Forms of the subsidy pages (issue 6): the application form, finance's payment and reversal
forms and the single-month occupancy entry. They only shape input; subsidies.services and subsidies.payments decide (the API calls
the same functions, so the pages give the same decision for the same facts)."""

from __future__ import annotations

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from eldercare.accounts.scope import for_user
from institutions.enums import Family

from .models import FundingSource, RuleKind

# The interpretation the portal takes (subsidies/rules.py, DOMAIN.md §6), stated to the user
# next to each rule.
EXPLANATIONS = {
    RuleKind.CONVERSION: [
        "适用于医疗机构举办的养老机构（医中办养），利用现有闲置设施改建。",
        "每张养老床位一次性补助 2000 元，在申请年度拨付。",
        "申请床位数不填时按核定养老床位计；已批准建设补助的床位与本次申请合计不得超过核定床位。",
    ],
    RuleKind.NEW_OWNED: [
        "适用于医疗机构举办的养老机构，新建且核定床位 50 张以上（含 50 张），用房属自建。",
        "承诺运营期限不低于 5 年（含 5 年）。",
        "床位使用率 50% 以上（含 50%）：取申请日前已结束、且不早于申请日前 3 个月的最近一期入住月报，"
        "（自理 + 失能入住床位）÷ 核定养老床位；没有这样的月报则为“数据不完整”。",
        "使用率和运营年限两项条件只适用于自建用房（政策原文附于自建一句）。",
        "每张养老床位一次性补助 10000 元。",
    ],
    RuleKind.NEW_RENTED: [
        "适用于医疗机构举办的养老机构，新建且核定床位 50 张以上（含 50 张），用房属租用。",
        "租用年限在 5 年以上（含 5 年）：租期起止日均计入，如 2026-01-01 至 2030-12-31 为 5 年；"
        "即租期结束日的次日不早于开始日加 5 年。",
        "每张养老床位补助 5000 元，分 5 年等额拨付，第一期在申请年度，尾差计入最后一期。",
    ],
    RuleKind.OPERATION: [
        "适用于所有养老机构，按补助年度逐年申请（通常在次年 12 个月月报齐全后）。",
        "每月按月末实际入住床位计：自理每床每年 2000 元，失能每床每年 2400 元；"
        "金额 =（2000 × 自理床·月合计 + 2400 × 失能床·月合计）÷ 12，四舍五入到分。",
        "开业前、停业后的月份计 0；运营中缺报的月份使申请“数据不完整”（不会按 0 计）；"
        "政策在某月末未生效的，该月不计。",
        "同一机构同一年度只能批准一次运营补助。",
    ],
}
COLLECTED = {
    RuleKind.CONVERSION: "核定养老床位、是否由医疗机构举办、已批准的建设补助床位（按申请日的机构名录）",
    RuleKind.NEW_OWNED: "核定养老床位、是否由医疗机构举办、已批准的建设补助床位、申请日前 3 个月内的入住月报",
    RuleKind.NEW_RENTED: "核定养老床位、是否由医疗机构举办、已批准的建设补助床位（按申请日的机构名录）",
    RuleKind.OPERATION: "补助年度各月末的运营状态（开业、停业）和入住月报（自理、失能），以及该年度是否已批准过运营补助",
}
# Which per-rule field belongs to which rule (the page shows only the chosen rule's fields).
FIELD_RULES = {
    "beds": [RuleKind.CONVERSION, RuleKind.NEW_OWNED, RuleKind.NEW_RENTED],
    "committed_years": [RuleKind.NEW_OWNED],
    "lease_start": [RuleKind.NEW_RENTED],
    "lease_end": [RuleKind.NEW_RENTED],
    "year": [RuleKind.OPERATION],
}
_SM = {"class": "form-control form-control-sm"}


def _date(**attrs):
    return forms.DateInput(attrs={**_SM, "type": "date", **attrs}, format="%Y-%m-%d")


class InstitutionChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        beds = f"核定 {obj.beds_eldercare} 张" if obj.beds_eldercare is not None else "未登记核定床位"
        run = "，医疗机构举办" if obj.run_by_id else ""
        return f"{obj.name}（{obj.region.name}；{beds}{run}）"


class ApplicationForm(forms.Form):
    institution = InstitutionChoice(
        label="养老机构",
        queryset=None,
        empty_label="请选择养老机构",
        widget=forms.Select(attrs={"class": "form-select form-select-sm"}),
    )
    rule = forms.ChoiceField(label="补贴类别", choices=RuleKind.choices, widget=forms.RadioSelect)
    beds = forms.IntegerField(
        label="申请补助床位数",
        required=False,
        min_value=1,
        help_text="留空则按核定养老床位计。",
        widget=forms.NumberInput(attrs=_SM),
    )
    committed_years = forms.IntegerField(
        label="承诺运营年限（年）",
        required=False,
        min_value=0,
        max_value=100,
        widget=forms.NumberInput(attrs=_SM),
    )
    lease_start = forms.DateField(label="租期开始日期", required=False, widget=_date())
    lease_end = forms.DateField(label="租期结束日期", required=False, widget=_date())
    year = forms.IntegerField(
        label="补助年度",
        required=False,
        min_value=2000,
        max_value=2100,
        widget=forms.NumberInput(attrs=_SM),
    )
    application_date = forms.DateField(
        label="补录纸质申请的申请日期（留空为今天）",
        required=False,
        help_text="仅用于录入纸质申请：按纸质申请的提交日期核定，保存后直接进入“已提交”，并记入审计日志。",
        widget=_date(),
    )

    def __init__(self, *args, actor, region=None, **kwargs):
        super().__init__(*args, **kwargs)
        from institutions.models import Institution

        self.fields["institution"].queryset = (
            for_user(Institution.objects.filter(family=Family.ELDERCARE), actor, region=region)
            .select_related("region")
            .order_by("region_id", "name")
        )
        if not actor.has_perm("subsidies.backdate_application"):
            del self.fields["application_date"]
        self.fields["year"].initial = timezone.localdate().year - 1

    def request(self) -> dict:
        """The keyword arguments of services.application_create (besides actor)."""
        d = self.cleaned_data
        return {
            "institution": d["institution"],
            "rule": d["rule"],
            "application_date": d.get("application_date") or None,
            "beds": d.get("beds"),
            "committed_years": d.get("committed_years"),
            "lease_start": d.get("lease_start"),
            "lease_end": d.get("lease_end"),
            "year": d.get("year"),
        }

    def rule_fields(self):
        """(bound field, the rules it belongs to) for the per-rule fields."""
        return [(self[name], " ".join(kinds)) for name, kinds in FIELD_RULES.items()]

    def rule_options(self):
        """The radio options with their interpretation lines and what the portal collects."""
        chosen = self["rule"].value()
        return [
            {
                "value": value,
                "label": label,
                "checked": chosen == value,
                "explanation": EXPLANATIONS[value],
                "collected": COLLECTED[value],
            }
            for value, label in RuleKind.choices
        ]


class PaymentForm(forms.Form):
    paid_on = forms.DateField(label="拨付日期", widget=_date())
    amount = forms.DecimalField(
        label="金额（元）",
        max_digits=14,
        decimal_places=2,
        widget=forms.NumberInput(attrs={**_SM, "step": "0.01"}),
    )
    voucher_no = forms.CharField(label="凭证号", max_length=60, widget=forms.TextInput(attrs=_SM))
    payee_account = forms.CharField(label="收款账号", max_length=60, widget=forms.TextInput(attrs=_SM))
    funding_source = forms.ChoiceField(
        label="资金来源",
        choices=FundingSource.choices,
        widget=forms.Select(attrs={"class": "form-select form-select-sm"}),
    )


class ReversalForm(forms.Form):
    on = forms.DateField(label="冲销日期", widget=_date())
    voucher_no = forms.CharField(label="冲销凭证号", max_length=60, widget=forms.TextInput(attrs=_SM))
    reason = forms.CharField(label="冲销理由", max_length=300, widget=forms.TextInput(attrs=_SM))


class CorrectionForm(forms.Form):
    reason = forms.CharField(
        label="更正理由",
        max_length=300,
        widget=forms.Textarea(attrs={**_SM, "rows": 2}),
    )


class OccupancyEntryForm(forms.Form):
    """One month of one elder-care institution: the beds occupied at month end. Only parsed
    here: the rules (whole numbers ≥ 0, within the month's 核定 beds, no month still to come)
    and their messages are subsidies.occupancy's, the import's too."""

    self_care = forms.IntegerField(
        label=_("self-care beds occupied"),
        widget=forms.NumberInput(attrs={**_SM, "min": "0", "inputmode": "numeric"}),
    )
    disabled = forms.IntegerField(
        label=_("disabled beds occupied"),
        widget=forms.NumberInput(attrs={**_SM, "min": "0", "inputmode": "numeric"}),
    )
