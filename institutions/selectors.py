"""Reads of the registry, always scoped."""

from __future__ import annotations

from django.db.models import Q

from . import enums
from .models import Institution
from .rules import SHORT, Facts, Thresholds, Warning, warnings_for

SORTS = {
    "name": "name",
    "-name": "-name",
    "region": "region_id",
    "beds": "beds_eldercare",
    "-beds": "-beds_eldercare",
    "opened": "opened_on",
}


def institutions_for(*, actor, region=None, params=None):
    """The scoped list with the page/API filters (never splatting request data into filter())."""
    qs = Institution.objects.for_user(actor, region=region).select_related("region", "run_by")
    p = params or {}
    if p.get("family") in enums.Family.values:
        qs = qs.filter(family=p["family"])
    if p.get("type") in dict(enums.INSTITUTION_TYPES):
        qs = qs.filter(type=p["type"])
    if p.get("ownership") in enums.Ownership.values:
        qs = qs.filter(ownership=p["ownership"])
    if p.get("status") in enums.Status.values:
        qs = qs.filter(status=p["status"])
    if p.get("credit_code"):
        qs = qs.filter(credit_code=str(p["credit_code"]).strip().upper())
    region_code = str(p.get("region") or "").strip()
    if region_code.isdigit() and len(region_code) == 12:
        from eldercare.regions.codes import prefix_of

        qs = qs.filter(region__code__startswith=prefix_of(region_code))
    w = str(p.get("warnings") or "")
    if w == "any":
        qs = qs.exclude(warning_codes="")
    elif w in SHORT:
        qs = qs.filter(warning_codes__contains=f",{w},")
    q = str(p.get("q") or "").strip()
    if q:
        qs = qs.filter(Q(name__icontains=q) | Q(credit_code__startswith=q.upper()) | Q(portal_no=q.upper()))
    return qs.order_by(SORTS.get(p.get("sort"), "region_id"), "name", "pk")


def contracted_ids(ids=None) -> set[int] | None:
    """Elder-care institutions party to a contract active today with its medical party
    operating (DOMAIN.md §4): the fact the `small_home_no_contract` rule needs. One query for
    all of `ids` (or every institution). None when the contracts app is not installed."""
    from django.apps import apps
    from django.utils import timezone

    if not apps.is_installed("contracts"):
        return None
    from contracts.selectors import active_contracts_on

    qs = active_contracts_on(timezone.localdate())
    if ids is not None:
        qs = qs.filter(eldercare_id__in=list(ids))
    return set(qs.values_list("eldercare_id", flat=True))


def _contract_fact(family: str, pk, contracted: set[int] | None):
    if family != "eldercare" or pk is None:
        return None
    if contracted is None:
        contracted = contracted_ids([pk])
    return None if contracted is None else pk in contracted


def facts_for_rules(inst: Institution, contracted: set[int] | None = None) -> Facts:
    """`contracted`: the ids with an active contract, computed once for a page or a batch."""
    return rule_facts(
        inst.family,
        {f: getattr(inst, f) for f in (*_RULE_FIELDS, *_RULE_FLAGS)},
        run_by_id=inst.run_by_id,
        has_active_contract=_contract_fact(inst.family, inst.pk, contracted),
    )


_RULE_FIELDS = ("type", "status", "beds_eldercare", "internal_unit", "doctors", "nurses", "grade")
_RULE_FLAGS = ("geriatric_dept", "green_channel")


def rule_facts(family: str, facts: dict, *, run_by_id=None, has_active_contract: bool | None = None) -> Facts:
    """The rules' view of a facts dict (a version, or a planned import row)."""
    return Facts(
        family=family,
        type=facts["type"],
        status=facts["status"],
        beds_eldercare=facts["beds_eldercare"],
        internal_unit=facts["internal_unit"],
        doctors=facts["doctors"],
        nurses=facts["nurses"],
        run_by_medical=run_by_id is not None,
        has_active_contract=has_active_contract,
        grade=facts["grade"],
        geriatric_dept=facts.get("geriatric_dept"),
        green_channel=facts.get("green_channel"),
    )


def warning_codes_for(
    family: str,
    facts: dict,
    *,
    run_by_id=None,
    thresholds: Thresholds | None = None,
    has_active_contract: bool | None = None,
) -> str:
    """The ",code1,code2," of the warnings stored on the institution (list filter, home count)."""
    rule_input = rule_facts(family, facts, run_by_id=run_by_id, has_active_contract=has_active_contract)
    codes = [w.code for w in warnings_for(rule_input, thresholds) if w.severity == "warning"]
    return f",{','.join(codes)}," if codes else ""


def threshold_table() -> dict[str, Thresholds]:
    """Every region's own thresholds (a small table: read once per request or import)."""
    from .models import ComplianceSetting

    return {
        s.region_id: Thresholds(big_home_beds=s.big_home_beds, hospital_option_beds=s.hospital_option_beds)
        for s in ComplianceSetting.objects.all()
    }


def thresholds_for(region_code: str | None, table: dict[str, Thresholds] | None = None) -> Thresholds:
    """The region's own thresholds, else its nearest ancestor's, else the defaults."""
    table = threshold_table() if table is None else table
    if region_code and table:
        for cut in (12, 9, 6, 4, 2):
            code = region_code[:cut].ljust(12, "0")
            if code in table:
                return table[code]
    return Thresholds()


def warnings_of(inst: Institution, thresholds: Thresholds | None = None, *, table=None, contracted=None):
    """Judged live (the detail page): the rules on the current copy, today's contracts."""
    if thresholds is None:
        thresholds = thresholds_for(inst.region_id, table)
    return warnings_for(facts_for_rules(inst, contracted), thresholds)


def stored_codes(inst: Institution) -> list[str]:
    return [c for c in inst.warning_codes.split(",") if c]


def stored_warnings(inst: Institution, table: dict[str, Thresholds] | None = None) -> list[Warning]:
    """What a list row (page or API) shows: the stored warning codes — what the list filters on
    and the home page counts, kept current by the services and the nightly refreshes — with the
    rules' messages, and the info-level notes (`may_open_hospital`: the row's own beds against
    its region's threshold; not stored, so "with warnings" stays warnings only).

    No query per row and none for the contracts: the one outside fact, "has an active
    contract", is read back from the stored `small_home_no_contract`. `table`: threshold_table(),
    read once per page. A stored code the rules no longer give on these facts (rules changed
    since the last refresh_warning_codes) still shows, with its short label."""
    codes = stored_codes(inst)
    facts = rule_facts(
        inst.family,
        {f: getattr(inst, f) for f in (*_RULE_FIELDS, *_RULE_FLAGS)},
        run_by_id=inst.run_by_id,
        has_active_contract=False if "small_home_no_contract" in codes else None,
    )
    judged = warnings_for(facts, thresholds_for(inst.region_id, table))
    shown = [w for w in judged if w.code in codes or w.severity == "info"]
    seen = {w.code for w in shown}
    return shown + [Warning(c, SHORT.get(c, c), "") for c in codes if c not in seen]
