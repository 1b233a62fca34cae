from __future__ import annotations

import hashlib
from copy import deepcopy

import pytest

from bizproc_templates.bpt import pack_bpt, unpack_bpt
from bizproc_templates.catalog import load_app_activities, rest_activity_type, rest_activity_types
from bizproc_templates.compiler import compile_bpt, compile_structure, content_hash, list_definition
from bizproc_templates.decoder import import_bpt
from bizproc_templates.source import Process, load_processes, resolve_ids, walk
from bizproc_templates.validation import validate
from onec.targets import NOT_IN_PAYROLL

PROCESSES = load_processes()
BY_CODE = {process.code: process for process in PROCESSES}
REQUEST_TYPES = set(load_app_activities()["zup_register_request"].payload["PROPERTIES"]["request_type"]["Options"])


def nodes(process: Process) -> list[dict]:
    return [node for _, node in walk(process.activities)]


def app_nodes(process: Process, code: str) -> list[dict]:
    return [node for node in nodes(process) if node.get("app") == code]


def test_the_twelve_hr_processes_and_the_timesheet_approval_are_shipped() -> None:
    assert sorted(BY_CODE) == sorted([
        "vacation", "vacation_transfer", "vacation_schedule", "child_tax_deduction", "sick_leave", "bank_details",
        "work_book", "business_trip", "cash_advance", "certificate", "resignation", "lna_acknowledgement",
        "timesheet_approval",
    ])


@pytest.mark.parametrize("process", PROCESSES, ids=lambda p: p.code)
def test_process_validates(process: Process) -> None:
    assert validate(process) == []


@pytest.mark.parametrize("process", PROCESSES, ids=lambda p: p.code)
def test_process_round_trips(process: Process) -> None:
    data = compile_bpt(process)
    decoded = import_bpt(data, process.code)
    assert compile_bpt(Process(process.code, decoded)) == data
    assert decoded["activities"] == resolve_ids(process).activities
    assert decoded.get("variables", {}) == process.section("variables")
    assert [field["code"] for field in decoded["list"]["fields"]] == [field["code"] for field in process.list_fields()]
    assert pack_bpt(unpack_bpt(data)) == data


def test_compiling_is_deterministic() -> None:
    first = [compile_bpt(process) for process in load_processes()]
    second = [compile_bpt(process) for process in load_processes()]
    assert first == second
    names = [node_name for process in PROCESSES for node_name in _names(process)]
    assert len(names) == len(set(names))


def _names(process: Process) -> list[str]:
    structure = compile_structure(process)
    return [f"{process.code}/{node['Name']}" for node in _tree(structure["TEMPLATE"][0])]


def _tree(node: dict) -> list[dict]:
    return [node, *[item for child in node["Children"] for item in _tree(child)]]


def test_app_activities_compile_to_rest_types_of_the_client() -> None:
    process = BY_CODE["vacation"]
    types = {node["Type"] for node in _tree(compile_structure(process, rest_activity_types("local.abc.123"))["TEMPLATE"][0])}
    expected = "rest_" + hashlib.md5(b"local.abc.123@zup_vacation_balance").hexdigest()
    assert rest_activity_type("local.abc.123", "zup_vacation_balance") == expected
    assert expected in types
    decoded = import_bpt(compile_bpt(process, rest_activity_types("local.abc.123")), "vacation", rest_activity_types("local.abc.123"))
    assert decoded["activities"] == resolve_ids(process).activities


# HR requests; the timesheet approval takes its approvers as parameters and writes nothing to 1C itself
@pytest.mark.parametrize("process", [p for p in PROCESSES if p.code not in ("lna_acknowledgement", "timesheet_approval")],
                         ids=lambda p: p.code)
def test_request_process_routes_and_registers_in_1c(process: Process) -> None:
    resolve = app_nodes(process, "b24app_resolve_approvers")
    assert len(resolve) == 1 and resolve[0]["properties"]["roles"] == list(process.section("routing"))
    approvals = [node for node in nodes(process) if node.get("type") == "ApproveActivity"]
    assert [node["properties"]["Users"][1] for node in approvals] == list(process.section("routing").values())
    registers = app_nodes(process, "zup_register_request")
    if process.code in NOT_IN_PAYROLL:  # its request has no ZUP document: never a register step
        assert not registers and not REQUEST_TYPES & {process.code}
    else:
        request_type = registers[0]["properties"]["request_type"]
        options = {field["code"]: field.get("options", {}) for field in process.list_fields()}
        assert request_type in REQUEST_TYPES or set(options["CERT_TYPE"]) <= REQUEST_TYPES
    notified = {node.get("type") for node in nodes(process)}
    assert {"IMNotifyActivity", "SocNetMessageActivity", "SetFieldActivity"} <= notified


def test_cash_advance_goes_to_accounting_not_to_payroll() -> None:
    process = BY_CODE["cash_advance"]
    [task] = [node for node in nodes(process) if node.get("type") == "RequestInformationActivity"]
    assert task["properties"]["Users"] == ["Variable", "accountants"]
    assert [field["Name"] for field in task["properties"]["RequestedInformation"]] == ["accounting_document"]
    statuses = {field["code"]: field.get("options", {}) for field in process.list_fields()}["STATUS"]
    assert "Передано в бухгалтерию" in statuses.values() and "Ошибка передачи в 1С" not in statuses.values()
    assert not [node for node in nodes(process) if str(node.get("app", "")).startswith("zup_")]


def test_vacation_schedule_stores_wishes_for_the_department() -> None:
    process = BY_CODE["vacation_schedule"]
    [store] = app_nodes(process, "b24app_store_vacation_wishes")
    assert store["properties"]["employee"] == "{=Document:CREATED_BY}"
    statuses = {field["code"]: field.get("options", {}) for field in process.list_fields()}["STATUS"]
    assert "Учтено в графике подразделения" in statuses.values() and "Ошибка передачи в 1С" not in statuses.values()


def test_vacation_shows_the_1c_balance_to_approvers() -> None:
    process = BY_CODE["vacation"]
    assert app_nodes(process, "zup_vacation_balance")
    descriptions = [node["properties"]["Description"] for node in nodes(process) if node.get("type") == "ApproveActivity"]
    assert descriptions and all("{=Variable:balance_days}" in text for text in descriptions)


def test_certificate_attaches_the_file_from_1c() -> None:
    process = BY_CODE["certificate"]
    assert app_nodes(process, "zup_request_document")[0]["id"] == "document"
    field_values = [node["properties"]["FieldValue"] for node in nodes(process) if node.get("type") == "SetFieldActivity"]
    assert {"PROPERTY_DOCUMENT": "{=document:file_id}"} in field_values
    assert {field["code"]: field["type"] for field in process.list_fields()}["DOCUMENT"] == "S:DiskFile"


def test_lna_records_who_acknowledged() -> None:
    process = BY_CODE["lna_acknowledgement"]
    assert [node["properties"]["Users"] for node in nodes(process) if node.get("type") == "ReviewActivity"] == [["Document", "PROPERTY_EMPLOYEE"]]
    written = {key for node in nodes(process) if node.get("type") == "SetFieldActivity" for key in node["properties"]["FieldValue"]}
    assert {"PROPERTY_ACKNOWLEDGED_BY", "PROPERTY_ACKNOWLEDGED_AT", "PROPERTY_STATUS"} <= written


def test_list_definition_is_the_lists_api_payload() -> None:
    definition = list_definition(BY_CODE["vacation"])
    assert definition["list"]["IBLOCK_TYPE_ID"] == "bitrix_processes"
    assert definition["list"]["FIELDS"]["BIZPROC"] == "Y"
    fields = {item["FIELDS"]["CODE"]: item["FIELDS"] for item in definition["fields"]}
    assert list(fields) == [field["code"] for field in BY_CODE["vacation"].list_fields()]
    status = fields["STATUS"]["LIST"]
    assert [(value["XML_ID"], value["DEF"]) for value in status.values()][0] == ("new", "Y")


def test_content_hash_changes_only_for_the_changed_process() -> None:
    before = {process.code: content_hash(process) for process in PROCESSES}
    source = deepcopy(BY_CODE["work_book"].source)
    source["activities"][0]["title"] = "Другой заголовок"
    after = {**{code: content_hash(process) for code, process in BY_CODE.items() if code != "work_book"},
             "work_book": content_hash(Process("work_book", source))}
    assert [code for code in before if before[code] != after[code]] == ["work_book"]
