"""A vacation-request-like process end to end over HTTP: list + autostart + app activity + approval."""
from __future__ import annotations

import hashlib
import re
import threading
from dataclasses import dataclass

import requests

from tests.emulators.bitrix24.bp_fixtures import (BpWorld, Rest, as_list, bp_world, bpt_data, unique,  # noqa: F401
                                            wait_for)

PROCESSES = "bitrix_processes"


def vacation_tree(activity_type: str, timeout_s: int = 0) -> list[dict]:
    """The shape of core templates_bp/vacation.php: Approve branches via its two Sequence children."""
    app_step = {"Type": activity_type, "Name": "A_balance", "Properties": {
        "days": "{=Document:PROPERTY_DAYS}", "TimeoutDuration": str(timeout_s), "TimeoutDurationType": "s"}}
    message = lambda name, text: {"Type": "SocNetMessageActivity", "Name": name, "Properties": {  # noqa: E731
        "MessageText": text, "MessageUserFrom": ["A_approve", "LastApprover"], "MessageUserTo": ["author"]}}
    set_status = lambda name, value: {"Type": "SetFieldActivity", "Name": name,  # noqa: E731
                                      "Properties": {"FieldValue": {"PROPERTY_STATUS": value}}}
    return [{"Type": "SequentialWorkflowActivity", "Name": "Template", "Properties": {"Title": "Отпуск"}, "Children": [
        app_step,
        {"Type": "SetFieldActivity", "Name": "A_store", "Properties": {"FieldValue": {
            "PROPERTY_BALANCE": "{=A_balance:balance}", "PROPERTY_TIMEOUT": "{=A_balance:IsTimeout}"}}},
        {"Type": "ApproveActivity", "Name": "A_approve", "Properties": {
            "ApproveType": "any", "Users": ["Variable", "Boss"], "Name": "Отпуск: {=Document:NAME}",
            "Description": "Остаток {=Variable:Balance} дн.", "TaskButton1Message": "Согласовать"},
         "Children": [
             {"Type": "SequenceActivity", "Name": "A_yes", "Children": [set_status("A_s1", "approved")]},
             {"Type": "SequenceActivity", "Name": "A_no", "Children": [set_status("A_s2", "rejected")]}]},
        {"Type": "IfElseActivity", "Name": "A_if", "Children": [
            {"Type": "IfElseBranchActivity", "Name": "A_b1",
             "Properties": {"fieldcondition": [["PROPERTY_STATUS", "=", "approved"]]},
             "Children": [message("A_m1", "Отпуск согласован: {=A_approve:LastApprover_printable}")]},
            {"Type": "IfElseBranchActivity", "Name": "A_b2", "Properties": {},
             "Children": [message("A_m2", "Отпуск отклонён")]}]}]}]


@dataclass
class Vacation:
    world: BpWorld
    iblock_id: int
    fields: dict[str, str]
    boss_id: int
    boss: Rest
    employee_id: int
    employee: Rest

    def request(self, days: str = "14") -> int:
        """The employee files a request; the template autostarts (AUTO_EXECUTE bit 1)."""
        return self.employee.result("lists.element.add", IBLOCK_TYPE_ID=PROCESSES, IBLOCK_ID=self.iblock_id,
                                    ELEMENT_CODE=unique("req"), FIELDS={"NAME": "Отпуск", self.fields["DAYS"]: days})

    def element(self, element_id: int) -> dict:
        [row] = self.world.admin.result("lists.element.get", IBLOCK_TYPE_ID=PROCESSES, IBLOCK_ID=self.iblock_id,
                                        ELEMENT_ID=element_id, SELECT=list(self.fields.values()))
        return {code: next(iter((row.get(field_id) or {}).values()), None) for code, field_id in self.fields.items()}

    def boss_task(self) -> dict:
        """Waits on the tasks hook (not rate limited), then reads the task the way the boss sees it."""
        assert wait_for(lambda: [t for t in self.world.hook("tasks")["tasks"]
                                 if t["STATUS"] == 0 and str(self.boss_id) in map(str, t["USERS"])])
        [task] = self.boss.result("bizproc.task.list", SELECT=["ID", "NAME", "DESCRIPTION", "PARAMETERS", "USER_ID"])
        return task

    def running(self) -> list[str]:
        return [row["ID"] for row in self.world.admin.result("bizproc.workflow.instances")]


def setup_vacation(world: BpWorld, timeout_s: int = 0, answer: bool = True) -> Vacation:
    code = unique("zup_balance")
    world.admin.result("bizproc.activity.add", CODE=code, HANDLER=f"{world.handler.url}/act/{code}",
                       NAME="Остаток отпуска", USE_SUBSCRIPTION="Y", AUTH_USER_ID=1,
                       PROPERTIES={"days": {"Name": "Дней", "Type": "int", "Required": "Y"}},
                       RETURN_PROPERTIES={"balance": {"Name": "Остаток", "Type": "int"}})
    # case-insensitive keys [not in the docs: core modules/bizproc/classes/general/restactivity.php]
    world.handler.answer = (lambda payload: {"BALANCE": "28"}) if answer else None
    iblock_id = world.new_list()
    fields = {code_: world.admin.result("lists.field.add", IBLOCK_TYPE_ID=PROCESSES, IBLOCK_ID=iblock_id,
                                        FIELDS={"NAME": code_, "TYPE": "S", "CODE": code_})
              for code_ in ("DAYS", "BALANCE", "STATUS", "TIMEOUT")}
    boss_id, employee_id = world.add_user("Борис", "Начальников"), world.add_user("Ева", "Сотрудникова")
    activity_type = "rest_" + hashlib.md5(f"{world.client_id}@{code}".encode()).hexdigest()
    world.admin.result("bizproc.workflow.template.add", DOCUMENT_TYPE=["lists", "BizprocDocument",
                                                                      f"iblock_{iblock_id}"],
                       NAME="Заявление на отпуск", AUTO_EXECUTE="1",
                       TEMPLATE_DATA=bpt_data(vacation_tree(activity_type, timeout_s), variables={
                           "Boss": {"Name": "Руководитель", "Type": "user", "Default": f"user_{boss_id}"},
                           "Balance": {"Name": "Остаток", "Type": "int", "Default": "28"}}))
    return Vacation(world, iblock_id, fields, boss_id, world.rest_as(boss_id), employee_id,
                    world.rest_as(employee_id))


def notifications_for(world: BpWorld, user_id: int) -> list[str]:
    rows = requests.get(f"{world.portal_url}/_emulator/notifications", timeout=10).json()
    return [row["MESSAGE"] for row in rows if row["USER_ID"] == user_id]


def test_vacation_request_approved_end_to_end(bp_world: BpWorld) -> None:
    vacation = setup_vacation(bp_world)
    element_id = vacation.request("14")
    task = vacation.boss_task()
    callback = bp_world.handler.calls[0]
    assert callback["properties"] == {"days": "14"} and callback["use_subscription"] == "Y"
    assert as_list(callback["document_id"]) == ["lists", "BizprocDocument", str(element_id)]
    assert re.fullmatch(rf"{re.escape(callback['workflow_id'])}\|A_balance\|\w{{32}}\.[0-9a-f]+",
                        callback["event_token"])
    assert {"access_token", "refresh_token", "application_token", "member_id"} <= set(callback["auth"])
    assert task["NAME"] == "Отпуск: Отпуск" and task["PARAMETERS"] == {"StatusYesLabel": "Согласовать"}
    assert vacation.element(element_id)["BALANCE"] == "28"
    # only the assignee (REST docs: api-reference/bizproc/bizproc-task/bizproc-task-complete.md)
    assert vacation.employee.error("bizproc.task.complete", TASK_ID=task["ID"], STATUS="yes")[1:] == (
        "ERROR_TASK_NOT_FOUND", "Task not found")
    assert vacation.boss.error("bizproc.task.complete", TASK_ID=task["ID"], STATUS="maybe")[1:] == (
        "ERROR_TASK_VALIDATION", "incorrect STATUS")
    assert vacation.boss.result("bizproc.task.complete", TASK_ID=task["ID"], STATUS="yes", COMMENT="ок") is True
    assert wait_for(lambda: bp_world.finished(callback["workflow_id"]))
    assert callback["workflow_id"] not in vacation.running()
    assert vacation.element(element_id)["STATUS"] == "approved"
    assert notifications_for(bp_world, vacation.employee_id) == ["Отпуск согласован: Борис Начальников"]
    assert vacation.boss.error("bizproc.task.complete", TASK_ID=task["ID"], STATUS="yes")[1] == "ERROR_TASK_COMPLETED"
    finished = bp_world.workflow(callback["workflow_id"])
    assert finished["STATUS"] == "completed" and finished["RESULTS"]["A_balance"]["balance"] == "28"


def test_vacation_request_rejected(bp_world: BpWorld) -> None:
    vacation = setup_vacation(bp_world)
    element_id = vacation.request()
    task = vacation.boss_task()
    vacation.boss.result("bizproc.task.complete", TASK_ID=task["ID"], STATUS=2)
    workflow_id = bp_world.handler.calls[0]["workflow_id"]
    assert wait_for(lambda: bp_world.finished(workflow_id))
    assert vacation.element(element_id)["STATUS"] == "rejected"
    assert notifications_for(bp_world, vacation.employee_id) == ["Отпуск отклонён"]


def test_app_activity_timeout_sets_is_timeout_and_continues(bp_world: BpWorld) -> None:
    vacation = setup_vacation(bp_world, timeout_s=1, answer=False)
    element_id = vacation.request()
    task = vacation.boss_task()  # the workflow moved on after the timeout
    assert vacation.element(element_id)["TIMEOUT"] == "1" and vacation.element(element_id)["BALANCE"] is None
    callback = bp_world.handler.calls[0]
    assert callback["timeout_duration"] == "1"
    late = requests.post(f"{bp_world.portal_url}/rest/bizproc.event.send.json", timeout=10, json={
        "auth": callback["auth"]["access_token"], "EVENT_TOKEN": callback["event_token"],
        "RETURN_VALUES": {"balance": "5"}}).json()
    assert late["result"] is True  # a closed step ignores late answers
    vacation.boss.result("bizproc.task.complete", TASK_ID=task["ID"], STATUS="yes")
    assert wait_for(lambda: bp_world.finished(callback["workflow_id"]))["STATUS"] == "completed"
    assert vacation.element(element_id)["BALANCE"] is None


def test_event_send_rejects_forged_tokens_and_ignores_repeats(bp_world: BpWorld) -> None:
    vacation = setup_vacation(bp_world)
    vacation.request()
    vacation.boss_task()
    callback = bp_world.handler.calls[0]
    forged = callback["event_token"][:-4] + "0000"
    assert bp_world.admin.error("bizproc.event.send", EVENT_TOKEN=forged, RETURN_VALUES={})[1] == "ACCESS_DENIED"
    assert bp_world.admin.result("bizproc.event.send", EVENT_TOKEN=callback["event_token"],
                                 RETURN_VALUES={"balance": "1"}) is True
    assert bp_world.workflow(callback["workflow_id"])["RESULTS"]["A_balance"]["balance"] == "28"
    assert bp_world.admin.error("bizproc.activity.log", EVENT_TOKEN=callback["event_token"], LOG_MESSAGE="")[1] == (
        "ERROR_EMPTY_LOG_MESSAGE")


def test_workflow_start_errors_and_terminate(bp_world: BpWorld) -> None:
    vacation = setup_vacation(bp_world)
    element_id = vacation.request()
    vacation.boss_task()
    [template] = bp_world.admin.result("bizproc.workflow.template.list", SELECT=["ID", "DOCUMENT_TYPE"],
                                       FILTER={"NAME": "Заявление на отпуск"})[-1:]
    start = lambda **params: bp_world.admin.error("bizproc.workflow.start", **params)  # noqa: E731
    assert start(DOCUMENT_ID=["lists", "BizprocDocument", str(element_id)])[1:] == (
        "ERROR_WRONG_WORKFLOW_ID", "Empty TEMPLATE_ID")
    assert start(TEMPLATE_ID=999999, DOCUMENT_ID=["lists", "BizprocDocument", "1"])[2] == "Template not found"
    assert start(TEMPLATE_ID=template["ID"], DOCUMENT_ID="x")[2] == "Wrong DOCUMENT_ID!"
    assert start(TEMPLATE_ID=template["ID"], DOCUMENT_ID=["crm", "CCrmDocumentDeal", "DEAL_1"])[2] == (
        "Incorrect document type!")
    assert vacation.employee.error("bizproc.workflow.start", TEMPLATE_ID=template["ID"],
                                   DOCUMENT_ID=["lists", "BizprocDocument", str(element_id)])[1] == "ACCESS_DENIED"
    workflow_id = bp_world.admin.result("bizproc.workflow.start", TEMPLATE_ID=template["ID"],
                                        DOCUMENT_ID=["lists", "BizprocDocument", str(element_id)])
    assert re.fullmatch(r"[0-9a-f]{14}\.\d{8}", workflow_id) and workflow_id in vacation.running()
    assert bp_world.admin.error("bizproc.workflow.terminate", ID="")[2] == "Empty workflow instance ID"
    assert bp_world.admin.result("bizproc.workflow.terminate", ID=workflow_id) is True
    assert workflow_id not in vacation.running()
    assert wait_for(lambda: bp_world.finished(workflow_id))["STATUS"] == "terminated"


def test_reset_stops_the_runtime_of_the_discarded_state(bp_world: BpWorld) -> None:
    vacation = setup_vacation(bp_world)
    vacation.request()
    vacation.boss_task()  # the workflow's thread now waits for the approval
    workflow_id = bp_world.handler.calls[0]["workflow_id"]
    [runner] = [thread for thread in threading.enumerate() if thread.name == f"bp-{workflow_id}"]
    assert requests.post(f"{bp_world.portal_url}/_emulator/reset", timeout=30).status_code == 200
    runner.join(timeout=10)  # a liveness bound, not a speed assertion
    assert not runner.is_alive()
    assert bp_world.hook("workflows")["workflows"] == []
