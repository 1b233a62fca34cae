"""Tables of the business-process installer, the app-activity answers and the vacation schedule."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from b24app.db import Base, UTCDateTime
from b24app.models import utcnow


class InstalledObject(Base):
    """One object the installer put on a portal (list, field, template, activity) and its content hash."""

    __tablename__ = "bizproc_installed_objects"
    __table_args__ = (UniqueConstraint("member_id", "kind", "code", name="uq_bizproc_installed_object"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    member_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))  # list | field | template | activity
    code: Mapped[str] = mapped_column(String(128))  # process code, "<process>.<FIELD>" or activity code
    b24_id: Mapped[str] = mapped_column(String(64))
    content_hash: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer, default=1)  # 1 on create, +1 on every update
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class ActivityAnswer(Base):
    """The one answer of an app-activity call, committed before bizproc.event.send and resent until delivered."""

    __tablename__ = "bizproc_activity_answers"
    __table_args__ = (UniqueConstraint("member_id", "token_digest", name="uq_bizproc_activity_answer"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    member_id: Mapped[str] = mapped_column(String(64))
    token_digest: Mapped[str] = mapped_column(String(64))  # sha256 of the event_token
    code: Mapped[str] = mapped_column(String(64))
    workflow_id: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="sending")  # sending | sent | refused
    outcome: Mapped[str] = mapped_column(String(16))  # ok | error
    answer: Mapped[str] = mapped_column(Text, default="")  # JSON: RETURN_VALUES, LOG_MESSAGE
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class VacationWish(Base):
    """One period an employee wishes for the department's vacation schedule of a year.

    Written by the ``vacation_schedule`` process (app activity ``b24app_store_vacation_wishes``); a
    later request of the same employee for the same year replaces the earlier periods.
    """

    __tablename__ = "bizproc_vacation_wishes"
    __table_args__ = (Index("ix_bizproc_vacation_wishes_department", "member_id", "department_ref", "year"),
                      Index("ix_bizproc_vacation_wishes_employee", "member_id", "employee_ref", "year"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    member_id: Mapped[str] = mapped_column(String(64))
    year: Mapped[int] = mapped_column(Integer)
    department_ref: Mapped[str] = mapped_column(String(36))
    organization_ref: Mapped[str] = mapped_column(String(36))
    employee_ref: Mapped[str] = mapped_column(String(36))
    person_ref: Mapped[str] = mapped_column(String(36))
    user_id: Mapped[int] = mapped_column(Integer)
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    note: Mapped[str] = mapped_column(Text, default="")
    request_link: Mapped[str] = mapped_column(String(255))  # the list element the wish came from
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ApprovedVacationSchedule(Base):
    """A department's schedule for a year as the provider manager approved it and ZUP received it."""

    __tablename__ = "bizproc_vacation_schedules"
    __table_args__ = (UniqueConstraint("member_id", "department_ref", "year", "content_key",
                                       name="uq_bizproc_vacation_schedule"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    member_id: Mapped[str] = mapped_column(String(64))
    department_ref: Mapped[str] = mapped_column(String(36))
    year: Mapped[int] = mapped_column(Integer)
    content_key: Mapped[str] = mapped_column(String(32))  # digest of the approved periods
    max_away: Mapped[int] = mapped_column(Integer)
    approved_by: Mapped[str] = mapped_column(String(255))
    zup_ref: Mapped[str] = mapped_column(String(36))
    zup_number: Mapped[str] = mapped_column(String(32))
    approved_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
