"""``b24app onec ...``: check what the 1C administrator must publish, count what we can read.

The package imports nothing of the service: the assembly builds the group with
``make_group(settings)``, ``settings`` returning the connections of app.yaml (or raising
``click.ClickException`` when the configuration is invalid).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from typing import Any

import click

from onec.config import ConnectionConfig, OneCSettings
from onec.errors import ODataSetNotPublished, OneCConfigError
from onec.factory import build_source
from onec.source import ZupSource

SettingsLoader = Callable[[], OneCSettings]


def _config(url: str, login: str, password_env: str, mode: str) -> ConnectionConfig:
    return ConnectionConfig.from_dict(
        {"name": "cli", "mode": mode, "url": url, "login": login, "password_env": password_env}
    )


connection_options = [
    click.option("--connection", "name", default=None,
                 help="Name of a connection in app.yaml onec.connections (default: all / the first)."),
    click.option("--url", help="OData service root (…/odata/standard.odata/) or WSDL URL, instead of app.yaml."),
    click.option("--login", help="1C user name (Cyrillic is fine)."),
    click.option("--password-env", help="Name of the environment variable with the password."),
    click.option("--mode", type=click.Choice(["odata", "soap"]), default="odata", show_default=True),
]


def _configs(settings: SettingsLoader, name: str | None, url: str | None, login: str | None,
             password_env: str | None, mode: str) -> list[ConnectionConfig]:
    """The connections to use: given on the command line, or those of app.yaml."""
    if url:
        if not login or not password_env:
            raise click.UsageError("с --url укажите также --login и --password-env")
        return [_config(url, login, password_env, mode)]
    configured = settings()
    try:
        chosen = [configured.connection(name)] if name else list(configured.connections)
    except OneCConfigError as exc:
        raise click.ClickException(str(exc)) from None
    if not chosen:
        raise click.ClickException("onec.connections: не настроено ни одного подключения к 1С")
    return chosen


def with_connection(command: Any) -> Any:
    """Attach the connection options to a command."""
    for option in reversed(connection_options):
        command = option(command)
    return command


def make_group(settings: SettingsLoader) -> click.Group:
    """The ``onec`` command group reading app.yaml's connections through ``settings``."""

    @click.group(name="onec")
    def group() -> None:
        """1C:ZUP connections."""

    @group.command()
    @with_connection
    def check(name: str | None, url: str | None, login: str | None, password_env: str | None, mode: str) -> None:
        """Check that every object the connector reads is published."""
        sys.exit(max(run_check(config) for config in _configs(settings, name, url, login, password_env, mode)))

    @group.command()
    @with_connection
    def read(name: str | None, url: str | None, login: str | None, password_env: str | None, mode: str) -> None:
        """Full read: print the number of records per entity."""
        for config in _configs(settings, name, url, login, password_env, mode):
            for kind, count in run_read(config).items():
                click.echo(f"{kind}: {count}")

    return group


def run_check(config: ConnectionConfig | ZupSource) -> int:
    """Print OK per set or the list to publish; exit code 0 only if everything answers."""
    source = config if not isinstance(config, ConnectionConfig) else build_source(config)
    try:
        results = source.check()
    finally:
        source.close()
    missing = [name for name, error in results.items() if isinstance(error, ODataSetNotPublished)]
    for name, error in results.items():
        click.echo(f"{'OK' if error is None else 'НЕТ'}  {name}" + ("" if error is None else f"  ({error})"))
    if missing:
        click.echo("\nАдминистратору 1С нужно опубликовать в стандартном интерфейсе OData "
                   "(Администрирование → Синхронизация данных → Настройка стандартного интерфейса OData):")
        for name in missing:
            click.echo(f"  - {name}")
    return 0 if all(error is None for error in results.values()) else 1


def run_read(config: ConnectionConfig | Mapping[str, Any] | ZupSource) -> dict[str, int]:
    """Count records of every kind with a full read."""
    source = build_source(config) if isinstance(config, (ConnectionConfig, Mapping)) else config
    try:
        readers = {
            "legal_entities": source.legal_entities,
            "departments": source.departments,
            "positions": source.positions,
            "persons": source.persons,
            "employees": source.employees,
            "employments": source.employments,
        }
        return {kind: sum(1 for _ in reader()) for kind, reader in readers.items()}
    finally:
        source.close()
