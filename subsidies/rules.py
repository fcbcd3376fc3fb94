"""The subsidy rules (DOMAIN.md §6; the shipped policy 东政办〔2022〕42号 三(一)). Pure: facts and
the rule's parameters in, a decision out — every condition's pass/fail with a one-sentence
Chinese explanation and its clause; money as Decimal to the fen; no ORM.

Interpretation (stated to users as well):
- 改建 `construction_conversion`: run by a medical institution; 2,000 yuan per bed, once, in the
  application year.
- 新建·自建 `construction_new_owned`: run by a medical institution; ≥50 核定床位; an operating
  commitment ≥5 years; bed occupancy ≥50% — occupied (self-care + disabled) over 核定养老床位 of
  the latest monthly report whose month ended on or before the application date and no more than
  3 months before it (none: incomplete); ≥50% is exact: 2 × occupied ≥ beds. 10,000 per bed, once.
- 新建·租用 `construction_new_rented`: run by a medical institution; ≥50 核定床位; a lease of ≥5
  years; 5,000 per bed in 5 equal yearly installments, the first in the application year, the
  last absorbing any fen remainder. The lease's dates are both inclusive, as a Chinese lease is
  written (2026-01-01 至 2030-12-31 is 5 years): it covers [start, end + 1 day), so the
  condition is end + 1 day ≥ start + 5 years (`lease_term`; ADR 0012 "Lease term").
- 运营补助 `operation` for year Y (any elder-care institution): each month's occupied beds at month
  end by care type; a month counts if the policy was in force on its last day; months before
  opening or after closure count 0; a missing month while operating makes the application
  incomplete (never a silent 0); amount = (2,000 × Σ self-care + 2,400 × Σ disabled) / 12, rounded
  half up to the fen once; paid once in the application year.
- Construction beds: Σ beds of approved construction applications + these ≤ 核定 beds
  (`beds_not_yet_subsidised`). "以上/不低于" include the number (民法典 第一千二百五十九条).
- No policy in force on the relevant date: not eligible, with the failed check `policy_in_force`."""

from __future__ import annotations

import calendar
import datetime
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

FEN = Decimal("0.01")
CONVERSION, NEW_OWNED, NEW_RENTED, OPERATION = (
    "construction_conversion",
    "construction_new_owned",
    "construction_new_rented",
    "operation",
)
CONSTRUCTION = (CONVERSION, NEW_OWNED, NEW_RENTED)


@dataclass(frozen=True)
class Rule:
    """A policy rule as data (PolicyRule): its document, clause and parameters."""

    kind: str
    doc_no: str
    clause: str
    params: dict
    valid_from: datetime.date
    valid_to: datetime.date | None
    version: int = 1

    def in_force(self, day: datetime.date) -> bool:
        return self.valid_from <= day and (self.valid_to is None or day <= self.valid_to)

    @property
    def cite(self) -> str:
        return f"{self.doc_no} {self.clause}"

    def money(self, key: str) -> Decimal:
        return Decimal(str(self.params[key])).quantize(FEN)


@dataclass(frozen=True)
class Check:
    code: str
    passed: bool | None  # None: the data to judge it is missing
    message: str
    clause: str = ""

    def as_dict(self) -> dict:
        return {"code": self.code, "passed": self.passed, "message": self.message, "clause": self.clause}


@dataclass(frozen=True)
class Verdict:
    eligible: bool | None
    amount: Decimal
    checks: list[Check]
    installments: list[tuple[int, Decimal]] = field(default_factory=list)

    @property
    def explanation(self) -> list[str]:
        return [c.message for c in self.checks]


def _verdict(checks: list[Check], amount: Decimal, installments) -> Verdict:
    if any(c.passed is False for c in checks):
        return Verdict(False, Decimal("0.00"), checks, [])
    if any(c.passed is None for c in checks):
        return Verdict(None, Decimal("0.00"), checks, [])
    return Verdict(True, amount.quantize(FEN), checks, installments)


def _no_policy(day: datetime.date, what: str) -> Verdict:
    return Verdict(
        False,
        Decimal("0.00"),
        [Check("policy_in_force", False, f"{day:%Y-%m-%d}（{what}）没有适用于该地区的有效补助政策。", "")],
        [],
    )


def add_years(day: datetime.date, years: int) -> datetime.date:
    """The same date `years` later (29 February → 28 February in a common year)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def shift_months(day: datetime.date, months: int) -> datetime.date:
    """The day `months` later with the same day of the month; when that month has no such day
    (31 January + 1 month, 29 February + 12 months) the first day of the month after it — so a
    period counted from `day` covers the whole of the shorter month."""
    y, m = divmod(day.month - 1 + months, 12)
    y, m = day.year + y, m + 1
    if day.day <= calendar.monthrange(y, m)[1]:
        return datetime.date(y, m, day.day)
    return datetime.date(y + m // 12, m % 12 + 1, 1)


def lease_term(start: datetime.date, end: datetime.date) -> tuple[int, int, int]:
    """The (years, months, days) a lease from `start` to `end`, both days inclusive, covers:
    2026-01-01 至 2030-12-31 → (5, 0, 0); 2026-01-01 至 2030-12-30 → (4, 11, 30). `end` before
    `start` → (0, 0, 0)."""
    stop = end + datetime.timedelta(days=1)  # the first day not covered
    if stop <= start:
        return (0, 0, 0)
    months = (stop.year - start.year) * 12 + stop.month - start.month
    while months > 0 and shift_months(start, months) > stop:
        months -= 1
    years, rest = divmod(months, 12)
    return years, rest, (stop - shift_months(start, months)).days


def term_text(term: tuple[int, int, int]) -> str:
    """(4, 11, 30) → 「4 年 11 个月 30 天」; (5, 0, 0) → 「5 年」."""
    years, months, days = term
    parts = [f"{years} 年" if years else "", f"{months} 个月" if months else "", f"{days} 天" if days else ""]
    return " ".join(p for p in parts if p) or "0 天"


def month_end(year: int, month: int) -> datetime.date:
    return datetime.date(year, month, calendar.monthrange(year, month)[1])


def split(total: Decimal, parts: int) -> list[Decimal]:
    """Equal parts rounded down to the fen, the last absorbing the remainder."""
    each = (total / parts).quantize(FEN, rounding=ROUND_DOWN)
    return [each] * (parts - 1) + [total - each * (parts - 1)]


# -- construction ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Occupancy:
    month: datetime.date  # the report's month (any day in it)
    self_care: int
    disabled: int

    @property
    def occupied(self) -> int:
        return self.self_care + self.disabled

    @property
    def ended(self) -> datetime.date:
        return month_end(self.month.year, self.month.month)


@dataclass(frozen=True)
class ConstructionFacts:
    application_date: datetime.date
    run_by_medical: bool | None  # None: the registry holds no record for the application date
    approved_beds: int | None  # 核定养老床位
    beds: int | None  # applied for (default: 核定养老床位)
    beds_already_approved: int = 0  # Σ beds of this institution's approved construction decisions
    committed_years: int | None = None  # 新建·自建
    lease_start: datetime.date | None = None  # 新建·租用
    lease_end: datetime.date | None = None
    occupancy: tuple[Occupancy, ...] = ()  # the monthly reports (any; the rule picks the one it reads)


def latest_occupancy(reports, day: datetime.date, window_months: int) -> Occupancy | None:
    """The latest report whose month ended on or before `day` and not more than `window_months`
    months before it."""
    earliest = _months_back(day, window_months)
    candidates = [r for r in reports if earliest <= r.ended <= day]
    return max(candidates, key=lambda r: r.ended, default=None)


def _months_back(day: datetime.date, months: int) -> datetime.date:
    y, m = day.year, day.month - months
    while m <= 0:
        y, m = y - 1, m + 12
    return datetime.date(y, m, min(day.day, calendar.monthrange(y, m)[1]))


def construction(rule: Rule | None, facts: ConstructionFacts, kind: str) -> Verdict:
    day = facts.application_date
    if rule is None or not rule.in_force(day):
        return _no_policy(day, "申请日")
    p, cite, checks = rule.params, rule.cite, []
    if p.get("requires_run_by_medical", True):
        message = {
            True: "该养老机构由医疗机构举办（医中办养）。",
            False: "建设补助限于医疗机构举办的养老机构；该机构未登记举办医疗机构。",
            None: "机构名录中没有该机构在申请日的登记记录，无法确认是否由医疗机构举办。",
        }[facts.run_by_medical]
        checks.append(Check("run_by_medical", facts.run_by_medical, message, cite))
    beds = facts.beds if facts.beds is not None else facts.approved_beds
    if facts.approved_beds is None:
        checks.append(Check("approved_beds", None, "机构名录中未登记核定养老床位数，无法计算补助。", cite))
        return _verdict(checks, Decimal("0"), [])
    if "min_beds" in p:
        ok = facts.approved_beds >= int(p["min_beds"])
        checks.append(
            Check(
                "min_beds",
                ok,
                f"核定床位 {facts.approved_beds} 张，{'达到' if ok else '不足'} {p['min_beds']} 张以上的要求。",
                cite,
            )
        )
    if beds is None or beds <= 0:
        checks.append(Check("beds", False, "申请补助的床位数应为正整数。", cite))
        return _verdict(checks, Decimal("0"), [])
    remaining = facts.approved_beds - facts.beds_already_approved
    ok = beds <= remaining
    checks.append(
        Check(
            "beds_not_yet_subsidised",
            ok,
            f"申请 {beds} 张，已批准建设补助 {facts.beds_already_approved} 张，核定 {facts.approved_beds} 张"
            + ("，未超出核定床位。" if ok else f"，超出核定床位（最多还可申请 {max(remaining, 0)} 张）。"),
            cite,
        )
    )
    if kind == NEW_OWNED:
        years = facts.committed_years
        need = int(p.get("min_commit_years", 5))
        if years is None:
            checks.append(Check("commitment", None, f"未填写承诺运营年限（须不低于 {need} 年）。", cite))
        else:
            ok = years >= need
            checks.append(
                Check(
                    "commitment",
                    ok,
                    f"承诺运营 {years} 年，{'符合' if ok else '不符合'}不低于 {need} 年的要求。",
                    cite,
                )
            )
        window = int(p.get("occupancy_window_months", 3))
        report = latest_occupancy(facts.occupancy, day, window)
        threshold = Decimal(str(p.get("min_occupancy", "0.5")))
        if report is None:
            checks.append(
                Check(
                    "occupancy",
                    None,
                    f"申请日前 {window} 个月内没有入住月报，无法判断床位使用率（须 {threshold:.0%} 以上）。",
                    cite,
                )
            )
        else:
            ok = report.occupied >= threshold * facts.approved_beds  # exact: 2 × occupied ≥ beds at 50%
            rate = (Decimal(report.occupied) / facts.approved_beds * 100).quantize(
                FEN, rounding=ROUND_HALF_UP
            )
            checks.append(
                Check(
                    "occupancy",
                    ok,
                    f"{report.month:%Y年%m月}末入住 {report.occupied} 张 / 核定 {facts.approved_beds} 张，"
                    f"床位使用率 {rate}%，{'达到' if ok else '未达到'} {threshold:.0%} 以上的要求。",
                    cite,
                )
            )
    if kind == NEW_RENTED:
        need = int(p.get("min_lease_years", 5))
        if facts.lease_start is None or facts.lease_end is None:
            checks.append(Check("lease", None, f"未填写租期起止日期（租用年限须在 {need} 年以上）。", cite))
        elif facts.lease_end < facts.lease_start:
            checks.append(
                Check(
                    "lease",
                    False,
                    f"租期结束日期 {facts.lease_end:%Y-%m-%d} 早于开始日期 {facts.lease_start:%Y-%m-%d}。",
                    cite,
                )
            )
        else:
            # Both days inclusive: the lease covers [start, end + 1 day) (ADR 0012 "Lease term").
            term = lease_term(facts.lease_start, facts.lease_end)
            ok = term[0] >= need
            checks.append(
                Check(
                    "lease",
                    ok,
                    f"租期 {term_text(term)}（{facts.lease_start:%Y-%m-%d} 至 {facts.lease_end:%Y-%m-%d}，"
                    f"起止日均计入），{'达到' if ok else '不足'} {need} 年以上的要求。",
                    cite,
                )
            )
    total = rule.money("amount_per_bed") * beds
    parts = int(p.get("installments", 1))
    schedule = (
        [(day.year + i, amt) for i, amt in enumerate(split(total, parts))]
        if parts > 1
        else [(day.year, total)]
    )
    return _verdict(checks, total, schedule)


# -- operation ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Month:
    month: int  # 1–12
    operating: bool  # open (and not closed) at month end
    self_care: int | None  # None: no report
    disabled: int | None


@dataclass(frozen=True)
class OperationFacts:
    year: int
    application_date: datetime.date
    months: tuple[Month, ...]  # all twelve
    already_granted: bool = False  # an approved operation subsidy for this institution and year


def operation(rule, facts: OperationFacts) -> Verdict:
    """`rule`: the rule of each month ({1: Rule | None, …, 12: …}: the one in force on that
    month's last day — a year may span two documents), or one Rule for the whole year."""
    if isinstance(rule, dict):
        by_month = {m: r for m, r in rule.items() if r is not None and r.in_force(month_end(facts.year, m))}
    else:
        by_month = {
            m: rule for m in range(1, 13) if rule is not None and rule.in_force(month_end(facts.year, m))
        }
    counted = [m for m in facts.months if m.month in by_month]
    if not counted:
        return _no_policy(month_end(facts.year, 12), f"{facts.year} 年各月末")
    cite = "、".join(dict.fromkeys(r.cite for r in by_month.values()))
    checks = []
    checks.append(
        Check(
            "one_per_year",
            not facts.already_granted,
            f"{facts.year} 年运营补助"
            + ("已批准过，不能重复申请。" if facts.already_granted else "尚未批准过。"),
            cite,
        )
    )
    missing = [m.month for m in counted if m.operating and (m.self_care is None or m.disabled is None)]
    if missing:
        checks.append(
            Check(
                "months_reported",
                None,
                f"{facts.year} 年 {'、'.join(f'{m}月' for m in missing)} 运营中但缺少入住月报，补齐后才能计算。",
                cite,
            )
        )
        return _verdict(checks, Decimal("0"), [])
    live = [m for m in counted if m.operating]
    self_total = sum(m.self_care or 0 for m in live)
    disabled_total = sum(m.disabled or 0 for m in live)
    outside = 12 - len(counted)
    idle = [m.month for m in counted if not m.operating]
    checks.append(
        Check(
            "months_reported",
            True,
            f"{facts.year} 年各月末入住合计：自理 {self_total} 床·月、失能 {disabled_total} 床·月"
            + (f"（政策未生效的 {outside} 个月不计）" if outside else "")
            + (f"（{'、'.join(f'{m}月' for m in idle)}未运营，计 0）" if idle else "")
            + "。",
            cite,
        )
    )
    # Σ over months at each month's own rates, divided by 12 and rounded half up once.
    total = sum(
        (
            by_month[m.month].money("self_care_per_bed_year") * (m.self_care or 0)
            + by_month[m.month].money("disabled_per_bed_year") * (m.disabled or 0)
            for m in live
        ),
        Decimal("0"),
    )
    amount = (total / 12).quantize(FEN, rounding=ROUND_HALF_UP)
    if amount <= 0:
        checks.append(Check("occupied", False, f"{facts.year} 年没有实际入住床位，不产生运营补助。", cite))
    return _verdict(checks, amount, [(facts.application_date.year, amount)])
