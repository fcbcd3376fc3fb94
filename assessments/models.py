"""Indicators, targets, township reports and target-attainment reports (DOMAIN.md §7, ADR 0013).

- `Indicator`: the catalogue as data (code, Chinese name, definition, numerator/denominator,
  unit, direction, weight in the composite scorecard). A *computed* indicator names a formula in
  `assessments/formulas.py` (registry/contracts, evaluated from the effective-dated history);
  a *reported* one names two `ReportedField` codes, so a new reported indicator needs no code.
- `TargetTemplate`/`TargetTemplateItem`: the seeds' targets, one template per seed document,
  each item citing its clause; health staff apply a template to a region, which creates
  `Target`s. A target applies from its year until a later one supersedes it; a region without
  its own target inherits its nearest ancestor's (marked inherited).
- `ReportedField`/`TownshipReport`: the yearly reported data (the `township_reports` sheet),
  township submits, county accepts and the data locks; a reopened correction is marked
  changed since the last acceptance. Only accepted values count (`accepted_values`).
- `ReportingPeriod`: the reporting calendar (a due date per year).
- `ReportRun` (a report version): one computation for a year and a root region at one data
  cut-off. `ReportFact` are its inputs as of D (one row per institution — or township, for
  reported indicators — and indicator, materialised in one transaction), `ReportSlice` the
  units of work fanned out to Celery (one per county), `ReportRow` the results per indicator
  and region. Pages and the API read the newest *complete* run; the previous one stays until
  then.
- `RecomputeRequest`: the debounce queue of slices touched by imports, approvals and edits.
"""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Unit(models.TextChoices):
    PERCENT = "percent", "%"
    COUNT = "count", "个"
    BEDS = "beds", "张"
    SCORE = "score", "分"


class Direction(models.TextChoices):
    UP = "up", _("higher is better")
    DOWN = "down", _("lower is better")


class Source(models.TextChoices):
    COMPUTED = "computed", _("computed from the registry")
    REPORTED = "reported", _("reported by townships")


class Dimension(models.TextChoices):
    """000 五(三): the five parts of the county's evaluation system."""

    POLICY = "policy", "政策落实"
    COVERAGE = "coverage", "服务覆盖"
    CONNECTION = "connection", "无缝衔接"
    QUALITY = "quality", "服务质量"
    SATISFACTION = "satisfaction", "群众满意度"


class Indicator(models.Model):
    code = models.CharField(_("code"), max_length=40, primary_key=True)
    name = models.CharField(_("name"), max_length=100)
    definition = models.TextField(_("definition"), blank=True)
    numerator_label = models.CharField(_("numerator"), max_length=200, blank=True)
    denominator_label = models.CharField(_("denominator"), max_length=200, blank=True)
    unit = models.CharField(_("unit"), max_length=10, choices=Unit.choices)
    direction = models.CharField(
        _("direction"), max_length=4, choices=Direction.choices, default=Direction.UP
    )
    source = models.CharField(_("source"), max_length=10, choices=Source.choices)
    # computed: a key of assessments.formulas.FORMULAS; reported: ReportedField codes.
    formula = models.CharField(_("formula"), max_length=40, blank=True)
    reported_numerator = models.CharField(_("reported numerator field"), max_length=40, blank=True)
    reported_denominator = models.CharField(_("reported denominator field"), max_length=40, blank=True)
    # Reported scores (satisfaction): the value is the mean of the townships' scores weighted by
    # the denominator field (e.g. residents 60+); `reported_numerator` then holds the score.
    weighted_mean = models.BooleanField(_("weighted mean of a reported score"), default=False)
    dimension = models.CharField(
        _("evaluation dimension"), max_length=20, choices=Dimension.choices, blank=True
    )
    weight = models.DecimalField(
        _("weight in the composite scorecard"), max_digits=6, decimal_places=2, default=Decimal("1")
    )
    active = models.BooleanField(_("active"), default=True)
    order = models.PositiveSmallIntegerField(_("order"), default=0)
    source_doc = models.CharField(_("source document"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("indicator")
        verbose_name_plural = _("indicators")
        ordering = ["order", "code"]

    def __str__(self):
        return f"{self.name}（{self.code}）"

    @property
    def is_rate(self) -> bool:
        return self.unit == Unit.PERCENT


class TargetTemplate(models.Model):
    """The targets one seed document publishes (DOMAIN.md §7: "one per seed document")."""

    doc_no = models.CharField(_("document number"), max_length=80, unique=True)  # 文号 or a label
    title = models.CharField(_("title"), max_length=200)
    issuer = models.CharField(_("issuer"), max_length=100, blank=True)
    place = models.CharField(_("the place it belongs to"), max_length=100, blank=True)
    seed_file = models.CharField(_("seed file"), max_length=100, blank=True)
    note = models.TextField(_("note"), blank=True)

    class Meta:
        verbose_name = _("target template")
        verbose_name_plural = _("target templates")
        ordering = ["seed_file", "doc_no"]

    def __str__(self):
        return f"{self.doc_no} {self.title}"


class TargetTemplateItem(models.Model):
    template = models.ForeignKey(TargetTemplate, on_delete=models.CASCADE, related_name="items")
    indicator = models.ForeignKey(Indicator, on_delete=models.PROTECT, related_name="+")
    year = models.PositiveSmallIntegerField(_("from year"))
    value = models.DecimalField(_("target value"), max_digits=12, decimal_places=2)
    clause = models.TextField(_("clause"), blank=True)
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("target template item")
        verbose_name_plural = _("target template items")
        ordering = ["template", "indicator__order", "year"]
        constraints = [
            models.UniqueConstraint(fields=["template", "indicator", "year"], name="target_tpl_item_unique"),
        ]

    def __str__(self):
        return f"{self.indicator_id} {self.year}: {self.value}"


class Target(models.Model):
    """A target for a region from `year` on, until a later year's target for the same region
    supersedes it. Regions without one inherit their nearest ancestor's."""

    indicator = models.ForeignKey(Indicator, on_delete=models.PROTECT, related_name="targets")
    region = models.ForeignKey("regions.Region", on_delete=models.PROTECT, related_name="+")
    year = models.PositiveSmallIntegerField(_("from year"))
    value = models.DecimalField(_("target value"), max_digits=12, decimal_places=2)
    clause = models.TextField(_("clause"), blank=True)
    source_doc = models.CharField(_("source document"), max_length=200, blank=True)
    template_item = models.ForeignKey(
        TargetTemplateItem, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    set_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    set_at = models.DateTimeField(_("set at"), auto_now=True)

    scope_field = "region__code"

    class Meta:
        verbose_name = _("target")
        verbose_name_plural = _("targets")
        ordering = ["indicator__order", "region", "year"]
        constraints = [
            models.UniqueConstraint(fields=["indicator", "region", "year"], name="target_unique"),
        ]

    def __str__(self):
        return f"{self.indicator_id} {self.region_id} {self.year}: {self.value}"


class ReportedField(models.Model):
    """One figure townships report each year (a `township_reports` column). Adding one here adds
    a column to the sheet and the form; an indicator can then be defined over it."""

    code = models.CharField(_("code"), max_length=40, primary_key=True)
    name = models.CharField(_("column header"), max_length=60, unique=True)
    synonyms = models.JSONField(_("accepted synonyms"), default=list, blank=True)
    max_value = models.DecimalField(_("maximum"), max_digits=12, decimal_places=2, null=True, blank=True)
    decimals = models.PositiveSmallIntegerField(_("decimal places"), default=0)
    # A numerator must not exceed its denominator (DOMAIN.md §7: "an import error").
    not_above = models.CharField(_("not above the field"), max_length=40, blank=True)
    order = models.PositiveSmallIntegerField(_("order"), default=0)

    class Meta:
        verbose_name = _("reported field")
        verbose_name_plural = _("reported fields")
        ordering = ["order", "code"]

    def __str__(self):
        return self.name


class ReportStatus(models.TextChoices):
    DRAFT = "draft", "待提交"
    SUBMITTED = "submitted", "已提交待审核"
    ACCEPTED = "accepted", "已审核锁定"
    REOPENED = "reopened", "已退回修订"


class TownshipReport(models.Model):
    region = models.ForeignKey("regions.Region", on_delete=models.PROTECT, related_name="+")
    year = models.PositiveSmallIntegerField(_("year"))
    values = models.JSONField(_("values"), default=dict, blank=True)  # ReportedField code → number
    status = models.CharField(
        _("status"), max_length=10, choices=ReportStatus.choices, default=ReportStatus.DRAFT
    )
    # What counts: the values as last accepted (null before the first acceptance).
    accepted_values = models.JSONField(_("accepted values"), null=True, blank=True)
    previous_accepted_values = models.JSONField(_("values accepted before"), null=True, blank=True)
    accepted_at = models.DateTimeField(_("accepted at"), null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reopened_reason = models.CharField(_("reason for reopening"), max_length=300, blank=True)
    acceptances = models.PositiveIntegerField(_("times accepted"), default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    scope_field = "region__code"

    class Meta:
        verbose_name = _("township report")
        verbose_name_plural = _("township reports")
        ordering = ["-year", "region"]
        permissions = [
            ("submit_townshipreport", _("Can submit a township's yearly report")),
            ("accept_townshipreport", _("Can accept (and reopen) township reports")),
        ]
        constraints = [
            models.UniqueConstraint(fields=["region", "year"], name="township_report_unique"),
        ]
        indexes = [models.Index(fields=["year", "status"], name="township_report_year_status")]

    def __str__(self):
        return f"{self.region_id} {self.year}"

    @property
    def changed_since_accepted(self) -> bool:
        """A reopened correction differs from what was accepted, or a re-acceptance changed it."""
        if self.status == ReportStatus.REOPENED or self.status == ReportStatus.SUBMITTED:
            return self.accepted_values is not None and self.values != self.accepted_values
        if self.status == ReportStatus.ACCEPTED and self.previous_accepted_values is not None:
            return self.previous_accepted_values != self.accepted_values
        return False


class ReportingPeriod(models.Model):
    """The reporting calendar: the township reports of `year` are due on `due_on`."""

    dataset = models.CharField(_("data set"), max_length=40, default="township_reports")
    year = models.PositiveSmallIntegerField(_("year"))
    due_on = models.DateField(_("due on"))
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("reporting period")
        verbose_name_plural = _("reporting periods")
        ordering = ["-year"]
        constraints = [models.UniqueConstraint(fields=["dataset", "year"], name="reporting_period_unique")]

    def __str__(self):
        return f"{self.dataset} {self.year} → {self.due_on}"


class ReminderSent(models.Model):
    """Idempotency of the reporting reminders: one per township, year and kind of reminder."""

    region = models.ForeignKey("regions.Region", on_delete=models.CASCADE, related_name="+")
    year = models.PositiveSmallIntegerField()
    kind = models.CharField(max_length=20)  # e.g. "before-7", "before-1", "overdue-2026-12-01"
    sent_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["region", "year", "kind"], name="reminder_sent_unique")
        ]

    def __str__(self):
        return f"{self.region_id} {self.year} {self.kind}"


class RunStatus(models.TextChoices):
    PENDING = "pending", "排队中"
    RUNNING = "running", "计算中"
    COMPLETE = "complete", "已完成"
    FAILED = "failed", "失败"


class ReportRun(models.Model):
    """One version of the attainment report for `year` over `root` (null: everything)."""

    year = models.PositiveSmallIntegerField(_("year"))
    root = models.ForeignKey(
        "regions.Region", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    evaluated_on = models.DateField(_("evaluated on"))  # D: 31 December, today for the current year
    status = models.CharField(
        _("status"), max_length=10, choices=RunStatus.choices, default=RunStatus.PENDING
    )
    reason = models.CharField(_("reason"), max_length=40, blank=True)  # nightly / manual / change / command
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    data_as_of = models.DateTimeField(_("data as of"), null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    runtime_ms = models.PositiveIntegerField(null=True, blank=True)
    fingerprint = models.CharField(_("inputs' fingerprint"), max_length=64, blank=True)
    facts_count = models.PositiveIntegerField(default=0)
    slices_total = models.PositiveIntegerField(default=0)
    slices_done = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)

    class Meta:
        verbose_name = _("report version")
        verbose_name_plural = _("report versions")
        ordering = ["-created_at"]
        permissions = [
            ("view_report", _("Can read target-attainment reports")),
            ("export_report", _("Can export target-attainment reports")),
            ("recompute_report", _("Can start a recomputation of the reports")),
        ]
        indexes = [models.Index(fields=["year", "status", "-finished_at"], name="report_run_latest")]

    def __str__(self):
        return f"{self.year} {self.root_id or '*'} #{self.pk}"

    @property
    def progress(self) -> int:
        if self.status == RunStatus.COMPLETE:
            return 100
        if not self.slices_total:
            return 5 if self.status == RunStatus.RUNNING else 0
        # Materialising the facts is the first 10%, the slices the next 85%, ranking the rest.
        return min(95, 10 + int(85 * self.slices_done / self.slices_total))


class ReportFact(models.Model):
    """One input of a run as of D: an institution in an indicator's population (or a township's
    accepted report for a reported indicator). `num`/`den`: the contribution (1/0 for a rate's
    member, beds for a bed sum); `missing`: in the population but its flag is 未填报."""

    run = models.ForeignKey(ReportRun, on_delete=models.CASCADE, related_name="facts")
    indicator_code = models.CharField(max_length=40)
    township_code = models.CharField(max_length=12)
    institution = models.ForeignKey(
        "institutions.Institution",
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    name = models.CharField(max_length=200, blank=True)
    num = models.DecimalField(max_digits=14, decimal_places=2, null=True)
    den = models.DecimalField(max_digits=14, decimal_places=2, null=True)
    missing = models.BooleanField(default=False)
    changed = models.BooleanField(default=False)  # reported values changed since accepted

    class Meta:
        indexes = [
            models.Index(fields=["run", "indicator_code", "township_code"], name="report_fact_slice"),
            # A slice's aggregates read its county's facts by township-code prefix (LIKE 'xxxxxx%'
            # needs the pattern opclass under a non-C collation): bench/report_bench.py, 13×.
            models.Index(
                fields=["run", "township_code"],
                name="report_fact_township",
                opclasses=["int8_ops", "varchar_pattern_ops"],
            ),
        ]

    def __str__(self):
        return f"{self.indicator_code} {self.township_code} {self.institution_id}"


class ReportSlice(models.Model):
    run = models.ForeignKey(ReportRun, on_delete=models.CASCADE, related_name="slices")
    county_code = models.CharField(max_length=12)
    done = models.BooleanField(default=False)
    finished_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["run", "county_code"], name="report_slice_unique")]

    def __str__(self):
        return f"{self.run_id} {self.county_code}"


class RowStatus(models.TextChoices):
    ATTAINED = "attained", "达标"
    NOT_ATTAINED = "not_attained", "未达标"
    NO_TARGET = "no_target", "无目标"
    INSUFFICIENT = "insufficient_data", "数据不足"


class ReportRow(models.Model):
    run = models.ForeignKey(ReportRun, on_delete=models.CASCADE, related_name="rows")
    indicator = models.ForeignKey(Indicator, on_delete=models.PROTECT, db_constraint=False, related_name="+")
    region = models.ForeignKey(
        "regions.Region", on_delete=models.PROTECT, db_constraint=False, related_name="+"
    )
    level = models.PositiveSmallIntegerField()
    parent_code = models.CharField(max_length=12, blank=True)
    numerator = models.DecimalField(max_digits=14, decimal_places=2, null=True)
    denominator = models.DecimalField(max_digits=14, decimal_places=2, null=True)
    value = models.DecimalField(max_digits=16, decimal_places=6, null=True)  # exact enough; shown 2 dp
    target = models.DecimalField(max_digits=12, decimal_places=2, null=True)
    target_inherited = models.BooleanField(default=False)
    target_region = models.CharField(max_length=12, blank=True)
    target_year = models.PositiveSmallIntegerField(null=True)
    target_source = models.CharField(max_length=200, blank=True)
    attained = models.BooleanField(null=True)
    gap = models.DecimalField(max_digits=16, decimal_places=6, null=True)
    rank = models.PositiveIntegerField(null=True)
    status = models.CharField(max_length=20, choices=RowStatus.choices)
    complete_n = models.PositiveIntegerField(default=0)
    complete_m = models.PositiveIntegerField(default=0)
    changed = models.BooleanField(default=False)

    scope_field = "region__code"

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["run", "indicator", "region"], name="report_row_unique"),
        ]
        indexes = [
            models.Index(fields=["run", "region"], name="report_row_region"),
            models.Index(fields=["run", "parent_code"], name="report_row_parent"),
            models.Index(fields=["region", "indicator"], name="report_row_trend"),
        ]

    def __str__(self):
        return f"{self.indicator_id} {self.region_id} {self.status}"


class RecomputeRequest(models.Model):
    """A county's year touched by a change, waiting out the debounce window."""

    county_code = models.CharField(max_length=12)
    year = models.PositiveSmallIntegerField()
    due_at = models.DateTimeField()
    requested_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["county_code", "year"], name="recompute_request_unique")
        ]

    def __str__(self):
        return f"{self.county_code} {self.year}"
