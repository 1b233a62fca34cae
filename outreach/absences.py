"""Who is away and who stands in: the absences of approvers and their substitutes.

An absence is known from an approved vacation or business-trip request of the person (read by the
approvals watcher, one row per request) or set by the provider manager (``b24app outreach absence add``,
or :func:`set_absence` from a page). The substitute of an absent approver is the one the absence names; a
substitute who is away too hands on to their own substitute. Read by the approver resolution of the
business processes through :class:`AbsenceSubstitutes` (``bizproc_templates.approvers.Substitutes``).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from flask import Flask
from sqlalchemy import delete, select

from b24app.db import Database, get_db
from outreach.models import OutreachAbsence
from outreach.service import today

MANUAL = "manual"
CHAIN_LIMIT = 5  # substitutes followed when the substitute is away too


class AbsenceError(ValueError):
    """An absence that cannot be recorded (Russian message)."""


@dataclass(frozen=True)
class Absence:
    id: int
    member_id: str
    user_id: int
    date_from: dt.date
    date_to: dt.date
    substitute_id: int | None
    source: str
    note: str


def set_absence(db: Database, *, member_id: str, user_id: int, date_from: dt.date, date_to: dt.date,
                substitute_id: int | None, now: dt.datetime, source: str | None = None, note: str = "") -> int:
    """Record an absence (the same person, dates and source again: updated in place); returns its id."""
    if date_to < date_from:
        raise AbsenceError("дата окончания отсутствия раньше даты начала")
    if substitute_id == user_id:
        raise AbsenceError("сотрудник не может замещать сам себя")
    source = source or f"{MANUAL}:{user_id}:{date_from.isoformat()}:{date_to.isoformat()}"
    with db.write_lock, db.session() as session:
        row = session.scalar(select(OutreachAbsence).where(OutreachAbsence.member_id == member_id,
                                                           OutreachAbsence.source == source))
        if row is None:
            row = OutreachAbsence(member_id=member_id, source=source, created_at=now)
            session.add(row)
        row.user_id, row.date_from, row.date_to = user_id, date_from, date_to
        row.substitute_id, row.note = substitute_id, note
        session.flush()
        return row.id


def remove_absence(db: Database, absence_id: int) -> bool:
    with db.write_lock, db.session() as session:
        return bool(session.execute(delete(OutreachAbsence).where(OutreachAbsence.id == absence_id)).rowcount)


def remove_by_source(db: Database, member_id: str, source: str) -> None:
    with db.write_lock, db.session() as session:
        session.execute(delete(OutreachAbsence).where(OutreachAbsence.member_id == member_id,
                                                      OutreachAbsence.source == source))


def absences(db: Database, *, member_id: str | None = None, since: dt.date | None = None) -> list[Absence]:
    """Absences (of one portal; those not over before ``since``), by start date."""
    query = select(OutreachAbsence).order_by(OutreachAbsence.date_from, OutreachAbsence.id)
    if member_id is not None:
        query = query.where(OutreachAbsence.member_id == member_id)
    if since is not None:
        query = query.where(OutreachAbsence.date_to >= since)
    with db.read_session() as session:
        return [_absence(row) for row in session.scalars(query)]


def absence_on(db: Database, member_id: str, user_id: int, day: dt.date) -> Absence | None:
    """The absence of ``user_id`` covering ``day`` (one naming a substitute first, then the latest)."""
    with db.read_session() as session:
        rows = list(session.scalars(select(OutreachAbsence).where(
            OutreachAbsence.member_id == member_id, OutreachAbsence.user_id == user_id,
            OutreachAbsence.date_from <= day, OutreachAbsence.date_to >= day)))
    rows.sort(key=lambda r: (r.substitute_id is not None, r.created_at, r.id), reverse=True)
    return _absence(rows[0]) if rows else None


def substitute_on(db: Database, member_id: str, user_id: int, day: dt.date) -> int | None:
    """Who stands in for ``user_id`` on ``day``: None when they are not away or nobody is named."""
    seen = {user_id}
    current = user_id
    for _ in range(CHAIN_LIMIT):
        absence = absence_on(db, member_id, current, day)
        if absence is None:
            return None if current == user_id else current
        if absence.substitute_id is None or absence.substitute_id in seen:
            return None
        current = absence.substitute_id
        seen.add(current)
    return None


def _absence(row: OutreachAbsence) -> Absence:
    return Absence(row.id, row.member_id, row.user_id, row.date_from, row.date_to, row.substitute_id, row.source,
                   row.note)


class AbsenceSubstitutes:
    """``bizproc_templates.approvers.Substitutes``: the approver's substitute today (the approvals' time zone)."""

    def __init__(self, app: Flask) -> None:
        self.app = app

    def substitute_for(self, member_id: str, user_id: int) -> int | None:
        return substitute_on(get_db(self.app), member_id, user_id, today(self.app))
