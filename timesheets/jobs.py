"""Scheduled jobs: the approval cycle (start workflows, apply outcomes, lock closed months, notify)
and the reminders before a month's timesheets close. Each serves the portal in scope (the scheduler runs
them once per portal app.yaml names), else every installed portal in turn, each in its own scope
(``b24app.portal.portals_in_turn``): a run reads and writes only that portal's timesheets and notices."""
from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from flask import Flask
from sqlalchemy import ColumnElement, func, select

from b24app.bitrix.errors import B24Error
from b24app.db import Database, get_db
from b24app.portal import client_for, get_config, portal_key, portals_in_turn
from b24app.tenancy import portal_scope
from cabinet.settings import brigade_leaders
from timesheets.approval import IN_APPROVAL, ApproversOf, process_list, start_workflows, sync_outcomes
from timesheets.calendar import month_title
from timesheets.models import Timesheet, TimesheetNotice
from timesheets.notices import MAX_ATTEMPTS, Notices, send_notices
from timesheets.onec_push import PushReport, push_locked
from timesheets.roster import directory_approvers, open_source
from timesheets.settings import TimesheetSettings
from timesheets.sheets import EDITABLE, Clock, TimesheetError, first_of_month, transition, utc_now

log = logging.getLogger(__name__)

CLOCK_KEY = "timesheets.clock"


def clock_of(app: Flask) -> Clock:
    """The app's clock (tests put a fixed one in ``app.extensions["timesheets.clock"]``)."""
    return app.extensions.get(CLOCK_KEY, utc_now)


def settings_of(app: Flask) -> TimesheetSettings:
    return get_config(app).settings("timesheets")


def approval_cycle(app: Flask) -> None:
    """Start what waits to start, apply what the workflows decided, lock closed months, send notices."""
    if get_config(app).mode != "app":
        log.info("timesheets: approvals need the installed application, not a webhook; skipped")
        return
    for member_id in portals_in_turn(app):
        with portal_scope(member_id):
            _approval_cycle(app, member_id)


def _approval_cycle(app: Flask, member_id: str) -> None:
    db, now, approvers_of = get_db(app), clock_of(app)(), directory_approvers(app)
    client = client_for(app, member_id)
    target = process_list(client, db, member_id)
    started = start_workflows(client, db, target, approvers_of, now)
    moved = sync_outcomes(client, db, target, approvers_of, now)
    locked = lock_closed_months(db, member_id, settings_of(app), now)
    pushed = push_to_onec(app, member_id)
    sent = send_notices(client, db, member_id, now)
    log.info("timesheets: %d started, %d waiting, %d moved, %d locked, %d pushed to 1C, %d notices sent",
             len(started.started), len(started.waiting), len(moved.moved), len(locked), len(pushed.pushed), sent.sent)


def refresh_outcomes(app: Flask, *conditions: ColumnElement[bool]) -> None:
    """Apply now what the workflows decided for the portal's timesheets in approval matching ``conditions``,
    so a page opened shows the current state: Bitrix24 has no event for a finished workflow and the job
    (``approval_cycle``) reads them all only every few minutes. A portal that does not answer leaves the
    stored state, which the page then shows."""
    if get_config(app).mode != "app":
        return
    db = get_db(app)
    try:
        member_id = portal_key(app)
        with db.read_session() as session:
            ids = list(session.scalars(select(Timesheet.id).where(
                Timesheet.member_id == member_id, Timesheet.status.in_(IN_APPROVAL),
                Timesheet.workflow_id.is_not(None), *conditions)))
        if not ids:
            return
        client = client_for(app, member_id)
        sync_outcomes(client, db, process_list(client, db, member_id), directory_approvers(app), clock_of(app)(),
                      timesheet_ids=ids)
    except (B24Error, LookupError, TimesheetError) as error:
        log.warning("timesheets: approval state not refreshed: %s", getattr(error, "code", type(error).__name__))


def push_to_onec(app: Flask, member_id: str) -> PushReport:
    """Locked timesheets of portal ``member_id`` to 1C:ZUP when ``timesheets.onec.time_kind`` is set."""
    time_kind = settings_of(app).onec_time_kind
    if time_kind is None:
        return PushReport()
    source = open_source(app)
    try:
        return push_locked(get_db(app), member_id, source, time_kind, clock_of(app)())
    finally:
        source.close()


def lock_closed_months(db: Database, member_id: str, settings: TimesheetSettings, now: dt.datetime) -> list[int]:
    """The portal's timesheets approved by both sides whose month has closed become locked (ready for payroll)."""
    today = now.date()
    with db.session() as session:
        approved = list(session.scalars(select(Timesheet).where(
            Timesheet.member_id == member_id, Timesheet.status == "approved_by_provider")))
        closed = [ts for ts in approved if settings.close_date(ts.period_start) <= today]
        for timesheet in closed:
            transition(session, timesheet, "lock", None, now)
    return [ts.id for ts in closed]


def reminders(app: Flask) -> None:
    """Reminders before a month closes, then send them."""
    for member_id in portals_in_turn(app):
        with portal_scope(member_id or None):
            _reminders(app, member_id)


def _reminders(app: Flask, member_id: str) -> None:
    db, now = get_db(app), clock_of(app)()
    plan_reminders(db, member_id, settings_of(app), brigade_leaders(app), now, directory_approvers(app))
    if get_config(app).mode == "app":
        send_notices(client_for(app, member_id), db, member_id, now)


def plan_reminders(db: Database, member_id: str, settings: TimesheetSettings,
                   leaders: Mapping[str, tuple[int, ...]], now: dt.datetime, approvers_of: ApproversOf) -> int:
    """Notices of portal ``member_id`` for a month that closes in one of ``remind_days_before`` days: each draft's authors (the
    employee and the brigade leader), a digest per site to its managers, and each approver with
    timesheets waiting at their step. Returns the timesheets reminded of."""
    today = now.date()
    reminded = 0
    for period in (first_of_month(first_of_month(today) - dt.timedelta(days=1)), first_of_month(today)):
        days_left = (settings.close_date(period) - today).days
        if days_left not in settings.remind_days_before:
            continue
        until = f"до закрытия табелей за {month_title(period)} осталось {days_left} дн. " \
                f"({settings.close_date(period):%d.%m.%Y})"
        with db.session() as session:
            open_ones = list(session.scalars(select(Timesheet).where(
                Timesheet.member_id == member_id, Timesheet.period_start == period, Timesheet.status.in_((*EDITABLE, *IN_APPROVAL)))
                .order_by(Timesheet.id)))
            reminder = Reminder(Notices(session, member_id), f"remind:{period:%Y-%m}:{days_left}", until, now)
            drafts = [ts for ts in open_ones if ts.status in EDITABLE]
            reminder.drafts(drafts, lambda department_ref: leaders.get(department_ref, ()), approvers_of)
            reminder.waiting([ts for ts in open_ones if ts.status in IN_APPROVAL], approvers_of)
            reminded += len(open_ones)
    return reminded


@dataclass
class Reminder:
    """The reminders of one month on one day."""

    notices: Notices
    key: str
    until: str
    now: dt.datetime

    def drafts(self, drafts: list[Timesheet], leaders_of: Callable[[str], tuple[int, ...]],
               approvers_of: ApproversOf) -> None:
        by_site: dict[str, list[Timesheet]] = {}
        for timesheet in drafts:
            by_site.setdefault(timesheet.department_ref, []).append(timesheet)
            self.notices.add(f"{self.key}:ts{timesheet.id}", (timesheet.user_id, *leaders_of(timesheet.department_ref)),
                             f"Табель «{timesheet.employee_name}» не отправлен на согласование: {self.until}.", self.now)
        for department_ref, sheets in by_site.items():
            managers = approvers_of(sheets[0])
            self.notices.add(f"{self.key}:site:{department_ref}", (*managers.client, *managers.provider),
                             f"На площадке «{sheets[0].site_name}» не отправлено табелей: {len(sheets)}; "
                             f"{self.until}.", self.now)

    def waiting(self, waiting: list[Timesheet], approvers_of: ApproversOf) -> None:
        """Each approver: how many timesheets wait for their decision."""
        counts: dict[int, int] = {}
        for timesheet in waiting:
            approvers = approvers_of(timesheet)
            for user_id in approvers.client if timesheet.status == "submitted" else approvers.provider:
                counts[user_id] = counts.get(user_id, 0) + 1
        for user_id, count in counts.items():
            self.notices.add(f"{self.key}:approver", (user_id,),
                             f"Ждут вашего согласования табелей: {count}; {self.until}.", self.now)


def health(app: Flask) -> dict[str, str]:
    """What waits too long, per portal: notices Bitrix24 refused every time, locked timesheets 1C does not
    have (on the portals whose timesheets go to 1C)."""
    with get_db(app).read_session() as session:
        undelivered = dict(session.execute(
            select(TimesheetNotice.member_id, func.count()).where(
                TimesheetNotice.sent_at.is_(None), TimesheetNotice.attempts >= MAX_ATTEMPTS)
            .group_by(TimesheetNotice.member_id)).tuples().all())
        unpushed = dict(session.execute(
            select(Timesheet.member_id, func.count()).where(
                Timesheet.status == "locked",
                (Timesheet.onec_revision.is_(None)) | (Timesheet.onec_revision != Timesheet.revision))
            .group_by(Timesheet.member_id)).tuples().all())
    report = {"notices": _waiting("не доставлено уведомлений", undelivered)}
    pushing = [portal for portal in portals_in_turn(app) or [""] if _pushes_to_onec(app, portal)]
    if pushing:
        report["onec_push"] = _waiting("закрытых табелей не в 1С",
                                       {p: n for p, n in unpushed.items() if p in pushing})
    return report


def _pushes_to_onec(app: Flask, portal: str) -> bool:
    with portal_scope(portal or None):
        return settings_of(app).onec_time_kind is not None


def _waiting(what: str, by_portal: Mapping[str, int]) -> str:
    """"ok", or the count, by portal when more than one has some."""
    total = sum(by_portal.values())
    if not total:
        return "ok"
    if len(by_portal) == 1:
        return f"{what}: {total}"
    return f"{what}: {total} (" + ", ".join(f"{p or '—'}: {n}" for p, n in sorted(by_portal.items())) + ")"
