"""Business-process state of one portal: templates, app activities, workflows, tasks, subscriptions."""
from __future__ import annotations

import hashlib
import secrets
import threading
from dataclasses import dataclass, field
from itertools import count
from typing import Any

from . import persist
from .bp_common import portal_lock
from .registry import Portal

RUNNING, COMPLETED, TERMINATED, FAILED = "running", "completed", "terminated", "error"
PERSISTED = ("templates", "activities", "template_ids")  # what the state file keeps (BizprocState fields)


@dataclass
class Template:
    id: int
    document_type: list[str]
    name: str
    description: str
    auto_execute: int
    template: list[dict]
    parameters: dict
    variables: dict
    constants: dict
    document_fields: dict
    user_id: int
    system_code: str
    modified: str

    @property
    def entity(self) -> str:
        return self.document_type[1]


def app_activity_type(client_id: str, code: str) -> str:
    """Activity Type inside templates: ``rest_<md5(APP_ID@CODE)>`` where APP_ID is the client_id
    [not in the docs: core modules/bizproc/lib/restservice.php generateInternalCode; restactivity.php looks the
    app up by ``CLIENT_ID = APP_ID``]."""
    return "rest_" + hashlib.md5(f"{client_id}@{code}".encode()).hexdigest()


@dataclass
class AppActivity:
    client_id: str
    code: str
    handler: str
    auth_user_id: int
    use_subscription: str
    name: Any
    description: Any
    properties: dict
    return_properties: dict
    document_type: list[str] | None
    filter: dict | None
    use_placement: str
    is_robot: bool

    @property
    def type_name(self) -> str:
        return app_activity_type(self.client_id, self.code)

    def matches_type(self, type_: str) -> bool:
        """The exported ``rest_<md5>`` form, or the plain ``rest_<code>`` form a hand-made template may carry."""
        lowered = type_.lower()
        return lowered in (self.type_name, f"rest_{self.code}".lower())


@dataclass
class Task:
    id: int
    workflow_id: str
    activity: str  # ApproveActivity | ReviewActivity | RequestInformationActivity ...
    activity_name: str
    name: str
    description: str
    users: list[int]
    parameters: dict
    document_id: list[str]
    document_name: str
    modified: str
    overdue_date: str | None = None
    # 0 running, 1 yes, 2 no, 3 ok, 4 timeout (REST docs: api-reference/bizproc/bizproc-task/bizproc-task-list.md),
    # 5 cancel [not in the docs: core modules/bizproc/classes/general/constants.php CBPTaskStatus]
    status: int = 0
    user_statuses: dict[int, int] = field(default_factory=dict)  # 0 waiting, 1 yes, 2 no, 3 ok, 4 cancel
    responses: list[dict] = field(default_factory=list)  # {user_id, status, comment, fields, time}
    # the activity's DelegationType: 0 subordinates, 1 all employees, 2 nobody
    # [not in the docs: core modules/bizproc/classes/general/constants.php CBPTaskDelegationType]
    delegation_type: int = 0

    def waiting_for(self, user_id: int) -> bool:
        return self.status == 0 and self.user_statuses.get(user_id) == 0


@dataclass
class Subscription:
    """An app activity waiting for bizproc.event.send."""

    workflow_id: str
    activity_name: str
    event_id: str
    activity: AppActivity
    return_values: dict | None = None
    log_message: str = ""


@dataclass
class Workflow:
    id: str
    template_id: int
    document_id: list[str]
    document_type: list[str]
    started_by: int
    started: str
    modified: str
    parameters: dict
    variables: dict
    constants: dict
    status: str = RUNNING
    state_title: str = ""
    results: dict[str, dict] = field(default_factory=dict)  # activity name -> its return properties
    log: list[dict] = field(default_factory=list)
    stop_requested: bool = False

    def row(self) -> dict:
        """The bizproc.workflow.instance.list field set
        (REST docs: api-reference/bizproc/bizproc-workflow-instances.md)."""
        return {
            "ID": self.id, "MODIFIED": self.modified, "OWNED_UNTIL": None,
            "MODULE_ID": self.document_id[0], "ENTITY": self.document_id[1],
            "DOCUMENT_ID": self.document_id[2], "STARTED": self.started,
            "STARTED_BY": str(self.started_by), "TEMPLATE_ID": str(self.template_id),
        }


@dataclass
class BizprocState:
    lock: threading.RLock
    templates: dict[int, Template] = field(default_factory=dict)
    activities: list[AppActivity] = field(default_factory=list)
    workflows: dict[str, Workflow] = field(default_factory=dict)
    tasks: dict[int, Task] = field(default_factory=dict)
    subscriptions: dict[str, Subscription] = field(default_factory=dict)  # event id -> subscription
    template_ids: count = field(default_factory=lambda: count(1))
    task_ids: count = field(default_factory=lambda: count(1))
    secret: bytes = field(default_factory=lambda: secrets.token_bytes(32))
    # AUTO_EXECUTE string quirk, off by default [not in the docs: core modules/bizproc/lib/restservice.php]
    strict_auto_execute: bool = False
    cancelled: bool = False  # set when the portal discards this state: every runner stops
    changed: threading.Condition = field(init=False)

    def __post_init__(self) -> None:
        self.changed = threading.Condition(self.lock)

    def snapshot(self) -> dict[str, Any]:
        """Templates and app activities for the state file; workflows and tasks die with their threads."""
        with self.lock:
            return persist.snapshot(self, PERSISTED)

    def restore(self, saved: dict[str, Any]) -> None:
        with self.lock:
            persist.restore(self, {name: saved[name] for name in PERSISTED if name in saved})

    def close(self) -> None:
        """Cancel the workflow runtime of this state: each runner stops at its next step or wait."""
        with self.lock:
            self.cancelled = True
            self.changed.notify_all()

    def app_activity_by_type(self, type_: str) -> AppActivity | None:
        return next((a for a in self.activities if a.matches_type(type_)), None)


def bizproc_state(portal: Portal) -> BizprocState:
    lock = portal_lock(portal)
    return portal.feature("bizproc", lambda: BizprocState(lock))
