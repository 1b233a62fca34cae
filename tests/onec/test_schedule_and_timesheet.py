"""The consolidated vacation schedule and the monthly timesheet, written to ZUP 3.1 in both modes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest

from onec.errors import OneCConfigError
from onec.models import Timesheet, TimesheetRow
from onec.source import ZupSource
from onec.vacation_schedule import Wish, approve, consolidate

MODES = ("odata", "soap")


def source_in(mode: str, zup: Any, make_source: Callable[..., ZupSource]) -> ZupSource:
    return make_source(mode="soap", url=zup.wsdl_url) if mode == "soap" else make_source()


@pytest.fixture()
def department(make_source: Callable[..., ZupSource], today: dt.date) -> list[Any]:
    """Three working employees of one department and organisation."""
    states = [s for s in make_source().employments() if s.is_active(today) and s.department_ref]
    by_department: dict[str, list[Any]] = {}
    for state in states:
        by_department.setdefault(state.department_ref, []).append(state)
    return next(group for group in by_department.values() if len(group) >= 3)[:3]


def main_kind(zup: Any) -> str:
    return zup.app.store.fill_values("Document_ПереносОтпуска")["ВидОтпуска_Key"]


@pytest.mark.parametrize("mode", MODES)
def test_wishes_conflict_then_consolidate_approve_and_become_the_schedule(
        mode: str, zup: Any, hooks: Any, make_source: Callable[..., ZupSource], department: list[Any],
        today: dt.date) -> None:
    year = today.year + 1
    first, second, third = department
    staff = [s.employee_ref for s in department]
    wishes = [Wish(first.employee_ref, first.person_ref, dt.date(year, 7, 1), dt.date(year, 7, 14)),
              Wish(second.employee_ref, second.person_ref, dt.date(year, 7, 10), dt.date(year, 7, 23)),
              Wish(third.employee_ref, third.person_ref, dt.date(year, 8, 1), dt.date(year, 8, 28))]
    org, dep = first.organization_ref, first.department_ref
    clash = consolidate(year, org, dep, staff, wishes, max_away=1)
    assert [c.day.day for c in clash.conflicts] == [10, 11, 12, 13, 14]
    assert clash.conflicts[0].away == tuple(sorted(staff[:2]))
    assert clash.coverage[dt.date(year, 7, 12)] == 1 and clash.coverage[dt.date(year, 9, 1)] == 3
    with pytest.raises(OneCConfigError, match="нельзя утвердить"):
        approve(clash, "v1", "Менеджер провайдера")

    wishes[1] = Wish(second.employee_ref, second.person_ref, dt.date(year, 7, 15), dt.date(year, 7, 28), "перенесён")
    resolved = consolidate(year, org, dep, staff, wishes, max_away=1)
    schedule = approve(resolved, f"{dep}/{year}/v2", "Менеджер провайдера")  # the main kind: the source names it
    source = source_in(mode, zup, make_source)
    written = source.submit_vacation_schedule(schedule, "Склад")
    assert source.submit_vacation_schedule(schedule, "Склад") == written
    [document] = [d for d in hooks("GET", "documents") if d["ref"] == written.ref]
    assert document["set"] == "Document_ГрафикОтпусков"
    rows = document["fields"]["Сотрудники"]
    assert [(r["Сотрудник_Key"], r["ДатаНачала"][:10], r["КоличествоДней"]) for r in rows] == [
        (first.employee_ref, f"{year}-07-01", 14), (second.employee_ref, f"{year}-07-15", 14),
        (third.employee_ref, f"{year}-08-01", 28)]
    assert {r["ВидОтпуска_Key"] for r in rows} == {main_kind(zup)}  # OData: the connector, SOAP: the extension
    assert hooks("POST", f"documents/{written.ref}/post")["status"] == "Согласовано"


def test_unusable_wishes_are_named_not_dropped_silently(department: list[Any], today: dt.date) -> None:
    year = today.year + 1
    first = department[0]
    result = consolidate(year, "o", "d", [first.employee_ref], [
        Wish(first.employee_ref, first.person_ref, dt.date(year, 3, 1), dt.date(year, 3, 10)),
        Wish(first.employee_ref, first.person_ref, dt.date(year, 3, 5), dt.date(year, 3, 12)),
        Wish("чужой", "p", dt.date(year, 5, 1), dt.date(year, 5, 2)),
        Wish(first.employee_ref, first.person_ref, dt.date(year + 1, 1, 1), dt.date(year + 1, 1, 5))], max_away=3)
    assert len(result.wishes) == 1 and len(result.problems) == 3 and not result.ready


@pytest.mark.parametrize("mode", MODES)
def test_timesheet_is_written_once_per_version(mode: str, zup: Any, hooks: Any,
                                               make_source: Callable[..., ZupSource], department: list[Any],
                                               today: dt.date) -> None:
    month = today.replace(day=1)
    appearance = next(ref for ref, row in zup.app.store.table("Catalog_ВидыИспользованияРабочегоВремени").rows.items()
                      if row[zup.app.store.table("Catalog_ВидыИспользованияРабочегоВремени").definition
                             .index("PredefinedDataName")] == "Явка")
    rows = tuple(TimesheetRow(s.employee_ref, {month: 8.0, month + dt.timedelta(days=1): 7.5}) for s in department)
    sheet = Timesheet("ts-42-v1", department[0].organization_ref, department[0].department_ref, month, appearance, rows)
    source = source_in(mode, zup, make_source)
    written = source.push_timesheet(sheet)
    assert source.push_timesheet(sheet) == written  # a resend finds the same document
    [document] = [d for d in hooks("GET", "documents") if d["set"] == "Document_ТабельУчетаРабочегоВремени"]
    line = document["fields"]["ДанныеОВремени"][0]
    assert (line["Часов1"], line["Часов2"], line["ВидВремени1_Key"], line["Часов3"]) == (8.0, 7.5, appearance, 0)
    assert document["fields"]["ДатаНачалаПериода"].startswith(month.isoformat())
    assert hooks("POST", f"documents/{written.ref}/post")["status"] == "Согласовано"
    newer = source.push_timesheet(Timesheet("ts-42-v2", sheet.organization_ref, sheet.department_ref, month,
                                            appearance, rows))
    assert newer.ref != written.ref


def test_a_timesheet_day_outside_its_month_is_refused(make_source: Callable[..., ZupSource], today: dt.date) -> None:
    month = today.replace(day=1)
    sheet = Timesheet("k", "o", "d", month, "t", (TimesheetRow("e", {month - dt.timedelta(days=1): 8.0}),))
    with pytest.raises(OneCConfigError, match="не из этого месяца"):
        make_source().push_timesheet(sheet)
