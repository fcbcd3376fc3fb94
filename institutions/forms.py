from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from eldercare.regions.models import Region

from . import enums
from .models import Institution

TRI_STATE = [("", "未填报"), ("true", "是"), ("false", "否")]
EDITABLE = [
    "name",
    "type",
    "region",
    "ownership",
    "grade",
    "address",
    "opened_on",
    "beds_medical",
    "beds_eldercare",
    "beds_nursing",
    "doctors",
    "nurses",
    "caregivers",
    "internal_unit",
]


class InstitutionForm(forms.Form):
    credit_code = forms.CharField(label=_("Unified social credit code"), max_length=30, required=False)
    name = forms.CharField(label=_("Name"), max_length=200)
    type = forms.ChoiceField(label=_("Type"))
    region = forms.ModelChoiceField(label=_("Region"), queryset=Region.objects.none(), to_field_name="code")
    ownership = forms.ChoiceField(label=_("Ownership"), required=False)
    grade = forms.ChoiceField(label=_("Grade"), required=False, choices=[("", "—"), *enums.Grade.choices])
    address = forms.CharField(label=_("Address"), max_length=300, required=False)
    opened_on = forms.DateField(
        label=_("Opened on"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    beds_medical = forms.IntegerField(label=_("Approved medical beds"), min_value=0, required=False)
    beds_eldercare = forms.IntegerField(label=_("Approved elder-care beds"), min_value=0, required=False)
    beds_nursing = forms.IntegerField(label=_("Nursing-type beds"), min_value=0, required=False)
    doctors = forms.IntegerField(label=_("Licensed doctors"), min_value=0, required=False)
    nurses = forms.IntegerField(label=_("Nurses"), min_value=0, required=False)
    caregivers = forms.IntegerField(label=_("Elder caregivers"), min_value=0, required=False)
    internal_unit = forms.ChoiceField(
        label=_("Internal medical unit"), required=False, choices=[("", "—"), *enums.InternalUnit.choices]
    )
    effective = forms.DateField(
        label=_("Effective date"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_(
            "The day the change took effect in reality (default: today). A late entry keeps its real date."
        ),
    )

    def __init__(self, *args, actor, family, instance: Institution | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.family, self.instance = family, instance
        types = enums.MedicalType.choices if family == enums.Family.MEDICAL else enums.EldercareType.choices
        self.fields["type"].choices = types
        self.fields["ownership"].choices = [("", "—"), *enums.OWNERSHIP_LABELS[family].items()]
        self.fields["region"].queryset = Region.objects.for_user(actor).filter(level__gte=3, active=True)
        for name, label in enums.FLAGS:
            self.fields[name] = forms.ChoiceField(label=label, required=False, choices=TRI_STATE)
        if family == enums.Family.MEDICAL:
            for name in ("beds_eldercare", "beds_nursing", "caregivers", "internal_unit"):
                del self.fields[name]
        else:
            for name in ("beds_medical", "grade"):
                del self.fields[name]
        if instance is not None:
            del self.fields["credit_code"]
            for name in self.fields:
                if hasattr(instance, name) and name != "region":
                    value = getattr(instance, name)
                    self.initial[name] = (
                        ""
                        if value is None
                        else (
                            {True: "true", False: "false"}.get(value, value)
                            if isinstance(value, bool)
                            else value
                        )
                    )
            self.initial["region"] = instance.region_id
        else:
            del self.fields["effective"]

    def facts(self) -> dict:
        data = self.cleaned_data
        out = {}
        for name in self.fields:
            if name in ("credit_code", "effective"):
                continue
            value = data.get(name)
            if name in dict(enums.FLAGS):
                value = {"true": True, "false": False}.get(value)
            elif name == "region":
                value = value.code
            elif value == "" and name in ("ownership", "grade", "internal_unit", "address"):
                value = ""
            out[name] = value
        return out


class StatusForm(forms.Form):
    status = forms.ChoiceField(label=_("Status"), choices=enums.Status.choices)
    effective = forms.DateField(
        label=_("Effective date"), initial=timezone.localdate, widget=forms.DateInput(attrs={"type": "date"})
    )
