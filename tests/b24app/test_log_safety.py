"""Everything logged at DEBUG — ours and the libraries' — while the app is installed, opened, called and
refreshes its tokens holds no token, secret, application token or webhook code."""
from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
import requests

from b24app.logsafety import mask
from b24app.portal import client_for, get_store
from tests.support import EmulatedInstall


def test_install_events_pages_and_refresh_log_no_secret(tmp_path: Path, database_url: str,
                                                        debug_log: io.StringIO) -> None:
    setup = EmulatedInstall(tmp_path, database_url)
    try:
        setup.install()
        setup.drain()
        secrets = {setup.client_secret}
        viewer = setup.hook("tokens", {"client_id": setup.client_id, "user_id": 1})
        secrets |= {viewer["access_token"], viewer["refresh_token"]}
        requests.post(f"{setup.public_url}/b24/app", data={"member_id": setup.member_id, "AUTH_ID":
                      viewer["access_token"], "REFRESH_ID": viewer["refresh_token"]}, timeout=10)
        setup.hook("tokens/expire", {})
        client_for(setup.app).call("profile", {})
        setup.hook(f"apps/{setup.client_id}/update", {"version": 2})
        setup.drain()
        stored = get_store(setup.app).find(member_id=setup.member_id)
        secrets |= {stored.access_token, stored.refresh_token}
        secrets |= set(re.findall(r"application_token['\"]: ['\"]([^'\"]+)", str(setup.hook("state", method="GET"))))
    finally:
        setup.stop()
    written = debug_log.getvalue()
    assert "bitrix24" in written and "DEBUG" in written  # the flows were logged, at DEBUG
    leaked = [secret[:6] + "…" for secret in secrets if secret and secret in written]
    assert not leaked, f"secrets in the log: {leaked}"


@pytest.mark.parametrize("text,kept", [
    ("GET /rest/1/4e1cbf4rh6ff2/user.get", "/rest/1/***/"),
    ("{'auth': 'c1a0e2', 'FILTER': {}}", "'auth': '***'"),
    ("СНИЛС 112-233-445 95, ИНН 500100732259", "СНИЛС ***, ИНН ***"),
    ("тел. +7 (912) 345-67-89", "+7******67-89"),
    ("ivanov@example.ru", "i***@example.ru"),
    ("<ns0:Password>Пароль123</ns0:Password>", "<ns0:Password>***</ns0:Password>"),
])
def test_mask_keeps_only_what_tells_records_apart(text: str, kept: str) -> None:
    assert kept in mask(text)
