"""Thin Celery wrappers for the workflow engine."""

from celery import shared_task

from . import services


@shared_task(name="workflow.refresh_deadlines")
def refresh_deadlines() -> dict:
    """Nightly: deadlines recomputed, due-soon/overdue marked, one digest per officer."""
    return services.refresh_deadlines()
