"""Reads of stored reports (pages and API never compute on load)."""

from __future__ import annotations

from django.db.models import Q

from eldercare.regions import codes

from .models import ReportFact, ReportRow, ReportRun, RunStatus


def ancestors_and_self(code: str) -> list[str]:
    out = [code]
    parent = codes.implied_parent(code)
    while parent:
        out.append(parent)
        parent = codes.implied_parent(parent)
    return out


def covering(region_code: str) -> Q:
    """Runs that cover `region_code`: over everything, the region itself or an ancestor."""
    return Q(root__isnull=True) | Q(root_id__in=ancestors_and_self(region_code))


LATEST_FIRST = ("-data_as_of", "-finished_at", "-pk")  # the order that picks "the newest version"


def latest_run(year: int, region_code: str) -> ReportRun | None:
    """The newest complete version for `year` that covers `region_code`."""
    return (
        ReportRun.objects.filter(year=year, status=RunStatus.COMPLETE)
        .filter(covering(region_code))
        .order_by(*LATEST_FIRST)
        .first()
    )


def running_run(year: int, region_code: str) -> ReportRun | None:
    """A version being computed for `year` that covers `region_code` (for the progress bar)."""
    return (
        ReportRun.objects.filter(year=year, status__in=[RunStatus.PENDING, RunStatus.RUNNING])
        .filter(covering(region_code))
        .order_by("-pk")
        .first()
    )


def attainment_rows(run: ReportRun, region_code: str):
    """The rows for `region_code` and its direct children, indicator by indicator."""
    return (
        ReportRow.objects.filter(run=run)
        .filter(Q(region_id=region_code) | Q(parent_code=region_code))
        .select_related("indicator", "region")
        .order_by("indicator__order", "indicator_id", "level", "region_id")
    )


def trend(indicator_code: str, region_code: str, years) -> dict[int, ReportRow]:
    """Per year, the row of the newest complete version covering the region."""
    out = {}
    for year in years:
        run = latest_run(year, region_code)
        if run is None:
            continue
        row = ReportRow.objects.filter(run=run, region_id=region_code, indicator_id=indicator_code).first()
        if row is not None:
            out[year] = row
    return out


def facts(run: ReportRun, indicator_code: str, region_code: str, *, which: str = "all"):
    """The institutions (or townships) behind a row: `which` ∈ all, numerator, outside (in the
    denominator but not the numerator), missing."""
    qs = ReportFact.objects.filter(
        run=run, indicator_code=indicator_code, township_code__startswith=codes.prefix_of(region_code)
    )
    if which == "numerator":
        qs = qs.filter(num__gt=0)
    elif which == "outside":
        qs = qs.filter(missing=False, num=0)
    elif which == "missing":
        qs = qs.filter(missing=True)
    return qs.order_by("township_code", "name", "institution_id")
