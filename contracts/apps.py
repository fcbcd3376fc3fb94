from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ContractsConfig(AppConfig):
    name = "contracts"
    verbose_name = _("Contracts")

    def ready(self):
        # 医养签约协议备案: the workflow engine tells the contract about its filing (ADR 0010).
        from eldercare.workflow.effects import register_subject_hook

        from .services import on_filing_transition

        register_subject_hook("contracts.contract", on_filing_transition)
