"""A feature package declares itself once; the core reads the declarations and imports no feature.

A feature is a package of the middle floor (``sync_jobs``, ``bizproc_templates``, ``cabinet`` …).
It exposes one :class:`Feature` — its tables and migrations, its ``app.yaml`` section with the
reader that validates it, its inbox handlers, install steps, scheduled jobs, blueprints and CLI
groups — and the assembly (``service``) lists the features once. ``features:`` in app.yaml
switches a feature off; the core then neither routes to its handlers nor runs its steps or jobs.
See docs/architecture.md ("How to add a feature").
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import click
    from flask import Blueprint, Flask

    from b24app.dispatch import Handler, HandlerKey
    from b24app.install_steps import InstallStep
    from b24app.scheduling import ScheduledJob

SectionReader = Callable[[Mapping[str, Any], Mapping[str, str]], Any]
"""``reader(section, env) -> settings``: raises ValueError("<section>.<key>: что ожидается"), or an
ExceptionGroup of them to report several problems at once."""


@dataclass(frozen=True)
class ConfigSection:
    """A top-level ``app.yaml`` section owned by a feature and the reader that types it."""

    name: str
    reader: SectionReader


@dataclass(frozen=True)
class Feature:
    """Everything a feature brings to the service, declared in one place."""

    name: str  # the key in app.yaml ``features:``
    title: str  # Russian, for ``b24app config check``
    requires: tuple[str, ...] = ()  # features whose read APIs it uses
    models: tuple[str, ...] = ()  # modules whose tables live on b24app.db.Base
    migrations: Path | None = None  # the folder of its Alembic revisions
    config_section: ConfigSection | None = None
    inbox_handlers: Mapping[HandlerKey, Handler] = field(default_factory=dict)
    install_steps: tuple[InstallStep, ...] = ()
    scheduled_jobs: tuple[ScheduledJob, ...] = ()
    blueprints: tuple[Blueprint, ...] = ()
    cli: tuple[click.Command, ...] = ()
    init_app: Callable[[Flask], None] | None = None
    health: Callable[[Flask], Mapping[str, str]] | None = None  # component -> "ok" or what is wrong (/healthz)


class FeatureSet:
    """The enabled features of one app, core first: what the worker, installer and scheduler run."""

    def __init__(self, features: Sequence[Feature]) -> None:
        self.features = tuple(features)
        self.handlers: dict[HandlerKey, Handler] = {}
        for feature in self.features:
            for key, handler in feature.inbox_handlers.items():
                if key in self.handlers:
                    raise ValueError(f"{key} is handled twice (feature {feature.name})")
                self.handlers[key] = handler

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(feature.name for feature in self.features)

    def handler(self, key: HandlerKey) -> Handler | None:
        return self.handlers.get(key)

    @property
    def install_steps(self) -> tuple[InstallStep, ...]:
        return tuple(step for feature in self.features for step in feature.install_steps)

    @property
    def scheduled_jobs(self) -> tuple[ScheduledJob, ...]:
        return tuple(job for feature in self.features for job in feature.scheduled_jobs)


def enabled_features(features: Sequence[Feature], switches: Mapping[str, bool]) -> tuple[Feature, ...]:
    """The features not switched off in app.yaml ``features:``, in the assembly's order."""
    return tuple(feature for feature in features if switches.get(feature.name, True))


def get_features(app: Flask) -> FeatureSet:
    return app.extensions["b24app.features"]
