"""Duplicate-claim checks (DOMAIN.md §6): what is certain is blocked where it is entered — Σ
approved construction beds ≤ 核定 beds (the `beds_not_yet_subsidised` check, approval refused),
one operation subsidy per institution and year (`one_per_year`), a person's stays not
overlapping across homes and occupied beds ≤ 核定 beds (subsidies/occupancy.py). What is only
probable is listed here for a civil officer to review, scoped like everything else:

- `same_person_other_id`: residents of different homes with the same name and birth date but
  different ID numbers whose stays overlap (a mistyped number hiding a double claim);
- `open_applications_beyond_beds`: construction applications in progress for one institution
  whose beds, with the approved ones, exceed its 核定 beds (only one can be approved in full);
- `operation_twice_in_progress`: more than one operation application in progress for one
  institution and year;
- `occupancy_above_beds_now`: monthly reports above the institution's 核定 beds as recorded now
  (the beds were reduced after the report was accepted).
Each item: {"code", "message", "institutions": [ids], "objects": [ids]}. Database queries, no
Python loop over all rows; the lists are short."""

from __future__ import annotations

import datetime

from django.db.models import Count, F, Q, Sum

from eldercare.accounts.scope import for_user

from .models import CONSTRUCTION, Application, OccupancyReport, Resident, RuleKind

OPEN = ("submitted", "accepted")


def probable_duplicates(*, actor, region=None) -> list[dict]:
    out: list[dict] = []
    residents = for_user(Resident.objects.all(), actor, region=region)
    pairs = (
        residents.values("name", "birth_date")
        .annotate(ids=Count("id_hash", distinct=True), homes=Count("institution", distinct=True))
        .filter(ids__gt=1, homes__gt=1)
    )
    for p in pairs:
        stays = list(
            residents.filter(name=p["name"], birth_date=p["birth_date"])
            .select_related("institution")
            .order_by("admitted_on")
        )
        overlapping = [
            (a, b)
            for i, a in enumerate(stays)
            for b in stays[i + 1 :]
            if a.id_hash != b.id_hash
            and a.institution_id != b.institution_id
            and a.admitted_on < (b.discharged_on or datetime.date.max)
            and b.admitted_on < (a.discharged_on or datetime.date.max)
        ]
        if overlapping:
            a, b = overlapping[0]
            out.append(
                {
                    "code": "same_person_other_id",
                    # Birth year only: a full birth date beside the masked number would give it away.
                    "message": f"{a.name}（{a.birth_date:%Y} 年生）同时入住{a.institution.name}（{a.id_masked}）"
                    f"和{b.institution.name}（{b.id_masked}），身份证号不同，请核实是否为同一人。",
                    "institutions": sorted({a.institution_id, b.institution_id}),
                    "objects": [a.pk, b.pk],
                }
            )
    apps = for_user(Application.objects.all(), actor, region=region).select_related("institution")
    in_progress = apps.filter(rule__in=CONSTRUCTION, filing__status__in=OPEN)
    crowded = (
        in_progress.values("institution", "institution__name", "institution__beds_eldercare")
        .annotate(beds=Sum("beds"), n=Count("id"))
        .filter(n__gt=0)
    )
    for row in crowded:
        approved = (
            Application.objects.filter(
                institution_id=row["institution"], rule__in=CONSTRUCTION, filing__status="approved"
            ).aggregate(b=Sum("beds"))["b"]
            or 0
        )
        limit = row["institution__beds_eldercare"]
        if limit is not None and (row["beds"] or 0) + approved > limit:
            ids = list(in_progress.filter(institution_id=row["institution"]).values_list("pk", flat=True))
            out.append(
                {
                    "code": "open_applications_beyond_beds",
                    "message": f"{row['institution__name']}办理中的建设补助申请共 {row['beds'] or 0} 张，"
                    f"加上已批准的 {approved} 张，超过核定床位 {limit} 张：只能批准其中一部分。",
                    "institutions": [row["institution"]],
                    "objects": ids,
                }
            )
    twice = (
        apps.filter(rule=RuleKind.OPERATION, filing__status__in=OPEN)
        .values("institution", "institution__name", "year")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
    )
    for row in twice:
        ids = list(
            apps.filter(
                rule=RuleKind.OPERATION, institution_id=row["institution"], year=row["year"]
            ).values_list("pk", flat=True)
        )
        out.append(
            {
                "code": "operation_twice_in_progress",
                "message": f"{row['institution__name']} {row['year']} 年有 {row['n']} 份运营补助申请在办理中，每年只能批准一份。",
                "institutions": [row["institution"]],
                "objects": ids,
            }
        )
    above = (
        for_user(OccupancyReport.objects.all(), actor, region=region)
        .filter(institution__beds_eldercare__isnull=False)
        .filter(Q(self_care__gt=0) | Q(disabled__gt=0))
        .annotate(total=F("self_care") + F("disabled"))
        .filter(total__gt=F("institution__beds_eldercare"))
        .select_related("institution")
    )
    for o in above[:200]:
        out.append(
            {
                "code": "occupancy_above_beds_now",
                "message": f"{o.institution.name} {o.month:%Y年%m月}入住 {o.occupied} 张，超过现登记的核定床位 "
                f"{o.institution.beds_eldercare} 张（床位数可能在月报之后调减），请核实。",
                "institutions": [o.institution_id],
                "objects": [o.pk],
            }
        )
    return out
