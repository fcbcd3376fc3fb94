"""Roles (DOMAIN.md §1) as Django groups with explicit permissions.

Each role is a group named by its code. Permissions are listed here, explicitly, and
`sync_role_groups()` makes the groups match (run after every migrate). Domain apps add their
permissions here as their issues land.
"""

from django.utils.translation import gettext_lazy as _

HEALTH, CIVIL, TOWNSHIP, FINANCE, ADMIN, SECURITY, AUDITOR = (
    "health",
    "civil",
    "township",
    "finance",
    "admin",
    "security",
    "auditor",
)

ROLE_LABELS = {
    HEALTH: _("Health bureau"),
    CIVIL: _("Civil affairs"),
    TOWNSHIP: _("Township staff"),
    FINANCE: _("Finance bureau"),
    ADMIN: _("System administrator"),
    SECURITY: _("Security administrator"),
    AUDITOR: _("Audit administrator"),
}
ROLE_CODES = tuple(ROLE_LABELS)
ROLE_CHOICES = [(code, label) for code, label in ROLE_LABELS.items()]

# 三权分立 (等保): system, security and audit administration are held by different people;
# a user holding one of these holds no other role.
EXCLUSIVE_ROLES = frozenset({ADMIN, SECURITY, AUDITOR})

_BUSINESS_READ = [
    "core.access_portal",
    "regions.view_region",
    "institutions.view_institution",
]
# Filings (DOMAIN.md §5): townships apply; health and civil officers decide the types whose
# deciding role they hold, and may file on behalf of a county-level institution (never deciding
# their own: eldercare/workflow/machine.py).
_FILING_APPLY = ["workflow.view_filing", "workflow.apply_filing"]
_FILING_DECIDE = [*_FILING_APPLY, "workflow.decide_filing"]
# Subsidy applications (DOMAIN.md §6): townships (and civil affairs) apply; civil affairs decides
# through the workflow (decide_filing) and may back-date a paper application or correct a decision.
_SUBSIDY_APPLY = ["subsidies.view_application", "subsidies.add_application", "subsidies.view_decision"]
_SUBSIDY_CIVIL = [*_SUBSIDY_APPLY, "subsidies.change_application", "subsidies.backdate_application"]
# Contracts (DOMAIN.md §4): townships keep their homes' contracts and visits; civil affairs (who
# supervises 医养签约) and health (the medical side) maintain them county-wide.
_CONTRACTS = [
    "contracts.view_contract",
    "contracts.add_contract",
    "contracts.change_contract",
    "contracts.view_visit",
    "contracts.add_visit",
]
# Occupancy and resident rosters (DOMAIN.md §6, SECURITY.md): townships report their homes'
# monthly occupancy (their uploads staged for the county) and keep the rosters; civil affairs
# also corrects them and may see a full ID number (with a reason, audited); finance reads
# occupancy.
_OCCUPANCY_TOWNSHIP = [
    "subsidies.add_occupancyreport",
    "subsidies.view_occupancyreport",
    "subsidies.add_resident",
    "subsidies.view_resident",
]
_OCCUPANCY_CIVIL = [
    *_OCCUPANCY_TOWNSHIP,
    "subsidies.change_occupancyreport",
    "subsidies.change_resident",
    "subsidies.unmask_resident",
]

# County-level data maintainers upload, accept township uploads and revert imports.
_REPORTS_READ = ["assessments.view_report", "assessments.view_target", "assessments.view_indicator"]
_REPORTS_COUNTY = [
    *_REPORTS_READ,
    "assessments.export_report",
    "assessments.view_townshipreport",
    "assessments.accept_townshipreport",
]
_REPORTS_HEALTH = [
    *_REPORTS_COUNTY,
    "assessments.recompute_report",
    "assessments.add_target",
    "assessments.change_target",
    "assessments.delete_target",
    "assessments.change_indicator",
    *[f"assessments.{verb}_reportingperiod" for verb in ("view", "add", "change")],
]
_REPORTS_TOWNSHIP = [
    *_REPORTS_READ,
    "assessments.view_townshipreport",
    "assessments.add_townshipreport",
    "assessments.change_townshipreport",
    "assessments.submit_townshipreport",
]

_IMPORT_COUNTY = [
    "sheets.import_sheet",
    "sheets.view_importbatch",
    "sheets.accept_importbatch",
    "sheets.revert_importbatch",
]

ROLE_PERMISSIONS: dict[str, list[str]] = {
    HEALTH: [
        *_BUSINESS_READ,
        "core.switch_region",
        "institutions.change_medical",
        "institutions.export_institution",
        *_IMPORT_COUNTY,
        *_FILING_DECIDE,
        *_CONTRACTS,
        "contracts.export_contract",
        *_REPORTS_HEALTH,
    ],
    CIVIL: [
        *_BUSINESS_READ,
        "core.switch_region",
        "institutions.change_eldercare",
        "institutions.export_institution",
        *_IMPORT_COUNTY,
        *_FILING_DECIDE,
        *_CONTRACTS,
        "contracts.export_contract",
        *_SUBSIDY_CIVIL,
        *_OCCUPANCY_CIVIL,
        *_REPORTS_COUNTY,
    ],
    # colleagues in their own township; uploads staged for the county where CONTRACT.md says so
    TOWNSHIP: [
        *_BUSINESS_READ,
        "accounts.view_user",
        "sheets.import_sheet",
        "sheets.view_importbatch",
        *_FILING_APPLY,
        *_CONTRACTS,
        *_SUBSIDY_APPLY,
        *_OCCUPANCY_TOWNSHIP,
        *_REPORTS_TOWNSHIP,
    ],
    # Finance (DOMAIN.md §6): pays the approved subsidies, reverses and recovers, keeps the budget.
    FINANCE: [
        *_BUSINESS_READ,
        "core.switch_region",
        "contracts.view_contract",
        "subsidies.view_occupancyreport",
        "subsidies.record_payment",
        "subsidies.view_payment",
        "subsidies.view_installment",
        "subsidies.view_budget",
        "subsidies.add_budget",
        "subsidies.change_budget",
        "subsidies.view_application",
        "subsidies.view_decision",
        *_REPORTS_READ,
    ],
    ADMIN: [
        *_BUSINESS_READ,
        "core.switch_region",
        "regions.add_region",
        "regions.change_region",
        "regions.import_region",
        *[f"institutions.{verb}_compliancesetting" for verb in ("view", "add", "change", "delete")],
        *[
            f"workflow.{verb}_{model}"
            for model in ("calendarday", "calendaryear", "filingtype")
            for verb in ("view", "add", "change", "delete")
        ],
        *[f"contracts.{verb}_serviceitem" for verb in ("view", "add", "change")],
        *[
            f"subsidies.{verb}_{m}"
            for m in ("policydocument", "policyrule")
            for verb in ("view", "add", "change")
        ],
        *[f"subsidies.{verb}_budget" for verb in ("view", "add", "change", "delete")],
        *[
            f"assessments.{verb}_{m}"
            for m in ("indicator", "reportedfield", "targettemplate", "targettemplateitem", "reportingperiod")
            for verb in ("view", "add", "change")
        ],
        "sheets.import_sheet",
        "sheets.view_importbatch",
        "accounts.view_user",
        "accounts.add_user",
        "accounts.change_user",
        "accounts.issue_integration_token",
        *[
            f"django_celery_beat.{verb}_{model}"
            for model in ("periodictask", "intervalschedule", "crontabschedule")
            for verb in ("view", "add", "change", "delete")
        ],
    ],
    SECURITY: [
        "core.access_portal",
        "regions.view_region",
        "accounts.view_user",
        "accounts.assign_roles",
        "accounts.unlock_user",
        "accounts.reset_second_factor",
    ],
    AUDITOR: [
        "core.access_portal",
        "audit.view_auditevent",
        "accounts.view_user",
    ],
}


def validate_role_set(roles) -> list[str]:
    """Return Chinese (translatable) error messages for an invalid combination of roles."""
    roles = set(roles)
    errors = []
    unknown = roles - set(ROLE_CODES)
    if unknown:
        errors.append(_("Unknown role: %(roles)s") % {"roles": ", ".join(sorted(unknown))})
    exclusive = roles & EXCLUSIVE_ROLES
    if exclusive and len(roles) > 1:
        errors.append(
            _(
                "The system, security and audit administrator roles are separate duties: a user "
                "holding one of them may hold no other role."
            )
        )
    return errors
