"""user.*: invitation, extranet, visibility, FILTER quirk, UF fields (REST docs: api-reference/user/)."""
from __future__ import annotations

import requests

from emulators.bitrix24 import RunningBitrix24
from tests.emulators.bitrix24.conftest import call, hook, result


def _error(portal: RunningBitrix24, method: str, **params: object) -> dict:
    response = call(portal, method, **params)
    assert response.status_code == 400, response.text
    return response.json()


def test_user_add_is_an_invitation(portal: RunningBitrix24) -> None:
    user_id = result(portal, "user.add", EMAIL="ivan@example.com", NAME="Иван", UF_DEPARTMENT=5, XML_ID="1c-42",
                     UNKNOWN_FIELD="dropped")
    assert isinstance(user_id, int)
    stored = hook(portal, "state", http_method="GET")["tables"]["users"][str(user_id)]
    assert stored["CONFIRM_CODE"] and stored["LAST_LOGIN"] is None and "UNKNOWN_FIELD" not in stored
    [shown] = result(portal, "user.get", FILTER={"XML_ID": "1c-42"})
    assert (shown["ACTIVE"], shown["UF_DEPARTMENT"], shown["ID"]) == (True, [5], str(user_id))
    assert "LAST_LOGIN" not in shown  # NULL fields are left out of user.get rows (user-get.md example)
    hook(portal, f"users/{user_id}/accept-invite")
    assert result(portal, "user.get", ID=user_id)[0]["LAST_LOGIN"] is not None


def test_user_add_validation_messages(portal: RunningBitrix24) -> None:
    assert _error(portal, "user.add", EMAIL="a@example.com")["error_description"] == "no_extranet_field"
    assert _error(portal, "user.add", EMAIL="broken", UF_DEPARTMENT=[1])["error_description"] == "wrong_email"
    duplicate = _error(portal, "user.add", EMAIL="ADMIN@portal.example", UF_DEPARTMENT=[1])
    assert duplicate == {"error": "ERROR_ARGUMENT", "error_description": "User with this email already exists",
                         "argument": "EMAIL"}
    extranet = _error(portal, "user.add", EMAIL="guest@partner.example", EXTRANET="Y")
    assert extranet == {"error": "ERROR_GROUPID", "error_description": "Group code not specified"}
    assert _error(portal, "user.add", EMAIL="g@partner.example", EXTRANET="Y", SONET_GROUP_ID=[99])["error"] == \
        "ERROR_NO_GROUP"


def test_extranet_visibility_and_admin_mode(portal: RunningBitrix24) -> None:
    employee = hook(portal, "users", {"NAME": "Сотрудник", "EMAIL": "e@example.com", "UF_DEPARTMENT": [1]})["ID"]
    group = hook(portal, "groups", {"NAME": "Партнёры", "OWNER_ID": 1})
    outsider_group = hook(portal, "groups", {"NAME": "Чужая", "OWNER_ID": employee})
    guest = result(portal, "user.add", EMAIL="guest@partner.example", NAME="Ann", EXTRANET="Y",
                   SONET_GROUP_ID=[int(group["ID"])], UF_DEPARTMENT=[1])
    hook(portal, f"users/{guest}/accept-invite")
    other_guest = hook(portal, "users", {"NAME": "Bob", "EMAIL": "bob@partner.example", "EXTRANET": "Y",
                                         "SONET_GROUP_ID": [int(outsider_group["ID"])]})["ID"]
    hook(portal, "users", {"NAME": "Eve", "EMAIL": "eve@partner.example", "EXTRANET": "Y"})
    visible = {user["ID"] for user in result(portal, "user.get")}
    assert visible == {"1", str(employee), str(guest)}  # the admin shares the guest's group, not Bob's
    everyone = {user["ID"] for user in result(portal, "user.get", ADMIN_MODE=True)}
    assert {str(other_guest), str(guest)} <= everyone and len(everyone) == 5
    guest_view = result(portal, "user.get", FILTER={"USER_TYPE": "extranet"}, ADMIN_MODE="Y")
    assert all(user["UF_DEPARTMENT"] == [] for user in guest_view)
    assert result(portal, "sonet_group.get", GROUP_ID=group["ID"])[0]["IS_EXTRANET"] == "Y"  # bound by the guest


def test_filter_replaces_top_level_params_and_operators(portal: RunningBitrix24) -> None:
    hook(portal, "users", [{"NAME": f"Петр{i}", "LAST_NAME": "Сидоров" if i % 2 else "Иванов",
                            "EMAIL": f"p{i}@example.com", "UF_DEPARTMENT": [1 + i % 3]} for i in range(6)])
    assert [user["ID"] for user in result(portal, "user.get", ID=3, FILTER={"ID": 4})] == ["4"]
    assert [user["ID"] for user in result(portal, "user.get", ID=3)] == ["3"]
    odd = result(portal, "user.get", FILTER={"LAST_NAME": "Сидоров", ">=ID": 3}, SORT="ID", ORDER="DESC")
    assert [user["ID"] for user in odd] == ["7", "5", "3"]
    assert [user["ID"] for user in result(portal, "user.get", FILTER={"@ID": [2, 6], "!ID": 6})] == ["2"]
    assert len(result(portal, "user.get", FILTER={"%EMAIL": "P1@"})) == 1
    assert len(result(portal, "user.get", FILTER={"UF_DEPARTMENT": 2})) == 2
    assert result(portal, "user.get", FILTER={"ACTIVE": "True"}) == []  # FB24 #265: Python booleans match nothing
    assert len(result(portal, "user.get", FILTER={"ACTIVE": "Y"})) == 7


def test_user_update_and_dismissal(portal: RunningBitrix24) -> None:
    user_id = hook(portal, "users", {"NAME": "Олег", "EMAIL": "oleg@example.com", "UF_DEPARTMENT": [1]})["ID"]
    assert result(portal, "user.update", ID=user_id, WORK_POSITION="Инженер", ACTIVE="N") is True
    [user] = result(portal, "user.get", ID=user_id)
    assert (user["WORK_POSITION"], user["ACTIVE"]) == ("Инженер", False)
    # non-empty string: active [not in the docs: core modules/rest/lib/api/user.php]
    assert result(portal, "user.update", ID=user_id, ACTIVE="false") is True
    assert result(portal, "user.get", ID=user_id)[0]["ACTIVE"] is True
    clash = call(portal, "user.update", ID=user_id, EMAIL="admin@portal.example").json()
    assert clash["error_description"] == "User with this email already exists"


def test_user_fields_and_userfields(portal: RunningBitrix24) -> None:
    field_id = result(portal, "user.userfield.add", fields={"FIELD_NAME": "SNILS_HASH", "USER_TYPE_ID": "string"})
    [field] = result(portal, "user.userfield.list", filter={"FIELD_NAME": "UF_USR_SNILS_HASH"})
    assert field["ID"] == str(field_id)
    user_id = result(portal, "user.add", EMAIL="uf@example.com", UF_DEPARTMENT=[1], UF_USR_SNILS_HASH="abc")
    assert result(portal, "user.get", ID=user_id)[0]["UF_USR_SNILS_HASH"] == "abc"
    assert "UF_USR_SNILS_HASH" in result(portal, "user.fields")
    assert result(portal, "user.userfield.delete", id=field_id) is True
    assert "UF_USR_SNILS_HASH" not in result(portal, "user.get", ID=user_id)[0]


def test_user_current_and_search(portal: RunningBitrix24) -> None:
    hook(portal, "users", {"NAME": "Мария", "LAST_NAME": "Кузнецова", "EMAIL": "m@example.com", "UF_DEPARTMENT": [1]})
    assert result(portal, "user.current")["ID"] == "1"
    assert [user["NAME"] for user in result(portal, "user.search", FIND="кузнец")] == ["Мария"]


def test_legacy_error_format_switch() -> None:
    from emulators.bitrix24 import serve
    running = serve(port=0, legacy_user_errors=True)
    try:
        body = call(running, "user.add", EMAIL="x", UF_DEPARTMENT=[1]).json()
        assert body == {"error": "", "error_description": "wrong_email"}
    finally:
        running.stop()


def test_sign_in_state_is_visible_through_user_get(portal: RunningBitrix24) -> None:
    """Never signed in / invitation not accepted: no LAST_LOGIN (user-get.md, user/index.md)."""
    invited = hook(portal, "users", {"NAME": "Ира", "EMAIL": "ira@example.org", "UF_DEPARTMENT": [1], "INVITED": True})
    quiet = hook(portal, "users", {"NAME": "Тим", "EMAIL": "tim@example.org", "UF_DEPARTMENT": [1], "LAST_LOGIN": None})
    for user_id in (invited["ID"], quiet["ID"]):
        [row] = result(portal, "user.get", ID=user_id)
        assert "LAST_LOGIN" not in row and row["DATE_REGISTER"] and row["IS_ONLINE"] == "N"
    assert requests.post(f"{portal.url}/_emulator/users/{invited['ID']}/login", timeout=10).status_code == 409
    signed = hook(portal, f"users/{quiet['ID']}/login")
    assert signed["LAST_LOGIN"] and signed["IS_ONLINE"] == "Y" and signed["LAST_ACTIVITY_DATE"] == signed["LAST_LOGIN"]
    assert [row["ID"] for row in result(portal, "user.get", FILTER={"IS_ONLINE": "Y", "ID": quiet["ID"]})] == [
        str(quiet["ID"])]
    hook(portal, f"users/{invited['ID']}/accept-invite")
    [row] = result(portal, "user.get", ID=invited["ID"])
    assert row["LAST_LOGIN"]
