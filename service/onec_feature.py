"""The 1C:ZUP connector as a feature. ``onec`` is a leaf that imports nothing of ours, so the
assembly declares it: its ``onec:`` section (connections, passwords from the environment) and
its ``b24app onec`` commands, which read the connections of app.yaml."""
from __future__ import annotations

import click

from b24app.config import ConfigError
from b24app.features import ConfigSection, Feature
from onec import cli
from onec.config import OneCSettings, load_settings


def _configured_connections() -> OneCSettings:
    from service import load_config

    try:
        return load_config().settings("onec")
    except ConfigError as exc:
        raise click.ClickException("конфигурация содержит ошибки:\n" + str(exc)) from None


ONEC = Feature(name="onec", title="Подключения к 1С:ЗУП",
               config_section=ConfigSection("onec", load_settings),
               cli=(cli.make_group(_configured_connections),))
