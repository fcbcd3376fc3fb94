"""Celery tasks of the reports (ADR 0013): a run's coordinator fans out one task per county;
the slice that finishes last completes the run. Every task is idempotent (acks_late
redelivery after a killed worker recomputes the slice and replaces its rows)."""

from __future__ import annotations

import datetime
import logging

from celery import group, shared_task
from django.db import IntegrityError, InterfaceError, OperationalError
from django.utils import timezone

from . import compute
from .models import ReportRun, RunStatus

log = logging.getLogger(__name__)


@shared_task(name="assessments.compute_run")
def compute_run(run_id: int) -> int:
    """The coordinator: claim the pending run, materialise its facts, fan out its slices. A
    redelivered or re-dispatched message for a run already materialised fans out only the slices
    still open; one for a run another coordinator is materialising does nothing."""
    run = ReportRun.objects.filter(pk=run_id).first()
    if run is None or run.status in (RunStatus.COMPLETE, RunStatus.FAILED):
        return 0
    if compute.claim(run):
        try:
            counties = compute.start(run)
        except Exception as exc:
            compute.fail(run, exc)
            raise
    elif run.fingerprint:
        counties = compute.open_slices(run)
    else:
        return 0  # being materialised by the coordinator that claimed it
    if not counties:
        if compute.slice_done(run_id):
            compute.finish(run)
        return 0
    # One task per county as a Celery group; the slice that finishes last completes the run.
    group(compute_slice.s(run_id, county) for county in counties).apply_async()
    return len(counties)


RETRYABLE = (OSError, OperationalError, InterfaceError)


@shared_task(name="assessments.compute_slice", bind=True, max_retries=2, default_retry_delay=5)
def compute_slice(self, run_id: int, county_code: str) -> bool:
    run = ReportRun.objects.filter(pk=run_id).first()
    if run is None or run.status in (RunStatus.COMPLETE, RunStatus.FAILED):
        return False
    try:
        compute.compute_slice(run, county_code)
    except IntegrityError:
        # Another execution of this slice (a re-dispatch racing the original) wrote it first.
        log.warning("slice %s of run %s written by another execution", county_code, run_id)
        return False
    except RETRYABLE as exc:
        if self.request.retries < self.max_retries:
            raise self.retry(exc=exc) from exc
        compute.fail(run, exc)
        raise
    except Exception as exc:
        compute.fail(run, exc)
        raise
    if compute.slice_done(run_id):
        try:
            compute.finish(run)
        except Exception as exc:
            compute.fail(run, exc)
            raise
        return True
    return False


@shared_task(name="assessments.run_due_recomputes")
def run_due_recomputes() -> int:
    """Every minute: due recompute requests become runs, and runs whose messages were lost are
    dispatched again (a pending run not taken within 2 minutes; a running one whose slices have
    not moved for 10)."""
    from .recompute import run_due

    redispatch_stale()
    return len(run_due())


def redispatch_stale(now=None) -> list[int]:
    now = now or timezone.now()
    ids = list(
        ReportRun.objects.filter(
            status=RunStatus.PENDING, created_at__lt=now - datetime.timedelta(minutes=2)
        ).values_list("pk", flat=True)
    )
    quiet = now - datetime.timedelta(minutes=10)
    for run in ReportRun.objects.filter(status=RunStatus.RUNNING, started_at__lt=quiet).exclude(
        fingerprint=""
    ):
        last = (
            run.slices.exclude(finished_at=None)
            .order_by("-finished_at")
            .values_list("finished_at", flat=True)
            .first()
        )
        if last is None or last < quiet:
            ids.append(run.pk)
    for pk in ids:
        try:
            compute_run.apply_async((pk,))
        except Exception as exc:  # broker still down: the next minute tries again
            log.warning("report run %s not re-dispatched: %s", pk, exc)
            break
    return ids


@shared_task(name="assessments.nightly_reports")
def nightly_reports() -> list[int]:
    """The nightly full pass: this year and last year for every region, and runs stuck for an
    hour marked failed (their previous version stays served)."""
    from .services import request_run

    stale = timezone.now() - datetime.timedelta(hours=1)
    ReportRun.objects.filter(status__in=[RunStatus.PENDING, RunStatus.RUNNING], created_at__lt=stale).update(
        status=RunStatus.FAILED, error="超时未完成（夜间任务标记）"
    )
    # Failed versions are never served: a day later their facts and rows go.
    old_failed = list(
        ReportRun.objects.filter(
            status=RunStatus.FAILED, created_at__lt=timezone.now() - datetime.timedelta(days=1)
        ).values_list("pk", flat=True)
    )
    compute.drop_runs(old_failed)
    year = timezone.localdate().year
    return [request_run(y, root_code=None, actor=None, reason="nightly").pk for y in (year - 1, year)]
