"""bizproc.workflow.template.*, bizproc.activity.* / robot.* validation over HTTP.

REST docs: api-reference/bizproc/.
"""
from __future__ import annotations

from pathlib import Path

import requests

from tests.emulators.bitrix24.bp_fixtures import BpWorld, bp_world, bpt_data, unique  # noqa: F401 - fixture

SAMPLE = (Path(__file__).parent / "bp_data" / "docs_sample.bpt.b64").read_text().strip()
MESSAGE_TREE = [{"Type": "SequentialWorkflowActivity", "Name": "Template", "Children": [
    {"Type": "SocNetMessageActivity", "Name": "A1", "Properties": {
        "MessageText": "Привет", "MessageUserFrom": ["user_1"], "MessageUserTo": ["author"]}}]}]


def doc_type(iblock_id: int) -> list[str]:
    return ["lists", "BizprocDocument", f"iblock_{iblock_id}"]


def test_docs_sample_installs_and_lists_decoded(bp_world: BpWorld) -> None:
    iblock_id = bp_world.new_list()
    template_id = bp_world.admin.result("bizproc.workflow.template.add", DOCUMENT_TYPE=doc_type(iblock_id),
                                        NAME="App template", AUTO_EXECUTE=3, TEMPLATE_DATA=["bp-379.bpt", SAMPLE])
    rows = bp_world.admin.result("bizproc.workflow.template.list", SELECT=["ID", "TEMPLATE", "SYSTEM_CODE"],
                                 FILTER={"ID": template_id})
    [row] = rows
    assert row["TEMPLATE"][0]["Children"][0]["Type"] == "SocNetMessageActivity"
    assert row["SYSTEM_CODE"].startswith("rest_app_")
    # default SELECT is ID only (REST docs: api-reference/bizproc/template/bizproc-workflow-template-list.md)
    assert bp_world.admin.result("bizproc.workflow.template.list", FILTER={"ID": template_id}) == [
        {"ID": template_id}]


def test_template_list_accepts_only_its_filter_operators(bp_world: BpWorld) -> None:
    """'' ! < <= > >=; any other prefix is no operator (the key names no field)
    [not in the docs: core modules/bizproc/lib/restservice.php]."""
    iblock_id = bp_world.new_list()
    ids = [bp_world.admin.result("bizproc.workflow.template.add", DOCUMENT_TYPE=doc_type(iblock_id), NAME=name,
                                 TEMPLATE_DATA=bpt_data(MESSAGE_TREE)) for name in ("Отпуск", "Командировка")]
    listed = lambda **filter_: [row["ID"] for row in bp_world.admin.result(  # noqa: E731
        "bizproc.workflow.template.list", FILTER=filter_ | {">=ID": ids[0]})]
    assert listed() == ids
    assert listed(**{">ID": ids[0]}) == ids[1:]
    assert listed(**{"!NAME": "отпуск"}) == ids[1:]
    assert listed(**{"%NAME": "Отп"}) == []
    assert listed(**{"@ID": ids}) == []


def test_template_add_validation_messages(bp_world: BpWorld) -> None:
    iblock_id = bp_world.new_list()
    plain = bp_world.new_list(bizproc=False)
    base = {"DOCUMENT_TYPE": doc_type(iblock_id), "NAME": "T", "TEMPLATE_DATA": bpt_data(MESSAGE_TREE)}
    failure = "ERROR_TEMPLATE_VALIDATION_FAILURE"
    add = lambda **changes: bp_world.admin.error("bizproc.workflow.template.add", **(base | changes))  # noqa: E731
    assert add(DOCUMENT_TYPE=doc_type(plain))[1:] == (failure, "Incorrect field DOCUMENT_TYPE!")
    assert add(DOCUMENT_TYPE=["crm", "CCrmDocumentDeal", "DEAL"])[2] == "Incorrect field DOCUMENT_TYPE!"
    assert add(NAME="")[1:] == (failure, "Empty activity code!")
    assert add(AUTO_EXECUTE="5")[2] == "Incorrect field AUTO_EXECUTE!"
    assert add(TEMPLATE_DATA="")[2] == "Incorrect field TEMPLATE_DATA!"
    assert add(TEMPLATE_DATA=["x.bpt", "bm90IGEgdGVtcGxhdGU="])[1:] == ("ERROR_ARGUMENT", "wrong data")
    unknown = [{"Type": "SequentialWorkflowActivity", "Name": "Template", "Children": [
        {"Type": "TeleportActivity", "Name": "A1"}]}]
    assert add(TEMPLATE_DATA=bpt_data(unknown))[2] == "Activity 'TeleportActivity' is not found"
    no_users = [{"Type": "SequentialWorkflowActivity", "Name": "Template", "Children": [
        {"Type": "ApproveActivity", "Name": "A1", "Properties": {"Name": "Согласуйте"}}]}]
    assert add(TEMPLATE_DATA=bpt_data(no_users))[2] == "ApproveActivity (A1): Property 'Users' is not specified"


def test_auto_execute_string_quirk_behind_the_strict_switch(bp_world: BpWorld) -> None:
    iblock_id = bp_world.new_list()
    base = {"DOCUMENT_TYPE": doc_type(iblock_id), "NAME": "T", "TEMPLATE_DATA": bpt_data(MESSAGE_TREE)}
    assert isinstance(bp_world.admin.result("bizproc.workflow.template.add", **base, AUTO_EXECUTE=1), int)
    requests.post(f"{bp_world.portal_url}/_emulator/bizproc/quirks", json={"strict_auto_execute": True}, timeout=10)
    try:
        assert bp_world.admin.error("bizproc.workflow.template.add", **base, AUTO_EXECUTE=1)[2] == (
            "Incorrect field AUTO_EXECUTE!")
        assert isinstance(bp_world.admin.result("bizproc.workflow.template.add", **base, AUTO_EXECUTE="1"), int)
    finally:
        requests.post(f"{bp_world.portal_url}/_emulator/bizproc/quirks", json={"strict_auto_execute": False},
                      timeout=10)


def test_document_fields_import_adds_missing_list_properties(bp_world: BpWorld) -> None:
    iblock_id = bp_world.new_list()
    fields = {"PROPERTY_APPROVING": {"Name": "Согласование", "Type": "select", "Options": {"x": "Идёт", "y": "Да"}},
              "NAME": {"Name": "Название", "Type": "string"}}
    bp_world.admin.result("bizproc.workflow.template.add", DOCUMENT_TYPE=doc_type(iblock_id), NAME="T",
                          TEMPLATE_DATA=bpt_data(MESSAGE_TREE, document_fields=fields))
    listed = bp_world.admin.result("lists.field.get", IBLOCK_TYPE_ID="bitrix_processes", IBLOCK_ID=iblock_id)
    [added] = [f for f in listed.values() if f.get("CODE") == "APPROVING"]
    assert added["TYPE"] == "L" and sorted(added["DISPLAY_VALUES_FORM"].values()) == ["Да", "Идёт"]


def test_template_ownership_update_and_delete(bp_world: BpWorld) -> None:
    iblock_id = bp_world.new_list()
    template_id = bp_world.admin.result("bizproc.workflow.template.add", DOCUMENT_TYPE=doc_type(iblock_id), NAME="T",
                                        TEMPLATE_DATA=bpt_data(MESSAGE_TREE))
    other = requests.post(f"{bp_world.portal_url}/_emulator/apps", timeout=10, json={
        "handler_url": "http://127.0.0.1:1/app", "install_url": "http://127.0.0.1:1/i", "scopes": ["bizproc"]}).json()
    token = requests.post(f"{bp_world.portal_url}/_emulator/tokens", timeout=10,
                          json={"client_id": other["client_id"], "user_id": 1}).json()["access_token"]
    stranger = type(bp_world.admin)(bp_world.portal_url, token)
    assert stranger.error("bizproc.workflow.template.update", ID=template_id, FIELDS={"NAME": "x"})[2] == (
        "You can update ONLY templates created by current application")
    assert stranger.error("bizproc.workflow.template.delete", ID=template_id)[2] == (
        "You can delete ONLY templates created by current application")
    assert bp_world.admin.error("bizproc.workflow.template.update", ID=template_id, FIELDS={})[2] == (
        "No fields to update.")
    assert bp_world.admin.error("bizproc.workflow.template.update", ID=999999, FIELDS={"NAME": "x"})[1:] == (
        "ERROR_TEMPLATE_NOT_FOUND", "Workflow template not found.")
    assert bp_world.admin.result("bizproc.workflow.template.update", ID=template_id, FIELDS={"NAME": "Новое"}) == (
        template_id)
    assert bp_world.admin.result("bizproc.workflow.template.delete", ID=template_id) is None
    assert bp_world.admin.result("bizproc.workflow.template.list", FILTER={"ID": template_id}) == []


def activity(bp_world: BpWorld, **changes: object) -> dict:
    return {"CODE": unique("act"), "HANDLER": f"{bp_world.handler.url}/act", "NAME": {"ru": "Шаг"},
            "PROPERTIES": {"email": {"Name": "E-mail", "Type": "string", "Required": "Y"}}} | changes


def test_activity_add_validation_messages(bp_world: BpWorld) -> None:
    failure = "ERROR_ACTIVITY_VALIDATION_FAILURE"
    add = lambda **changes: bp_world.admin.error("bizproc.activity.add", **activity(bp_world, **changes))  # noqa: E731
    assert add(CODE="")[1:] == (failure, "Empty activity code!")
    assert add(CODE="bad code!")[1:] == (failure, "Wrong activity code!")
    assert add(NAME="")[2] == "Empty activity NAME!"
    assert add(HANDLER="ftp://127.0.0.1/x")[1] == "ERROR_UNSUPPORTED_PROTOCOL"
    assert add(HANDLER="http://localhost/x")[1:] == ("ERROR_WRONG_HANDLER_URL", "Wrong handler URL")
    assert add(HANDLER="https://evil.example.com/x")[1:] == (
        "ERROR_HANDLER_URL_MATCH", "Handler URL host doesn't match application url")
    assert add(PROPERTIES="x")[2] == "Wrong properties array!"
    assert add(PROPERTIES={"1bad": {"Name": "x"}})[2] == "Wrong property key (1bad)!"
    assert add(PROPERTIES={"good": {"Type": "string"}})[2] == "Empty property NAME (good)!"
    assert add(DOCUMENT_TYPE=["crm", "CCrmDocumentDeal", "DEAL"])[2] == "Wrong activity DOCUMENT_TYPE!"
    assert add(FILTER="x")[2] == "Wrong activity FILTER!"
    robot = bp_world.admin.error("bizproc.robot.add", **activity(
        bp_world, PROPERTIES={"f": {"Name": "Файл", "Type": "file"}}))
    assert robot[2] == "Unsupported property type (file)!"


def test_activity_lifecycle_and_listing(bp_world: BpWorld) -> None:
    spec = activity(bp_world)
    assert bp_world.admin.result("bizproc.activity.add", **spec) is True
    assert bp_world.admin.error("bizproc.activity.add", **spec)[1:] == (
        "ERROR_ACTIVITY_ALREADY_INSTALLED", "Activity or Robot already installed!")
    assert spec["CODE"] in bp_world.admin.result("bizproc.activity.list")
    assert spec["CODE"] not in bp_world.admin.result("bizproc.robot.list")
    assert bp_world.admin.error("bizproc.activity.update", CODE=spec["CODE"], FIELDS={})[2] == "No fields to update"
    assert bp_world.admin.result("bizproc.activity.update", CODE=spec["CODE"], FIELDS={"NAME": "Другой"}) is True
    assert bp_world.admin.result("bizproc.activity.delete", CODE=spec["CODE"]) is True
    assert bp_world.admin.error("bizproc.activity.delete", CODE=spec["CODE"])[1] == "ERROR_ACTIVITY_NOT_FOUND"


def test_template_methods_need_an_app_and_an_admin(bp_world: BpWorld) -> None:
    employee = bp_world.rest_as(bp_world.add_user("Анна"))
    assert employee.error("bizproc.activity.add", **activity(bp_world))[1] == "ACCESS_DENIED"
    assert employee.error("bizproc.workflow.template.list")[1] == "ACCESS_DENIED"
