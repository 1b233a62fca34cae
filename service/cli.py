"""The ``b24app`` command line: processes, configuration, the core's and every feature's commands,
emulators and the demo."""
from __future__ import annotations

import os
import sys

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, NoAppException, with_appcontext

from b24app import cli as core_cli
from b24app.app import upgrade
from b24app.config import APP_ONLY_FEATURES, ConfigError, generate_token_key
from b24app.portal import get_config
from b24app.tenancy import enter_portal
from service import FEATURES, create_app, load_config


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


class ServiceGroup(FlaskGroup):
    """Flask's group without loading the app to list or find commands: every command is mounted
    here, so ``b24app --help`` works before app.yaml exists."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(self.commands)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        return self.commands.get(name)


cli = ServiceGroup(name="b24app", create_app=_create_app, add_default_commands=False, load_dotenv=True,
                   add_version_option=False, set_debug_flag=False,
                   help="b24app: Bitrix24 local application for staffing companies (1C:ZUP, HR processes).")
cli.params = [param for param in cli.params if param.name not in ("app", "debug")]
cli.params.append(click.Option(
    ["--portal"], envvar="B24APP_PORTAL", expose_value=False, is_eager=True,
    callback=lambda ctx, param, value: ctx.call_on_close(enter_portal(value)) if value else None,
    help="member_id портала, для которого выполнить команду (его разделы portals: в app.yaml)."))


def _app() -> Flask:
    return current_app._get_current_object()  # type: ignore[attr-defined]


@cli.command("run")
@click.option("--host", default="127.0.0.1")
@click.option("--port", default=5000, type=int)
@with_appcontext
def run_command(host: str, port: int) -> None:
    """Web + worker + scheduler in one process (the embedded default, SQLite; always embedded)."""
    from werkzeug.serving import run_simple

    from b24app.scheduling import build_scheduler
    from b24app.worker import embedded

    app = _app()
    upgrade(app)
    embedded(app).start_thread()
    build_scheduler(app, blocking=False).start()
    click.echo(f"b24app: http://{host}:{port} (веб, обработчик очереди и планировщик в одном процессе)")
    run_simple(host, port, app, threaded=True, use_reloader=False)


@cli.command("web", with_appcontext=False)
@click.option("--bind", default="127.0.0.1:5000")
@click.option("--workers", default=max(2, os.cpu_count() or 1), type=int, help="processes (one per core)")
@click.option("--threads", default=4, type=int,
              help="threads per process: calls arriving together are committed together, and a slow client "
                   "does not hold a whole process")
def web_command(bind: str, workers: int, threads: int) -> None:
    """The web process under gunicorn (production)."""
    from service.gunicorn_app import GunicornApp, metrics_folder

    os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_folder()  # before the workers fork: /metrics adds them up
    GunicornApp(bind=bind, workers=workers, threads=threads).run()


@cli.command("worker")
@click.option("--engine", type=click.Choice(["embedded", "celery"]), default=None,
              help="embedded: опрос очереди в этом процессе; celery: задачи из RabbitMQ (по умолчанию — cluster.engine)")
@click.option("--concurrency", default=os.cpu_count() or 1, type=int, show_default=True,
              help="задач одновременно (celery)")
@click.option("--pool", type=click.Choice(["prefork", "threads", "solo"]), default="threads", show_default=True,
              help="как celery выполняет задачи")
@with_appcontext
def worker_command(engine: str | None, concurrency: int, pool: str) -> None:
    """The worker process: inbox calls and scheduled jobs."""
    app = _app()
    if (engine or get_config(app).cluster.engine) == "celery":
        from b24app.engine.worker import run_worker

        if not get_config(app).cluster.broker_url:
            raise click.ClickException("Укажите адрес RabbitMQ в B24APP_BROKER_URL (amqp://пользователь:пароль@сервер:5672//).")
        run_worker(app, concurrency=concurrency, pool=pool)
        return
    from b24app.worker import get_worker

    get_worker(app).run_forever()


@cli.command("scheduler")
@with_appcontext
def scheduler_command() -> None:
    """The scheduler process: cron jobs of the enabled features (celery engine: fired once across
    replicas, and the sweeper)."""
    app = _app()
    if get_config(app).cluster.celery:
        from b24app.engine.scheduler import build

        build(app, blocking=True, holder=f"scheduler-{os.getpid()}").start()
        return
    from b24app.scheduling import build_scheduler

    build_scheduler(app, blocking=True).start()


@cli.group("config")
def config_group() -> None:
    """Configuration."""


@config_group.command("check", with_appcontext=False)
@click.option("--file", "path", default=lambda: os.environ.get("B24APP_CONFIG", "app.yaml"))
def config_check(path: str) -> None:
    """Validate app.yaml and the environment; list the enabled features."""
    try:
        config = load_config(path)
    except ConfigError as exc:
        _print_problems(exc)
        raise SystemExit(2) from None
    click.echo(f"{path}: конфигурация в порядке (режим {config.mode}).")
    titles = {feature.name: feature.title for feature in FEATURES}
    click.echo("Включены:")
    for name in config.features:
        click.echo(f"  - {name}: {titles[name]}")
    switched_off = [name for name in titles if name not in config.features]
    if switched_off:
        click.echo("Выключены (features: в app.yaml): " + ", ".join(switched_off))
    if config.mode == "webhook":
        click.echo("Режим вебхука: недоступны функции, требующие контекста приложения:")
        for feature in APP_ONLY_FEATURES:
            click.echo(f"  - {feature}")


@config_group.command("genkey", with_appcontext=False)
def config_genkey() -> None:
    """Print a new key for B24APP_TOKEN_KEY."""
    click.echo(generate_token_key())


@cli.group("emulate")
def emulate_group() -> None:
    """Start an emulator (Bitrix24 portal or 1C:ZUP) for tests and demos."""


@cli.command("demo", with_appcontext=False)
@click.option("--once", is_flag=True, help="выйти после сценария (для проверки)")
@click.option("--port", default=5000, type=int)
@click.option("--reset", is_flag=True, help="начать заново: удалить instance/demo")
def demo_command(once: bool, port: int, reset: bool) -> None:
    """The demo story: an emulated portal installs the app, and more with each capability."""
    from service.demo import run_demo

    run_demo(once=once, port=port, reset=reset)


def _mount() -> None:
    """The core's groups, every feature's commands and the emulators' commands."""
    from emulators.bitrix24.cli import command as bitrix24_command
    from emulators.onec.cli import command as onec_emulator_command

    for group in core_cli.GROUPS:
        cli.add_command(group)
    for feature in FEATURES:
        for command in feature.cli:
            cli.add_command(command)
    emulate_group.add_command(bitrix24_command, "bitrix24")
    emulate_group.add_command(onec_emulator_command, "onec")


_mount()


def main() -> None:
    cli.main(prog_name="b24app")


if __name__ == "__main__":
    sys.exit(main())
