"""Submit -> the client manager approves in the app -> the provider manager in Bitrix24's own task list,
returns with comments at both steps, notifications, against the Bitrix24 emulator over HTTP."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from bizproc_templates.demo import wait_for
from tests.timesheets.conftest import FixedClock
from tests.timesheets.factory import opened
from tests.timesheets.portal import Portal, start_portal
from timesheets.approval import (ApprovalError, Approvers, Decision, complete_tasks, open_tasks, start_workflows,
                                 submit, sync_outcomes)
from timesheets.models import Timesheet, TimesheetNotice
from timesheets.notices import send_notices


@pytest.fixture
def portal(tmp_path: Path, database_url: str) -> Iterator[Portal]:
    started = start_portal(tmp_path, database_url)
    yield started
    started.install.stop()


def open_three(portal: Portal, clock: FixedClock) -> list[int]:
    with portal.db.session() as session:
        return [opened(session, clock(), number=n, user_id=user, portal=portal.install.member_id).id
                for n, user in enumerate(portal.employees, 1)]


def statuses(portal: Portal, ids: list[int]) -> list[str]:
    with portal.db.read_session() as session:
        rows = {ts.id: ts.status for ts in session.scalars(select(Timesheet).where(Timesheet.id.in_(ids)))}
    return [rows[i] for i in ids]


def synced(portal: Portal, clock: FixedClock, ids: list[int], expected: list[str]) -> None:
    def probe() -> bool:
        sync_outcomes(portal.admin(), portal.db, portal.target(), portal.approvers, clock())
        return statuses(portal, ids) == expected
    wait_for(probe, f"statuses {expected}", timeout_s=30)


def test_two_sided_approval_through_the_app_and_bitrix24(portal: Portal, clock: FixedClock) -> None:
    ids = open_three(portal, clock)
    submit(portal.db, ids, actor=portal.employees[0], now=clock(), approvers_of=portal.approvers)
    report = start_workflows(portal.admin(), portal.db, portal.target(), portal.approvers, clock())
    assert sorted(report.started) == ids and not report.waiting
    assert start_workflows(portal.admin(), portal.db, portal.target(), portal.approvers, clock()).started == []

    tasks = wait_for(lambda: len(found := open_tasks(portal.admin(), portal.db, portal.target(),
                                                     portal.client_manager, group_id=10)) == 3 and found,
                     "three client tasks")
    assert {t.timesheet_id for t in tasks} == set(ids) and {t.step for t in tasks} == {"client"}
    assert open_tasks(portal.admin(), portal.db, portal.target(), portal.client_manager, group_id=99) == []
    by_sheet = {t.timesheet_id: t.task_id for t in tasks}
    with pytest.raises(ApprovalError, match="только с комментарием"):
        complete_tasks(portal.as_user(portal.client_manager), [Decision(by_sheet[ids[2]], False)])
    done = complete_tasks(portal.as_user(portal.client_manager), [
        Decision(by_sheet[ids[0]], True), Decision(by_sheet[ids[1]], True),
        Decision(by_sheet[ids[2]], False, "5 декабря был больничный")])
    assert sorted(done.done) == sorted(by_sheet.values()) and not done.failed
    synced(portal, clock, ids, ["approved_by_client", "approved_by_client", "returned"])

    # the provider manager decides in Bitrix24's own task list (bizproc.task.complete as that user)
    provider_tasks = wait_for(lambda: len(t := [t for t in portal.tasks() if t["STATUS"] == 0]) == 2 and t,
                              "two provider tasks")
    assert all(str(portal.provider_manager) in {str(u) for u in t["USERS"]} for t in provider_tasks)
    sheet_of = {t.task_id: t.timesheet_id for t in open_tasks(
        portal.admin(), portal.db, portal.target(), portal.provider_manager)}
    for task in provider_tasks:
        approve = sheet_of[int(task["ID"])] == ids[0]
        portal.as_user(portal.provider_manager).call("bizproc.task.complete", {
            "TASK_ID": task["ID"], "STATUS": 1 if approve else 2, "COMMENT": "" if approve else "нет подписи"})
    synced(portal, clock, ids, ["approved_by_provider", "returned", "returned"])

    with portal.db.read_session() as session:
        rows = {ts.id: ts for ts in session.scalars(select(Timesheet).where(Timesheet.id.in_(ids)))}
        rows_of_notices = list(session.scalars(select(TimesheetNotice)))
        notices = {(n.user_id, n.dedupe_key.split(":")[2]) for n in rows_of_notices}
    assert (rows[ids[1]].return_step, rows[ids[1]].return_comment) == ("provider", "нет подписи")
    assert (rows[ids[2]].return_step, rows[ids[2]].return_comment) == ("client", "5 декабря был больничный")
    employee_1, employee_2, employee_3 = portal.employees
    assert {(portal.client_manager, "submitted"), (portal.provider_manager, "client-approved"),
            (employee_1, "approved"), (employee_2, "returned"), (employee_3, "returned")} <= notices

    sent = send_notices(portal.admin(), portal.db, portal.install.member_id, clock())
    assert sent.sent == len(rows_of_notices) and sent.failed == 0
    assert any("нет подписи" in text for text in portal.notifications(employee_2))
    assert any("ждёт вашего согласования" in text for text in portal.notifications(portal.client_manager))
    assert send_notices(portal.admin(), portal.db, portal.install.member_id, clock()).sent == 0


def test_a_returned_timesheet_is_submitted_again_as_a_new_revision(portal: Portal, clock: FixedClock) -> None:
    [first, *_] = ids = open_three(portal, clock)
    submit(portal.db, [first], actor=None, now=clock(), approvers_of=portal.approvers)
    start_workflows(portal.admin(), portal.db, portal.target(), portal.approvers, clock())
    [task] = wait_for(lambda: open_tasks(portal.admin(), portal.db, portal.target(), portal.client_manager),
                      "the client task")
    complete_tasks(portal.as_user(portal.client_manager), [Decision(task.task_id, False, "исправьте 3 число")])
    synced(portal, clock, [first], ["returned"])
    submit(portal.db, [first], actor=None, now=clock(), approvers_of=portal.approvers)
    start_workflows(portal.admin(), portal.db, portal.target(), portal.approvers, clock())
    [again] = wait_for(lambda: open_tasks(portal.admin(), portal.db, portal.target(), portal.client_manager),
                       "the second client task")
    assert again.task_id != task.task_id
    with portal.db.read_session() as session:
        assert session.get(Timesheet, first).revision == 2
    assert statuses(portal, ids[1:]) == ["draft", "draft"]


def test_a_lost_answer_is_reconciled_by_element_code_not_added_twice(portal: Portal, clock: FixedClock) -> None:
    [first, *_] = open_three(portal, clock)
    submit(portal.db, [first], actor=None, now=clock(), approvers_of=portal.approvers)
    start_workflows(portal.admin(), portal.db, portal.target(), portal.approvers, clock())
    with portal.db.session() as session:  # as if the answers of the add and the start were lost
        timesheet = session.get(Timesheet, first)
        element_id, timesheet.element_id, timesheet.workflow_id = timesheet.element_id, None, None
    report = start_workflows(portal.admin(), portal.db, portal.target(), portal.approvers, clock())
    assert report.started == [first]
    with portal.db.read_session() as session:
        assert session.get(Timesheet, first).element_id == element_id
    workflows = [w for w in portal.install.hook("bizproc/workflows", method="GET")["workflows"]
                 if str(w["DOCUMENT_ID"]) == str(element_id)]
    assert len(workflows) == 1


def test_no_approvers_no_submission(portal: Portal, clock: FixedClock) -> None:
    ids = open_three(portal, clock)
    nobody = lambda timesheet: Approvers((portal.client_manager,), ())  # noqa: E731
    with pytest.raises(ApprovalError, match="не назначен менеджер провайдера"):
        submit(portal.db, ids, actor=None, now=clock(), approvers_of=nobody)
    assert statuses(portal, ids) == ["draft"] * 3


def test_a_timesheet_of_somebody_not_yet_in_bitrix24_is_approved_too(portal: Portal, clock: FixedClock) -> None:
    [first, *_] = open_three(portal, clock)
    with portal.db.session() as session:
        session.get(Timesheet, first).user_id = None  # invited, never accepted: a brigade leader fills it
    submit(portal.db, [first], actor=portal.employees[1], now=clock(), approvers_of=portal.approvers)
    assert start_workflows(portal.admin(), portal.db, portal.target(), portal.approvers, clock()).started == [first]
    [task] = wait_for(lambda: open_tasks(portal.admin(), portal.db, portal.target(), portal.client_manager),
                      "the client task")
    assert "Сотрудник 1" in task.name
    complete_tasks(portal.as_user(portal.client_manager), [Decision(task.task_id, True)])
    synced(portal, clock, [first], ["approved_by_client"])
