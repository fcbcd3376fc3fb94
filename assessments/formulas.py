"""The computed indicators' populations and numerators (DOMAIN.md §7), as querysets over the
registry on D (`versions_on(D)`, ADR 0007) — never the current copy.

Each formula returns a queryset of `InstitutionVersion` whose `.values()` are exactly the
columns of a `ReportFact` row: (township_code, institution_id, name, num, den, missing). The
report computation turns each into one `INSERT … SELECT` (compute.py), so no institution is
looped over in Python. An indicator names its formula in `Indicator.formula`.

Conventions: a rate's member contributes num 1/0 and den 1; a tri-state flag left 未填报 makes
the member *missing* (num and den NULL: excluded from both, counted for completeness); a count
contributes num 1 (or the beds) and den NULL.
"""

from __future__ import annotations

import datetime

from django.db.models import (
    Case,
    DecimalField,
    Exists,
    F,
    OuterRef,
    Q,
    Value,
    When,
)
from django.db.models.functions import Cast, Coalesce, Concat, Substr

from institutions.enums import (
    NON_RESIDENTIAL,
    PRIMARY_CARE_TYPES,
    EldercareType,
    Family,
    MedicalType,
    Ownership,
    Status,
)
from institutions.models import versions_on

DEC = DecimalField(max_digits=14, decimal_places=2)
ONE = Value(1, output_field=DEC)
ZERO = Value(0, output_field=DEC)
NULL = Cast(Value(None), output_field=DEC)  # typed: an untyped NULL is text in a subquery
BIG_HOME_BEDS = 100  # 003 二(二): 100 张床位以上的养老机构


def operating_on(day: datetime.date):
    """DOMAIN.md §7: status 运营中 effective on D and opened on or before D."""
    return (
        versions_on(day)
        .filter(status=Status.OPERATING)
        .filter(Q(opened_on__isnull=True) | Q(opened_on__lte=day))
    )


def _columns(qs, *, num, den, missing):
    return qs.annotate(
        f_township=Concat(Substr(F("region_id"), 1, 9), Value("000")),
        f_num=num,
        f_den=den,
        f_missing=missing,
    ).values_list("f_township", "institution_id", "name", "f_num", "f_den", "f_missing")


def _rate(qs, condition: Q):
    return _columns(
        qs,
        num=Case(When(condition, then=ONE), default=ZERO, output_field=DEC),
        den=ONE,
        missing=Value(False),
    )


def _flag_rate(qs, flag: str, also: Q | None = None):
    """A rate over a tri-state flag: 未填报 (NULL) is missing; `also` counts as yes regardless."""
    yes = Q(**{flag: True})
    if also is not None:
        yes |= also
        known = Q(**{f"{flag}__isnull": False}) | also
    else:
        known = Q(**{f"{flag}__isnull": False})
    return _columns(
        qs,
        num=Case(When(yes, then=ONE), When(known, then=ZERO), default=NULL, output_field=DEC),
        den=Case(When(known, then=ONE), default=NULL, output_field=DEC),
        missing=Case(When(known, then=Value(False)), default=Value(True)),
    )


def _homes(day):
    return operating_on(day).filter(institution__family=Family.ELDERCARE)


def _residential(day):
    return _homes(day).exclude(type__in=NON_RESIDENTIAL)


def _medical(day):
    return operating_on(day).filter(institution__family=Family.MEDICAL)


def _provides_medical_care(day) -> Q:
    """养中办医 (an internal unit), 医中办养 (run by a medical institution) or an active contract
    with a medical party operating on D — the same three routes as contracts.selectors.coverage_on."""
    from contracts.selectors import active_contracts_on

    contract = active_contracts_on(day).filter(eldercare_id=OuterRef("institution_id"))
    return (
        (~Q(internal_unit="") & ~Q(internal_unit="none") & Q(internal_unit__isnull=False))
        | Q(run_by_id__isnull=False)
        | Q(Exists(contract))
    )


def yl_med_coverage(day):
    return _rate(_homes(day), _provides_medical_care(day))


def gov_yl_med_coverage(day):
    qs = _residential(day).filter(ownership__in=[Ownership.PUBLIC, Ownership.PUBLIC_PRIVATE])
    return _rate(qs, _provides_medical_care(day))


def green_channel(day):
    return _flag_rate(_medical(day).exclude(type=MedicalType.PUBLIC_HEALTH), "green_channel")


def family_bed(day):
    return _flag_rate(_medical(day).filter(type__in=PRIMARY_CARE_TYPES), "family_bed")


def big_yl_med_unit(day):
    qs = _residential(day).filter(beds_eldercare__gte=BIG_HOME_BEDS)
    staffed = Q(doctors__gte=1) | Q(nurses__gte=1)
    unit = ~Q(internal_unit="") & ~Q(internal_unit="none") & Q(internal_unit__isnull=False)
    return _rate(qs, unit | staffed)


def geriatric_dept(day):
    qs = _medical(day).filter(
        type__in=[MedicalType.GENERAL_HOSPITAL, MedicalType.TCM_HOSPITAL], grade__in=["2", "3"]
    )
    return _flag_rate(qs, "geriatric_dept")


def yl_institutions(day):
    return _columns(_residential(day), num=ONE, den=NULL, missing=Value(False))


def yl_beds(day):
    return _columns(
        _residential(day),
        num=Coalesce(F("beds_eldercare"), ZERO, output_field=DEC),
        den=NULL,
        missing=Case(When(beds_eldercare__isnull=True, then=Value(True)), default=Value(False)),
    )


def nursing_bed_share(day):
    known = Q(beds_eldercare__isnull=False, beds_nursing__isnull=False)
    return _columns(
        _residential(day),
        num=Case(When(known, then=F("beds_nursing")), default=NULL, output_field=DEC),
        den=Case(When(known, then=F("beds_eldercare")), default=NULL, output_field=DEC),
        missing=Case(When(known, then=Value(False)), default=Value(True)),
    )


def hospice_services(day):
    qs = _medical(day).filter(Q(hospice=True) | Q(type=MedicalType.HOSPICE))
    return _columns(qs, num=ONE, den=NULL, missing=Value(False))


FORMULAS = {
    f.__name__: f
    for f in (
        yl_med_coverage,
        gov_yl_med_coverage,
        green_channel,
        family_bed,
        big_yl_med_unit,
        geriatric_dept,
        yl_institutions,
        yl_beds,
        nursing_bed_share,
        hospice_services,
    )
}

__all__ = ["FORMULAS", "operating_on", "EldercareType"]
