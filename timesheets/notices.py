"""Notifications through Bitrix24 (im.notify.system.add), written to an outbox with the change they report.

A notice is a row of ``timesheet_notices`` added in the same transaction as the status change, so a
change never goes unannounced and an announcement never reports a change that was rolled back. The
scheduled job sends pending rows in batches; each carries its dedupe key as the notification TAG
(Bitrix24 replaces an older notification with the same tag: Bitrix24 REST docs,
``im.notify.system.add``), so a send whose answer was lost is simply sent again.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from b24app.bitrix import B24Client
from b24app.bitrix.commands import Command
from b24app.db import Database
from timesheets.calendar import month_title
from timesheets.codes import format_hours
from timesheets.models import Timesheet, TimesheetNotice
from timesheets.sheets import day_value
from timesheets.totals import code_totals, worked_minutes

MAX_ATTEMPTS = 5
SEND_LIMIT = 1000
RETURN_SIDES = {"client": "менеджером клиента", "provider": "менеджером провайдера"}


@dataclass
class Notices:
    """Adds notices of portal ``member_id`` to the session of the change; ``link_of`` gives the timesheet's
    deep link."""

    session: Session
    member_id: str
    link_of: Callable[[Timesheet], str] = lambda timesheet: ""

    def add(self, key: str, users: Iterable[int | None], message: str, now: dt.datetime) -> None:
        for user_id in dict.fromkeys(u for u in users if u):
            dedupe_key = f"{key}:u{user_id}"
            exists = self.session.scalar(select(TimesheetNotice.id).where(
                TimesheetNotice.member_id == self.member_id, TimesheetNotice.dedupe_key == dedupe_key))
            if exists is None:
                self.session.add(TimesheetNotice(member_id=self.member_id, dedupe_key=dedupe_key, user_id=user_id, message=message,
                                                 created_at=now, attempts=0))

    def _about(self, timesheet: Timesheet) -> str:
        link = self.link_of(timesheet)
        hours = format_hours(worked_minutes(code_totals(day_value(row) for row in timesheet.days))) or "0"
        text = (f"{timesheet.employee_name}, площадка «{timesheet.site_name}», {month_title(timesheet.period_start)}, "
                f"отработано {hours} ч")
        return f"{text}. {link}" if link else f"{text}."

    def submitted(self, timesheet: Timesheet, approvers: Iterable[int], now: dt.datetime) -> None:
        self.add(f"ts{timesheet.id}:r{timesheet.revision}:submitted", approvers,
                 f"Табель ждёт вашего согласования: {self._about(timesheet)}", now)

    def waiting_for_provider(self, timesheet: Timesheet, approvers: Iterable[int], now: dt.datetime) -> None:
        self.add(f"ts{timesheet.id}:r{timesheet.revision}:client-approved", approvers,
                 f"Табель согласован клиентом и ждёт вашего согласования: {self._about(timesheet)}", now)

    def approved(self, timesheet: Timesheet, now: dt.datetime) -> None:
        self.add(f"ts{timesheet.id}:r{timesheet.revision}:approved", _authors(timesheet),
                 f"Табель согласован клиентом и провайдером: {self._about(timesheet)}", now)

    def returned(self, timesheet: Timesheet, now: dt.datetime) -> None:
        side = RETURN_SIDES.get(timesheet.return_step or "", "согласующим")
        self.add(f"ts{timesheet.id}:r{timesheet.revision}:returned", _authors(timesheet),
                 f"Табель возвращён на доработку {side}: «{timesheet.return_comment}». {self._about(timesheet)}",
                 now)


def _authors(timesheet: Timesheet) -> tuple[int | None, ...]:
    """Who filled the timesheet (the submitter, e.g. a brigade leader) and whose it is."""
    return timesheet.submitted_by, timesheet.user_id


@dataclass
class SendReport:
    sent: int = 0
    failed: int = 0


def send_notices(client: B24Client, db: Database, member_id: str, now: dt.datetime,
                 limit: int = SEND_LIMIT) -> SendReport:
    """Send the pending notices of portal ``member_id`` (``client`` reaches it) in batches; failures are
    retried up to MAX_ATTEMPTS times by later runs."""
    with db.read_session() as session:
        pending = list(session.scalars(select(TimesheetNotice).where(
            TimesheetNotice.member_id == member_id, TimesheetNotice.sent_at.is_(None), TimesheetNotice.attempts < MAX_ATTEMPTS)
            .order_by(TimesheetNotice.id).limit(limit)))
    commands = (Command("im.notify.system.add", {"USER_ID": notice.user_id, "MESSAGE": notice.message,
                                                 "TAG": f"b24app-{notice.dedupe_key}"[:255]}, ref=notice.id)
                for notice in pending)
    outcomes = {outcome.command.ref: outcome for outcome in client.run_commands(commands)}
    report = SendReport()
    with db.session() as session:
        for notice in session.scalars(select(TimesheetNotice).where(TimesheetNotice.id.in_(list(outcomes)))):
            outcome = outcomes[notice.id]
            notice.attempts += 1
            if outcome.status == "ok":
                notice.sent_at, notice.last_error = now, None
                report.sent += 1
            else:
                notice.last_error = (outcome.error.code if outcome.error is not None and hasattr(outcome.error, "code")
                                     else "нет ответа")[:255]
                report.failed += 1
    return report
