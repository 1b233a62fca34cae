"""Summaries of a month per site (department) and per brigade: totals by code and by person.

One query reads every day of the month's timesheets of the chosen sites (62,000 rows for 2,000
people), the totals are added up here, and ``render_summary`` turns them into the HTML table the pages
and the exports show.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache

from jinja2 import Environment, PackageLoader, select_autoescape
from sqlalchemy import select
from sqlalchemy.orm import Session

from timesheets.calendar import month_title
from timesheets.codes import DayValue, all_codes, format_hours
from timesheets.models import Timesheet, TimesheetDay
from timesheets.sheets import STATUS_TITLES, first_of_month
from timesheets.totals import CodeTotal, code_totals, in_form_order, merge, worked_minutes


@dataclass
class PersonLine:
    timesheet_id: int
    name: str
    personnel_number: str
    position: str
    site: str
    status: str
    values: list[DayValue]
    planned: list[str]
    totals: dict[str, CodeTotal] = field(default_factory=dict)

    @property
    def worked_minutes(self) -> int:
        return worked_minutes(self.totals)

    @property
    def differences(self) -> list[int]:
        """Days that differ from the schedule's plan."""
        return [day for day, (value, plan) in enumerate(zip(self.values, self.planned), 1) if value.text != plan]


@dataclass
class Summary:
    title: str
    period_start: dt.date
    people: list[PersonLine] = field(default_factory=list)
    totals: dict[str, CodeTotal] = field(default_factory=dict)

    @property
    def worked_minutes(self) -> int:
        return worked_minutes(self.totals)

    @property
    def status_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for person in self.people:
            counts[person.status] = counts.get(person.status, 0) + 1
        return counts


def load_summary(session: Session, member_id: str, title: str, period_start: dt.date,
                 department_refs: Iterable[str]) -> Summary:
    """The month of every timesheet of the given sites of portal ``member_id``, people ordered by name."""
    period_start = first_of_month(period_start)
    rows = session.execute(
        select(Timesheet.id, Timesheet.employee_name, Timesheet.personnel_number, Timesheet.position,
               Timesheet.site_name, Timesheet.status, TimesheetDay.code, TimesheetDay.minutes, TimesheetDay.code2,
               TimesheetDay.minutes2, TimesheetDay.planned)
        .join(TimesheetDay, TimesheetDay.timesheet_id == Timesheet.id)
        .where(Timesheet.member_id == member_id, Timesheet.period_start == period_start,
               Timesheet.department_ref.in_(list(department_refs)))
        .order_by(Timesheet.employee_name, Timesheet.id, TimesheetDay.day))
    summary = Summary(title, period_start)
    people: dict[int, PersonLine] = {}
    for ts_id, name, number, position, site, status, code, minutes, code2, minutes2, planned in rows:
        person = people.get(ts_id)
        if person is None:
            person = people[ts_id] = PersonLine(ts_id, name, number, position, site, status, [], [])
        person.values.append(DayValue.from_columns(code, minutes, code2, minutes2))
        person.planned.append(planned)
    for person in people.values():
        person.totals = code_totals(person.values)
        merge(summary.totals, person.totals)
    summary.people = list(people.values())
    summary.totals = in_form_order(summary.totals)
    return summary


def brigade_departments(brigade_leaders: Mapping[str, tuple[int, ...]], leader: int) -> list[str]:
    """The sites whose brigade the user leads (``cabinet.brigade_leaders``)."""
    return sorted(ref for ref, users in brigade_leaders.items() if leader in users)


@lru_cache(maxsize=1)
def _environment() -> Environment:
    environment = Environment(loader=PackageLoader("timesheets", "templates"), autoescape=select_autoescape())
    environment.filters["hours"] = format_hours
    return environment


def render_summary(summary: Summary) -> str:
    """The summary table (a fragment the pages embed)."""
    template = _environment().get_template("timesheets/summary.html")
    return template.render(summary=summary, month=month_title(summary.period_start), statuses=STATUS_TITLES,
                           codes=all_codes())
