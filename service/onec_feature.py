"""The 1C:ZUP connector as a feature. ``onec`` is a leaf that imports nothing of ours, so the
assembly declares it: its ``onec:`` section (connections, passwords from the environment) and
its ``b24app onec`` commands, which read the connections of app.yaml."""
from __future__ import annotations

from contextlib import closing

import click
from flask import Flask

from b24app.config import ConfigError
from b24app.features import ConfigSection, Feature
from b24app.portal import get_config
from onec import cli
from onec.config import OneCSettings, load_settings
from onec.errors import OneCError
from onec.factory import build_source


def _configured_connections() -> OneCSettings:
    from service import load_config

    try:
        return load_config().settings("onec")
    except ConfigError as exc:
        raise click.ClickException("конфигурация содержит ошибки:\n" + str(exc)) from None


def _health(app: Flask) -> dict[str, str]:
    """Each connection answers what the connector reads (``ZupSource.check``)."""
    report = {}
    for connection in get_config(app).settings("onec").connections:
        try:
            with closing(build_source(connection)) as source:
                failed = [f"{name}: {error}" for name, error in source.check().items() if error is not None]
        except OneCError as exc:
            failed = [f"{type(exc).__name__}: {exc}"]
        report[connection.name] = "ok" if not failed else "; ".join(failed)[:300]
    return report


ONEC = Feature(name="onec", title="Подключения к 1С:ЗУП",
               config_section=ConfigSection("onec", load_settings),
               cli=(cli.make_group(_configured_connections),), health=_health)
