"""The ``b24app`` command line: processes, configuration, database, inbox, emulators, demo."""
from __future__ import annotations

import os
import sys

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, NoAppException, with_appcontext

from b24app import create_app
from b24app.config import APP_ONLY_FEATURES, ConfigError, generate_token_key, load_config



def _create_app() -> Flask:
    try:
        return create_app()
    except ConfigError as exc:
        # NoAppException keeps `b24app --help` and app-free commands working; app commands exit 2
        raise NoAppException("Конфигурация содержит ошибки:\n" + "\n".join(f"  {p}" for p in exc.problems)) from None


def _print_problems(exc: ConfigError) -> None:
    click.echo("Конфигурация содержит ошибки:", err=True)
    for problem in exc.problems:
        click.echo(f"  {problem}", err=True)


cli = FlaskGroup(name="b24app", create_app=_create_app, add_default_commands=False, load_dotenv=True,
                 help="Bitrix24 local application for staffing companies.")


@cli.command("run")
@click.option("--host", default="127.0.0.1")
@click.option("--port", default=5000, type=int)
@with_appcontext
def run_command(host: str, port: int) -> None:
    """Web + worker + scheduler in one process (the embedded default, SQLite)."""
    from b24app.scheduling import build_scheduler
    from b24app.worker import get_executor
    from werkzeug.serving import run_simple

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    _upgrade(app)
    get_executor(app).start_thread()
    scheduler = build_scheduler(app, blocking=False)
    scheduler.start()
    click.echo(f"b24app: http://{host}:{port} (веб, обработчик очереди и планировщик в одном процессе)")
    run_simple(host, port, app, threaded=True, use_reloader=False)


@cli.command("web", with_appcontext=False)
@click.option("--bind", default="127.0.0.1:5000")
@click.option("--workers", default=max(2, (os.cpu_count() or 1) * 2), type=int)
@click.option("--threads", default=1, type=int, help="threads per worker (more threads, more GIL waits)")
def web_command(bind: str, workers: int, threads: int) -> None:
    """The web process under gunicorn (production)."""
    from b24app.gunicorn_app import GunicornApp

    GunicornApp(bind=bind, workers=workers, threads=threads).run()


@cli.command("worker")
@with_appcontext
def worker_command() -> None:
    """The inbox worker process."""
    from b24app.worker import get_executor

    get_executor(current_app._get_current_object()).run_forever()  # type: ignore[attr-defined]


@cli.command("scheduler")
@with_appcontext
def scheduler_command() -> None:
    """The scheduler process (cron jobs from app.yaml)."""
    from b24app.scheduling import build_scheduler

    build_scheduler(current_app._get_current_object(), blocking=True).start()  # type: ignore[attr-defined]


@cli.group("config")
def config_group() -> None:
    """Configuration."""


@config_group.command("check", with_appcontext=False)
@click.option("--file", "path", default=lambda: os.environ.get("B24APP_CONFIG", "app.yaml"))
def config_check(path: str) -> None:
    """Validate app.yaml and the environment."""
    try:
        config = load_config(path)
    except ConfigError as exc:
        _print_problems(exc)
        raise SystemExit(2) from None
    click.echo(f"{path}: конфигурация в порядке (режим {config.mode}).")
    if config.mode == "webhook":
        click.echo("Режим вебхука: недоступны функции, требующие контекста приложения:")
        for feature in APP_ONLY_FEATURES:
            click.echo(f"  - {feature}")


@config_group.command("genkey", with_appcontext=False)
def config_genkey() -> None:
    """Print a new key for B24APP_TOKEN_KEY."""
    click.echo(generate_token_key())


@cli.group("db")
def db_group() -> None:
    """Database schema."""


def _upgrade(app: Flask) -> None:
    from b24app.db import get_db, upgrade_schema

    upgrade_schema(get_db(app).url)


@db_group.command("upgrade")
@with_appcontext
def db_upgrade() -> None:
    """Apply the Alembic migrations."""
    _upgrade(current_app._get_current_object())  # type: ignore[attr-defined]
    click.echo("Схема базы данных обновлена.")


@cli.group("portals")
def portals_group() -> None:
    """Installed portals."""


@portals_group.command("list")
@with_appcontext
def portals_list() -> None:
    from b24app.portal import get_store

    installations = get_store(current_app).all()
    if not installations:
        click.echo("Нет установленных порталов.")
    for item in installations:
        click.echo(f"{item.member_id}  {item.domain:30}  {item.status:12}  v{item.app_version}  "
                   f"установлено {item.installed_at:%Y-%m-%d %H:%M}")


@cli.group("inbox")
def inbox_group() -> None:
    """Calls from Bitrix24 waiting for the worker."""


@inbox_group.command("list")
@click.option("--failed", is_flag=True, help="только отложенные с ошибкой")
@click.option("--limit", default=50)
@with_appcontext
def inbox_list(failed: bool, limit: int) -> None:
    from b24app import inbox
    from b24app.db import get_db

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
    from b24app import inbox
    from b24app.db import get_db

    click.echo(f"Удалено обработанных элементов: {inbox.purge(get_db(), older_than_days=days)}")


@inbox_group.command("retry")
@click.argument("item_id", type=int)
@with_appcontext
def inbox_retry(item_id: int) -> None:
    from b24app import inbox
    from b24app.db import get_db

    if not inbox.retry(get_db(), item_id):
        raise click.ClickException(f"нет отложенного элемента {item_id}")
    click.echo(f"Элемент {item_id} снова в очереди.")


@cli.group("emulate")
def emulate_group() -> None:
    """Start an emulator (Bitrix24 portal or 1C:ZUP) for tests and demos."""


@cli.command("demo", with_appcontext=False)
@click.option("--once", is_flag=True, help="выйти после сценария (для проверки)")
@click.option("--port", default=5000, type=int)
def demo_command(once: bool, port: int) -> None:
    """The demo story: an emulated portal installs the app, and more with each capability."""
    from b24app.demo import run_demo

    run_demo(once=once, port=port)


def _mount_package_commands() -> None:
    """The command groups of the other packages and the emulators' commands."""
    from bizproc_templates.cli import group as templates_group
    from emulators.bitrix24.cli import command as bitrix24_command
    from emulators.onec.cli import command as onec_emulator_command
    from onec.cli import group as onec_group
    from sync_jobs.cli import group as sync_group

    for group in (onec_group, templates_group, sync_group):
        cli.add_command(group)
    emulate_group.add_command(bitrix24_command, "bitrix24")
    emulate_group.add_command(onec_emulator_command, "onec")


_mount_package_commands()


def main() -> None:
    cli.main(prog_name="b24app")


if __name__ == "__main__":
    sys.exit(main())
