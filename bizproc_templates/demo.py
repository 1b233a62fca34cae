"""The business-process chapter of `b24app demo`: install the templates, run one vacation request.

``chapter_business_processes(app, portal_url, onec_url, echo)`` expects ``app`` installed on the emulated
portal at ``portal_url`` with its worker running, and ``onec.connections`` (mode soap) pointing at the
1C emulator at ``onec_url``; it talks to both emulators through their ``/_emulator`` hooks only to
play the people (seed users, act as them, wait), never to do the product's work.
"""
from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import requests
from flask import Flask

from b24app.bitrix import B24Client
from b24app.db import get_db
from b24app.portal import client_for, get_config, get_store
from b24app.verify import OneOffToken
from bizproc_templates.compiler import IBLOCK_TYPE_ID, iblock_code
from bizproc_templates.installer import Installer, writes_of
from bizproc_templates.settings import bizproc_settings
from sync_jobs.keys import user_xml_id
from bizproc_templates.source import PROCESSES_DIR, load_process
from bizproc_templates.zup import open_source

Echo = Callable[[str], None]
APPROVE = 1


class _Hooks:
    def __init__(self, base_url: str) -> None:
        self.base_url = base_url

    def __call__(self, path: str, body: dict[str, Any] | None = None, method: str = "POST") -> Any:
        response = requests.request(method, f"{self.base_url}/_emulator/{path}", json=body, timeout=60)
        response.raise_for_status()
        return response.json()


def wait_for(probe: Callable[[], Any], what: str, timeout_s: float = 60.0) -> Any:
    """Poll until ``probe()`` is truthy; TimeoutError naming ``what`` otherwise."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(0.05)
    raise TimeoutError(f"не дождались: {what}")


@dataclass(frozen=True)
class Cast:
    """The people of the story: Bitrix24 user ids of the two managers and the external employee."""

    client: int
    provider: int
    employee: int


def seed_cast(app: Flask, portal: _Hooks, admin: B24Client, echo: Echo) -> Cast:
    """Seed two managers and an employee linked to an active 1C person, with their workgroup."""
    person_ref = _some_person(app)
    people = {role: int(portal("users", {"NAME": name, "LAST_NAME": last, "EMAIL": f"{role}@demo.example",
                                         **extra})["ID"])
              for role, name, last, extra in (
                  ("client", "Клара", "Клиентова", {}), ("provider", "Пётр", "Провайдеров", {}),
                  ("employee", "Иван", "Сотрудников", {"EXTRANET": True, "XML_ID": user_xml_id(person_ref)}))}
    group = portal("groups", {"NAME": "ООО Клиент — склад (демо)", "OWNER_ID": people["provider"], "EXTRANET": True})
    admin.call("sonet_group.user.add", {"GROUP_ID": group["ID"], "USER_ID": [people["client"], people["employee"]]})
    admin.call("sonet_group.user.update", {"GROUP_ID": group["ID"], "USER_ID": [people["client"]], "ROLE": "E"})
    echo(f"Экстранет-группа «{group['NAME']}»: менеджер провайдера — владелец, менеджер клиента — модератор")
    return Cast(**people)


def chapter_business_processes(app: Flask, portal_url: str, onec_url: str, echo: Echo,
                               cast: Cast | None = None) -> None:
    """Install the twelve processes and walk one vacation request from the employee to 1C and back.

    Without ``cast`` the chapter seeds its own people; the full demo passes the ones the sync made.
    """
    portal, onec = _Hooks(portal_url), _Hooks(onec_url)
    member_id = next(i.member_id for i in get_store(app).all() if i.status == "installed")
    admin = client_for(app, member_id)
    config = get_config(app)
    changes = Installer(admin, get_db(app), member_id=member_id, client_id=config.client_id,
                        public_url=config.public_url).install()
    echo(f"Шаблоны бизнес-процессов установлены: записано объектов {len(writes_of(changes))} из {len(changes)}")

    cast = cast or seed_cast(app, portal, admin, echo)
    vacation = load_process(PROCESSES_DIR / "vacation.yaml")
    as_user = _acting(portal, config.client_id, portal_url)
    element_id = _submit_vacation(admin, as_user(cast.employee), vacation)
    echo(f"Сотрудник (экстранет) подал заявление на отпуск: элемент списка {element_id}")
    workflow_id = wait_for(lambda: _workflow_of(portal, element_id), "запуск процесса")["ID"]
    for role, title in (("client", "менеджер клиента"), ("provider", "менеджер провайдера")):
        task = wait_for(lambda r=role: _open_task(portal, workflow_id, getattr(cast, r)), f"задание ({title})")
        if role == "client":
            echo(f"Остаток отпуска из 1С:ЗУП записан в заявление; задание «{task['NAME']}»")
        as_user(getattr(cast, role)).call("bizproc.task.complete", {"TASK_ID": task["ID"], "STATUS": APPROVE})
        echo(f"Согласовал {title}")
    workflow = wait_for(lambda: (w := _workflow_of(portal, element_id)) and w["STATUS"] != "running" and w,
                     "завершение процесса")
    documents = onec("documents", method="GET")
    echo(f"Процесс завершён ({workflow['STATE_TITLE'] or workflow['STATUS']}); документов заявлений в 1С: "
         f"{len(documents)}, последний № {documents[-1]['number'] if documents else '—'}")
    told = [n["MESSAGE"] for n in portal("notifications", method="GET") if n["USER_ID"] == cast.employee]
    echo(f"Уведомление сотруднику: {told[-1] if told else 'нет'}")


def _some_person(app: Flask) -> str:
    source = open_source(app, bizproc_settings(app))
    try:
        return next(str(s.person_ref) for s in source.employments() if s.person_ref and s.is_active(dt.date.today()))
    finally:
        source.close()


def _acting(portal: _Hooks, client_id: str, portal_url: str) -> Callable[[int], B24Client]:
    def as_user(user_id: int) -> B24Client:
        token = portal("tokens", {"client_id": client_id, "user_id": user_id})
        return B24Client(f"{portal_url}/rest/", tokens=OneOffToken(token["access_token"]))
    return as_user


def _submit_vacation(admin: B24Client, employee: B24Client, vacation: Any) -> int:
    target = {"IBLOCK_TYPE_ID": IBLOCK_TYPE_ID, "IBLOCK_CODE": iblock_code(vacation)}
    kinds = next(row["DISPLAY_VALUES_FORM"] for row in admin.call("lists.field.get", target).result.values()
                 if row.get("CODE") == "VACATION_KIND")
    annual = next(value_id for value_id, label in kinds.items() if label == "Ежегодный оплачиваемый")
    start = dt.date.today() + dt.timedelta(days=30)
    fields = {"NAME": "Отпуск (демо)", "PROPERTY_DATE_FROM": start.isoformat(),
              "PROPERTY_DATE_TO": (start + dt.timedelta(days=13)).isoformat(), "PROPERTY_VACATION_KIND": annual}
    return int(employee.call("lists.element.add", {**target, "ELEMENT_CODE": f"demo-{time.monotonic_ns()}",
                                                   "FIELDS": fields}).result)


def _workflow_of(portal: _Hooks, element_id: int) -> dict[str, Any] | None:
    workflows = portal("bizproc/workflows", method="GET")["workflows"]
    return next((w for w in workflows if str(w["DOCUMENT_ID"]) == str(element_id)), None)


def _open_task(portal: _Hooks, workflow_id: str, user_id: int) -> dict[str, Any] | None:
    tasks = portal("bizproc/tasks", method="GET")["tasks"]
    return next((t for t in tasks if t["WORKFLOW_ID"] == workflow_id and t["STATUS"] == 0
                 and str(user_id) in map(str, t["USERS"])), None)
