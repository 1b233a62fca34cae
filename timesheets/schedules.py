"""Work schedules: the five-day week on the production calendar, and shifts (2/2, 1/3) from an anchor.

A schedule says, for each date, the mark the employee is expected to get: ``Я 8`` on a working
day (``Я 7`` on a shortened one), ``В`` on a day off; a shift may carry night hours (``Я/Н 14/8``);
a shift falling on a non-working holiday is marked ``РВ`` (work on a holiday, art. 153 of the Labour
Code), with the same night hours.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from timesheets.calendar import SHORTENED_BY_MINUTES, ProductionCalendar, is_holiday
from timesheets.codes import DAY_OFF, DAY_WORK, DayValue, Mark

WORK_ON_HOLIDAY = "РВ"
NIGHT = "Н"


@dataclass(frozen=True)
class Schedule:
    """``five_two`` (working days of the calendar) or ``shift`` (``on`` days on, ``off`` days off from ``anchor``)."""

    kind: str = "five_two"
    minutes: int = 480  # a working day or a whole shift
    night_minutes: int = 0  # of which at night (22:00–06:00), shifts only
    on: int = 0
    off: int = 0
    anchor: dt.date | None = None  # the first day of some on-period

    @property
    def label(self) -> str:
        return "5/2" if self.kind == "five_two" else f"{self.on}/{self.off}"

    def expected(self, date: dt.date, calendar: ProductionCalendar) -> DayValue:
        if self.kind == "five_two":
            return self._five_two(date, calendar)
        return self._shift(date)

    def _five_two(self, date: dt.date, calendar: ProductionCalendar) -> DayValue:
        day = calendar.day(date)
        if not day.working:
            return DayValue((Mark(DAY_OFF),))
        shortened = SHORTENED_BY_MINUTES if day.shortened and self.minutes > SHORTENED_BY_MINUTES else 0
        return DayValue((Mark(DAY_WORK, self.minutes - shortened),))

    def _shift(self, date: dt.date) -> DayValue:
        assert self.anchor is not None
        if (date - self.anchor).days % (self.on + self.off) >= self.on:
            return DayValue((Mark(DAY_OFF),))
        code = WORK_ON_HOLIDAY if is_holiday(date) else DAY_WORK
        day_minutes = self.minutes - self.night_minutes
        marks = [Mark(code, day_minutes)] if day_minutes else []
        if self.night_minutes:
            marks.append(Mark(NIGHT, self.night_minutes))
        return DayValue(tuple(marks))


FIVE_TWO = Schedule()
