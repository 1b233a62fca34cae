"""App install/update/uninstall and event delivery.

REST docs: settings/app-installation/, api-reference/common/events/, api-reference/events/.
"""
from __future__ import annotations

import json
import re

import requests

from emulators.bitrix24 import RunningBitrix24
from tests.emulators.bitrix24.app_server import AppEndpoint, app_endpoint  # noqa: F401 - fixture
from tests.emulators.bitrix24.conftest import hook

INSTALL_PAGE = "<html><script src='//api.bitrix24.com/api/v1/'></script><script>BX24.init(function(){" \
               "BX24.installFinish();});</script></html>"
FULL_AUTH = {"auth[access_token]", "auth[expires]", "auth[expires_in]", "auth[scope]", "auth[domain]",
             "auth[server_endpoint]", "auth[status]", "auth[client_endpoint]", "auth[member_id]", "auth[user_id]",
             "auth[application_token]"}


def _register(portal: RunningBitrix24, endpoint: AppEndpoint, **extra: object) -> dict:
    return hook(portal, "apps", {"handler_url": f"{endpoint.url}/app", "install_url": f"{endpoint.url}/install",
                                 "scopes": ["user", "sonet_group", "placement"], **extra})


def _rest(portal: RunningBitrix24, token: str, method: str, **params: object) -> requests.Response:
    return requests.post(f"{portal.url}/rest/{method}.json", json={"auth": token, **params}, timeout=10)


def _bind_from_install_page(portal: RunningBitrix24, endpoint: AppEndpoint, finish: bool) -> None:
    """The install page binds its handlers with the AUTH_ID it got, then (maybe) calls installFinish."""
    def page(received: object) -> str:
        token = received.form.get("AUTH_ID", "")  # type: ignore[attr-defined]
        if token:
            for event in ("ONAPPINSTALL", "ONAPPUPDATE", "ONAPPUNINSTALL", "ONUSERADD", "ONSONETGROUPADD"):
                _rest(portal, token, "event.bind", event=event, handler=f"{endpoint.url}/events")
        return INSTALL_PAGE if finish else "<html>настройка…</html>"
    endpoint.page = page


def test_install_form_matches_section_13(portal: RunningBitrix24, app_endpoint: AppEndpoint) -> None:
    app = _register(portal, app_endpoint)
    _bind_from_install_page(portal, app_endpoint, finish=True)
    outcome = hook(portal, f"apps/{app['client_id']}/install", {"user_id": 1})
    assert outcome["installed"] is True and outcome["status"] == 200
    install = app_endpoint.received[0]
    assert install.path == "/install" and install.content_type == "application/x-www-form-urlencoded"
    assert set(install.query) == {"DOMAIN", "PROTOCOL", "LANG", "APP_SID"}
    assert (install.query["DOMAIN"], install.query["PROTOCOL"]) == (portal.url.split("//")[1], "0")
    assert {"AUTH_ID", "AUTH_EXPIRES", "REFRESH_ID", "SERVER_ENDPOINT", "APPLICATION_TOKEN", "APPLICATION_SCOPE",
            "member_id", "status", "PLACEMENT", "PLACEMENT_OPTIONS"} <= set(install.form)
    assert (install.form["status"], install.form["PLACEMENT"], install.form["member_id"]) == (
        "L", "DEFAULT", portal.member_id)
    assert install.form["APPLICATION_TOKEN"] != install.query["APP_SID"]


def test_onappinstall_after_install_finish_with_refresh_token(portal: RunningBitrix24,
                                                              app_endpoint: AppEndpoint) -> None:
    app = _register(portal, app_endpoint)
    _bind_from_install_page(portal, app_endpoint, finish=True)
    hook(portal, f"apps/{app['client_id']}/install", {"user_id": 1})
    hook(portal, "events/flush")
    [event] = app_endpoint.events("ONAPPINSTALL")
    assert FULL_AUTH | {"auth[refresh_token]"} <= set(event.form)
    assert event.form["auth[application_token]"] == app["application_token"]
    assert (event.form["data[INSTALLED]"], event.form["data[VERSION]"]) == ("Y", "1")
    assert event.form["event_handler_id"].isdigit() and event.form["ts"].isdigit()


def test_no_events_before_install_finish(portal: RunningBitrix24, app_endpoint: AppEndpoint) -> None:
    app = _register(portal, app_endpoint)
    _bind_from_install_page(portal, app_endpoint, finish=False)
    assert hook(portal, f"apps/{app['client_id']}/install", {"user_id": 1})["installed"] is False
    token = hook(portal, "tokens", {"client_id": app["client_id"], "user_id": 1})["access_token"]
    assert _rest(portal, token, "app.info").json()["result"]["INSTALLED"] is False
    _rest(portal, token, "sonet_group.create", NAME="До установки")
    hook(portal, "events/flush")
    assert app_endpoint.events("ONSONETGROUPADD") == []
    hook(portal, f"apps/{app['client_id']}/install-finish")
    _rest(portal, token, "sonet_group.create", NAME="После установки")
    hook(portal, "events/flush")
    assert len(app_endpoint.events("ONSONETGROUPADD")) == 1
    assert _rest(portal, token, "app.info").json()["result"]["INSTALLED"] is True


def test_onuseradd_fires_at_activation_not_at_invitation(portal: RunningBitrix24, app_endpoint: AppEndpoint) -> None:
    app = _register(portal, app_endpoint)
    _bind_from_install_page(portal, app_endpoint, finish=True)
    hook(portal, f"apps/{app['client_id']}/install", {"user_id": 1})
    token = hook(portal, "tokens", {"client_id": app["client_id"], "user_id": 1})["access_token"]
    user_id = _rest(portal, token, "user.add", EMAIL="new@example.com", NAME="Нина", UF_DEPARTMENT=[1]).json()["result"]
    hook(portal, "events/flush")
    assert app_endpoint.events("ONUSERADD") == []
    hook(portal, f"users/{user_id}/accept-invite")
    [event] = app_endpoint.wait_events("ONUSERADD")
    assert event.form["data[ID]"] == str(user_id) and event.form["data[NAME]"] == "Нина"
    assert FULL_AUTH <= set(event.form) and "auth[refresh_token]" not in event.form
    hook(portal, "events/flush")  # the log entry is written after the handler has answered
    log = hook(portal, "events/log", http_method="GET")
    assert any(entry["event"] == "ONUSERADD" and entry["status"] == 200 and "auth" not in entry["data"]
               for entry in log)


def test_update_rotates_token_and_wipes_handlers(portal: RunningBitrix24, app_endpoint: AppEndpoint) -> None:
    app = _register(portal, app_endpoint)
    _bind_from_install_page(portal, app_endpoint, finish=True)
    hook(portal, f"apps/{app['client_id']}/install", {"user_id": 1})
    token = hook(portal, "tokens", {"client_id": app["client_id"], "user_id": 1})["access_token"]
    updated = hook(portal, f"apps/{app['client_id']}/update", {"version": 2})
    hook(portal, "events/flush")
    [event] = app_endpoint.events("ONAPPUPDATE")
    assert event.form["auth[application_token]"] == updated["application_token"] != app["application_token"]
    assert _rest(portal, token, "event.get").json()["result"] == []
    assert _rest(portal, token, "app.info").json()["result"]["VERSION"] == 2


def test_uninstall_auth_is_limited(portal: RunningBitrix24, app_endpoint: AppEndpoint) -> None:
    app = _register(portal, app_endpoint)
    _bind_from_install_page(portal, app_endpoint, finish=True)
    hook(portal, f"apps/{app['client_id']}/install", {"user_id": 1})
    token = hook(portal, "tokens", {"client_id": app["client_id"], "user_id": 1})["access_token"]
    hook(portal, f"apps/{app['client_id']}/uninstall", {"clean": True})
    hook(portal, "events/flush")
    [event] = app_endpoint.events("ONAPPUNINSTALL")
    assert {key for key in event.form if key.startswith("auth[")} == {
        "auth[domain]", "auth[server_endpoint]", "auth[client_endpoint]", "auth[member_id]", "auth[application_token]"}
    assert event.form["data[CLEAN]"] == "1"
    assert _rest(portal, token, "user.current").json()["error"] == "invalid_token"


def test_api_only_app_gets_onappinstall_at_install_url(portal: RunningBitrix24, app_endpoint: AppEndpoint) -> None:
    app = _register(portal, app_endpoint, api_only=True)
    assert hook(portal, f"apps/{app['client_id']}/install", {"user_id": 1})["installed"] is True
    [event] = app_endpoint.events("ONAPPINSTALL")
    assert event.path == "/install" and "auth[refresh_token]" in event.form


def test_event_bind_validation(portal: RunningBitrix24, app_endpoint: AppEndpoint) -> None:
    app = _register(portal, app_endpoint)
    token = hook(portal, "tokens", {"client_id": app["client_id"], "user_id": 1})["access_token"]
    unknown = _rest(portal, token, "event.bind", event="ONNOTHING", handler=f"{app_endpoint.url}/e")
    assert unknown.json() == {"error": "ERROR_EVENT_NOT_FOUND", "error_description": "Event not found"}
    assert _rest(portal, token, "event.bind", event="onUserAdd", handler=f"{app_endpoint.url}/e").json()["result"]
    assert _rest(portal, token, "event.get").json()["result"] == [
        {"event": "ONUSERADD", "handler": f"{app_endpoint.url}/e", "auth_type": "0", "offline": 0}]
    assert _rest(portal, token, "event.unbind", event="ONUSERADD",
                 handler=f"{app_endpoint.url}/e").json()["result"] == {"count": 1}
    webhook = requests.post(portal.webhook_url + "event.bind", json={"event": "ONUSERADD", "handler": "http://x.y/"},
                            timeout=10)
    assert webhook.json()["error"] == "WRONG_AUTH_TYPE"  # event-get.md: application context only


def test_offline_events_dedupe_and_processing(portal: RunningBitrix24, app_endpoint: AppEndpoint) -> None:
    app = _register(portal, app_endpoint)
    hook(portal, f"apps/{app['client_id']}/install-finish")
    token = hook(portal, "tokens", {"client_id": app["client_id"], "user_id": 1})["access_token"]
    assert _rest(portal, token, "event.bind", event="ONSONETGROUPUPDATE", event_type="offline").json()["result"]
    group = _rest(portal, token, "sonet_group.create", NAME="Склад").json()["result"]
    for name in ("Склад 1", "Склад 2", "Склад 3"):
        _rest(portal, token, "sonet_group.update", GROUP_ID=group, NAME=name)
    listed = _rest(portal, token, "event.offline.list").json()
    assert listed["total"] == 1  # three changes of one object = one record
    taken = _rest(portal, token, "event.offline.get", clear=0).json()["result"]
    assert taken["process_id"] and [event["EVENT_NAME"] for event in taken["events"]] == ["ONSONETGROUPUPDATE"]
    assert _rest(portal, token, "event.offline.get").json()["result"]["events"] == []  # hidden under the process
    message = taken["events"][0]["MESSAGE_ID"]
    assert _rest(portal, token, "event.offline.error", process_id=taken["process_id"], message_id=[message]).json()
    errored = _rest(portal, token, "event.offline.get", error=1, clear=0).json()["result"]
    assert len(errored["events"]) == 1
    assert _rest(portal, token, "event.offline.clear", process_id=errored["process_id"]).json()["result"] is True
    assert _rest(portal, token, "event.offline.list").json()["total"] == 0


def test_bx24_shim_finishes_the_install_of_the_open_page(portal: RunningBitrix24, app_endpoint: AppEndpoint) -> None:
    """The page's BX24.js knows its frame (REST docs: sdk/bx24-js-sdk/system-functions/bx24-init.md);
    installFinish posts to the install-finish hook."""
    shim_url = f"{portal.url}/bitrix/js/rest/bx24.js"
    assert "})(null);" in requests.get(shim_url, timeout=10).text  # no install page open: BX24 refuses
    app = _register(portal, app_endpoint)
    _bind_from_install_page(portal, app_endpoint, finish=False)
    assert hook(portal, f"apps/{app['client_id']}/install", {"user_id": 1})["installed"] is False
    response = requests.get(shim_url, params={"client_id": app["client_id"]}, timeout=10)
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("application/javascript")
    assert "installFinish: function" in response.text and "fallback.finish_url" in response.text
    frame = json.loads(re.search(r"\}\)\((\{.*\})\);\s*$", response.text).group(1))  # type: ignore[union-attr]
    assert frame["auth"]["access_token"] == app_endpoint.received[0].form["AUTH_ID"]
    assert frame["finish_url"] == f"{portal.url}/_emulator/apps/{app['client_id']}/install-finish"
    assert requests.get(shim_url, timeout=10).text == response.text  # the last opened page by default
    finish = requests.post(frame["finish_url"], data=json.dumps({"user_id": frame["user_id"]}),
                           headers={"Content-Type": "text/plain"}, timeout=10)  # what installFinish() sends
    assert finish.status_code == 200 and finish.headers["Access-Control-Allow-Origin"] == "*"
    [listed] = [row for row in hook(portal, "apps", http_method="GET") if row["client_id"] == app["client_id"]]
    assert listed["installed"] is True
