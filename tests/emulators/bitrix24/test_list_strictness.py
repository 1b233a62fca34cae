"""List methods filter, order and shape rows as the REST documentation says (b24restdocs api-reference)."""
from __future__ import annotations

import requests

from emulators.bitrix24 import RunningBitrix24
from tests.emulators.bitrix24.conftest import call, hook, result


def test_user_get_drops_unknown_filter_keys(portal: RunningBitrix24) -> None:
    hook(portal, "users", [{"NAME": f"N{n}", "EMAIL": f"u{n}@example.org", "UF_DEPARTMENT": [1]} for n in range(3)])
    everyone = result(portal, "user.get", FILTER={"NO_SUCH_FIELD": "x"})
    assert len(everyone) == 4  # an unknown key filters nothing: on a portal it would reach every user
    assert [row["EMAIL"] for row in result(portal, "user.get", FILTER={"EMAIL": "u1@example.org", "BOGUS": 1})] == [
        "u1@example.org"]
    assert len(result(portal, "user.get", NOT_A_FIELD="x")) == 4  # top-level filter keys alike


def test_user_rows_leave_out_unset_fields(portal: RunningBitrix24) -> None:
    user_id = hook(portal, "users", {"NAME": "Без отчества", "EMAIL": "n@example.org", "UF_DEPARTMENT": [1]})["ID"]
    [row] = result(portal, "user.get", ID=user_id)
    assert "SECOND_NAME" not in row and "XML_ID" not in row and row["NAME"] == "Без отчества"


def test_sonet_group_get_orders_by_id_desc_and_drops_unknown_keys(portal: RunningBitrix24) -> None:
    first = result(portal, "sonet_group.create", NAME="Первая")
    second = result(portal, "sonet_group.create", NAME="Вторая", SITE_ID=["s1", "co"])
    rows = result(portal, "sonet_group.get")
    assert [row["ID"] for row in rows] == [str(second), str(first)]  # default ORDER ID DESC
    assert rows[0]["SITE_ID"] == "s1" and rows[0]["IS_EXTRANET"] == "Y"
    assert len(result(portal, "sonet_group.get", FILTER={"UNKNOWN": "x"})) == 2
    assert [row["ID"] for row in result(portal, "sonet_group.get", FILTER={"><ID": [first, first]})] == [str(first)]
    assert [row["ID"] for row in result(portal, "sonet_group.get", FILTER={"IS_EXTRANET": "N"})] == [str(first)]


def test_sonet_group_user_get_errors(portal: RunningBitrix24) -> None:
    assert call(portal, "sonet_group.user.get", ID="x").json() == {
        "error": "", "error_description": "Wrong socialnetwork group ID"}
    assert call(portal, "sonet_group.user.get", ID=999).json()["error_description"] == "Socialnetwork group not found"
    private = result(portal, "sonet_group.create", NAME="Закрытая", VISIBLE="N")
    outsider = hook(portal, "users", {"NAME": "Чужой", "EMAIL": "o@example.org", "UF_DEPARTMENT": [1]})["ID"]
    url = hook(portal, "webhooks", {"user_id": outsider})["url"]

    hidden = requests.post(url + "sonet_group.user.get", json={"ID": private}, timeout=10).json()
    assert hidden == {"error": "", "error_description": "Socialnetwork group not found"}


def test_department_get_filters_only_its_fields(portal: RunningBitrix24) -> None:
    child = result(portal, "department.add", NAME="Склад", PARENT=1)
    assert len(result(portal, "department.get", UNKNOWN="x")) == 2
    assert [row["ID"] for row in result(portal, "department.get", PARENT=1, sort="NAME", order="DESC")] == [str(child)]


def test_app_only_methods_refuse_webhooks_with_wrong_auth_type(portal: RunningBitrix24) -> None:
    refused = call(portal, "placement.get")
    assert refused.status_code == 403 and refused.json()["error"] == "WRONG_AUTH_TYPE"


def test_placement_list_and_bind_follow_the_app_scopes(portal: RunningBitrix24) -> None:
    app = hook(portal, "apps", {"handler_url": "http://127.0.0.1:9/app", "install_url": "http://127.0.0.1:9/i",
                                "scopes": ["placement", "user"]})
    token = hook(portal, "tokens", {"client_id": app["client_id"], "user_id": 1})["access_token"]

    def rest(method: str, **params: object) -> dict:
        return requests.post(f"{portal.url}/rest/{method}", json={"auth": token, **params}, timeout=10).json()

    mine = rest("placement.list")["result"]
    assert "REST_APP_URI" in mine and "LEFT_MENU" in mine and "SONET_GROUP_DETAIL_TAB" not in mine
    assert rest("placement.list", SCOPE="sonet_group")["result"] == ["SONET_GROUP_DETAIL_TAB"]
    assert "SONET_GROUP_DETAIL_TAB" in rest("placement.list", FULL=True)["result"]
    refused = rest("placement.bind", PLACEMENT="SONET_GROUP_DETAIL_TAB", HANDLER="http://127.0.0.1:9/tab")
    assert refused["error"] == "ERROR_PLACEMENT_NOT_FOUND"  # the app has no sonet_group scope
    assert rest("placement.bind", PLACEMENT="LEFT_MENU", HANDLER="http://127.0.0.1:9/menu", TITLE="Кабинет")["result"]
