"""Pure parts of the vacation schedule and of the employee documents setting."""
from __future__ import annotations

import datetime as dt

import pytest

from bizproc_templates.schedule import ScheduleError, conflict_periods, content_key, parse_periods, staff_of
from bizproc_templates.settings import BizprocConfigError, load_settings
from onec.models import EmploymentState
from onec.vacation_schedule import Wish, consolidate


def test_periods_are_read_from_the_list_values() -> None:
    assert parse_periods("01.07.2027 — 14.07.2027, 1.8.2027-10.08.2027, 05.10.2027 по 06.10.2027") == (
        (dt.date(2027, 7, 1), dt.date(2027, 7, 14)), (dt.date(2027, 8, 1), dt.date(2027, 8, 10)),
        (dt.date(2027, 10, 5), dt.date(2027, 10, 6)))
    with pytest.raises(ScheduleError, match="не удалось разобрать период «в июле»"):
        parse_periods("01.07.2027 — 14.07.2027, в июле")
    with pytest.raises(ScheduleError, match="неверная дата"):
        parse_periods("30.02.2027 — 14.03.2027")
    with pytest.raises(ScheduleError, match="ни один период"):
        parse_periods(" ")


def test_conflicting_days_are_shown_as_periods() -> None:
    wishes = [Wish("a", "pa", dt.date(2027, 7, 1), dt.date(2027, 7, 14)),
              Wish("b", "pb", dt.date(2027, 7, 10), dt.date(2027, 7, 20)),
              Wish("c", "pc", dt.date(2027, 7, 14), dt.date(2027, 7, 15))]
    periods = conflict_periods(consolidate(2027, "o", "d", ["a", "b", "c"], wishes, max_away=1))
    assert [(p.start.day, p.end.day, p.away) for p in periods] == [
        (10, 13, ("a", "b")), (14, 14, ("a", "b", "c")), (15, 15, ("b", "c"))]


def test_the_same_wishes_give_the_same_key_in_any_order() -> None:
    first = Wish("a", "pa", dt.date(2027, 7, 1), dt.date(2027, 7, 14))
    second = Wish("b", "pb", dt.date(2027, 8, 1), dt.date(2027, 8, 14))
    assert content_key([first, second]) == content_key([second, first])
    assert content_key([first]) != content_key([first, second])


def test_staff_is_who_works_in_the_department_during_the_year() -> None:
    def state(ref: str, department: str, hired: dt.date, dismissed: dt.date | None = None) -> EmploymentState:
        return EmploymentState(ref, "p" + ref, "org", department, None, hired, dismissed, None, 1.0)

    states = [state("a", "d", dt.date(2020, 1, 1)), state("b", "d", dt.date(2028, 1, 1)),
              state("c", "d", dt.date(2020, 1, 1), dt.date(2026, 12, 31)), state("e", "x", dt.date(2020, 1, 1)),
              state("f", "d", dt.date(2027, 12, 31))]
    assert staff_of(states, "d", 2027) == ("org", ["a", "f"])


def test_the_documents_place_is_checked() -> None:
    assert load_settings({}).employee_documents == "app_folder"
    assert load_settings({"employee_documents": "user_drive"}).employee_documents == "user_drive"
    with pytest.raises(BizprocConfigError, match="bizproc.employee_documents"):
        load_settings({"employee_documents": "desktop"})
