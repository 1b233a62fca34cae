"""b24app: a Bitrix24 local application for staffing companies.

``create_app`` is the only place an app is built; every module wires itself in with
``init_app(app)`` and keeps its handles in ``app.extensions``.
"""
from __future__ import annotations

import logging
import os

from flask import Flask

from b24app.config import Config, load_config

MAX_BODY_BYTES = 1024 * 1024  # calls from Bitrix24 over 1 MiB are refused with 413


def create_app(config: Config | None = None) -> Flask:
    """Build the Flask app; without ``config`` read app.yaml (B24APP_CONFIG) and the environment."""
    if config is None:
        config = load_config(os.environ.get("B24APP_CONFIG", "app.yaml"))
    # The instance folder (the embedded SQLite database) lives where the service runs, not in the package.
    app = Flask(__name__, instance_path=os.path.abspath(os.environ.get("B24APP_INSTANCE") or "instance"),
                instance_relative_config=True)
    app.json.ensure_ascii = False  # Russian error descriptions stay readable
    app.config.update(SECRET_KEY=config.secret_key, MAX_CONTENT_LENGTH=MAX_BODY_BYTES,
                      DATABASE_URL=config.database_url)
    _configure_logging(app)

    from b24app import db, frames, pages, portal, worker
    import handlers

    db.init_app(app)
    portal.init_app(app, config)
    worker.init_app(app, config.section("worker"))
    handlers.init_app(app)
    frames.init_app(app)
    import cabinet  # until the feature list of «One house» lands in service/

    cabinet.init_app(app)
    app.register_blueprint(pages.bp)
    return app


def _configure_logging(app: Flask) -> None:
    if not app.debug and not app.testing and not logging.getLogger().handlers:
        logging.basicConfig(level=os.environ.get("B24APP_LOG_LEVEL", "INFO"),
                            format="%(asctime)s %(levelname)s %(name)s: %(message)s")
