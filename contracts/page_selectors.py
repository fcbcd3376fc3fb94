"""Reads for the contract pages only (contracts/views.py), on top of contracts/selectors.py: a
fixed number of queries per page whatever the number of rows — the townships' names, the
overlapping contracts of a page of rows, the medical institutions a form may offer, the
contract's timeline (audit events and filing steps), the coverage table per township and the
suggestions for the uncovered homes."""

from __future__ import annotations

import datetime
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Q

from eldercare.accounts.scope import for_user, region_in_scope
from eldercare.regions import codes
from eldercare.regions.models import Level, Region
from institutions.enums import Family, Status
from institutions.models import Institution

from . import rules, selectors
from .models import Contract, Frequency, Mode, ServiceItem

TOWNSHIP_LEN = codes.PREFIX_LEN[codes.TOWNSHIP]

STATUS_BADGES = {
    rules.NOT_STARTED: "text-bg-info",
    rules.ACTIVE: "text-bg-success",
    rules.EXPIRING: "text-bg-warning",
    rules.EXPIRED: "text-bg-secondary",
    rules.TERMINATED: "text-bg-secondary",
}

# The contract's facts as the timeline names them (the audit `changes` keys).
FIELD_LABELS = {
    "agreement_no": "协议编号",
    "medical": "医疗机构",
    "eldercare": "养老机构",
    "mode": "合作方式",
    "services": "服务内容",
    "visit_frequency": "巡诊频次",
    "start": "开始日期",
    "end": "结束日期",
    "terminated_on": "终止日期",
    "filed_on": "已备案日期",
}


def township_of(region_code: str) -> str:
    return region_code[:TOWNSHIP_LEN] + "000"


def region_names(region_codes) -> dict[str, str]:
    wanted = {c for c in region_codes if c}
    if not wanted:
        return {}
    return dict(Region.objects.filter(code__in=wanted).values_list("code", "name"))


def townships_in(actor, region) -> list[Region]:
    """The townships (乡镇/街道) under the region being viewed, within the actor's scope (a
    township user: their own)."""
    if region is None:
        return []
    if region.level >= Level.TOWNSHIP:
        return list(Region.objects.filter(code=township_of(region.code)))
    return list(
        Region.objects.for_user(actor)
        .filter(level=Level.TOWNSHIP, code__startswith=codes.prefix_of(region.code))
        .only("code", "name", "level", "active")
        .order_by("-active", "code")
    )


def code_of(inst: Institution) -> str:
    """How CONTRACT.md references an institution: its credit code, or the portal's 系统编号."""
    return inst.credit_code or inst.portal_no or ""


def visible_code(actor, inst: Institution) -> str:
    """The institution's reference as a page may show it to `actor`: its code when it lies in
    the actor's scope, nothing otherwise. A township user sees another township's medical party
    by id and name only (issue 5, CONTRACT.md `contracts` sheet)."""
    return code_of(inst) if region_in_scope(actor, inst.region_id) else ""


# -- the list -----------------------------------------------------------------------------------
def overlaps_for(contracts) -> dict[int, list[Contract]]:
    """{contract pk: the other contracts between the same pair whose terms overlap} for a page
    of contracts, in one query (services.overlapping, for many)."""
    contracts = list(contracts)
    if not contracts:
        return {}
    pairs = {(c.medical_id, c.eldercare_id) for c in contracts}
    same = defaultdict(list)
    for other in Contract.objects.filter(
        medical_id__in={m for m, _e in pairs}, eldercare_id__in={e for _m, e in pairs}
    ).only("pk", "agreement_no", "medical_id", "eldercare_id", "start", "end", "terminated_on"):
        same[(other.medical_id, other.eldercare_id)].append(other)
    return {
        c.pk: [
            o for o in same[(c.medical_id, c.eldercare_id)] if o.pk != c.pk and rules.overlaps(o.term, c.term)
        ]
        for c in contracts
    }


def medical_parties_of(qs) -> list[Institution]:
    """The medical parties of the (scoped) contracts, for the list's filter: names only."""
    return list(
        Institution.objects.filter(pk__in=qs.order_by().values("medical_id"))
        .only("pk", "name")
        .order_by("name", "pk")
    )


# -- the form -----------------------------------------------------------------------------------
def medical_choices(actor, region, *, include=None):
    """Operating medical institutions the elder-care party may sign with: those of the county
    being viewed (a township user's county: the medical party may be anywhere in it, CONTRACT.md),
    plus the contract's current one. The form names each; it adds the code only for those in
    the actor's scope (forms.MedicalChoiceField) — another township's are id and name only."""
    base = region.code if region is not None else actor.region_id
    prefix = codes.prefix_of(base)[: codes.PREFIX_LEN[codes.COUNTY]]
    wanted = Q(status=Status.OPERATING)
    if include is not None:
        wanted |= Q(pk=include)
    return (
        Institution.objects.filter(family=Family.MEDICAL, region__code__startswith=prefix)
        .filter(wanted)
        .only("pk", "name", "region_id", "credit_code", "portal_no")
        .order_by("name", "pk")
    )


def service_items():
    return list(ServiceItem.objects.filter(active=True).order_by("order", "code"))


# -- one contract ---------------------------------------------------------------------------------
def filings_of(contract: Contract, actor=None) -> list:
    """The contract's 医养签约协议备案 filings, oldest first: all of them, or (with `actor`)
    those the actor may open (another user's draft is the applicant side's only)."""
    from eldercare.workflow.models import Filing

    qs = Filing.objects.filter(
        subject_type__app_label="contracts", subject_type__model="contract", subject_id=contract.pk
    )
    if actor is not None:
        qs = for_user(qs, actor)
    return list(qs.order_by("created_at", "pk"))


OPEN_FILING = ("draft", "submitted", "accepted", "returned")


def open_filing(filings) -> object | None:
    for f in reversed(filings):
        if f.status in OPEN_FILING:
            return f
    return None


def filing_label(f) -> str:
    """A draft has no number yet (numbered when first submitted): 草稿 #id."""
    return f.reference


def services_label(codes_: list[str], names: dict[str, str]) -> str:
    return "、".join(names.get(c, c) for c in codes_ or [])


@dataclass
class Change:
    label: str
    old: str
    new: str


@dataclass
class Moment:
    at: datetime.datetime
    who: str
    what: str
    changes: list[Change] = field(default_factory=list)
    note: str = ""
    kind: str = "audit"  # audit | filing


def _display(key: str, value, names: dict, institutions: dict) -> str:
    if value in (None, "", []):
        return "—"
    if key in ("medical", "eldercare"):
        return institutions.get(value, f"#{value}")
    if key == "services":
        return services_label(value, names)
    if key == "mode":
        return dict(Mode.choices).get(value, value)
    if key == "visit_frequency":
        return dict(Frequency.choices).get(value, value)
    return str(value)


def timeline(contract: Contract, filings) -> list[Moment]:
    """Who changed what when (the audit trail of the contract: old → new with Chinese labels),
    and the steps of its 医养签约协议备案, oldest first. Three queries plus one per filing set."""
    from eldercare.audit.models import Action, AuditEvent
    from eldercare.workflow.models import FilingStep

    events = list(
        AuditEvent.objects.filter(object_type="contracts.contract", object_id=str(contract.pk))
        .select_related("actor")
        .order_by("at", "id")
    )
    parties = set()
    for e in events:
        for key in ("medical", "eldercare"):
            parties.update(v for v in (e.changes or {}).get(key, []) if isinstance(v, int))
    institutions = dict(Institution.objects.filter(pk__in=parties).values_list("pk", "name"))
    names = dict(ServiceItem.objects.values_list("code", "name"))
    out = []
    for e in events:
        if e.actor is not None:
            who = e.actor.full_name or e.actor.username
        else:  # the system actor: imports, the beat tasks, demo data
            who = "系统" if e.username in ("", "system") else e.username
        ch = e.changes or {}
        rows = [
            Change(
                FIELD_LABELS.get(k, k),
                _display(k, v[0], names, institutions),
                _display(k, v[1], names, institutions),
            )
            for k, v in ch.items()
            if isinstance(v, list | tuple) and len(v) == 2
        ]
        detail = e.detail or {}
        if e.action == Action.CREATE:
            what, rows = "登记协议", [r for r in rows if r.new != "—"]
        elif "filing" in detail and "filed_on" in ch:
            what = f"备案通过（{detail['filing'] or '—'}）"
        elif "terminated_on" in ch and len(ch) == 1:
            what = "终止协议"
        else:
            what = "修改协议"
        out.append(Moment(e.at, who, what, rows, note=detail.get("reason", "")))
    if filings:
        from eldercare.workflow import machine

        steps = FilingStep.objects.filter(filing__in=filings).select_related("filing").order_by("at", "id")
        for s in steps:
            label = machine.STATE_LABELS.get(s.to_state, s.to_state)
            out.append(
                Moment(
                    s.at,
                    s.actor_name,
                    f"备案 {filing_label(s.filing)}：{label}",
                    note=s.comment,
                    kind="filing",
                )
            )
    out.sort(key=lambda m: m.at)
    return out


@dataclass(frozen=True)
class QuarterRow:
    year: int
    quarter: int
    expected: int | None
    logged: int
    current: bool

    @property
    def label(self) -> str:
        return f"{self.year}年第{self.quarter}季度"

    @property
    def verdict(self) -> str:
        if not self.expected:  # nothing promised (None), or too few days in the quarter (0)
            return "不考核"
        if self.logged >= self.expected:
            return "已履约"
        return "进行中" if self.current else "未履约"


def quarter_of(day: datetime.date) -> tuple[int, int]:
    return day.year, (day.month - 1) // 3 + 1


def previous_quarter(year: int, quarter: int) -> tuple[int, int]:
    return (year - 1, 4) if quarter == 1 else (year, quarter - 1)


def last_complete_quarter(today: datetime.date) -> tuple[int, int]:
    return previous_quarter(*quarter_of(today))


def contract_quarters(contract: Contract, visit_days, today: datetime.date, n: int = 4) -> list[QuarterRow]:
    """The last `n` quarters up to today's (in progress: not judged until it ends), newest first.
    A quarter counts the visits of its judged period that fall on the contract's active days
    (rules.counts_visit: start … end, or the day before termination), as
    contracts.selectors.performance does."""
    if not contract.visit_frequency:
        return []
    in_term = [d for d in visit_days if rules.counts_visit(contract.term, d)]
    out = []
    y, q = quarter_of(today)
    for i in range(n):
        expected = rules.expected_visits(contract.term, contract.visit_frequency, y, q)
        first, last = rules.judged_period(contract.visit_frequency, y, q)
        logged = sum(1 for d in in_term if first <= d <= last)
        out.append(QuarterRow(y, q, expected, logged, current=i == 0))
        y, q = previous_quarter(y, q)
    return out


# -- coverage -----------------------------------------------------------------------------------
HUNDREDTH = Decimal("0.01")


def percent(numerator: int, denominator: int) -> Decimal | None:
    """numerator / denominator as a percentage rounded half-up to 2 decimals (DOMAIN.md §7:
    2/3 → 66.67, 1/8 → 12.50), exactly (integer arithmetic, no float); None for a zero
    denominator (shown "—", never 0%). Compare the fraction itself, never this."""
    if not denominator:
        return None
    hundredths = (20000 * numerator + denominator) // (2 * denominator)  # ⌊10000·n/d + ½⌋
    return (Decimal(hundredths) * HUNDREDTH).quantize(HUNDREDTH)


@dataclass
class TownshipCoverage:
    code: str
    name: str
    operating: int = 0
    covered: int = 0
    uncovered_homes: list = field(default_factory=list)
    covered_rows: list = field(default_factory=list)

    @property
    def uncovered(self) -> int:
        return self.operating - self.covered

    @property
    def rate(self) -> Decimal | None:
        """The shown rate (percent(), 2 decimals); None with no operating home."""
        return percent(self.covered, self.operating)


def coverage_by_township(rows, townships) -> list[TownshipCoverage]:
    """Totals per township (a home's region code up to the township, names from the regions),
    every township of the view listed, those with no operating home too."""
    table = {r.code: TownshipCoverage(r.code, r.name) for r in townships}
    missing = {township_of(r.region_id) for r in rows} - set(table)
    names = region_names(missing)
    for code in missing:
        # A home registered at the county itself (not under a township): 本级.
        label = names.get(code, code)
        if codes.level_of(code) != codes.TOWNSHIP:
            label += "（本级）"
        table[code] = TownshipCoverage(code, label)
    for r in rows:
        t = table[township_of(r.region_id)]
        t.operating += 1
        if r.covered:
            t.covered += 1
            t.covered_rows.append(r)
        else:
            t.uncovered_homes.append(r)
    return [table[c] for c in sorted(table)]


@dataclass(frozen=True)
class UncoveredHome:
    row: selectors.Covered
    institution: Institution | None
    suggestions: list  # of (Suggestion, linkable: bool)


def uncovered_with_suggestions(actor, rows) -> dict[int, UncoveredHome]:
    """For each uncovered row: the home (one query) and up to 3 suggested medical institutions
    of its county (selectors.nearest_medical over one pool loaded once). A suggestion outside
    the actor's scope is named only (no link): a township sees the county's medical
    institutions' names, nothing more."""
    rows = [r for r in rows if not r.covered]
    if not rows:
        return {}
    homes = {
        h.pk: h
        for h in Institution.objects.filter(pk__in=[r.institution_id for r in rows]).only(
            "pk", "name", "region_id", "latitude", "longitude"
        )
    }
    counties = {r.region_id[: codes.PREFIX_LEN[codes.COUNTY]] for r in rows}
    county_q = Q()
    for c in counties:
        county_q |= Q(region__code__startswith=c)
    pool = defaultdict(list)
    for m in (
        Institution.objects.filter(family=Family.MEDICAL, status=Status.OPERATING)
        .filter(county_q)
        .exclude(type="public_health")
        .only("pk", "name", "type", "region_id", "latitude", "longitude")
        .order_by("name", "pk")
    ):
        pool[m.region_id[: codes.PREFIX_LEN[codes.COUNTY]]].append(m)
    out = {}
    for r in rows:
        home = homes.get(r.institution_id)
        suggestions = []
        if home is not None:
            for s in selectors.nearest_medical(home, candidates=pool[home.region_id[:6]]):
                suggestions.append((s, region_in_scope(actor, s.institution.region_id)))
        out[r.institution_id] = UncoveredHome(r, home, suggestions)
    return out


def parse_day(text: str | None, default: datetime.date) -> datetime.date:
    try:
        return datetime.date.fromisoformat((text or "").strip())
    except ValueError:
        return default


# -- performance --------------------------------------------------------------------------------
@dataclass
class PerfGroup:
    key: str
    label: str
    judged: int = 0
    non_performing: int = 0


def performance_groups(items) -> tuple[list[PerfGroup], list[PerfGroup]]:
    """(per township, per medical institution) counts of non-performing / judged."""
    names = region_names({township_of(p.contract.eldercare.region_id) for p in items})
    towns, medical = {}, {}
    for p in items:
        t = township_of(p.contract.eldercare.region_id)
        for table, key, label in (
            (towns, t, names.get(t, t)),
            (medical, str(p.contract.medical_id), p.contract.medical.name),
        ):
            g = table.setdefault(key, PerfGroup(key, label))
            g.judged += 1
            g.non_performing += p.non_performing
    order = lambda g: (-g.non_performing, g.label)  # noqa: E731
    return sorted(towns.values(), key=order), sorted(medical.values(), key=order)
