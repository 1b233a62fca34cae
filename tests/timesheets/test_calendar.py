"""The production calendar, schedules and the prefill of a month (transfers, shortened days, absences)."""
from __future__ import annotations

import datetime as dt

import pytest

from timesheets.calendar import ProductionCalendar, month_dates
from timesheets.prefill import Absence, prefill_month
from timesheets.schedules import FIVE_TWO, Schedule

D = dt.date


def texts(period: dt.date, schedule: Schedule = FIVE_TWO, absences: tuple[Absence, ...] = (),
          calendar: ProductionCalendar | None = None) -> dict[int, str]:
    values = prefill_month(period, schedule, calendar or ProductionCalendar(), absences)
    return {day: value.text for day, value in enumerate(values, start=1)}


def test_may_2024_has_a_transferred_day_off_and_a_shortened_day() -> None:
    may = texts(D(2024, 5, 1))
    assert may[1] == "В"            # Праздник Весны и Труда
    assert may[8] == "Я 7"          # before Victory Day: one hour shorter (art. 95)
    assert may[9] == "В"            # День Победы
    assert may[10] == "В"           # day off moved from Saturday 6 January (decree for 2024)
    assert may[13] == "Я 8" and may[11] == may[12] == "В"
    assert sum(1 for text in may.values() if text.startswith("Я")) == 20
    assert ProductionCalendar().norm_minutes(D(2024, 5, 1)) == 159 * 60


def test_a_saturday_made_working_and_the_weekdays_made_days_off() -> None:
    april = texts(D(2024, 4, 1))
    assert april[27] == "Я 8"       # Saturday 27 April 2024 is a working day
    assert april[28] == "В" and april[29] == april[30] == "В"
    november = texts(D(2025, 11, 1))
    assert november[1] == "Я 7" and november[3] == "В" and november[4] == "В"


@pytest.mark.parametrize(("year", "days", "hours"), [(2024, 248, 1979), (2025, 247, 1972), (2026, 247, 1972)])
def test_the_year_norms_agree_with_the_published_calendars(year: int, days: int, hours: int) -> None:
    """Working days and hours of a 40-hour week in the production calendars of those years."""
    calendar = ProductionCalendar()
    working = sum(1 for month in range(1, 13) for day in calendar.month(D(year, month, 1)) if day.working)
    norm = sum(calendar.norm_minutes(D(year, month, 1)) for month in range(1, 13)) / 60
    assert (working, norm) == (days, hours)


def test_a_working_saturday_lasts_as_long_as_the_weekday_it_stands_for() -> None:
    assert texts(D(2024, 11, 1))[2] == "Я 7"     # for Tuesday 30 April, the eve of 1 May
    assert texts(D(2025, 11, 1))[1] == "Я 7"     # for Monday 3 November, the eve of 4 November
    assert texts(D(2024, 12, 1))[28] == "Я 8"    # for Monday 30 December, a day off itself


def test_extra_shortened_days_from_the_configuration() -> None:
    calendar = ProductionCalendar([D(2024, 12, 28)])
    assert texts(D(2024, 12, 1), calendar=calendar)[28] == "Я 7"
    assert texts(D(2024, 12, 1))[28] == "Я 8"


def test_a_short_day_schedule_is_shortened_too() -> None:
    assert texts(D(2024, 5, 1), Schedule(minutes=360))[8] == "Я 5"


def test_shifts_two_on_two_off_from_the_anchor_with_holiday_work() -> None:
    shifts = Schedule("shift", 660, 0, 2, 2, D(2026, 12, 30))
    january = texts(D(2027, 1, 1), shifts)
    assert [january[day] for day in range(1, 9)] == ["В", "В", "РВ 11", "РВ 11", "В", "В", "РВ 11", "РВ 11"]
    assert january[11] == "Я 11" and january[12] == "Я 11" and january[13] == "В"


def test_one_on_three_off_with_night_hours() -> None:
    shifts = Schedule("shift", 1440, 480, 1, 3, D(2026, 2, 1))
    february = texts(D(2026, 2, 1), shifts)
    assert february[1] == "Я/Н 16/8" and february[2] == february[3] == february[4] == "В"
    assert february[5] == "Я/Н 16/8" and february[23] == "В"   # 23 Feb is a day off in this cycle


def test_absences_over_the_schedule() -> None:
    absences = (Absence("p", "vacation", D(2024, 6, 10), D(2024, 6, 23)),
                Absence("p", "sick_leave", D(2024, 6, 1), D(2024, 6, 4)),
                Absence("p", "business_trip", D(2024, 6, 27), D(2024, 7, 3)))
    june = texts(D(2024, 6, 1), absences=absences)
    assert [june[day] for day in range(1, 6)] == ["Б", "Б", "Б", "Б", "Я 8"]
    assert june[11] == "ОТ" and june[12] == "В" and june[15] == "ОТ"   # 12 June inside a vacation
    assert june[24] == "Я 8" and june[29] == "К" and june[30] == "К"


def test_absence_validation() -> None:
    with pytest.raises(ValueError, match="unknown absence kind"):
        Absence("p", "holiday", D(2024, 1, 1), D(2024, 1, 2))
    with pytest.raises(ValueError, match="ends before"):
        Absence("p", "vacation", D(2024, 1, 2), D(2024, 1, 1))


@pytest.mark.parametrize("period", [D(2024, 2, 1), D(2025, 2, 1), D(2026, 12, 1)])
def test_month_lengths(period: dt.date) -> None:
    assert len(month_dates(period)) == {2: 29 if period.year == 2024 else 28, 12: 31}[period.month]
