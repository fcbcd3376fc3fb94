"""Thin Celery wrappers for subsidies."""

from celery import shared_task

from . import payments


@shared_task(name="subsidies.stop_installments_of_closed")
def stop_installments_of_closed() -> int:
    """Nightly (01:00, after the registry's current copies are refreshed at 00:10): institutions
    closed before their committed years have their remaining installments stopped and the paid
    ones flagged for recovery. Idempotent: a case already handled is not touched again."""
    return payments.stop_for_closures()
