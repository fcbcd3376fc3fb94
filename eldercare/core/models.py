"""Cross-cutting models: portal-wide permissions, in-app notifications, and the task outbox
that keeps the web tier working while Redis is down (SECURITY.md, Reliability)."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Portal(models.Model):
    """Holds portal-wide permissions; no table."""

    class Meta:
        managed = False
        default_permissions = ()
        permissions = [
            ("access_portal", _("Can use the portal")),
            ("switch_region", _("Can narrow the view to a region under their scope")),
        ]

    def __str__(self):
        return "portal"


def unread_key(user_id) -> str:
    return f"portal:unread:{user_id}"


def _forget_unread(user_ids) -> None:
    """The users' cached unread counts (the chrome's badge) are stale: now and after commit."""
    from django.db import transaction

    from .dataversion import cache_delete

    keys = [unread_key(pk) for pk in set(user_ids)]

    def forget():
        for key in keys:
            cache_delete(key)

    forget()
    transaction.on_commit(forget, robust=True)


class NotificationQuerySet(models.QuerySet):
    def bulk_create(self, objs, *args, **kwargs):
        objs = super().bulk_create(objs, *args, **kwargs)
        _forget_unread(obj.user_id for obj in objs)
        return objs

    def update(self, **kwargs):
        users = list(self.values_list("user_id", flat=True).distinct())
        count = super().update(**kwargs)
        _forget_unread(users)
        return count

    def delete(self):
        users = list(self.values_list("user_id", flat=True).distinct())
        result = super().delete()
        _forget_unread(users)
        return result


class Notification(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("message"), blank=True)
    link = models.CharField(_("link"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)

    objects = NotificationQuerySet.as_manager()

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["user", "read_at"])]

    def __str__(self):
        return self.title

    def save(self, *args, **kwargs):
        super().save(*args, **kwargs)
        _forget_unread([self.user_id])

    def delete(self, *args, **kwargs):
        result = super().delete(*args, **kwargs)
        _forget_unread([self.user_id])
        return result


class OutboxMessage(models.Model):
    """A task that could not be queued (broker down). `flush_outbox` sends it later."""

    task_name = models.CharField(max_length=200)
    args = models.JSONField(default=list)
    kwargs = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    sent_at = models.DateTimeField(null=True, blank=True, db_index=True)

    class Meta:
        ordering = ["id"]

    def __str__(self):
        return f"{self.task_name} ({'sent' if self.sent_at else 'pending'})"
