"""Locked timesheets to 1C:ZUP as Document.ТабельУчетаРабочегоВремени, at most once per version.

Each timesheet version (its ``revision``) is one document with the key ``b24app-ts-<id>-r<revision>``:
the connector writes it unposted for the payroll accountant and, when the same key comes again
(an answer lost, a crash before ``onec_revision`` was stored), finds the document written before
instead of writing a second (``ZupSource.push_timesheet``). The hours sent are the worked hours of
each day (T-13 codes that carry hours), under the configured kind of time «Явка»; absences reach
1C through their own documents (vacation, sick leave, business trip).
"""
from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from b24app.db import Database
from onec.errors import OneCError, Transient
from onec.models import Timesheet as OneCTimesheet
from onec.models import TimesheetRow
from onec.source import ZupSource
from timesheets.calendar import month_dates
from timesheets.codes import all_codes
from timesheets.models import Timesheet
from timesheets.sheets import day_value, record

log = logging.getLogger(__name__)


def push_key(timesheet: Timesheet) -> str:
    return f"b24app-ts-{timesheet.id}-r{timesheet.revision}"


def onec_document(timesheet: Timesheet, time_kind_ref: str) -> OneCTimesheet:
    """The 1C document of one timesheet version: the employee's worked hours per day."""
    hours = {}
    for date, row in zip(month_dates(timesheet.period_start), timesheet.days):
        minutes = sum(mark.minutes or 0 for mark in day_value(row).marks if all_codes()[mark.code].hours)
        if minutes:
            hours[date] = round(minutes / 60, 2)
    return OneCTimesheet(push_key(timesheet), timesheet.legal_entity_ref, timesheet.department_ref,
                         timesheet.period_start, time_kind_ref, (TimesheetRow(timesheet.employee_ref, hours),))


@dataclass
class PushReport:
    pushed: dict[int, str] = field(default_factory=dict)  # timesheet id -> 1C document number
    failed: dict[int, str] = field(default_factory=dict)  # timesheet id -> Russian reason


def push_locked(db: Database, member_id: str, source: ZupSource, time_kind_ref: str,
                now: dt.datetime) -> PushReport:
    """Every locked timesheet of portal ``member_id`` whose current version 1C does not have yet; failures
    wait for the next run."""
    with db.read_session() as session:
        waiting = list(session.scalars(select(Timesheet).options(selectinload(Timesheet.days)).where(
            Timesheet.member_id == member_id, Timesheet.status == "locked",
            (Timesheet.onec_revision.is_(None)) | (Timesheet.onec_revision != Timesheet.revision))
            .order_by(Timesheet.id)))
    report = PushReport()
    for timesheet in waiting:
        try:
            written = source.push_timesheet(onec_document(timesheet, time_kind_ref))
        except OneCError as error:
            kind = "1С:ЗУП недоступна, повторим" if isinstance(error, Transient) else "1С:ЗУП отказала"
            report.failed[timesheet.id] = f"{kind}: {error}"
            log.warning("timesheet %s not pushed to 1C: %s", timesheet.id, type(error).__name__)
            continue
        with db.session() as session:
            stored = session.get(Timesheet, timesheet.id)
            assert stored is not None
            stored.onec_ref, stored.onec_number, stored.onec_revision = written.ref, written.number, timesheet.revision
            record(session, timesheet.id, now, None, "onec", after=f"{written.number} ({written.ref})",
                   comment=f"версия {timesheet.revision}")
        report.pushed[timesheet.id] = written.number
    return report
