"""Every page in real Chromium as each role, opened through the portal's frame POST with third-party
cookies blocked; content checked against the emulators, screenshots saved (desktop and phone)."""
from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from typing import Any

import pytest

from b24app.frames import get_sessions
from cabinet.data import directory
from tests.cabinet.browser import (NARROW_PHONE, Served, browser_context, cookie_setter, open_app, overflowing,
                                   portal_page, settle, shoot)
from tests.cabinet.stack import CabinetStack

ACT = "Правила внутреннего трудового распорядка"
ACT_CONTENT = b"%PDF-1.4 act"


@pytest.fixture(scope="module")
def portal(stack: CabinetStack) -> str:
    return portal_page(stack)


@pytest.fixture(scope="module")
def papers(stack: CabinetStack) -> str:
    """An act published to the employee and a certificate 1C printed for them; the certificate's ref."""
    stack.publish_act("ПВТР-2026", ACT, stack.drive_file("ПВТР.pdf", ACT_CONTENT), [stack.employee])
    certificate = stack.request_in_1c(stack.employee, "certificate_2ndfl", {"year": 2026})
    stack.onec(f"documents/{certificate.ref}/post", "POST")
    return certificate.ref


@pytest.mark.parametrize("phone", [False, True], ids=["desktop", "phone"])
def test_the_employee_cabinet(stack: CabinetStack, portal: str, papers: str, playwright: Any, phone: bool) -> None:
    person = directory(stack.app).person_of_user(stack.employee)
    with browser_context(playwright, phone=phone) as context:
        page = context.new_page()
        frame = open_app(page, portal, stack, stack.employee)
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
        frame.wait_for_selector("[data-test=download-certificate]")
        frame.wait_for_selector("[data-test=regulation]")
        assert frame.locator("[data-test=not-yet]").count() == 0  # no card left saying «not yet»
        assert frame.locator("[data-test=request-lna_acknowledgement]").count() == 0  # HR publishes acts, not employees
        assert context.cookies() == []
        shoot(page, "employee", phone=phone)


def test_on_a_375_px_phone_the_employee_reads_an_act_acknowledges_it_and_downloads_a_certificate(
        stack: CabinetStack, portal: str, papers: str, playwright: Any) -> None:
    with browser_context(playwright, phone=True, width=NARROW_PHONE) as context:
        page = context.new_page()
        frame = open_app(page, portal, stack, stack.employee)
        frame.wait_for_selector("[data-test=regulation]")
        frame.wait_for_selector("[data-test=download-certificate]")
        settle(frame)
        assert overflowing(frame) == {"page": 0, "out": [], "clipped": []}  # every button wraps inside its card
        longest = max(frame.locator("[data-test^=request-]").all(), key=lambda b: len(b.inner_text()))
        assert longest.bounding_box()["height"] > frame.locator("[data-test=request-vacation]").bounding_box()["height"]
        shoot(page, "employee-375", phone=True)

        act = frame.locator("[data-test=regulation]", has_text=ACT)
        assert act.locator("[data-test=regulation-status]").inner_text() == "Не ознакомлен(а)"
        assert act.locator("[data-test=regulation-deadline]").inner_text() == "Ознакомиться до 31.01.2027"
        with page.expect_download() as opened:
            act.locator("[data-test=regulation-open]").click()
        assert opened.value.suggested_filename == "ПВТР.pdf"
        assert Path(opened.value.path()).read_bytes() == ACT_CONTENT
        act.locator("[data-test=regulation-acknowledge]").click()
        act.locator("[data-test=regulation-acknowledge]").wait_for(state="detached")
        assert act.locator("[data-test=regulation-status]").inner_text().startswith("Ознакомлен(а)")

        with page.expect_download() as certificate:
            frame.click("[data-test=download-certificate]")
        assert Path(certificate.value.path()).read_bytes().startswith(b"%PDF")
        assert certificate.value.suggested_filename.startswith("Справка ")
        settle(frame)
        shoot(page, "employee-acknowledged-375", phone=True)

    with browser_context(playwright, phone=True, width=NARROW_PHONE) as context:  # opened again: as the portal keeps it
        frame = open_app(context.new_page(), portal, stack, stack.employee)
        act = frame.locator("[data-test=regulation]", has_text=ACT)
        written = stack.api(stack.employee, "/cabinet/regulations").json()["acts"][0]["acknowledged_at"]  # by the workflow
        act.locator("[data-test=regulation-status]",
                    has_text=f"Ознакомлен(а) {dt.date.fromisoformat(written):%d.%m.%Y}").wait_for()
        assert act.locator("[data-test=regulation-acknowledge]").count() == 0


@pytest.mark.parametrize("who", ["client", "provider_b", "admin"])
def test_every_button_of_the_managers_pages_fits_a_375_px_phone(stack: CabinetStack, portal: str, playwright: Any,
                                                                 who: str) -> None:
    with browser_context(playwright, phone=True, width=NARROW_PHONE) as context:
        frame = open_app(context.new_page(), portal, stack, stack.ids[who])
        frame.wait_for_selector("[data-test=person], [data-test=last-sync], [data-test=portal-status]")
        settle(frame)
        assert overflowing(frame) == {"page": 0, "out": [], "clipped": []}


@pytest.mark.parametrize("phone", [False, True], ids=["desktop", "phone"])
def test_the_client_manager_view(stack: CabinetStack, portal: str, playwright: Any, phone: bool) -> None:
    people = directory(stack.app).people_of_site(directory(stack.app).site(stack.groups["a"]))
    with browser_context(playwright, phone=phone) as context:
        page = context.new_page()
        frame = open_app(page, portal, stack, stack.ids["client"])
        frame.click(f"[data-test=site-{stack.groups['a']}]")
        frame.wait_for_selector("[data-test=approval]")
        frame.wait_for_function(f"() => document.querySelectorAll('[data-test=person]').length === {len(people)}")
        settle(frame)
        assert stack.task["NAME"] in frame.inner_text("[data-test=approval]")
        assert frame.locator(f"[data-test=site-{stack.groups['b']}]").count() == 0
        shoot(page, "client-manager", phone=phone)


def test_the_workgroup_tab_opens_that_site(stack: CabinetStack, portal: str, playwright: Any) -> None:
    people = directory(stack.app).people_of_site(directory(stack.app).site(stack.groups["b"]))
    with browser_context(playwright) as context:
        page = context.new_page()
        frame = open_app(page, portal, stack, stack.ids["client_b"], "SONET_GROUP_DETAIL_TAB", {"GROUP_ID": stack.groups["b"]})
        frame.wait_for_selector("[data-test=person]")
        assert frame.locator("[data-test=person]").count() == len(people)
        frame.click("[data-test=open-timesheets]")  # the site's timesheets, one click from its tab
        frame.wait_for_selector("[data-test=no-tasks]")
        assert frame.inner_text("[data-test=site-name]") == directory(stack.app).site(stack.groups["b"]).name
        refused = open_app(page, portal, stack, stack.ids["client_b"], "SONET_GROUP_DETAIL_TAB",
                           {"GROUP_ID": stack.groups["a"]})
        assert "нет доступа" in refused.inner_text("[data-test=refused]")
        assert refused.locator("[data-test=person]").count() == 0


@pytest.mark.parametrize("phone", [False, True], ids=["desktop", "phone"])
def test_the_provider_manager_view(stack: CabinetStack, portal: str, playwright: Any, phone: bool) -> None:
    sites = [s for s in directory(stack.app).sites() if s.legal_entity_ref == next(
        x.legal_entity_ref for x in directory(stack.app).sites() if x.group_id == stack.groups["b"])]
    with browser_context(playwright, phone=phone) as context:
        page = context.new_page()
        frame = open_app(page, portal, stack, stack.ids["provider_b"])
        frame.wait_for_selector("[data-test=last-sync]")
        settle(frame)
        assert frame.locator("[data-test=department]").count() == len(sites)
        assert frame.locator("[data-test=legal-entity]").count() == 1
        shoot(page, "provider-manager", phone=phone)


@pytest.mark.parametrize("phone", [False, True], ids=["desktop", "phone"])
def test_the_admin_console(stack: CabinetStack, portal: str, playwright: Any, phone: bool) -> None:
    with browser_context(playwright, phone=phone) as context:
        page = context.new_page()
        frame = open_app(page, portal, stack, stack.ids["admin"])
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
        shoot(page, "admin", phone=phone)


def test_a_role_without_pages_sees_a_message_not_someone_elses_data(stack: CabinetStack, portal: str,
                                                                     playwright: Any) -> None:
    nobody = int(stack.hook("users", {"NAME": "Нина", "LAST_NAME": "Посторонняя", "EMAIL": "nina@example.ru"})["ID"])
    with browser_context(playwright) as context:
        frame = open_app(context.new_page(), portal, stack, nobody)
        frame.wait_for_selector("[data-test=nothing]")
        assert frame.locator("[data-test=person], [data-test=department], [data-test=portal]").count() == 0


def test_an_expired_session_is_renewed_through_the_portal_as_the_same_user(stack: CabinetStack, portal: str,
                                                                        playwright: Any) -> None:
    """The page left open past its session: its next request renews it with BX24's fresh AUTH_ID."""
    sessions = get_sessions(stack.app)
    with browser_context(playwright) as context:
        page = context.new_page()
        frame = open_app(page, portal, stack, stack.ids["client"])
        frame.wait_for_selector("[data-test=person]")
        renewals = []
        page.on("request", lambda request: renewals.append(request.url) if "/b24/frame/renew" in request.url else None)
        second = stack.api(stack.ids["client"], "/sites").json()["sites"][1]["group_id"]  # the first one is shown
        sessions.clock = lambda: time.time() + sessions.session_ttl_s + 60
        try:
            with page.expect_request(lambda request: "/b24/frame/renew" in request.url):
                frame.click(f"[data-test=site-{second}]")
            frame.wait_for_selector(f"text=Люди на площадке «{directory(stack.app).site(second).name}»")
            people = directory(stack.app).people_of_site(directory(stack.app).site(second))
            frame.wait_for_function(f"() => document.querySelectorAll('[data-test=person]').length === {len(people)}")
        finally:
            sessions.clock = time.time
        assert len(renewals) == 1 and frame.locator("[data-test=error]").count() == 0
        assert page.evaluate("() => window.portalMessages.map(m => m.command)").count("resizeWindow") >= 1
        assert page.inner_text("#app-title") == "Площадки"  # BX24.setTitle


@pytest.mark.parametrize("blocked", [True, False], ids=["blocked", "allowed"])
def test_third_party_cookies_are_blocked_in_the_test_browser(stack: CabinetStack, portal: str,
                                                             playwright: Any, blocked: bool) -> None:
    """The profile setting is in effect: a cookie set on the app's host inside the portal's frame is not
    stored (and, as a control, is stored when the same browser allows third-party cookies)."""
    probe = Served(cookie_setter)
    try:
        with browser_context(playwright, block_third_party_cookies=blocked) as context:
            page = context.new_page()
            frame = open_app(page, portal, stack, stack.employee)
            frame.goto(f"{probe.url}/")
            frame.wait_for_selector("#done")
            stored = [(c["name"], c["domain"]) for c in context.cookies()]
            assert stored == ([] if blocked else [("probe", "127.0.0.1")])
    finally:
        probe.stop()
