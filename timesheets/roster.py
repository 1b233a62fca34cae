"""Who gets a timesheet: the employments at a client site during a month, from 1C:ZUP and the directory.

1C gives the employments active at some day of the month in the department (with the person's name,
the personnel number, the position and the legal entity); the sync's directory
(``sync_jobs.directory``) gives the Bitrix24 user of each person and the site's workgroup.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from flask import Flask

from b24app.db import Database
from b24app.portal import get_config
from onec.factory import build_source
from onec.models import EmploymentState
from onec.source import ZupSource
from sync_jobs.directory import Directory, Site, directory
from timesheets.approval import Approvers
from timesheets.calendar import month_dates
from timesheets.codes import DayValue
from timesheets.models import Timesheet
from timesheets.prefill import Absence, AbsenceSource, no_absences, prefill_month
from timesheets.settings import TimesheetSettings
from timesheets.sheets import EDITABLE, Assignment, find_timesheet, first_of_month, open_timesheet, replan


def _active_in_month(state: EmploymentState, period_start: dt.date) -> bool:
    last = month_dates(period_start)[-1]
    hired = state.hire_date is not None and state.hire_date <= last
    return hired and (state.dismissal_date is None or state.dismissal_date >= period_start)


def site_roster(source: ZupSource, people: Directory, department_refs: Iterable[str],
                period_start: dt.date) -> list[Assignment]:
    """One assignment per employment active in the month at each department, ordered by name.

    Sites, legal entities and Bitrix24 users come from the directory; a site the sync has not made
    yet takes its names from 1C.
    """
    wanted = {ref.lower() for ref in department_refs}
    states = [s for s in source.employments()
              if (s.department_ref or "").lower() in wanted and s.person_ref and _active_in_month(s, period_start)]
    if not states:
        return []
    persons = {p.ref: p for p in source.persons()}
    employees = {e.ref: e for e in source.employees()}
    positions = {p.ref: p.name for p in source.positions()}
    sites = {ref: _site(source, people, ref) for ref in wanted}
    assignments = []
    for state in states:
        person, employee = persons.get(state.person_ref or ""), employees.get(state.employee_ref)
        site = sites[(state.department_ref or "").lower()]
        name = " ".join(filter(None, (person.last_name, person.first_name, person.middle_name))) if person else ""
        assignments.append(Assignment(
            person_ref=str(state.person_ref), employee_ref=state.employee_ref,
            user_id=people.user_of_person(str(state.person_ref)), department_ref=site.department_ref,
            group_id=site.group_id, legal_entity_ref=state.organization_ref or site.legal_entity_ref,
            employee_name=name or state.employee_ref, personnel_number=employee.personnel_number if employee else "",
            position=positions.get(state.position_ref or "", ""), site_name=site.department_name,
            legal_entity_name=site.legal_entity_name, hire_date=state.hire_date, dismissal_date=state.dismissal_date))
    return sorted(assignments, key=lambda a: (a.employee_name, a.employee_ref))


def _site(source: ZupSource, people: Directory, department_ref: str) -> Site:
    known = people.site_of_department(department_ref)
    if known is not None:
        return known
    department = next((d for d in source.departments() if d.ref.lower() == department_ref), None)
    entity_ref = department.legal_entity_ref if department else None
    entity = next((e for e in source.legal_entities() if e.ref == entity_ref), None)
    return Site(department_ref, None, department.name if department else "", department.name if department else "",
                entity_ref or "", entity.name if entity else "")


def open_source(app: Flask) -> ZupSource:
    """The 1C:ZUP connection of ``timesheets.onec.connection`` (default: the first of app.yaml)."""
    config = get_config(app)
    return build_source(config.settings("onec").connection(config.settings("timesheets").onec_connection))


def directory_approvers(app: Flask) -> Callable[[Timesheet], Approvers]:
    """The site's managers on both sides, as the sync's directory knows them."""
    people = directory(app)

    def approvers_of(timesheet: Timesheet) -> Approvers:
        managers = people.managers_of_department(timesheet.department_ref)
        return Approvers(tuple(managers.client), tuple(managers.provider))

    return approvers_of


@dataclass
class PrefillReport:
    opened: list[int] = field(default_factory=list)
    replanned: dict[int, int] = field(default_factory=dict)  # timesheet id -> days changed
    kept: list[int] = field(default_factory=list)  # not drafts: left as they are


def prefill_site(db: Database, member_id: str, settings: TimesheetSettings, assignments: Sequence[Assignment],
                 period_start: dt.date, now: dt.datetime, absences: AbsenceSource = no_absences,
                 actor: int | None = None) -> PrefillReport:
    """Open (or prefill again) the month of every assignment on portal ``member_id``: schedule, calendar,
    approved absences."""
    period_start = first_of_month(period_start)
    dates = month_dates(period_start)
    by_person: dict[str, list[Absence]] = {}
    for absence in absences([a.person_ref for a in assignments], dates[0], dates[-1]):
        by_person.setdefault(absence.person_ref, []).append(absence)
    calendar = settings.calendar()
    report = PrefillReport()
    with db.session() as session:
        for assignment in assignments:
            planned = prefill_month(period_start, settings.schedule_for(assignment.department_ref), calendar,
                                    by_person.get(assignment.person_ref, ()))
            values = [value if assignment.employed_on(date) else DayValue() for date, value in zip(dates, planned)]
            existing = find_timesheet(session, member_id, assignment, period_start)
            if existing is None:
                client = settings.client_of(assignment.department_ref, assignment.site_name)
                report.opened.append(open_timesheet(session, member_id, assignment, period_start, client.key, values, now,
                                                    actor).id)
            elif existing.status in EDITABLE:
                report.replanned[existing.id] = replan(session, existing, values, now, actor)
            else:
                report.kept.append(existing.id)
    return report
