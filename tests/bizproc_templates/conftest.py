"""The whole stack for business-process tests: the 1C emulator, the Bitrix24 emulator with the app
installed and served on a real port, the templates installed, and the people of one extranet group."""
from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from b24app.bitrix import B24Client
from b24app.db import get_db
from b24app.portal import client_for, get_config
from b24app.verify import OneOffToken
from bizproc_templates.demo import wait_for
from bizproc_templates.compiler import IBLOCK_TYPE_ID, iblock_code
from bizproc_templates.installer import Installer
from bizproc_templates.settings import bizproc_settings
from bizproc_templates.source import Process
from bizproc_templates.zup import open_source
from emulators.onec import serve as serve_onec
from tests.support import EmulatedInstall

ONEC_PASSWORD = "пароль-1С"
ONEC_PASSWORD_ENV = "ONEC_ZUP_PASSWORD"
@dataclass
class People:
    employee: int
    client_manager: int
    provider_manager: int
    hr: int
    accounting: int
    person_ref: str
    employee_ref: str


class Stack:
    """What a test drives: the installed app, both emulators and the people."""

    def __init__(self, install: EmulatedInstall, zup: Any, people: People) -> None:
        self.install, self.zup, self.people = install, zup, people
        self.app = install.app
        self.group_id = 0  # the employee's extranet group, set once created

    # -- systems -----------------------------------------------------------------------------

    def admin(self) -> B24Client:
        return client_for(self.app, self.install.member_id)

    def as_user(self, user_id: int) -> B24Client:
        token = self.install.hook("tokens", {"client_id": self.install.client_id, "user_id": user_id})
        return B24Client(f"{self.install.portal.url}/rest/", tokens=OneOffToken(token["access_token"]))

    def installer(self) -> Installer:
        config = get_config(self.app)
        return Installer(self.admin(), get_db(self.app), member_id=self.install.member_id,
                         client_id=self.install.client_id, public_url=config.public_url)

    def onec(self, path: str, body: dict | None = None, method: str = "POST") -> Any:
        response = requests.request(method, f"{self.zup.url}/_emulator/{path}", json=body, timeout=30)
        response.raise_for_status()
        return response.json()

    # -- the employee's request -----------------------------------------------------------------

    def submit(self, process: Process, values: dict[str, Any], user_id: int | None = None) -> int:
        """The employee (or another user) adds a list element (its template starts on create)."""
        target = {"IBLOCK_TYPE_ID": IBLOCK_TYPE_ID, "IBLOCK_CODE": iblock_code(process)}
        fields = {"NAME": f"{process.section('list')['name']} — тест"}
        fields |= {f"PROPERTY_{code}": self.enum_id(process, code, value) for code, value in values.items()}
        element = self.as_user(user_id or self.people.employee).call("lists.element.add", {
            **target, "ELEMENT_CODE": f"{process.code}-{time.monotonic_ns()}", "FIELDS": fields})
        return int(element.result)

    def enum_id(self, process: Process, code: str, value: Any) -> Any:
        """List (L) fields take the portal's value id: look it up by the option's label."""
        spec = next(f for f in process.list_fields() if f["code"] == code)
        if spec["type"] != "L":
            return value
        target = {"IBLOCK_TYPE_ID": IBLOCK_TYPE_ID, "IBLOCK_CODE": iblock_code(process)}
        fields = self.admin().call("lists.field.get", target).result
        labels = next(row["DISPLAY_VALUES_FORM"] for row in fields.values() if row.get("CODE") == code)
        return next(value_id for value_id, label in labels.items() if label == spec["options"][value])

    def element(self, process: Process, element_id: int) -> dict[str, Any]:
        """Document view of the element: PROPERTY_<CODE> -> plain value."""
        target = {"IBLOCK_TYPE_ID": IBLOCK_TYPE_ID, "IBLOCK_CODE": iblock_code(process)}
        fields = self.admin().call("lists.field.get", target).result
        row = self.admin().call("lists.element.get", {**target, "ELEMENT_ID": element_id,
                                                      "SELECT": ["ID", *fields]}).result[0]
        document = {}
        for field_id, spec in fields.items():
            raw = row.get(field_id)
            values = list(raw.values()) if isinstance(raw, dict) else []
            labels = spec.get("DISPLAY_VALUES_FORM") or {}
            document[f"PROPERTY_{spec.get('CODE') or field_id}"] = labels.get(values[0], values[0]) if values else None
        return document

    # -- the workflow -----------------------------------------------------------------------

    def workflow(self, element_id: int) -> dict[str, Any]:
        def probe() -> dict[str, Any] | None:
            workflows = self.install.hook("bizproc/workflows", method="GET")["workflows"]
            return next((w for w in workflows if str(w["DOCUMENT_ID"]) == str(element_id)), None)
        return wait_for(probe, f"the workflow of element {element_id}")

    def finished(self, element_id: int) -> dict[str, Any]:
        return wait_for(lambda: (w := self.workflow(element_id))["STATUS"] != "running" and w,
                        f"end of the workflow of element {element_id}")

    def open_task(self, element_id: int, user_id: int) -> dict[str, Any]:
        workflow_id = self.workflow(element_id)["ID"]

        def probe() -> dict[str, Any] | None:
            tasks = self.install.hook("bizproc/tasks", method="GET")["tasks"]
            return next((t for t in tasks if t["WORKFLOW_ID"] == workflow_id and t["STATUS"] == 0
                         and str(user_id) in {str(u) for u in t["USERS"]}), None)
        return wait_for(probe, f"a task of user {user_id}")

    def decide(self, element_id: int, user_id: int, status: int, comment: str = "") -> dict[str, Any]:
        task = self.open_task(element_id, user_id)
        self.as_user(user_id).call("bizproc.task.complete", {"TASK_ID": task["ID"], "STATUS": status,
                                                             "COMMENT": comment})
        return task

    def notifications_of(self, user_id: int) -> list[str]:
        rows = self.install.hook("notifications", method="GET")
        return [str(n["MESSAGE"]) for n in rows if n["USER_ID"] == user_id]


def _seed_people(install: EmulatedInstall, person_ref: str, employee_ref: str) -> People:
    def user(name: str, last: str, **extra: Any) -> int:
        return int(install.hook("users", {"NAME": name, "LAST_NAME": last, "EMAIL": f"{last}@example.ru", **extra})["ID"])

    client_manager = user("Клара", "Клиентова")
    provider_manager = user("Пётр", "Провайдеров")
    hr, accounting = user("Анна", "Кадрова"), user("Борис", "Счетов")
    employee = user("Иван", "Сотрудников", EXTRANET=True, XML_ID=f"zup:{person_ref}")
    return People(employee, client_manager, provider_manager, hr, accounting, person_ref, employee_ref)


def _group(stack: Stack) -> int:
    """The employee's extranet group: the provider manager owns it, the client manager moderates it."""
    people = stack.people
    group = stack.install.hook("groups", {"NAME": "ООО Клиент — склад", "OWNER_ID": people.provider_manager,
                                          "EXTRANET": True})
    admin = stack.admin()
    admin.call("sonet_group.user.add", {"GROUP_ID": group["ID"], "USER_ID": [people.client_manager, people.employee]})
    admin.call("sonet_group.user.update", {"GROUP_ID": group["ID"], "USER_ID": [people.client_manager], "ROLE": "E"})
    return int(group["ID"])


def _active_employee(install: EmulatedInstall) -> tuple[str, str]:
    source = open_source(install.app, bizproc_settings(install.app))
    try:
        state = next(s for s in source.employments() if s.person_ref and s.is_active(dt.date.today()))
    finally:
        source.close()
    return str(state.person_ref), state.employee_ref


def _config(zup: Any, people_ids: dict[str, list[int]], bizproc: dict[str, Any]) -> dict[str, Any]:
    connection = {"name": "zup", "mode": "soap", "url": zup.wsdl_url, "login": zup.login,
                  "password_env": ONEC_PASSWORD_ENV, "retry": {"attempts": 2, "max_wait_s": 0.05}}
    return {"onec": {"connections": [connection]},
            "bizproc": {"roles": people_ids, "retry_attempts": 2, **bizproc}}


# Users are seeded in a fixed order after the admin (1): client 2, provider 3, hr 4, accounting 5, employee 6.
ROLE_IDS = {"hr": [4], "accounting": [5]}


@contextmanager
def built_stack(tmp_path: Path, database_url: str, extra: dict[str, Any] | None = None,
                bizproc: dict[str, Any] | None = None, **emulator_options: Any) -> Iterator[Stack]:
    """The stack with more app.yaml sections (``extra``), keys of ``bizproc:`` and emulator options
    (e.g. a ManualClock)."""
    zup = serve_onec(generate="employees=20,orgs=1,departments=3", seed=3, password=ONEC_PASSWORD)
    install = EmulatedInstall(tmp_path, database_url, extra={**_config(zup, ROLE_IDS, bizproc or {}), **(extra or {})},
                              env={ONEC_PASSWORD_ENV: ONEC_PASSWORD}, **{"plan": "enterprise", **emulator_options})
    try:
        person_ref, employee_ref = _active_employee(install)
        people = _seed_people(install, person_ref, employee_ref)
        assert [people.hr, people.accounting] == [ROLE_IDS["hr"][0], ROLE_IDS["accounting"][0]]
        install.install()
        install.drain()
        built = Stack(install, zup, people)
        built.group_id = _group(built)
        built.installer().install()
        install.start_worker()
        yield built
    finally:
        install.stop()
        zup.stop()


@pytest.fixture
def bizproc_extra(request: pytest.FixtureRequest) -> dict[str, Any]:
    """More keys of the ``bizproc:`` section (parametrize indirectly to change them)."""
    return getattr(request, "param", {})


@pytest.fixture
def stack(tmp_path: Path, database_url: str, bizproc_extra: dict[str, Any]) -> Iterator[Stack]:
    with built_stack(tmp_path, database_url, bizproc=bizproc_extra) as built:
        yield built
