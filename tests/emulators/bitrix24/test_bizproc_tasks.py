"""Approval tasks on the emulator clock: deadlines, timeouts and delegation (bizproc.task.*)."""
from __future__ import annotations

import time
from datetime import datetime
from typing import Iterator

import pytest
import requests

from emulators.bitrix24 import ManualClock, RunningBitrix24, serve
from tests.emulators.bitrix24.bp_fixtures import BpWorld, bp_world, bpt_data, unique, wait_for  # noqa: F401

PROCESSES = "bitrix_processes"
HOUR = 3600


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(start=float(int(time.time())))


@pytest.fixture
def portal(clock: ManualClock) -> Iterator[RunningBitrix24]:
    """A portal whose time moves only when the test moves it (no request limit: the clock stands still)."""
    running = serve(port=0, clock=clock, rate_limit=False)
    yield running
    running.stop()


def _approval(world: BpWorld, boss: int, **approve: object) -> int:
    """A list whose template asks ``boss`` to approve; returns the iblock id."""
    iblock_id = world.new_list()
    status = world.admin.result("lists.field.add", IBLOCK_TYPE_ID=PROCESSES, IBLOCK_ID=iblock_id,
                                FIELDS={"NAME": "Статус", "TYPE": "S", "CODE": "STATUS"})
    set_status = lambda name, value: {"Type": "SetFieldActivity", "Name": name,  # noqa: E731
                                      "Properties": {"FieldValue": {status: value}}}
    tree = [{"Type": "SequentialWorkflowActivity", "Name": "Template", "Properties": {"Title": "Заявка"}, "Children": [
        {"Type": "ApproveActivity", "Name": "A_approve", "Properties": {
            "ApproveType": "any", "Users": [f"user_{boss}"], "Name": "Согласуйте заявку", **approve},
         "Children": [{"Type": "SequenceActivity", "Name": "A_yes", "Children": [set_status("A_s1", "yes")]},
                      {"Type": "SequenceActivity", "Name": "A_no", "Children": [set_status("A_s2", "no")]}]}]}]
    world.admin.result("bizproc.workflow.template.add", DOCUMENT_TYPE=["lists", "BizprocDocument",
                                                                      f"iblock_{iblock_id}"],
                       NAME="Заявка", AUTO_EXECUTE="1", TEMPLATE_DATA=bpt_data(tree))
    return iblock_id


def _file(world: BpWorld, iblock_id: int) -> int:
    return world.admin.result("lists.element.add", IBLOCK_TYPE_ID=PROCESSES, IBLOCK_ID=iblock_id,
                              ELEMENT_CODE=unique("e"), FIELDS={"NAME": "Заявка"})


def _tasks(world: BpWorld, user_id: int) -> list[dict]:
    return world.rest_as(user_id).result("bizproc.task.list", SELECT=["ID", "OVERDUE_DATE", "STATUS"])


def test_approval_deadline_follows_the_portal_clock(bp_world: BpWorld, clock: ManualClock) -> None:
    boss = bp_world.add_user("Борис")
    _file(bp_world, _approval(bp_world, boss, TimeoutDuration="2", TimeoutDurationType="h"))
    [task] = wait_for(lambda: _tasks(bp_world, boss))
    assert datetime.fromisoformat(task["OVERDUE_DATE"]).timestamp() == clock.now() + 2 * HOUR
    clock.advance(HOUR)  # an hour in: still waiting
    [workflow] = bp_world.hook("workflows")["workflows"]
    assert workflow["STATUS"] == "running"
    clock.advance(HOUR + 1)
    finished = wait_for(lambda: bp_world.finished(workflow["ID"]))
    assert finished and finished["STATUS"] == "completed"
    assert [row["STATUS"] for row in _tasks(bp_world, boss)] == ["4"]  # timed out


def test_delegation_follows_the_task_settings(bp_world: BpWorld, portal: RunningBitrix24) -> None:
    boss, deputy, stranger = (bp_world.add_user(name) for name in ("Борис", "Дина", "Семён"))
    department = requests.post(portal.webhook_url + "department.add", timeout=10,
                               json={"NAME": "Склад", "PARENT": 1, "UF_HEAD": boss}).json()["result"]
    requests.post(portal.webhook_url + "user.update", timeout=10, json={"ID": deputy, "UF_DEPARTMENT": [department]})
    _file(bp_world, _approval(bp_world, boss))
    [task] = wait_for(lambda: _tasks(bp_world, boss))
    as_boss = bp_world.rest_as(boss)
    refused = as_boss.error("bizproc.task.delegate", TASK_IDS=[task["ID"]], FROM_USER_ID=boss, TO_USER_ID=stranger)
    assert refused[1] == "ERROR_DELEGATION_NOT_ALLOWED"  # default DelegationType: subordinates only
    not_own = bp_world.rest_as(deputy).error("bizproc.task.delegate", TASK_IDS=[task["ID"]], FROM_USER_ID=boss,
                                              TO_USER_ID=deputy)
    assert not_own[1:] == ("ERROR_DELEGATION_NOT_ALLOWED", "User is not responsible for the task")
    assert as_boss.error("bizproc.task.delegate", TASK_IDS=[], FROM_USER_ID=boss, TO_USER_ID=deputy)[1:] == (
        "ERROR_TASK_VALIDATION", "Invalid TASK_IDS")
    assert as_boss.error("bizproc.task.delegate", TASK_IDS=[task["ID"]], FROM_USER_ID=boss,
                         TO_USER_ID=999)[1:] == ("ERROR_INVALID_USER_ID", "Invalid TO_USER_ID")
    assert as_boss.result("bizproc.task.delegate", TASK_IDS=[task["ID"]], FROM_USER_ID=boss, TO_USER_ID=deputy)
    assert _tasks(bp_world, boss) == [] and [t["ID"] for t in _tasks(bp_world, deputy)] == [task["ID"]]
    assert as_boss.error("bizproc.task.complete", TASK_ID=task["ID"], STATUS="yes")[1] == "ERROR_TASK_NOT_FOUND"
    assert bp_world.rest_as(deputy).result("bizproc.task.complete", TASK_ID=task["ID"], STATUS="yes",
                                           COMMENT="Согласовано за руководителя") is True
    [workflow] = bp_world.hook("workflows")["workflows"]
    assert wait_for(lambda: bp_world.finished(workflow["ID"]))["STATUS"] == "completed"


def test_delegation_to_anyone_or_nobody(bp_world: BpWorld) -> None:
    boss, other = bp_world.add_user("Борис"), bp_world.add_user("Ольга")
    guest = requests.post(f"{bp_world.portal_url}/_emulator/users", timeout=10, json={
        "NAME": "Гость", "EMAIL": f"{unique('g')}@partner.example", "EXTRANET": "Y"}).json()["ID"]
    _file(bp_world, _approval(bp_world, boss, DelegationType="1"))
    _file(bp_world, _approval(bp_world, boss, DelegationType="2"))
    anyone, nobody = sorted(wait_for(lambda: len(_tasks(bp_world, boss)) == 2 and _tasks(bp_world, boss)),
                            key=lambda t: int(t["ID"]))
    as_boss = bp_world.rest_as(boss)
    assert as_boss.error("bizproc.task.delegate", TASK_IDS=[anyone["ID"]], FROM_USER_ID=boss,
                         TO_USER_ID=guest)[2] == "Task delegation is only available for intranet users"
    assert as_boss.error("bizproc.task.delegate", TASK_IDS=[nobody["ID"]], FROM_USER_ID=boss,
                         TO_USER_ID=other)[1] == "ERROR_DELEGATION_NOT_ALLOWED"
    assert as_boss.result("bizproc.task.delegate", TASK_IDS=[anyone["ID"]], FROM_USER_ID=boss, TO_USER_ID=other)
