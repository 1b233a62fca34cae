"""``batch``: halt, 50-command cap, references, sections, PHP array quirk
(REST docs: settings/how-to-call-rest-api/batch.md)."""
from __future__ import annotations

import requests

from emulators.bitrix24 import RunningBitrix24
from tests.emulators.bitrix24.conftest import call, hook, result


def _seed(portal: RunningBitrix24, count: int) -> None:
    hook(portal, "users", [{"NAME": f"B{i}", "EMAIL": f"b{i}@example.com", "UF_DEPARTMENT": [1]} for i in range(count)])


def test_references_to_earlier_results(portal: RunningBitrix24) -> None:
    _seed(portal, 2)
    body = result(portal, "batch", halt=0, cmd={
        "me": "user.current", "list": "user.get?FILTER[>ID]=1&start=-1",
        "second": "user.get?ID=$result[list][1][ID]", "text": "user.search?FIND=$result[me][LAST_NAME] Портала"})
    assert body["result"]["second"][0]["ID"] == "3"
    assert body["result_total"] == {"list": 0, "second": 1, "text": 1}  # embedded reference resolved
    assert body["result_error"] == [] and body["result_next"] == []
    assert set(body["result_time"]) == {"me", "list", "second", "text"}


def test_halt_uses_php_bool_semantics(portal: RunningBitrix24) -> None:
    commands = {"bad": "no.method", "good": "user.current"}
    assert "good" not in result(portal, "batch", halt=1, cmd=commands)["result"]
    assert "good" in result(portal, "batch", halt="0", cmd=commands)["result"]
    form = "halt=false&cmd[bad]=no.method&cmd[good]=user.current"  # "false" is a non-empty string: true
    response = requests.post(portal.webhook_url + "batch", data=form,
                             headers={"Content-Type": "application/x-www-form-urlencoded"}, timeout=10)
    assert response.json()["result"]["result"] == []


def test_more_than_fifty_commands_fail_individually(portal: RunningBitrix24) -> None:
    body = result(portal, "batch", cmd={f"c{i}": "user.current" for i in range(53)})
    assert len(body["result"]) == 50
    assert body["result_error"] == {f"c{i}": {"error": "ERROR_BATCH_LENGTH_EXCEEDED",
                                              "error_description": "Max batch length exceeded"} for i in (50, 51, 52)}


def test_numeric_labels_give_list_shaped_sections(portal: RunningBitrix24) -> None:
    body = result(portal, "batch", cmd=["user.current", "no.method", "user.get?ID=1"])
    assert isinstance(body["result"], dict) and set(body["result"]) == {"0", "2"}
    assert body["result_error"] == {"1": {"error": "ERROR_METHOD_NOT_FOUND", "error_description": "Method not found!"}}
    only_ok = result(portal, "batch", cmd={"0": "user.current", "1": "server.time"})
    assert isinstance(only_ok["result"], list) and isinstance(only_ok["result_time"], list)


def test_nested_batch_not_allowed_and_non_strings_skipped(portal: RunningBitrix24) -> None:
    body = result(portal, "batch", cmd={"inner": "batch?cmd[a]=user.current", "odd": 5, "ok": "user.current"})
    assert body["result_error"]["inner"]["error"] == "ERROR_BATCH_METHOD_NOT_ALLOWED"
    assert set(body["result"]) == {"ok"} and "odd" not in body["result_error"]


def test_form_body_double_encoding_appendix_a6(portal: RunningBitrix24) -> None:
    _seed(portal, 1)
    form = ("halt=0&cmd[a]=user.update%3FID%3D2%26WORK_POSITION%3DR%2526D"
            "&cmd[b]=user.get%3FID%3D%24result%5Ba%5D")
    response = requests.post(portal.webhook_url + "batch", data=form,
                             headers={"Content-Type": "application/x-www-form-urlencoded"}, timeout=10)
    assert response.status_code == 200
    assert response.json()["result"]["result"]["a"] is True
    assert result(portal, "user.get", ID=2)[0]["WORK_POSITION"] == "R&D"


def test_scope_errors_inside_batch_appendix_a8(portal: RunningBitrix24) -> None:
    limited = hook(portal, "webhooks", {"user_id": 1, "scopes": ["im"]})["url"]
    response = requests.post(limited + "batch", json={"cmd": {"get_user": "user.current",
                                                              "get_department": "department.get"}}, timeout=10)
    assert response.status_code == 200
    assert response.json()["result"] == {
        "result": [], "result_error": {"get_user": {"error": "insufficient_scope", "error_description": ""},
                                       "get_department": {"error": "insufficient_scope", "error_description": ""}},
        "result_total": [], "result_next": [], "result_time": []}


def test_batch_outer_time_operating_is_zero(portal: RunningBitrix24) -> None:
    body = call(portal, "batch", cmd={"a": "user.current"}).json()
    assert body["time"]["operating"] == 0
