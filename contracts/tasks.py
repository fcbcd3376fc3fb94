"""Thin Celery wrappers for contracts."""

from celery import shared_task

from . import services


@shared_task(name="contracts.notify_expiring")
def notify_expiring() -> int:
    """Daily: contracts ending within 30 days are announced once to both parties' townships and
    the civil affairs officers over them."""
    return services.notify_expiring()


@shared_task(name="contracts.refresh_warnings")
def refresh_warnings() -> int:
    """Nightly: homes whose contracts began or ended recently get their stored warnings
    recomputed (the date alone decides whether a small home has an active contract)."""
    return services.refresh_warnings_for_dates()
