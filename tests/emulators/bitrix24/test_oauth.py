"""The OAuth server: grants, rotation, errors (REST docs: settings/oauth/)."""
from __future__ import annotations

import requests

from emulators.bitrix24 import ManualClock, RunningBitrix24
from tests.emulators.bitrix24.conftest import hook

TOKEN_KEYS = {"access_token", "refresh_token", "expires", "expires_in", "scope", "domain", "server_endpoint",
              "status", "client_endpoint", "member_id", "user_id"}


def _app(portal: RunningBitrix24) -> dict:
    return hook(portal, "apps", {"handler_url": "http://127.0.0.1:9/app", "install_url": "http://127.0.0.1:9/install",
                                 "scopes": ["user", "department"]})


def _refresh(portal: RunningBitrix24, app: dict, refresh_token: str, verb: str = "GET") -> requests.Response:
    params = {"grant_type": "refresh_token", "client_id": app["client_id"], "client_secret": app["client_secret"],
              "refresh_token": refresh_token}
    if verb == "GET":
        return requests.get(f"{portal.oauth_url}/oauth/token/", params=params, timeout=10)
    return requests.post(f"{portal.oauth_url}/oauth/token/", data=params, timeout=10)


def test_client_id_shape_and_token_json(portal: RunningBitrix24) -> None:
    app = _app(portal)
    prefix, hex_part, digits = app["client_id"].split(".")
    assert prefix == "local" and int(hex_part, 16) >= 0 and digits.isdigit()
    token = hook(portal, "tokens", {"client_id": app["client_id"], "user_id": 1})
    assert set(token) == TOKEN_KEYS
    assert (token["expires_in"], token["member_id"], token["user_id"], token["scope"]) == (
        3600, portal.member_id, 1, "user,department")
    assert token["client_endpoint"] == f"{portal.url}/rest/"


def test_refresh_rotates_and_a_reused_token_is_invalid_grant(portal: RunningBitrix24) -> None:
    app = _app(portal)
    first = hook(portal, "tokens", {"client_id": app["client_id"], "user_id": 1})
    renewed = _refresh(portal, app, first["refresh_token"])
    assert renewed.status_code == 200
    assert renewed.json()["refresh_token"] != first["refresh_token"]
    reused = _refresh(portal, app, first["refresh_token"], "POST")
    assert (reused.status_code, reused.json()["error"]) == (400, "invalid_grant")
    assert _refresh(portal, app, renewed.json()["refresh_token"], "POST").status_code == 200


def test_invalid_client(portal: RunningBitrix24) -> None:
    app = _app(portal)
    token = hook(portal, "tokens", {"client_id": app["client_id"], "user_id": 1})
    response = _refresh(portal, {**app, "client_secret": "wrong"}, token["refresh_token"])
    assert (response.status_code, response.json()["error"]) == (401, "invalid_client")


def test_forced_expiry_gives_expired_token_and_refresh_recovers(portal: RunningBitrix24) -> None:
    app = _app(portal)
    token = hook(portal, "tokens", {"client_id": app["client_id"], "user_id": 1})
    rest = f"{portal.url}/rest/user.current.json"
    assert requests.post(rest, json={"auth": token["access_token"]}, timeout=10).status_code == 200
    assert hook(portal, "tokens/expire", {"access_token": token["access_token"]}) == {"expired": 1}
    expired = requests.post(rest, json={"auth": token["access_token"]}, timeout=10)
    assert expired.status_code == 401
    assert expired.json() == {"error": "expired_token", "error_description": "The access token provided has expired"}
    fresh = _refresh(portal, app, token["refresh_token"]).json()
    assert requests.post(rest, json={"auth": fresh["access_token"]}, timeout=10).status_code == 200


def test_access_ttl_follows_the_clock(clocked_portal: RunningBitrix24, clock: ManualClock) -> None:
    app = _app(clocked_portal)
    token = hook(clocked_portal, "tokens", {"client_id": app["client_id"], "user_id": 1})
    clock.advance(3601)
    response = requests.post(f"{clocked_portal.url}/rest/user.current", json={"auth": token["access_token"]}, timeout=10)
    assert response.json()["error"] == "expired_token"


def test_authorization_code_grant(portal: RunningBitrix24) -> None:
    app = _app(portal)
    redirect = requests.get(f"{portal.url}/oauth/authorize/", params={"client_id": app["client_id"], "state": "s1"},
                            allow_redirects=False, timeout=10)
    assert redirect.status_code == 302
    location = redirect.headers["Location"]
    assert location.startswith("http://127.0.0.1:9/app?") and "state=s1" in location
    code = location.split("code=")[1].split("&")[0]
    params = {"grant_type": "authorization_code", "client_id": app["client_id"],
              "client_secret": app["client_secret"], "code": code}
    token = requests.get(f"{portal.oauth_url}/oauth/token/", params=params, timeout=10)
    assert token.status_code == 200 and token.json()["user_id"] == 1
    again = requests.get(f"{portal.oauth_url}/oauth/token/", params=params, timeout=10)
    assert again.json()["error"] == "invalid_grant"


def test_oauth_server_is_separate_from_the_portal(portal: RunningBitrix24) -> None:
    app = _app(portal)
    first = hook(portal, "tokens", {"client_id": app["client_id"], "user_id": 1})
    assert portal.oauth_url != portal.url
    assert first["server_endpoint"] == f"{portal.oauth_url}/rest/"
    assert first["domain"] == portal.oauth_url.split("://")[1]
    params = {"grant_type": "refresh_token", "client_id": app["client_id"], "client_secret": app["client_secret"],
              "refresh_token": first["refresh_token"]}
    on_portal = requests.get(f"{portal.url}/oauth/token/", params=params, timeout=10)
    assert on_portal.status_code == 404  # the secret is never sent to the portal
    assert _refresh(portal, app, first["refresh_token"]).status_code == 200
