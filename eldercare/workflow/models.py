"""The filing/approval workflow engine (DOMAIN.md §5, ADR 0010).

- `FilingType`: one per kind of filing; its lifecycle (transitions, who takes them, required
  comments, time limits) is JSON read by `machine.Definition.from_config`, its required
  attachments a list, its effect on approval a named handler (eldercare/workflow/effects.py) —
  all admin-editable, the seeds' values as defaults (data migration 0003).
- `Filing`: one case. Scoped by the region of the township that files it; its form data in
  `payload`; optionally about an institution and/or another object (a contract, a subsidy
  application) through `subject`, so contracts and subsidies reuse this engine.
- `FilingStep`: the decision ledger (who, role, when, from/to, comment); the deadline clock is
  computed from it (`machine.clock`).
- `FilingDocument`: the numbered papers issued at acceptance, return and decision.
- `Attachment`: uploaded evidence, content-sniffed, stored outside the web root.
- `CalendarDay`/`CalendarYear`: the working-day calendar table read before `chinese-calendar`."""

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from . import machine


class CalendarYear(models.Model):
    """A year whose official holiday arrangement has been entered in full (its holidays and
    make-up workdays as CalendarDay rows): deadlines in it are no longer provisional."""

    year = models.PositiveSmallIntegerField(_("year"), primary_key=True)
    source = models.CharField(_("source document"), max_length=200, blank=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("holiday arrangement year")
        verbose_name_plural = _("holiday arrangement years")
        ordering = ["-year"]

    def __str__(self):
        return str(self.year)


class CalendarDay(models.Model):
    """One day that is not what Monday–Friday says: a holiday on a weekday or a 调休 workday
    on a weekend. Checked before the chinese-calendar package."""

    date = models.DateField(_("date"), primary_key=True)
    is_workday = models.BooleanField(_("working day"))
    note = models.CharField(_("note"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("calendar day")
        verbose_name_plural = _("calendar days")
        ordering = ["-date"]

    def __str__(self):
        return f"{self.date} {'workday' if self.is_workday else 'holiday'}"


def load_calendar(start=None, end=None):
    """The table as a workdays.Calendar (a few dozen rows a year)."""
    from .workdays import Calendar

    days = CalendarDay.objects.all()
    if start is not None:
        days = days.filter(date__gte=start)
    if end is not None:
        days = days.filter(date__lte=end)
    return Calendar(
        days=dict(days.values_list("date", "is_workday")),
        years=frozenset(CalendarYear.objects.values_list("year", flat=True)),
    )


class FilingType(models.Model):
    class Effect(models.TextChoices):
        NONE = "none", _("none")
        INTERNAL_UNIT = "internal_unit", _("the elder-care institution gains its internal medical unit")
        RUN_BY_MEDICAL = "run_by_medical", _("an elder-care record run by the medical institution")
        ELDERCARE_FILED = "eldercare_filed", _("the elder-care institution is entered in the registry")
        SUBJECT = "subject", _("the subject object's own approval handler")

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(_("number prefix"), max_length=8, help_text=_("e.g. 医备, 养备"))
    decider_role = models.CharField(
        _("deciding role"),
        max_length=20,
        choices=[("health", _("Health bureau")), ("civil", _("Civil affairs"))],
    )
    subject_family = models.CharField(
        _("institution family of the subject"),
        max_length=10,
        blank=True,
        help_text=_("medical / eldercare: the institution the filing is about; blank for none"),
    )
    effect = models.CharField(
        _("effect of approval"), max_length=20, choices=Effect.choices, default=Effect.NONE
    )
    # machine.Definition.from_config: {"accept_days", "decide_days", "transitions": [...]}
    config = models.JSONField(_("lifecycle"), default=dict, blank=True)
    # [{"code", "label", "required"}]
    attachments = models.JSONField(_("required attachments"), default=list, blank=True)
    max_attachment_mb = models.PositiveSmallIntegerField(_("attachment size limit (MB)"), default=10)
    basis = models.TextField(_("legal basis"), blank=True)
    active = models.BooleanField(_("active"), default=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("filing type")
        verbose_name_plural = _("filing types")
        ordering = ["id"]

    def __str__(self):
        return self.name

    def definition(self) -> machine.Definition:
        return machine.Definition.from_config(self.decider_role, self.config)

    def clean(self):
        from django.core.exceptions import ValidationError

        errors = {}
        lifecycle = machine.config_errors(self.config or {})
        if lifecycle:
            errors["config"] = lifecycle
        items = self.attachments if isinstance(self.attachments, list) else None
        if items is None or any(
            not isinstance(a, dict) or not a.get("code") or not a.get("label") for a in items
        ):
            errors["attachments"] = [
                '材料清单应为列表，每项含 code、label 和 required，例如 {"code": "application", "label": "备案书", "required": true}。'
            ]
        elif len({a["code"] for a in items}) != len(items):
            errors["attachments"] = ["材料 code 不能重复。"]
        if errors:
            raise ValidationError(errors)


class FilingQuerySet(models.QuerySet):
    def for_user(self, actor, *, region=None):
        from eldercare.accounts.scope import scope_queryset

        return scope_queryset(self, actor, region=region)

    def open(self):
        return self.filter(status__in=[machine.SUBMITTED, machine.ACCEPTED])


class Filing(models.Model):
    class Alert(models.TextChoices):
        NONE = "", _("on time")
        DUE_SOON = "due_soon", _("due soon")
        OVERDUE = "overdue", _("overdue")

    STATUS_CHOICES = [(k, v) for k, v in machine.STATE_LABELS.items()]

    number = models.CharField(_("filing number"), max_length=30, unique=True, null=True, blank=True)
    type = models.ForeignKey(FilingType, verbose_name=_("filing type"), on_delete=models.PROTECT)
    status = models.CharField(_("status"), max_length=12, choices=STATUS_CHOICES, default=machine.DRAFT)
    # The township (or village) the filing comes from: what scope reads.
    region = models.ForeignKey(
        "regions.Region", verbose_name=_("region"), on_delete=models.PROTECT, related_name="+"
    )
    institution = models.ForeignKey(
        "institutions.Institution",
        verbose_name=_("institution"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="filings",
    )
    title = models.CharField(_("title"), max_length=200)
    payload = models.JSONField(_("form data"), default=dict, blank=True)
    subject_type = models.ForeignKey(
        ContentType, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    subject_id = models.PositiveBigIntegerField(null=True, blank=True)
    subject = GenericForeignKey("subject_type", "subject_id")
    # What approval created or changed (e.g. the new elder-care record).
    result_institution = models.ForeignKey(
        "institutions.Institution",
        verbose_name=_("resulting institution"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("applicant"), on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    submitted_on = models.DateField(_("submitted on"), null=True, blank=True)
    accepted_on = models.DateField(_("accepted on"), null=True, blank=True)
    decided_on = models.DateField(_("decided on"), null=True, blank=True)
    # The running time limit (machine.clock), kept on the row so lists filter and sort by it.
    clock_phase = models.CharField(_("time limit"), max_length=12, blank=True)
    due_on = models.DateField(_("due on"), null=True, blank=True)
    due_provisional = models.BooleanField(_("deadline provisional"), default=False)
    alert = models.CharField(
        _("deadline alert"), max_length=10, choices=Alert.choices, default="", blank=True
    )
    # Decided within the limit that was running at the decision (the county card's on-time rate).
    on_time = models.BooleanField(_("decided on time"), null=True, blank=True)
    working_days_to_decision = models.PositiveSmallIntegerField(null=True, blank=True)

    objects = FilingQuerySet.as_manager()
    scope_field = "region__code"

    class Meta:
        verbose_name = _("filing")
        verbose_name_plural = _("filings")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["status", "due_on"], name="filing_status_due_idx"),
            models.Index(fields=["subject_type", "subject_id"], name="filing_subject_idx"),
        ]
        permissions = [
            ("apply_filing", _("Can create and submit filings")),
            ("decide_filing", _("Can accept and decide filings")),
        ]

    def __str__(self):
        return self.number or self.title

    @staticmethod
    def scope_visible(qs, actor):
        """Drafts belong to the applicant side: their creator, and township staff of the
        township (whose scope is the township anyway). Officers see filings once submitted."""
        if "township" in getattr(actor, "roles", ()):
            return qs
        return qs.exclude(Q(status=machine.DRAFT) & ~Q(created_by_id=getattr(actor, "pk", None)))

    @property
    def reference(self) -> str:
        """The filing number, or 草稿 #id before the first submission (numbers are given then)."""
        return self.number or f"草稿 #{self.pk}"

    @property
    def status_label(self) -> str:
        return machine.STATE_LABELS.get(self.status, self.status)


class FilingStep(models.Model):
    """The decision ledger: append-only."""

    filing = models.ForeignKey(Filing, on_delete=models.CASCADE, related_name="steps")
    action = models.CharField(_("action"), max_length=20)
    from_state = models.CharField(_("from"), max_length=12)
    to_state = models.CharField(_("to"), max_length=12)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    actor_name = models.CharField(_("by"), max_length=150)
    role = models.CharField(_("role"), max_length=20)
    comment = models.TextField(_("comment"), blank=True)
    at = models.DateTimeField(_("at"))
    day = models.DateField(_("day"))

    class Meta:
        verbose_name = _("filing step")
        verbose_name_plural = _("filing steps")
        ordering = ["at", "id"]

    def __str__(self):
        return f"{self.filing_id} {self.action}"

    @property
    def person(self) -> str:
        """The officer's name as printed (not the login name)."""
        return (getattr(self.actor, "full_name", "") or self.actor_name) if self.actor_id else self.actor_name

    @property
    def to_label(self) -> str:
        return machine.STATE_LABELS.get(self.to_state, self.to_state)


class FilingDocument(models.Model):
    class Kind(models.TextChoices):
        RECEIPT = "receipt", _("受理通知书")
        CORRECTION = "correction", _("一次性补正告知书")
        DECISION = "decision", _("决定书")

    filing = models.ForeignKey(Filing, on_delete=models.CASCADE, related_name="documents")
    step = models.OneToOneField(FilingStep, on_delete=models.CASCADE, related_name="document")
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    year = models.PositiveSmallIntegerField()
    serial = models.PositiveIntegerField()
    number = models.CharField(_("document number"), max_length=40, unique=True)
    issued_on = models.DateField(_("issued on"))
    # The deadline the paper states, fixed when issued: a reprint after next year's holidays
    # are entered still says what the applicant was told.
    deadline = models.DateField(_("deadline stated"), null=True, blank=True)
    deadline_provisional = models.BooleanField(_("deadline provisional"), default=False)

    class Meta:
        verbose_name = _("filing document")
        verbose_name_plural = _("filing documents")
        ordering = ["issued_on", "id"]
        # Serials run per type prefix, kind and year (Counter); `number` (unique) spells all four.

    def __str__(self):
        return self.number


class Attachment(models.Model):
    filing = models.ForeignKey(Filing, on_delete=models.CASCADE, related_name="files")
    requirement = models.CharField(_("attachment"), max_length=40)
    original_name = models.CharField(_("file name"), max_length=200)
    content_type = models.CharField(max_length=40)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    stored_as = models.CharField(max_length=200)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")
        ordering = ["requirement", "id"]

    def __str__(self):
        return self.original_name


class DigestSent(models.Model):
    """One deadline digest per officer and day: a retried or repeated nightly pass sends none twice."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "day"], name="workflow_digest_once_a_day")]

    def __str__(self):
        return f"{self.user_id} {self.day}"


class Counter(models.Model):
    """Yearly serials for filing and document numbers (locked row per key and year)."""

    key = models.CharField(max_length=40)
    year = models.PositiveSmallIntegerField()
    last = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["key", "year"], name="workflow_counter_unique")]

    def __str__(self):
        return f"{self.key} {self.year}: {self.last}"
