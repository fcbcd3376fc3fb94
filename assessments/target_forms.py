"""Forms of the indicator and target pages. They only shape input; assessments.target_services
decides (the API calls the same functions)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import Indicator


class TargetForm(forms.Form):
    """A target by hand, for the region on the page (also count targets such as 002 四(一)'s
    hospice services, which no template carries)."""

    indicator = forms.ModelChoiceField(
        label=_("Indicator"), queryset=Indicator.objects.none(), empty_label=_("— choose —")
    )
    year = forms.IntegerField(label=_("From year"), min_value=2000, max_value=2100)
    value = forms.CharField(
        label=_("Target value"),
        max_length=20,
        help_text=_("Rates in percent (e.g. 80 or 66.67); counts as whole numbers (e.g. 3)."),
    )
    source_doc = forms.CharField(
        label=_("Source document"),
        max_length=200,
        required=False,
        help_text=_("The document number (文号) the target comes from, if any."),
    )
    clause = forms.CharField(
        label=_("Clause"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Clause number and a short quote, e.g. 四(一) “2025年底，争取新增一家……”."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["indicator"].queryset = Indicator.objects.filter(active=True).order_by("order", "code")
        self.fields["indicator"].label_from_instance = lambda i: f"{i.name}（{i.get_unit_display()}）"


class ApplyTemplateForm(forms.Form):
    region = forms.CharField(label=_("Region"), max_length=12)
