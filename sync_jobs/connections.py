"""How the sync reaches 1C: the connection named by ``sync.onec_connection`` (or the first)."""
from __future__ import annotations

from flask import Flask

from b24app.portal import get_config
from onec.config import ConnectionConfig
from onec.factory import build_source
from onec.source import ZupSource

from sync_jobs.settings import SyncSettings


def _connection(app: Flask, settings: SyncSettings) -> ConnectionConfig:
    return get_config(app).settings("onec").connection(settings.onec_connection)


def open_source(app: Flask, settings: SyncSettings) -> ZupSource:
    return build_source(_connection(app, settings))


def source_identity(app: Flask, settings: SyncSettings) -> str:
    """Which 1C the sync reads (mode and address): records and feed positions of another are not reused."""
    connection = _connection(app, settings)
    return f"{connection.mode} {connection.url}"
