"""Every page in real Chromium as each role, opened through the portal's frame POST with third-party
cookies blocked; content checked against the emulators, screenshots saved (desktop and phone)."""
from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Frame, Page, sync_playwright

from b24app.frames import EXTRA_ANCESTORS_KEY
from cabinet.data import directory
from tests.cabinet.browser import SCREENSHOTS, PortalFrame, Served, browser_context, cookie_setter
from tests.cabinet.stack import CabinetStack

@pytest.fixture(scope="module")
def portal(stack: CabinetStack) -> Iterator[PortalFrame]:
    def form_for(query: dict[str, list[str]]) -> dict[str, str]:
        user_id = int(query["user"][0])
        return {"AUTH_ID": stack.auth_id(user_id), "AUTH_EXPIRES": "3600", "REFRESH_ID": "unused",
                "member_id": stack.install.member_id, "PLACEMENT": query.get("placement", ["DEFAULT"])[0],
                "PLACEMENT_OPTIONS": query.get("options", ["{}"])[0], "status": "L"}

    frame = PortalFrame(stack.install.public_url, form_for)
    stack.app.config[EXTRA_ANCESTORS_KEY] = [frame.url]  # the portal page's origin may frame the app
    yield frame
    frame.stop()


@pytest.fixture(scope="module")
def playwright() -> Iterator[Any]:
    with sync_playwright() as running:
        yield running


def open_app(page: Page, portal: PortalFrame, user_id: int, placement: str = "DEFAULT",
             options: dict | None = None) -> Frame:
    """Open the portal page as ``user_id``; the app's frame once its page is drawn."""
    query = f"user={user_id}&placement={placement}&options={json.dumps(options or {})}"
    with page.expect_event("framenavigated", predicate=lambda f: f.url.endswith("/b24/app")) as navigated:
        page.goto(f"{portal.url}/open?{query}")
    frame = navigated.value
    frame.wait_for_selector("[data-test=title]")
    return frame


NEXT_PAINT = "() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(() => done(true))))"


def settle(frame: Frame) -> None:
    """Wait until no card shows a skeleton, then size the iframe to its content as resizeWindow does."""
    frame.wait_for_function("() => !document.querySelector('.animate-pulse')")
    height = 0
    for _ in range(10):  # until the content's height stops changing
        frame.wait_for_function(NEXT_PAINT)
        measured = frame.evaluate("() => document.documentElement.scrollHeight")
        if measured == height:
            return
        height = measured
        frame.page.evaluate(f"() => document.getElementById('app').style.height = '{height}px'")


def shoot(page: Page, name: str) -> None:
    """The whole portal page: the viewport grows to it first, since Chromium paints a cross-site
    frame only inside the viewport (a full-page capture beyond it comes out blank)."""
    height = page.evaluate("() => document.documentElement.scrollHeight")
    page.set_viewport_size({"width": page.viewport_size["width"], "height": height})
    page.evaluate(NEXT_PAINT)
    page.frame(name="app").wait_for_function(NEXT_PAINT)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))


@pytest.mark.parametrize("phone", [False, True], ids=["desktop", "phone"])
def test_the_employee_cabinet(stack: CabinetStack, portal: PortalFrame, playwright: Any, phone: bool) -> None:
    person = directory(stack.app).person_of_user(stack.employee)
    with browser_context(playwright, phone=phone) as context:
        page = context.new_page()
        frame = open_app(page, portal, stack.employee)
        frame.wait_for_selector("[data-test=vacation-days]")
        frame.wait_for_selector("[data-test=request]")
        settle(frame)
        assert frame.inner_text("[data-test=person-name]") == person.name
        job = person.employments[0]
        assert frame.inner_text("[data-test=legal-entity]") == job.legal_entity
        assert frame.inner_text("[data-test=personnel-number]") == job.personnel_number
        assert "Клара Клиентова" in frame.inner_text("[data-test=managers-client]")
        assert "Пётр Провайдеров" in frame.inner_text("[data-test=managers-provider]")
        assert frame.locator("[data-test=request-vacation]").count() == 1
        assert "ждёт согласования" in frame.inner_text("[data-test=request]")
        assert frame.locator("[data-test=not-yet]").count() >= 2  # documents and timesheets: labelled, not faked
        assert context.cookies() == []
        shoot(page, f"employee-{'phone' if phone else 'desktop'}")


@pytest.mark.parametrize("phone", [False, True], ids=["desktop", "phone"])
def test_the_client_manager_view(stack: CabinetStack, portal: PortalFrame, playwright: Any, phone: bool) -> None:
    people = directory(stack.app).people_of_site(directory(stack.app).site(stack.groups["a"]))
    with browser_context(playwright, phone=phone) as context:
        page = context.new_page()
        frame = open_app(page, portal, stack.ids["client"])
        frame.click(f"[data-test=site-{stack.groups['a']}]")
        frame.wait_for_selector("[data-test=approval]")
        frame.wait_for_function(f"() => document.querySelectorAll('[data-test=person]').length === {len(people)}")
        settle(frame)
        assert stack.task["NAME"] in frame.inner_text("[data-test=approval]")
        assert frame.locator(f"[data-test=site-{stack.groups['b']}]").count() == 0
        shoot(page, f"client-manager-{'phone' if phone else 'desktop'}")


def test_the_workgroup_tab_opens_that_site(stack: CabinetStack, portal: PortalFrame, playwright: Any) -> None:
    people = directory(stack.app).people_of_site(directory(stack.app).site(stack.groups["b"]))
    with browser_context(playwright) as context:
        page = context.new_page()
        frame = open_app(page, portal, stack.ids["client_b"], "SONET_GROUP_DETAIL_TAB", {"GROUP_ID": stack.groups["b"]})
        frame.wait_for_selector("[data-test=person]")
        assert frame.locator("[data-test=person]").count() == len(people)
        refused = open_app(page, portal, stack.ids["client_b"], "SONET_GROUP_DETAIL_TAB",
                           {"GROUP_ID": stack.groups["a"]})
        assert "нет доступа" in refused.inner_text("[data-test=refused]")
        assert refused.locator("[data-test=person]").count() == 0


@pytest.mark.parametrize("phone", [False, True], ids=["desktop", "phone"])
def test_the_provider_manager_view(stack: CabinetStack, portal: PortalFrame, playwright: Any, phone: bool) -> None:
    sites = [s for s in directory(stack.app).sites() if s.legal_entity_ref == next(
        x.legal_entity_ref for x in directory(stack.app).sites() if x.group_id == stack.groups["b"])]
    with browser_context(playwright, phone=phone) as context:
        page = context.new_page()
        frame = open_app(page, portal, stack.ids["provider_b"])
        frame.wait_for_selector("[data-test=last-sync]")
        settle(frame)
        assert frame.locator("[data-test=department]").count() == len(sites)
        assert frame.locator("[data-test=legal-entity]").count() == 1
        shoot(page, f"provider-manager-{'phone' if phone else 'desktop'}")


@pytest.mark.parametrize("phone", [False, True], ids=["desktop", "phone"])
def test_the_admin_console(stack: CabinetStack, portal: PortalFrame, playwright: Any, phone: bool) -> None:
    with browser_context(playwright, phone=phone) as context:
        page = context.new_page()
        frame = open_app(page, portal, stack.ids["admin"])
        frame.wait_for_selector("[data-test=portal-status]")
        frame.click("[data-test=show-plan]")
        frame.click("[data-test=check-templates]")
        frame.wait_for_selector("[data-test=plan-users_create]")
        frame.wait_for_selector("[data-test=templates]")
        settle(frame)
        assert frame.inner_text("[data-test=portal-status]") == "установлено"
        assert frame.inner_text("[data-test=plan-users_create]") == "пригласить: 0"
        assert "1C" not in frame.inner_text("[data-test=onec]") and "отвечает" in frame.inner_text("[data-test=onec]")
        assert "ONAPPINSTALL" in frame.inner_text("[data-test=events]").upper()
        assert frame.locator("[data-test=sync-runs] tr").count() == len(stack.api(stack.ids["admin"], "/admin")
                                                                        .json()["sync_runs"])
        shoot(page, f"admin-{'phone' if phone else 'desktop'}")


def test_a_role_without_pages_sees_a_message_not_someone_elses_data(stack: CabinetStack, portal: PortalFrame,
                                                                     playwright: Any) -> None:
    nobody = int(stack.hook("users", {"NAME": "Нина", "LAST_NAME": "Посторонняя", "EMAIL": "nina@example.ru"})["ID"])
    with browser_context(playwright) as context:
        frame = open_app(context.new_page(), portal, nobody)
        frame.wait_for_selector("[data-test=nothing]")
        assert frame.locator("[data-test=person], [data-test=department], [data-test=portal]").count() == 0


@pytest.mark.parametrize("blocked", [True, False], ids=["blocked", "allowed"])
def test_third_party_cookies_are_blocked_in_the_test_browser(stack: CabinetStack, portal: PortalFrame,
                                                             playwright: Any, blocked: bool) -> None:
    """The profile setting is in effect: a cookie set on the app's host inside the portal's frame is not
    stored (and, as a control, is stored when the same browser allows third-party cookies)."""
    probe = Served(cookie_setter)
    try:
        with browser_context(playwright, block_third_party_cookies=blocked) as context:
            page = context.new_page()
            frame = open_app(page, portal, stack.employee)
            frame.goto(f"{probe.url}/")
            frame.wait_for_selector("#done")
            stored = [(c["name"], c["domain"]) for c in context.cookies()]
            assert stored == ([] if blocked else [("probe", "127.0.0.1")])
    finally:
        probe.stop()
