"""Fault injection, counters, reset and the state file (docs/architecture.md test hooks)."""
from __future__ import annotations

from pathlib import Path

import pytest
import requests

from emulators.bitrix24 import RunningBitrix24, serve
from tests.emulators.bitrix24.bp_fixtures import Rest, bpt_data
from tests.emulators.bitrix24.conftest import call, hook, result


def test_fault_on_the_kth_call_for_a_method(portal: RunningBitrix24) -> None:
    hook(portal, "faults", {"on_call": 2, "method": "server.time", "status": 500})
    statuses = [call(portal, "server.time").status_code for _ in range(3)]
    assert statuses == [200, 500, 200]
    assert call(portal, "user.current").status_code == 200


def test_html_gateway_page(portal: RunningBitrix24) -> None:
    hook(portal, "faults", {"kind": "html", "status": 502, "rate": 1.0})
    response = call(portal, "user.current")
    assert response.status_code == 502 and response.headers["Content-Type"].startswith("text/html")
    requests.delete(f"{portal.url}/_emulator/faults", timeout=10)
    assert call(portal, "user.current").status_code == 200


def test_connection_reset(portal: RunningBitrix24) -> None:
    hook(portal, "faults", {"kind": "reset", "on_call": 1})
    with pytest.raises(requests.ConnectionError):
        call(portal, "user.current")


def test_fault_after_execution_is_ambiguous_for_the_client(portal: RunningBitrix24) -> None:
    hook(portal, "faults", {"kind": "html", "status": 504, "method": "user.add", "on_call": 1, "after": True})
    assert call(portal, "user.add", EMAIL="ghost@example.com", UF_DEPARTMENT=[1]).status_code == 504
    assert len(result(portal, "user.get", FILTER={"EMAIL": "ghost@example.com"})) == 1  # it was written


def test_bad_fault_spec_is_rejected(portal: RunningBitrix24) -> None:
    response = requests.post(f"{portal.url}/_emulator/faults", json={"kind": "meteor", "rate": 1}, timeout=10)
    assert response.status_code == 400 and "kind" in response.json()["error"]


def test_counters_and_reset(portal: RunningBitrix24) -> None:
    call(portal, "batch", cmd={"a": "user.get?ID=1", "b": "user.get?ID=1"})
    counters = hook(portal, "counters", http_method="GET")
    assert counters["requests"] == 1 and counters["by_method"]["user.get"]["calls"] == 2
    assert counters["by_method"]["user.get"]["operating_s"] == pytest.approx(0.04)
    hook(portal, "users", {"NAME": "X", "EMAIL": "x@example.com"})
    hook(portal, "reset")
    assert [user["ID"] for user in result(portal, "user.get")] == ["1"]
    assert hook(portal, "counters", http_method="GET")["requests"] == 1


def test_state_file_survives_a_restart(tmp_path: Path) -> None:
    state_file = str(tmp_path / "portal.json")
    first = serve(port=0, state_file=state_file, seed=7)
    user_id = result(first, "user.add", EMAIL="keep@example.com", UF_DEPARTMENT=[1], XML_ID="x-1")
    app = hook(first, "apps", {"handler_url": "http://127.0.0.1:9/app", "install_url": "http://127.0.0.1:9/i"})
    member_id, webhook = first.member_id, first.webhook_url.split("/rest/")[1]
    first.stop()
    second = serve(port=0, state_file=state_file, seed=7)
    try:
        assert second.member_id == member_id and second.webhook_url.endswith(webhook)
        [user] = result(second, "user.get", FILTER={"XML_ID": "x-1"})
        assert user["ID"] == str(user_id)
        assert call(second, "user.add", EMAIL="keep@example.com", UF_DEPARTMENT=[1]).status_code == 400
        assert app["client_id"] in {row["client_id"] for row in hook(second, "apps", http_method="GET")}
    finally:
        second.stop()


def _app_client(portal: RunningBitrix24) -> Rest:
    app = hook(portal, "apps", {"handler_url": "http://127.0.0.1:9/app", "install_url": "http://127.0.0.1:9/i",
                                "scopes": ["bizproc", "lists"]})
    hook(portal, f"apps/{app['client_id']}/install-finish")
    return Rest(portal.url, hook(portal, "tokens", {"client_id": app["client_id"], "user_id": 1})["access_token"])


def test_state_file_keeps_lists_templates_and_activities(tmp_path: Path) -> None:
    state_file = str(tmp_path / "portal.json")
    first = serve(port=0, state_file=state_file)
    client = _app_client(first)
    common = {"IBLOCK_TYPE_ID": "bitrix_processes", "IBLOCK_CODE": "vacation"}
    iblock_id = client.result("lists.add", **common, FIELDS={"NAME": "Отпуска", "BIZPROC": "Y"})
    days = client.result("lists.field.add", **common, FIELDS={"NAME": "Дней", "TYPE": "N", "CODE": "DAYS"})
    client.result("lists.element.add", **common, ELEMENT_CODE="r1", FIELDS={"NAME": "Заявка", days: "14"})
    tree = [{"Type": "SequentialWorkflowActivity", "Name": "Template", "Children": []}]
    template_id = client.result("bizproc.workflow.template.add", NAME="Отпуск", TEMPLATE_DATA=bpt_data(tree),
                                DOCUMENT_TYPE=["lists", "BizprocDocument", f"iblock_{iblock_id}"])
    client.result("bizproc.activity.add", CODE="balance", HANDLER="http://127.0.0.1:9/act", NAME="Остаток")
    first.stop()
    second = serve(port=0, state_file=state_file)
    try:
        client = Rest(second.url, client.access_token)
        [row] = client.result("lists.element.get", **common, SELECT=["NAME", days])
        assert row["NAME"] == "Заявка" and list(row[days].values()) == ["14"]
        assert client.result("lists.field.add", **common, FIELDS={"NAME": "Итог", "TYPE": "S", "CODE": "X"}) != days
        assert client.result("bizproc.workflow.template.list", SELECT=["ID", "NAME"]) == [
            {"ID": template_id, "NAME": "Отпуск"}]
        assert client.result("bizproc.activity.list") == ["balance"]
    finally:
        second.stop()
