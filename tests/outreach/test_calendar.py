"""Working hours on the Russian production calendar (dates of the published 2026 calendar)."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from outreach.calendar import WorkingHours
from timesheets.calendar import ProductionCalendar

MSK = ZoneInfo("Europe/Moscow")
HOURS = WorkingHours(ProductionCalendar(), dt.time(9), dt.time(18), MSK)


def at(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=MSK)


@pytest.mark.parametrize(("day", "working", "shortened"), [
    (dt.date(2026, 1, 9), False, False),    # a day off moved from Saturday 3 January (decree for 2026)
    (dt.date(2026, 1, 12), True, False),    # the first working day of the year
    (dt.date(2026, 3, 9), False, False),    # 8 March fell on a Sunday: Monday is off (ст. 112 ч. 2)
    (dt.date(2026, 4, 30), True, True),     # before 1 May: one hour shorter (ст. 95)
    (dt.date(2026, 5, 8), True, True),      # before 9 May
    (dt.date(2026, 6, 11), True, True),     # before 12 June
    (dt.date(2026, 6, 13), False, False),   # a Saturday
    (dt.date(2026, 12, 31), False, False),  # moved from Sunday 4 January
])
def test_the_calendar_knows_days_off_and_short_days(day: dt.date, working: bool, shortened: bool) -> None:
    facts = ProductionCalendar().day(day)
    assert (facts.working, facts.shortened) == (working, shortened)
    assert ProductionCalendar().is_working(day) is working


def test_hours_count_only_inside_working_days() -> None:
    friday_afternoon = at(2026, 6, 5, 16, 0)
    assert HOURS.between(friday_afternoon, at(2026, 6, 5, 17, 30)) == 1.5
    assert HOURS.between(friday_afternoon, at(2026, 6, 8, 10, 0)) == 3.0   # Fri 2 h + Mon 1 h
    assert HOURS.between(at(2026, 6, 5, 20, 0), at(2026, 6, 8, 8, 59)) == 0.0
    assert HOURS.between(at(2026, 6, 8, 10, 0), friday_afternoon) == 0.0  # backwards: nothing
    # Wednesday 10 June to Monday 15 June: Thursday 11 June is short (8 h), Friday 12 June is a holiday
    assert HOURS.between(at(2026, 6, 10, 9, 0), at(2026, 6, 15, 9, 0)) == 9 + 8


def test_after_is_the_inverse_of_between() -> None:
    start = at(2026, 4, 29, 17, 0)  # Wednesday before the May holidays
    assert HOURS.after(start, 1) == at(2026, 4, 29, 18, 0)
    assert HOURS.after(start, 2) == at(2026, 4, 30, 10, 0)
    assert HOURS.after(start, 9) == at(2026, 4, 30, 17, 0)  # 30 April ends an hour early
    assert HOURS.after(start, 9.5) == at(2026, 5, 4, 9, 30)  # 1–3 May are off
    for hours in (0.5, 3, 8, 16, 40):
        assert HOURS.between(start, HOURS.after(start, hours)) == pytest.approx(hours)


def test_a_moment_outside_the_day_starts_counting_at_the_next_opening() -> None:
    utc_evening = dt.datetime(2026, 6, 15, 19, 0, tzinfo=dt.timezone.utc)  # 22:00 in Moscow
    assert HOURS.after(utc_evening, 1) == at(2026, 6, 16, 10, 0)
    assert HOURS.after(utc_evening, 1).tzinfo == dt.timezone.utc
