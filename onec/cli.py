"""``b24app onec ...``: check what the 1C administrator must publish, count what we can read."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Any

import click

from onec.config import ConnectionConfig
from onec.errors import ODataSetNotPublished
from onec.factory import build_source


def _config(url: str, login: str, password_env: str, mode: str) -> ConnectionConfig:
    return ConnectionConfig.from_dict(
        {"name": "cli", "mode": mode, "url": url, "login": login, "password_env": password_env}
    )


connection_options = [
    click.option("--url", required=True, help="OData service root (…/odata/standard.odata/) or WSDL URL."),
    click.option("--login", required=True, help="1C user name (Cyrillic is fine)."),
    click.option("--password-env", required=True, help="Name of the environment variable with the password."),
    click.option("--mode", type=click.Choice(["odata", "soap"]), default="odata", show_default=True),
]


def with_connection(command: Any) -> Any:
    """Attach the connection options to a command."""
    for option in reversed(connection_options):
        command = option(command)
    return command


@click.group(name="onec")
def group() -> None:
    """1C:ZUP connections."""


@group.command()
@with_connection
def check(url: str, login: str, password_env: str, mode: str) -> None:
    """Check that every object the connector reads is published."""
    sys.exit(run_check(_config(url, login, password_env, mode)))


def run_check(config: ConnectionConfig) -> int:
    """Print OK per set or the list to publish; exit code 0 only if everything answers."""
    source = build_source(config)
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


@group.command()
@with_connection
def read(url: str, login: str, password_env: str, mode: str) -> None:
    """Full read: print the number of records per entity."""
    for kind, count in run_read(_config(url, login, password_env, mode)).items():
        click.echo(f"{kind}: {count}")


def run_read(config: ConnectionConfig | Mapping[str, Any]) -> dict[str, int]:
    """Count records of every kind with a full read."""
    source = build_source(config)
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
