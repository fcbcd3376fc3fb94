"""Reads for the home page, always through the scope."""

from django.contrib.auth import get_user_model
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from eldercare.regions.models import Level, Region


def home_cards(actor, region) -> list[dict]:
    """Counts in the actor's scope (narrowed to the region switcher's choice)."""
    cards = []
    if actor.has_perm("regions.view_region"):
        counts = (
            Region.objects.for_user(actor)
            .filter(code__startswith=region.prefix, active=True)
            .aggregate(
                townships=Count("code", filter=Q(level=Level.TOWNSHIP)),
                villages=Count("code", filter=Q(level=Level.VILLAGE)),
            )
        )
        cards.append({"label": _("Townships and streets"), "value": counts["townships"], "icon": "geo-alt"})
        cards.append(
            {"label": _("Villages and communities"), "value": counts["villages"], "icon": "house-door"}
        )
    if actor.has_perm("institutions.view_institution"):
        from django.db.models import Sum

        from institutions.models import Institution

        insts = Institution.objects.for_user(actor, region=region).filter(status="operating")
        agg = insts.aggregate(
            medical=Count("pk", filter=Q(family="medical")),
            eldercare=Count("pk", filter=Q(family="eldercare")),
            beds=Sum("beds_eldercare", filter=Q(family="eldercare")),
        )
        cards.append(
            {"label": _("Operating medical institutions"), "value": agg["medical"], "icon": "hospital"}
        )
        cards.append(
            {
                "label": _("Operating elder-care institutions"),
                "value": agg["eldercare"],
                "icon": "house-heart",
            }
        )
        cards.append({"label": _("Approved elder-care beds"), "value": agg["beds"] or 0, "icon": "hospital"})
        cards.append(
            {
                "label": _("Institutions with compliance warnings"),
                "value": insts.exclude(warning_codes="").count(),
                "icon": "exclamation-triangle",
                "link": "/institutions/?warnings=any",
            }
        )
    if actor.has_perm("workflow.view_filing"):
        cards.extend(_filing_cards(actor, region))
    if actor.has_perm("contracts.view_contract"):
        cards.extend(_contract_cards(actor, region))
    if actor.has_perm("assessments.view_report"):
        from assessments.page_selectors import home_card

        card = home_card(actor, region)
        if card:
            cards.append(card)
    if actor.has_perm("accounts.view_user"):
        users = get_user_model().objects.for_user(actor).filter(region__code__startswith=region.prefix)
        cards.append(
            {"label": _("Active accounts"), "value": users.filter(is_active=True).count(), "icon": "people"}
        )
        cards.append(
            {
                "label": _("Disabled accounts"),
                "value": users.filter(is_active=False).count(),
                "icon": "person-x",
            }
        )
    if actor.has_perm("accounts.unlock_user"):
        from eldercare.accounts.lockout import locked_usernames

        cards.append({"label": _("Locked accounts"), "value": len(locked_usernames()), "icon": "lock"})
    if actor.has_perm("audit.view_auditevent"):
        from eldercare.audit.models import AuditEvent, Result

        today = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
        events = AuditEvent.objects.filter(at__gte=today)
        cards.append({"label": _("Audit events today"), "value": events.count(), "icon": "journal-text"})
        cards.append(
            {
                "label": _("Failed sign-ins today"),
                "value": events.filter(result=Result.DENIED).count(),
                "icon": "shield-exclamation",
            }
        )
    if actor.has_perm("subsidies.view_application"):
        from subsidies.views import pending_card

        card = pending_card(actor, region)
        if card:
            cards.append(card)
    return cards


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
