"""Working hours on the Russian production calendar: how long an approval task has really waited.

:class:`WorkingHours` counts hours inside the working day (``09:00-18:00`` by default, in one time zone)
on the working days of the production calendar the ``timesheets`` feature keeps
(``timesheets.calendar``: holidays, transferred days off, shortened pre-holiday days), one hour less on
a shortened day (Трудовой кодекс РФ, ст. 95 ч. 1).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from timesheets.calendar import SHORTENED_BY_MINUTES, ProductionCalendar

SHORTENED_BY = dt.timedelta(minutes=SHORTENED_BY_MINUTES)
MAX_DAYS = 3660  # a wait is never counted over more than ten years of calendar


@dataclass(frozen=True)
class WorkingHours:
    """The working day ``start``–``end`` in ``zone`` on the working days of ``calendar``."""

    calendar: ProductionCalendar
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
