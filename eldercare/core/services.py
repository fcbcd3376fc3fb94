"""Writes of the core app."""

from django.utils import timezone


def notifications_mark_read(*, actor, ids=None) -> int:
    """Mark the actor's own notifications read (all, or those in `ids`)."""
    qs = actor.notifications.filter(read_at__isnull=True)
    if ids is not None:
        qs = qs.filter(pk__in=ids)
    return qs.update(read_at=timezone.now())
