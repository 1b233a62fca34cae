"""department.*, sonet_group.*, im.notify.*, disk.*, placement.*, app.option.* (REST docs: api-reference/)."""
from __future__ import annotations

import base64

import requests

from emulators.bitrix24 import RunningBitrix24
from tests.emulators.bitrix24.conftest import call, hook, result


def _app_token(portal: RunningBitrix24, scopes: list[str]) -> str:
    app = hook(portal, "apps", {"handler_url": "http://127.0.0.1:9/app", "install_url": "http://127.0.0.1:9/i",
                                "scopes": scopes})
    return hook(portal, "tokens", {"client_id": app["client_id"], "user_id": 1})["access_token"]


def _rest(portal: RunningBitrix24, token: str, method: str, **params: object) -> requests.Response:
    return requests.post(f"{portal.url}/rest/{method}", json={"auth": token, **params}, timeout=10)


def test_departments(portal: RunningBitrix24) -> None:
    child = result(portal, "department.add", NAME="Склад", PARENT=1, UF_HEAD=1)
    assert result(portal, "department.get", ID=child) == [{"ID": str(child), "NAME": "Склад", "SORT": 500,
                                                            "PARENT": "1", "UF_HEAD": "1"}]
    no_name = call(portal, "department.add", PARENT=1).json()
    assert no_name == {"error": "ERROR_CORE", "error_description": "The department name is not provided.<br>"}
    top = call(portal, "department.add", NAME="Второй корень").json()["error_description"]
    assert top == "There can only be one top-level department in the company structure"
    assert result(portal, "department.update", ID=child, NAME="Склад №1") is True
    assert [row["NAME"] for row in result(portal, "department.get", PARENT=1)] == ["Склад №1"]
    assert result(portal, "department.delete", ID=child) is True


def test_sonet_groups_and_members(portal: RunningBitrix24) -> None:
    group_id = result(portal, "sonet_group.create", NAME="Объект «Север»", SITE_ID=["s1", "co"])
    [group] = result(portal, "sonet_group.get", FILTER={"ID": group_id})
    assert group["IS_EXTRANET"] == "Y" and "INITIATE_PERMS" not in group
    member = hook(portal, "users", {"NAME": "Павел", "EMAIL": "pavel@example.com", "UF_DEPARTMENT": [1]})["ID"]
    assert result(portal, "sonet_group.user.add", GROUP_ID=group_id, USER_ID=[member, member]) == [member]
    assert result(portal, "sonet_group.user.get", ID=group_id) == [{"USER_ID": "1", "ROLE": "A"},
                                                                    {"USER_ID": str(member), "ROLE": "K"}]
    assert result(portal, "sonet_group.user.update", GROUP_ID=group_id, USER_ID=[1, member], ROLE="E") == [member]
    assert result(portal, "sonet_group.user.delete", GROUP_ID=group_id, USER_ID=[1, member]) == [member]
    missing = call(portal, "sonet_group.update", GROUP_ID=999, NAME="x").json()
    assert missing == {"error": "", "error_description": "Socialnetwork group not found"}
    assert call(portal, "sonet_group.create").json()["error_description"] == "Incorrect input data"
    assert result(portal, "sonet_group.user.groups")[0]["IS_EXTRANET"] == "Y"
    assert result(portal, "sonet_group.delete", GROUP_ID=group_id) is True


def test_notifications_are_stored(portal: RunningBitrix24) -> None:
    token = _app_token(portal, ["im"])
    first = _rest(portal, token, "im.notify.system.add", USER_ID=1, MESSAGE="Заявка согласована", TAG="req-1").json()
    _rest(portal, token, "im.notify.system.add", USER_ID=1, MESSAGE="Заявка согласована повторно", TAG="req-1")
    assert isinstance(first["result"], int)
    assert _rest(portal, token, "im.notify.system.add", USER_ID="", MESSAGE="x").json()["error"] == "USER_ID_EMPTY"
    assert _rest(portal, token, "im.notify.system.add", USER_ID=1, MESSAGE=" ").json()["error"] == "MESSAGE_EMPTY"
    webhook = call(portal, "im.notify.system.add", USER_ID=1, MESSAGE="x").json()
    assert webhook["error"] == "WRONG_AUTH_TYPE"
    assert isinstance(result(portal, "im.notify.personal.add", USER_ID=1, MESSAGE="Привет"), int)
    stored = hook(portal, "notifications", http_method="GET")
    assert [(row["TYPE"], row["MESSAGE"]) for row in stored] == [("system", "Заявка согласована повторно"),
                                                                  ("personal", "Привет")]


def test_disk_upload_and_download(portal: RunningBitrix24) -> None:
    token = _app_token(portal, ["disk"])
    storage = _rest(portal, token, "disk.storage.getforapp").json()["result"]
    assert storage["ENTITY_TYPE"] == "restapp"
    root = storage["ROOT_OBJECT_ID"]
    folder = _rest(portal, token, "disk.folder.addsubfolder", id=root, data={"NAME": "Договоры"}).json()["result"]
    content = base64.b64encode("Договор №1".encode()).decode()
    uploaded = _rest(portal, token, "disk.folder.uploadfile", id=folder["ID"], data={"NAME": "d.txt"},
                     fileContent=["d.txt", content]).json()["result"]
    assert uploaded["SIZE"] == str(len("Договор №1".encode())) and uploaded["PARENT_ID"] == folder["ID"]
    clash = _rest(portal, token, "disk.folder.uploadfile", id=folder["ID"], data={"NAME": "d.txt"},
                  fileContent=["d.txt", content], generateUniqueName=True).json()["result"]
    assert clash["NAME"] == "d (1).txt"
    children = _rest(portal, token, "disk.folder.getchildren", id=folder["ID"]).json()
    assert children["total"] == 2
    download = requests.get(uploaded["DOWNLOAD_URL"], timeout=10)
    assert download.content == "Договор №1".encode()
    cyrillic = _rest(portal, token, "disk.folder.uploadfile", id=folder["ID"], data={"NAME": "Справка 1.pdf"},
                     fileContent=["Справка 1.pdf", content]).json()["result"]
    disposition = requests.get(cyrillic["DOWNLOAD_URL"], timeout=10).headers["Content-Disposition"]
    assert disposition == "attachment; filename*=UTF-8''%D0%A1%D0%BF%D1%80%D0%B0%D0%B2%D0%BA%D0%B0%201.pdf"
    assert _rest(portal, token, "disk.file.get", id=uploaded["ID"]).json()["result"]["NAME"] == "d.txt"
    bad = _rest(portal, token, "disk.folder.uploadfile", id=folder["ID"], fileContent=["x", "@@@"]).json()
    assert bad["error"] == "ERROR_ARGUMENT"


def test_folder_shared_to_a_user(portal: RunningBitrix24) -> None:
    token = _app_token(portal, ["disk"])
    root = _rest(portal, token, "disk.storage.getforapp").json()["result"]["ROOT_OBJECT_ID"]
    folder = _rest(portal, token, "disk.folder.addsubfolder", id=root, data={"NAME": "Справки"}).json()["result"]
    employee = hook(portal, "users", {"NAME": "Ира", "EMAIL": "ira@example.com"})["ID"]
    shared = _rest(portal, token, "disk.folder.shareToUser", id=folder["ID"], userId=employee,
                   taskName="disk_access_read").json()
    assert shared["result"] is True
    [row] = [r for r in hook(portal, "state", http_method="GET")["tables"]["disk_objects"].values()
             if str(r["ID"]) == folder["ID"]]
    assert row["SHARED_WITH"] == {str(employee): "disk_access_read"}
    assert _rest(portal, token, "disk.folder.shareToUser", id=folder["ID"], userId=employee,
                 taskName="disk_access_owner").json()["error"] == "ACCESS_DENIED"
    assert _rest(portal, token, "disk.folder.shareToUser", id=folder["ID"],
                 taskName="disk_access_read").json()["error"] == "ERROR_ARGUMENT"
    assert _rest(portal, token, "disk.folder.shareToUser", id=999999, userId=employee,
                 taskName="disk_access_read").json()["error"] == "ERROR_NOT_FOUND"


def test_group_storage_listed(portal: RunningBitrix24) -> None:
    group_id = result(portal, "sonet_group.create", NAME="Объект")
    storages = result(portal, "disk.storage.getlist", filter={"ENTITY_TYPE": "group", "ENTITY_ID": group_id})
    assert [storage["NAME"] for storage in storages] == ["Объект"]


def test_placements_and_app_options(portal: RunningBitrix24) -> None:
    token = _app_token(portal, ["placement"])
    assert _rest(portal, token, "placement.bind", PLACEMENT="REST_APP_URI", HANDLER="http://127.0.0.1:9/p").json()
    missing = _rest(portal, token, "placement.bind", PLACEMENT="REST_APP_URI").json()
    assert (missing["error"], missing["argument"]) == ("ERROR_ARGUMENT", "HANDLER")
    assert [row["placement"] for row in _rest(portal, token, "placement.get").json()["result"]] == ["REST_APP_URI"]
    assert _rest(portal, token, "placement.unbind", PLACEMENT="REST_APP_URI").json()["result"] == {"count": 1}
    assert _rest(portal, token, "app.option.get").json()["result"] == []  # an empty PHP array
    assert _rest(portal, token, "app.option.set", options={"sync": {"enabled": True}, "n": 5}).json()["result"]
    assert _rest(portal, token, "app.option.get", option="sync").json()["result"] == {"enabled": True}
    empty = _rest(portal, token, "app.option.set", options={}).json()
    assert empty["error_description"] == "Argument 'options' is null or empty"


def test_profile_scope_and_methods(portal: RunningBitrix24) -> None:
    token = _app_token(portal, ["user"])
    assert _rest(portal, token, "profile").json()["result"]["ADMIN"] is True
    assert _rest(portal, token, "scope").json()["result"] == ["user"]
    names = _rest(portal, token, "methods").json()["result"]
    assert "user.add" in names and "disk.file.get" not in names
