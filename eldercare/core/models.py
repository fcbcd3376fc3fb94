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


class Notification(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("message"), blank=True)
    link = models.CharField(_("link"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["user", "read_at"])]

    def __str__(self):
        return self.title


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
