"""Everything Bitrix24 calls: install, events, app-activity callbacks."""
from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from handlers import activities, install, intake, lifecycle  # noqa: F401 - they register handlers

    app.register_blueprint(install.bp)
    app.register_blueprint(intake.bp)
