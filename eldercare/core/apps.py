from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "eldercare.core"
    label = "core"
    verbose_name = _("Portal")

    def ready(self):
        from django.db.models.signals import post_delete, post_save

        from . import dataversion, outbox

        dataversion.connect_signals()
        dataversion.PREFETCH.extend(f for f in (_unread_key, _outbox_key) if f not in dataversion.PREFETCH)
        for signal in (post_save, post_delete):
            signal.connect(
                outbox.forget_pending_count, sender="core.OutboxMessage", dispatch_uid=f"outbox-{signal!r}"
            )


def _signed_in(request) -> str | None:
    from django.contrib.auth import SESSION_KEY

    session = getattr(request, "session", None)
    return session.get(SESSION_KEY) if session is not None else None


def _unread_key(request) -> str | None:
    """The chrome's unread badge (eldercare.core.context_processors), read with the versions."""
    from .models import unread_key

    uid = _signed_in(request)
    return unread_key(uid) if uid else None


def _outbox_key(request) -> str | None:
    """The chrome's "waiting for the queue" notice, likewise."""
    from .outbox import PENDING_KEY

    return PENDING_KEY if _signed_in(request) else None
