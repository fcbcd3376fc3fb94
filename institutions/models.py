"""The institution registry with effective-dated history (DOMAIN.md §3).

`Institution` holds the identity (key: code + family, or village + name for the code-less
types) and a copy of the facts in force today, for fast list pages and scope. Every change is
an `InstitutionVersion` row valid over [valid_from, valid_to): "the registry on D" is one
indexed query (`versions_on(D)`), and a closure typed in late still counts on its date.
Who/when of each change is kept separately (recorded_by/recorded_at and the audit trail)."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from . import enums


class InstitutionFacts(models.Model):
    """The facts that change over time; shared by the current copy and the history rows."""

    name = models.CharField(_("name"), max_length=200)
    type = models.CharField(_("institution type"), max_length=30, choices=enums.INSTITUTION_TYPES)
    region = models.ForeignKey(
        "regions.Region", verbose_name=_("region"), on_delete=models.PROTECT, related_name="+"
    )
    ownership = models.CharField(_("ownership"), max_length=20, choices=enums.Ownership.choices, blank=True)
    grade = models.CharField(_("grade"), max_length=4, choices=enums.Grade.choices, blank=True)
    grade_class = models.CharField(
        _("grade class"), max_length=1, choices=enums.GradeClass.choices, blank=True
    )
    address = models.CharField(_("address"), max_length=300, blank=True)
    longitude = models.DecimalField(_("longitude"), max_digits=9, decimal_places=6, null=True, blank=True)
    latitude = models.DecimalField(_("latitude"), max_digits=9, decimal_places=6, null=True, blank=True)
    opened_on = models.DateField(_("opened on"), null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=12, choices=enums.Status.choices, default=enums.Status.OPERATING
    )
    status_date = models.DateField(_("status effective date"), null=True, blank=True)
    beds_medical = models.PositiveIntegerField(_("approved medical beds"), null=True, blank=True)
    beds_eldercare = models.PositiveIntegerField(_("approved elder-care beds"), null=True, blank=True)
    beds_nursing = models.PositiveIntegerField(_("nursing-type beds"), null=True, blank=True)
    doctors = models.PositiveIntegerField(_("licensed doctors"), null=True, blank=True)
    nurses = models.PositiveIntegerField(_("nurses"), null=True, blank=True)
    caregivers = models.PositiveIntegerField(_("elder caregivers"), null=True, blank=True)
    internal_unit = models.CharField(
        _("internal medical unit"), max_length=24, choices=enums.InternalUnit.choices, blank=True
    )
    run_by = models.ForeignKey(
        "institutions.Institution",
        verbose_name=_("run by medical institution"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    green_channel = models.BooleanField(_("green channel for the elderly"), null=True, blank=True)
    family_bed = models.BooleanField(_("home sickbeds"), null=True, blank=True)
    geriatric_dept = models.BooleanField(_("geriatrics department"), null=True, blank=True)
    rehab_dept = models.BooleanField(_("rehabilitation department"), null=True, blank=True)
    hospice = models.BooleanField(_("hospice care"), null=True, blank=True)
    tcm = models.BooleanField(_("traditional Chinese medicine services"), null=True, blank=True)
    telemedicine = models.BooleanField(_("telemedicine"), null=True, blank=True)
    medical_insurance = models.BooleanField(_("designated for medical insurance"), null=True, blank=True)
    ltc_insurance = models.BooleanField(_("designated for long-term care insurance"), null=True, blank=True)

    class Meta:
        abstract = True


FACT_FIELDS = [f.name for f in InstitutionFacts._meta.local_fields]


class InstitutionQuerySet(models.QuerySet):
    def for_user(self, actor, *, region=None):
        from eldercare.accounts.scope import scope_queryset

        return scope_queryset(self, actor, region=region)


class Institution(InstitutionFacts):
    portal_no = models.CharField(
        _("portal number"), max_length=12, unique=True, null=True, blank=True, editable=False
    )
    family = models.CharField(_("family"), max_length=10, choices=enums.Family.choices)
    # Indexed once, for equality and prefix search alike (varchar_pattern_ops, Meta.indexes).
    credit_code = models.CharField(_("unified social credit code"), max_length=18, blank=True)
    credit_code_warning = models.CharField(_("credit code warning"), max_length=200, blank=True)
    # ",code1,code2," of today's compliance warnings (rules.py), kept current by the services so
    # lists filter and the home page counts in the database.
    # Not indexed: the filters are `contains` (no b-tree helps) and every index costs on imports.
    warning_codes = models.CharField(_("compliance warnings"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    objects = InstitutionQuerySet.as_manager()
    scope_field = "region__code"

    class Meta:
        verbose_name = _("institution")
        verbose_name_plural = _("institutions")
        ordering = ["region_id", "name"]
        indexes = [
            models.Index(
                fields=["credit_code"], name="institution_code_idx", opclasses=["varchar_pattern_ops"]
            ),
        ]
        constraints = [
            # A hospital's own elder-care department shares the hospital's code (国卫办老龄发〔2019〕17号).
            models.UniqueConstraint(
                fields=["credit_code", "family"],
                condition=~Q(credit_code=""),
                name="institution_code_family_unique",
            ),
            models.UniqueConstraint(
                fields=["region", "name"], condition=Q(credit_code=""), name="institution_codeless_unique"
            ),
        ]
        permissions = [
            ("change_medical", _("Can maintain medical institutions")),
            ("change_eldercare", _("Can maintain elder-care institutions")),
            ("export_institution", _("Can export the institution list")),
        ]

    def __str__(self):
        return self.name


class InstitutionVersion(InstitutionFacts):
    """The facts valid over [valid_from, valid_to); valid_to null = still in force."""

    # No index of its own: the unique (institution, valid_from) index serves these lookups, and
    # every index costs on a 100k-row import (docs/benchmarks.md).
    institution = models.ForeignKey(
        Institution, on_delete=models.CASCADE, related_name="versions", db_index=False
    )
    valid_from = models.DateField(_("valid from"))
    valid_to = models.DateField(_("valid to"), null=True, blank=True)
    changed = models.JSONField(_("fields changed"), default=list, blank=True)
    recorded_at = models.DateTimeField(_("recorded at"), auto_now_add=True)
    # Users are never deleted (PROTECT, deactivated instead): no index needed for the FK check.
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    # The region once, as a prefix index (scope and report filters are LIKE 'prefix%'; equality
    # uses it too); versions are never ordered by region, so no second, plain b-tree.
    region = models.ForeignKey(
        "regions.Region", verbose_name=_("region"), on_delete=models.PROTECT, related_name="+", db_index=False
    )

    class Meta:
        verbose_name = _("institution version")
        verbose_name_plural = _("institution versions")
        ordering = ["institution_id", "valid_from"]
        indexes = [
            models.Index(fields=["valid_from", "valid_to"], name="instver_validity_idx"),
            models.Index(fields=["region"], name="instver_region_idx", opclasses=["varchar_pattern_ops"]),
        ]
        constraints = [
            models.UniqueConstraint(fields=["institution", "valid_from"], name="instver_one_per_day"),
            models.CheckConstraint(
                condition=Q(valid_to__isnull=True) | Q(valid_to__gt=models.F("valid_from")),
                name="instver_valid_range",
            ),
        ]

    def __str__(self):
        return f"{self.institution_id} {self.valid_from}–{self.valid_to or ''}"


def versions_on(day):
    """The registry on `day`: for each institution the version in force that day."""
    return InstitutionVersion.objects.filter(valid_from__lte=day).filter(
        Q(valid_to__isnull=True) | Q(valid_to__gt=day)
    )


class ComplianceSetting(models.Model):
    """Per-region thresholds of the compliance rules (DOMAIN.md §3: "each rule's thresholds are
    configurable per region"). A region without its own row uses its nearest ancestor's, else
    the defaults in institutions/rules.py. Edited by the admin role on the admin site."""

    region = models.OneToOneField(
        "regions.Region",
        verbose_name=_("region"),
        on_delete=models.PROTECT,
        primary_key=True,
        related_name="+",
    )
    big_home_beds = models.PositiveIntegerField(
        _("beds from which an elder-care institution needs an internal medical unit"), default=100
    )
    hospital_option_beds = models.PositiveIntegerField(
        _("beds from which an elder-care institution may open a hospital"), default=500
    )
    source = models.CharField(_("source document"), max_length=200, blank=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    scope_field = "region__code"

    class Meta:
        verbose_name = _("compliance threshold")
        verbose_name_plural = _("compliance thresholds")
        ordering = ["region_id"]

    def __str__(self):
        return f"{self.region_id}: {self.big_home_beds}/{self.hospital_option_beds}"
