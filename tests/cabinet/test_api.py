"""The cabinet's JSON API per role, checked against the emulators' state; every role against the
others' data is refused with 403 and nothing of it in the body."""
from __future__ import annotations

import dataclasses
from urllib.parse import unquote

import pytest

from b24app.bitrix import B24Client
from b24app.portal import get_config
from b24app.verify import OneOffToken
from bizproc_templates.compiler import IBLOCK_TYPE_ID, iblock_code
from bizproc_templates.source import PROCESSES_DIR, load_process
from bizproc_templates.acts import ActsList
from bizproc_templates.demo import wait_for
from cabinet.data import directory
from tests.cabinet.stack import CabinetStack


def test_roles_come_from_real_data(stack: CabinetStack) -> None:
    expected = {"employee": ["employee"], "client": ["client_manager"], "brigadier": ["brigade_leader"],
                "provider": ["provider_manager"], "hr": ["hr"], "accounting": ["accounting"], "admin": ["admin"]}
    for who, roles in expected.items():
        me = stack.api(stack.ids[who], "/me").json()
        assert me["roles"] == roles, who
    assert stack.api(stack.ids["admin"], "/me").json()["pages"] == ["admin"]
    assert stack.api(stack.ids["client"], "/me").json()["pages"] == ["sites", "timesheets"]
    assert stack.api(stack.employee, "/me").json()["pages"] == ["cabinet", "timesheets"]
    assert stack.api(stack.ids["hr"], "/me").json()["pages"] == ["provider"]  # HR has no timesheets of its own


def test_the_employee_sees_themself_as_1c_knows_them(stack: CabinetStack) -> None:
    answer = stack.api(stack.employee, "/cabinet")
    assert answer.status_code == 200
    cabinet = answer.json()
    user = stack.admin().call("user.get", {"ID": stack.employee, "ADMIN_MODE": True}).result[0]
    assert cabinet["person"]["name"].startswith(f"{user['LAST_NAME']} {user['NAME']}")
    job = cabinet["person"]["employments"][0]
    assert job["group_id"] == stack.groups["a"] and job["position"] == user["WORK_POSITION"]
    assert job["personnel_number"] == user["UF_USR_ZUP_PERSONNEL_NO"]  # what the sync wrote from 1C
    assert job["legal_entity"] == user["UF_USR_ZUP_LEGAL_ENTITY"] and job["department"] == user["UF_USR_ZUP_DEPARTMENT"]
    assert [m["id"] for m in cabinet["managers"]["client"]] == [stack.ids["client"]]
    assert [m["id"] for m in cabinet["managers"]["provider"]] == [stack.ids["provider"]]
    assert cabinet["managers"]["client"][0]["email"] == "client@example.ru"
    assert {form["code"] for form in cabinet["request_forms"]} >= {"vacation", "sick_leave"}
    card = stack.api(stack.employee, "/cabinet/onec").json()
    assert card["available"] is True and card["vacation"]["days"] >= 0
    assert card["hired_on"] == {job["department_ref"]: stack.hire_date(stack.employee, job["department_ref"])}
    requests_ = stack.api(stack.employee, "/cabinet/requests").json()
    assert [r["status"] for r in requests_["requests"]] == ["ждёт согласования"]


def test_the_employee_sees_the_documents_1c_holds_for_them_and_nobody_elses(stack: CabinetStack) -> None:
    mine = stack.request_in_1c(stack.employee, "vacation", {"date_from": "2027-03-01", "date_to": "2027-03-14"})
    people = directory(stack.app).people_of_site(directory(stack.app).site(stack.groups["b"]))
    someone_else = next(p.user_id for p in people if p.user_id not in (None, stack.employee))
    other = stack.request_in_1c(someone_else, "business_trip",
                                {"date_from": "2027-03-10", "date_to": "2027-03-12", "destination": "Казань"})
    stack.onec(f"documents/{mine.ref}/post", "POST")
    answer = stack.api(stack.employee, "/cabinet/documents").json()
    assert answer["available"] is True
    listed = {(d["title"], d["number"]): d for d in answer["documents"]}
    assert listed[("Отпуск", mine.number)]["status"] == "Согласовано"
    assert ("Командировка", other.number) not in listed


def _someone_else(stack: CabinetStack) -> int:
    people = directory(stack.app).people_of_site(directory(stack.app).site(stack.groups["b"]))
    return next(p.user_id for p in people if p.user_id not in (None, stack.employee))


def test_the_employee_downloads_a_certificate_1c_printed_and_nobody_elses(stack: CabinetStack) -> None:
    mine = stack.request_in_1c(stack.employee, "certificate_2ndfl", {"year": 2026})
    other = stack.request_in_1c(_someone_else(stack), "certificate_2ndfl", {"year": 2026})
    listed = {d["ref"]: d for d in stack.api(stack.employee, "/cabinet/documents").json()["documents"]}
    assert listed[mine.ref]["file"] == "pending" and other.ref not in listed
    waiting = stack.api(stack.employee, f"/cabinet/documents/{mine.ref}/file")
    assert waiting.status_code == 409 and "ещё не готова" in waiting.json()["message"]

    stack.onec(f"documents/{mine.ref}/post", "POST")  # HR prepared it
    assert {d["ref"]: d["file"] for d in stack.api(stack.employee, "/cabinet/documents").json()["documents"]}[
        mine.ref] == "ready"
    answer = stack.api(stack.employee, f"/cabinet/documents/{mine.ref}/file")
    assert answer.status_code == 200 and answer.content.startswith(b"%PDF")
    assert unquote(answer.headers["X-File-Name"]) == f"Справка {mine.number.strip()}.pdf"

    stack.onec(f"documents/{other.ref}/post", "POST")
    vacation = stack.request_in_1c(stack.employee, "vacation", {"date_from": "2027-05-01", "date_to": "2027-05-14"})
    for ref in (other.ref, vacation.ref, "не-ссылка", "0" * 36):  # another's, one without a file, garbage
        refused = stack.api(stack.employee, f"/cabinet/documents/{ref}/file")
        assert refused.status_code == 404 and refused.json()["message"] == "Файла по этому документу нет.", ref


def test_over_odata_a_certificate_says_why_there_is_no_file(stack: CabinetStack) -> None:
    """The standard OData interface gives no printed forms: the card says so, the download says so, never a 500."""
    ready = stack.request_in_1c(stack.employee, "certificate_182n", {"year": 2026})
    stack.onec(f"documents/{ready.ref}/post", "POST")
    config = get_config(stack.app)
    onec = config.settings("onec")
    odata = dataclasses.replace(onec.connections[0], mode="odata", url=stack.zup.odata_url)
    stack.app.extensions["b24app.config"] = dataclasses.replace(
        config, feature_settings={**config.feature_settings, "onec": dataclasses.replace(onec, connections=(odata,))})
    try:
        card = stack.api(stack.employee, "/cabinet/documents").json()
        listed = {d["ref"]: d for d in card["documents"]}
        assert listed[ready.ref]["file"] == "unavailable" and "OData" in card["files_note"]
        refused = stack.api(stack.employee, f"/cabinet/documents/{ready.ref}/file")
        assert refused.status_code == 409 and refused.json()["message"] == card["files_note"]

        # accounting attaches the certificate printed in 1C to the employee's request in Bitrix24
        printed = b"%PDF-1.4 182n"
        attach_certificate(stack, stack.employee, "certificate_182n", ready.number, stack.drive_file("182н.pdf", printed))
        card = stack.api(stack.employee, "/cabinet/documents").json()
        assert {d["ref"]: d["file"] for d in card["documents"]}[ready.ref] == "ready"
        answer = stack.api(stack.employee, f"/cabinet/documents/{ready.ref}/file")
        assert answer.status_code == 200 and answer.content == printed
        assert unquote(answer.headers["X-File-Name"]) == "182н.pdf"
        assert stack.api(_someone_else(stack), f"/cabinet/documents/{ready.ref}/file").status_code == 404
    finally:
        stack.app.extensions["b24app.config"] = config


def attach_certificate(stack: CabinetStack, user_id: int, kind: str, number: str, file_id: int) -> None:
    """The employee's request «Справка 2-НДФЛ / 182н» in Bitrix24, registered in 1C under ``number``, with the
    certificate file attached to it (what accounting does by hand when 1C gives no files)."""
    target = {"IBLOCK_TYPE_ID": IBLOCK_TYPE_ID, "IBLOCK_CODE": iblock_code(load_process(PROCESSES_DIR / "certificate.yaml"))}
    fields = {row["CODE"]: (field_id, row) for field_id, row in stack.admin().call("lists.field.get", target).result.items()
              if row.get("CODE")}
    kinds = {label: value_id for value_id, label in fields["CERT_TYPE"][1]["DISPLAY_VALUES_FORM"].items()}
    values = {"NAME": "Справка о заработке", fields["CERT_TYPE"][0]: kinds["Справка о заработке (182н)" if kind ==
                                                                         "certificate_182n" else "Справка о доходах (2-НДФЛ)"],
              fields["PERIOD"][0]: "2026"}
    as_user = B24Client(f"{stack.install.portal.url}/rest/", tokens=OneOffToken(stack.auth_id(user_id)))
    element = as_user.call("lists.element.add", {**target, "ELEMENT_CODE": f"cert-{number}", "FIELDS": values}).result
    stack.admin().call("lists.element.update", {**target, "ELEMENT_ID": int(element), "FIELDS": {
        **values, fields["ZUP_NUMBER"][0]: number, fields["DOCUMENT"][0]: file_id}})


def test_the_employee_reads_and_acknowledges_the_acts_published_to_them(stack: CabinetStack) -> None:
    other = _someone_else(stack)
    content = b"%PDF-1.4 Pravila vnutrennego trudovogo rasporyadka"
    stack.publish_act("ПВТР-2026", "Правила внутреннего трудового распорядка", stack.drive_file("ПВТР.pdf", content),
                      [stack.employee, other])
    stack.publish_act("ОТ-1", "Инструкция по охране труда", stack.drive_file("ОТ.pdf", b"%PDF ot"), [other])
    acts = stack.api(stack.employee, "/cabinet/regulations").json()
    assert acts["available"] is True
    assert [(a["title"], a["acknowledged"], a["deadline"], a["has_file"]) for a in acts["acts"]] == [
        ("Правила внутреннего трудового распорядка", False, "2027-01-31", True)]
    act = acts["acts"][0]["id"]
    opened = stack.api(stack.employee, f"/cabinet/regulations/{act}/file")
    assert opened.status_code == 200 and opened.content == content
    assert unquote(opened.headers["X-File-Name"]) == "ПВТР.pdf"
    theirs = {a["title"]: a["id"] for a in stack.api(other, "/cabinet/regulations").json()["acts"]}
    for path in (f"/cabinet/regulations/{theirs['Инструкция по охране труда']}/file", "/cabinet/regulations/999999/file"):
        assert stack.api(stack.employee, path).status_code == 404

    acknowledge = f"/cabinet/regulations/{act}/acknowledge"
    assert stack.api(stack.employee, acknowledge, "POST", json={}).status_code == 403
    assert stack.api(stack.employee, acknowledge, "POST", json={"auth_id": stack.auth_id(other)}).status_code == 403
    assert stack.api(other, f"/cabinet/regulations/{theirs['Инструкция по охране труда']}/acknowledge", "POST",
                     json={"auth_id": stack.auth_id(stack.employee)}).status_code == 403
    done = stack.api(stack.employee, acknowledge, "POST", json={"auth_id": stack.auth_id(stack.employee)})
    assert done.status_code == 200 and done.json()["acknowledged"] is True
    wait_for(lambda: stack.api(stack.employee, "/cabinet/regulations").json()["acts"][0]["acknowledged_at"],
             "the date the workflow writes")
    report = {r.user_id: r.acknowledged for r in ActsList(stack.admin()).report("ПВТР-2026")}
    assert report == {stack.employee: True, other: False}  # what HR's «b24app templates acts report» says
    again = stack.api(stack.employee, acknowledge, "POST", json={"auth_id": stack.auth_id(stack.employee)})
    assert again.status_code == 200 and again.json()["acknowledged_at"]


def test_the_client_manager_sees_the_site_people_and_what_waits_for_them(stack: CabinetStack) -> None:
    sites = stack.api(stack.ids["client"], "/sites").json()["sites"]
    assert stack.groups["a"] in [s["group_id"] for s in sites] and stack.groups["b"] not in [s["group_id"] for s in sites]
    site = stack.api(stack.ids["client"], f"/sites/{stack.groups['a']}").json()
    members = {str(m["USER_ID"]) for m in stack.admin().call("sonet_group.user.get", {"ID": stack.groups["a"]}).result}
    listed = {str(p["user_id"]) for p in site["people"] if p["user_id"]}
    assert listed and listed <= members
    approvals = stack.api(stack.ids["client"], f"/sites/{stack.groups['a']}/approvals").json()
    assert [t["id"] for t in approvals["tasks"]] == [str(stack.task["ID"])]


def test_the_provider_manager_sees_their_legal_entities_and_the_last_sync(stack: CabinetStack) -> None:
    provider = stack.api(stack.ids["provider_b"], "/provider").json()
    names = [d["group_id"] for e in provider["legal_entities"] for d in e["departments"]]
    assert stack.groups["b"] in names and stack.groups["a"] not in names
    assert provider["last_sync"]["status"] in ("ok", "partial")
    assert provider["onboarding"]["people"] >= provider["onboarding"]["invited"] > 0


def test_the_admin_console_shows_the_portal_and_the_sync(stack: CabinetStack) -> None:
    console = stack.api(stack.ids["admin"], "/admin").json()
    assert console["portal"]["status"] == "installed"
    assert {e["event"].upper() for e in console["portal"]["events"]} >= {"ONAPPINSTALL", "ONAPPUPDATE"}
    assert console["sync_runs"][0]["status"] in ("ok", "partial") and console["onec"] == [
        {"name": "zup", "mode": "soap", "ok": True, "problems": {}}]


def test_the_admin_sees_the_next_plan_the_templates_and_starts_a_run(stack: CabinetStack) -> None:
    admin = stack.ids["admin"]
    plan = stack.api(admin, "/admin/sync/plan", "POST").json()
    assert plan["available"] is True and plan["counts"]["users_create"] == 0  # nothing changed in 1C since the run
    objects = stack.api(admin, "/admin/templates", "POST").json()["objects"]
    assert {o["action"] for o in objects} == {"unchanged"} and all(o["version"] == 1 for o in objects)
    assert {o["code"] for o in objects if o["kind"] == "process"} >= {"vacation", "sick_leave"}
    assert next(o["title"] for o in objects if o["code"] == "vacation") == "Заявление на отпуск"
    runs_before = len(stack.api(admin, "/admin").json()["sync_runs"])
    assert stack.api(admin, "/admin/sync/run", "POST").status_code == 202
    wait_for(lambda: (runs := stack.api(admin, "/admin").json()["sync_runs"]) and len(runs) > runs_before
             and runs[0]["status"] not in ("running",) and runs, "the console's sync run")
    assert stack.api(admin, "/admin").json()["inbox"]["waiting"] >= 0


# Each role's own data, and who else tries it.
def _forbidden_cases(stack: CabinetStack) -> list[tuple[str, str]]:
    a, b = stack.groups["a"], stack.groups["b"]
    everybody = ["employee", "client", "client_b", "provider", "provider_b", "brigadier", "hr", "accounting", "admin"]
    owners = {"/cabinet": ["employee"],
              "/admin/sync/plan": ["admin"], "/admin/sync/run": ["admin"], "/admin/templates": ["admin"], "/cabinet/onec": ["employee"], "/cabinet/requests": ["employee"],
              "/cabinet/documents": ["employee"], "/cabinet/regulations": ["employee"],
              "/cabinet/regulations/1/file": ["employee"], "/cabinet/documents/00000000-0000-0000-0000-000000000000/file": ["employee"],
              f"/sites/{a}": ["client", "brigadier", "provider", "hr", "accounting"],
              f"/sites/{a}/approvals": ["client", "brigadier", "provider", "hr", "accounting"],
              f"/sites/{b}": ["client_b", "provider_b", "hr", "accounting"],
              "/provider": ["provider", "provider_b", "hr", "accounting"], "/admin": ["admin"]}
    return [(who, path) for path, allowed in owners.items() for who in everybody if who not in allowed]


def test_every_role_is_refused_the_others_data(stack: CabinetStack) -> None:
    cases = _forbidden_cases(stack)
    assert len(cases) > 40
    secrets = [p.name for p in directory(stack.app).people_of_site(directory(stack.app).site(stack.groups["b"]))][:3]
    for who, path in cases:
        answer = stack.api(stack.ids[who], path, "POST" if path.startswith("/admin/") else "GET")
        assert answer.status_code == 403, (who, path, answer.status_code)
        assert answer.json() == {"error": "forbidden", "message": "Нет доступа."}
        assert not any(name in answer.text for name in secrets)


@pytest.mark.parametrize("method,path", [("POST", "/admin/inbox/1/retry"), ("GET", "/sites/999999")])
def test_admin_actions_and_unknown_sites_are_refused_to_others(stack: CabinetStack, method: str, path: str) -> None:
    assert stack.api(stack.employee, path, method).status_code == 403
