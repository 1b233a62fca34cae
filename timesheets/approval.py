"""Two-sided approval as a Bitrix24 business process (bizproc_templates/processes/timesheet_approval.yaml).

One truth, two doors: the approval tasks live in Bitrix24 (its own task list shows them), and the
app's approval view lists and completes the same tasks through the REST API. The app never decides
an approval itself; it reads the outcome the workflow writes to its list element.

- ``submit`` moves timesheets to *submitted* (all or none) after checking the site has approvers.
- ``start_workflows`` gives each submitted timesheet without a workflow a list element (ELEMENT_CODE
  ``b24app-ts-<id>-r<revision>``, so a lost answer is reconciled by code, never added twice) and
  starts the template on it with ``bizproc.workflow.start`` (a lost answer is reconciled through
  ``bizproc.workflow.instances``). It runs right after a submission and again in the scheduled job,
  so a crash between the two steps heals itself.
- ``sync_outcomes`` reads the elements of timesheets in approval (one batch for 2,500 of them) and
  applies what the workflow wrote: approved by the client, by the provider, or returned with a comment.
  There is no REST event for a finished workflow (Bitrix24 REST docs, «bizproc» events), so a job polls.
- ``open_tasks`` / ``complete_tasks``: the approver's tasks, completed in batches of 50
  (``bizproc.task.complete`` needs the assignee's own token: only the assignee may complete a task).
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from b24app.bitrix import B24Client
from b24app.bitrix.commands import Command, CommandOutcome
from b24app.bitrix.errors import B24APIError
from b24app.db import Database
from bizproc_templates.compiler import IBLOCK_TYPE_ID
from bizproc_templates.installer import installed_rows
from bizproc_templates.source import PROCESSES_DIR, load_process
from timesheets.calendar import month_title
from timesheets.codes import format_hours
from timesheets.models import Timesheet
from timesheets.notices import Notices
from timesheets.sheets import TimesheetError, day_value, locked_timesheets, transition
from timesheets.totals import code_totals, summary_text, worked_minutes

PROCESS_CODE = "timesheet_approval"
DOCUMENT_ENTITY = "BizprocDocument"
IN_APPROVAL = ("submitted", "approved_by_client")
PAGE = 50


class ApprovalError(TimesheetError):
    """The approval cannot go on (no approvers, process not installed); the message is Russian."""


@dataclass(frozen=True)
class Approvers:
    """Bitrix24 users approving a site's timesheets on each side."""

    client: tuple[int, ...] = ()
    provider: tuple[int, ...] = ()


ApproversOf = Callable[[Timesheet], Approvers]
LinkOf = Callable[[Timesheet], str]


def element_code(timesheet: Timesheet) -> str:
    return f"b24app-ts-{timesheet.id}-r{timesheet.revision}"


def _users(ids: Iterable[int]) -> list[str]:
    return [f"user_{user_id}" for user_id in ids]


# -- the process's list on the portal --------------------------------------------------------------


@dataclass(frozen=True)
class ProcessList:
    """The installed template and its list on portal ``member_id``: field ids by CODE and list-option ids by
    option key. The timesheets a run over it reads and writes are that portal's."""

    member_id: str
    template_id: int
    iblock_id: int
    field_ids: dict[str, str]
    option_ids: dict[str, dict[str, str]]

    @property
    def target(self) -> dict[str, Any]:
        return {"IBLOCK_TYPE_ID": IBLOCK_TYPE_ID, "IBLOCK_ID": self.iblock_id}

    def fields(self, values: dict[str, Any]) -> dict[str, Any]:
        """CODE-keyed values -> lists.element FIELDS (PROPERTY_<id>, option ids for list fields)."""
        result: dict[str, Any] = {}
        for code, value in values.items():
            if code == "NAME":
                result["NAME"] = value
            else:
                options = self.option_ids.get(code)
                result[self.field_ids[code]] = options[value] if options else value
        return result

    def read(self, row: dict[str, Any]) -> dict[str, str]:
        """An element row -> CODE -> plain value (option key for list fields, "" when empty)."""
        values = {}
        for code, field_id in self.field_ids.items():
            raw = row.get(field_id)
            items = list(raw.values()) if isinstance(raw, dict) else ([] if raw in (None, "") else [raw])
            text = str(items[0]) if items else ""
            keys = {option_id: key for key, option_id in self.option_ids.get(code, {}).items()}
            values[code] = keys.get(text, text)
        return values


def process_list(client: B24Client, db: Database, member_id: str) -> ProcessList:
    """Where the installed approval process lives on this portal."""
    installed = {(row.kind, row.code): row.b24_id for row in installed_rows(db, member_id)}
    template_id, iblock_id = installed.get(("template", PROCESS_CODE)), installed.get(("list", PROCESS_CODE))
    if not template_id or not iblock_id:
        raise ApprovalError("процесс согласования табелей не установлен на портале: выполните "
                            "«b24app templates install»")
    definitions = client.call("lists.field.get", {"IBLOCK_TYPE_ID": IBLOCK_TYPE_ID, "IBLOCK_ID": iblock_id}).result
    process = load_process(PROCESSES_DIR / f"{PROCESS_CODE}.yaml")
    labels = {spec["code"]: spec.get("options", {}) for spec in process.list_fields()}
    field_ids, option_ids = {}, {}
    for field_id, spec in (definitions or {}).items():
        code = str(spec.get("CODE") or "")
        if code in labels:
            field_ids[code] = str(field_id)
            by_label = {label: str(value_id) for value_id, label in (spec.get("DISPLAY_VALUES_FORM") or {}).items()}
            if labels[code]:
                option_ids[code] = {key: by_label[label] for key, label in labels[code].items() if label in by_label}
    return ProcessList(member_id, int(template_id), int(iblock_id), field_ids, option_ids)


# -- submitting ------------------------------------------------------------------------------------


def submit(db: Database, timesheet_ids: Sequence[int], actor: int | None, now: dt.datetime,
           approvers_of: ApproversOf) -> list[int]:
    """Submit every timesheet or none; refused when a site has nobody to approve on either side."""
    with db.session() as session:
        timesheets = locked_timesheets(session, timesheet_ids)
        for timesheet in timesheets.values():
            _require_approvers(timesheet, approvers_of(timesheet))
        for timesheet in timesheets.values():
            transition(session, timesheet, "submit", actor, now)
            timesheet.element_id = timesheet.workflow_id = None
    return sorted(timesheets)


def _require_approvers(timesheet: Timesheet, approvers: Approvers) -> None:
    for side, ids in (("менеджер клиента", approvers.client), ("менеджер провайдера", approvers.provider)):
        if not ids:
            raise ApprovalError(f"для площадки «{timesheet.site_name}» не назначен {side}: табель некому "
                                "согласовать, обратитесь к менеджеру провайдера")


@dataclass
class StartReport:
    """What one start_workflows run did; ``waiting`` will be tried again by the next run."""

    started: list[int] = field(default_factory=list)
    waiting: dict[int, str] = field(default_factory=dict)


def start_workflows(client: B24Client, db: Database, target: ProcessList, approvers_of: ApproversOf,
                    now: dt.datetime, link_of: LinkOf = lambda ts: "") -> StartReport:
    """Element + workflow for every submitted timesheet that has no workflow yet."""
    report = StartReport()
    pending = _pending_starts(db, target.member_id)
    fresh = _add_elements(client, db, target, [ts for ts in pending if ts.element_id is None], report, link_of)
    ready = [ts for ts in pending if ts.element_id is not None and ts.id not in report.waiting]
    started = _running_workflows(client, [ts for ts in ready if ts.id not in fresh])
    commands = (Command("bizproc.workflow.start", {
        "TEMPLATE_ID": target.template_id, "DOCUMENT_ID": ["lists", DOCUMENT_ENTITY, str(ts.element_id)],
        "PARAMETERS": {"client_managers": _users(approvers_of(ts).client),
                       "provider_managers": _users(approvers_of(ts).provider)}}, ref=ts)
                for ts in ready if ts.id not in started)
    for outcome in client.run_commands(commands):
        timesheet: Timesheet = outcome.command.ref
        if outcome.status == "ok":
            workflow_id: str | None = str(outcome.result)
        else:
            workflow_id = _running_workflows(client, [timesheet]).get(timesheet.id)
        if workflow_id:
            started[timesheet.id] = workflow_id
        else:
            report.waiting[timesheet.id] = _why(outcome)
    with db.session() as session:
        notices = Notices(session, target.member_id, link_of)
        for timesheet in session.scalars(select(Timesheet).where(Timesheet.id.in_(list(started)))):
            timesheet.workflow_id = started[timesheet.id]
            report.started.append(timesheet.id)
            notices.submitted(timesheet, approvers_of(timesheet).client, now)
    return report


def _pending_starts(db: Database, member_id: str) -> list[Timesheet]:
    with db.read_session() as session:
        return list(session.scalars(select(Timesheet).options(selectinload(Timesheet.days)).where(
            Timesheet.member_id == member_id, Timesheet.status == "submitted", Timesheet.workflow_id.is_(None))
            .order_by(Timesheet.id)))


def element_values(timesheet: Timesheet, link: str) -> dict[str, Any]:
    totals = code_totals(day_value(row) for row in timesheet.days)
    values: dict[str, Any] = {
        "NAME": f"{timesheet.employee_name}, {month_title(timesheet.period_start)}",
        "EMPLOYEE_NAME": timesheet.employee_name, "PERIOD": month_title(timesheet.period_start),
        "SITE": timesheet.site_name, "HOURS": format_hours(worked_minutes(totals)).replace(",", ".") or "0",
        "SUMMARY": summary_text(totals), "TIMESHEET_ID": timesheet.id, "REVISION": timesheet.revision,
        "LINK": link, "STATUS": "submitted"}
    if timesheet.user_id:
        values["EMPLOYEE"] = timesheet.user_id
    return values


def _add_elements(client: B24Client, db: Database, target: ProcessList, timesheets: list[Timesheet],
                  report: StartReport, link_of: LinkOf) -> set[int]:
    """Elements for the timesheets; returns the ids of those whose element this run created itself."""
    commands = (Command("lists.element.add", {**target.target, "ELEMENT_CODE": element_code(ts),
                                              "FIELDS": target.fields(element_values(ts, link_of(ts)))}, ref=ts)
                for ts in timesheets)
    created: dict[int, int] = {}
    fresh: set[int] = set()
    for outcome in client.run_commands(commands):
        timesheet: Timesheet = outcome.command.ref
        if outcome.status == "ok":
            fresh.add(timesheet.id)
        element_id = int(outcome.result) if outcome.status == "ok" else (
            _element_by_code(client, target, timesheet) if _may_exist(outcome) else None)
        if element_id:
            created[timesheet.id] = element_id
            timesheet.element_id = element_id
        else:
            report.waiting[timesheet.id] = _why(outcome)
    if created:
        with db.session() as session:
            for row in session.scalars(select(Timesheet).where(Timesheet.id.in_(list(created)))):
                row.element_id = created[row.id]
    return fresh


def _may_exist(outcome: CommandOutcome) -> bool:
    """An add whose answer was lost, or refused because the code is taken: the element may be there."""
    return outcome.status == "unknown" or getattr(outcome.error, "code", "") == "ERROR_ELEMENT_ALREADY_EXISTS"


def _element_by_code(client: B24Client, target: ProcessList, timesheet: Timesheet) -> int | None:
    """The element an earlier, unanswered add created (ELEMENT_CODE is unique in a list)."""
    rows = client.call("lists.element.get", {**target.target, "ELEMENT_CODE": element_code(timesheet)}).result
    return int(rows[0]["ID"]) if rows else None


def _running_workflows(client: B24Client, timesheets: list[Timesheet]) -> dict[int, str]:
    """Workflows already running on the timesheets' elements (an earlier start whose answer was lost)."""
    commands = (Command("bizproc.workflow.instances", {"SELECT": ["ID", "DOCUMENT_ID"],
                                                        "FILTER": {"DOCUMENT_ID": str(ts.element_id)}}, ref=ts.id)
                for ts in timesheets)
    running = {}
    for outcome in client.run_commands(commands):
        if outcome.status == "ok" and outcome.result:
            running[outcome.command.ref] = str(outcome.result[0]["ID"])
    return running


def _why(outcome: CommandOutcome) -> str:
    error = outcome.error
    if isinstance(error, B24APIError):
        return f"Битрикс24 отказал: {error.code} {error.description}".strip()
    return "Битрикс24 не ответил; следующий запуск проверит и повторит"


# -- outcomes --------------------------------------------------------------------------------------


@dataclass
class SyncReport:
    """Transitions applied from the workflows' elements: timesheet id -> new status."""

    moved: dict[int, str] = field(default_factory=dict)


def sync_outcomes(client: B24Client, db: Database, target: ProcessList, approvers_of: ApproversOf,
                  now: dt.datetime, link_of: LinkOf = lambda ts: "",
                  timesheet_ids: Sequence[int] | None = None) -> SyncReport:
    """Apply what the workflows wrote to their elements to the timesheets still in approval."""
    report = SyncReport()
    in_transit = _in_transit(db, target.member_id, timesheet_ids)
    if not in_transit:
        return report
    elements = _read_elements(client, target, list(in_transit))
    with db.session() as session:
        notices = Notices(session, target.member_id, link_of)
        for element_id, values in elements.items():
            timesheet = session.get(Timesheet, in_transit[element_id], with_for_update=True)  # a page refreshes too
            if timesheet is None or str(values.get("REVISION", "")).split(".")[0] != str(timesheet.revision):
                continue
            if _apply(session, timesheet, values, now, approvers_of, notices):
                report.moved[timesheet.id] = timesheet.status
    return report


def _in_transit(db: Database, member_id: str, timesheet_ids: Sequence[int] | None) -> dict[int, int]:
    """element id -> timesheet id of the portal's timesheets waiting for an approval step."""
    statement = select(Timesheet.element_id, Timesheet.id).where(
        Timesheet.member_id == member_id, Timesheet.status.in_(IN_APPROVAL), Timesheet.workflow_id.is_not(None))
    if timesheet_ids is not None:
        statement = statement.where(Timesheet.id.in_(timesheet_ids))
    with db.read_session() as session:
        return {int(element_id): ts_id for element_id, ts_id in session.execute(statement)}


def _read_elements(client: B24Client, target: ProcessList, element_ids: list[int]) -> dict[int, dict[str, str]]:
    select = ["ID", *target.field_ids.values()]  # SELECT defaults to ID alone (REST docs, lists.element.get)
    commands = (Command("lists.element.get", {**target.target, "SELECT": select, "FILTER": {"=ID": chunk}})
                for chunk in _chunks(element_ids, PAGE))
    elements = {}
    for outcome in client.run_commands(commands):
        if outcome.status != "ok":
            continue  # read again by the next run
        for row in outcome.result or []:
            elements[int(row["ID"])] = target.read(row)
    return elements


def _chunks(items: list[int], size: int) -> Iterator[list[int]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _user(text: str) -> int | None:
    digits = str(text).removeprefix("user_")
    return int(digits) if digits.isdigit() else None


def _apply(session: Session, timesheet: Timesheet, values: dict[str, str], now: dt.datetime,
           approvers_of: ApproversOf, notices: Notices) -> bool:
    """Move the timesheet to what its element says; the client's approval first if it was missed."""
    outcome = values.get("STATUS", "")
    provider_step = outcome == "approved_by_provider" or (outcome == "returned" and values.get("RETURN_STEP") == "provider")
    before = timesheet.status
    if timesheet.status == "submitted" and (outcome == "approved_by_client" or provider_step):
        transition(session, timesheet, "approve_client", _user(values.get("CLIENT_APPROVER", "")), now)
        if outcome == "approved_by_client":
            notices.waiting_for_provider(timesheet, approvers_of(timesheet).provider, now)
    if timesheet.status == "approved_by_client" and outcome == "approved_by_provider":
        transition(session, timesheet, "approve_provider", _user(values.get("PROVIDER_APPROVER", "")), now)
        notices.approved(timesheet, now)
    if outcome == "returned" and timesheet.status in IN_APPROVAL:
        action = "return_provider" if provider_step else "return_client"
        comment = values.get("RETURN_COMMENT") or "без комментария"
        transition(session, timesheet, action, _user(values.get("RETURNED_BY", "")), now, comment=comment)
        notices.returned(timesheet, now)
    return timesheet.status != before


# -- the approver's tasks --------------------------------------------------------------------------


@dataclass(frozen=True)
class ApprovalTask:
    """One open approval task of one approver, with the timesheet it is about."""

    task_id: int
    timesheet_id: int
    step: str  # client | provider
    name: str


TASK_FIELDS = ["ID", "DOCUMENT_ID", "NAME", "WORKFLOW_STATE", "USER_STATUS", "STATUS"]


def open_tasks(client: B24Client, db: Database, target: ProcessList, user_id: int,
               group_id: int | None = None) -> list[ApprovalTask]:
    """The user's waiting approval tasks, optionally of one site (workgroup) only."""
    rows = client.get_all("bizproc.task.list", {"SELECT": TASK_FIELDS, "FILTER": {
        "USER_ID": user_id, "USER_STATUS": 0, "WORKFLOW_TEMPLATE_ID": target.template_id}})
    by_element = {int(row["DOCUMENT_ID"]): row for row in rows if str(row.get("DOCUMENT_ID", "")).isdigit()}
    statement = select(Timesheet).where(Timesheet.member_id == target.member_id,
                                        Timesheet.element_id.in_(list(by_element)),
                                        Timesheet.status.in_(IN_APPROVAL))
    if group_id is not None:
        statement = statement.where(Timesheet.group_id == group_id)
    with db.read_session() as session:
        timesheets = list(session.scalars(statement.order_by(Timesheet.employee_name)))
    return [ApprovalTask(int(by_element[ts.element_id]["ID"]), ts.id,
                         "client" if ts.status == "submitted" else "provider", str(by_element[ts.element_id]["NAME"]))
            for ts in timesheets]


@dataclass(frozen=True)
class Decision:
    """Approve (True) or return with a comment (False) one task."""

    task_id: int
    approve: bool
    comment: str = ""


@dataclass
class CompletionReport:
    done: list[int] = field(default_factory=list)
    failed: dict[int, str] = field(default_factory=dict)  # task id -> Russian reason


def complete_tasks(assignee: B24Client, decisions: Sequence[Decision]) -> CompletionReport:
    """Complete the assignee's tasks in batches at the portal's limits; a lost answer is checked, not resent."""
    for decision in decisions:
        if not decision.approve and not decision.comment.strip():
            raise ApprovalError("вернуть табель можно только с комментарием: что исправить")
    report = CompletionReport()
    commands = (Command("bizproc.task.complete", {"TASK_ID": d.task_id, "STATUS": 1 if d.approve else 2,
                                                  "COMMENT": d.comment}, ref=d.task_id) for d in decisions)
    unknown = []
    for outcome in assignee.run_commands(commands):
        if outcome.status == "ok":
            report.done.append(outcome.command.ref)
        elif outcome.status == "unknown":
            unknown.append(outcome.command.ref)
        else:
            report.failed[outcome.command.ref] = _why(outcome)
    _reconcile_completions(assignee, unknown, report)
    return report


def _reconcile_completions(assignee: B24Client, task_ids: list[int], report: CompletionReport) -> None:
    """A completion whose answer was lost: the task's USER_STATUS tells whether it went through."""
    if not task_ids:
        return
    rows = assignee.get_all("bizproc.task.list", {"SELECT": ["ID", "USER_STATUS"], "FILTER": {"ID": task_ids}})
    waiting = {int(row["ID"]) for row in rows if str(row.get("USER_STATUS")) == "0"}
    for task_id in task_ids:
        if task_id in waiting:
            report.failed[task_id] = "Битрикс24 не ответил; задание не выполнено, повторите"
        else:
            report.done.append(task_id)

