"""Build a ``ZupSource`` from one connection dict of app.yaml."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import requests

from b24app.config import Config, OneCConnection
from onec.config import ConnectionConfig
from onec.errors import OneCConfigError
from onec.odata_source import ODataSource
from onec.soap import SoapSource
from onec.source import ZupSource


def build_source(
    config: Mapping[str, Any] | ConnectionConfig,
    *,
    session: requests.Session | None = None,
    password: str | None = None,
) -> ZupSource:
    """``ODataSource`` for ``mode: odata``, ``SoapSource`` for ``mode: soap``.

    ``password`` overrides the ``password_env`` lookup when the app has already read the secret.
    """
    if not isinstance(config, ConnectionConfig):
        config = ConnectionConfig.from_dict(config)
    if password is not None:
        config = dataclasses.replace(config, resolved_password=password)
    if config.mode == "soap":
        return SoapSource(config, session=session)
    return ODataSource(config, session=session)


def source_for(connection: OneCConnection) -> ZupSource:
    """The source of a connection configured in app.yaml (password already read from the env)."""
    return build_source({"name": connection.name, "mode": connection.mode, "url": connection.url,
                         "login": connection.login, "password_env": "(read by b24app.config)",
                         **connection.options}, password=connection.password)


def configured_connection(config: Config, name: str | None = None) -> OneCConnection:
    """The connection called ``name`` in ``onec.connections`` (the first one when None)."""
    for connection in config.onec:
        if name in (None, connection.name):
            return connection
    if name:
        raise OneCConfigError(f"подключения к 1С «{name}» нет в onec.connections")
    raise OneCConfigError("onec.connections: не настроено ни одного подключения к 1С")
