from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "eldercare.accounts"
    label = "accounts"
    verbose_name = _("Accounts")

    def ready(self):
        from . import signals  # noqa: F401
        from .services import sync_role_groups

        def _sync(sender, **kwargs):
            # Run once, after the last app's permissions have been created.
            from django.apps import apps

            last = [c for c in apps.get_app_configs() if c.models_module is not None][-1]
            if sender.label == last.label:
                sync_role_groups(using=kwargs.get("using", "default"))

        post_migrate.connect(_sync, dispatch_uid="accounts_sync_roles", weak=False)
