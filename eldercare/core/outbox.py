"""Enqueue Celery tasks after commit, falling back to a database outbox when the broker is
unreachable, so a saved change is never a 500 because Redis is down."""

from __future__ import annotations

import logging

from django.db import transaction
from django.utils import timezone

log = logging.getLogger(__name__)


def _task(name: str):
    from eldercare.celery import app

    if name not in app.tasks:
        app.loader.import_default_modules()  # autodiscovery is lazy outside a worker
    return app.tasks[name]


def _send(task_name: str, args, kwargs) -> bool:
    try:
        # apply_async honours task_always_eager (no REDIS_URL: run in-process).
        _task(task_name).apply_async(args=args, kwargs=kwargs)
        return True
    except Exception as exc:  # broker errors come in many types (kombu, redis, OSError)
        from .models import OutboxMessage

        log.warning("broker unavailable, task %s kept in the outbox: %s", task_name, exc)
        OutboxMessage.objects.create(
            task_name=task_name, args=list(args), kwargs=dict(kwargs), last_error=str(exc)[:500]
        )
        return False


def enqueue_on_commit(task, *args, **kwargs) -> None:
    """Queue `task` (a task object or its name) once the current transaction commits."""
    name = task if isinstance(task, str) else task.name
    transaction.on_commit(lambda: _send(name, args, kwargs))


def flush() -> int:
    """Send pending outbox messages; returns how many went out."""
    from .models import OutboxMessage

    sent = 0
    for msg in OutboxMessage.objects.filter(sent_at__isnull=True).order_by("id")[:500]:
        try:
            _task(msg.task_name).apply_async(args=msg.args, kwargs=msg.kwargs)
        except Exception as exc:
            OutboxMessage.objects.filter(pk=msg.pk).update(
                attempts=msg.attempts + 1, last_error=str(exc)[:500]
            )
            break
        OutboxMessage.objects.filter(pk=msg.pk).update(sent_at=timezone.now(), attempts=msg.attempts + 1)
        sent += 1
    if sent:
        forget_pending_count()
    return sent


def pending_count() -> int:
    from .models import OutboxMessage

    return OutboxMessage.objects.filter(sent_at__isnull=True).count()


PENDING_KEY = "portal:outbox-pending"
PENDING_SECONDS = 10  # how late the notice may appear or clear in another process


def pending_count_cached() -> int:
    from .dataversion import cache_get, cache_set

    count = cache_get(PENDING_KEY)
    if count is None:
        count = pending_count()
        cache_set(PENDING_KEY, count, PENDING_SECONDS)
    return count


def forget_pending_count(**kwargs) -> None:
    """An outbox row was written: the next page counts again (connected in CoreConfig.ready)."""
    from .dataversion import cache_delete

    cache_delete(PENDING_KEY)
