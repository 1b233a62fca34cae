"""Timesheets and their cells: open a month, edit cells (optimistic concurrency), move statuses.

Every change writes its :class:`~timesheets.models.TimesheetEvent` in the same transaction. Cell
edits lock the timesheet row first, so an edit and a submission of the same timesheet never
interleave: an edit either lands before the submission or is refused after it.

Statuses::

    draft ──submit──> submitted ──approve_client──> approved_by_client ──approve_provider──> approved_by_provider ──lock──> locked
      ^                   │                               │
      └─── returned <─────┴──return_client    return_provider──┘   (returned ──submit──> submitted)
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from timesheets.calendar import month_dates
from timesheets.codes import BadMark, DayValue, parse_day
from timesheets.models import Timesheet, TimesheetDay, TimesheetEvent

Clock = Callable[[], dt.datetime]

STATUS_TITLES = {
    "draft": "Черновик", "submitted": "На согласовании у клиента",
    "approved_by_client": "Согласован клиентом", "approved_by_provider": "Согласован провайдером",
    "locked": "Закрыт", "returned": "Возвращён на доработку",
}
EDITABLE = frozenset({"draft", "returned"})
TRANSITIONS = {
    ("draft", "submit"): "submitted", ("returned", "submit"): "submitted",
    ("submitted", "approve_client"): "approved_by_client", ("submitted", "return_client"): "returned",
    ("approved_by_client", "approve_provider"): "approved_by_provider",
    ("approved_by_client", "return_provider"): "returned",
    ("approved_by_provider", "lock"): "locked",
}
RETURN_STEPS = {"return_client": "client", "return_provider": "provider"}


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


class TimesheetError(Exception):
    """A refused timesheet operation; the message is for the user (Russian)."""


class NotFound(TimesheetError):
    pass


class NotEditable(TimesheetError):
    pass


class WrongTransition(TimesheetError):
    pass


class BadCell(TimesheetError):
    """A typed value that is not a T-13 mark, or a day outside the month."""

    def __init__(self, timesheet_id: int, day: int, message: str) -> None:
        super().__init__(f"{day} число: {message}")
        self.timesheet_id = timesheet_id
        self.day = day


@dataclass(frozen=True)
class CellState:
    """A cell as the grid shows it: its text, its version, what the schedule planned."""

    timesheet_id: int
    day: int
    text: str
    version: int
    planned: str


class Conflict(TimesheetError):
    """The cell changed since the editor saw it; ``current`` is what it holds now."""

    def __init__(self, current: CellState) -> None:
        super().__init__(f"{current.day} число уже изменено другим пользователем: сейчас «{current.text}»")
        self.current = current


@dataclass(frozen=True)
class Assignment:
    """One employment at one client site for one month: what a timesheet is opened for."""

    person_ref: str
    employee_ref: str
    user_id: int | None
    department_ref: str
    group_id: int | None
    legal_entity_ref: str
    employee_name: str
    personnel_number: str = ""
    position: str = ""
    site_name: str = ""
    legal_entity_name: str = ""
    hire_date: dt.date | None = None  # days before it and after the dismissal stay empty
    dismissal_date: dt.date | None = None

    def employed_on(self, date: dt.date) -> bool:
        return (self.hire_date is None or self.hire_date <= date) and (
            self.dismissal_date is None or date <= self.dismissal_date)

    def columns(self) -> dict[str, object]:
        """What a Timesheet row keeps of the assignment."""
        return {key: value for key, value in vars(self).items() if key not in ("hire_date", "dismissal_date")}


@dataclass(frozen=True)
class CellEdit:
    """What the grid sends for one cell: the typed text and the version it was typed over."""

    timesheet_id: int
    day: int
    text: str
    seen_version: int


def first_of_month(date: dt.date) -> dt.date:
    return date.replace(day=1)


def cell_state(row: TimesheetDay) -> CellState:
    return CellState(row.timesheet_id, row.day, day_value(row).text, row.version, row.planned)


def day_value(row: TimesheetDay) -> DayValue:
    return DayValue.from_columns(row.code, row.minutes, row.code2, row.minutes2)


def record(session: Session, timesheet_id: int, now: dt.datetime, actor: int | None, action: str, *,
           day: int | None = None, before: str = "", after: str = "", comment: str | None = None) -> None:
    session.add(TimesheetEvent(timesheet_id=timesheet_id, at=now, actor_user_id=actor, action=action, day=day,
                               before=before, after=after, comment=comment))


def find_timesheet(session: Session, member_id: str, assignment: Assignment,
                   period_start: dt.date) -> Timesheet | None:
    return session.scalar(select(Timesheet).where(
        Timesheet.member_id == member_id, Timesheet.employee_ref == assignment.employee_ref, Timesheet.department_ref == assignment.department_ref,
        Timesheet.period_start == first_of_month(period_start)))


def open_timesheet(session: Session, member_id: str, assignment: Assignment, period_start: dt.date,
                   client_key: str, values: Sequence[DayValue], now: dt.datetime, actor: int | None = None) -> Timesheet:
    """The month's timesheet of the assignment on portal ``member_id``, created from ``values`` (one per day)
    if missing."""
    period_start = first_of_month(period_start)
    existing = find_timesheet(session, member_id, assignment, period_start)
    if existing is not None:
        return existing
    dates = month_dates(period_start)
    if len(values) != len(dates):
        raise ValueError(f"{len(values)} values for a month of {len(dates)} days")
    timesheet = Timesheet(member_id=member_id, period_start=period_start, client_key=client_key, status="draft", revision=0,
                          created_at=now, updated_at=now, **assignment.columns())
    for date, value in zip(dates, values):
        code, minutes, code2, minutes2 = value.as_columns()
        timesheet.days.append(TimesheetDay(day=date.day, code=code, minutes=minutes, code2=code2,
                                           minutes2=minutes2, planned=value.text, version=1))
    session.add(timesheet)
    session.flush()
    record(session, timesheet.id, now, actor, "create", after=month_text(values))
    return timesheet


def month_text(values: Iterable[DayValue]) -> str:
    """A month's values in one audit line: ``1:Я 8|2:В|...``."""
    return "|".join(f"{day}:{value.text}" for day, value in enumerate(values, start=1))


def replan(session: Session, timesheet: Timesheet, values: Sequence[DayValue], now: dt.datetime,
           actor: int | None = None) -> int:
    """Prefill again: days still holding their old plan take the new one; edited days stay. Changed count."""
    _require_editable(timesheet)
    before = [day_value(row) for row in timesheet.days]
    changed = 0
    for row, value in zip(timesheet.days, values):
        if day_value(row).text == row.planned and row.planned != value.text:
            row.code, row.minutes, row.code2, row.minutes2 = value.as_columns()
            row.version += 1
            changed += 1
        row.planned = value.text
    timesheet.updated_at = now
    record(session, timesheet.id, now, actor, "prefill", before=month_text(before),
           after=month_text(day_value(row) for row in timesheet.days))
    return changed


def _require_editable(timesheet: Timesheet) -> None:
    if timesheet.status not in EDITABLE:
        raise NotEditable(f"табель «{timesheet.employee_name}» {STATUS_TITLES[timesheet.status].lower()}: "
                          "изменять его нельзя")


def locked_timesheets(session: Session, ids: Iterable[int]) -> dict[int, Timesheet]:
    wanted = sorted(set(ids))
    rows = session.scalars(select(Timesheet).where(Timesheet.id.in_(wanted)).order_by(Timesheet.id)
                           .with_for_update()).all()
    found = {row.id: row for row in rows}
    missing = [ts_id for ts_id in wanted if ts_id not in found]
    if missing:
        raise NotFound(f"табель {missing[0]} не найден")
    return found


def edit_cells(session: Session, edits: Sequence[CellEdit], actor: int | None, now: dt.datetime) -> list[CellState]:
    """Apply every edit or none: a conflict, a non-editable timesheet or a bad value refuses them all."""
    timesheets = locked_timesheets(session, (edit.timesheet_id for edit in edits))
    for timesheet in timesheets.values():
        _require_editable(timesheet)
    states = [_edit_cell(session, timesheets[edit.timesheet_id], edit, actor, now) for edit in edits]
    for timesheet in timesheets.values():
        timesheet.updated_at = now
    return states


def _edit_cell(session: Session, timesheet: Timesheet, edit: CellEdit, actor: int | None,
               now: dt.datetime) -> CellState:
    if not 1 <= edit.day <= len(month_dates(timesheet.period_start)):
        raise BadCell(timesheet.id, edit.day, "такого дня в месяце нет")
    try:
        value = parse_day(edit.text)
    except BadMark as error:
        raise BadCell(timesheet.id, edit.day, str(error)) from None
    row = session.get(TimesheetDay, (timesheet.id, edit.day))
    assert row is not None, "every day of a month has its row"
    if row.version != edit.seen_version:
        raise Conflict(cell_state(row))
    before = day_value(row).text
    if before != value.text:
        row.code, row.minutes, row.code2, row.minutes2 = value.as_columns()
        row.version += 1
        record(session, timesheet.id, now, actor, "cell", day=edit.day, before=before, after=value.text)
    return cell_state(row)


def transition(session: Session, timesheet: Timesheet, action: str, actor: int | None, now: dt.datetime,
               comment: str | None = None) -> str:
    """Move the timesheet along TRANSITIONS (its row locked and re-read first); returns the new status."""
    session.refresh(timesheet, with_for_update=True)
    target = TRANSITIONS.get((timesheet.status, action))
    if target is None:
        raise WrongTransition(f"табель «{timesheet.employee_name}» {STATUS_TITLES[timesheet.status].lower()}: "
                              "это действие сейчас недоступно")
    if action in RETURN_STEPS and not (comment or "").strip():
        raise WrongTransition("вернуть табель можно только с комментарием: что исправить")
    before = timesheet.status
    timesheet.status, timesheet.updated_at = target, now
    if action == "submit":
        timesheet.revision += 1
        timesheet.submitted_by = actor
        timesheet.return_step = timesheet.return_comment = None
    if action in RETURN_STEPS:
        timesheet.return_step, timesheet.return_comment = RETURN_STEPS[action], comment
    record(session, timesheet.id, now, actor, "status", before=before, after=target, comment=comment)
    session.flush()
    return target


def cells(session: Session, timesheet_id: int) -> list[CellState]:
    rows = session.scalars(select(TimesheetDay).where(TimesheetDay.timesheet_id == timesheet_id)
                           .order_by(TimesheetDay.day))
    return [cell_state(row) for row in rows]


def audit_trail(session: Session, timesheet_id: int) -> list[TimesheetEvent]:
    return list(session.scalars(select(TimesheetEvent).where(TimesheetEvent.timesheet_id == timesheet_id)
                                .order_by(TimesheetEvent.id)))
