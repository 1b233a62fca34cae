"""Scheduled jobs: the approval cycle (start workflows, apply outcomes, lock closed months, notify)
and the reminders before a month's timesheets close."""
from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable

from flask import Flask
from sqlalchemy import select

from b24app.db import Database, get_db
from b24app.portal import client_for, get_config, get_store
from timesheets.approval import ApproversOf, process_list, start_workflows, sync_outcomes
from timesheets.calendar import month_title
from timesheets.models import Timesheet
from timesheets.notices import Notices, send_notices
from timesheets.roster import directory_approvers
from timesheets.settings import TimesheetSettings
from timesheets.sheets import EDITABLE, Clock, first_of_month, transition, utc_now

log = logging.getLogger(__name__)

CLOCK_KEY = "timesheets.clock"


def clock_of(app: Flask) -> Clock:
    """The app's clock (tests put a fixed one in ``app.extensions["timesheets.clock"]``)."""
    return app.extensions.get(CLOCK_KEY, utc_now)


def settings_of(app: Flask) -> TimesheetSettings:
    return get_config(app).settings("timesheets")


def installed_member(app: Flask) -> str:
    installed = [i.member_id for i in get_store(app).all() if i.status == "installed"]
    if len(installed) != 1:
        raise LookupError(f"табели работают с одним порталом; установлено порталов: {len(installed)}")
    return installed[0]


def approval_cycle(app: Flask) -> None:
    """Start what waits to start, apply what the workflows decided, lock closed months, send notices."""
    if get_config(app).mode != "app":
        log.info("timesheets: approvals need the installed application, not a webhook; skipped")
        return
    db, now, approvers_of = get_db(app), clock_of(app)(), directory_approvers(app)
    member_id = installed_member(app)
    client = client_for(app, member_id)
    target = process_list(client, db, member_id)
    started = start_workflows(client, db, target, approvers_of, now)
    moved = sync_outcomes(client, db, target, approvers_of, now)
    locked = lock_closed_months(db, settings_of(app), now)
    sent = send_notices(client, db, now)
    log.info("timesheets: %d started, %d waiting, %d moved, %d locked, %d notices sent", len(started.started),
             len(started.waiting), len(moved.moved), len(locked), sent.sent)


def lock_closed_months(db: Database, settings: TimesheetSettings, now: dt.datetime) -> list[int]:
    """Timesheets approved by both sides whose month has closed become locked (ready for payroll)."""
    today = now.date()
    with db.session() as session:
        approved = list(session.scalars(select(Timesheet).where(Timesheet.status == "approved_by_provider")))
        closed = [ts for ts in approved if settings.close_date(ts.period_start) <= today]
        for timesheet in closed:
            transition(session, timesheet, "lock", None, now)
    return [ts.id for ts in closed]


def reminders(app: Flask) -> None:
    """Reminders before a month closes, then send them."""
    db, now = get_db(app), clock_of(app)()
    plan_reminders(db, settings_of(app), now, directory_approvers(app))
    if get_config(app).mode == "app":
        send_notices(client_for(app, installed_member(app)), db, now)


def plan_reminders(db: Database, settings: TimesheetSettings, now: dt.datetime, approvers_of: ApproversOf,
                   leader_of: Callable[[str], int | None] | None = None) -> int:
    """Notices for drafts of a month that closes in one of ``remind_days_before`` days: to each author
    (the employee and the brigade leader) and a digest per site to its managers. Returns the drafts reminded of."""
    leader_of = leader_of or settings.brigade_leaders.get
    today = now.date()
    added = 0
    for period in (first_of_month(first_of_month(today) - dt.timedelta(days=1)), first_of_month(today)):
        days_left = (settings.close_date(period) - today).days
        if days_left not in settings.remind_days_before:
            continue
        with db.session() as session:
            drafts = list(session.scalars(select(Timesheet).where(
                Timesheet.period_start == period, Timesheet.status.in_(EDITABLE)).order_by(Timesheet.id)))
            notices = Notices(session)
            until = f"до закрытия табелей за {month_title(period)} осталось {days_left} дн. " \
                    f"({settings.close_date(period):%d.%m.%Y})"
            by_site: dict[str, list[Timesheet]] = {}
            for timesheet in drafts:
                by_site.setdefault(timesheet.department_ref, []).append(timesheet)
                notices.add(f"remind:{period:%Y-%m}:{days_left}:ts{timesheet.id}",
                            (timesheet.user_id, leader_of(timesheet.department_ref)),
                            f"Табель «{timesheet.employee_name}» не отправлен на согласование: {until}.", now)
                added += 1
            for department_ref, sheets in by_site.items():
                managers = approvers_of(sheets[0])
                notices.add(f"remind:{period:%Y-%m}:{days_left}:site:{department_ref}",
                            (*managers.client, *managers.provider),
                            f"На площадке «{sheets[0].site_name}» не отправлено табелей: {len(sheets)}; {until}.", now)
    return added
