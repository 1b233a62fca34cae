"""The Russian production calendar: non-working holidays, transferred days off, shortened days.

- Non-working holidays are the fixed list of art. 112 of the Labour Code of the Russian Federation
  (Трудовой кодекс РФ, ст. 112): 1–6 and 8 January, 7 January, 23 February, 8 March, 1 May, 9 May,
  12 June, 4 November.
- Days off moved by the Government's yearly decrees (e.g. Постановление Правительства РФ от 10.08.2023
  № 1335 for 2024, от 04.10.2024 № 1335 for 2025) and holidays falling on a weekend moved to the next
  working day (art. 112 part 2) come from the maintained ``holidays`` package (its Russia calendar
  lists each year's decree as the source of its transfers), including the Saturdays made working days.
- The working day immediately before a non-working holiday is one hour shorter (art. 95 part 1).
  A Saturday made a working day lasts as long as the weekday it was swapped with (Порядок исчисления
  нормы рабочего времени, Приказ Минздравсоцразвития России от 13.08.2009 № 588н): so 2 November
  2024 (for 30 April) and 1 November 2025 (for 3 November) are one hour shorter too. Days the
  operator's calendar shortens beyond these rules are listed in ``timesheets.calendar``.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

import holidays
from holidays.countries.russia import RussiaStaticHolidays

ART_112_HOLIDAYS = frozenset({(1, 1), (1, 2), (1, 3), (1, 4), (1, 5), (1, 6), (1, 8), (1, 7), (2, 23), (3, 8),
                              (5, 1), (5, 9), (6, 12), (11, 4)})
SHORTENED_BY_MINUTES = 60  # art. 95 part 1
MONTHS = ("январь", "февраль", "март", "апрель", "май", "июнь", "июль", "август", "сентябрь", "октябрь",
          "ноябрь", "декабрь")


@dataclass(frozen=True)
class CalendarDay:
    """One date as the production calendar sees it."""

    date: dt.date
    working: bool
    holiday: bool  # a non-working holiday of art. 112
    shortened: bool  # a working day one hour shorter (art. 95)
    name: str = ""  # the holiday's or the transfer's name, Russian


@lru_cache(maxsize=16)
def _package_year(year: int) -> holidays.HolidayBase:
    return holidays.country_holidays("RU", years=year, language="ru")


@lru_cache(maxsize=16)
def _swapped_weekdays(year: int) -> dict[dt.date, dt.date]:
    """Saturdays (Sundays) made working days -> the weekday that became a day off in exchange."""
    entries = RussiaStaticHolidays.special_public_holidays.get(year, ())
    if entries and isinstance(entries[0], int):
        entries = (entries,)
    working = _package_year(year).weekend_workdays
    swaps = ((dt.date(year, day_off_month, day_off), dt.date(year, worked_month, worked_day))
             for day_off_month, day_off, worked_month, worked_day in entries)
    return {worked: day_off for day_off, worked in swaps if worked in working}


def _before_holiday(date: dt.date) -> bool:
    """Art. 95 for the day itself, or for the weekday a working Saturday stands in for (588н)."""
    standing_for = _swapped_weekdays(date.year).get(date, date)
    return is_holiday(standing_for + dt.timedelta(days=1))


def is_holiday(date: dt.date) -> bool:
    """A non-working holiday of art. 112 (not a transferred day off)."""
    return (date.month, date.day) in ART_112_HOLIDAYS


class ProductionCalendar:
    """Working days and their norms for a five-day week; ``extra_shortened`` from app.yaml."""

    def __init__(self, extra_shortened: Iterable[dt.date] = ()) -> None:
        self.extra_shortened = frozenset(extra_shortened)

    def is_working(self, date: dt.date) -> bool:
        return _package_year(date.year).is_working_day(date)

    def day(self, date: dt.date) -> CalendarDay:
        working = self.is_working(date)
        shortened = working and (_before_holiday(date) or date in self.extra_shortened)
        return CalendarDay(date, working, is_holiday(date), shortened, _package_year(date.year).get(date, ""))

    def month(self, period_start: dt.date) -> list[CalendarDay]:
        return [self.day(date) for date in month_dates(period_start)]

    def norm_minutes(self, period_start: dt.date, day_minutes: int = 480) -> int:
        """The month's norm of a five-day week with ``day_minutes`` a day (8 h -> 40-hour week)."""
        return sum(day_minutes - (SHORTENED_BY_MINUTES if day.shortened else 0)
                   for day in self.month(period_start) if day.working)


def month_dates(period_start: dt.date) -> list[dt.date]:
    """Every date of the month that starts on ``period_start``."""
    first = period_start.replace(day=1)
    following = (first + dt.timedelta(days=32)).replace(day=1)
    return [first + dt.timedelta(days=offset) for offset in range((following - first).days)]


def month_title(period_start: dt.date) -> str:
    """"декабрь 2026"."""
    return f"{MONTHS[period_start.month - 1]} {period_start.year}"
