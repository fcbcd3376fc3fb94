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
        for signal in (post_save, post_delete):
            signal.connect(
                outbox.forget_pending_count, sender="core.OutboxMessage", dispatch_uid=f"outbox-{signal!r}"
            )
