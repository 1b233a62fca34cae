"""Working hours on the Russian production calendar: how long an approval task has really waited.

The calendar's small interface is :class:`DayCalendar` (``is_working(date)`` and ``day(date).shortened``),
the one the ``timesheets`` feature's production calendar offers; until that feature is on main,
:class:`ProductionCalendar` here implements it with the maintained ``holidays`` package:

- non-working holidays and the days off moved by the Government's yearly decrees (and holidays falling
  on a weekend moved to the next working day, Трудовой кодекс РФ ст. 112) come from the package's Russia
  calendar, the Saturdays made working days included;
- the working day right before a non-working holiday of art. 112 is one hour shorter (ст. 95 ч. 1).

:class:`WorkingHours` counts hours inside the working day (``09:00-18:00`` by default, in one time zone)
on working days only.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache
from typing import Protocol
from zoneinfo import ZoneInfo

import holidays

ART_112_HOLIDAYS = frozenset({(1, 1), (1, 2), (1, 3), (1, 4), (1, 5), (1, 6), (1, 7), (1, 8), (2, 23), (3, 8),
                              (5, 1), (5, 9), (6, 12), (11, 4)})
SHORTENED_BY = dt.timedelta(hours=1)  # ст. 95 ч. 1
MAX_DAYS = 3660  # a wait is never counted over more than ten years of calendar


class CalendarDay(Protocol):
    working: bool
    shortened: bool


class DayCalendar(Protocol):
    def is_working(self, date: dt.date) -> bool: ...

    def day(self, date: dt.date) -> CalendarDay: ...


@dataclass(frozen=True)
class Day:
    date: dt.date
    working: bool
    shortened: bool


@lru_cache(maxsize=16)
def _russia(year: int) -> holidays.HolidayBase:
    return holidays.country_holidays("RU", years=year)


class ProductionCalendar:
    """Working days of a five-day week on the Russian production calendar."""

    def is_working(self, date: dt.date) -> bool:
        return _russia(date.year).is_working_day(date)

    def day(self, date: dt.date) -> Day:
        working = self.is_working(date)
        following = date + dt.timedelta(days=1)
        return Day(date, working, working and (following.month, following.day) in ART_112_HOLIDAYS)


@dataclass(frozen=True)
class WorkingHours:
    """The working day ``start``–``end`` in ``zone`` on the working days of ``calendar``."""

    calendar: DayCalendar
    start: dt.time = dt.time(9, 0)
    end: dt.time = dt.time(18, 0)
    zone: ZoneInfo = ZoneInfo("Europe/Moscow")

    def between(self, since: dt.datetime, until: dt.datetime) -> float:
        """Working hours from ``since`` to ``until`` (0 when ``until`` is not later)."""
        if until <= since:
            return 0.0
        seconds = 0.0
        day = since.astimezone(self.zone).date()
        last = until.astimezone(self.zone).date()
        for _ in range(MAX_DAYS):
            if day > last:
                break
            window = self._window(day)
            if window is not None:
                opened, closed = max(window[0], since), min(window[1], until)
                seconds += max(0.0, (closed - opened).total_seconds())
            day += dt.timedelta(days=1)
        return seconds / 3600

    def after(self, since: dt.datetime, hours: float) -> dt.datetime:
        """The moment ``hours`` working hours after ``since``."""
        remaining = dt.timedelta(hours=hours)
        day = since.astimezone(self.zone).date()
        for _ in range(MAX_DAYS):
            window = self._window(day)
            if window is not None and window[1] > since:
                opened = max(window[0], since)
                if opened + remaining <= window[1]:
                    return (opened + remaining).astimezone(since.tzinfo)
                remaining -= window[1] - opened
            day += dt.timedelta(days=1)
        raise ValueError(f"{hours} рабочих часов не укладываются в календарь")

    def _window(self, day: dt.date) -> tuple[dt.datetime, dt.datetime] | None:
        """The working time of ``day`` (aware datetimes), or None on a day off."""
        facts = self.calendar.day(day)
        if not facts.working:
            return None
        opened = dt.datetime.combine(day, self.start, tzinfo=self.zone)
        closed = dt.datetime.combine(day, self.end, tzinfo=self.zone)
        closed -= SHORTENED_BY if facts.shortened else dt.timedelta()
        return (opened, closed) if closed > opened else None
