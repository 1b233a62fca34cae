"""Approvals that keep moving, end to end on the Bitrix24 emulator's workflow runtime and the 1C emulator:
an absent approver is substituted when the process assigns approvers, reminded and escalated after working
hours of the production calendar, and an open task of an approver who goes away is delegated where the
portal allows it, else the stand-in is told. Time is the portal's ManualClock, moved by the test."""
from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from b24app.db import get_db
from b24app.portal import client_for, get_store
from bizproc_templates.source import PROCESSES_DIR, load_process
from emulators.bitrix24 import ManualClock
from outreach.absences import absences, set_absence
from outreach.approvals import declare_absence, working_hours
from outreach.cli import group
from outreach.jobs import approvals_job
from outreach.models import OutreachApprovalTask
from outreach.service import settings_of, today
from tests.bizproc_templates.conftest import Stack, built_stack

VACATION = load_process(PROCESSES_DIR / "vacation.yaml")
REQUEST = {"DATE_FROM": "2027-03-01", "DATE_TO": "2027-03-14", "VACATION_KIND": "annual", "COMMENT": "на море"}
APPROVE = 1
REMIND_H, ESCALATE_H = 2, 4
MINUTE = 60.0


class PortalTime:
    """The app's clock reads the portal's ManualClock: one time for both sides."""

    def __init__(self, clock: ManualClock) -> None:
        self.clock = clock

    def now(self) -> dt.datetime:
        return dt.datetime.fromtimestamp(self.clock.now(), dt.timezone.utc)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(start=float(int(time.time())))


@pytest.fixture
def stack(tmp_path: Path, database_url: str, clock: ManualClock) -> Iterator[Stack]:
    outreach = {"approvals": {"escalate_to": [1], "processes": {
        "vacation": {"remind_after_hours": REMIND_H, "escalate_after_hours": ESCALATE_H}}}}
    with built_stack(tmp_path, database_url, {"outreach": outreach}, clock=clock, rate_limit=False) as built:
        built.app.extensions["outreach.clock"] = PortalTime(clock)
        yield built


def _user(stack: Stack, name: str, **extra: object) -> int:
    return int(stack.install.hook("users", {"NAME": name, "LAST_NAME": "Тестов", "EMAIL": f"{name}@example.ru",
                                            **extra})["ID"])


def _department(stack: Stack, name: str, head: int, members: list[int]) -> None:
    admin = stack.admin()
    department = admin.call("department.add", {"NAME": name, "PARENT": 1, "UF_HEAD": head}).result
    for member in members:
        admin.call("user.update", {"ID": member, "UF_DEPARTMENT": [department]})


def _notices(stack: Stack, user_id: int) -> list[str]:
    return stack.notifications_of(user_id)


def _today(stack: Stack) -> dt.date:
    return today(stack.app)


def _assigned_at(stack: Stack, user_id: int) -> dt.datetime:
    with get_db(stack.app).read_session() as session:
        return session.scalar(select(OutreachApprovalTask.assigned_at).where(
            OutreachApprovalTask.user_id == user_id, OutreachApprovalTask.closed_at.is_(None)))


def _move_to(clock: ManualClock, moment: dt.datetime) -> None:
    clock.advance(moment.timestamp() - clock.now())


def test_an_absent_approver_is_substituted_reminded_and_escalated(stack: Stack, clock: ManualClock) -> None:
    people = stack.people
    deputy, deputy_boss = _user(stack, "Дина"), _user(stack, "Гордей")
    _department(stack, "Склад", deputy_boss, [deputy])
    day = _today(stack)
    added = stack.app.test_cli_runner().invoke(group, [
        "absence", "add", str(people.client_manager), "--from", (day - dt.timedelta(days=1)).isoformat(),
        "--to", (day + dt.timedelta(days=20)).isoformat(), "--substitute", str(deputy), "--note", "отпуск"])
    assert added.exit_code == 0, added.output

    element_id = stack.submit(VACATION, REQUEST)
    task = stack.open_task(element_id, deputy)  # assigned to the substitute, not to the absent manager
    assert str(people.client_manager) not in {str(u) for u in task["USERS"]}
    log = " ".join(entry["message"] for entry in stack.workflow(element_id)["LOG"])
    assert f"замещают отсутствующих: {deputy} вместо {people.client_manager}" in log

    approvals_job(stack.app)
    assert [n for n in _notices(stack, deputy) if n.startswith("Новая задача на согласование")]
    hours = working_hours(settings_of(stack.app).approvals)
    assigned = _assigned_at(stack, deputy)
    _move_to(clock, hours.after(assigned, REMIND_H) - dt.timedelta(minutes=1))
    approvals_job(stack.app)
    assert not [n for n in _notices(stack, deputy) if n.startswith("Напоминание")]
    _move_to(clock, hours.after(assigned, REMIND_H) + dt.timedelta(minutes=1))
    approvals_job(stack.app)
    assert len([n for n in _notices(stack, deputy) if n.startswith("Напоминание")]) == 1
    assert not _notices(stack, deputy_boss)

    _move_to(clock, hours.after(assigned, ESCALATE_H) + dt.timedelta(minutes=1))
    approvals_job(stack.app)
    approvals_job(stack.app)  # once each: a second run adds nothing
    [escalation] = _notices(stack, deputy_boss)
    assert "ждёт решения Дина Тестов больше 4 рабочих ч." in escalation
    assert len(_notices(stack, deputy)) == 2  # the new task and one reminder

    stack.decide(element_id, deputy, APPROVE)
    stack.open_task(element_id, people.provider_manager)
    approvals_job(stack.app)
    assert [n for n in _notices(stack, people.provider_manager) if n.startswith("Новая задача на согласование")]
    with get_db(stack.app).read_session() as session:
        closed = session.scalar(select(OutreachApprovalTask.closed_at).where(OutreachApprovalTask.user_id == deputy))
    assert closed is not None


def test_an_open_task_of_an_approver_who_goes_away(stack: Stack) -> None:
    boss = stack.people.client_manager
    stranger, subordinate = _user(stack, "Семён"), _user(stack, "Ольга")
    _department(stack, "Офис", boss, [subordinate])
    element_id = stack.submit(VACATION, REQUEST)
    task = stack.open_task(element_id, boss)
    approvals_job(stack.app)
    day = _today(stack)
    member_id = stack.install.member_id
    set_absence(get_db(stack.app), member_id=member_id, user_id=boss, date_from=day,
                date_to=day + dt.timedelta(days=5), substitute_id=stranger, now=dt.datetime.now(dt.timezone.utc))
    approvals_job(stack.app)
    approvals_job(stack.app)
    [told] = _notices(stack, stranger)  # the app holds no token of the approver: it cannot delegate
    assert "отсутствует до" in told and "Вы указаны замещающим" in told
    assert str(boss) in {str(u) for u in stack.open_task(element_id, boss)["USERS"]}

    installation = get_store(stack.app).find(member_id=member_id)
    refused = declare_absence(stack.app, installation, stack.as_user(boss), approver_id=boss, date_from=day,
                              date_to=day + dt.timedelta(days=5), substitute_id=stranger)
    assert refused.delegated == {} and "ERROR_DELEGATION_NOT_ALLOWED" in refused.refused[int(task["ID"])]
    moved = declare_absence(stack.app, installation, stack.as_user(boss), approver_id=boss, date_from=day,
                            date_to=day + dt.timedelta(days=5), substitute_id=subordinate)
    assert list(moved.delegated) == [int(task["ID"])]  # the task allows delegating to a subordinate
    stack.open_task(element_id, subordinate)
    [handed] = _notices(stack, subordinate)
    assert "вам передана задача на согласование" in handed
    approvals_job(stack.app)
    assert len(_notices(stack, subordinate)) == 1  # her "new task" was that notice
    assert client_for(stack.app).call("bizproc.task.list", {"FILTER": {"USER_ID": boss, "STATUS": 0}}).result == []


def test_request_statuses_reach_the_employee_once_and_a_vacation_makes_its_author_absent(stack: Stack) -> None:
    people = stack.people
    approvals_job(stack.app)  # the first look: nothing filed yet
    element_id = stack.submit(VACATION, REQUEST)
    stack.decide(element_id, people.client_manager, APPROVE)
    stack.decide(element_id, people.provider_manager, APPROVE)
    stack.finished(element_id)
    approvals_job(stack.app)
    approvals_job(stack.app)
    done = [n for n in _notices(stack, people.employee) if "оформлено в 1С:ЗУП" in n and n.startswith("Ваше заявление")]
    number = stack.element(VACATION, element_id)["PROPERTY_ZUP_NUMBER"]
    assert len(done) == 1 and f"документ № {number}" in done[0]
    [absence] = absences(get_db(stack.app), member_id=stack.install.member_id)
    assert (absence.user_id, absence.date_from, absence.date_to) == (
        people.employee, dt.date(2027, 3, 1), dt.date(2027, 3, 14))
    assert absence.source == f"vacation:{element_id}"

    second = stack.submit(VACATION, {**REQUEST, "DATE_FROM": "2027-05-03", "DATE_TO": "2027-05-07"})
    stack.decide(second, people.client_manager, 2, "в мае инвентаризация")
    stack.finished(second)
    approvals_job(stack.app)
    [returned] = [n for n in _notices(stack, people.employee) if "возвращено" in n]
    assert "Комментарий: в мае инвентаризация." in returned
    assert len(absences(get_db(stack.app), member_id=stack.install.member_id)) == 1
