"""Baseline for bench/import_bench.py: a django-import-export `ModelResource` for Institution.

The resource maps the sheet's Chinese headers (institutions.importers.COLUMNS) onto model
fields and is imported with IIE's defaults (row by row: one lookup on credit_code + family,
one `save()`, diffs kept, the whole import in one transaction). So that both importers store
the same values, its widgets read cells with the portal's own parsers (eldercare.sheets.values):
"120张", full-width digits, 是/否, 2020年1月5日 and Chinese labels. The region goes through
IIE's stock `ForeignKeyWidget` (one Region query per row, as IIE does by default).

Not mapped: 等级 (one cell -> grade + grade_class), 举办医疗机构信用代码 (left blank by the
generator). Import after django.setup().
"""

from __future__ import annotations

from import_export import fields, resources, widgets

from eldercare.regions.models import Region
from eldercare.sheets import values as v
from institutions import enums
from institutions.importers import CANONICAL
from institutions.models import Institution

_OWNERSHIP = {
    label: code for by_family in enums.OWNERSHIP_LABELS.values() for code, label in by_family.items()
}
_OWNERSHIP["民营"] = "private"


class ParsedWidget(widgets.Widget):
    """A cell read with one of the portal's cell parsers; blank -> `blank`."""

    def __init__(self, parse, blank=None, **options):
        super().__init__()
        self.parse, self.blank, self.options = parse, blank, options

    def clean(self, value, row=None, **kwargs):
        out = self.parse(value, **self.options)
        return self.blank if out is v.UNCHANGED or out is v.CLEAR else out

    def render(self, value, obj=None, **kwargs):
        return "" if value is None else str(value)


def _field(key: str, widget: widgets.Widget) -> fields.Field:
    return fields.Field(attribute=key, column_name=CANONICAL[key], widget=widget)


def _text(max_length):
    return ParsedWidget(v.text, blank="", max_length=max_length)


def _choice(labels, *, blank="", synonyms=None):
    return ParsedWidget(v.choice, blank=blank, labels=labels, synonyms=synonyms)


_INTEGERS = ("beds_medical", "beds_eldercare", "beds_nursing", "doctors", "nurses", "caregivers")


class InstitutionResource(resources.ModelResource):
    name = _field("name", _text(200))
    credit_code = _field("credit_code", ParsedWidget(v.code_text, blank=""))
    family = _field("family", _choice(dict(enums.Family.choices)))
    type = _field("type", _choice(dict(enums.INSTITUTION_TYPES), synonyms=enums.TYPE_SYNONYMS))
    region = _field("region", widgets.ForeignKeyWidget(Region))
    ownership = _field("ownership", _choice(dict(enums.Ownership.choices), synonyms=_OWNERSHIP))
    address = _field("address", _text(300))
    longitude = _field("longitude", ParsedWidget(v.decimal))
    latitude = _field("latitude", ParsedWidget(v.decimal))
    opened_on = _field("opened_on", ParsedWidget(v.date))
    status = _field("status", _choice(dict(enums.Status.choices), blank=enums.Status.OPERATING))
    status_date = _field("status_date", ParsedWidget(v.date))
    internal_unit = _field("internal_unit", _choice(dict(enums.InternalUnit.choices)))
    beds_medical = _field("beds_medical", ParsedWidget(v.integer))
    beds_eldercare = _field("beds_eldercare", ParsedWidget(v.integer))
    beds_nursing = _field("beds_nursing", ParsedWidget(v.integer))
    doctors = _field("doctors", ParsedWidget(v.integer))
    nurses = _field("nurses", ParsedWidget(v.integer))
    caregivers = _field("caregivers", ParsedWidget(v.integer))
    green_channel = _field("green_channel", ParsedWidget(v.flag))
    family_bed = _field("family_bed", ParsedWidget(v.flag))
    geriatric_dept = _field("geriatric_dept", ParsedWidget(v.flag))
    rehab_dept = _field("rehab_dept", ParsedWidget(v.flag))
    hospice = _field("hospice", ParsedWidget(v.flag))
    tcm = _field("tcm", ParsedWidget(v.flag))
    telemedicine = _field("telemedicine", ParsedWidget(v.flag))
    medical_insurance = _field("medical_insurance", ParsedWidget(v.flag))
    ltc_insurance = _field("ltc_insurance", ParsedWidget(v.flag))

    class Meta:
        model = Institution
        import_id_fields = ("credit_code", "family")
        fields = (
            "name",
            "credit_code",
            "family",
            "type",
            "region",
            "ownership",
            "address",
            "longitude",
            "latitude",
            "opened_on",
            "status",
            "status_date",
            "internal_unit",
            *_INTEGERS,
            *[key for key, _label in enums.FLAGS],
        )
