"""The pages' JSON API on the whole stack (1C and Bitrix24 emulators, the app installed, a full sync):
each role's view of the grid, saving cells, submitting, approving many at once, summaries; every role
refused the others' timesheets with nothing leaked."""
from __future__ import annotations

import io
from collections import Counter
from collections.abc import Iterator
from typing import Any

import openpyxl
import pytest
import requests
from sqlalchemy import select

from b24app.db import get_db
from bizproc_templates.demo import wait_for
from tests.cabinet.stack import CabinetStack
from tests.timesheets.stack import timesheet_stack
from timesheets.jobs import clock_of, refresh_outcomes
from timesheets.calendar import month_title
from timesheets.models import Timesheet, TimesheetDay
from timesheets.sheets import STATUS_TITLES

REFUSED = {"error": "forbidden", "message": "Нет доступа."}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CabinetStack]:
    built = timesheet_stack(tmp_path_factory.mktemp("timesheets_api"))
    yield built
    built.stop()


def month(stack: CabinetStack) -> str:
    return f"{clock_of(stack.app)().date():%Y-%m}"


def call(stack: CabinetStack, user: int, path: str, body: Any = None, method: str = "GET") -> requests.Response:
    return requests.request(method, f"{stack.install.public_url}/timesheets/api{path}", json=body, timeout=60,
                            headers={"Authorization": f"Bearer {stack.session(user)}"})


def sheets(stack: CabinetStack, user: int) -> list[dict[str, Any]]:
    response = call(stack, user, f"/sheets?month={month(stack)}")
    assert response.status_code == 200, response.text
    return response.json()["sheets"]


def test_each_role_sees_its_own_scope(stack: CabinetStack) -> None:
    ids = stack.ids
    own = sheets(stack, stack.employee)
    assert own and all(sheet["department_ref"] == stack.sites.a for sheet in own)
    with get_db(stack.app).read_session() as session:
        of_a = set(session.scalars(select(Timesheet.id).where(Timesheet.department_ref == stack.sites.a)))
        of_b = set(session.scalars(select(Timesheet.id).where(Timesheet.department_ref == stack.sites.b)))
    assert {s["id"] for s in own} < of_a
    assert {s["id"] for s in sheets(stack, ids["client"])} == of_a
    assert {s["id"] for s in sheets(stack, ids["provider_b"])} == of_b
    assert sheets(stack, ids["hr"]) == []
    assert all(not s["editable"] for s in sheets(stack, ids["client"]))
    assert call(stack, ids["client"], "/sheets?month=декабрь").status_code == 400
    assert requests.get(f"{stack.install.public_url}/timesheets/api/sheets?month={month(stack)}",
                        timeout=30).status_code == 401


def test_cells_are_saved_by_their_owner_only(stack: CabinetStack) -> None:
    [mine, *_] = sheets(stack, stack.employee)
    first = mine["cells"][0]
    saved = call(stack, stack.employee, "/cells", {"edits": [
        {"timesheet_id": mine["id"], "day": 1, "text": "б", "version": first["version"]}]}, "POST")
    assert saved.status_code == 200 and saved.json()["saved"][0]["text"] == "Б"
    stale = call(stack, stack.employee, "/cells", {"edits": [
        {"timesheet_id": mine["id"], "day": 1, "text": "Я 8", "version": first["version"]}]}, "POST")
    assert stale.status_code == 409 and stale.json()["current"]["text"] == "Б"
    bad = call(stack, stack.employee, "/cells", {"edits": [
        {"timesheet_id": mine["id"], "day": 2, "text": "ЖЖ", "version": mine["cells"][1]["version"]}]}, "POST")
    assert bad.status_code == 400 and "не код табеля" in bad.json()["message"]
    other = next(s for s in sheets(stack, stack.ids["client"]) if s["id"] != mine["id"])
    for user in (stack.employee, stack.ids["client"], stack.ids["provider_b"]):
        refused = call(stack, user, "/cells", {"edits": [
            {"timesheet_id": other["id"] if user == stack.employee else mine["id"], "day": 3, "text": "В",
             "version": 1}]}, "POST")
        assert refused.status_code == 403 and refused.json() == REFUSED


def test_submitted_and_approved_at_once_by_the_client_manager(stack: CabinetStack) -> None:
    [mine, *_] = sheets(stack, stack.employee)
    submitted = call(stack, stack.employee, "/submit", {"ids": [mine["id"]]}, "POST")
    assert submitted.status_code == 200 and submitted.json()["started"] == [mine["id"]]
    assert call(stack, stack.employee, "/submit", {"ids": [mine["id"]]}, "POST").status_code == 409
    client = stack.ids["client"]
    tasks = wait_for(lambda: call(stack, client, "/approvals").json()["tasks"], "the client manager's task")
    assert [t["id"] for t in tasks] == [mine["id"]] and tasks[0]["cells"][0]["text"] == "Б"
    assert call(stack, stack.ids["client_b"], "/approvals").json()["tasks"] == []
    decision = {"decisions": [{"task_id": tasks[0]["task_id"], "approve": True}]}
    forged = call(stack, client, "/approvals", {**decision, "auth_id": stack.auth_id(stack.ids["client_b"])}, "POST")
    assert forged.status_code == 403 and forged.json() == REFUSED
    done = call(stack, client, "/approvals", {**decision, "auth_id": stack.auth_id(client)}, "POST")
    assert done.status_code == 200 and done.json()["done"] == [tasks[0]["task_id"]]


def test_summaries_for_managers_only(stack: CabinetStack) -> None:
    summary = call(stack, stack.ids["client"], f"/summary?month={month(stack)}")
    assert summary.status_code == 200 and "Итоги по кодам" in summary.json()["html"]
    assert call(stack, stack.employee, f"/summary?month={month(stack)}").status_code == 403
    assert call(stack, stack.ids["client_b"], f"/summary?month={month(stack)}&site={stack.sites.a}").status_code == 403


def test_the_pages_learn_each_viewers_scopes(stack: CabinetStack) -> None:
    ids = stack.ids
    leader = call(stack, ids["brigadier"], "/me").json()
    assert leader["month"] == month(stack) and leader["roles"] == ["brigade_leader"]
    assert [(s["ref"], s["group_id"], s["as"]) for s in leader["sites"]] == [(stack.sites.a, stack.groups["a"],
                                                                               ["brigade_leader"])]
    assert leader["brigades"] == [{"leader": ids["brigadier"], "name": "моя бригада", "sites": [stack.sites.a]}]
    assert {"letter": "Я", "name": "Продолжительность работы в дневное время", "hours": True} in leader["codes"]
    client = call(stack, ids["client"], "/me").json()
    assert client["roles"] == ["client_manager"] and stack.sites.b not in {s["ref"] for s in client["sites"]}
    assert client["brigades"] == [{"leader": ids["brigadier"], "name": f"бригадир № {ids['brigadier']}",
                                   "sites": [stack.sites.a]}]
    provider_b = call(stack, ids["provider_b"], "/me").json()
    assert [s["ref"] for s in provider_b["sites"]] == [stack.sites.b] and provider_b["brigades"] == []
    own = call(stack, stack.employee, "/me").json()
    assert (own["roles"], own["sites"], own["brigades"]) == (["employee"], [], [])
    assert {(s["group_id"], s["month"]) for s in sheets(stack, ids["brigadier"])} == {(stack.groups["a"], month(stack))}
    assert all(s["editable"] for s in sheets(stack, ids["brigadier"]) if s["status"] == "draft")


def test_brigade_summaries_for_the_leader_and_the_sites_managers(stack: CabinetStack) -> None:
    ids, query = stack.ids, f"/summary?month={month(stack)}&leader={stack.ids['brigadier']}"
    for user in (ids["brigadier"], ids["client"], ids["provider"]):
        answer = call(stack, user, query)
        assert answer.status_code == 200 and "Сводный табель бригады" in answer.json()["html"]
    for user in (ids["client_b"], ids["provider_b"], stack.employee):
        assert call(stack, user, query).json() == REFUSED


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def test_the_t13_downloads_for_the_sites_managers_only(stack: CabinetStack) -> None:
    ids = stack.ids
    answer = call(stack, ids["provider_b"], f"/t13?site={stack.sites.b}&month={month(stack)}")
    assert answer.status_code == 200 and answer.headers["Content-Type"] == XLSX
    with get_db(stack.app).read_session() as session:
        names = set(session.scalars(select(Timesheet.employee_name).where(Timesheet.department_ref == stack.sites.b)))
    sheet = openpyxl.load_workbook(io.BytesIO(answer.content)).active
    listed = {str(sheet.cell(row=c.row, column=2).value).split(",")[0] for c in sheet["A"] if isinstance(c.value, int)}
    assert listed == names
    for user, site in ((ids["provider_b"], stack.sites.a), (stack.employee, stack.sites.a), (ids["client"], "")):
        assert call(stack, user, f"/t13?site={site}&month={month(stack)}").json() == REFUSED
    empty = call(stack, ids["client"], f"/t13?site={stack.sites.a}&month=2001-01")
    assert empty.status_code == 404 and "табелей подразделения нет" in empty.json()["message"]
    assert call(stack, ids["client"], f"/t13?site={stack.sites.a}&month=12.2026").status_code == 400


def test_a_portal_that_does_not_answer_leaves_a_message_and_the_submission(stack: CabinetStack) -> None:
    leader = stack.ids["brigadier"]
    draft = next(s for s in sheets(stack, leader) if s["status"] == "draft")
    stack.hook("faults", {"method": "bizproc.task.list", "kind": "error", "status": 500})
    stack.hook("faults", {"method": "lists.field.get", "kind": "error", "status": 500})
    try:
        tasks = call(stack, stack.ids["client"], "/approvals")
        submitted = call(stack, leader, "/submit", {"ids": [draft["id"]]}, "POST")
    finally:
        stack.hook("faults", method="DELETE")
    assert tasks.status_code == 503 and tasks.json()["message"] == "Битрикс24 сейчас не ответил, попробуйте позже."
    assert submitted.status_code == 200 and submitted.json()["submitted"] == [draft["id"]]
    assert "запустится автоматически" in submitted.json()["waiting"][str(draft["id"])]
    assert next(s for s in sheets(stack, leader) if s["id"] == draft["id"])["status"] == "submitted"


def test_the_cabinets_cards_list_the_employees_timesheets_and_those_waiting_for_the_viewer(stack: CabinetStack) -> None:
    group = stack.groups["a"]
    refresh_outcomes(stack.app)  # what the workflows decided meanwhile, as a site's card applies it when it opens
    with get_db(stack.app).read_session() as session:
        own = list(session.scalars(select(Timesheet).where(Timesheet.user_id == stack.employee)))
        waiting, at_provider = (Counter(session.scalars(select(Timesheet.period_start).where(
            Timesheet.group_id == group, Timesheet.status == status))) for status in ("submitted", "approved_by_client"))
    card = stack.api(stack.employee, "/cabinet").json()["timesheets"]
    assert card["available"] and [item["status"] for item in card["items"]] == [STATUS_TITLES[ts.status] for ts in own]
    assert card["items"][0]["title"] == f"{month_title(own[0].period_start).capitalize()} — {own[0].site_name}"
    assert card["items"][0]["open"] == {"page": "timesheets", "part": "fill", "month": f"{own[0].period_start:%Y-%m}",
                                        "group_id": own[0].group_id}  # the card leads to that month's grid
    assert waiting, "earlier tests submitted timesheets of site a"
    for user, expected in ((stack.ids["client"], [f"Табели за {month_title(period)}: {count}"
                                                  for period, count in sorted(waiting.items())]),
                           (stack.ids["brigadier"], []),
                           (stack.ids["provider"], [f"Табели за {month_title(period)}: {count}"
                                                    for period, count in sorted(at_provider.items())])):
        slot = stack.api(user, f"/sites/{group}/approvals").json()["timesheets"]
        assert [item["title"] for item in slot["items"]] == expected, user
        assert all(item["open"]["part"] == "approve" and item["open"]["group_id"] == group for item in slot["items"])


OTHER_PORTAL = "f" * 32


def _copy_to_other_portal(stack: CabinetStack) -> list[int]:
    """Every timesheet again as another portal's, with the same user, group, site and list element ids
    (ids collide across portals): what that portal's own sync and approvals would have written."""
    with get_db(stack.app).session() as session:
        copies = []
        for timesheet in session.scalars(select(Timesheet).where(Timesheet.member_id == stack.install.member_id)):
            values = {column: getattr(timesheet, column) for column in Timesheet.__table__.columns.keys()}
            copy = Timesheet(**{**values, "id": None, "member_id": OTHER_PORTAL})
            copy.days = [TimesheetDay(**{column: getattr(day, column) for column in TimesheetDay.__table__.columns.keys()
                                         if column != "timesheet_id"}) for day in timesheet.days]
            session.add(copy)
            copies.append(copy)
        session.flush()
        return [copy.id for copy in copies]


def test_another_portals_timesheets_with_the_same_ids_stay_out_of_every_view(stack: CabinetStack) -> None:
    """Last in this module: it adds rows of another portal and removes them at the end."""
    ids, group = stack.ids, stack.groups["a"]
    viewers = (stack.employee, ids["client"], ids["provider"], ids["provider_b"], ids["brigadier"])
    site = f"/summary?month={month(stack)}&site={stack.sites.a}"

    def views() -> dict[str, Any]:
        return {"sheets": {user: sorted(s["id"] for s in sheets(stack, user)) for user in viewers},
                "summary": call(stack, ids["client"], site).json(),
                "tasks": sorted(t["id"] for t in call(stack, ids["client"], "/approvals").json()["tasks"]),
                "cards": [stack.api(stack.employee, "/cabinet").json()["timesheets"]]
                + [stack.api(user, f"/sites/{group}/approvals").json()["timesheets"]
                   for user in (ids["client"], ids["provider"], ids["brigadier"])]}

    before = views()
    copies = _copy_to_other_portal(stack)
    try:
        with get_db(stack.app).read_session() as session:
            statuses = dict(session.execute(select(Timesheet.id, Timesheet.status)
                                            .where(Timesheet.id.in_(copies))).tuples().all())
        assert copies and views() == before
        refresh_outcomes(stack.app)  # the approval state of this portal's timesheets, not of the other's
        with get_db(stack.app).read_session() as session:
            assert dict(session.execute(select(Timesheet.id, Timesheet.status)
                                        .where(Timesheet.id.in_(copies))).tuples().all()) == statuses
            theirs = session.scalar(select(Timesheet).where(Timesheet.id.in_(copies),
                                                            Timesheet.user_id == stack.employee).limit(1))
        edit = {"timesheet_id": theirs.id, "day": 1, "text": "Б", "version": 1}
        assert call(stack, stack.employee, "/cells", {"edits": [edit]}, "POST").status_code == 403
        assert call(stack, stack.employee, "/submit", {"ids": [theirs.id]}, "POST").status_code == 403
    finally:
        with get_db(stack.app).session() as session:
            for timesheet in session.scalars(select(Timesheet).where(Timesheet.member_id == OTHER_PORTAL)):
                session.delete(timesheet)
