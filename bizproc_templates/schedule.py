"""A department's vacation schedule: employees' wishes stored, consolidated and approved into 1C:ZUP.

ZUP keeps one schedule per department and year (Document.ГрафикОтпусков), not single wishes
(docs/onec-extension.md §6). An employee's request (process ``vacation_schedule``) stores their
periods for the year (``store_wishes``, called by the app activity ``b24app_store_vacation_wishes``);
a later request for the same year replaces them. The provider manager then looks at the departments
(``departments``), consolidates one (``consolidation``: coverage per day by the department's staff in
1C, conflicts, unusable wishes — onec.vacation_schedule) and approves it (``approve_schedule``): the
schedule is written to ZUP keyed by its content, so approving the same wishes again finds the same
document, and every employee whose periods it holds is notified. The CLI (``b24app templates schedule
...``) and the cabinet's pages call these functions; nothing else reads the tables.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from flask import Flask
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from b24app.db import Database, get_db
from b24app.portal import client_for
from bizproc_templates.models import ApprovedVacationSchedule, VacationWish
from bizproc_templates.settings import bizproc_settings
from bizproc_templates.zup import ZupEmployee, open_source
from onec.models import EmploymentState
from onec.source import ZupSource
from onec.vacation_schedule import Consolidation, Wish, approve, consolidate
from sync_jobs.directory import directory

PERIOD = re.compile(r"^\s*(\d{1,2}\.\d{1,2}\.\d{4})\s*(?:—|–|-|по)\s*(\d{1,2}\.\d{1,2}\.\d{4})\s*$")


class ScheduleError(ValueError):
    """A wish or a schedule that cannot be used; the message is Russian, for the user."""


@dataclass(frozen=True)
class WishSubmission:
    """An employee's periods for a year, as one request of the ``vacation_schedule`` process."""

    member_id: str
    year: int
    user_id: int
    employee: ZupEmployee
    periods: tuple[tuple[dt.date, dt.date], ...]
    note: str
    request_link: str


@dataclass(frozen=True)
class ScheduleApproval:
    """An approved schedule and the ZUP document it became."""

    department_ref: str
    year: int
    content_key: str
    max_away: int
    approved_by: str
    zup_ref: str
    zup_number: str
    approved_at: dt.datetime


@dataclass(frozen=True)
class DepartmentWishes:
    """What a department has collected for a year, and whether it is approved as it stands."""

    department_ref: str
    department_name: str
    year: int
    employees: int
    periods: int
    days: int
    content_key: str  # of the wishes collected now (content_key)
    approval: ScheduleApproval | None  # the latest approval of this department and year

    @property
    def approved_as_is(self) -> bool:
        """The latest approval holds exactly the wishes collected now."""
        return self.approval is not None and self.approval.content_key == self.content_key


@dataclass(frozen=True)
class ConflictPeriod:
    """Consecutive days on which the same employees are away, more than the department can spare."""

    start: dt.date
    end: dt.date
    away: tuple[str, ...]  # employee refs
    limit: int


def conflict_periods(consolidated: Consolidation) -> list[ConflictPeriod]:
    """The conflicts of a consolidation as periods rather than single days."""
    periods: list[ConflictPeriod] = []
    for conflict in consolidated.conflicts:
        last = periods[-1] if periods else None
        if last is not None and last.away == conflict.away and last.end + dt.timedelta(days=1) == conflict.day:
            periods[-1] = ConflictPeriod(last.start, conflict.day, last.away, last.limit)
        else:
            periods.append(ConflictPeriod(conflict.day, conflict.day, conflict.away, conflict.limit))
    return periods


def employee_names(app: Flask, wishes: Iterable[Wish]) -> dict[str, str]:
    """Employee ref -> the person's name as the sync's directory knows it (the ref when unknown)."""
    people = directory(app)
    names = {}
    for wish in wishes:
        person = people.person(wish.person_ref)
        names[wish.employee_ref] = person.name if person is not None and person.name else wish.employee_ref
    return names


def parse_periods(text: str) -> tuple[tuple[dt.date, dt.date], ...]:
    """«01.07.2027 — 14.07.2027, 01.08.2027 — 10.08.2027» (the list field's values) -> date pairs."""
    periods = []
    for part in (piece for piece in text.split(",") if piece.strip()):
        found = PERIOD.match(part)
        if found is None:
            raise ScheduleError(f"не удалось разобрать период «{part.strip()}»: ожидается «дд.мм.гггг — дд.мм.гггг»")
        try:
            start, end = (dt.datetime.strptime(value, "%d.%m.%Y").date() for value in found.groups())
        except ValueError:
            raise ScheduleError(f"в периоде «{part.strip()}» неверная дата") from None
        periods.append((start, end))
    if not periods:
        raise ScheduleError("не указан ни один период отпуска")
    return tuple(periods)


def store_wishes(db: Database, submission: WishSubmission) -> tuple[Wish, ...]:
    """Check the periods and replace the employee's earlier wishes for the year with them."""
    employee = submission.employee
    if not employee.department_ref or not employee.organization_ref:
        raise ScheduleError("в 1С:ЗУП у сотрудника не указаны организация или подразделение")
    wishes = [Wish(employee.employee_ref, employee.person_ref, start, end, submission.note)
              for start, end in submission.periods]
    checked = consolidate(submission.year, employee.organization_ref, employee.department_ref,
                          [employee.employee_ref], wishes, max_away=1)
    if checked.problems:
        raise ScheduleError("; ".join(checked.problems))
    with db.session() as session:
        session.execute(delete(VacationWish).where(VacationWish.member_id == submission.member_id,
                                                   VacationWish.employee_ref == employee.employee_ref,
                                                   VacationWish.year == submission.year))
        session.add_all(VacationWish(
            member_id=submission.member_id, year=submission.year, department_ref=employee.department_ref,
            organization_ref=employee.organization_ref, employee_ref=employee.employee_ref,
            person_ref=employee.person_ref, user_id=submission.user_id, starts_on=wish.start, ends_on=wish.end,
            note=wish.note, request_link=submission.request_link) for wish in checked.wishes)
    return checked.wishes


def departments(app: Flask, member_id: str, year: int) -> list[DepartmentWishes]:
    """Every department with wishes for the year, by name."""
    rows = _wish_rows(get_db(app), member_id, year)
    by_department: dict[str, list[VacationWish]] = {}
    for row in rows:
        by_department.setdefault(row.department_ref, []).append(row)
    found = [DepartmentWishes(ref, _department_name(app, ref), year, len({r.employee_ref for r in wishes}),
                              len(wishes), sum((r.ends_on - r.starts_on).days + 1 for r in wishes),
                              content_key(_as_wishes(wishes)), _latest_approval(get_db(app), member_id, ref, year))
             for ref, wishes in by_department.items()]
    return sorted(found, key=lambda item: (item.department_name, item.department_ref))


def consolidation(app: Flask, member_id: str, department_ref: str, year: int, max_away: int,
                  source: ZupSource | None = None) -> Consolidation:
    """The department's wishes against its staff in 1C: coverage per day, conflicts, unusable wishes."""
    rows = _wish_rows(get_db(app), member_id, year, department_ref)
    if not rows:
        raise ScheduleError(f"по подразделению {department_ref} нет пожеланий на {year} год")
    opened = source or open_source(app, bizproc_settings(app))
    try:
        organization_ref, staff = staff_of(opened.employments(), department_ref, year)
    finally:
        if source is None:
            opened.close()
    return consolidate(year, organization_ref or rows[0].organization_ref, department_ref, staff, _as_wishes(rows),
                       max_away)


def approve_schedule(app: Flask, member_id: str, department_ref: str, year: int, max_away: int,
                     approved_by: str) -> ScheduleApproval:
    """Approve the consolidated schedule, write it to ZUP (once per content) and tell the employees."""
    if not approved_by.strip():
        raise ScheduleError("укажите, кто утверждает график")
    source = open_source(app, bizproc_settings(app))
    try:
        consolidated = consolidation(app, member_id, department_ref, year, max_away, source)
        key = content_key(consolidated.wishes)
        schedule = approve(consolidated, f"{department_ref}/{year}/{key}", approved_by.strip())
        written = source.submit_vacation_schedule(schedule, _department_name(app, department_ref))
    finally:
        source.close()
    approval = _record(get_db(app), ApprovedVacationSchedule(
        member_id=member_id, department_ref=department_ref, year=year, content_key=key, max_away=max_away,
        approved_by=schedule.approved_by, zup_ref=written.ref, zup_number=written.number))
    _notify(app, member_id, approval)
    return approval


def staff_of(states: Iterable[EmploymentState], department_ref: str, year: int) -> tuple[str | None, list[str]]:
    """The organisation and the employees working in the department at any time of the year."""
    first, last = dt.date(year, 1, 1), dt.date(year, 12, 31)
    members = [state for state in states if state.department_ref == department_ref
               and state.hire_date is not None and state.hire_date <= last
               and (state.dismissal_date is None or state.dismissal_date >= first)]
    organizations = sorted({state.organization_ref for state in members if state.organization_ref})
    return (organizations[0] if organizations else None), sorted(state.employee_ref for state in members)


def content_key(wishes: Sequence[Wish]) -> str:
    """A digest of the periods: the same wishes give the same key, hence the same ZUP document."""
    lines = sorted(f"{w.employee_ref}|{w.start.isoformat()}|{w.end.isoformat()}|{w.note}" for w in wishes)
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()[:16]


def _wish_rows(db: Database, member_id: str, year: int, department_ref: str | None = None) -> list[VacationWish]:
    statement = select(VacationWish).where(VacationWish.member_id == member_id, VacationWish.year == year)
    if department_ref is not None:
        statement = statement.where(VacationWish.department_ref == department_ref)
    with db.read_session() as session:
        return list(session.scalars(statement.order_by(VacationWish.starts_on, VacationWish.employee_ref)))


def _as_wishes(rows: Iterable[VacationWish]) -> tuple[Wish, ...]:
    return tuple(Wish(r.employee_ref, r.person_ref, r.starts_on, r.ends_on, r.note) for r in rows)


def _department_name(app: Flask, department_ref: str) -> str:
    site = directory(app).site_of_department(department_ref)
    return site.department_name if site is not None else ""


def _latest_approval(db: Database, member_id: str, department_ref: str, year: int) -> ScheduleApproval | None:
    with db.read_session() as session:
        row = session.scalars(select(ApprovedVacationSchedule).where(
            ApprovedVacationSchedule.member_id == member_id, ApprovedVacationSchedule.department_ref == department_ref,
            ApprovedVacationSchedule.year == year).order_by(ApprovedVacationSchedule.id.desc())).first()
    return _approval(row) if row is not None else None


def _approval(row: ApprovedVacationSchedule) -> ScheduleApproval:
    return ScheduleApproval(row.department_ref, row.year, row.content_key, row.max_away, row.approved_by,
                            row.zup_ref, row.zup_number, row.approved_at)


def _record(db: Database, approved: ApprovedVacationSchedule) -> ScheduleApproval:
    """Store the approval; the same content approved before keeps its first row (and document)."""
    try:
        with db.session() as session:
            session.add(approved)
    except IntegrityError:  # approved before (or by a concurrent approval of the same wishes)
        pass
    with db.read_session() as session:
        row = session.scalars(select(ApprovedVacationSchedule).where(
            ApprovedVacationSchedule.member_id == approved.member_id,
            ApprovedVacationSchedule.department_ref == approved.department_ref,
            ApprovedVacationSchedule.year == approved.year,
            ApprovedVacationSchedule.content_key == approved.content_key)).one()
        return _approval(row)


def _notify(app: Flask, member_id: str, approval: ScheduleApproval) -> None:
    """Each employee with periods in the schedule learns it was approved and went to 1C:ZUP."""
    rows = _wish_rows(get_db(app), member_id, approval.year, approval.department_ref)
    periods: dict[int, list[str]] = {}
    for row in rows:
        periods.setdefault(row.user_id, []).append(f"{row.starts_on:%d.%m.%Y}–{row.ends_on:%d.%m.%Y}")
    client = client_for(app, member_id)
    for user_id, texts in periods.items():
        message = (f"График отпусков на {approval.year} год утверждён и передан в 1С:ЗУП "
                   f"(документ {approval.zup_number.strip()}). Ваши периоды: {', '.join(texts)}.")
        client.call("im.notify.system.add", {"USER_ID": user_id, "MESSAGE": message})
