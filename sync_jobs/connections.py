"""How the sync reaches both systems: the portal's REST client and the configured 1C source."""
from __future__ import annotations

from flask import Flask

from b24app.bitrix import B24Client
from b24app.portal import client_for, get_config
from onec.factory import configured_connection, source_for
from onec.source import ZupSource

from sync_jobs.settings import SyncSettings


def portal_client(app: Flask) -> B24Client:
    """The portal's REST client, paced to the plan in app.yaml (``bitrix24.plan``/``time_scale``)."""
    return client_for(app)


def open_source(app: Flask, settings: SyncSettings) -> ZupSource:
    return source_for(configured_connection(get_config(app), settings.onec_connection))
