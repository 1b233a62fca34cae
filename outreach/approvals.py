"""Approvals that keep moving: the approval tasks of the HR processes, watched on each portal (``outreach.jobs``).

Each run reads the waiting tasks (``bizproc.task.list`` with the app's administrator token, which sees every
user's tasks: Bitrix24 REST docs, api-reference/bizproc/bizproc-task/bizproc-task-list.md), keeps when it
first saw each one, and tells the portal, once each (``outreach.notices``):

- a new task → its approver;
- after ``remind_after_hours`` working hours (the production calendar, ``outreach.calendar``) → a reminder to the
  approver; after ``escalate_after_hours`` → a notice to the approver's stand-in: the substitute of their
  absence, else their manager (the head of their department, or of the one above when they head it), else
  ``outreach.approvals.escalate_to``;
- an approver who is away (``outreach.absences``) → the task is handed to the stand-in with
  ``bizproc.task.delegate`` where the docs allow it, else the stand-in is told.

Delegation: the docs allow delegating only one's own task ("You can only delegate your own task", and only to
whom the task's settings allow: subordinates, all employees or nobody; only to intranet users —
api-reference/bizproc/bizproc-task/bizproc-task-delegate.md). So the watcher delegates a task only when the
token it holds is the approver's (the administrator who installed the app); for everybody else it sends the
escalation notice. When an approver records their own absence in a page, the page calls
:func:`delegate_open_tasks` with the approver's own token, and their open tasks move to the substitute.
Substitution at assignment (the approver-resolution activity) reads ``outreach.absences`` directly.
"""
from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask import Flask
from sqlalchemy import select

from b24app.bitrix import B24Client
from b24app.bitrix.errors import B24APIError
from b24app.db import Database, get_db
from b24app.install_steps import RestCaller
from b24app.portal import client_for
from b24app.store import Installation
from bizproc_templates.installed import installed_processes
from outreach.absences import Absence, absence_on, set_absence, substitute_on
from outreach.calendar import WorkingHours
from outreach.models import OutreachApprovalTask, OutreachNotice
from outreach.notices import Notice, deliver, post
from outreach.service import clock_of, settings_of, today
from outreach.settings import ApprovalSettings
from timesheets.calendar import ProductionCalendar

log = logging.getLogger(__name__)

TASK_FIELDS = ["ID", "WORKFLOW_ID", "WORKFLOW_TEMPLATE_ID", "NAME", "DOCUMENT_NAME", "USER_ID", "USER_STATUS"]
WAITING = 0  # bizproc-task-list.md: STATUS 0 running; USER_STATUS 0 no answer yet
MANAGER_DEPTH = 10


@dataclass(frozen=True)
class OpenTask:
    """One approver's waiting task, with when the watcher first saw it."""

    task_id: int
    user_id: int
    process: str
    name: str
    document_name: str
    assigned_at: datetime
    new: bool

    def key(self, what: str) -> str:
        return f"task:{self.task_id}:{self.user_id}:{what}"


def working_hours(settings: ApprovalSettings) -> WorkingHours:
    return WorkingHours(ProductionCalendar(), settings.working_start, settings.working_end,
                        ZoneInfo(settings.time_zone))


def portal_base(installation: Installation) -> str:
    """``https://portal`` from the stored REST endpoint (``https://portal/rest/``)."""
    return installation.client_endpoint.rstrip("/").removesuffix("/rest")


def task_url(base: str, task_id: int) -> str:
    return f"{base}/company/personal/bizproc/{task_id}/"


@dataclass
class People:
    """Names and managers of portal users, read once per run."""

    client: RestCaller
    users: dict[int, Mapping] = field(default_factory=dict)
    departments: dict[str, Mapping] = field(default_factory=dict)

    def user(self, user_id: int) -> Mapping:
        if user_id not in self.users:
            rows = self.client.call("user.get", {"FILTER": {"ID": user_id}}).result or []
            self.users[user_id] = rows[0] if rows else {}
        return self.users[user_id]

    def name(self, user_id: int) -> str:
        user = self.user(user_id)
        return " ".join(str(user.get(k) or "") for k in ("NAME", "LAST_NAME")).strip() or f"пользователь {user_id}"

    def manager(self, user_id: int) -> int | None:
        """The head of the user's department; of the department above when the user heads it."""
        for department in self.user(user_id).get("UF_DEPARTMENT") or []:
            current: str | None = str(department)
            for _ in range(MANAGER_DEPTH):
                row = self.department(current) if current else {}
                head = str(row.get("UF_HEAD") or "")
                if head.isdigit() and int(head) != user_id:
                    return int(head)
                current = str(row["PARENT"]) if row.get("PARENT") else None
        return None

    def department(self, department_id: str) -> Mapping:
        if department_id not in self.departments:
            rows = self.client.call("department.get", {"ID": department_id}).result or []
            self.departments[department_id] = rows[0] if rows else {}
        return self.departments[department_id]


class ApprovalWatcher:
    """One run over one portal's waiting tasks; ``run`` returns the notices due now."""

    def __init__(self, app: Flask, installation: Installation, client: B24Client) -> None:
        self.app, self.db, self.client = app, get_db(app), client
        self.member_id = installation.member_id
        self.token_user = installation.admin_user_id
        self.settings = settings_of(app).approvals
        self.now, self.day = clock_of(app).now(), today(app)
        self.hours = working_hours(self.settings)
        self.base = portal_base(installation)
        self.people = People(client)

    def run(self) -> list[Notice]:
        processes = {p.template_id: p.code for p in installed_processes(self.app, self.member_id) if p.template_id}
        rows = self.client.get_all("bizproc.task.list", {"FILTER": {"STATUS": WAITING}, "SELECT": TASK_FIELDS})
        waiting = [row for row in rows if str(row.get("WORKFLOW_TEMPLATE_ID")) in processes
                   and str(row.get("USER_STATUS", WAITING)) == str(WAITING)]
        tasks = track(self.db, self.member_id, waiting, processes, self.now)
        return [notice for task in tasks for notice in self.notices(task)]

    def notices(self, task: OpenTask) -> list[Notice]:
        rules = self.settings.rules_for(task.process)
        found = []
        if task.new and self.settings.notify_new_tasks:
            found.append(Notice(task.key("new"), task.user_id, "new_task",
                                f"Новая задача на согласование: «{task.name}» ({task.document_name}). "
                                f"Открыть: {task_url(self.base, task.task_id)}"))
        absence = absence_on(self.db, self.member_id, task.user_id, self.day)
        if absence is not None:
            found += self.absent(task, absence)
        waited = self.hours.between(task.assigned_at, self.now)
        if rules.remind_after_hours and waited >= rules.remind_after_hours:
            found.append(Notice(task.key("reminder"), task.user_id, "reminder",
                                f"Напоминание: задача «{task.name}» ({task.document_name}) ждёт вашего решения "
                                f"больше {rules.remind_after_hours:g} рабочих ч. "
                                f"Открыть: {task_url(self.base, task.task_id)}"))
        if rules.escalate_after_hours and waited >= rules.escalate_after_hours:
            found += [Notice(task.key(f"escalation:{target}"), target, "escalation",
                             f"Задача «{task.name}» ({task.document_name}) ждёт решения "
                             f"{self.people.name(task.user_id)} больше {rules.escalate_after_hours:g} рабочих ч. "
                             f"Поторопите согласующего или попросите администратора портала передать задачу. "
                             f"Открыть: {task_url(self.base, task.task_id)}")
                      for target in self.stand_ins(task.user_id)]
        return found

    def absent(self, task: OpenTask, absence: Absence) -> list[Notice]:
        """The task of an absent approver: delegated when we hold their token and the task allows it,
        otherwise the stand-ins are told."""
        targets = self.stand_ins(task.user_id)
        away = f"{self.people.name(task.user_id)} отсутствует до {absence.date_to:%d.%m.%Y}"
        if targets and task.user_id == self.token_user and not self.posted(task.key(f"absence:{targets[0]}")):
            refusal = delegate(self.client, [task.task_id], task.user_id, targets[0])
            if refusal is None:
                return [delegated_notice(self.base, task.task_id, task.name, task.document_name, targets[0], away)]
            log.info("outreach: task %s not delegated: %s", task.task_id, refusal)
        return [Notice(task.key(f"absence:{target}"), target, "absence",
                       f"{away}: задача «{task.name}» ({task.document_name}) ждёт его решения. Вы указаны "
                       f"{'замещающим' if absence.substitute_id == target else 'ответственным'}; передать задачу "
                       f"может сам согласующий или администратор портала. Открыть: "
                       f"{task_url(self.base, task.task_id)}")
                for target in targets]

    def stand_ins(self, user_id: int) -> list[int]:
        """The substitute of the approver's absence, else their manager, else ``escalate_to``."""
        substitute = substitute_on(self.db, self.member_id, user_id, self.day)
        chosen = [substitute] if substitute else [self.people.manager(user_id)]
        if chosen == [None]:
            chosen = list(self.settings.escalate_to)
        return [target for target in chosen if target is not None and target != user_id]

    def posted(self, key: str) -> bool:
        with self.db.read_session() as session:
            return session.scalar(select(OutreachNotice.id).where(OutreachNotice.member_id == self.member_id,
                                                                  OutreachNotice.key == key)) is not None


def track(db: Database, member_id: str, rows: Iterable[Mapping], processes: Mapping[str, str],
          now: datetime) -> list[OpenTask]:
    """Remember when each waiting (task, approver) was first seen; close those no longer waiting."""
    with db.write_lock, db.session() as session:
        known = {(r.task_id, r.user_id): r for r in session.scalars(select(OutreachApprovalTask).where(
            OutreachApprovalTask.member_id == member_id, OutreachApprovalTask.closed_at.is_(None)))}
        tasks, seen = [], set()
        for row in rows:
            key = (int(row["ID"]), int(row["USER_ID"]))
            seen.add(key)
            stored, new = known.get(key), key not in known
            if stored is None:
                stored = session.merge(OutreachApprovalTask(
                    member_id=member_id, task_id=key[0], user_id=key[1],
                    process=processes[str(row["WORKFLOW_TEMPLATE_ID"])], workflow_id=str(row.get("WORKFLOW_ID") or ""),
                    name=str(row.get("NAME") or ""), document_name=str(row.get("DOCUMENT_NAME") or ""),
                    assigned_at=now, closed_at=None))
            tasks.append(OpenTask(key[0], key[1], stored.process, stored.name, stored.document_name,
                                  stored.assigned_at, new))
        for key, row in known.items():
            if key not in seen:
                row.closed_at = now
    return tasks


def delegate(client: RestCaller, task_ids: list[int], from_user: int, to_user: int) -> str | None:
    """bizproc.task.delegate; None when the tasks moved, else the portal's reason."""
    try:
        client.call("bizproc.task.delegate", {"TASK_IDS": task_ids, "FROM_USER_ID": from_user, "TO_USER_ID": to_user})
    except B24APIError as exc:
        return f"{exc.code}: {exc.description}".strip()
    return None


def delegated_notice(base: str, task_id: int, name: str, document_name: str, target: int, away: str) -> Notice:
    """The stand-in hears of the task handed to them (keyed as their new task: told once)."""
    return Notice(f"task:{task_id}:{target}:new", target, "delegated",
                  f"{away}; вам передана задача на согласование «{name}» ({document_name}). "
                  f"Открыть: {task_url(base, task_id)}")


@dataclass(frozen=True)
class Delegation:
    delegated: dict[int, tuple[str, str]]  # task id -> (task name, document name)
    refused: dict[int, str]                # task id -> the portal's reason


def delegate_open_tasks(approver: B24Client, approver_id: int, substitute_id: int) -> Delegation:
    """With the approver's own token (a page the approver opened): hand each of their waiting tasks to the
    substitute; a task whose settings forbid it stays, with the portal's reason."""
    rows = approver.get_all("bizproc.task.list", {"FILTER": {"STATUS": WAITING},
                                                  "SELECT": ["ID", "NAME", "DOCUMENT_NAME", "USER_STATUS"]})
    waiting = {int(row["ID"]): (str(row.get("NAME") or ""), str(row.get("DOCUMENT_NAME") or ""))
               for row in rows if str(row.get("USER_STATUS", WAITING)) == str(WAITING)}
    delegated, refused = {}, {}
    for task_id, names in sorted(waiting.items()):
        refusal = delegate(approver, [task_id], approver_id, substitute_id)
        if refusal is None:
            delegated[task_id] = names
        else:
            refused[task_id] = refusal
    return Delegation(delegated, refused)


def declare_absence(app: Flask, installation: Installation, approver: B24Client, *, approver_id: int,
                    date_from: date, date_to: date, substitute_id: int, note: str = "") -> Delegation:
    """An approver records their own absence (a page, with their token): the absence is kept and, if it has
    begun, their open tasks go to the substitute, who is told."""
    db, now = get_db(app), clock_of(app).now()
    set_absence(db, member_id=installation.member_id, user_id=approver_id, date_from=date_from, date_to=date_to,
                substitute_id=substitute_id, now=now, note=note)
    if not date_from <= today(app) <= date_to:
        return Delegation({}, {})
    outcome = delegate_open_tasks(approver, approver_id, substitute_id)
    with client_for(app, installation.member_id) as client:
        away = f"{People(client).name(approver_id)} отсутствует до {date_to:%d.%m.%Y}"
        post(db, installation.member_id, [delegated_notice(portal_base(installation), task_id, name, document,
                                                           substitute_id, away)
                                          for task_id, (name, document) in outcome.delegated.items()], now)
        deliver(db, client, installation.member_id, now)
    return outcome
