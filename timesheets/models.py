"""Tables of the timesheets feature: timesheets, their day cells, the audit trail, rates and notices.

A timesheet belongs to one employment (1C employee ref) at one client site (department ref and its
workgroup) for one month, on one portal (``member_id``: Bitrix24 user and group ids, list elements and
rates are the portal's own; the day cells and the audit trail belong to it through their timesheet). Hours are stored as whole minutes (7.5 h = 450), money as kopecks, so
sums never drift. Every change of a cell or a status writes a :class:`TimesheetEvent` in the same
transaction.
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (Date, ForeignKey, Index, Integer, SmallInteger, String, Text, UniqueConstraint)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from b24app.db import Base, UTCDateTime


class Timesheet(Base):
    """One employee's month at one client site; ``revision`` counts submissions (1C push key)."""

    __tablename__ = "timesheets"
    __table_args__ = (
        UniqueConstraint("member_id", "employee_ref", "department_ref", "period_start",
                         name="uq_timesheet_assignment"),
        Index("ix_timesheets_site_period", "member_id", "group_id", "period_start"),
        Index("ix_timesheets_user_period", "member_id", "user_id", "period_start"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    member_id: Mapped[str] = mapped_column(String(64))  # the portal (b24app.portal.portal_key)
    period_start: Mapped[date] = mapped_column(Date)  # the first day of the month
    person_ref: Mapped[str] = mapped_column(String(64))
    employee_ref: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[int | None] = mapped_column(Integer)  # the employee's Bitrix24 user
    department_ref: Mapped[str] = mapped_column(String(64))
    site_name: Mapped[str] = mapped_column(String(255), default="")
    group_id: Mapped[int | None] = mapped_column(Integer)  # the client site's workgroup
    legal_entity_ref: Mapped[str] = mapped_column(String(64))
    legal_entity_name: Mapped[str] = mapped_column(String(255), default="")
    client_key: Mapped[str] = mapped_column(String(64))  # who is invoiced for the site (timesheets.clients)
    employee_name: Mapped[str] = mapped_column(String(255))
    personnel_number: Mapped[str] = mapped_column(String(32), default="")
    position: Mapped[str] = mapped_column(String(255), default="")
    status: Mapped[str] = mapped_column(String(24), default="draft")
    revision: Mapped[int] = mapped_column(Integer, default=0)
    return_step: Mapped[str | None] = mapped_column(String(16))  # client | provider
    return_comment: Mapped[str | None] = mapped_column(Text)
    submitted_by: Mapped[int | None] = mapped_column(Integer)
    element_id: Mapped[int | None] = mapped_column(Integer)  # the list element the workflow runs on
    workflow_id: Mapped[str | None] = mapped_column(String(64))
    onec_ref: Mapped[str | None] = mapped_column(String(64))  # Document.ТабельУчетаРабочегоВремени
    onec_number: Mapped[str | None] = mapped_column(String(32))
    onec_revision: Mapped[int | None] = mapped_column(Integer)  # the version 1C has
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    days: Mapped[list[TimesheetDay]] = relationship(
        back_populates="timesheet", order_by="TimesheetDay.day", cascade="all, delete-orphan")


class TimesheetDay(Base):
    """One day of a timesheet: up to two T-13 marks (code + minutes) and what the schedule planned.

    ``version`` grows with every change: an edit names the version it saw (optimistic concurrency).
    """

    __tablename__ = "timesheet_days"

    timesheet_id: Mapped[int] = mapped_column(ForeignKey("timesheets.id", ondelete="CASCADE"), primary_key=True)
    day: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    code: Mapped[str] = mapped_column(String(4), default="")
    minutes: Mapped[int | None] = mapped_column(Integer)
    code2: Mapped[str | None] = mapped_column(String(4))
    minutes2: Mapped[int | None] = mapped_column(Integer)
    planned: Mapped[str] = mapped_column(String(16), default="")  # the prefill's mark, as text
    version: Mapped[int] = mapped_column(Integer, default=1)

    timesheet: Mapped[Timesheet] = relationship(back_populates="days")


class TimesheetEvent(Base):
    """The audit trail: who changed what and when, with the value before and after."""

    __tablename__ = "timesheet_events"
    __table_args__ = (Index("ix_timesheet_events_sheet", "timesheet_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    timesheet_id: Mapped[int] = mapped_column(ForeignKey("timesheets.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor_user_id: Mapped[int | None] = mapped_column(Integer)  # None: the service itself (prefill, workflow)
    action: Mapped[str] = mapped_column(String(24))  # create | prefill | cell | status | onec
    day: Mapped[int | None] = mapped_column(SmallInteger)
    before: Mapped[str] = mapped_column(Text, default="")
    after: Mapped[str] = mapped_column(Text, default="")
    comment: Mapped[str | None] = mapped_column(Text)


class TimesheetRate(Base):
    """An hourly rate of one position for one client, valid from a date (to a date, inclusive)."""

    __tablename__ = "timesheet_rates"
    __table_args__ = (UniqueConstraint("member_id", "client_key", "position", "valid_from", name="uq_timesheet_rate"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    member_id: Mapped[str] = mapped_column(String(64))
    client_key: Mapped[str] = mapped_column(String(64))
    position: Mapped[str] = mapped_column(String(255))
    rate_kopecks: Mapped[int] = mapped_column(Integer)
    valid_from: Mapped[date] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)
    set_by: Mapped[int | None] = mapped_column(Integer)
    set_at: Mapped[datetime] = mapped_column(UTCDateTime())


class TimesheetNotice(Base):
    """A notification to send through Bitrix24 (outbox): written with the change, sent by a job."""

    __tablename__ = "timesheet_notices"
    __table_args__ = (UniqueConstraint("member_id", "dedupe_key", name="uq_timesheet_notice"),
                      Index("ix_timesheet_notices_pending", "sent_at"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    member_id: Mapped[str] = mapped_column(String(64))
    dedupe_key: Mapped[str] = mapped_column(String(128))
    user_id: Mapped[int] = mapped_column(Integer)
    message: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(String(255))
