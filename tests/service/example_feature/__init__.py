"""A feature written only inside its own package: the shape every feature has (see docs/architecture.md)."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import click
from flask import Blueprint, Flask, current_app
from sqlalchemy.orm import Session

from b24app.dispatch import HandlerContext, event
from b24app.features import ConfigSection, Feature
from b24app.portal import get_config
from b24app.scheduling import ScheduledJob


@dataclass(frozen=True)
class ExampleSettings:
    greeting: str = "Здравствуйте"


def load_settings(section: Mapping[str, Any], env: Mapping[str, str]) -> ExampleSettings:
    greeting = section.get("greeting", ExampleSettings.greeting)
    if not isinstance(greeting, str) or not greeting:
        raise ValueError("example.greeting: непустая строка")
    return ExampleSettings(greeting)


bp = Blueprint("example", __name__, url_prefix="/example")


@bp.get("/hello")
def hello() -> str:
    return get_config(current_app).settings("example").greeting


def remember(ctx: HandlerContext, session: Session) -> None:
    ctx.app.extensions["example.seen"].append(ctx.message.payload["data"]["N"])


def tick(app: Flask) -> None:
    app.extensions["example.ticks"] += 1


@click.command("example")
def command() -> None:
    """Say hello."""
    click.echo("привет")


def init_app(app: Flask) -> None:
    app.extensions["example.seen"] = []
    app.extensions["example.ticks"] = 0


FEATURE = Feature(
    name="example", title="Пример функции", config_section=ConfigSection("example", load_settings),
    inbox_handlers={event("ONEXAMPLE"): remember},
    scheduled_jobs=(ScheduledJob("example_tick", "0 * * * *", tick),),
    blueprints=(bp,), cli=(command,), init_app=init_app,
)
