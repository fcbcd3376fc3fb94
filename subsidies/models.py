"""Bed subsidies (DOMAIN.md §6): policy as data, occupancy and residents, applications judged by
the policy in force, decisions that keep their inputs, installments and payments.

- `PolicyDocument` (文号, issuer, region, issue date, validity) holds `PolicyRule`s — one per rule
  kind, its conditions as parameters and its clause text. 东政办〔2022〕42号 ships as data; another
  county adds its own document for its region without code. The rule in force for an application
  is the one of the nearest document covering the institution's region that is valid on the
  relevant date.
- `OccupancyReport`: beds occupied at month end, self-care and disabled, per elder-care
  institution and month (the `occupancy` sheet kind; a township's upload is accepted by the
  county).
- `Resident`: the roster (`residents` kind); the ID number is encrypted at rest with a keyed
  lookup hash, masked everywhere, unmasking audited (SECURITY.md).
- `Application` → judged into `Decision`s (rule version, input snapshot, every check, amount);
  a correction is a new decision linked to the one it supersedes, never an edit. It goes through
  the workflow engine as a filing's subject (township submits, civil accepts and decides).
- `Installment` (the schedule an approved construction decision creates) ← `Payment`s recorded
  by finance (payments, reversals, recoveries); a partial unique index makes paying an
  installment twice impossible.
- `Budget`: a yearly amount per county and funding source."""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class RuleKind(models.TextChoices):
    CONVERSION = "construction_conversion", "改建床位建设补助"
    NEW_OWNED = "construction_new_owned", "新建床位建设补助（自建）"
    NEW_RENTED = "construction_new_rented", "新建床位建设补助（租用）"
    OPERATION = "operation", "运营补助"


CONSTRUCTION = (RuleKind.CONVERSION, RuleKind.NEW_OWNED, RuleKind.NEW_RENTED)


class FundingSource(models.TextChoices):
    HIGHER = "higher", "上级补助"
    COUNTY = "county", "县财政"


class PolicyDocument(models.Model):
    doc_no = models.CharField(_("document number"), max_length=60, unique=True)  # 文号
    title = models.CharField(_("title"), max_length=200)
    issuer = models.CharField(_("issuer"), max_length=100)
    # The region it applies to (and everything under it); the nearest document wins. Blank: the
    # portal's default policy, for regions without one of their own (the shipped 东政办〔2022〕42号).
    region = models.ForeignKey(
        "regions.Region",
        verbose_name=_("region"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    issued_on = models.DateField(_("issued on"))
    valid_from = models.DateField(_("valid from"))
    valid_to = models.DateField(_("valid to (inclusive)"), null=True, blank=True)
    source = models.CharField(_("source"), max_length=200, blank=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("policy document")
        verbose_name_plural = _("policy documents")
        ordering = ["-valid_from"]
        constraints = [
            models.CheckConstraint(
                condition=Q(valid_to__isnull=True) | Q(valid_to__gte=models.F("valid_from")),
                name="policy_valid_range",
            )
        ]

    def __str__(self):
        return f"{self.doc_no} {self.title}"


class PolicyRule(models.Model):
    """One rule of a document. `params` by kind (amounts as strings of yuan, fen exact):
    construction_conversion {"amount_per_bed", "requires_run_by_medical"};
    construction_new_owned {"amount_per_bed", "min_beds", "min_commit_years", "min_occupancy",
      "requires_run_by_medical", "occupancy_window_months"};
    construction_new_rented {"amount_per_bed", "min_beds", "min_lease_years", "installments",
      "requires_run_by_medical"};
    operation {"self_care_per_bed_year", "disabled_per_bed_year"}."""

    document = models.ForeignKey(PolicyDocument, on_delete=models.CASCADE, related_name="rules")
    kind = models.CharField(_("rule"), max_length=30, choices=RuleKind.choices)
    clause = models.CharField(_("clause"), max_length=60)  # e.g. 三(一)
    clause_text = models.TextField(_("clause text"))
    params = models.JSONField(_("conditions and amounts"), default=dict)
    # Bumped on every change of params: a decision records the version it was judged by.
    version = models.PositiveIntegerField(_("version"), default=1)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("policy rule")
        verbose_name_plural = _("policy rules")
        ordering = ["document", "kind"]
        constraints = [models.UniqueConstraint(fields=["document", "kind"], name="policy_rule_once")]

    def __str__(self):
        return f"{self.document.doc_no} {self.get_kind_display()}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            stored = PolicyRule.objects.filter(pk=self.pk).values_list("params", "clause_text").first()
            if stored is not None and (stored[0] != self.params or stored[1] != self.clause_text):
                self.version += 1  # a decision records the version it was judged by
        super().save(*args, **kwargs)


class OccupancyReport(models.Model):
    institution = models.ForeignKey(
        "institutions.Institution",
        verbose_name=_("institution"),
        on_delete=models.PROTECT,
        related_name="occupancy",
    )
    month = models.DateField(_("month"))  # the first day of the month
    self_care = models.PositiveIntegerField(_("self-care beds occupied"))
    disabled = models.PositiveIntegerField(_("disabled beds occupied"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    scope_field = "institution__region__code"

    class Meta:
        verbose_name = _("occupancy report")
        verbose_name_plural = _("occupancy reports")
        ordering = ["institution_id", "month"]
        constraints = [
            models.UniqueConstraint(fields=["institution", "month"], name="occupancy_once_a_month"),
            models.CheckConstraint(condition=Q(month__day=1), name="occupancy_month_first_day"),
        ]

    def __str__(self):
        return f"{self.institution_id} {self.month:%Y-%m}"

    @property
    def occupied(self) -> int:
        return self.self_care + self.disabled


class Resident(models.Model):
    institution = models.ForeignKey(
        "institutions.Institution",
        verbose_name=_("institution"),
        on_delete=models.PROTECT,
        related_name="residents",
    )
    name = models.CharField(_("name"), max_length=50)
    # The ID number: encrypted (id_cipher), found by a keyed hash (id_hash), shown masked.
    id_cipher = models.TextField(editable=False)
    id_hash = models.CharField(max_length=64, editable=False, db_index=True)
    id_masked = models.CharField(_("ID number"), max_length=18, editable=False)
    birth_date = models.DateField(_("birth date"))
    ability_level = models.PositiveSmallIntegerField(
        _("ability level"),
        choices=[(0, "能力完好"), (1, "轻度失能"), (2, "中度失能"), (3, "重度失能"), (4, "完全失能")],
    )
    admitted_on = models.DateField(_("admitted on"))
    discharged_on = models.DateField(_("discharged on"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    scope_field = "institution__region__code"

    class Meta:
        verbose_name = _("resident")
        verbose_name_plural = _("residents")
        ordering = ["institution_id", "admitted_on", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["institution", "id_hash", "admitted_on"], name="resident_stay_key"
            ),
            models.CheckConstraint(
                condition=Q(discharged_on__isnull=True) | Q(discharged_on__gt=models.F("admitted_on")),
                name="resident_stay_range",
            ),
        ]
        permissions = [("unmask_resident", _("Can see a resident's full ID number (audited)"))]

    def __str__(self):
        return f"{self.name}（{self.id_masked}）"


class Application(models.Model):
    institution = models.ForeignKey(
        "institutions.Institution",
        verbose_name=_("institution"),
        on_delete=models.PROTECT,
        related_name="applications",
    )
    rule = models.CharField(_("rule"), max_length=30, choices=RuleKind.choices)
    application_date = models.DateField(_("application date"))
    backdated = models.BooleanField(_("back-dated from paper"), default=False)
    beds = models.PositiveIntegerField(_("beds"), null=True, blank=True)
    committed_years = models.PositiveSmallIntegerField(
        _("operating commitment (years)"), null=True, blank=True
    )
    lease_start = models.DateField(_("lease start"), null=True, blank=True)
    lease_end = models.DateField(_("lease end"), null=True, blank=True)
    year = models.PositiveSmallIntegerField(_("year"), null=True, blank=True)  # operation
    filing = models.OneToOneField(
        "workflow.Filing", null=True, blank=True, on_delete=models.PROTECT, related_name="subsidy_application"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    scope_field = "institution__region__code"

    class Meta:
        verbose_name = _("subsidy application")
        verbose_name_plural = _("subsidy applications")
        ordering = ["-application_date", "-id"]
        indexes = [models.Index(fields=["institution", "rule", "year"], name="application_inst_rule_year")]
        permissions = [("backdate_application", _("Can back-date an application digitised from paper"))]

    def __str__(self):
        return f"{self.get_rule_display()} · {self.institution}"

    @staticmethod
    def scope_visible(qs, actor):
        """A draft belongs to its applicant side (as a filing's does, eldercare/workflow/models.py):
        officers see applications once submitted."""
        if "township" in getattr(actor, "roles", ()):
            return qs
        return qs.exclude(Q(filing__status="draft") & ~Q(created_by_id=getattr(actor, "pk", None)))


class Decision(models.Model):
    """One judgement of an application: the rule version, the facts as they were, every check,
    the amount. The current one is the latest not superseded; a correction supersedes."""

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="decisions")
    policy_rule = models.ForeignKey(
        PolicyRule, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    rule_version = models.PositiveIntegerField(null=True, blank=True)
    facts = models.JSONField(_("facts as judged"), default=dict)
    checks = models.JSONField(_("checks"), default=list)  # [{"code", "passed", "message", "clause"}]
    eligible = models.BooleanField(_("eligible"), null=True)  # None: data incomplete
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2, default=Decimal("0.00"))
    schedule = models.JSONField(_("installments"), default=list)  # [{"due_year", "amount"}]
    supersedes = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="superseded_by"
    )
    reason = models.CharField(_("reason for the correction"), max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("subsidy decision")
        verbose_name_plural = _("subsidy decisions")
        ordering = ["application_id", "created_at", "id"]

    def __str__(self):
        return f"{self.application_id} {self.amount}"


class Installment(models.Model):
    class Status(models.TextChoices):
        SCHEDULED = "scheduled", "待拨付"
        PAID = "paid", "已拨付"
        STOPPED = "stopped", "已停止"

    application = models.ForeignKey(Application, on_delete=models.PROTECT, related_name="installments")
    decision = models.ForeignKey(Decision, on_delete=models.PROTECT, related_name="installments")
    due_year = models.PositiveSmallIntegerField(_("due year"))
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.SCHEDULED)
    recovery_flag = models.BooleanField(_("flagged for recovery"), default=False)
    note = models.CharField(_("note"), max_length=300, blank=True)

    scope_field = "application__institution__region__code"

    class Meta:
        verbose_name = _("installment")
        verbose_name_plural = _("installments")
        ordering = ["application_id", "due_year"]
        constraints = [
            models.UniqueConstraint(fields=["decision", "due_year"], name="installment_once_a_year")
        ]

    def __str__(self):
        return f"{self.application_id} {self.due_year} {self.amount}"


class Payment(models.Model):
    class Kind(models.TextChoices):
        PAYMENT = "payment", "拨付"
        REVERSAL = "reversal", "冲销"
        RECOVERY = "recovery", "追回"

    installment = models.ForeignKey(Installment, on_delete=models.PROTECT, related_name="payments")
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.PAYMENT)
    paid_on = models.DateField(_("date"))
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2)
    voucher_no = models.CharField(_("voucher number"), max_length=60)
    payee_account = models.CharField(_("payee account"), max_length=60, blank=True)
    funding_source = models.CharField(_("funding source"), max_length=10, choices=FundingSource.choices)
    reverses = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="reversed_by"
    )
    # A payment stays "live" until reversed; one live payment per installment (index below).
    live = models.BooleanField(default=True, editable=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    scope_field = "installment__application__institution__region__code"

    class Meta:
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        ordering = ["paid_on", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["installment"],
                condition=Q(kind="payment", live=True),
                name="payment_once_per_installment",
            ),
            models.UniqueConstraint(fields=["voucher_no", "kind"], name="payment_voucher_unique"),
        ]
        permissions = [("record_payment", _("Can record payments, reversals and recoveries"))]

    def __str__(self):
        return f"{self.get_kind_display()} {self.voucher_no} {self.amount}"


class Budget(models.Model):
    region = models.ForeignKey(
        "regions.Region", verbose_name=_("county"), on_delete=models.PROTECT, related_name="+"
    )
    year = models.PositiveSmallIntegerField(_("year"))
    funding_source = models.CharField(_("funding source"), max_length=10, choices=FundingSource.choices)
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    scope_field = "region__code"

    class Meta:
        verbose_name = _("budget")
        verbose_name_plural = _("budgets")
        ordering = ["-year", "region_id", "funding_source"]
        constraints = [
            models.UniqueConstraint(fields=["region", "year", "funding_source"], name="budget_once_a_year")
        ]

    def __str__(self):
        return f"{self.region_id} {self.year} {self.get_funding_source_display()}"
