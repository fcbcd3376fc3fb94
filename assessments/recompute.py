"""Debounced recomputation of the slices a change touched (issue 7, ADR 0013).

Services that change what an indicator reads (registry, contracts, township reports, targets)
call `touch(county, year)` or `touch_region(code, years)` inside their transaction. After the
commit the (county, year) pairs go to `RecomputeRequest` — one row per pair, so a burst of
edits collapses into one row — due `PORTAL_REPORT_DEBOUNCE_SECONDS` later, and a task is
queued to run when they fall due; the every-minute beat task `assessments.run_due_recomputes`
catches any whose message was lost. Nothing here computes on the request path.
"""

from __future__ import annotations

import datetime
import logging

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from eldercare.regions import codes

log = logging.getLogger(__name__)


def _enabled() -> bool:
    return getattr(settings, "PORTAL_REPORTS_AUTO_RECOMPUTE", True)


def debounce_seconds() -> int:
    return int(getattr(settings, "PORTAL_REPORT_DEBOUNCE_SECONDS", 30))


def county_of(code: str) -> str | None:
    """The county a region lies in (None above county level)."""
    if codes.level_of(code) < codes.COUNTY:
        return None
    return code[:6].ljust(12, "0")


def years_from(day: datetime.date | None) -> list[int]:
    """Years whose reports a change effective on `day` can alter: its year up to this one."""
    this_year = timezone.localdate().year
    if day is None:
        return [this_year]
    return list(range(max(day.year, this_year - 20), this_year + 1)) or [this_year]


def touch(county_code: str, year: int) -> None:
    touch_many([(county_code, year)])


def touch_region(region_code: str, years) -> None:
    """A change at `region_code` (any level) for `years`: the counties it lies in or covers."""
    county = county_of(region_code)
    if county:
        counties = [county]
    else:
        from eldercare.regions.models import Region

        counties = list(
            Region.objects.under(region_code).filter(level=codes.COUNTY).values_list("code", flat=True)
        )
    touch_many([(c, y) for c in counties for y in years])


def touch_many(pairs) -> None:
    pairs = {(c, int(y)) for c, y in pairs if c}
    if not pairs or not _enabled():
        return
    this_year = timezone.localdate().year
    pairs = {(c, y) for c, y in pairs if y <= this_year}
    if pairs:
        transaction.on_commit(lambda: queue(pairs))


def queue(pairs) -> None:
    """Record the pairs as due after the debounce window and queue the task that runs them."""
    from .models import RecomputeRequest

    delay = 0 if _eager() else debounce_seconds()
    due = timezone.now() + datetime.timedelta(seconds=delay)
    for county, year in sorted(pairs):
        try:
            with transaction.atomic():
                # Keep an earlier due time: a stream of edits must not postpone it forever.
                RecomputeRequest.objects.get_or_create(
                    county_code=county, year=year, defaults={"due_at": due}
                )
        except IntegrityError:  # a concurrent request created it first
            pass
    from eldercare.celery import app

    if _eager():  # `make run` without Redis: the same code, in-process
        run_due()
        return
    try:
        app.send_task("assessments.run_due_recomputes", countdown=delay + 1)
    except Exception as exc:  # broker down: the every-minute beat pass picks the rows up later
        log.warning("recompute not queued (%s); the beat pass will pick it up", exc)


def _eager() -> bool:
    return bool(getattr(settings, "CELERY_TASK_ALWAYS_EAGER", False))


def run_due(now: datetime.datetime | None = None) -> list[int]:
    """Turn due requests into report runs (one per county and year); returns the run ids."""
    from . import services
    from .models import RecomputeRequest

    now = now or timezone.now()
    runs = []
    with transaction.atomic():
        due = list(
            RecomputeRequest.objects.select_for_update(skip_locked=True)
            .filter(due_at__lte=now)
            .order_by("year", "county_code")
        )
        RecomputeRequest.objects.filter(pk__in=[r.pk for r in due]).delete()
        for req in due:
            runs.append(
                services.request_run(req.year, root_code=req.county_code, actor=None, reason="change").pk
            )
    return runs
