"""The timesheets chapter of ``b24app demo``: a brigade's month from filling to the invoice.

The site of the demo's employee is prefilled from 1C:ZUP, the production calendar and the schedule;
two cells are typed in; the brigade is submitted; the client manager approves all of it at once in
the app, the provider manager one by one in Bitrix24's own task list; the outcomes come back; the
T-13 is written and the invoice basis priced.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

from flask import Flask
from sqlalchemy import select

from b24app.bitrix import B24Client
from b24app.db import Database, get_db
from b24app.portal import client_for, portal_key
from bizproc_templates.demo import wait_for
from sync_jobs.directory import directory
from timesheets.approval import (ApproversOf, Decision, ProcessList, complete_tasks, open_tasks, process_list,
                                 start_workflows, submit, sync_outcomes)
from timesheets.calendar import month_title
from timesheets.codes import format_hours
from timesheets.exports.invoice import invoice_of_client, rubles
from timesheets.exports.t13 import t13_of_department
from timesheets.jobs import clock_of, settings_of
from timesheets.models import Timesheet
from timesheets.notices import send_notices
from timesheets.rates import set_rate
from timesheets.roster import directory_approvers, open_source, prefill_site, site_roster
from timesheets.sheets import CellEdit, cells, edit_cells, first_of_month

Echo = Callable[[str], None]
DEMO_RATE = Decimal("450.00")


def chapter_timesheets(app: Flask, employee: int, provider: int, client: int, as_user: Callable[[int], B24Client],
                       folder: Path, echo: Echo) -> None:
    """Fill, approve on both sides and export the month of the employee's site."""
    db, now, settings, people = get_db(app), clock_of(app)(), settings_of(app), directory(app)
    period = first_of_month(now.date())
    site = people.site_of_department(people.departments_of_user(employee)[0])
    assert site is not None, "the demo's employee works at a site the sync made"
    source = open_source(app)
    try:
        roster = site_roster(source, people, [site.department_ref], period)
    finally:
        source.close()
    member_id = portal_key(app)
    report = prefill_site(db, member_id, settings, roster, period, now)
    echo(f"Табели площадки «{site.department_name}» за {month_title(period)} заполнены по графику, "
         f"производственному календарю и данным 1С: {len(report.opened)}")
    ids = sorted(report.opened or report.replanned)
    _type_in(db, ids, employee, now)
    echo("В табель внесены больничный (Б) и ночная смена (Я/Н 6/2) — с клавиатуры, как в Excel")

    admin, approvers = client_for(app, member_id), directory_approvers(app)
    target = process_list(admin, db, member_id)
    submit(db, ids, actor=employee, now=now, approvers_of=approvers)
    started = start_workflows(admin, db, target, approvers, now)
    echo(f"Бригада отправила табели на согласование, запущено процессов: {len(started.started)}")
    tasks = wait_for(lambda: len(found := open_tasks(admin, db, target, client, site.group_id)) == len(ids) and found,
                     "задания менеджера клиента")
    decided = complete_tasks(as_user(client), [Decision(task.task_id, True) for task in tasks])
    echo(f"Менеджер клиента согласовал в приложении все табели разом: {len(decided.done)}")
    _provider_in_bitrix24(admin, db, target, provider, as_user, ids)
    wait_for(lambda: _all_approved(admin, db, target, approvers, now, ids), "итог согласования")
    echo(f"Менеджер провайдера согласовал задания в Битрикс24; табели согласованы обеими сторонами, "
         f"уведомлений отправлено: {send_notices(admin, db, member_id, now).sent}")
    _exports(app, member_id, site.department_ref, site.department_name, period, folder, echo)


def _type_in(db: Database, ids: list[int], employee: int, now: dt.datetime) -> None:
    with db.read_session() as session:
        own = session.scalar(select(Timesheet.id).where(Timesheet.id.in_(ids), Timesheet.user_id == employee)) or ids[0]
        other = next((ts_id for ts_id in ids if ts_id != own), own)
        first, second = cells(session, own)[1], cells(session, other)[2]
    with db.session() as session:
        edit_cells(session, [CellEdit(own, first.day, "Я/Н 6/2", first.version),
                             CellEdit(other, second.day, "Б", second.version)], actor=employee, now=now)


def _provider_in_bitrix24(admin: B24Client, db: Database, target: ProcessList, provider: int,
                          as_user: Callable[[int], B24Client], ids: list[int]) -> None:
    """The provider manager opens each task in Bitrix24's task list and approves it."""
    tasks = wait_for(lambda: len(found := open_tasks(admin, db, target, provider)) == len(ids) and found,
                     "задания менеджера провайдера")
    assignee = as_user(provider)
    for task in tasks:
        assignee.call("bizproc.task.complete", {"TASK_ID": task.task_id, "STATUS": 1, "COMMENT": ""})


def _all_approved(admin: B24Client, db: Database, target: ProcessList, approvers: ApproversOf,
                  now: dt.datetime, ids: list[int]) -> bool:
    sync_outcomes(admin, db, target, approvers, now, timesheet_ids=ids)
    with db.read_session() as session:
        return set(session.scalars(select(Timesheet.status).where(Timesheet.id.in_(ids)))) == {"approved_by_provider"}


def _exports(app: Flask, member_id: str, department_ref: str, site_name: str, period: dt.date, folder: Path,
             echo: Echo) -> None:
    db, now, settings = get_db(app), clock_of(app)(), settings_of(app)
    client = settings.client_of(department_ref, site_name)
    with db.session() as session:
        positions = set(session.scalars(select(Timesheet.position).where(
            Timesheet.member_id == member_id, Timesheet.department_ref == department_ref)))
        for position in positions:
            set_rate(session, member_id, client.key, position, int(DEMO_RATE * 100), period, None, now)
    path = folder / f"Т-13 {site_name} {period:%Y-%m}.xlsx"
    with db.read_session() as session:
        count = t13_of_department(session, member_id, department_ref, period, str(path), now.date())
        invoice = invoice_of_client(session, member_id, client, period)
    echo(f"Табель Т-13 (сотрудников: {count}): {path.resolve()}")
    echo(f"Основание для счёта клиенту «{client.name}»: {format_hours(invoice.total_minutes)} ч по "
         f"{rubles(int(DEMO_RATE * 100))} руб./ч, строк: {len(invoice.lines)}, итого {rubles(invoice.total_kopecks)} руб.")
