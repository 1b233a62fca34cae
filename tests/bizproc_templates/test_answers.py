"""At most one answer per event_token; approver resolution from the sync mapping or the portal."""
from __future__ import annotations

import json
from dataclasses import replace

import pytest
import requests
from sqlalchemy import select, update

from b24app import inbox
from b24app.db import get_db
from b24app.models import InboxItem
from bizproc_templates.approvers import Resolution, Workplace, resolve_slots, substituted
from bizproc_templates.models import ActivityAnswer
from bizproc_templates.settings import BizprocSettings
from b24app.dispatch import HandlerContext
from sync_jobs.settings import load_settings as load_sync_settings
from bizproc_templates.answers import answer_activity
from bizproc_templates.activities import WORK
from sync_jobs.models import SyncMapping
from tests.bizproc_templates.test_vacation_e2e import REQUEST, VACATION
from bizproc_templates.demo import wait_for
from tests.bizproc_templates.conftest import Stack


def balance_message(stack: Stack) -> inbox.InboxMessage:
    with get_db(stack.app).read_session() as session:
        row = session.scalar(select(InboxItem).where(InboxItem.name == "zup_vacation_balance"))
        return inbox.InboxMessage(row.id, row.member_id, row.kind, row.name, json.loads(row.payload), 1,
                                  row.received_at)


def test_a_handled_call_is_never_answered_again(stack: Stack) -> None:
    element_id = stack.submit(VACATION, REQUEST)
    stack.open_task(element_id, stack.people.client_manager)
    stack.install.hook("counters/reset")
    stack.onec("counters/reset")

    message = balance_message(stack)  # as if the worker restarted and took the item again
    with get_db(stack.app).session() as session:
        answer_activity(HandlerContext(stack.app, message), session, WORK["zup_vacation_balance"])

    assert "bizproc.event.send" not in stack.install.hook("counters", method="GET")["by_method"]
    assert stack.onec("counters", method="GET")["requests"] == 0
    with get_db(stack.app).read_session() as session:
        answers = list(session.scalars(select(ActivityAnswer).where(ActivityAnswer.code == "zup_vacation_balance")))
    assert [(a.status, a.outcome) for a in answers] == [("sent", "ok")]


def test_approvers_come_from_the_sync_mapping_when_it_knows_the_employee(stack: Stack) -> None:
    people = stack.people
    with get_db(stack.app).session() as session:  # what the sync writes: the user in a department
        session.add(SyncMapping(member_id=stack.install.member_id, kind="user", key=people.person_ref,
                                b24_id=people.employee,
                                state=json.dumps({"groups": ["dept-1"]})))
    config = stack.app.extensions["b24app.config"]
    managers = load_sync_settings({"managers": {"dept-1": {"client": [people.hr], "provider": [people.accounting]}}})
    stack.app.extensions["b24app.config"] = replace(config, feature_settings={**config.feature_settings,
                                                                              "sync": managers})
    element_id = stack.submit(VACATION, REQUEST)
    stack.decide(element_id, people.hr, 1)  # the configured client manager of the department
    stack.open_task(element_id, people.accounting)


def test_routing_overrides_a_slot_and_an_empty_slot_falls_back() -> None:
    settings = BizprocSettings(roles={"hr": (7,)}, routing={"vacation": {"provider_manager": ("hr", 9)}})
    resolution = resolve_slots("vacation", ["client_manager", "provider_manager"], Workplace((), (3,)), settings, (1,))
    assert resolution.users == {"client_manager": (1,), "provider_manager": (7, 9)}
    assert resolution.unresolved == ("client_manager",)


class AwayToday:
    """Users 3 and 9 are away: 3 stands in for 9, 4 for 3; the employee 5 never stands in."""

    def substitute_for(self, member_id: str, user_id: int) -> int | None:
        return {3: 4, 9: 5}.get(user_id) if member_id == "portal" else None


def test_absent_approvers_are_replaced_by_their_substitutes() -> None:
    resolution = Resolution({"client_manager": (3, 4), "provider_manager": (9,)}, ())
    replaced, who = substituted(resolution, AwayToday(), "portal", employee=5)
    assert replaced.users == {"client_manager": (4,), "provider_manager": (9,)}  # no duplicate, never the employee
    assert who == {3: 4}
    assert substituted(resolution, None, "portal", employee=5) == (resolution, {})
    assert substituted(resolution, AwayToday(), "other", employee=5) == (resolution, {})


@pytest.mark.parametrize("after", [False, True], ids=["lost-before-the-portal", "lost-after-the-portal"])
def test_an_answer_lost_on_the_way_is_sent_again(stack: Stack, after: bool) -> None:
    """The send fails once (a connection reset before or after the portal ran it): the stored answer
    goes out again on the inbox's retry and the workflow moves on instead of waiting for its timeout."""
    stack.install.hook("faults", {"kind": "reset", "method": "bizproc.event.send", "count": 1, "after": after})
    element_id = stack.submit(VACATION, REQUEST)
    stack.open_task(element_id, stack.people.client_manager)

    def answers() -> list[tuple[str, str]]:
        with get_db(stack.app).read_session() as session:
            rows = session.scalars(select(ActivityAnswer).where(ActivityAnswer.code == "zup_vacation_balance"))
            return [(a.status, a.outcome) for a in rows]
    assert wait_for(lambda: answers() == [("sent", "ok")], "the answer recorded as delivered")


def test_a_worker_killed_after_storing_the_answer_sends_it_without_working_again(stack: Stack) -> None:
    element_id = stack.submit(VACATION, REQUEST)
    stack.open_task(element_id, stack.people.client_manager)
    message = balance_message(stack)
    with get_db(stack.app).session() as session:  # as the killed worker left it: stored, not yet sent
        session.execute(update(ActivityAnswer).where(ActivityAnswer.code == "zup_vacation_balance")
                        .values(status="sending"))
    stack.install.hook("counters/reset")
    stack.onec("counters/reset")
    with get_db(stack.app).session() as session:
        answer_activity(HandlerContext(stack.app, message), session, WORK["zup_vacation_balance"])
    assert stack.install.hook("counters", method="GET")["by_method"]["bizproc.event.send"]["calls"] == 1
    assert stack.onec("counters", method="GET")["requests"] == 0
    with get_db(stack.app).read_session() as session:
        assert session.scalar(select(ActivityAnswer.status).where(ActivityAnswer.code == "zup_vacation_balance")) \
            == "sent"


def test_a_callback_forged_with_a_leaked_application_token_does_no_work_in_1c(stack: Stack) -> None:
    stack.onec("counters/reset")
    forged = {"event_token": "forged|A1|x", "workflow_id": "6690c8e7cb1f42.000000", "code": "zup_vacation_balance",
              "document_id[0]": "lists", "document_id[1]": "BizprocDocument", "document_id[2]": "1",
              "properties[employee]": f"user_{stack.people.employee}",
              "auth[member_id]": stack.install.member_id, "auth[application_token]": stack.install.application_token()}
    answer = requests.post(f"{stack.install.public_url}/b24/activities/zup_vacation_balance", data=forged, timeout=10)
    assert answer.status_code == 200

    def parked() -> list:
        return [i for i in inbox.list_items(get_db(stack.app), status="failed") if i.name == "zup_vacation_balance"]
    item = wait_for(parked, "the forged call parked")[0]
    assert "нет выполняющегося бизнес-процесса" in item.last_error
    assert stack.onec("counters", method="GET")["requests"] == 0
