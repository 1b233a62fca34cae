"""Vacation balances: assembled over OData, agreeing with 1C's own figure on any date."""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest

from onec.source import ZupSource
from onec.vacation import add_months


def dates_around(today: dt.date) -> list[dt.date]:
    """Month and year ends, leap days and the anchor's own date, all taken from the infobase's clock."""
    month_end = add_months(today.replace(day=1), 1) - dt.timedelta(days=1)
    leap_year = next(year for year in range(today.year + 1, today.year + 5) if calendar.isleap(year))
    return [today, add_months(today, -1), month_end, month_end + dt.timedelta(days=1),
            dt.date(today.year, 12, 31), dt.date(today.year + 1, 1, 1), dt.date(today.year + 1, 2, 28),
            dt.date(leap_year, 2, 29), dt.date(leap_year, 12, 31)]


def dates_around(today: dt.date) -> list[dt.date]:
    """Month and year ends, leap days and the anchor's own date, all taken from the infobase's clock."""
    month_end = add_months(today.replace(day=1), 1) - dt.timedelta(days=1)
    leap_year = next(year for year in range(today.year + 1, today.year + 5) if calendar.isleap(year))
    return [today, add_months(today, -1), month_end, month_end + dt.timedelta(days=1),
            dt.date(today.year, 12, 31), dt.date(today.year + 1, 1, 1), dt.date(today.year + 1, 2, 28),
            dt.date(leap_year, 2, 29), dt.date(leap_year, 12, 31)]


def test_vacation_balance_over_odata_agrees_with_1c_for_working_employees(
        zup: Any, make_source: Callable[..., ZupSource], today: dt.date) -> None:
    odata, soap = make_source(), make_source(mode="soap", url=zup.wsdl_url)
    working = [s for s in odata.employments() if s.hire_date and not s.dismissal_date][:40]
    assert working
    for on_date in dates_around(today):
        for state in working:
            assembled = odata.vacation_balance(state.employee_ref, on_date)
            reported = soap.vacation_balance(state.employee_ref, on_date)
            assert assembled.days == pytest.approx(reported.days, abs=0.02), (state.employee_ref, on_date)
            assert [k.kind for k in assembled.by_kind] == [k.kind for k in reported.by_kind]


def test_balance_keeps_accruing_after_the_generated_data(zup: Any, make_source: Callable[..., ZupSource],
                                                          today: dt.date) -> None:
    """A year after the infobase's data was made, a working employee has earned a year more (ZUP
    computes rights for any date; the emulator once stopped at the working years it generated)."""
    soap = make_source(mode="soap", url=zup.wsdl_url)
    state = next(s for s in make_source().employments() if s.hire_date and not s.dismissal_date)
    now, later = (soap.vacation_balance(state.employee_ref, day).days for day in (today, add_months(today, 12)))
    assert later == pytest.approx(now + 28, abs=0.02)
