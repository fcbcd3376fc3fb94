from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SubsidiesConfig(AppConfig):
    name = "subsidies"
    verbose_name = _("Subsidies")

    def ready(self):
        # Applications are the subject of a workflow filing (ADR 0010): township submits, civil
        # affairs accepts and decides; the hook dates, judges and schedules (subsidies/services.py).
        from django.core import checks

        from eldercare.workflow.effects import register_subject_hook

        from . import idcard
        from .services import on_filing_transition

        register_subject_hook("subsidies.application", on_filing_transition)
        # Production must set its own ID-number keys (SECURITY.md; docs/operations.md).
        checks.register(idcard.deploy_check, checks.Tags.security, deploy=True)
