"""A small workflow runtime: walks a template's activity tree in a background thread per workflow.

Waiting steps (approvals, request-information, app activities, delays) block their workflow's
thread on the portal's bizproc condition; ``bizproc.task.complete`` / ``bizproc.event.send`` /
``bizproc.workflow.terminate`` change state and notify it. The thread never holds the lock while
calling the portal (tokens, outgoing POSTs, notifications), so it cannot deadlock with the transport.
"""
from __future__ import annotations

import contextlib
import hashlib
import hmac
import logging
import secrets
import string
import threading
import time
from datetime import datetime
from typing import Any, Callable

from . import bp_expressions, im, lists, messageservice
from .bp_activities import walk
from .bp_common import as_int, now_iso, user_id_of
from .bp_state import (COMPLETED, FAILED, RUNNING, TERMINATED, AppActivity, BizprocState, Subscription,
                       Task, Template, Workflow, bizproc_state)
from .registry import Portal, RestError

log = logging.getLogger(__name__)

DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
CLOCK_POLL_S = 0.05  # how often a waiting step looks at the portal clock (a manual clock moves without notice)
MAX_LOOP_ITERATIONS = 1000
TASK_PARAMETER_KEYS = ("CommentLabelMessage", "CommentRequired", "ShowComment", "TaskButtonMessage",
                       "TaskButton1Message", "TaskButton2Message", "TaskButtonCancelMessage")


class Terminated(Exception):
    """The workflow was terminated (TerminateActivity or bizproc.workflow.terminate)."""


class WorkflowFault(Exception):
    """An activity failed; the workflow ends with status ``error``."""


# ---------------------------------------------------------------- ids and tokens


def new_workflow_id() -> str:
    """PHP ``uniqid('', true)`` shape: ``66e81a641752f8.56521481``, as the IDs in REST docs:
    api-reference/bizproc/bizproc-workflow-instances.md."""
    now = time.time()
    seconds, micros = int(now), int((now % 1) * 1_000_000)
    return f"{seconds:08x}{micros:05x}{secrets.randbelow(10)}.{secrets.randbelow(10**8):08d}"


def sign_event_token(state: BizprocState, workflow_id: str, activity_name: str, event_id: str) -> str:
    """``<wf>|<activity>|<32 chars>.<hmac hex>``, as the token in REST docs:
    api-reference/bizproc/bizproc-robot/bizproc-event-send.md; signed with salt "bizproc"
    [not in the docs: core modules/bizproc/classes/general/restactivity.php]."""
    value = f"{workflow_id}|{activity_name}|{event_id}"
    return f"{value}.{_signature(state, value)}"


def _signature(state: BizprocState, value: str) -> str:
    return hmac.new(state.secret, f"bizproc{value}".encode(), hashlib.sha256).hexdigest()


def verify_event_token(state: BizprocState, token: str) -> tuple[str, str, str] | None:
    """(workflow id, activity name, event id) of a genuine token, else None."""
    value, _, signature = str(token).rpartition(".")
    parts = value.split("|")
    if len(parts) != 3 or not hmac.compare_digest(signature, _signature(state, value)):
        return None
    return parts[0], parts[1], parts[2]


# ---------------------------------------------------------------- starting


def start_workflow(portal: Portal, template: Template, document_id: list[str], user_id: int,
                   parameters: dict) -> str:
    """Create the instance and run it in the background; returns the workflow id at once."""
    state = bizproc_state(portal)
    stamp = now_iso(portal)
    values = {code: spec.get("Default") if isinstance(spec, dict) else None
              for code, spec in template.parameters.items()}
    # the core forces TargetUser = caller [not in the docs: core modules/bizproc/lib/restservice.php]
    values |= parameters | {"TargetUser": f"user_{user_id}"}
    workflow = Workflow(
        id=new_workflow_id(), template_id=template.id, document_id=list(document_id),
        document_type=list(template.document_type), started_by=user_id, started=stamp, modified=stamp,
        parameters=values, variables=_defaults(template.variables), constants=_defaults(template.constants),
    )
    with state.lock:
        state.workflows[workflow.id] = workflow
    runner = Runner(portal, state, workflow, template)
    threading.Thread(target=runner.run, name=f"bp-{workflow.id}", daemon=True).start()
    return workflow.id


def _defaults(specs: dict) -> dict:
    return {code: spec.get("Default") if isinstance(spec, dict) else spec for code, spec in specs.items()}


def autostart(portal: Portal, element_id: int, event_bit: int, user_id: int) -> None:
    """Start every template of the element's list whose AUTO_EXECUTE has ``event_bit``
    (REST docs: api-reference/bizproc/template/bizproc-workflow-template-add.md)."""
    entity = lists.document_entity(portal, element_id)
    if entity is None:
        return
    state = bizproc_state(portal)
    with state.lock:
        templates = [t for t in state.templates.values()
                     if t.document_type[2] == f"iblock_{entity[0]}" and t.auto_execute & event_bit]
    for template in templates:
        start_workflow(portal, template, [template.document_type[0], template.document_type[1], str(element_id)],
                       user_id, {})


lists.on_element_saved(autostart)


def stop_workflow(state: BizprocState, workflow: Workflow, status: str = TERMINATED) -> None:
    """Mark a workflow stopped, cancel its open tasks and subscriptions, wake its thread."""
    with state.lock:
        if workflow.status == RUNNING:
            workflow.status = status
        workflow.stop_requested = True
        workflow.modified = now_iso()
        for task in state.tasks.values():
            if task.workflow_id == workflow.id and task.status == 0:
                task.status = 5
        for event_id in [e for e, s in state.subscriptions.items() if s.workflow_id == workflow.id]:
            del state.subscriptions[event_id]
        state.changed.notify_all()


# ---------------------------------------------------------------- the runner


class Runner:
    """Executes one workflow's tree sequentially."""

    def __init__(self, portal: Portal, state: BizprocState, workflow: Workflow, template: Template) -> None:
        self.portal = portal
        self.state = state
        self.workflow = workflow
        self.template = template
        self.activity_names = {str(n.get("Name")) for n in walk(template.template)}
        self.handlers: dict[str, Callable[[dict], None]] = {
            "SequentialWorkflowActivity": self.children, "SequenceActivity": self.children,
            "EmptyBlockActivity": self.children, "IfElseActivity": self.if_else,
            "WhileActivity": self.while_loop, "ApproveActivity": self.approve,
            "ReviewActivity": self.review, "RequestInformationActivity": self.request_information,
            "RequestInformationOptionalActivity": self.request_information,
            "SetFieldActivity": self.set_field, "SetVariableActivity": self.set_variable,
            "SetStateTitleActivity": self.set_state_title, "SocNetMessageActivity": self.message,
            "IMNotifyActivity": self.message, "DelayActivity": self.delay,
            "TerminateActivity": self.terminate, "LogActivity": self.log_text, "SmsActivity": self.send_sms,
        }

    # ------------------------------------------------------------ lifecycle

    def run(self) -> None:
        status, message = COMPLETED, "Workflow completed"
        try:
            for node in self.template.template:
                self.execute(node)
        except Terminated:
            status, message = TERMINATED, "Workflow terminated"
        except WorkflowFault as fault:
            status, message = FAILED, str(fault)
        except Exception as error:  # a bug in a step must not kill the emulator thread silently
            log.exception("workflow %s crashed", self.workflow.id)
            status, message = FAILED, f"Internal error: {error}"
        self.write_log("Template", "", message)
        stop_workflow(self.state, self.workflow, status)

    def execute(self, node: dict) -> None:
        self.check_stop()
        if str(node.get("Activated", "Y")) == "N":
            return
        type_ = str(node.get("Type", ""))
        handler = self.handlers.get(type_)
        if handler is None and type_.lower().startswith("rest_"):
            handler = self.app_activity
        if handler is None:
            self.write_log(node.get("Name", ""), type_, "Activity is not executed by the emulator runtime")
            return
        handler(node)

    def stopping(self) -> bool:
        """Terminated, or the portal discarded this state (``/_emulator/reset``); call under the lock."""
        return self.workflow.stop_requested or self.state.cancelled

    def check_stop(self) -> None:
        with self.state.lock:
            if self.stopping():
                raise Terminated()

    def wait_until(self, ready: Callable[[], bool], timeout_s: float | None = None) -> bool:
        """Block until ``ready()`` (under the lock) or until ``timeout_s`` passed on the portal's clock (a
        manual clock moved by a test ends the wait as a real one does); raises when stopped."""
        deadline = None if timeout_s is None else portal_now(self.portal) + timeout_s
        expired = lambda: deadline is not None and portal_now(self.portal) >= deadline  # noqa: E731
        with self.state.lock:
            while not (ready() or self.stopping() or expired()):
                left = CLOCK_POLL_S if deadline is None else min(CLOCK_POLL_S, deadline - portal_now(self.portal))
                self.state.changed.wait(max(left, 0.001))
            if self.stopping():
                raise Terminated()
            return bool(ready())

    def write_log(self, name: Any, type_: str, message: str) -> None:
        with self.state.lock:
            self.workflow.log.append({"time": now_iso(self.portal), "activity": str(name), "type": type_,
                                      "message": message})
            self.workflow.modified = now_iso(self.portal)

    def set_result(self, node: dict, values: dict) -> None:
        with self.state.lock:
            self.workflow.results.setdefault(str(node.get("Name")), {}).update(values)

    # ------------------------------------------------------------ values

    def lookup(self, obj: str, field: str) -> Any:
        with self.state.lock:
            if obj == "Document":
                return self.document().get(field.upper())
            sources = {"Template": self.workflow.parameters, "Parameter": self.workflow.parameters,
                       "Variable": self.workflow.variables, "Constant": self.workflow.constants,
                       "Workflow": {"ID": self.workflow.id, "TemplateId": self.template.id,
                                    "StateTitle": self.workflow.state_title}}
            if obj in sources:
                return sources[obj].get(field)
            if obj == "System":
                return _system_value(field)
            return self.workflow.results.get(obj, {}).get(field)

    def document(self) -> dict:
        element_id = as_int(self.workflow.document_id[2])
        return (lists.read_document(self.portal, element_id) if element_id is not None else None) or {}

    def printable(self, value: Any) -> str:
        users = [user_id_of(v) for v in (value if isinstance(value, list) else [value])]
        if value and str(value if not isinstance(value, list) else value[0]).startswith("user_") and all(users):
            return ", ".join(_user_name(self.portal.user(u), u) for u in users)
        return bp_expressions.render(value, str)

    def resolve(self, value: Any) -> Any:
        if bp_expressions.is_reference(value, self.activity_names):
            return self.lookup(value[0], value[1])
        return bp_expressions.resolve(value, self.lookup, self.printable)

    def properties(self, node: dict) -> dict:
        raw = node.get("Properties")
        return raw if isinstance(raw, dict) else {}

    def users(self, raw: Any) -> list[int]:
        """Users / MessageUserTo: "author", "user_5", 5, references, lists of those -> existing user ids."""
        found: list[int] = []
        for item in _flatten(self.resolve(raw)):
            user_id = self.document_author() if str(item).strip() == "author" else user_id_of(item)
            if user_id and user_id not in found and self.portal.user(user_id) is not None:
                found.append(user_id)
        return found

    def document_author(self) -> int:
        return user_id_of(self.document().get("CREATED_BY", "")) or self.workflow.started_by

    # ------------------------------------------------------------ composite activities

    def children(self, node: dict) -> None:
        for child in node.get("Children") or []:
            self.execute(child)

    def if_else(self, node: dict) -> None:
        for branch in node.get("Children") or []:
            if self.condition_holds(self.properties(branch)):
                self.children(branch)
                return

    def while_loop(self, node: dict) -> None:
        for _ in range(MAX_LOOP_ITERATIONS):
            if not self.condition_holds(self.properties(node)):
                return
            self.children(node)
        raise WorkflowFault(f"{node.get('Name')}: loop limit of {MAX_LOOP_ITERATIONS} iterations reached")

    def condition_holds(self, properties: dict) -> bool:
        """fieldcondition on document fields, propertyvariablecondition on variables/parameters."""
        if "fieldcondition" in properties:
            return self.conditions(properties["fieldcondition"], lambda f: self.lookup("Document", f))
        if "propertyvariablecondition" in properties:
            return self.conditions(properties["propertyvariablecondition"], self.variable_or_parameter)
        return "truecondition" in properties or not any(k.endswith("condition") for k in properties)

    def variable_or_parameter(self, name: str) -> Any:
        if bp_expressions.EXPRESSION.fullmatch(str(name)):
            return self.resolve(name)
        for source in ("Variable", "Template", "Constant"):
            value = self.lookup(source, name)
            if value is not None:
                return value
        return None

    def conditions(self, rows: Any, value_of: Callable[[str], Any]) -> bool:
        """Rows ``[field, op, value, joiner]``; joiner 1 = OR with the previous group, 0 = AND."""
        groups: list[list[bool]] = [[]]
        for index, row in enumerate(rows if isinstance(rows, list) else []):
            if not isinstance(row, list) or len(row) < 2:
                continue
            if index and len(row) > 3 and str(row[3]) == "1":
                groups.append([])
            expected = self.resolve(row[2]) if len(row) > 2 else None
            groups[-1].append(compare(value_of(str(row[0])), str(row[1]), expected))
        return any(all(group) for group in groups if group)

    # ------------------------------------------------------------ simple activities

    def set_field(self, node: dict) -> None:
        values = self.resolve(self.properties(node).get("FieldValue") or {})
        element_id = as_int(self.workflow.document_id[2])
        try:
            lists.write_document(self.portal, element_id, values, self.workflow.started_by)
        except (RestError, LookupError) as error:
            raise WorkflowFault(f"{node.get('Name')}: {getattr(error, 'description', error)}") from None
        self.write_log(node.get("Name"), "SetFieldActivity", f"Fields changed: {', '.join(values)}")

    def set_variable(self, node: dict) -> None:
        values = self.resolve(self.properties(node).get("VariableValue") or {})
        with self.state.lock:
            self.workflow.variables.update(values)

    def set_state_title(self, node: dict) -> None:
        title = bp_expressions.render(self.resolve(self.properties(node).get("TargetStateTitle")), str)
        with self.state.lock:
            self.workflow.state_title = title

    def log_text(self, node: dict) -> None:
        self.write_log(node.get("Name"), "LogActivity", self.printable(self.resolve(self.properties(node).get("Text"))))

    def terminate(self, node: dict) -> None:
        self.write_log(node.get("Name"), "TerminateActivity", "Terminated by the template")
        raise Terminated()

    def delay(self, node: dict) -> None:
        seconds = self.duration(self.properties(node))
        if seconds > 0:
            self.wait_until(lambda: False, seconds)

    def duration(self, properties: dict) -> float:
        """TimeoutDuration × TimeoutDurationType (s/m/h/d), scaled by the portal's time scale."""
        amount = as_int(self.resolve(properties.get("TimeoutDuration"))) or 0
        unit = DURATION_UNITS.get(str(properties.get("TimeoutDurationType", "s")).lower(), 1)
        return amount * unit / time_scale(self.portal)

    def message(self, node: dict) -> None:
        """SocNetMessageActivity / IMNotifyActivity: a notification per MessageUserTo."""
        properties = self.properties(node)
        text = self.printable(self.resolve(properties.get("MessageText") or properties.get("MessageSite") or ""))
        sender = (self.users(properties.get("MessageUserFrom")) or [0])[0]
        for user_id in self.users(properties.get("MessageUserTo")):
            self.notify(user_id, text, sender, str(node.get("Name")))

    def notify(self, user_id: int, text: str, sender: int, activity_name: str) -> None:
        """Stored as an IM notification of the portal (``/_emulator/notifications``)."""
        with portal_guard(self.portal):
            im.notify(self.portal, user_id, text, kind="personal", from_user_id=sender or None)
        self.write_log(activity_name, "notify", f"Message to user {user_id}")

    def send_sms(self, node: dict) -> None:
        """SmsActivity: the message goes to the app provider's HANDLER with the workflow context
        (b24restdocs messageservice-sender-add.md: module_id bizproc, workflow_id, document_id, document_type).
        [inferred] activity type and property names (ProviderId = the provider CODE, PhoneNumber, MessageText)."""
        properties = self.properties(node)
        code = str(self.resolve(properties.get("ProviderId")) or "").rsplit("|", 1)[-1]
        phone = self.printable(self.resolve(properties.get("PhoneNumber")))
        text = self.printable(self.resolve(properties.get("MessageText")))
        context = {"module_id": "bizproc", "workflow_id": self.workflow.id,
                   "document_id": list(self.workflow.document_id), "document_type": list(self.workflow.document_type)}
        try:
            with portal_guard(self.portal):
                message_id = messageservice.send(self.portal, code, phone, text, self.workflow.started_by,
                                                 context=context)
        except messageservice.SmsError as error:
            self.write_log(node.get("Name"), "SmsActivity", f"SMS not sent: {error}")
            return
        self.set_result(node, {"MessageId": message_id})
        self.write_log(node.get("Name"), "SmsActivity", f"SMS {message_id} sent through {code}")

    # ------------------------------------------------------------ tasks

    def new_task(self, node: dict, users: list[int], extra: dict | None = None,
                 timeout_s: float = 0.0) -> Task:
        """A task for ``users``; with a timeout its OVERDUE_DATE is that far ahead on the portal clock."""
        properties = self.properties(node)
        params = {key: self.resolve(properties[key]) for key in TASK_PARAMETER_KEYS if key in properties}
        with self.state.lock:
            task = Task(
                id=next(self.state.task_ids), workflow_id=self.workflow.id, activity=str(node.get("Type")),
                activity_name=str(node.get("Name")), name=self.printable(self.resolve(properties.get("Name", ""))),
                description=self.printable(self.resolve(properties.get("Description", ""))), users=users,
                parameters=params | (extra or {}), document_id=list(self.workflow.document_id),
                document_name=str(self.document().get("NAME", "")), modified=now_iso(self.portal),
                user_statuses={user_id: 0 for user_id in users},
                overdue_date=self.portal.iso(portal_now(self.portal) + timeout_s) if timeout_s > 0 else None,
                delegation_type=as_int(self.resolve(properties.get("DelegationType"))) or 0,
            )
            self.state.tasks[task.id] = task
        self.write_log(node.get("Name"), task.activity, f"Task {task.id} for users {users}")
        return task

    def task_users(self, node: dict) -> list[int]:
        users = self.users(self.properties(node).get("Users"))
        if not users:
            raise WorkflowFault(f"{node.get('Name')}: no users to assign the task to")
        return users

    def approve(self, node: dict) -> None:
        """ApproveActivity: a task, then child branch 0 (approved) or 1 (rejected), as vacation.php."""
        properties, users = self.properties(node), self.task_users(node)
        approve_type = str(properties.get("ApproveType", "any")).lower()
        groups = [[user] for user in users] if approve_type == "queue" else [users]
        approved, responses, timed_out = True, [], False
        timeout_s = self.duration(properties)
        for group in groups:
            task = self.new_task(node, group, timeout_s=timeout_s)
            decided = self.wait_until(lambda t=task: approval_decided(t, approve_type, properties) is not None,
                                      timeout_s or None)
            with self.state.lock:
                approved = decided and bool(approval_decided(task, approve_type, properties))
                timed_out = not decided
                task.status = 4 if timed_out else (1 if approved else 2)  # 4: timeout (bizproc-task-list.md)
                responses += task.responses
            if not approved:
                break
        # [inferred] an approval that ran out of time ends as not approved, with IsTimeout 1
        self.set_result(node, approval_results(responses, users, task.id, self.portal) | {"IsTimeout": int(timed_out)})
        self.write_log(node.get("Name"), "ApproveActivity", "Approved" if approved else "Rejected")
        branches = node.get("Children") or []
        branch = branches[0] if approved else (branches[1] if len(branches) > 1 else None)
        if branch:
            self.execute(branch)

    def review(self, node: dict) -> None:
        properties, users = self.properties(node), self.task_users(node)
        task = self.new_task(node, users)
        need_all = str(properties.get("ApproveType", "any")).lower() == "all"
        self.wait_until(lambda: _reviewed(task, need_all))
        with self.state.lock:
            task.status = 3
            last = task.responses[-1]
            self.set_result(node, {"LastReviewer": f"user_{last['user_id']}", "LastReviewerComment": last["comment"],
                                   "ReviewedCount": len(task.responses), "TaskId": task.id,
                                   "Comments": _comments(task.responses, self.portal)})

    def request_information(self, node: dict) -> None:
        """RequestInformationActivity: the first answer's FIELDS become variables of the same names."""
        fields = self.properties(node).get("RequestedInformation") or []
        task = self.new_task(node, self.task_users(node), {"Fields": fields})
        self.wait_until(lambda: bool(task.responses))
        with self.state.lock:
            answer = task.responses[0]
            task.status = 3 if answer["status"] == 3 else 5
            self.workflow.variables.update(answer["fields"])
            self.set_result(node, answer["fields"] | {"LastUser": f"user_{answer['user_id']}",
                                                      "Comments": answer["comment"], "TaskId": task.id})

    # ------------------------------------------------------------ app activities

    def app_activity(self, node: dict) -> None:
        """POST the step's payload to the app's HANDLER, then wait for bizproc.event.send
        [not in the docs: the payload, core modules/bizproc/classes/general/restactivity.php]."""
        type_, name = str(node.get("Type")), str(node.get("Name"))
        with self.state.lock:
            activity = self.state.app_activity_by_type(type_)
        if activity is None:
            raise WorkflowFault(f"{name}: Activity not found")
        properties = self.properties(node)
        use_subscription = str(properties.get("UseSubscription", activity.use_subscription)).upper()
        timeout_s = self.duration(properties)
        event_id = "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(32))
        subscription = Subscription(self.workflow.id, name, event_id, activity)
        defaults = {key: (spec or {}).get("Default") for key, spec in activity.return_properties.items()}
        self.set_result(node, defaults | {"IsTimeout": 0})
        if use_subscription == "Y":
            with self.state.lock:
                self.state.subscriptions[event_id] = subscription
        self.portal.post_form(activity.handler, self.callback_payload(node, activity, event_id, use_subscription))
        self.write_log(name, type_, f"Request sent to {activity.code}")
        if use_subscription != "Y":
            return
        answered = self.wait_until(lambda: subscription.return_values is not None, timeout_s or None)
        with self.state.lock:
            self.state.subscriptions.pop(event_id, None)
        if not answered:
            self.set_result(node, {"IsTimeout": 1})
            self.write_log(name, type_, "Timeout")
            return
        self.set_result(node, subscription.return_values or {})
        self.write_log(name, type_, subscription.log_message or "Response received")

    def callback_payload(self, node: dict, activity: AppActivity, event_id: str, use_subscription: str) -> dict:
        properties = self.properties(node)
        values = {key: _external(self.resolve(properties.get(key, (spec or {}).get("Default"))))
                  for key, spec in activity.properties.items()}
        return {
            "workflow_id": self.workflow.id, "code": activity.code,
            "document_id": list(self.workflow.document_id), "document_type": list(self.workflow.document_type),
            "event_token": sign_event_token(self.state, self.workflow.id, str(node.get("Name")), event_id),
            "properties": values, "use_subscription": use_subscription,
            "timeout_duration": str(round(self.duration(properties) * time_scale(self.portal))),
            "ts": str(int(portal_now(self.portal))), "auth": self.callback_auth(properties, activity),
        }

    def callback_auth(self, properties: dict, activity: AppActivity) -> dict:
        """Full token set incl. refresh_token + application_token for AuthUserId
        [not in the docs: core modules/bizproc/classes/general/restactivity.php]."""
        user_ids = self.users(properties.get("AuthUserId") or f"user_{activity.auth_user_id}")
        user_id = user_ids[0] if user_ids else self.workflow.started_by
        app = self.portal.app(activity.client_id)
        if app is None:
            raise WorkflowFault("Rest application not found.")
        with portal_guard(self.portal):
            token = self.portal.issue_token(activity.client_id, user_id)
        return {key: str(value) for key, value in token.items()} | {
            "user_id": str(user_id), "application_token": str(getattr(app, "application_token", ""))}


# ---------------------------------------------------------------- pure helpers


def portal_guard(portal: Portal) -> contextlib.AbstractContextManager:
    """The core's portal lock when it has one: taken only while this thread holds no bizproc lock."""
    return getattr(portal, "lock", None) or contextlib.nullcontext()


def portal_now(portal: Portal) -> float:
    """The portal's clock (a test's manual clock included); the system clock when the portal has none."""
    clock = getattr(portal, "clock", None)
    return clock.now() if clock is not None else time.time()


def time_scale(portal: Portal) -> float:
    """The portal's ``--time-scale`` (waits run K times faster); 1 when the portal has none."""
    return float(getattr(getattr(portal, "options", None), "time_scale", 1.0) or 1.0)


def compare(actual: Any, operator: str, expected: Any) -> bool:
    """One condition: = != > < >= <= in contain empty !empty; lists match when any item does."""
    operator = operator.strip().lower()
    if operator == "empty":
        return actual in (None, "", [], {})
    if operator == "!empty":
        return actual not in (None, "", [], {})
    if isinstance(actual, list) and operator not in ("in", "contain"):
        hits = [compare(item, operator, expected) for item in actual] or [compare(None, operator, expected)]
        return all(hits) if operator == "!=" else any(hits)
    if operator == "in":
        options = expected if isinstance(expected, list) else [x.strip() for x in str(expected).split(",")]
        return any(_normal(actual) == _normal(option) for option in options)
    if operator == "contain":
        items = actual if isinstance(actual, list) else [actual]
        return any(_normal(expected) in _normal(item) for item in items)
    left, right = _normal(actual), _normal(expected)
    if isinstance(left, float) != isinstance(right, float):
        left, right = str(left), str(right)
    checks = {"=": left == right, "!=": left != right}
    if operator in checks:
        return checks[operator]
    return {">": left > right, ">=": left >= right, "<": left < right, "<=": left <= right}.get(operator, False)


def _normal(value: Any) -> Any:
    if isinstance(value, bool):
        return "y" if value else "n"
    text = "" if value is None else str(value).strip()
    try:
        return float(text)
    except ValueError:
        return text.lower()


def approval_decided(task: Task, approve_type: str, properties: dict) -> bool | None:
    """True approved, False rejected, None still waiting (any / all / queue / vote)."""
    statuses = list(task.user_statuses.values())
    yes, no, total = statuses.count(1), statuses.count(2), len(statuses)
    if approve_type == "vote":
        percent = float(as_int(properties.get("ApproveMinPercent")) or 50)
        if yes * 100 / total >= percent:
            return True
        return False if (total - no) * 100 / total < percent else None
    if approve_type == "all":
        return False if no else (True if yes == total else None)
    return True if yes else (False if no else None)


def approval_results(responses: list[dict], users: list[int], task_id: int, portal: Portal) -> dict:
    last = responses[-1] if responses else {"user_id": 0, "comment": ""}
    yes = [r for r in responses if r["status"] == 1]
    no = [r for r in responses if r["status"] == 2]
    return {
        "LastApprover": f"user_{last['user_id']}", "LastApproverComment": last["comment"],
        "Comments": _comments(responses, portal), "ApprovedCount": len(yes), "NotApprovedCount": len(no),
        "TotalCount": len(users), "ApprovedPercent": round(len(yes) * 100 / max(len(users), 1)),
        "Approvers": ", ".join(_user_name(portal.user(r["user_id"]), r["user_id"]) for r in yes),
        "Rejecters": ", ".join(_user_name(portal.user(r["user_id"]), r["user_id"]) for r in no),
        "TaskId": task_id, "IsTimeout": 0,
    }


def _reviewed(task: Task, need_all: bool) -> bool:
    done = [s for s in task.user_statuses.values() if s != 0]
    return bool(done) and (not need_all or len(done) == len(task.user_statuses))


def _comments(responses: list[dict], portal: Portal) -> str:
    return "\n".join(f"{_user_name(portal.user(r['user_id']), r['user_id'])} ({r['time']}): {r['comment']}"
                     for r in responses if r["comment"])


def _user_name(user: dict | None, user_id: int) -> str:
    if not user:
        return f"user_{user_id}"
    name = " ".join(str(user.get(k) or "") for k in ("NAME", "LAST_NAME")).strip()
    return name or str(user.get("EMAIL") or f"user_{user_id}")


def _system_value(field: str) -> str:
    now = datetime.now().astimezone()
    return {"now": now.strftime("%d.%m.%Y %H:%M:%S"), "nowlocal": now.strftime("%d.%m.%Y %H:%M:%S"),
            "date": now.strftime("%d.%m.%Y")}.get(field.lower(), "")


def _flatten(value: Any) -> list[Any]:
    if isinstance(value, (list, tuple)):
        return [item for part in value for item in _flatten(part)]
    if isinstance(value, str) and "," in value:
        return [part.strip() for part in value.split(",") if part.strip()]
    return [] if value in (None, "") else [value]


def _external(value: Any) -> Any:
    """Callback property values: null -> "", multiple -> list of strings
    [not in the docs: core modules/bizproc/classes/general/restactivity.php]."""
    if isinstance(value, list):
        return [_external(item) for item in value]
    return "" if value is None else str(value)

