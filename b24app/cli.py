"""The core's command groups: database schema, installed portals, the inbox.

They run inside the app (``flask.cli.with_appcontext``); the root command (``service.cli``)
builds it and mounts these groups beside the features' own.
"""
from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from b24app import inbox
from b24app.app import upgrade
from b24app.db import get_db
from b24app.portal import get_config, get_store


@click.group("db")
def db_group() -> None:
    """Database schema."""


@db_group.command("upgrade")
@with_appcontext
def db_upgrade() -> None:
    """Apply the Alembic migrations of the core and every feature."""
    upgrade(current_app._get_current_object())  # type: ignore[attr-defined]
    click.echo("Схема базы данных обновлена.")


@click.group("portals")
def portals_group() -> None:
    """Installed portals."""


@portals_group.command("list")
@with_appcontext
def portals_list() -> None:
    """Every portal: status, keys, paused or not, calls waiting."""
    installations = get_store(current_app).all()
    if not installations:
        click.echo("Нет установленных порталов.")
    waiting: dict[str, int] = {}
    for member_id, status, count in inbox.depth_by_portal(get_db()):
        if status != "failed":
            waiting[member_id] = waiting.get(member_id, 0) + count
    named = get_config(current_app).portals
    for item in installations:
        keys = "ключи в порядке" if item.tokens_broken_at is None else (
            f"ключи не работают с {item.tokens_broken_at:%Y-%m-%d %H:%M}: откройте приложение администратором")
        paused = f"  приостановлен с {item.paused_at:%Y-%m-%d %H:%M}" if item.paused_at else ""
        title = f"  «{named[item.member_id].title}»" if item.member_id in named else ""
        click.echo(f"{item.member_id}  {item.domain:30}  {item.status:12}  v{item.app_version}  "
                   f"установлено {item.installed_at:%Y-%m-%d %H:%M}  {keys}  в очереди {waiting.get(item.member_id, 0)}"
                   f"{paused}{title}")


def _set_paused(member_id: str, paused: bool) -> None:
    if not get_store(current_app).set_paused(member_id=member_id, paused=paused):
        raise click.ClickException(f"нет портала {member_id} (b24app portals list)")


@portals_group.command("pause")
@click.argument("member_id")
@with_appcontext
def portals_pause(member_id: str) -> None:
    """Stop processing a portal's calls and jobs; its calls are still accepted and kept."""
    _set_paused(member_id, True)
    click.echo(f"Портал {member_id} приостановлен: вызовы принимаются и ждут, задания по расписанию пропускаются.")


@portals_group.command("resume")
@click.argument("member_id")
@with_appcontext
def portals_resume(member_id: str) -> None:
    """Process a paused portal's waiting calls and jobs again."""
    _set_paused(member_id, False)
    click.echo(f"Портал {member_id} снова обрабатывается.")


@click.group("inbox")
def inbox_group() -> None:
    """Calls from Bitrix24 waiting for the worker."""


@inbox_group.command("list")
@click.option("--failed", is_flag=True, help="только отложенные с ошибкой")
@click.option("--limit", default=50)
@with_appcontext
def inbox_list(failed: bool, limit: int) -> None:
    items = inbox.list_items(get_db(), status="failed" if failed else None, limit=limit)
    if not items:
        click.echo("Очередь пуста.")
    for item in items:
        click.echo(f"{item.id:>8}  {item.status:10}  {item.kind:8}  {item.name:24}  попыток {item.attempts}  "
                   f"{(item.last_error or '')[:80]}")


@inbox_group.command("purge")
@click.option("--days", default=7.0, show_default=True, help="удалить обработанные старше стольких дней")
@with_appcontext
def inbox_purge(days: float) -> None:
    click.echo(f"Удалено обработанных элементов: {inbox.purge(get_db(), older_than_days=days)}")


@inbox_group.command("retry")
@click.argument("item_id", type=int)
@with_appcontext
def inbox_retry(item_id: int) -> None:
    if not inbox.retry(get_db(), item_id):
        raise click.ClickException(f"нет отложенного элемента {item_id}")
    click.echo(f"Элемент {item_id} снова в очереди.")


GROUPS = (db_group, portals_group, inbox_group)
