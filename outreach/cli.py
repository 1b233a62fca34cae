"""``b24app outreach``: who needs reaching, and sending to them (``--dry-run`` sends nothing)."""
from __future__ import annotations

import json
from datetime import datetime, timezone

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import func, select

from b24app.db import get_db
from b24app.portal import get_store, portal_key
from b24app.tenancy import current_portal
from outreach.absences import AbsenceError, absences, remove_absence, set_absence
from outreach.jobs import approvals_job
from outreach.models import OutreachBounce, OutreachMessage, OutreachOptOut
from outreach.phones import mask, try_e164
from outreach.planner import REASONS, by_unit
from outreach.service import Proposal, clock_of, propose, send, sender_of, today


@click.group("outreach")
def group() -> None:
    """Сообщения сотрудникам: кто не вошёл на портал, e-mail и SMS."""


def _proposal() -> Proposal:
    try:
        return propose(current_app._get_current_object())  # type: ignore[attr-defined]
    except LookupError as exc:  # no installed portal to read the users from
        raise click.ClickException(str(exc)) from None


def _portal_key(app) -> str:  # type: ignore[no-untyped-def]
    """Whose outbox, opt-outs and bounces a command touches (``b24app --portal ID`` when several)."""
    try:
        return portal_key(app)
    except LookupError as exc:
        raise click.ClickException(str(exc)) from None


def _shown(address: str | None) -> str:
    if not address:
        return "—"
    return address if "@" in address else mask(address)


@group.command("plan")
@click.option("--json", "as_json", is_flag=True, help="JSON вместо таблицы.")
@with_appcontext
def plan_command(as_json: bool) -> None:
    """Кого нужно известить и почему — по организациям и подразделениям."""
    proposal = _proposal()
    if as_json:
        click.echo(json.dumps([{"person": t.employee.person_ref, "name": t.employee.full_name,
                                "legal_entity": t.employee.legal_entity, "department": t.employee.department,
                                "reason": t.reason, "channel": t.channel, "address": _shown(t.address)}
                               for t in proposal.targets], ensure_ascii=False, indent=1))
        return
    for (entity, department), reasons in by_unit(proposal.targets).items():
        counts = ", ".join(f"{REASONS[r]}: {n}" for r, n in sorted(reasons.items()))
        click.echo(f"{entity} — {department}: {counts}")
    for target in proposal.targets:
        click.echo(f"  {target.employee.full_name}: {target.reason_text}; "
                   f"{target.channel or 'нет канала'} {_shown(target.address)}")
    click.echo(f"Всего: {len(proposal.targets)}")


@group.command("send")
@click.option("--dry-run", is_flag=True, help="Показать, что уйдёт, и ничего не отправлять.")
@with_appcontext
def send_command(dry_run: bool) -> None:
    """Поставить сообщения в очередь и отправить (с --dry-run — только показать)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    proposal = _proposal()
    now = clock_of(app).now()
    for draft in proposal.drafts:
        when = "сейчас" if draft.not_before is None or draft.not_before <= now else \
            f"после {draft.not_before:%d.%m.%Y %H:%M} UTC (тихие часы)"
        click.echo(f"{draft.channel} → {_shown(draft.address)} ({draft.person_ref}), {when}")
        if draft.subject:
            click.echo(f"  Тема: {draft.subject}")
        click.echo("  " + draft.body.replace("\n", "\n  "))
    for held in proposal.held:
        click.echo(f"не отправляется: {held.target.employee.full_name} — {held.why}")
    if dry_run:
        click.echo(f"Пробный запуск: {len(proposal.drafts)} сообщений было бы отправлено; ничего не отправлено.")
        return
    handled = send(app, proposal)
    click.echo(f"Поставлено в очередь: {len(proposal.drafts)}; обработано: {handled}.")
    _print_status(app)


@group.command("run")
@with_appcontext
def run_command() -> None:
    """Отправить всё, что ждёт в очереди (и разобрать прерванные отправки)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    try:
        sender = sender_of(app)
    except LookupError as exc:  # several portals installed: b24app --portal ID outreach run
        raise click.ClickException(str(exc)) from None
    click.echo(f"Обработано: {sender.run_until_idle()}.")
    _print_status(app)


@group.command("opt-out")
@click.argument("address")
@with_appcontext
def opt_out_command(address: str) -> None:
    """Больше не писать на этот e-mail или телефон."""
    _remember(OutreachOptOut, address, source="cli")
    click.echo(f"Отказ от сообщений записан: {_shown(_normal(address))}")


@group.command("bounce")
@click.argument("address")
@click.option("--reason", default="отмечено вручную")
@with_appcontext
def bounce_command(address: str, reason: str) -> None:
    """Отметить e-mail как недоставляемый (приглашение вернулось)."""
    _remember(OutreachBounce, address, reason=reason)
    click.echo(f"Адрес отмечен как недоставляемый: {_normal(address)}")


def _normal(address: str) -> str:
    return address.strip().lower() if "@" in address else (try_e164(address) or address.strip())


def _remember(model: type, address: str, **fields: str) -> None:
    """An opt-out or a bounce of the portal in scope (``b24app --portal ID`` when several are installed)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    with get_db(app).write_lock, get_db(app).session() as session:
        session.merge(model(member_id=_portal_key(app), address=_normal(address),
                            created_at=datetime.now(timezone.utc), **fields))


def _print_status(app) -> None:  # type: ignore[no-untyped-def]
    with get_db(app).read_session() as session:
        counts = dict(session.execute(select(OutreachMessage.status, func.count())
                                      .where(OutreachMessage.member_id == _portal_key(app))
                                      .group_by(OutreachMessage.status)).all())
    click.echo("Очередь: " + ", ".join(f"{status}: {n}" for status, n in sorted(counts.items())))


@group.command("approvals")
@with_appcontext
def approvals_command() -> None:
    """Проверить заявления и задачи согласования сейчас: уведомления, напоминания, эскалация."""
    sent = approvals_job(current_app._get_current_object())  # type: ignore[attr-defined]
    click.echo(f"Уведомлений отправлено: {sent}.")


@group.group("absence")
def absence_group() -> None:
    """Отсутствия согласующих и их замещающие."""


DATE = click.DateTime(["%Y-%m-%d", "%d.%m.%Y"])


@absence_group.command("add")
@click.argument("user_id", type=click.IntRange(min=1))
@click.option("--from", "date_from", type=DATE, required=True, help="Первый день отсутствия.")
@click.option("--to", "date_to", type=DATE, required=True, help="Последний день отсутствия.")
@click.option("--substitute", type=click.IntRange(min=1), help="ID замещающего в Битрикс24.")
@click.option("--note", default="", help="Комментарий (например, «отпуск»).")
@click.option("--portal", "member_id", help="member_id портала, если их несколько.")
@with_appcontext
def absence_add_command(user_id: int, date_from: datetime, date_to: datetime, substitute: int | None, note: str,
                        member_id: str | None) -> None:
    """Отметить отсутствие согласующего (USER_ID) и его замещающего."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    try:
        absence_id = set_absence(get_db(app), member_id=_portal(member_id), user_id=user_id,
                                 date_from=date_from.date(), date_to=date_to.date(), substitute_id=substitute,
                                 now=clock_of(app).now(), note=note)
    except AbsenceError as exc:
        raise click.ClickException(str(exc)) from None
    who = f", замещает {substitute}" if substitute else ", замещающий не указан"
    click.echo(f"Отсутствие {absence_id} записано: пользователь {user_id} с {date_from:%d.%m.%Y} "
               f"по {date_to:%d.%m.%Y}{who}.")


@absence_group.command("list")
@click.option("--all", "show_all", is_flag=True, help="Также прошедшие.")
@with_appcontext
def absence_list_command(show_all: bool) -> None:
    """Отсутствия: текущие и будущие (с --all — все)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    found = absences(get_db(app), member_id=_portal(None), since=None if show_all else today(app))
    for absence in found:
        substitute = f"замещает {absence.substitute_id}" if absence.substitute_id else "без замещающего"
        source = f"{absence.source}; {absence.note}" if absence.note else absence.source
        click.echo(f"{absence.id}: пользователь {absence.user_id}, {absence.date_from:%d.%m.%Y}–"
                   f"{absence.date_to:%d.%m.%Y}, {substitute} ({source})")
    click.echo(f"Всего: {len(found)}")


@absence_group.command("remove")
@click.argument("absence_id", type=int)
@with_appcontext
def absence_remove_command(absence_id: int) -> None:
    """Удалить отсутствие по его номеру."""
    if not remove_absence(get_db(current_app._get_current_object()), absence_id):  # type: ignore[attr-defined]
        raise click.ClickException(f"Отсутствие {absence_id} не найдено")
    click.echo(f"Отсутствие {absence_id} удалено.")


def _portal(member_id: str | None) -> str:
    """The portal named (``--portal``, or ``b24app --portal ID``), or the only installed one."""
    installed = [i.member_id for i in get_store(current_app._get_current_object()).all()  # type: ignore[attr-defined]
                 if i.status == "installed"]
    member_id = member_id or current_portal()
    if member_id is not None:
        if member_id not in installed:
            raise click.ClickException(f"Портал {member_id} не установлен")
        return member_id
    if len(installed) != 1:
        raise click.ClickException(f"Укажите портал (--portal): установлено порталов — {len(installed)}")
    return installed[0]
