"""Thin Celery wrappers for platform work."""

from celery import shared_task
from django.db import connection
from django.utils import timezone


@shared_task(name="eldercare.core.tasks.health_check")
def health_check() -> dict:
    """Proves a worker can reach the database; used by monitoring and the worker test."""
    with connection.cursor() as cur:
        cur.execute("SELECT 1")
        cur.fetchone()
    return {"ok": True, "db": connection.vendor, "at": timezone.now().isoformat()}


@shared_task(name="eldercare.core.tasks.flush_outbox")
def flush_outbox() -> int:
    from .outbox import flush

    return flush()


@shared_task(name="eldercare.core.tasks.notify_user", bind=True, max_retries=5, default_retry_delay=60)
def notify_user(self, user_id: int, title: str, body: str = "", link: str = "") -> int | None:
    """An in-app notification, and an e-mail when the user has an address. Idempotent per
    (user, title, body) within a minute, so a redelivered task does not notify twice."""
    from django.contrib.auth import get_user_model
    from django.core.mail import send_mail

    from .models import Notification

    user = get_user_model().objects.filter(pk=user_id).first()
    if user is None:
        return None
    recent = timezone.now() - timezone.timedelta(minutes=1)
    note, created = Notification.objects.get_or_create(
        user=user, title=title, body=body, created_at__gte=recent, defaults={"link": link}
    )
    if created and user.email:
        send_mail(title, body, None, [user.email], fail_silently=False)
    return note.pk


@shared_task(name="eldercare.core.tasks.clear_sessions")
def clear_sessions() -> None:
    """Delete expired sessions (beat, nightly): Django's `clearsessions`."""
    from django.core.management import call_command

    call_command("clearsessions")
