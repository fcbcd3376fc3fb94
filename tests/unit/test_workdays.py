"""Working days (DOMAIN.md §5): the dates the brief pins, the acceptance day not counted, the
table before the package, and 2027 — not yet published — Monday–Friday and flagged."""

import datetime

import pytest

from eldercare.workflow.workdays import (
    UNPUBLISHED,
    Calendar,
    add_working_days,
    day_info,
    working_days_between,
)

D = datetime.date


@pytest.mark.parametrize(
    "day,workday",
    [
        (D(2026, 2, 14), True),  # Saturday, 春节 make-up workday
        (D(2026, 10, 10), True),  # Saturday, 国庆 make-up workday
        (D(2026, 2, 16), False),  # Monday, 春节
        (D(2026, 10, 7), False),  # Wednesday, 国庆
        (D(2026, 12, 1), True),  # an ordinary Tuesday
        (D(2026, 12, 5), False),  # an ordinary Saturday
    ],
)
def test_the_dates_the_brief_pins(day, workday):
    info = day_info(day, Calendar())
    assert info.workday is workday and info.covered


def test_acceptance_day_is_not_counted():
    # Accepted on Tuesday 2026-12-01: 10 working days → Tuesday 2026-12-15.
    assert add_working_days(D(2026, 12, 1), 10).due == D(2026, 12, 15)
    assert add_working_days(D(2026, 12, 1), 0).due == D(2026, 12, 1)
    # Accepted on Friday 2026-10-09 (after 国庆): 5 working days, 10-10 (Sat) is one of them.
    assert add_working_days(D(2026, 10, 9), 5).due == D(2026, 10, 15)


def test_new_year_uncovered_year_is_weekdays_and_flagged_instead_of_crashing():
    # Accepted mid-December 2026, due in January 2027 whose arrangement is not published.
    due = add_working_days(D(2026, 12, 21), 10)
    assert due.provisional and due.note == UNPUBLISHED
    assert due.due == D(2027, 1, 4)  # Mon–Fri only; 2027-01-01 (Fri) counted as a workday
    within = add_working_days(D(2026, 12, 1), 5)
    assert not within.provisional


def test_the_table_wins_over_the_package_and_covers_a_year():
    cal = Calendar(days={D(2027, 1, 1): False}, years=frozenset({2027}))
    due = add_working_days(D(2026, 12, 21), 10, cal)
    assert not due.provisional and due.due == D(2027, 1, 5)  # New Year's Day skipped
    override = Calendar(days={D(2026, 12, 2): False})  # e.g. a local closure entered by the admin
    assert add_working_days(D(2026, 12, 1), 1, override).due == D(2026, 12, 3)


def test_working_days_between():
    assert working_days_between(D(2026, 12, 1), D(2026, 12, 15)) == 10
    assert working_days_between(D(2026, 12, 15), D(2026, 12, 1)) == 0
    with pytest.raises(ValueError):
        add_working_days(D(2026, 12, 1), -1)
