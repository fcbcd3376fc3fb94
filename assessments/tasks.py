"""Celery tasks of the reports (ADR 0013): a run's coordinator fans out one task per county;
the slice that finishes last completes the run. Every task is idempotent (acks_late
redelivery after a killed worker recomputes the slice and replaces its rows)."""

from __future__ import annotations

import datetime
import logging

from celery import group, shared_task
from django.utils import timezone

from . import compute
from .models import ReportRun, RunStatus

log = logging.getLogger(__name__)


@shared_task(name="assessments.compute_run")
def compute_run(run_id: int) -> int:
    run = ReportRun.objects.filter(pk=run_id).first()
    if run is None or run.status == RunStatus.COMPLETE:
        return 0
    try:
        counties = compute.start(run)
    except Exception as exc:
        compute.fail(run, exc)
        raise
    if not counties:
        compute.finish(run)
        return 0
    # One task per county as a Celery group; the slice that finishes last completes the run.
    group(compute_slice.s(run_id, county) for county in counties).apply_async()
    return len(counties)


@shared_task(name="assessments.compute_slice", autoretry_for=(OSError,), max_retries=2, default_retry_delay=5)
def compute_slice(run_id: int, county_code: str) -> bool:
    run = ReportRun.objects.filter(pk=run_id).first()
    if run is None or run.status in (RunStatus.COMPLETE, RunStatus.FAILED):
        return False
    try:
        compute.compute_slice(run, county_code)
        if compute.slice_done(run_id):
            compute.finish(run)
            return True
    except Exception as exc:
        compute.fail(run, exc)
        raise
    return False


@shared_task(name="assessments.run_due_recomputes")
def run_due_recomputes() -> int:
    from .recompute import run_due

    return len(run_due())


@shared_task(name="assessments.nightly_reports")
def nightly_reports() -> list[int]:
    """The nightly full pass: this year and last year for every region, and runs stuck for an
    hour marked failed (their previous version stays served)."""
    from .services import request_run

    stale = timezone.now() - datetime.timedelta(hours=1)
    ReportRun.objects.filter(status__in=[RunStatus.PENDING, RunStatus.RUNNING], created_at__lt=stale).update(
        status=RunStatus.FAILED, error="超时未完成（夜间任务标记）"
    )
    year = timezone.localdate().year
    return [request_run(y, root_code=None, actor=None, reason="nightly").pk for y in (year - 1, year)]
