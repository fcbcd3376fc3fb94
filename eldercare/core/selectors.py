"""Reads for the home page, always through the scope.

The cards come in sections (SECTIONS, in the order they show). Their data sources decide how
each is read:

- **shared** (regions, institutions, contracts, target attainment): counts of DATA_APPS models
  through the scope alone — the same for everyone who views the same region from the same scope
  with the same permissions. Cached under the data version (`dataversion.cached_value`) keyed by
  the region in view, the actor's scope region and those permissions; a write to any of them
  makes a new version, so a cached count is never stale.
- **own** (filings awaiting me / my township's returned filings, subsidy applications awaiting
  me): DATA_APPS models too, but about the user themself (not their own filings, their drafts,
  the filing types their roles decide) — cached under the same version, keyed by the user's pk
  and role set besides.
- **live** (accounts, locked accounts, today's audit events): accounts, axes and the audit trail
  are outside DATA_APPS — a new user, a lockout or an audit record makes no new version — so
  they are counted on every request (one query each). So is the pending-uploads card
  (eldercare.sheets import batches; core.views._pending_uploads_card).

The cached sections hold plain dicts (labels as text in the active language, which the key
holds), so a cached card is the same as a computed one.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db.models import Count, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from eldercare.regions.models import Level, Region

from . import dataversion

SECTIONS = (
    "regions",
    "institutions",
    "filings",
    "contracts",
    "assessments",
    "accounts",
    "locked",
    "audit",
    "subsidies",
)
# The permissions that decide which shared/own cards show (part of their cache keys).
SHARED_PERMS = (
    "regions.view_region",
    "institutions.view_institution",
    "contracts.view_contract",
    "assessments.view_report",
)
OWN_PERMS = (
    "workflow.view_filing",
    "workflow.decide_filing",
    "workflow.apply_filing",
    "subsidies.view_application",
)


def home_cards(actor, region) -> list[dict]:
    """Counts in the actor's scope (narrowed to the region switcher's choice)."""
    scope = (getattr(region, "code", None), getattr(actor, "region_id", None))
    flags = {p: actor.has_perm(p) for p in (*SHARED_PERMS, *OWN_PERMS)}
    sections: dict[str, list[dict]] = {}
    if any(flags[p] for p in SHARED_PERMS):
        sections.update(
            _cached(
                "home-cards-shared",
                (*scope, *(flags[p] for p in SHARED_PERMS)),
                lambda: _shared_sections(actor, region, flags),
            )
        )
    if flags["workflow.view_filing"] or flags["subsidies.view_application"]:
        sections.update(
            _cached(
                "home-cards-own",
                (*scope, actor.pk, ",".join(sorted(actor.roles)), *(flags[p] for p in OWN_PERMS)),
                lambda: _own_sections(actor, region, flags),
            )
        )
    sections.update(_live_sections(actor, region))
    return [dict(card) for name in SECTIONS for card in sections.get(name, ())]


def _cached(name: str, parts, compute) -> dict[str, list[dict]]:
    """compute() once per data version for (name, parts) (without a cache: every time). The
    value is shared (this process keeps it in memory too): home_cards copies the cards out."""
    return dataversion.cached_value(name, parts, compute)


def _plain(cards: list[dict]) -> list[dict]:
    """Lazy labels as text (the key holds the language), so the cards pickle small and equal."""
    return [{k: (str(v) if k == "label" else v) for k, v in card.items()} for card in cards]


# -- shared: DATA_APPS counts through the scope -------------------------------------------------
def _shared_sections(actor, region, flags) -> dict[str, list[dict]]:
    out = {}
    if flags["regions.view_region"]:
        out["regions"] = _region_cards(actor, region)
    if flags["institutions.view_institution"]:
        out["institutions"] = _institution_cards(actor, region)
    if flags["contracts.view_contract"]:
        out["contracts"] = _contract_cards(actor, region)
    if flags["assessments.view_report"]:
        from assessments.page_selectors import home_card

        card = home_card(actor, region)
        out["assessments"] = [card] if card else []
    return {name: _plain(cards) for name, cards in out.items()}


def _region_cards(actor, region) -> list[dict]:
    counts = (
        Region.objects.for_user(actor)
        .filter(code__startswith=region.prefix, active=True)
        .aggregate(
            townships=Count("code", filter=Q(level=Level.TOWNSHIP)),
            villages=Count("code", filter=Q(level=Level.VILLAGE)),
        )
    )
    return [
        {"label": _("Townships and streets"), "value": counts["townships"], "icon": "geo-alt"},
        {"label": _("Villages and communities"), "value": counts["villages"], "icon": "house-door"},
    ]


def _institution_cards(actor, region) -> list[dict]:
    from institutions.models import Institution

    # One aggregate for the four cards (the warnings count was a second query).
    agg = (
        Institution.objects.for_user(actor, region=region)
        .filter(status="operating")
        .aggregate(
            medical=Count("pk", filter=Q(family="medical")),
            eldercare=Count("pk", filter=Q(family="eldercare")),
            beds=Sum("beds_eldercare", filter=Q(family="eldercare")),
            warnings=Count("pk", filter=~Q(warning_codes="")),
        )
    )
    return [
        {"label": _("Operating medical institutions"), "value": agg["medical"], "icon": "hospital"},
        {"label": _("Operating elder-care institutions"), "value": agg["eldercare"], "icon": "house-heart"},
        {"label": _("Approved elder-care beds"), "value": agg["beds"] or 0, "icon": "hospital"},
        {
            "label": _("Institutions with compliance warnings"),
            "value": agg["warnings"],
            "icon": "exclamation-triangle",
            "link": "/institutions/?warnings=any",
        },
    ]


def _contract_cards(actor, region) -> list[dict]:
    """医养签约: contracts ending within 30 days, and the operating elder-care institutions that
    provide medical care in no form today (coverage_on: one query). Chinese-only, like the
    contract pages."""
    from django.urls import reverse

    from contracts import rules
    from contracts.selectors import contracts_for, coverage_on

    today = timezone.localdate()
    try:
        rows = coverage_on(today, actor=actor, region=region)
    except PermissionError:  # no scope: nothing to count
        return []
    expiring = contracts_for(actor=actor, region=region, params={"status": rules.EXPIRING, "today": today})
    return [
        {
            "label": "即将到期的医养签约",
            "value": expiring.count(),
            "icon": "calendar-x",
            "link": reverse("contracts:list") + "?status=" + rules.EXPIRING,
        },
        {
            "label": "未提供医养结合服务的养老机构",
            "value": sum(1 for r in rows if not r.covered),
            "icon": "heart-pulse",
            "link": reverse("contracts:coverage"),
        },
    ]


# -- own: DATA_APPS counts about the user themself ----------------------------------------------
def _own_sections(actor, region, flags) -> dict[str, list[dict]]:
    out = {}
    if flags["workflow.view_filing"]:
        out["filings"] = _filing_cards(actor, region)
    if flags["subsidies.view_application"]:
        from subsidies.views import pending_card

        card = pending_card(actor, region)
        out["subsidies"] = [card] if card else []
    return {name: _plain(cards) for name, cards in out.items()}


def _filing_cards(actor, region) -> list[dict]:
    """备案审批: what awaits a deciding officer (with how much of it is overdue or due soon), and
    a township's filings returned for correction. Chinese-only, like the filing pages."""
    from django.urls import reverse

    from eldercare.workflow.selectors import home_counts

    counts = home_counts(actor, region)
    inbox = reverse("workflow:list")
    cards = []
    if "todo" in counts:
        cards += [
            {
                "label": "待受理/待办理的备案",
                "value": counts["todo"],
                "icon": "inbox",
                "link": inbox + "?todo=1",
            },
            {
                "label": "已超期的备案",
                "value": counts["overdue"],
                "icon": "alarm",
                "link": inbox + "?todo=1&due=overdue",
            },
            {
                "label": "即将到期的备案（≤2个工作日）",
                "value": counts["due_soon"],
                "icon": "hourglass-split",
                "link": inbox + "?todo=1&due=due_soon",
            },
        ]
    if "returned" in counts:
        cards.append(
            {
                "label": "退回补正待修改的备案",
                "value": counts["returned"],
                "icon": "arrow-return-left",
                "link": inbox + "?status=returned",
            }
        )
    return cards


# -- live: models outside DATA_APPS (no data version covers them) -------------------------------
def _live_sections(actor, region) -> dict[str, list[dict]]:
    out = {}
    if actor.has_perm("accounts.view_user"):
        users = (
            get_user_model()
            .objects.for_user(actor)
            .filter(region__code__startswith=region.prefix)
            .aggregate(
                active=Count("pk", filter=Q(is_active=True)), disabled=Count("pk", filter=Q(is_active=False))
            )
        )
        out["accounts"] = [
            {"label": _("Active accounts"), "value": users["active"], "icon": "people"},
            {"label": _("Disabled accounts"), "value": users["disabled"], "icon": "person-x"},
        ]
    if actor.has_perm("accounts.unlock_user"):
        from eldercare.accounts.lockout import locked_usernames

        out["locked"] = [{"label": _("Locked accounts"), "value": len(locked_usernames()), "icon": "lock"}]
    if actor.has_perm("audit.view_auditevent"):
        from eldercare.audit.models import AuditEvent, Result

        today = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
        events = AuditEvent.objects.filter(at__gte=today).aggregate(
            all=Count("pk"), denied=Count("pk", filter=Q(result=Result.DENIED))
        )
        out["audit"] = [
            {"label": _("Audit events today"), "value": events["all"], "icon": "journal-text"},
            {"label": _("Failed sign-ins today"), "value": events["denied"], "icon": "shield-exclamation"},
        ]
    return out
