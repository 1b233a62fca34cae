"""The assembly, the top floor: the features of the service, listed once, and the app built from them.

``create_app()`` is the only place a full app is built; ``load_config`` and ``upgrade_schema``
read app.yaml and migrate the database with the sections and revisions of these features.
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from flask import Flask

import bizproc_templates
import cabinet
import outreach
import sync_jobs
import timesheets
from b24app import app as core
from b24app import config as core_config
from b24app import db
from b24app.config import Config
from service.onec_feature import ONEC

FEATURES = (ONEC, sync_jobs.FEATURE, bizproc_templates.FEATURE, outreach.FEATURE, cabinet.FEATURE,
            timesheets.FEATURE)


def load_config(path: str | os.PathLike[str] | None = None, env: Mapping[str, str] | None = None,
                overrides: Mapping[str, Any] | None = None) -> Config:
    """app.yaml (``B24APP_CONFIG``, default ``./app.yaml``) and the environment, with every feature's section."""
    path = path or os.environ.get("B24APP_CONFIG", "app.yaml")
    return core_config.load_config(path, env, overrides, features=FEATURES)


def create_app(config: Config | None = None) -> Flask:
    """The service: the core and the features ``config`` enables (read from app.yaml when None)."""
    return core.build_app(config or load_config(), FEATURES)


def upgrade_schema(url: str) -> None:
    """Migrate the database at ``url`` to the newest schema of the core and every feature."""
    db.upgrade_schema(url, core.migration_folders(FEATURES))
