"""Thin Celery wrapper for the reporting calendar (listed in CELERY_IMPORTS: autodiscovery only
finds `assessments.tasks`)."""

from celery import shared_task


@shared_task(name="assessments.remind_township_reports")
def remind_township_reports() -> dict:
    """Daily at 07:00: reminders to townships that have not reported (7 and 1 days before the
    due date, weekly when overdue) and a weekly overdue summary to the county's officers. Each
    notice goes out once (ReminderSent), so a redelivered or repeated run sends nothing twice."""
    from .township_reports import remind

    return remind()
