"""The timesheet pages in real Chromium, opened through the emulated portal's frame POST: a brigade
leader fills the brigade's month with the keyboard only (typing codes and hours, a range filled at once,
a week copied onto the others, an undo, a value the server refuses, a save that meets a network error)
and submits it; the client manager approves it in the app, returning one timesheet with a comment that
the leader corrects on a phone and submits again; the provider manager completes the Bitrix24 tasks;
the summary shows both approvals and the T-13 downloaded from the page adds up to the saved days.
Screenshots of each step go to tests/output/screenshots."""
from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import openpyxl
import pytest
import requests
from playwright.sync_api import Frame, Page
from sqlalchemy import select

from b24app.bitrix import B24Client
from b24app.db import get_db
from b24app.verify import OneOffToken
from bizproc_templates.demo import wait_for
from tests.cabinet.browser import NARROW_PHONE, browser_context, open_app, overflowing, portal_page, settle, shoot
from tests.cabinet.stack import CabinetStack
from tests.timesheets.stack import timesheet_stack
from timesheets.approval import open_tasks, process_list
from timesheets.calendar import month_title
from timesheets.codes import parse_day
from timesheets.exports.t13 import ABSENCE_COLUMNS, MONTH_COLUMN
from timesheets.jobs import approval_cycle
from timesheets.models import Timesheet
from timesheets.sheets import cells

WEEK = 7
RETURNED_WITH = "1 числа была ночная смена, а не дневная: проверьте"
T = TypeVar("T")


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CabinetStack]:
    built = timesheet_stack(tmp_path_factory.mktemp("timesheet_pages"))
    yield built
    built.stop()


@pytest.fixture(scope="module")
def portal(stack: CabinetStack) -> str:
    return portal_page(stack)


def brigade(stack: CabinetStack) -> list[tuple[int, list[str]]]:
    """The site's timesheets as the grid orders them (by name), with their days' texts as saved."""
    with get_db(stack.app).read_session() as session:
        rows = session.scalars(select(Timesheet).where(Timesheet.department_ref == stack.sites.a)
                               .order_by(Timesheet.site_name, Timesheet.employee_name))
        return [(ts.id, [cell.text for cell in cells(session, ts.id)]) for ts in rows]


def statuses(stack: CabinetStack) -> set[str]:
    with get_db(stack.app).read_session() as session:
        return set(session.scalars(select(Timesheet.status).where(Timesheet.department_ref == stack.sites.a)))


def open_timesheets(page: Page, portal: str, stack: CabinetStack, user: int) -> Frame:
    """The timesheets of site a, as a deep link from a notification opens them."""
    return open_app(page, portal, stack, user, "REST_APP_URI", {"page": "timesheets", "group_id": str(stack.groups["a"])})


def keys(page: Page, *pressed: str) -> None:
    for key in pressed:
        page.keyboard.press(key)


def saved(frame: Frame) -> None:
    frame.wait_for_selector("[data-test=save-state][data-state=saved]")


def beside_playwright(call: Callable[[], T]) -> T:
    """Run ``call`` in its own thread: Playwright's sync API keeps an event loop running in this one, and
    the REST client's list reads run their own."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(call).result()


def settled_cycle(stack: CabinetStack, expected: set[str]) -> None:
    """The scheduled approval job, run until the site's timesheets are in the ``expected`` statuses."""
    def probe() -> bool:
        approval_cycle(stack.app)
        return statuses(stack) == expected
    beside_playwright(lambda: wait_for(probe, f"табели площадки в статусах {expected}"))


def test_a_brigade_month_filled_by_keyboard_approved_on_both_sides_and_exported(
        stack: CabinetStack, portal: str, playwright: Any, tmp_path: Path) -> None:
    before = brigade(stack)
    people = len(before)
    assert people >= 3, "site a of the generated company has a brigade"
    leader, client, provider = stack.ids["brigadier"], stack.ids["client"], stack.ids["provider"]
    with browser_context(playwright) as context:
        page = context.new_page()
        frame = open_timesheets(page, portal, stack, leader)
        frame.wait_for_selector("[data-test=grid]")
        assert frame.locator("[data-test=grid-row]").count() == people
        frame.focus("[data-test=grid-input]")  # the page puts the focus there itself; made sure of here

        # the first person is sick on the 1st (typed, Enter goes down), then on the 2nd-4th (a range at once)
        page.keyboard.type("б")
        keys(page, "Enter", "ArrowUp", "ArrowRight", "Shift+ArrowRight", "Shift+ArrowRight")
        page.keyboard.type("Б")
        keys(page, "Control+Enter")
        # on the 8th a 10-hour day, then the week 8-14 copied onto everyone else
        keys(page, "Home", *["ArrowRight"] * WEEK)
        page.keyboard.type("10")
        keys(page, "Enter", "ArrowUp", *["Shift+ArrowRight"] * (WEEK - 1), "Control+c",
             "ArrowDown", "Home", *["ArrowRight"] * WEEK, *["Shift+ArrowDown"] * (people - 2), "Control+v")
        saved(frame)
        shoot(page, "timesheets-1-grid", phone=False)

        # a mistake undone, a value the server refuses (marked, with its reason) and then undone too
        keys(page, "Control+ArrowUp", "Home", "ArrowDown", *["ArrowRight"] * 20)
        page.keyboard.type("ОТ")
        keys(page, "Enter", "Control+z")
        keys(page, "ArrowUp")
        page.keyboard.type("ЖЖ")
        keys(page, "Enter")
        frame.wait_for_selector(".ts-grid__refused")
        assert "не код табеля" in frame.get_attribute(".ts-grid__refused", "title")
        keys(page, "Control+z")
        frame.wait_for_selector(".ts-grid__refused", state="detached")

        # the network fails while a cell is saved: it stays on screen, marked, and is sent again
        page.route("**/timesheets/api/cells", lambda route: route.abort())
        keys(page, "Control+ArrowUp", "Home", *["ArrowDown"] * (people - 1))
        page.keyboard.type("Я/Н 6/2")
        keys(page, "Enter")
        frame.wait_for_selector("[data-test=unsaved]")
        assert frame.locator(".ts-grid__unsaved").count() == 1
        shoot(page, "timesheets-2-unsaved", phone=False)
        page.unroute("**/timesheets/api/cells")
        saved(frame)

        after = brigade(stack)
        first, rest = after[0][1], after[1:]
        assert first[:4] == ["Б"] * 4 and first[7] == "Я 10"
        assert all(days[7:7 + WEEK] == first[7:7 + WEEK] for _, days in rest)
        assert after[-1][1][0] == "Я/Н 6/2"
        outside_the_week = lambda days: [text for day, text in enumerate(days) if not 7 <= day < 7 + WEEK]  # noqa: E731
        assert outside_the_week(after[1][1]) == outside_the_week(before[1][1])  # the undone 21st is as planned

        frame.click("[data-test=submit]")
        frame.wait_for_selector(f"text=Отправлено на согласование: {people}")
        assert frame.locator("[data-test=row-status]").count() == people
        shoot(page, "timesheets-3-submitted", phone=False)

    beside_playwright(lambda: wait_for(lambda: len(_tasks(stack, client)) == people, "задания менеджера клиента"))
    with browser_context(playwright) as context:
        page = context.new_page()
        frame = open_timesheets(page, portal, stack, client)
        frame.wait_for_selector("[data-test=approval-task]")
        assert frame.locator("[data-test=approval-task]").count() == people
        assert frame.locator("[data-test=differences]").count() == people  # everyone's week differs from the plan
        settle(frame)
        shoot(page, "timesheets-4-client-approval", phone=False)
        frame.locator("[data-test=approval-task]").last.locator("input[type=checkbox]").check()
        frame.click("[data-test=return]")
        frame.fill("[data-test=return-comment]", RETURNED_WITH)
        frame.click("[data-test=return-confirm]")
        frame.wait_for_selector("text=Возвращено: 1")
        frame.check("[data-test=choose-all]")
        frame.click("[data-test=approve]")
        frame.wait_for_selector(f"text=Согласовано: {people - 1}")
    settled_cycle(stack, {"approved_by_client", "returned"})

    # the leader, on a phone now, sees why it came back, corrects the day and sends it again
    with browser_context(playwright, phone=True) as context:
        page = context.new_page()
        frame = open_timesheets(page, portal, stack, leader)
        frame.wait_for_selector(f"text={RETURNED_WITH}")
        frame.focus("[data-test=grid-input]")
        keys(page, "Control+ArrowDown", "Home")
        page.keyboard.type("Я 8")
        keys(page, "Enter")
        saved(frame)
        settle(frame)
        shoot(page, "timesheets-5-returned", phone=True)
        frame.click("[data-test=submit]")
        frame.wait_for_selector("text=Отправлено на согласование: 1")
    beside_playwright(lambda: wait_for(lambda: len(_tasks(stack, client)) == 1, "задание после исправления"))
    with browser_context(playwright) as context:
        frame = open_timesheets(context.new_page(), portal, stack, client)
        frame.wait_for_selector("[data-test=approval-task]")
        frame.check("[data-test=choose-all]")
        frame.click("[data-test=approve]")
        frame.wait_for_selector("text=Согласовано: 1")
    settled_cycle(stack, {"approved_by_client"})

    # the provider manager decides in Bitrix24's own task list: the same tasks, completed as that user
    beside_playwright(lambda: complete_in_bitrix24(stack, provider, people))
    settled_cycle(stack, {"approved_by_provider"})

    with browser_context(playwright) as context:
        page = context.new_page()
        frame = open_timesheets(page, portal, stack, provider)
        frame.click("[data-test=part-summary]")
        frame.wait_for_selector("[data-test=summary] .ts-summary")
        assert f"Согласован провайдером: {people}" in frame.inner_text("[data-test=summary]")
        settle(frame)
        shoot(page, "timesheets-6-summary", phone=False)
        with page.expect_download() as downloading:
            frame.click("[data-test=download-t13]")
        path = tmp_path / "t13.xlsx"
        downloading.value.save_as(path)
    assert downloading.value.suggested_filename.startswith("Т-13 ") and path.stat().st_size > 0
    assert_t13_adds_up(path, brigade(stack))


def complete_in_bitrix24(stack: CabinetStack, user: int, expected: int) -> None:
    """The user approves each of their tasks as Bitrix24's task list does (bizproc.task.complete as them)."""
    tasks = wait_for(lambda: len(found := _tasks(stack, user)) == expected and found, "задания менеджера провайдера")
    as_user = B24Client(f"{stack.install.portal.url}/rest/", tokens=OneOffToken(stack.auth_id(user)))
    for task in tasks:
        as_user.call("bizproc.task.complete", {"TASK_ID": task.task_id, "STATUS": 1, "COMMENT": ""})


def _tasks(stack: CabinetStack, user: int) -> list[Any]:
    admin = stack.admin()
    db = get_db(stack.app)
    return open_tasks(admin, db, process_list(admin, db, stack.install.member_id), user, stack.groups["a"])


def assert_t13_adds_up(path: Path, saved_days: list[tuple[int, list[str]]]) -> None:
    """Each person's days and hours of the month, the sick days, and the total of the form."""
    sheet = openpyxl.load_workbook(path).active
    firsts = [c.row for c in sheet["A"] if isinstance(c.value, int)]
    assert len(firsts) == len(saved_days)
    expected = []
    for _, days in saved_days:
        values = [parse_day(text) for text in days]
        worked = [v for v in values if v.worked_minutes]
        expected.append((len(worked), sum(v.worked_minutes for v in values) / 60))
    got = [(sheet.cell(row=row, column=MONTH_COLUMN).value, sheet.cell(row=row + 2, column=MONTH_COLUMN).value)
           for row in firsts]
    assert sorted(got) == sorted(expected)
    sick = [row for row in firsts if sheet.cell(row=row, column=ABSENCE_COLUMNS[0]).value == "Б"]
    assert len(sick) == 1 and sheet.cell(row=sick[0], column=ABSENCE_COLUMNS[1]).value == "4"
    total = next(c.row for c in sheet["B"] if c.value == "Итого")
    assert sheet.cell(row=total, column=MONTH_COLUMN).value == sum(days for days, _ in expected)
    assert sheet.cell(row=total + 2, column=MONTH_COLUMN).value == sum(hours for _, hours in expected)


def test_the_cabinet_cards_lead_to_the_timesheet_views_and_a_manager_sees_the_current_state(
        stack: CabinetStack, portal: str, playwright: Any) -> None:
    """Site b: an employee submits their timesheet; the client manager's «Табели» card leads to the approval of
    that month; the client approves in Bitrix24's own task list and, with no approval job run since, the
    provider manager opening the approval view sees it at the provider's step; the employee's card leads to
    their month's grid."""
    with get_db(stack.app).read_session() as session:
        mine = session.scalars(select(Timesheet).where(Timesheet.department_ref == stack.sites.b,
                                                       Timesheet.user_id.is_not(None))
                               .order_by(Timesheet.employee_name)).first()
    employee, client, provider = mine.user_id, stack.ids["client_b"], stack.ids["provider_b"]
    submitted = beside_playwright(lambda: requests.post(
        f"{stack.install.public_url}/timesheets/api/submit", json={"ids": [mine.id]}, timeout=60,
        headers={"Authorization": f"Bearer {stack.session(employee)}"}))
    assert submitted.status_code == 200 and submitted.json()["started"] == [mine.id], submitted.text
    task = beside_playwright(lambda: wait_for(lambda: _tasks_of(stack, client, "b"), "задание менеджера клиента"))[0]

    with browser_context(playwright, phone=True, width=NARROW_PHONE) as context:
        page = context.new_page()
        frame = open_app(page, portal, stack, client)
        card = frame.locator("[data-test=slot-link]", has_text=f"Табели за {month_title(mine.period_start)}: 1")
        card.click()
        frame.wait_for_selector("[data-test=approval-task]")
        assert frame.inner_text("[data-test=month]") == month_title(mine.period_start)
        assert frame.locator("[data-test=approval-task]").count() == 1 and "клиент" in frame.inner_text("[data-test=approval-task]")
        settle(frame)
        assert overflowing(frame)["out"] == []
        shoot(page, "timesheets-card-to-approval-375", phone=True)

    # the client decides in Bitrix24's task list; no approval job runs afterwards
    as_client = B24Client(f"{stack.install.portal.url}/rest/", tokens=OneOffToken(stack.auth_id(client)))
    beside_playwright(lambda: as_client.call("bizproc.task.complete", {"TASK_ID": task.task_id, "STATUS": 1, "COMMENT": ""}))
    beside_playwright(lambda: wait_for(lambda: _tasks_of(stack, provider, "b"), "задание менеджера провайдера"))
    assert _status(stack, mine.id) == "submitted"  # what the app knew before anyone opened a page

    with browser_context(playwright) as context:
        frame = open_app(context.new_page(), portal, stack, provider, "REST_APP_URI",
                         {"page": "timesheets", "group_id": str(stack.groups["b"])})
        frame.click("[data-test=part-approve]")
        row = frame.locator("[data-test=approval-task]", has_text=mine.employee_name)
        row.wait_for()
        assert "провайдер" in row.inner_text()
    assert _status(stack, mine.id) == "approved_by_client"

    with browser_context(playwright, phone=True, width=NARROW_PHONE) as context:
        frame = open_app(context.new_page(), portal, stack, employee)
        card = frame.locator("[data-test=slot-item]", has_text=mine.site_name)
        assert "Согласован клиентом" in card.inner_text()
        card.locator("[data-test=slot-link]").click()
        frame.wait_for_selector("[data-test=grid]")
        assert frame.inner_text("[data-test=month]") == month_title(mine.period_start)
        assert frame.locator("[data-test=grid-row]").count() == 1


def _tasks_of(stack: CabinetStack, user: int, site: str) -> list[Any]:
    admin, db = stack.admin(), get_db(stack.app)
    return open_tasks(admin, db, process_list(admin, db, stack.install.member_id), user, stack.groups[site])


def _status(stack: CabinetStack, timesheet_id: int) -> str:
    with get_db(stack.app).read_session() as session:
        return session.get(Timesheet, timesheet_id).status
