"""Policy as data on the admin site (DOMAIN.md §6): the admin adds another county's policy
document with its rules — amounts and thresholds as parameters — without code. Every write is
audited; a rule's parameter change bumps its version (decisions record the version they were
judged by)."""

import json

from django import forms
from django.contrib import admin

from eldercare.core.admin import AuditedAdminMixin

from .models import PolicyDocument, PolicyRule, RuleKind

REQUIRED = {
    RuleKind.CONVERSION: {"amount_per_bed"},
    RuleKind.NEW_OWNED: {"amount_per_bed", "min_beds", "min_commit_years", "min_occupancy"},
    RuleKind.NEW_RENTED: {"amount_per_bed", "min_beds", "min_lease_years", "installments"},
    RuleKind.OPERATION: {"self_care_per_bed_year", "disabled_per_bed_year"},
}


class PolicyRuleForm(forms.ModelForm):
    class Meta:
        model = PolicyRule
        fields = ["kind", "clause", "clause_text", "params"]

    def clean(self):
        data = super().clean()
        params, kind = data.get("params") or {}, data.get("kind")
        if not isinstance(params, dict):
            raise forms.ValidationError({"params": "条件与标准应为 JSON 对象。"})
        missing = sorted(REQUIRED.get(kind, set()) - set(params))
        if missing:
            raise forms.ValidationError(
                {
                    "params": f"缺少：{'、'.join(missing)}（示例：{json.dumps({k: '…' for k in sorted(REQUIRED[kind])}, ensure_ascii=False)}）"
                }
            )
        from decimal import Decimal, InvalidOperation

        for key, value in params.items():
            if key.endswith(("per_bed", "per_bed_year")) or key == "min_occupancy":
                try:
                    if Decimal(str(value)) < 0:
                        raise InvalidOperation
                except InvalidOperation:
                    raise forms.ValidationError({"params": f"{key} 应为不小于 0 的数。"}) from None
        return data


class PolicyRuleInline(admin.StackedInline):
    model = PolicyRule
    form = PolicyRuleForm
    extra = 0
    readonly_fields = ("version", "updated_at")


@admin.register(PolicyDocument)
class PolicyDocumentAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ("doc_no", "title", "region", "valid_from", "valid_to")
    search_fields = ("doc_no", "title")
    inlines = [PolicyRuleInline]

    def has_delete_permission(self, request, obj=None):
        return False  # decisions refer to its rules; end a policy with its validity instead
