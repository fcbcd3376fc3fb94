"""Contract rules (DOMAIN.md §4). Pure: dataclasses and dates in, answers out; no ORM.

- *Active on D* (DOMAIN.md §4): start ≤ D ≤ end, not terminated on or before D, and the
  medical party operating on D (the last is a registry fact the caller supplies).
- The status shown today: 未生效 / 生效中 / 即将到期 (≤30 days left) / 已到期 / 已终止.
- Validity (《医疗卫生机构与养老服务机构签约合作服务指南（试行）》, 002 一(四)): a contract needs
  a medical party and an elder-care party, and ends after it starts; an overlapping contract
  between the same pair is flagged (a renewal should start after the old one ends).
- Performance: a contract is non-performing in a quarter when it logs fewer visits than its
  frequency promises — 每周 13, 每月 3, 每季度 1 a quarter (DOMAIN.md §4); 每半年 promises 1 a
  half-year, judged in the quarter that ends the half-year. A contract active for only part of
  the period owes the promise pro rata, rounded half up (a quarterly contract from 2 January
  still owes its visit; one active for a week of a quarter owes none); only visits on its active
  days count."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

NOT_STARTED, ACTIVE, EXPIRING, EXPIRED, TERMINATED = (
    "not_started",
    "active",
    "expiring",
    "expired",
    "terminated",
)
STATUS_LABELS = {
    NOT_STARTED: "未生效",
    ACTIVE: "生效中",
    EXPIRING: "即将到期",
    EXPIRED: "已到期",
    TERMINATED: "已终止",
}
EXPIRING_DAYS = 30

# Visits promised per quarter (DOMAIN.md §4); half-yearly: 1 per half-year, see `expected_visits`.
PER_QUARTER = {"weekly": 13, "monthly": 3, "quarterly": 1}


@dataclass(frozen=True)
class Term:
    start: datetime.date
    end: datetime.date
    terminated_on: datetime.date | None = None


def active_on(term: Term, day: datetime.date, *, medical_operating: bool = True) -> bool:
    if not (term.start <= day <= term.end):
        return False
    if term.terminated_on is not None and term.terminated_on <= day:
        return False
    return medical_operating


def status_on(term: Term, day: datetime.date) -> str:
    if term.terminated_on is not None and term.terminated_on <= day:
        return TERMINATED
    if day < term.start:
        return NOT_STARTED
    if day > term.end:
        return EXPIRED
    if (term.end - day).days <= EXPIRING_DAYS:
        return EXPIRING
    return ACTIVE


def term_errors(start, end, terminated_on=None) -> dict:
    """{field: Chinese message} for an impossible term. A termination lies within the term (a
    contract that has already ended is not terminated afterwards)."""
    errors = {}
    if start and end and end <= start:
        errors["end"] = "结束日期应晚于开始日期。"
    if terminated_on and start and terminated_on < start:
        errors["terminated_on"] = "终止日期不能早于开始日期。"
    elif terminated_on and end and terminated_on > end:
        errors["terminated_on"] = f"终止日期不能晚于协议结束日期（{end:%Y-%m-%d}）；协议届时已到期。"
    return errors


def last_active_day(term: Term) -> datetime.date:
    if term.terminated_on is None:
        return term.end
    return min(term.end, term.terminated_on - datetime.timedelta(days=1))


def counts_visit(term: Term, day: datetime.date) -> bool:
    """A visit counts towards performance on the contract's active days only."""
    return term.start <= day <= last_active_day(term)


def overlaps(a: Term, b: Term) -> bool:
    """Two terms share at least one day (each counted up to its end or termination)."""

    last = last_active_day
    return a.start <= last(b) and b.start <= last(a)


# -- quarters and visits ------------------------------------------------------------------------
def quarter_bounds(year: int, quarter: int) -> tuple[datetime.date, datetime.date]:
    if quarter not in (1, 2, 3, 4):
        raise ValueError("quarter must be 1–4")
    first = datetime.date(year, 3 * quarter - 2, 1)
    nxt = datetime.date(year + (quarter == 4), (3 * quarter) % 12 + 1, 1)
    return first, nxt - datetime.timedelta(days=1)


def _active_days(term: Term, first: datetime.date, last: datetime.date) -> int:
    lo, hi = max(first, term.start), min(last, last_active_day(term))
    return max((hi - lo).days + 1, 0)


def expected_visits(term: Term, frequency: str, year: int, quarter: int) -> int | None:
    """Visits the contract owes in the quarter, or None when nothing is judged (no frequency,
    not active in the period, or a half-yearly contract outside the half-year's last quarter)."""
    if frequency == "half_yearly":
        if quarter not in (2, 4):
            return None
        first, _ = quarter_bounds(year, quarter - 1)
        _, last = quarter_bounds(year, quarter)
        promise = 1
    elif frequency in PER_QUARTER:
        first, last = quarter_bounds(year, quarter)
        promise = PER_QUARTER[frequency]
    else:
        return None
    days = _active_days(term, first, last)
    if days == 0:
        return None
    period = (last - first).days + 1
    return (2 * promise * days + period) // (2 * period)  # promise × days / period, half up


def judged_period(frequency: str, year: int, quarter: int) -> tuple[datetime.date, datetime.date]:
    """The dates whose visits count towards the quarter's promise."""
    if frequency == "half_yearly":
        return quarter_bounds(year, quarter - 1)[0], quarter_bounds(year, quarter)[1]
    return quarter_bounds(year, quarter)


def non_performing(expected: int | None, logged: int) -> bool:
    return expected is not None and logged < expected
