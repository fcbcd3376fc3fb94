"""Contract rules (DOMAIN.md §4), pure: active on D, the status shown, term checks, overlaps, and
the visits a quarter owes."""

import datetime

import pytest

from contracts import rules as r

D = datetime.date
YEAR_2026 = r.Term(D(2026, 1, 1), D(2026, 12, 31))


@pytest.mark.parametrize(
    "term,day,medical,expected",
    [
        (YEAR_2026, D(2026, 1, 1), True, True),  # the start day counts
        (YEAR_2026, D(2026, 12, 31), True, True),  # so does the end day
        (YEAR_2026, D(2027, 1, 1), True, False),
        (YEAR_2026, D(2025, 12, 31), True, False),
        (r.Term(D(2026, 1, 1), D(2026, 12, 31), D(2026, 11, 15)), D(2026, 11, 14), True, True),
        (
            r.Term(D(2026, 1, 1), D(2026, 12, 31), D(2026, 11, 15)),
            D(2026, 11, 15),
            True,
            False,
        ),  # terminated on D
        (YEAR_2026, D(2026, 6, 1), False, False),  # the medical party not operating on D
    ],
)
def test_active_on(term, day, medical, expected):
    assert r.active_on(term, day, medical_operating=medical) is expected


@pytest.mark.parametrize(
    "day,status",
    [
        (D(2025, 12, 31), r.NOT_STARTED),
        (D(2026, 6, 1), r.ACTIVE),
        (D(2026, 12, 1), r.EXPIRING),  # 30 days left
        (D(2026, 11, 30), r.ACTIVE),  # 31 days left
        (D(2026, 12, 31), r.EXPIRING),
        (D(2027, 1, 1), r.EXPIRED),
    ],
)
def test_status_from_dates(day, status):
    assert r.status_on(YEAR_2026, day) == status


def test_terminated_wins():
    assert r.status_on(r.Term(D(2026, 1, 1), D(2026, 12, 31), D(2026, 3, 1)), D(2026, 3, 1)) == r.TERMINATED
    assert r.STATUS_LABELS[r.TERMINATED] == "已终止"


def test_a_termination_lies_within_the_term():
    assert (
        "不能晚于协议结束日期"
        in r.term_errors(D(2020, 1, 1), D(2020, 12, 31), D(2025, 1, 1))["terminated_on"]
    )
    assert r.counts_visit(YEAR_2026, D(2026, 12, 31)) and not r.counts_visit(YEAR_2026, D(2027, 1, 1))
    ended = r.Term(D(2026, 1, 1), D(2026, 12, 31), D(2026, 6, 1))
    assert r.counts_visit(ended, D(2026, 5, 31)) and not r.counts_visit(ended, D(2026, 6, 1))


def test_term_errors_in_chinese():
    assert r.term_errors(D(2026, 1, 1), D(2026, 1, 1)) == {"end": "结束日期应晚于开始日期。"}
    assert (
        "终止日期不能早于开始日期"
        in r.term_errors(D(2026, 1, 1), D(2026, 12, 31), D(2025, 1, 1))["terminated_on"]
    )
    assert r.term_errors(D(2026, 1, 1), D(2026, 12, 31)) == {}


def test_overlaps_between_the_same_pair():
    renewal = r.Term(D(2027, 1, 1), D(2027, 12, 31))
    duplicate = r.Term(D(2026, 6, 1), D(2027, 5, 31))
    assert not r.overlaps(YEAR_2026, renewal)
    assert r.overlaps(YEAR_2026, duplicate)
    ended_early = r.Term(D(2026, 1, 1), D(2026, 12, 31), D(2026, 6, 1))
    assert not r.overlaps(ended_early, r.Term(D(2026, 6, 1), D(2027, 5, 31)))


@pytest.mark.parametrize(
    "term,freq,quarter,expected",
    [
        (YEAR_2026, "weekly", 4, 13),
        (YEAR_2026, "monthly", 4, 3),
        (YEAR_2026, "quarterly", 4, 1),
        (YEAR_2026, "half_yearly", 3, None),  # judged at the half-year's end
        (YEAR_2026, "half_yearly", 4, 1),
        (YEAR_2026, "", 4, None),
        (r.Term(D(2026, 11, 15), D(2027, 11, 14)), "monthly", 4, 2),  # 47 of 92 days: 3×47/92 = 1.53 → 2
        (r.Term(D(2026, 1, 2), D(2026, 12, 31)), "quarterly", 1, 1),  # 89 of 90 days still owes its visit
        (r.Term(D(2026, 12, 25), D(2027, 12, 24)), "monthly", 4, 0),  # a week: 3×7/92 = 0.23 → 0
        (r.Term(D(2026, 1, 1), D(2026, 12, 31), D(2026, 10, 1)), "monthly", 4, None),  # terminated before Q4
        (r.Term(D(2027, 1, 1), D(2027, 12, 31)), "monthly", 4, None),
    ],
)
def test_visits_owed_in_a_quarter(term, freq, quarter, expected):
    assert r.expected_visits(term, freq, 2026, quarter) == expected


def test_non_performing_is_fewer_than_promised():
    assert r.non_performing(3, 2) and not r.non_performing(3, 3) and not r.non_performing(None, 0)


def test_quarter_bounds():
    assert r.quarter_bounds(2026, 4) == (D(2026, 10, 1), D(2026, 12, 31))
    assert r.quarter_bounds(2026, 1) == (D(2026, 1, 1), D(2026, 3, 31))
    with pytest.raises(ValueError):
        r.quarter_bounds(2026, 5)
