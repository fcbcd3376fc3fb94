"""Working-day arithmetic for filing deadlines (DOMAIN.md §5). Pure: no ORM.

A day is looked up, in order: (1) the admin-editable calendar table (single days marked
workday or holiday, and the years whose official arrangement (国务院办公厅 holiday notice) has
been entered); (2) the `chinese-calendar` package, which knows 2004–2026 and raises
NotImplementedError for other years — a known cause of New-Year crashes; (3) for a year
neither covers, Monday to Friday, with the result flagged 「节假日安排未发布」 so the deadline is
shown as provisional. Time limits count whole working days after the starting day: the day of
acceptance itself is not counted (民法典 第二百零一条)."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

UNPUBLISHED = "节假日安排未发布"


@dataclass(frozen=True)
class Calendar:
    """The table's part: single days (True = workday, False = holiday) and the years whose
    whole arrangement the table holds."""

    days: dict[datetime.date, bool] = field(default_factory=dict)
    years: frozenset[int] = frozenset()


@dataclass(frozen=True)
class DayInfo:
    workday: bool
    covered: bool  # False: Monday–Friday guessed, the year's arrangement is not known


def day_info(day: datetime.date, cal: Calendar) -> DayInfo:
    if day in cal.days:
        return DayInfo(cal.days[day], True)
    if day.year in cal.years:
        return DayInfo(day.weekday() < 5, True)
    try:
        import chinese_calendar

        return DayInfo(bool(chinese_calendar.is_workday(day)), True)
    except (NotImplementedError, ImportError):
        return DayInfo(day.weekday() < 5, False)


@dataclass(frozen=True)
class Deadline:
    due: datetime.date
    provisional: bool  # a counted day lies in a year whose arrangement is not published

    @property
    def note(self) -> str:
        return UNPUBLISHED if self.provisional else ""


def add_working_days(start: datetime.date, days: int, cal: Calendar | None = None) -> Deadline:
    """The date `days` working days after `start` (`start` itself not counted)."""
    if days < 0:
        raise ValueError("days must not be negative")
    cal = cal or Calendar()
    day, counted, provisional = start, 0, False
    while counted < days:
        day += datetime.timedelta(days=1)
        info = day_info(day, cal)
        provisional = provisional or not info.covered
        if info.workday:
            counted += 1
    return Deadline(day, provisional)


def working_days_between(start: datetime.date, end: datetime.date, cal: Calendar | None = None) -> int:
    """Working days after `start` up to and including `end` (0 when end <= start)."""
    cal = cal or Calendar()
    count, day = 0, start
    while day < end:
        day += datetime.timedelta(days=1)
        if day_info(day, cal).workday:
            count += 1
    return count
