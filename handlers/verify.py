"""Authenticity of calls from Bitrix24: the per-portal application_token (b24-app.md §4.4).

ONAPPINSTALL (older portals send no APPLICATION_TOKEN in the install POST) and ONAPPUPDATE
(which brings a *new* token, §2.5) cannot match the stored token; they are trusted only when the
access token they carry is accepted by the portal we stored for that member_id — never by an
endpoint named in the call itself — and the new token is then stored.
"""
from __future__ import annotations

from typing import Any

from flask import current_app

from b24app.portal import get_store, token_works_on_portal

LIFECYCLE_WITH_NEW_TOKEN = ("ONAPPINSTALL", "ONAPPUPDATE")


class CallRejected(Exception):
    """The call is not from the portal it claims to be from (HTTP 401)."""

    def __init__(self, reason: str, member_id: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.member_id = member_id


def verify_call(payload: dict[str, Any], *, event: str | None) -> str:
    """Return the verified member_id or raise CallRejected."""
    auth = payload.get("auth")
    if not isinstance(auth, dict):
        raise CallRejected("нет блока auth")
    member_id = auth.get("member_id")
    token = auth.get("application_token")
    if not isinstance(member_id, str) or not member_id or not isinstance(token, str) or not token:
        raise CallRejected("нет member_id или application_token", member_id if isinstance(member_id, str) else None)
    store = get_store(current_app)
    if store.application_token_matches(member_id=member_id, application_token=token):
        return member_id
    if event in LIFECYCLE_WITH_NEW_TOKEN and _trusted_new_token(member_id, auth):
        store.set_application_token(member_id=member_id, application_token=token,
                                    app_version=_version(payload) if event == "ONAPPUPDATE" else None)
        return member_id
    raise CallRejected("application_token не совпадает с сохранённым для портала", member_id)


def _trusted_new_token(member_id: str, auth: dict[str, Any]) -> bool:
    installation = get_store(current_app).find(member_id=member_id)
    access_token = auth.get("access_token")
    if installation is None or installation.status == "uninstalled" or not isinstance(access_token, str):
        return False
    return token_works_on_portal(installation.client_endpoint, access_token)


def _version(payload: dict[str, Any]) -> int | None:
    data = payload.get("data")
    version = data.get("VERSION") if isinstance(data, dict) else None
    return int(version) if isinstance(version, str) and version.isdigit() else None
