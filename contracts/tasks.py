"""Thin Celery wrappers for contracts."""

from celery import shared_task

from . import services


@shared_task(name="contracts.notify_expiring")
def notify_expiring() -> int:
    """Daily: contracts ending within 30 days are announced once to both parties' townships and
    the civil affairs officers over them."""
    return services.notify_expiring()
