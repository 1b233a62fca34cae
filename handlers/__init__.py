"""Everything Bitrix24 calls: install, events, app-activity callbacks."""
from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from handlers import install, intake, lifecycle  # noqa: F401 - lifecycle registers handlers

    app.register_blueprint(install.bp)
    app.register_blueprint(intake.bp)
