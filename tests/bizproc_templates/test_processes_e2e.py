"""Each of the twelve processes along its main path (every approver approves), plus the certificate file."""
from __future__ import annotations

import base64
from typing import Any

import pytest
import requests

from bizproc_templates.source import Process, load_processes
from bizproc_templates.demo import wait_for
from onec.targets import NOT_IN_PAYROLL, TARGETS
from tests.bizproc_templates.conftest import Stack

NOT_IN_ZUP = set(NOT_IN_PAYROLL)  # processes whose request has no ZUP object (onec.targets)

# Processes an employee starts by adding a list element; the timesheet approval is started by the app
# (bizproc.workflow.start) and runs end to end in tests/timesheets.
PROCESSES = {process.code: process for process in load_processes()
             if process.section("template").get("auto_execute", 1)}
TASK_DONE = {"ApproveActivity": 1, "ReviewActivity": 3, "RequestInformationActivity": 3}
SAMPLE_BY_TYPE: dict[str, Any] = {"S": "Тестовое значение", "N": 2, "S:Date": "2027-03-01",
                                  "S:DateTime": "2027-03-01 10:00:00", "S:HTML": "текст", "S:DiskFile": "1",
                                  "F": ["scan.txt", base64.b64encode(b"scan").decode()]}


TASK_FIELDS = {"accounting_document": "РКО-17"}  # what an accountant types into a RequestInformation task
FINISHED_OUTSIDE_ZUP = {"cash_advance": "Оформлено в бухгалтерии",  # accounting issues it in its own system
                        "vacation_schedule": "Учтено в графике подразделения"}  # ZUP gets the approved schedule


def sample_overrides(code: str, year: int) -> dict[str, Any]:
    """Values the 1C side reads: a year, vacation periods of the next year (the infobase's clock), bank
    details of the right length."""
    return {"certificate": {"PERIOD": str(year)}, "child_tax_deduction": {"YEAR": year + 1},
            "vacation_schedule": {"YEAR": year + 1, "PERIODS": [f"01.07.{year + 1} — 14.07.{year + 1}"]},
            "bank_details": {"BIK": "044525225", "ACCOUNT": "40817810000000000001"}}.get(code, {})


def sample_values(process: Process, employee: int, year: int) -> dict[str, Any]:
    """A valid value for every required field of the process's list."""
    values: dict[str, Any] = sample_overrides(process.code, year)
    for field in process.list_fields():
        if not field.get("required") or field["code"] in values:
            continue
        if field["type"] == "L":
            values[field["code"]] = next(iter(field["options"]))
        elif field["type"] == "S:employee":
            values[field["code"]] = employee
        else:
            values[field["code"]] = SAMPLE_BY_TYPE[field["type"]]
    return values


def run_to_end(stack: Stack, element_id: int, *, prepare_documents: bool = False) -> dict[str, Any]:
    """Complete every task as its first assignee until the workflow ends; optionally play HR in 1C."""
    workflow_id = stack.workflow(element_id)["ID"]
    done: set[str] = set()

    def step() -> dict[str, Any] | None:
        workflow = stack.workflow(element_id)
        if workflow["STATUS"] != "running":
            return workflow
        for task in stack.install.hook("bizproc/tasks", method="GET")["tasks"]:
            if task["WORKFLOW_ID"] == workflow_id and task["STATUS"] == 0:
                user = int(next(iter(task["USERS"])))
                stack.as_user(user).call("bizproc.task.complete", {"TASK_ID": task["ID"], "FIELDS": TASK_FIELDS,
                                                                   "STATUS": TASK_DONE[task["ACTIVITY"]]})
        if prepare_documents:
            for document in stack.onec("documents", method="GET"):
                if document["ref"] not in done:
                    stack.onec(f"documents/{document['ref']}/post")
                    done.add(document["ref"])
        return None
    return wait_for(step, f"the end of workflow {workflow_id}", timeout_s=60)


@pytest.mark.parametrize("code", sorted(PROCESSES))
def test_main_path_of_every_process(stack: Stack, code: str) -> None:
    process = PROCESSES[code]
    element_id = stack.submit(process, sample_values(process, stack.people.employee, stack.zup.app.store.today.year))
    workflow = run_to_end(stack, element_id, prepare_documents=code == "certificate")
    assert workflow["STATUS"] == "completed", workflow["LOG"][-3:]
    registers = any(node.get("app") == "zup_register_request" for node in _nodes(process.activities))
    documents = stack.onec("documents", method="GET")
    element = stack.element(process, element_id)
    if code in NOT_IN_ZUP:  # the request is finished where it belongs; 1C gets nothing from it
        assert not documents and not registers
        assert element["PROPERTY_STATUS"] == FINISHED_OUTSIDE_ZUP[code]
    elif registers:
        [document] = documents
        assert document["set"] in {target.entity_set for target in TARGETS.values()}
        fields = document["fields"]  # the person or the employee, as the object names them (a deduction's
        named = {fields.get("ФизическоеЛицо_Key"), fields.get("Сотрудник_Key")}  # «Сотрудник» is the person)
        assert {stack.people.person_ref, stack.people.employee_ref} & named
        assert f"/element/0/{element_id}/" in document["fields"]["Комментарий"]
        assert element["PROPERTY_STATUS"] == "Передано в 1С"
        assert element["PROPERTY_ZUP_NUMBER"] == document["number"]
    else:
        assert not documents
    assert stack.notifications_of(stack.people.employee) or not (registers or code in NOT_IN_ZUP)


@pytest.mark.parametrize("bizproc_extra", [{"employee_documents": "app_folder"}, {"employee_documents": "user_drive"}],
                         indirect=True, ids=["app_folder", "user_drive"])
@pytest.mark.parametrize(("cert_type", "document_set"), [
    ("certificate_2ndfl", "Document_СправкаНДФЛ"),
    ("certificate_182n", "Document_ИсходящаяСправкаОЗаработкеДляРасчетаПособий")])
def test_the_certificate_file_lands_on_the_request_and_in_the_employee_documents(
        stack: Stack, bizproc_extra: dict[str, str], cert_type: str, document_set: str) -> None:
    process = PROCESSES["certificate"]
    element_id = stack.submit(process, {"CERT_TYPE": cert_type, "PERIOD": str(stack.zup.app.store.today.year)})
    workflow = run_to_end(stack, element_id, prepare_documents=True)
    assert workflow["STATUS"] == "completed", workflow["LOG"][-3:]
    [document] = stack.onec("documents", method="GET")
    assert document["set"] == document_set
    file_id = stack.element(process, element_id)["PROPERTY_DOCUMENT"]  # attached to the request
    stored = stack.admin().call("disk.file.get", {"id": file_id}).result
    assert stored["NAME"] == f"Справка {document['number'].strip()}.pdf"
    assert requests.get(stored["DOWNLOAD_URL"], timeout=10).content.startswith(b"%PDF")
    tables = stack.install.hook("state", method="GET")["tables"]
    folder = tables["disk_objects"][stored["PARENT_ID"]]
    storage = tables["storages"][str(folder["STORAGE_ID"])]
    employee = stack.people.employee
    if bizproc_extra["employee_documents"] == "app_folder":  # the app's drive, shared with the employee
        parent = tables["disk_objects"][str(folder["PARENT_ID"])]
        assert (storage["ENTITY_TYPE"], parent["NAME"]) == ("restapp", "Документы сотрудников")
        assert folder["NAME"] == f"Сотрудников Иван (ID {employee})"
        assert folder["SHARED_WITH"] == {str(employee): "disk_access_read"}
    else:  # the employee's own drive
        assert (storage["ENTITY_TYPE"], storage["ENTITY_ID"]) == ("user", str(employee))
        assert folder["NAME"] == "Документы от работодателя"
    assert any("Справка готова" in text for text in stack.notifications_of(employee))


def _nodes(nodes: list[dict]) -> list[dict]:
    return [item for node in nodes for item in (node, *_nodes(node.get("children", [])))]
