"""assessments.page_selectors.dashboard_runs is written in SQL (the ORM's compile cost more than
the query on the dashboard's kept-page path): it selects and orders exactly what the ORM query
over selectors.covering / LATEST_FIRST selects, for every region level and status, ties and
NULL timestamps included."""

import datetime
import itertools

import pytest
from django.db.models import Q
from django.utils import timezone

from assessments import page_selectors as ps
from assessments import selectors
from assessments.models import ReportRun, RunStatus

pytestmark = pytest.mark.django_db

COUNTY, TOWN, VILLAGE, OTHER = "370306000000", "370306001000", "370306001001", "370307000000"


def orm(year: int, region: str, years: int = ps.TREND_YEARS) -> list[int]:
    span = list(range(year - years + 1, year + 1))
    return list(
        ReportRun.objects.filter(
            Q(year__in=span, status=RunStatus.COMPLETE)
            | Q(year=year, status__in=[RunStatus.PENDING, RunStatus.RUNNING])
        )
        .filter(selectors.covering(region))
        .order_by(*selectors.LATEST_FIRST)
        .values_list("pk", flat=True)
    )


def test_the_sql_selects_and_orders_as_the_orm(regions, make_user):
    from tests.factories import RegionFactory

    RegionFactory(code=OTHER, name="另一区", parent_id="370300000000")
    base = timezone.make_aware(datetime.datetime(2026, 6, 1, 9))
    statuses = [RunStatus.COMPLETE, RunStatus.PENDING, RunStatus.RUNNING, RunStatus.FAILED]
    roots = [None, "370000000000", COUNTY, TOWN, OTHER]
    for i, (year, status, root) in enumerate(itertools.product([2021, 2024, 2025, 2026], statuses, roots)):
        as_of = None if i % 7 == 0 else base + datetime.timedelta(hours=i % 5)  # ties and NULLs
        finished = None if i % 3 == 0 else base + datetime.timedelta(minutes=i % 4)
        ReportRun.objects.create(
            year=year, root_id=root, evaluated_on=datetime.date(year, 12, 31), status=status,
            data_as_of=as_of, finished_at=finished,
        )  # fmt: skip
    for year, region in itertools.product([2025, 2026, 2030], [COUNTY, TOWN, VILLAGE, OTHER, "370000000000"]):
        assert [r.pk for r in ps.covering_runs(year, region)] == orm(year, region), (year, region)
    assert orm(2026, VILLAGE) and not orm(2031, VILLAGE, years=1)  # the cases select something (or not)
