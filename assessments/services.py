"""Writes of the report machinery: asking for a report version (audited when a person asks)."""

from __future__ import annotations

import datetime

from django.db import transaction
from django.utils import timezone

from eldercare.audit import services as audit
from eldercare.core.outbox import enqueue_on_commit
from eldercare.regions import codes

from .compute import ComputeError, evaluation_day
from .models import ReportRun, RunStatus

DEDUPE_WINDOW = datetime.timedelta(minutes=10)


def _root(root_code: str | None) -> str | None:
    """Runs are rooted at a county or above: a township's report is part of its county's slice."""
    if not root_code:
        return None
    if codes.level_of(root_code) > codes.COUNTY:
        return root_code[:6].ljust(12, "0")
    return root_code


def request_run(year: int, *, root_code: str | None, actor, reason: str = "manual") -> ReportRun:
    """A new version for `year` over `root_code` (None: everything), computed by the workers
    after commit. A run already waiting or running for the same year and root is reused, so a
    double click or a burst of changes starts one computation."""
    root = _root(root_code)
    day = evaluation_day(int(year))
    with transaction.atomic():
        recent = (
            ReportRun.objects.select_for_update()
            .filter(
                year=year,
                root_id=root,
                status=RunStatus.PENDING,
                created_at__gte=timezone.now() - DEDUPE_WINDOW,
            )
            .order_by("-pk")
            .first()
        )
        if recent is not None:
            return recent
        user = actor if getattr(actor, "pk", None) else None
        run = ReportRun.objects.create(
            year=year, root_id=root, evaluated_on=day, reason=reason, requested_by=user
        )
        if user is not None:
            audit.record(
                actor, "report.recompute", run, detail={"year": year, "root": root or "", "reason": reason}
            )
        enqueue_on_commit("assessments.compute_run", run.pk)
    return run


__all__ = ["ComputeError", "request_run"]
