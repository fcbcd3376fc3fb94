"""Reads for the filing pages (DOMAIN.md §5), always through the scope: the inbox's filters and
sort, the deadline alert as of today, who may bulk-accept which row, the county card's
aggregates and the home-page counts.

The alert (overdue / due soon) is computed from `due_on` and today's calendar rather than read
from the row's `alert` column, which the nightly pass refreshes: a page viewed before that pass
runs still shows a filing that fell due yesterday in red. The two agree whenever the pass has
run (same rule: machine.alert)."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.db.models import Avg, Case, Count, DateField, F, IntegerField, Q, Value, When
from django.db.models.functions import Concat, Substr
from django.utils import timezone

from eldercare.accounts.scope import for_user
from eldercare.regions import codes
from eldercare.regions.models import Level, Region

from . import effects, machine
from .models import Filing, FilingType, load_calendar
from .workdays import add_working_days

OPEN = (machine.SUBMITTED, machine.ACCEPTED)
DUE_CHOICES = [("overdue", "已超期"), ("due_soon", "即将到期"), ("alert", "已超期或即将到期")]
STATUS_CHOICES = [("open", "办理中（已提交、已受理）"), *machine.STATE_LABELS.items()]
PHASE_LABELS = {"acceptance": "受理时限", "decision": "办理时限"}
BADGES = {
    machine.DRAFT: "text-bg-secondary",
    machine.SUBMITTED: "text-bg-primary",
    machine.ACCEPTED: "text-bg-info",
    machine.RETURNED: "text-bg-warning",
    machine.APPROVED: "text-bg-success",
    machine.REJECTED: "text-bg-danger",
    machine.WITHDRAWN: "text-bg-light border",
}
ROW_CLASS = {"overdue": "table-danger", "due_soon": "table-warning"}
PROVISIONAL_HELP = (
    "该期限所跨年份的法定节假日安排尚未公布（或尚未录入系统），暂按周一至周五计算工作日；"
    "节假日安排录入后，系统会在每日例行计算时自动更正期限。"
)


def family_of(ftype: FilingType) -> str:
    """The institution family a filing of this type is about ("" when none)."""
    return ftype.subject_family or effects.SUBJECT_FAMILY.get(ftype.effect, "")


# -- deadlines as of today ----------------------------------------------------------------------
@dataclass(frozen=True)
class AlertBounds:
    """An open filing is overdue when due_on < today, and due soon when today <= due_on < limit
    (≤ machine.DUE_SOON_DAYS working days left: machine.alert as a date range the database can
    filter on)."""

    today: datetime.date
    limit: datetime.date


def alert_bounds(today: datetime.date | None = None) -> AlertBounds:
    today = today or timezone.localdate()
    cal = load_calendar(start=today, end=today + datetime.timedelta(days=60))
    return AlertBounds(today, add_working_days(today, machine.DUE_SOON_DAYS + 1, cal).due)


def alert_q(kind: str, bounds: AlertBounds) -> Q:
    base = Q(status__in=OPEN, due_on__isnull=False)
    if kind == "overdue":
        return base & Q(due_on__lt=bounds.today)
    if kind == "due_soon":
        return base & Q(due_on__gte=bounds.today, due_on__lt=bounds.limit)
    if kind == "alert":
        return base & Q(due_on__lt=bounds.limit)
    return Q()


def alert_of(filing: Filing, bounds: AlertBounds) -> str:
    if filing.status not in OPEN or filing.due_on is None:
        return ""
    if filing.due_on < bounds.today:
        return "overdue"
    if filing.due_on < bounds.limit:
        return "due_soon"
    return ""


# -- the inbox ----------------------------------------------------------------------------------
def decidable_q(actor) -> Q:
    """Open filings this actor decides: of types whose deciding role they hold, not their own."""
    roles = set(getattr(actor, "roles", ()))
    if not actor.has_perm("workflow.decide_filing") or not roles:
        return Q(pk__in=[])
    return Q(status__in=OPEN, type__decider_role__in=roles) & ~Q(created_by_id=actor.pk)


def township_choices(actor, region) -> list[Region]:
    """The townships (乡镇/街道) under the region being viewed, within the actor's scope."""
    return list(
        Region.objects.for_user(actor)
        .filter(level=Level.TOWNSHIP, code__startswith=codes.prefix_of(region.code))
        .only("code", "name", "level", "active")
        .order_by("-active", "code")
    )


def filings_for(*, actor, region, params: dict, bounds: AlertBounds, townships=None):
    """The scoped inbox with the page's filters (each checked against its known values, never
    splatted into filter()). Open filings first, soonest due first; then the newest."""
    qs = for_user(
        Filing.objects.select_related("type", "region", "created_by", "institution"), actor, region=region
    )
    if params.get("type"):
        qs = qs.filter(type__code=params["type"])
    status = params.get("status")
    if status == "open":
        qs = qs.filter(status__in=OPEN)
    elif status in machine.STATE_LABELS:
        qs = qs.filter(status=status)
    township = params.get("township") or ""
    if township and townships is not None and township in {r.code for r in townships}:
        qs = qs.filter(region__code__startswith=township[: codes.PREFIX_LEN[codes.TOWNSHIP]])
    if params.get("due") in dict(DUE_CHOICES):
        qs = qs.filter(alert_q(params["due"], bounds))
    if params.get("todo") == "1":
        qs = qs.filter(decidable_q(actor))
    q = (params.get("q") or "").strip()
    if q:
        qs = qs.filter(Q(number__icontains=q) | Q(title__icontains=q))
    return qs.annotate(
        open_rank=Case(When(status__in=OPEN, then=Value(0)), default=Value(1), output_field=IntegerField()),
        open_due=Case(When(status__in=OPEN, then=F("due_on")), default=None, output_field=DateField()),
    ).order_by("open_rank", F("open_due").asc(nulls_last=True), "-created_at", "-id")


# -- the county card ----------------------------------------------------------------------------
def month_range(text: str | None, today: datetime.date) -> tuple[datetime.date, datetime.date]:
    """The first and last day of "YYYY-MM" (this month when missing or malformed)."""
    try:
        year, month = (int(x) for x in (text or "").split("-"))
        first = datetime.date(year, month, 1)
    except ValueError:
        first = today.replace(day=1)
    nxt = (first.replace(day=28) + datetime.timedelta(days=4)).replace(day=1)
    return first, nxt - datetime.timedelta(days=1)


def _measures(first: datetime.date, last: datetime.date, bounds: AlertBounds) -> dict:
    submitted = Q(submitted_on__gte=first, submitted_on__lte=last)
    decided = Q(decided_on__gte=first, decided_on__lte=last)
    return {
        "submitted": Count("pk", filter=submitted),
        "decided": Count("pk", filter=decided),
        "on_time": Count("pk", filter=decided & Q(on_time=True)),
        "avg_days": Avg("working_days_to_decision", filter=decided),
        "open": Count("pk", filter=Q(status__in=OPEN)),
        "overdue": Count("pk", filter=alert_q("overdue", bounds)),
        "due_soon": Count("pk", filter=alert_q("due_soon", bounds)),
    }


_ZERO = {"submitted": 0, "decided": 0, "on_time": 0, "avg_days": None, "open": 0, "overdue": 0, "due_soon": 0}


def _finish(row: dict) -> dict:
    row = {**_ZERO, **row}
    row["rate"] = round(100 * row["on_time"] / row["decided"], 1) if row["decided"] else None
    row["avg"] = round(row["avg_days"], 1) if row["avg_days"] is not None else None
    return row


def filing_stats(*, actor, region, first: datetime.date, last: datetime.date, bounds: AlertBounds) -> dict:
    """Submitted and decided in the month, the on-time rate and the average working days to a
    decision, with the open / overdue / due-soon counts of today — in all, per filing type and
    per township (the 9-digit prefix of the filing's region). Three aggregate queries."""
    qs = for_user(Filing, actor, region=region).order_by()
    measures = _measures(first, last, bounds)
    total = _finish(qs.aggregate(**measures))

    per_type = {row.pop("type_id"): row for row in qs.values("type_id").annotate(**measures)}
    types = [t for t in FilingType.objects.order_by("id") if t.active or t.pk in per_type]
    by_type = [{"type": t, **_finish(per_type.get(t.pk, {}))} for t in types]

    township_code = Concat(Substr("region_id", 1, codes.PREFIX_LEN[codes.TOWNSHIP]), Value("000"))
    per_town = {
        row.pop("township"): row
        for row in qs.annotate(township=township_code).values("township").annotate(**measures)
    }
    townships = {r.code: r for r in township_choices(actor, region)}
    missing = set(per_town) - set(townships)
    if missing:
        townships.update({r.code: r for r in Region.objects.filter(code__in=missing)})
    by_township = []
    for code in sorted(townships):
        r = townships[code]
        label = r.name if codes.level_of(code) == codes.TOWNSHIP else f"{r.name}（本级）"
        by_township.append({"code": code, "label": label, "region": r, **_finish(per_town.get(code, {}))})
    return {"total": total, "by_type": by_type, "by_township": by_township}


# -- the home page ------------------------------------------------------------------------------
def home_counts(actor, region) -> dict:
    """Deciders: open filings awaiting them (of their types, not their own) with how many are
    overdue or due soon. Township staff: their filings returned for correction."""
    out = {}
    if not actor.has_perm("workflow.view_filing"):
        return out
    qs = for_user(Filing, actor, region=region)
    if actor.has_perm("workflow.decide_filing"):
        bounds = alert_bounds()
        out.update(
            qs.filter(decidable_q(actor)).aggregate(
                todo=Count("pk"),
                overdue=Count("pk", filter=alert_q("overdue", bounds)),
                due_soon=Count("pk", filter=alert_q("due_soon", bounds)),
            )
        )
    if "township" in getattr(actor, "roles", ()) and actor.has_perm("workflow.apply_filing"):
        out["returned"] = qs.filter(status=machine.RETURNED).count()
    return out
