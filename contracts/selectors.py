"""Reads about contracts, always scoped, and the coverage question (DOMAIN.md §3, §4, §7).

An elder-care institution *provides medical care on D* when, on D (from the registry's
effective-dated history, not today's copy), it has an internal medical unit (养中办医), or is run
by a medical institution (医中办养), or is party to a contract active on D whose medical party is
operating on D (医养签约 / 医养融合 by the contract's mode). `coverage_on` answers it for every
operating elder-care institution in a region with one query (subqueries per row in the
database, no Python loop over institutions) — the same expression the reports use."""

from __future__ import annotations

import datetime
import math
from dataclasses import dataclass

from django.db.models import Exists, OuterRef, Q, Subquery
from django.utils import timezone

from eldercare.accounts.scope import for_user
from institutions.enums import Family, Status
from institutions.models import Institution, versions_on

from . import rules
from .models import Contract, Mode, Visit

# How a contract's mode reads as one of 002's four integration modes.
MODE_ROUTE = {
    Mode.AGREEMENT: "医养签约",
    Mode.ENTRUSTED: "医养融合（托管）",
    Mode.OUTSOURCED: "医养融合（外包）",
    Mode.CO_BUILT: "医养融合（共建）",
    Mode.ALLIANCE: "医养签约（医联体）",
}


def contracts_for(*, actor, region=None, params=None):
    qs = for_user(Contract.objects.all(), actor, region=region).select_related(
        "medical", "eldercare", "eldercare__region"
    )
    p = params or {}
    today = timezone.localdate() if p.get("today") is None else p["today"]
    status = p.get("status")
    horizon = today + datetime.timedelta(days=rules.EXPIRING_DAYS)
    not_terminated = Q(terminated_on__isnull=True) | Q(terminated_on__gt=today)
    if status == rules.TERMINATED:
        qs = qs.filter(terminated_on__lte=today)
    elif status == rules.NOT_STARTED:
        qs = qs.filter(not_terminated, start__gt=today)
    elif status == rules.EXPIRED:
        qs = qs.filter(not_terminated, end__lt=today)
    elif status == rules.EXPIRING:
        qs = qs.filter(not_terminated, start__lte=today, end__gte=today, end__lte=horizon)
    elif status == rules.ACTIVE:
        qs = qs.filter(not_terminated, start__lte=today, end__gt=horizon)
    if p.get("mode"):
        qs = qs.filter(mode=p["mode"])
    if p.get("township"):
        qs = qs.filter(eldercare__region__code__startswith=str(p["township"])[:9])
    if p.get("medical"):
        qs = qs.filter(medical_id=p["medical"])
    if p.get("filed") in ("1", "0"):
        qs = qs.filter(filed_on__isnull=p["filed"] == "0")
    q = str(p.get("q") or "").strip()
    if q:
        qs = qs.filter(
            Q(agreement_no__icontains=q) | Q(medical__name__icontains=q) | Q(eldercare__name__icontains=q)
        )
    return qs.order_by("-start", "agreement_no", "pk")


def _operating_on(day):
    return (
        versions_on(day)
        .filter(status=Status.OPERATING)
        .filter(Q(opened_on__isnull=True) | Q(opened_on__lte=day))
    )


def active_contracts_on(day):
    """Contracts active on `day` with the medical party operating on `day` (DOMAIN.md §4)."""
    medical_operating = _operating_on(day).filter(institution_id=OuterRef("medical_id"))
    return Contract.objects.active_on(day).filter(Exists(medical_operating))


@dataclass(frozen=True)
class Covered:
    institution_id: int
    name: str
    region_id: str
    portal_no: str
    beds: int | None
    internal_unit: str
    run_by_id: int | None
    contract_id: int | None
    contract_mode: str | None

    @property
    def covered(self) -> bool:
        return (
            bool(self.internal_unit and self.internal_unit != "none")
            or bool(self.run_by_id)
            or bool(self.contract_id)
        )

    @property
    def routes(self) -> list[str]:
        out = []
        if self.internal_unit and self.internal_unit != "none":
            out.append("养中办医")
        if self.run_by_id:
            out.append("医中办养")
        if self.contract_id:
            out.append(MODE_ROUTE.get(self.contract_mode, "医养签约"))
        return out


def coverage_on(day: datetime.date, *, actor, region=None) -> list[Covered]:
    """Every elder-care institution (the whole family) operating on `day` in the actor's scope,
    with how it provides medical care then (if at all). One query."""
    from eldercare.accounts.scope import actor_prefix

    prefix = actor_prefix(actor, region)
    homes = _operating_on(day).filter(institution__family=Family.ELDERCARE)
    if prefix:
        homes = homes.filter(region__code__startswith=prefix)
    contract = (
        active_contracts_on(day).filter(eldercare_id=OuterRef("institution_id")).order_by("start", "pk")
    )
    rows = homes.annotate(
        contract_id=Subquery(contract.values("pk")[:1]),
        contract_mode=Subquery(contract.values("mode")[:1]),
    ).values_list(
        "institution_id",
        "name",
        "region_id",
        "institution__portal_no",
        "beds_eldercare",
        "internal_unit",
        "run_by_id",
        "contract_id",
        "contract_mode",
    )
    return [Covered(*r) for r in rows.order_by("region_id", "name")]


@dataclass(frozen=True)
class Suggestion:
    institution: Institution
    distance_km: float | None  # None: same township, no coordinates to compare


def _km(lat1, lon1, lat2, lon2) -> float:
    p1, p2 = math.radians(float(lat1)), math.radians(float(lat2))
    dp, dl = p2 - p1, math.radians(float(lon2) - float(lon1))
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 6371.0 * 2 * math.asin(math.sqrt(a))


def nearest_medical(home: Institution, *, limit: int = 3, candidates=None) -> list[Suggestion]:
    """Medical institutions to suggest to an uncovered home: by distance when both have
    coordinates, else those of the same township. Operating ones, in the home's county, not
    专业公共卫生机构 — when `candidates` is given (loaded once for a page), the caller has
    applied those filters."""
    pool = candidates
    if pool is None:
        pool = list(
            Institution.objects.filter(
                family=Family.MEDICAL, status=Status.OPERATING, region__code__startswith=home.region_id[:6]
            ).exclude(type="public_health")
        )
    if home.latitude is not None and home.longitude is not None:
        located = [m for m in pool if m.latitude is not None and m.longitude is not None]
        if located:
            ranked = sorted(
                located, key=lambda m: _km(home.latitude, home.longitude, m.latitude, m.longitude)
            )
            return [
                Suggestion(m, round(_km(home.latitude, home.longitude, m.latitude, m.longitude), 1))
                for m in ranked[:limit]
            ]
    township = home.region_id[:9]
    same = [m for m in pool if m.region_id[:9] == township]
    same.sort(
        key=lambda m: (m.type not in ("township_hc", "chc", "general_hospital", "tcm_hospital"), m.name)
    )
    return [Suggestion(m, None) for m in same[:limit]]


# -- performance -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Performance:
    contract: Contract
    expected: int | None
    logged: int

    @property
    def non_performing(self) -> bool:
        return rules.non_performing(self.expected, self.logged)


def performance(*, actor, year: int, quarter: int, region=None) -> list[Performance]:
    """Per contract with a visit frequency and active in the quarter: visits owed and logged."""
    first, last = rules.quarter_bounds(year, quarter)
    qs = (
        for_user(Contract.objects.all(), actor, region=region)
        .exclude(visit_frequency="")
        .filter(start__lte=last, end__gte=first)
        .exclude(terminated_on__lte=first)
        .select_related("medical", "eldercare", "eldercare__region")
    )
    contracts = list(qs)
    if not contracts:
        return []
    lo = rules.quarter_bounds(year, max(quarter - 1, 1))[0]
    visits: dict[int, list[datetime.date]] = {}
    for cid, day in Visit.objects.filter(contract__in=contracts, date__gte=lo, date__lte=last).values_list(
        "contract_id", "date"
    ):
        visits.setdefault(cid, []).append(day)
    out = []
    for c in contracts:
        expected = rules.expected_visits(c.term, c.visit_frequency, year, quarter)
        if expected is None:
            continue
        p_first, p_last = rules.judged_period(c.visit_frequency, year, quarter)
        logged = sum(
            1 for d in visits.get(c.pk, []) if p_first <= d <= p_last and rules.counts_visit(c.term, d)
        )
        out.append(Performance(c, expected, logged))
    return sorted(
        out, key=lambda p: (not p.non_performing, p.contract.eldercare.region_id, p.contract.agreement_no)
    )
