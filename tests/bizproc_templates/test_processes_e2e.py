"""Each of the twelve processes along its main path (every approver approves), plus the certificate file."""
from __future__ import annotations

import base64
from typing import Any

import pytest

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


SAMPLE_OVERRIDES = {"certificate": {"PERIOD": "2026"}, "child_tax_deduction": {"YEAR": 2027}}  # a year in 1C


def sample_values(process: Process, employee: int) -> dict[str, Any]:
    """A valid value for every required field of the process's list."""
    values: dict[str, Any] = dict(SAMPLE_OVERRIDES.get(process.code, {}))
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
                stack.as_user(user).call("bizproc.task.complete", {"TASK_ID": task["ID"],
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
    element_id = stack.submit(process, sample_values(process, stack.people.employee))
    workflow = run_to_end(stack, element_id, prepare_documents=code == "certificate")
    assert workflow["STATUS"] == "completed", workflow["LOG"][-3:]
    registers = any(node.get("app") == "zup_register_request" for node in _nodes(process.activities))
    documents = stack.onec("documents", method="GET")
    element = stack.element(process, element_id)
    if registers and code in NOT_IN_ZUP:  # the activity says where the request belongs, 1C gets nothing
        assert not documents
        assert element["PROPERTY_STATUS"] == "Ошибка передачи в 1С"
    elif registers:
        [document] = documents
        assert document["set"] in {target.entity_set for target in TARGETS.values()}
        assert stack.people.person_ref in (document["fields"].get("ФизическоеЛицо_Key"),
                                           *(r.get("ФизическоеЛицо_Key") for r in document["fields"].get("Сотрудники", ())))\
            or document["fields"].get("Сотрудник_Key") == stack.people.employee_ref
        assert f"/element/0/{element_id}/" in document["fields"]["Комментарий"]
        assert element["PROPERTY_STATUS"] == "Передано в 1С"
        assert element["PROPERTY_ZUP_NUMBER"] == document["number"]
    else:
        assert not documents
    assert stack.notifications_of(stack.people.employee) or not registers


def test_certificate_request_ends_with_the_file_attached(stack: Stack) -> None:
    process = PROCESSES["certificate"]
    element_id = stack.submit(process, {"CERT_TYPE": "certificate_2ndfl", "PERIOD": "2026"})
    workflow = run_to_end(stack, element_id, prepare_documents=True)
    assert workflow["STATUS"] == "completed"
    [document] = stack.onec("documents", method="GET")
    assert document["set"] == "Document_СправкаНДФЛ"
    file_id = stack.element(process, element_id)["PROPERTY_DOCUMENT"]
    assert file_id
    stored = stack.admin().call("disk.file.get", {"id": file_id}).result
    assert stored["NAME"] == f"Справка {document['number'].strip()}.pdf" and int(stored["SIZE"]) > 0
    assert any("Справка готова" in text for text in stack.notifications_of(stack.people.employee))


def _nodes(nodes: list[dict]) -> list[dict]:
    return [item for node in nodes for item in (node, *_nodes(node.get("children", [])))]
