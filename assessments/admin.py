"""The catalogue as data on the admin site (DOMAIN.md §7): the admin adds a reported field (a new
`township_reports` column) and a reported indicator over it without code, edits indicators'
names, definitions and weights, and maintains the target templates with their items. Every
write is audited (eldercare.core.admin.AuditedAdminMixin). Nothing here is deleted: targets and
reports refer to indicators and templates; retire an indicator with 'active' instead."""

from django import forms
from django.contrib import admin

from eldercare.core.admin import AuditedAdminMixin

from .models import Indicator, ReportedField, Source, TargetTemplate, TargetTemplateItem


class IndicatorForm(forms.ModelForm):
    class Meta:
        model = Indicator
        fields = [
            "code",
            "name",
            "definition",
            "numerator_label",
            "denominator_label",
            "unit",
            "direction",
            "source",
            "formula",
            "reported_numerator",
            "reported_denominator",
            "weighted_mean",
            "dimension",
            "weight",
            "active",
            "order",
            "source_doc",
        ]

    def clean(self):
        data = super().clean()
        source = data.get("source")
        if source == Source.COMPUTED:
            from .formulas import FORMULAS

            if data.get("formula") not in FORMULAS:
                raise forms.ValidationError(
                    {"formula": "计算类指标须填写已有的计算公式：" + "、".join(sorted(FORMULAS)) + "。"}
                )
        elif source == Source.REPORTED:
            known = set(ReportedField.objects.values_list("code", flat=True))
            num, den = data.get("reported_numerator"), data.get("reported_denominator")
            if num not in known:
                raise forms.ValidationError({"reported_numerator": "请填写已有的填报项代码。"})
            if den and den not in known:
                raise forms.ValidationError({"reported_denominator": "请填写已有的填报项代码。"})
            if not den and not data.get("weighted_mean") and data.get("unit") == "percent":
                raise forms.ValidationError({"reported_denominator": "比率类填报指标须填写分母填报项。"})
        return data


@admin.register(Indicator)
class IndicatorAdmin(AuditedAdminMixin, admin.ModelAdmin):
    form = IndicatorForm
    list_display = ("code", "name", "unit", "source", "dimension", "weight", "active", "order")
    list_filter = ("source", "unit", "dimension", "active")
    search_fields = ("code", "name")
    ordering = ("order", "code")

    def get_readonly_fields(self, request, obj=None):
        # The code is what targets, report rows and the API refer to.
        return ("code",) if obj is not None else ()

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ReportedField)
class ReportedFieldAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ("code", "name", "max_value", "decimals", "not_above", "order")
    search_fields = ("code", "name")

    def get_readonly_fields(self, request, obj=None):
        return ("code",) if obj is not None else ()

    def has_delete_permission(self, request, obj=None):
        return False  # townships' reports hold values under the code


class TargetTemplateItemInline(admin.TabularInline):
    model = TargetTemplateItem
    extra = 0
    fields = ("indicator", "year", "value", "clause", "note")


@admin.register(TargetTemplate)
class TargetTemplateAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ("doc_no", "title", "issuer", "place", "seed_file")
    search_fields = ("doc_no", "title", "issuer", "place")
    inlines = [TargetTemplateItemInline]

    def has_delete_permission(self, request, obj=None):
        return False  # applied targets cite it
