"""The core app: ``build_app(config, features)`` wires the ground floor and the given features.

The assembly (``service.create_app``) passes its list of features; the core never imports one.
Every module wires itself in with ``init_app(app)`` and keeps its handles in ``app.extensions``.
"""
from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path

from flask import Flask
from pythonjsonlogger.json import JsonFormatter

from b24app import (db, frames, inbox, install, install_steps, intake, lifecycle, logsafety, observability, pages,
                    portal, worker)
from b24app.config import Config
from b24app.features import Feature, FeatureSet
from b24app.scheduling import ScheduledJob

MAX_BODY_BYTES = 1024 * 1024  # calls from Bitrix24 over 1 MiB are refused with 413

CORE = Feature(
    name="core", title="Ядро: установка, события, очередь",
    models=("b24app.models",), migrations=Path(__file__).parent / "migrations" / "versions",
    inbox_handlers=lifecycle.HANDLERS,
    install_steps=(install_steps.bind_events, install_steps.bind_placements),
    scheduled_jobs=(ScheduledJob("inbox_purge", "15 3 * * *", inbox.purge_job),),
    blueprints=(install.bp, pages.bp, frames.bp, observability.bp), init_app=observability.init_app,
)


def build_app(config: Config, features: Sequence[Feature]) -> Flask:
    """The Flask app with the core and the features ``config`` enables, in the given order."""
    # The instance folder (the embedded SQLite database) lives where the service runs, not in the package.
    app = Flask("b24app", instance_path=os.path.abspath(os.environ.get("B24APP_INSTANCE") or "instance"),
                instance_relative_config=True, root_path=str(Path(__file__).parent))
    app.json.ensure_ascii = False  # Russian error descriptions stay readable
    app.config.update(SECRET_KEY=config.secret_key, MAX_CONTENT_LENGTH=MAX_BODY_BYTES,
                      DATABASE_URL=config.database_url)
    _configure_logging(app)
    enabled = FeatureSet([CORE, *(f for f in features if f.name in config.features)])
    app.extensions["b24app.features"] = enabled
    app.extensions["b24app.migrations"] = migration_folders(features)
    db.init_app(app)
    portal.init_app(app, config)
    frames.init_app(app)
    worker.init_app(app, config.section("worker"))
    for feature in enabled.features:
        for blueprint in feature.blueprints:
            app.register_blueprint(blueprint)
        if feature.init_app is not None:
            feature.init_app(app)
    intake.init_app(app)  # outermost: the intake routes never reach Flask
    return app


def migration_folders(features: Sequence[Feature]) -> list[str]:
    """Where Alembic finds the revisions: the core's and every feature's (enabled or not: a feature
    switched off keeps its tables, so switching it on again needs no migration)."""
    return [str(f.migrations) for f in (CORE, *features) if f.migrations is not None]


def upgrade(app: Flask) -> None:
    """Bring the app's database to the newest schema of the core and every feature."""
    db.upgrade_schema(db.get_db(app).url, app.extensions["b24app.migrations"])


def _configure_logging(app: Flask) -> None:
    """Every record masked (``b24app.logsafety``); a root handler as text or JSON (B24APP_LOG_FORMAT=json)
    at B24APP_LOG_LEVEL, unless the host (tests, gunicorn) configured logging already."""
    logsafety.install()
    if app.debug or app.testing or logging.getLogger().handlers:
        return
    handler = logging.StreamHandler()
    if os.environ.get("B24APP_LOG_FORMAT", "text").lower() == "json":
        handler.setFormatter(JsonFormatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=os.environ.get("B24APP_LOG_LEVEL", "INFO"), handlers=[handler])
