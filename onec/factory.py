"""Build a ``ZupSource`` from one connection of app.yaml (or its plain dict)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import requests

from onec.config import ConnectionConfig
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

    ``password`` overrides the ``password_env`` lookup when the caller has already read the secret.
    """
    if not isinstance(config, ConnectionConfig):
        config = ConnectionConfig.from_dict(config)
    if password is not None:
        config = dataclasses.replace(config, resolved_password=password)
    if config.mode == "soap":
        return SoapSource(config, session=session)
    return ODataSource(config, session=session)



def delivers_files(config: Mapping[str, Any] | ConnectionConfig) -> bool:
    """Whether ``request_document`` of this connection returns the files 1C prints (certificates): the
    b24sync web service does (GetDocument); the standard OData interface has no printed forms
    (``ODataSource.request_document``)."""
    if not isinstance(config, ConnectionConfig):
        config = ConnectionConfig.from_dict(config)
    return config.mode == "soap"
