"""``b24app sync plan | run | runs``: the operator's view of the 1C -> Bitrix24 sync (Russian output)."""
from __future__ import annotations

import json

import click
from flask import current_app
from flask.cli import with_appcontext

from b24app.db import get_db
from b24app.portal import portal_key
from sync_jobs import store as runs
from sync_jobs.errors import SyncError
from sync_jobs.run import STATUS_RU, preview, run_sync
from onec.errors import OneCConfigError
from sync_jobs.settings import SyncConfigError

EXAMPLES = 5


@click.group(name="sync")
def group() -> None:
    """Синхронизация 1С:ЗУП -> Битрикс24."""


def _app():  # type: ignore[no-untyped-def]
    return current_app._get_current_object()  # type: ignore[attr-defined]


@group.command("plan")
@click.option("--full", is_flag=True, help="читать 1С полностью, а не только изменения после прошлого запуска")
@with_appcontext
def plan_command(full: bool) -> None:
    """Показать план (сколько создать, обновить, перевести, отключить) без записи."""
    try:
        prepared = preview(_app(), full=full)
    except (SyncError, SyncConfigError, OneCConfigError, LookupError) as error:  # LookupError: name a portal
        raise click.ClickException(str(error)) from None
    plan = prepared.plan
    click.echo("План синхронизации (ничего не записано):")
    for name, value in plan.counts().items():
        click.echo(f"  {name}: {value}")
    sections = [("Создать группы", [g.name for g in plan.group_creates]),
                ("Пригласить", [u.title for u in plan.user_creates]),
                ("Обновить", [u.user.title for u in plan.user_updates]),
                ("Перевести (добавить в группу)", [f"{k}: {len(v)}" for k, v in plan.membership_adds.items()]),
                ("Отключить", [u.title for u, _ in plan.deactivations]),
                ("Пропустить", [f"{s.title}: {s.reason}" for s in plan.skipped])]
    for title, items in sections:
        if items:
            click.echo(f"{title} (первые {min(EXAMPLES, len(items))} из {len(items)}):")
            for item in items[:EXAMPLES]:
                click.echo(f"  - {item}")


@group.command("run")
@click.option("--full", is_flag=True, help="полная сверка с порталом (исправляет ручные изменения)")
@click.option("--force", is_flag=True, help="разрешить отключение больше max_deactivate_percent")
@with_appcontext
def run_command(full: bool, force: bool) -> None:
    """Выполнить синхронизацию с индикатором хода и итогом."""
    try:
        summary = run_sync(_app(), full=full, force=force, progress=True)
    except (SyncError, SyncConfigError, OneCConfigError, LookupError) as error:  # LookupError: name a portal
        raise click.ClickException(str(error)) from None
    click.echo(summary.render())
    if summary.status in ("failed", "refused"):
        raise SystemExit(1)


@group.command("runs")
@click.option("--limit", default=20, show_default=True)
@click.option("--id", "run_id", type=int, help="показать пропущенные записи и ошибки запуска")
@with_appcontext
def runs_command(limit: int, run_id: int | None) -> None:
    """Прошлые запуски."""
    try:
        db, portal = get_db(_app()), portal_key(_app())
    except LookupError as error:  # several portals installed: b24app --portal ID sync runs
        raise click.ClickException(str(error)) from None
    if run_id is not None:
        for record in runs.run_records(db, portal, run_id):
            click.echo(f"{record.kind:10} {record.title}: {record.reason}")
        return
    items = runs.recent_runs(db, portal, limit)
    if not items:
        click.echo("Запусков ещё не было.")
    for run in items:
        finished = f"{run.finished_at:%Y-%m-%d %H:%M:%S}" if run.finished_at else "—"
        counts = ", ".join(f"{k}={v}" for k, v in json.loads(run.counts or "{}").items() if v)
        click.echo(f"{run.id:>5}  {run.mode:11} {STATUS_RU.get(run.status, run.status):30} "
                   f"{run.started_at:%Y-%m-%d %H:%M:%S} -> {finished}  {counts}")
        if run.message:
            click.echo(f"       {run.message}")
