"""The whole stack the cabinet is tested on: 1C:ZUP and Bitrix24 emulators, the app installed and
served on a real port, one full sync, the HR processes installed and a vacation request waiting
for the client manager of the employee's site."""
from __future__ import annotations

import base64
import datetime as dt
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from b24app.bitrix import B24Client
from b24app.frames import get_sessions
from b24app.portal import client_for, get_config
from b24app.verify import OneOffToken
from bizproc_templates.acts import ActsList
from bizproc_templates.compiler import IBLOCK_TYPE_ID, iblock_code
from bizproc_templates.demo import wait_for
from bizproc_templates.installer import Installer
from bizproc_templates.source import PROCESSES_DIR, load_process
from b24app.db import get_db
from cabinet import data
from emulators.onec import serve as serve_onec
from onec.factory import build_source
from onec.models import EmployeeRequest, RequestRef
from sync_jobs import run_sync
from tests.support import EmulatedInstall

ONEC_PASSWORD = "пароль-1С"
ONEC_PASSWORD_ENV = "ONEC_ZUP_PASSWORD"
COMPANY = "employees=30,orgs=2,departments=4"

# Seeded in this order after the admin (1), so their ids are known before the app is configured.
STAFF = (("client", "Клара", "Клиентова"), ("provider", "Пётр", "Провайдеров"),
         ("client_b", "Вера", "Заказчикова"), ("provider_b", "Глеб", "Поставщиков"),
         ("hr", "Анна", "Кадрова"), ("accounting", "Борис", "Счетов"), ("brigadier", "Семён", "Бригадиров"))
IDS = {role: index + 2 for index, (role, _, _) in enumerate(STAFF)}


@dataclass(frozen=True)
class Sites:
    """Department refs of two sites of different legal entities (a: default managers, b: its own)."""

    a: str
    b: str


class CabinetStack:
    def __init__(self, tmp_path: Path, database_url: str, *, requests_waiting: bool = True) -> None:
        self.zup = serve_onec(generate=COMPANY, seed=7, password=ONEC_PASSWORD)
        self.sites = _two_sites(self.zup)
        self.install = EmulatedInstall(tmp_path, database_url, extra=_config(self.zup, self.sites),
                                       env={ONEC_PASSWORD_ENV: ONEC_PASSWORD}, plan="enterprise")
        self.app = self.install.app
        self.ids = dict(IDS, admin=1)
        for role, name, last in STAFF:
            seeded = self.hook("users", {"NAME": name, "LAST_NAME": last, "EMAIL": f"{role}@example.ru",
                                         "WORK_POSITION": "Менеджер"})
            assert int(seeded["ID"]) == IDS[role]
        self.install.install()
        self.install.drain()
        summary = run_sync(self.app, full=True)
        assert summary.status in ("ok", "partial"), summary.render()
        self.groups = {key: self._group_of(ref)
                       for key, ref in (("a", self.sites.a), ("b", self.sites.b))}
        self.employee = self._employee_of(self.groups["a"])
        self.ids["employee"] = self.employee
        self.hook(f"users/{self.employee}/accept-invite")
        self.install.start_worker()
        self.task: dict[str, Any] | None = self._vacation_request() if requests_waiting else None

    # -- systems -----------------------------------------------------------------------------------

    def hook(self, path: str, body: dict | None = None, method: str = "POST") -> Any:
        return self.install.hook(path, body, method)

    def onec(self, path: str, method: str = "GET") -> Any:
        response = requests.request(method, f"{self.zup.url}/_emulator/{path}", timeout=30)
        response.raise_for_status()
        return response.json()

    def admin(self) -> B24Client:
        return client_for(self.app, self.install.member_id)

    def auth_id(self, user_id: int) -> str:
        """A token the portal issues our app for that user, as in the frame POST."""
        return self.hook("tokens", {"client_id": self.install.client_id, "user_id": user_id})["access_token"]

    def session(self, user_id: int) -> str:
        """The frame session token the app gives the page of that user."""
        sessions = get_sessions(self.app)
        return sessions.issue(sessions.viewer_of({"member_id": self.install.member_id,
                                                  "AUTH_ID": self.auth_id(user_id)}))

    def api(self, user_id: int, path: str, method: str = "GET", json: Any = None) -> requests.Response:
        return requests.request(method, f"{self.install.public_url}/cabinet/api{path}", timeout=30, json=json,
                                headers={"Authorization": f"Bearer {self.session(user_id)}"})

    def drive_file(self, name: str, content: bytes) -> int:
        """A file uploaded to the portal's common drive, as HR puts an act there; its Drive object id."""
        storages = self.admin().call("disk.storage.getlist", {"filter": {"ENTITY_TYPE": "common"}}).result
        uploaded = self.admin().call("disk.folder.uploadfile", {
            "id": int(storages[0]["ROOT_OBJECT_ID"]), "data": {"NAME": name},
            "fileContent": [name, base64.b64encode(content).decode()], "generateUniqueName": True}).result
        return int(uploaded["ID"])

    def publish_act(self, code: str, title: str, file_id: int, user_ids: list[int]) -> None:
        """The act sent to the users for acknowledgement (``b24app templates acts publish``); returns once
        each of them has the review task."""
        ActsList(self.admin()).publish(code, title, file_id, user_ids, "2027-01-31")

        def tasks_made() -> bool:
            tasks = self.hook("bizproc/tasks", method="GET")["tasks"]
            waiting = {str(u) for t in tasks if t["STATUS"] == 0 and t["NAME"].endswith(title) for u in t["USERS"]}
            return {str(u) for u in user_ids} <= waiting
        wait_for(tasks_made, f"the review tasks of {code}")

    def stop(self) -> None:
        self.install.stop()
        self.zup.stop()

    # -- data --------------------------------------------------------------------------------------

    def _group_of(self, department_ref: str) -> int:
        return next(s.group_id for s in data.directory(self.app).sites() if s.department_ref == department_ref)

    def hire_date(self, user_id: int, department_ref: str) -> str:
        """The hire date 1C holds for the user's person at that department."""
        person = data.directory(self.app).person_of_user(user_id)
        source = build_source(_connection(self.zup), password=ONEC_PASSWORD)
        try:
            return next(s.hire_date.isoformat() for s in source.employments()
                        if s.person_ref == person.ref and s.department_ref == department_ref
                        and s.is_active(dt.date.today()))
        finally:
            source.close()

    def request_in_1c(self, user_id: int, kind: str, values: dict[str, Any]) -> RequestRef:
        """A request of the user's person written to 1C as an app activity writes it."""
        person = data.directory(self.app).person_of_user(user_id)
        source = build_source(_connection(self.zup), password=ONEC_PASSWORD)
        try:
            state = next(s for s in source.employments_of(person.ref) if s.is_active(dt.date.today()))
            return source.submit_request(EmployeeRequest(kind, person.ref, state.employee_ref, state.organization_ref,
                                                         f"https://portal.example/element/{kind}-{user_id}-{time.monotonic_ns()}", values))
        finally:
            source.close()

    def _employee_of(self, group_id: int) -> int:
        people = data.directory(self.app).people_of_site(data.directory(self.app).site(group_id))
        return next(p.user_id for p in people if p.user_id is not None and len(p.employments) == 1)

    def _vacation_request(self) -> dict[str, Any]:
        """The employee asks for a vacation through the portal; the client manager gets the task."""
        config = get_config(self.app)
        Installer(self.admin(), get_db(self.app), member_id=self.install.member_id, client_id=config.client_id,
                  public_url=config.public_url).install()
        process = load_process(PROCESSES_DIR / "vacation.yaml")
        as_employee = B24Client(f"{self.install.portal.url}/rest/", tokens=OneOffToken(self.auth_id(self.employee)))
        start = dt.date.today() + dt.timedelta(days=30)
        target = {"IBLOCK_TYPE_ID": IBLOCK_TYPE_ID, "IBLOCK_CODE": iblock_code(process)}
        fields = self.admin().call("lists.field.get", target).result
        labels = next(row["DISPLAY_VALUES_FORM"] for row in fields.values() if row.get("CODE") == "VACATION_KIND")
        annual = next(value_id for value_id, label in labels.items() if label == "Ежегодный оплачиваемый")
        as_employee.call("lists.element.add", {**target, "ELEMENT_CODE": f"vacation-{time.monotonic_ns()}",
                                               "FIELDS": {"NAME": "Заявление на отпуск",
                                                          "PROPERTY_DATE_FROM": start.isoformat(),
                                                          "PROPERTY_DATE_TO": (start + dt.timedelta(days=6)).isoformat(),
                                                          "PROPERTY_VACATION_KIND": annual}})
        client_manager = self.ids["client"]

        def waiting() -> dict[str, Any] | None:
            tasks = self.hook("bizproc/tasks", method="GET")["tasks"]
            return next((t for t in tasks if t["STATUS"] == 0 and str(client_manager) in map(str, t["USERS"])), None)
        return wait_for(waiting, "the client manager's task")


def _connection(zup: Any) -> dict[str, Any]:
    return {"name": "zup", "mode": "soap", "url": zup.wsdl_url, "login": zup.login,
            "password_env": ONEC_PASSWORD_ENV, "retry": {"attempts": 2, "max_wait_s": 0.05}}


def _two_sites(zup: Any) -> Sites:
    """A department of each of the two legal entities that has people today."""
    source = build_source(_connection(zup), password=ONEC_PASSWORD)
    try:
        departments = {d.ref: d for d in source.departments()}
        active = [s for s in source.employments() if s.person_ref and s.is_active(dt.date.today())]
    finally:
        source.close()
    by_entity: dict[str, str] = {}
    for state in sorted(active, key=lambda s: s.department_ref or ""):
        department = departments.get(state.department_ref or "")
        if department is not None and department.legal_entity_ref:
            by_entity.setdefault(department.legal_entity_ref, department.ref)
    first, second = sorted(by_entity.values())[:2]
    return Sites(first, second)


def _config(zup: Any, sites: Sites) -> dict[str, Any]:
    return {"onec": {"connections": [_connection(zup)]},
            "sync": {"owner_id": IDS["provider"],
                     "managers": {"default": {"client": [IDS["client"]], "provider": [IDS["provider"]]},
                                  sites.b: {"client": [IDS["client_b"]], "provider": [IDS["provider_b"]]}}},
            "bizproc": {"roles": {"hr": [IDS["hr"]], "accounting": [IDS["accounting"]]}, "retry_attempts": 2},
            "cabinet": {"brigade_leaders": {sites.a: [IDS["brigadier"]]}}}
