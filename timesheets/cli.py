"""``b24app timesheets prefill | status | export t13 | export invoice | rate | cycle`` (Russian output).

Each command works on the portal in scope (``b24app --portal ID timesheets ...``) or the one installed."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import with_appcontext
from sqlalchemy import func, select

from b24app.db import get_db
from b24app.portal import portal_key
from onec.errors import OneCError
from sync_jobs.directory import directory
from timesheets.calendar import month_title
from timesheets.exports.invoice import csv_bytes, invoice_of_client, rubles, write_xlsx
from timesheets.exports.t13 import t13_of_department
from timesheets.jobs import approval_cycle, clock_of, push_to_onec, settings_of
from timesheets.models import Timesheet
from timesheets.rates import parse_rubles, set_rate
from timesheets.absences import portal_absences
from timesheets.roster import open_source, prefill_site, site_roster
from timesheets.sheets import STATUS_TITLES, TimesheetError


def _app() -> Flask:
    return current_app._get_current_object()  # type: ignore[attr-defined]


def _portal() -> str:
    try:
        return portal_key(_app())
    except LookupError as error:  # several portals installed: b24app --portal ID timesheets ...
        raise click.ClickException(str(error)) from None


def _month(text: str) -> dt.date:
    try:
        return dt.datetime.strptime(text, "%Y-%m").date()
    except ValueError:
        raise click.BadParameter(f"«{text}»: месяц в виде ГГГГ-ММ, например 2026-12") from None


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise click.BadParameter(f"«{text}»: дата в виде ГГГГ-ММ-ДД") from None


MONTH = click.option("--month", "month", required=True, help="месяц: ГГГГ-ММ")
SITE = click.option("--site", "site", required=True, help="ссылка подразделения 1С (площадка клиента)")


@click.group(name="timesheets")
def group() -> None:
    """Табели: заполнение, согласование, выгрузки."""


@group.command("prefill")
@SITE
@MONTH
@with_appcontext
def prefill_command(site: str, month: str) -> None:
    """Открыть табели площадки за месяц по графику, производственному календарю и отсутствиям."""
    app, period, portal = _app(), _month(month), _portal()
    source = open_source(app)
    try:
        assignments = site_roster(source, directory(app), [site], period)
    except OneCError as error:
        raise click.ClickException(f"1С:ЗУП не ответила: {error}") from None
    finally:
        source.close()
    if not assignments:
        raise click.ClickException(f"в 1С нет сотрудников подразделения {site} за {month_title(period)}")
    report = prefill_site(get_db(app), portal, settings_of(app), assignments, period, clock_of(app)(),
                          absences=portal_absences(app))
    click.echo(f"Табели за {month_title(period)}: открыто {len(report.opened)}, перезаполнено "
               f"{len(report.replanned)} (изменено дней: {sum(report.replanned.values())}), "
               f"не черновики, оставлены как есть: {len(report.kept)}")


@group.command("status")
@MONTH
@with_appcontext
def status_command(month: str) -> None:
    """Сколько табелей в каком статусе на каждой площадке."""
    period, portal = _month(month), _portal()
    with get_db(_app()).read_session() as session:
        rows = session.execute(select(Timesheet.site_name, Timesheet.status, func.count()).where(
            Timesheet.member_id == portal, Timesheet.period_start == period).group_by(Timesheet.site_name, Timesheet.status)
            .order_by(Timesheet.site_name)).all()
    if not rows:
        click.echo(f"Табелей за {month_title(period)} нет")
    for site, status, count in rows:
        click.echo(f"{site or '(без названия)'}: {STATUS_TITLES[status]} — {count}")


@group.group("export")
def export_group() -> None:
    """Выгрузки: Т-13, основание для счёта."""


@export_group.command("t13")
@SITE
@MONTH
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True, help="файл .xlsx")
@with_appcontext
def export_t13_command(site: str, month: str, out: Path) -> None:
    """Табель по унифицированной форме Т-13 (XLSX) для площадки за месяц."""
    app, portal = _app(), _portal()
    with get_db(app).read_session() as session:
        try:
            count = t13_of_department(session, portal, site.lower(), _month(month), str(out), clock_of(app)().date())
        except TimesheetError as error:
            raise click.ClickException(str(error)) from None
    click.echo(f"{out}: сотрудников {count}")


@export_group.command("invoice")
@click.option("--client", "client_key", required=True, help="код клиента (timesheets.clients) или ссылка площадки")
@MONTH
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True, help="файл .xlsx или .csv")
@with_appcontext
def export_invoice_command(client_key: str, month: str, out: Path) -> None:
    """Основание для счёта клиенту: юрлицо × площадка × должность, часы × ставка."""
    settings = settings_of(_app())
    client = next((c for c in settings.clients if c.key == client_key), None) or settings.client_of(client_key)
    portal = _portal()
    with get_db(_app()).read_session() as session:
        invoice = invoice_of_client(session, portal, client, _month(month))
    if out.suffix.lower() == ".csv":
        out.write_bytes(csv_bytes(invoice))
    else:
        write_xlsx(str(out), invoice)
    click.echo(f"{out}: строк {len(invoice.lines)}, итого {rubles(invoice.total_kopecks)} руб.")
    for line in invoice.missing_rates:
        click.echo(f"  нет ставки: {line.position} ({line.site}), {line.first_day:%d.%m}–{line.last_day:%d.%m}",
                   err=True)


@group.command("rate")
@click.option("--client", "client_key", required=True)
@click.option("--position", required=True)
@click.option("--rate", "amount", required=True, help="рублей в час, например 450 или 450,50")
@click.option("--from", "valid_from", required=True, help="действует с даты ГГГГ-ММ-ДД")
@with_appcontext
def rate_command(client_key: str, position: str, amount: str, valid_from: str) -> None:
    """Задать часовую ставку должности у клиента с даты."""
    app, portal = _app(), _portal()
    try:
        kopecks = parse_rubles(amount)
        with get_db(app).session() as session:
            set_rate(session, portal, client_key, position, kopecks, _date(valid_from), None, clock_of(app)())
    except TimesheetError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"Ставка {rubles(kopecks)} руб./ч для «{position}» у {client_key} с {valid_from}")


@group.command("push")
@with_appcontext
def push_command() -> None:
    """Передать закрытые табели в 1С:ЗУП (документ «Табель учета рабочего времени»), каждую версию один раз."""
    app = _app()
    if settings_of(app).onec_time_kind is None:
        raise click.ClickException("не задан timesheets.onec.time_kind: Ref_Key элемента «Явка» справочника "
                                   "«Виды использования рабочего времени» в 1С:ЗУП")
    report = push_to_onec(app, _portal())
    click.echo(f"Передано в 1С: {len(report.pushed)}; не передано: {len(report.failed)}")
    for ts_id, number in report.pushed.items():
        click.echo(f"  табель {ts_id}: документ 1С № {number}")
    for ts_id, reason in report.failed.items():
        click.echo(f"  табель {ts_id}: {reason}", err=True)


@group.command("cycle")
@with_appcontext
def cycle_command() -> None:
    """Запустить согласования, применить решения, закрыть прошедшие месяцы, отправить уведомления."""
    try:
        approval_cycle(_app())
    except (TimesheetError, LookupError) as error:
        raise click.ClickException(str(error)) from None
    click.echo("Готово")
