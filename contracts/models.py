"""Medical–elder-care contracts (医养签约, DOMAIN.md §4).

A `Contract` is keyed by (medical party, 协议编号) and scoped by the elder-care party's region
(a township sees the contracts of its homes; the medical party may be anywhere in the county).
Its status is derived from its dates (contracts/rules.py), never stored; *active on D* also
needs the medical party operating on D, read from the registry's history. The service checklist
is data (`ServiceItem`, admin-editable). Visits (巡诊记录) are logged per contract and day.
Changes are audited (old and new values), which is the contract's history; the 医养签约协议备案
filing (eldercare/workflow) marks it 已备案."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from . import rules


class Mode(models.TextChoices):
    AGREEMENT = "agreement", "签约合作"
    ENTRUSTED = "entrusted", "托管"
    OUTSOURCED = "outsourced", "外包"
    CO_BUILT = "co_built", "共建"
    ALLIANCE = "alliance", "医联体"


class Frequency(models.TextChoices):
    WEEKLY = "weekly", "每周"
    MONTHLY = "monthly", "每月"
    QUARTERLY = "quarterly", "每季度"
    HALF_YEARLY = "half_yearly", "每半年"


class ServiceItem(models.Model):
    """One entry of the services checklist (上门巡诊, 健康体检, …)."""

    code = models.SlugField(_("code"), max_length=30, primary_key=True)
    name = models.CharField(_("name"), max_length=50, unique=True)
    order = models.PositiveSmallIntegerField(_("order"), default=0)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("contract service")
        verbose_name_plural = _("contract services")
        ordering = ["order", "code"]

    def __str__(self):
        return self.name


class ContractQuerySet(models.QuerySet):
    def for_user(self, actor, *, region=None):
        from eldercare.accounts.scope import scope_queryset

        return scope_queryset(self, actor, region=region)

    def active_on(self, day):
        """Start ≤ day ≤ end and not terminated on or before day (the medical party's operating
        status is joined by the coverage selector, which knows the registry's history)."""
        return self.filter(start__lte=day, end__gte=day).filter(
            Q(terminated_on__isnull=True) | Q(terminated_on__gt=day)
        )


class Contract(models.Model):
    agreement_no = models.CharField(_("agreement number"), max_length=60)
    medical = models.ForeignKey(
        "institutions.Institution",
        verbose_name=_("medical party"),
        on_delete=models.PROTECT,
        related_name="contracts_as_medical",
    )
    eldercare = models.ForeignKey(
        "institutions.Institution",
        verbose_name=_("elder-care party"),
        on_delete=models.PROTECT,
        related_name="contracts_as_eldercare",
    )
    mode = models.CharField(_("mode"), max_length=12, choices=Mode.choices, default=Mode.AGREEMENT)
    services = models.JSONField(_("services"), default=list, blank=True)  # ServiceItem codes
    visit_frequency = models.CharField(
        _("visit frequency"), max_length=12, choices=Frequency.choices, blank=True
    )
    start = models.DateField(_("start date"))
    end = models.DateField(_("end date"))
    terminated_on = models.DateField(_("termination date"), null=True, blank=True)
    termination_reason = models.CharField(_("termination reason"), max_length=300, blank=True)
    # 已备案: set by the approved 医养签约协议备案 (workflow subject hook).
    filed_on = models.DateField(_("filed on"), null=True, blank=True)
    # The day the 30-days-to-expiry notice went out for the current end date (the beat task
    # sends it once; a renewal that moves `end` clears it).
    expiry_notice_for = models.DateField(null=True, blank=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    objects = ContractQuerySet.as_manager()
    scope_field = "eldercare__region__code"

    class Meta:
        verbose_name = _("contract")
        verbose_name_plural = _("contracts")
        ordering = ["-start", "agreement_no"]
        constraints = [
            models.UniqueConstraint(fields=["medical", "agreement_no"], name="contract_key"),
            models.CheckConstraint(condition=Q(end__gt=models.F("start")), name="contract_end_after_start"),
        ]
        indexes = [
            models.Index(fields=["eldercare", "start", "end"], name="contract_home_term_idx"),
            models.Index(fields=["end"], name="contract_end_idx"),
        ]
        permissions = [("export_contract", _("Can export contracts"))]

    def __str__(self):
        return f"{self.agreement_no}（{self.medical} — {self.eldercare}）"

    def get_absolute_url(self) -> str:
        from django.urls import reverse

        return reverse("contracts:detail", args=[self.pk])

    @property
    def term(self) -> rules.Term:
        return rules.Term(self.start, self.end, self.terminated_on)

    def status_on(self, day) -> str:
        return rules.status_on(self.term, day)

    @property
    def status_label(self) -> str:
        from django.utils import timezone

        return rules.STATUS_LABELS[self.status_on(timezone.localdate())]


class Visit(models.Model):
    contract = models.ForeignKey(Contract, on_delete=models.CASCADE, related_name="visits")
    date = models.DateField(_("visit date"))
    persons = models.PositiveIntegerField(_("persons served"), null=True, blank=True)
    note = models.CharField(_("note"), max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    scope_field = "contract__eldercare__region__code"

    class Meta:
        verbose_name = _("visit")
        verbose_name_plural = _("visits")
        ordering = ["-date"]
        constraints = [models.UniqueConstraint(fields=["contract", "date"], name="visit_one_per_day")]

    def __str__(self):
        return f"{self.contract_id} {self.date}"
