"""Prefill a month: the schedule on the production calendar, then the approved absences over it.

Absences come from the HR business processes once approved (vacation, sick leave, business trip);
they reach prefill as :class:`Absence` values through any callable ``absences(person_refs, start,
end)``. How T-13 marks them:
- annual vacation: ``ОТ`` on every calendar day, except non-working holidays inside it, which are
  ``В`` (holidays are not vacation days, art. 120 of the Labour Code);
- unpaid leave: ``ДО`` likewise;
- sick leave: ``Б`` on every calendar day (the allowance is paid per calendar day);
- business trip: ``К`` on every calendar day of the trip.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from timesheets.calendar import ProductionCalendar, is_holiday, month_dates
from timesheets.codes import DAY_OFF, DayValue, Mark
from timesheets.schedules import Schedule

ABSENCE_CODES = {"vacation": "ОТ", "unpaid_vacation": "ДО", "sick_leave": "Б", "business_trip": "К"}
HOLIDAYS_EXCLUDED = frozenset({"vacation", "unpaid_vacation"})


@dataclass(frozen=True)
class Absence:
    """An approved absence of a person, both ends inclusive; ``kind`` is a key of ABSENCE_CODES."""

    person_ref: str
    kind: str
    start: dt.date
    end: dt.date

    def __post_init__(self) -> None:
        if self.kind not in ABSENCE_CODES:
            raise ValueError(f"unknown absence kind {self.kind!r} (known: {', '.join(ABSENCE_CODES)})")
        if self.end < self.start:
            raise ValueError(f"absence ends before it starts: {self.start} .. {self.end}")

    def covers(self, date: dt.date) -> bool:
        return self.start <= date <= self.end


AbsenceSource = Callable[[Sequence[str], dt.date, dt.date], Iterable[Absence]]


def no_absences(person_refs: Sequence[str], start: dt.date, end: dt.date) -> list[Absence]:
    """The source until the business processes' approved absences are wired in."""
    return []


def absence_mark(absence: Absence, date: dt.date) -> DayValue:
    if absence.kind in HOLIDAYS_EXCLUDED and is_holiday(date):
        return DayValue((Mark(DAY_OFF),))
    return DayValue((Mark(ABSENCE_CODES[absence.kind]),))


def prefill_month(period_start: dt.date, schedule: Schedule, calendar: ProductionCalendar,
                  absences: Iterable[Absence] = ()) -> list[DayValue]:
    """One value per day of the month; the latest-starting absence wins where two overlap."""
    ordered = sorted(absences, key=lambda absence: absence.start)
    values = []
    for date in month_dates(period_start):
        covering = [absence for absence in ordered if absence.covers(date)]
        values.append(absence_mark(covering[-1], date) if covering else schedule.expected(date, calendar))
    return values
