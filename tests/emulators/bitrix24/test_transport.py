"""Routing, input merging, envelopes and auth errors (REST docs: settings/how-to-call-rest-api/, error-codes.md)."""
from __future__ import annotations

import requests

from emulators.bitrix24 import RunningBitrix24
from tests.emulators.bitrix24.conftest import call, hook, result

TIME_KEYS = {"start", "finish", "duration", "processing", "date_start", "date_finish", "operating_reset_at", "operating"}


def test_success_envelope_has_time_block(portal: RunningBitrix24) -> None:
    body = call(portal, "server.time").json()
    assert set(body) == {"result", "time"}
    assert set(body["time"]) == TIME_KEYS
    assert body["result"].startswith(body["time"]["date_start"][:10])


def test_error_envelope_has_no_time_and_unknown_method_is_404(portal: RunningBitrix24) -> None:
    response = call(portal, "no.such.method")
    assert response.status_code == 404
    assert response.json() == {"error": "ERROR_METHOD_NOT_FOUND", "error_description": "Method not found!"}


def test_method_names_are_case_insensitive_with_optional_suffix(portal: RunningBitrix24) -> None:
    for name in ("USER.Current", "user.current.json", "user.current/"):
        assert requests.get(portal.webhook_url + name, timeout=10).json()["result"]["ID"] == "1"


def test_form_body_with_php_brackets(portal: RunningBitrix24) -> None:
    response = requests.post(portal.webhook_url + "user.get", data="FILTER%5BEMAIL%5D=admin%40portal.example",
                             headers={"Content-Type": "application/x-www-form-urlencoded"}, timeout=10)
    assert [user["ID"] for user in response.json()["result"]] == ["1"]


def test_query_and_body_merge_body_wins(portal: RunningBitrix24) -> None:
    hook(portal, "users", {"NAME": "Ann", "LAST_NAME": "Lee", "EMAIL": "ann@example.com", "UF_DEPARTMENT": [1]})
    response = requests.post(portal.webhook_url + "user.get?ID=1", json={"ID": 2}, timeout=10)
    assert [user["ID"] for user in response.json()["result"]] == ["2"]
    response = requests.post(portal.webhook_url + "user.get?ID=1", json={}, timeout=10)
    assert [user["ID"] for user in response.json()["result"]] == ["1"]


def test_broken_json_means_no_parameters(portal: RunningBitrix24) -> None:
    response = requests.post(portal.webhook_url + "user.add", data='{"EMAIL": "x@example.com",',
                             headers={"Content-Type": "application/json"}, timeout=10)
    assert response.status_code == 400
    assert response.json()["error_description"] == "no_extranet_field"  # failed on missing fields, not parsing


def test_get_query_appendix_a1(portal: RunningBitrix24) -> None:
    hook(portal, "users", [{"NAME": f"U{i}", "EMAIL": f"u{i}@example.com", "UF_DEPARTMENT": [1]} for i in range(3)])
    response = requests.get(portal.webhook_url + "user.get.json?FILTER[>ID]=2&FILTER[ACTIVE]=Y&SORT=ID&ORDER=ASC"
                            "&start=-1", timeout=10).json()
    assert [user["ID"] for user in response["result"]] == ["3", "4"]
    assert response["total"] == 0 and "next" not in response


def test_list_paging_of_fifty(portal: RunningBitrix24) -> None:
    hook(portal, "users", [{"NAME": f"U{i}", "EMAIL": f"p{i}@example.com", "UF_DEPARTMENT": [1]} for i in range(119)])
    first = call(portal, "user.get").json()
    assert (len(first["result"]), first["next"], first["total"]) == (50, 50, 120)
    last = call(portal, "user.get", start=100).json()
    assert (len(last["result"]), last["total"]) == (20, 120) and "next" not in last
    garbage = call(portal, "user.get", start="abc").json()
    assert garbage["result"][0]["ID"] == "1"  # intval("abc") == 0


def test_php_empty_array_is_a_json_list(portal: RunningBitrix24) -> None:
    assert result(portal, "user.get", FILTER={"EMAIL": "nobody@example.com"}) == []


def test_oauth_auth_param_access_token_and_bearer(portal: RunningBitrix24) -> None:
    app = hook(portal, "apps", {"handler_url": "http://127.0.0.1:9/app", "install_url": "http://127.0.0.1:9/i",
                                "scopes": ["user"]})
    token = hook(portal, "tokens", {"client_id": app["client_id"], "user_id": 1})["access_token"]
    rest = portal.url + "/rest/"
    assert requests.post(rest + "user.current.json", json={"auth": token}, timeout=10).json()["result"]["ID"] == "1"
    assert requests.get(rest + f"user.current?access_token={token}", timeout=10).status_code == 200
    bearer = requests.post(rest + "user.current", headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert bearer.status_code == 200


def test_auth_errors(portal: RunningBitrix24) -> None:
    missing = requests.post(portal.url + "/rest/user.current", json={}, timeout=10)
    assert (missing.status_code, missing.json()["error"]) == (401, "NO_AUTH_FOUND")
    unknown = requests.post(portal.url + "/rest/user.current", json={"auth": "nope"}, timeout=10)
    assert (unknown.status_code, unknown.json()["error"]) == (401, "invalid_token")
    bad_hook = requests.post(portal.url + "/rest/1/wrongcode/user.current", timeout=10)
    assert (bad_hook.status_code, bad_hook.json()["error"]) == (401, "INVALID_CREDENTIALS")


def test_scope_and_app_context_enforced(portal: RunningBitrix24) -> None:
    limited = hook(portal, "webhooks", {"user_id": 1, "scopes": ["department"]})["url"]
    denied = requests.post(limited + "user.get", timeout=10)
    assert denied.status_code == 401 and denied.json() == {  # b24restdocs _includes/system-errors.md
        "error": "insufficient_scope",
        "error_description": "The request requires higher privileges than provided by the webhook token"}
    app_only = call(portal, "app.info")  # b24restdocs api-reference/common/system/app-info.md
    assert app_only.status_code == 400
    assert app_only.json() == {"error": "ACCESS_DENIED", "error_description": "Access denied! Application context required"}


def test_malformed_input_is_a_clear_error_not_500(portal: RunningBitrix24) -> None:
    response = call(portal, "department.add", NAME="X", PARENT={"nested": "object"})
    assert response.status_code == 400 and response.json()["error"]
    assert requests.post(portal.url + "/_emulator/users", data="{", timeout=10).status_code == 400
