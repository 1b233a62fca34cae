"""Several local apps on one portal: each has its own tokens, application_token, handlers and placements."""
from __future__ import annotations

import requests

from emulators.bitrix24 import RunningBitrix24
from tests.emulators.bitrix24.app_server import AppEndpoint, app_endpoint  # noqa: F401 - fixture
from tests.emulators.bitrix24.conftest import hook, result

SCOPES = ["user", "sonet_group", "placement"]


def _installed_app(portal: RunningBitrix24, endpoint: AppEndpoint, name: str) -> dict:
    app = hook(portal, "apps", {"handler_url": f"{endpoint.url}/{name}", "install_url": f"{endpoint.url}/{name}",
                                "scopes": SCOPES})
    hook(portal, f"apps/{app['client_id']}/install-finish", {"user_id": 1})
    return app


def _token(portal: RunningBitrix24, app: dict, user_id: int = 1) -> str:
    return hook(portal, "tokens", {"client_id": app["client_id"], "user_id": user_id})["access_token"]


def _rest(portal: RunningBitrix24, token: str, method: str, **params: object) -> requests.Response:
    return requests.post(f"{portal.url}/rest/{method}", json={"auth": token, **params}, timeout=10)


def test_app_info_answers_for_the_app_the_token_belongs_to(portal: RunningBitrix24,
                                                           app_endpoint: AppEndpoint) -> None:
    first, second = _installed_app(portal, app_endpoint, "a"), _installed_app(portal, app_endpoint, "b")
    assert first["application_token"] != second["application_token"]
    info_a = _rest(portal, _token(portal, first), "app.info").json()["result"]
    info_b = _rest(portal, _token(portal, second), "app.info").json()["result"]
    assert (info_a["CODE"], info_b["CODE"]) == (first["client_id"], second["client_id"])
    assert set(info_a) == {"ID", "CODE", "VERSION", "STATUS", "INSTALLED", "PAYMENT_EXPIRED", "DAYS", "LANGUAGE_ID",
                           "LICENSE", "LICENSE_TYPE", "LICENSE_FAMILY"}  # common/system/app-info.md
    assert info_a["ID"] != info_b["ID"] and info_a["INSTALLED"] is True


def test_events_and_placements_belong_to_one_app(portal: RunningBitrix24, app_endpoint: AppEndpoint) -> None:
    first, second = _installed_app(portal, app_endpoint, "a"), _installed_app(portal, app_endpoint, "b")
    token_a, token_b = _token(portal, first), _token(portal, second)
    _rest(portal, token_a, "event.bind", event="ONSONETGROUPADD", handler=f"{app_endpoint.url}/events-a")
    _rest(portal, token_b, "event.bind", event="ONSONETGROUPADD", handler=f"{app_endpoint.url}/events-b")
    _rest(portal, token_a, "placement.bind", PLACEMENT="SONET_GROUP_DETAIL_TAB", HANDLER=f"{app_endpoint.url}/tab",
          TITLE="Табель")
    assert [row["handler"] for row in _rest(portal, token_b, "event.get").json()["result"]] == [
        f"{app_endpoint.url}/events-b"]
    assert _rest(portal, token_b, "placement.get").json()["result"] == []
    assert [row["title"] for row in _rest(portal, token_a, "placement.get").json()["result"]] == ["Табель"]
    result(portal, "sonet_group.create", NAME="Объект")
    deliveries = {item.path: item.form for item in app_endpoint.wait_events("ONSONETGROUPADD", 2)}
    assert deliveries["/events-a"]["auth[application_token]"] == first["application_token"]
    assert deliveries["/events-b"]["auth[application_token]"] == second["application_token"]
    unbound = _rest(portal, token_b, "placement.unbind", PLACEMENT="SONET_GROUP_DETAIL_TAB").json()["result"]
    assert unbound == {"count": 0}  # app B cannot remove app A's placement


def test_tokens_answer_for_their_own_user_and_app(portal: RunningBitrix24, app_endpoint: AppEndpoint) -> None:
    first, second = _installed_app(portal, app_endpoint, "a"), _installed_app(portal, app_endpoint, "b")
    employee = hook(portal, "users", {"NAME": "Анна", "EMAIL": "anna@example.org", "UF_DEPARTMENT": [1]})["ID"]
    token = _token(portal, second, employee)
    assert _rest(portal, token, "user.admin").json()["result"] is False
    assert _rest(portal, token, "user.current").json()["result"]["ID"] == str(employee)
    assert _rest(portal, token, "profile").json()["result"]["ADMIN"] is False
    assert _rest(portal, _token(portal, first), "user.admin").json()["result"] is True
    refresh_b = hook(portal, "tokens", {"client_id": second["client_id"], "user_id": 1})["refresh_token"]
    stolen = requests.get(f"{portal.oauth_url}/oauth/token/", timeout=10, params={
        "grant_type": "refresh_token", "client_id": first["client_id"], "client_secret": first["client_secret"],
        "refresh_token": refresh_b})
    assert stolen.json()["error"] == "invalid_grant"  # a token is bound to the app it was issued to
