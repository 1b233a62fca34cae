"""Where the cabinet's data comes from: the directory, the portal, 1C and the core's stores.

Each function reads one thing for one page part and returns plain JSON-ready values.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import threading
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from cachetools import TTLCache
from flask import Flask

from b24app import inbox
from b24app.bitrix import B24Client
from b24app.bitrix.errors import B24Error
from b24app.db import get_db
from b24app.portal import client_for, get_config, get_store, portal_key
from b24app.verify import Viewer
from bizproc_templates.installed import filed_requests, installed_processes
from bizproc_templates.installer import Installer, installed_rows
from bizproc_templates.settings import bizproc_settings
from bizproc_templates.source import load_processes
from bizproc_templates.zup import main_employment, open_source
from cabinet.files import File, FileUnavailable
from cabinet.roles import Roles, roles_of
from cabinet.settings import CabinetSettings
from cabinet.sources import Directory, Person, SiteManagers, StaffRoles
from onec.config import ConnectionConfig
from onec.errors import OneCError
from onec.factory import build_source, delivers_files
from onec.models import EmploymentState, PersonDocument, RequestRef, VacationBalance
from onec.source import ZupSource
from onec.targets import TARGETS
from sync_jobs import run_sync
from sync_jobs.run import preview
from sync_jobs.store import recent_runs, run_records

log = logging.getLogger(__name__)
T = TypeVar("T")

DIRECTORY_KEY = "cabinet.directory"
CONTACTS_KEPT = 1024
CONTACTS_TTL_S = 300.0  # managers' names and contacts change rarely; a page shows them for 5 minutes at most
EXAMPLES = 5
CERTIFICATE_PROCESS = "certificate"
REQUEST_PATH = "/bizproc/processes/{iblock_id}/element/0/0/"  # the portal's form of a new process element


def directory(app: Flask) -> Directory:
    return app.extensions[DIRECTORY_KEY]


def settings(app: Flask) -> CabinetSettings:
    return get_config(app).settings("cabinet")


def staff_roles(app: Flask) -> StaffRoles:
    """HR and accounting user ids of the ``bizproc:`` section (its own reader, not a copy of it)."""
    return bizproc_settings(app).roles


def roles(app: Flask, viewer: Viewer) -> Roles:
    return roles_of(viewer, directory(app), settings(app), staff_roles(app),
                    timesheets="timesheets" in get_config(app).features)


# -- people and contacts ---------------------------------------------------------------------------

CONTACTS_KEY = "cabinet.contacts"


def contacts_by_id(app: Flask, user_ids: Iterable[int], member_id: str) -> dict[int, dict[str, Any]]:
    """Name, position, e-mail and work phone of portal users, read with the app's token (kept a while)."""
    ids = sorted(set(user_ids))
    if not ids:
        return {}
    key = f"{member_id}:{ids}"
    cache, lock = app.extensions.setdefault(CONTACTS_KEY, (TTLCache(maxsize=CONTACTS_KEPT, ttl=CONTACTS_TTL_S),
                                                           threading.Lock()))
    with lock:
        known = cache.get(key)
    if known is not None:
        return known
    try:
        rows = client_for(app, member_id).call("user.get", {"FILTER": {"ID": ids}, "ADMIN_MODE": True}).result or []
    except (B24Error, LookupError) as exc:  # names only, not kept: the next page asks again
        log.warning("cabinet: contacts not read: %s", getattr(exc, "code", type(exc).__name__))
        return {user_id: {"id": user_id, "name": f"Пользователь {user_id}"} for user_id in ids}
    known = {int(row["ID"]): _contact(row) for row in rows if str(row.get("ID", "")).isdigit()}
    with lock:
        cache[key] = known
    return known


def _contact(row: dict[str, Any]) -> dict[str, Any]:
    name = " ".join(str(row.get(k) or "") for k in ("NAME", "LAST_NAME")).strip()
    return {"id": int(row["ID"]), "name": name, "position": row.get("WORK_POSITION") or "",
            "email": row.get("EMAIL") or "", "phone": row.get("WORK_PHONE") or ""}


def contacts(app: Flask, managers: SiteManagers, member_id: str) -> dict[str, list[dict[str, Any]]]:
    known = contacts_by_id(app, (*managers.client, *managers.provider), member_id)
    return {side: [known[i] for i in getattr(managers, side) if i in known] for side in ("client", "provider")}


def managers_of_person(app: Flask, person: Person, member_id: str) -> dict[str, list[dict[str, Any]]]:
    """The client's and the provider's managers of every site the person works at."""
    found = [directory(app).managers_of(e.department_ref) for e in person.employments]
    merged = SiteManagers(tuple(dict.fromkeys(i for m in found for i in m.client)),
                          tuple(dict.fromkeys(i for m in found for i in m.provider)))
    return contacts(app, merged, member_id)


# -- requests ----------------------------------------------------------------------------------------

NOT_REQUESTS = ("lna_acknowledgement", "timesheet_approval")  # started for the employee (HR publishes an act,
                                                              # the app submits a timesheet), never by them


def request_forms(app: Flask, member_id: str) -> list[dict[str, Any]]:
    """A button per installed HR process an employee starts: its title and the portal's form that starts it."""
    lists = {row.code: row.b24_id for row in installed_rows(get_db(app), member_id) if row.kind == "list"}
    return [{"code": process.code, "title": process.section("list").get("name", process.code),
             "path": REQUEST_PATH.format(iblock_id=lists[process.code])}
            for process in load_processes() if process.code in lists and process.code not in NOT_REQUESTS]


def requests_of(client: B24Client, user_id: int) -> dict[str, Any]:
    """The running processes the user started and the tasks waiting in them, plus the user's own tasks."""
    workflows = client.call("bizproc.workflow.instance.list", {
        "SELECT": ["ID", "STARTED", "STARTED_BY", "TEMPLATE_ID", "MODIFIED"],
        "FILTER": {"STARTED_BY": user_id}}).result or []
    tasks = _tasks(client, {"WORKFLOW_STARTED_BY": user_id, "STATUS": 0}) if workflows else []
    waiting = {str(t.get("WORKFLOW_ID")): t for t in tasks}
    mine = _tasks(client, {"USER_ID": user_id, "STATUS": 0})
    return {"requests": [{"id": w.get("ID"), "started": w.get("STARTED"), "title": _title_of(waiting.get(str(w.get("ID")))),
                          "status": "ждёт согласования" if str(w.get("ID")) in waiting else "в работе",
                          "waiting_for": (waiting.get(str(w.get("ID"))) or {}).get("NAME", "")} for w in workflows],
            "my_tasks": [_task(t) for t in mine]}


def approvals_of(client: B24Client, user_id: int) -> dict[str, Any]:
    """What waits for this user's decision (business-process tasks), newest first."""
    return {"tasks": [_task(t) for t in _tasks(client, {"USER_ID": user_id, "STATUS": 0})]}


def _tasks(client: B24Client, conditions: dict[str, Any]) -> list[dict[str, Any]]:
    return client.call("bizproc.task.list", {
        "SELECT": ["ID", "NAME", "WORKFLOW_ID", "DOCUMENT_NAME", "DOCUMENT_URL", "WORKFLOW_TEMPLATE_NAME",
                   "WORKFLOW_STARTED", "WORKFLOW_STARTED_BY", "USER_ID"],
        "FILTER": conditions, "ORDER": {"ID": "DESC"}}).result or []


def _title_of(task: dict[str, Any] | None) -> str:
    return str((task or {}).get("WORKFLOW_TEMPLATE_NAME") or (task or {}).get("DOCUMENT_NAME") or "Заявление")


def _task(task: dict[str, Any]) -> dict[str, Any]:
    return {"id": task.get("ID"), "name": task.get("NAME") or "", "process": task.get("WORKFLOW_TEMPLATE_NAME") or "",
            "document": task.get("DOCUMENT_NAME") or "", "url": task.get("DOCUMENT_URL") or "",
            "started": task.get("WORKFLOW_STARTED"), "started_by": task.get("WORKFLOW_STARTED_BY")}


# -- 1C ------------------------------------------------------------------------------------------------

DOCUMENT_TITLES = {
    "vacation": "Отпуск", "vacation_transfer": "Перенос отпуска", "sick_leave": "Больничный лист",
    "resignation": "Увольнение", "business_trip": "Командировка",
    "child_tax_deduction": "Заявление на стандартные вычеты по НДФЛ",
    "bank_details": "Заявление о способе выплаты зарплаты", "work_book": "Заявление о трудовой книжке",
    "certificate_2ndfl": "Справка 2-НДФЛ", "certificate_182n": "Справка о заработке (182н)",
}


def _from_onec(app: Flask, what: str, read: Callable[[ZupSource], T]) -> T | None:
    """``read`` on a source opened for this call; None (and a warning naming ``what``) if 1C fails."""
    try:
        source = open_source(app, bizproc_settings(app))
        try:
            return read(source)
        finally:
            source.close()
    except (OneCError, LookupError) as exc:
        log.warning("cabinet: %s not read from 1C: %s", what, type(exc).__name__)
        return None


READY = "Согласовано"  # HR posted the certificate: 1C has printed it
NO_FILES = ("Файлы справок это подключение к 1С:ЗУП не передаёт (стандартный интерфейс OData не отдаёт печатные "
            "формы): справку можно будет скачать здесь, когда бухгалтерия приложит её к вашему заявлению в "
            "Битрикс24, или получить в бухгалтерии.")
Attached = dict[tuple[str, str], int]  # (certificate kind, 1C number) -> Drive file id


def _documents(source: ZupSource, person: Person) -> list[PersonDocument]:
    employees = [state.employee_ref for state in source.employments_of(person.ref)]
    return source.documents_of(person.ref, employees)


def onec_documents(app: Flask, person: Person, attached: Callable[[], Attached]) -> dict[str, Any] | None:
    """The request documents 1C:ZUP holds for the person now, newest first, each certificate with whether
    its file can be downloaded (``file``: ready, pending, unavailable) — from 1C, or, when the connection
    gives no files, attached to the employee's request in Bitrix24 (``attached``); None if 1C fails."""
    found = _from_onec(app, "documents", lambda source: _documents(source, person))
    if found is None:
        return None
    files = delivers_files(_connection(app))
    on_portal = {} if files or not any(_file_state(d, True) == "ready" for d in found) else attached()
    documents = [{"ref": d.ref, "title": DOCUMENT_TITLES.get(d.kind, d.kind), "number": d.number,
                  "date": d.date.isoformat() if d.date else None, "status": d.status, "comment": d.comment,
                  "file": _file_state(d, files or (d.kind, d.number.strip()) in on_portal)} for d in found]
    unavailable = any(d["file"] == "unavailable" for d in documents)
    return {"documents": documents, "files_note": NO_FILES if unavailable else ""}


def _file_state(document: PersonDocument, files: bool) -> str | None:
    """None: the document has no file; pending: not printed yet; ready or unavailable (no file to give)."""
    if document.kind not in TARGETS or not TARGETS[document.kind].produces_file or document.status == "Отклонено":
        return None
    if document.status != READY:
        return "pending"
    return "ready" if files else "unavailable"


def certificate_file(app: Flask, person: Person, ref: str, attached: Callable[[], Attached],
                     drive: Callable[[int], File]) -> File | None:
    """The file of one of the person's certificates — printed by 1C, or attached to their request in Bitrix24
    when the connection gives no files (``drive`` reads it); None if 1C fails. FileUnavailable says why
    there is none: not the person's, not a certificate, not printed yet, nowhere to take it from."""
    files = delivers_files(_connection(app))

    def read(source: ZupSource) -> File | PersonDocument:
        document = next((d for d in _documents(source, person) if d.ref == ref.lower()), None)
        state = None if document is None else _file_state(document, True)
        if document is None or state is None:
            raise FileUnavailable("Файла по этому документу нет.", status=404)
        if state == "pending":
            raise FileUnavailable("Справка ещё не готова: бухгалтерия её оформляет.")
        if not files:
            return document
        printed = source.request_document(RequestRef(document.kind, document.ref, document.number))
        return File(printed.name or f"Справка {document.number}.pdf", printed.mime, printed.content)

    found = _from_onec(app, "certificate", read)
    if not isinstance(found, PersonDocument):
        return found
    file_id = attached().get((found.kind, found.number.strip()))
    if file_id is None:
        raise FileUnavailable(NO_FILES)
    return drive(file_id)


def attached_certificates(app: Flask, client: B24Client, member_id: str, user_id: int) -> Attached:
    """The certificates accounting attached to the user's requests «Справка 2-НДФЛ / 182н» in Bitrix24, by
    their kind and 1C number (the request's ZUP_NUMBER, written when it was registered in 1C)."""
    process = next((p for p in installed_processes(app, member_id) if p.code == CERTIFICATE_PROCESS), None)
    if process is None:
        return {}
    found: Attached = {}
    for filed in filed_requests(client, process, author=user_id):
        # a File (Drive) value is written "n<Drive file id>" (REST docs: lists/elements/lists-element-add.md);
        # read back alike [inferred]
        file_id = filed.values.get("DOCUMENT", "").removeprefix("n")
        number = filed.values.get("ZUP_NUMBER", "").strip()
        if number and file_id.isdigit():
            found[(filed.values.get("CERT_TYPE", ""), number)] = int(file_id)
    return found


def _connection(app: Flask) -> ConnectionConfig:
    """The 1C connection the business processes (and so the cabinet) use."""
    return get_config(app).settings("onec").connection(bizproc_settings(app).onec_connection)


def onec_card(app: Flask, person: Person) -> dict[str, Any] | None:
    """Today's vacation balance of the person's main employment and the hire date per department,
    read from 1C:ZUP now; None if 1C fails."""
    today = dt.date.today()

    def read(source: ZupSource) -> tuple[list[EmploymentState], VacationBalance]:
        states = source.employments_of(person.ref)
        return states, source.vacation_balance(main_employment(states, today).employee_ref, today)

    found = _from_onec(app, "card", read)
    if found is None:
        return None
    states, balance = found
    return {"vacation": {"as_of": balance.as_of.isoformat(), "days": balance.days,
                         "by_kind": [{"kind": k.kind, "days": k.days} for k in balance.by_kind]},
            "hired_on": {s.department_ref: s.hire_date.isoformat() for s in states
                         if s.is_active(today) and s.department_ref and s.hire_date}}


# -- sync and the admin console ---------------------------------------------------------------------

def last_sync(app: Flask) -> dict[str, Any] | None:
    runs = recent_runs(get_db(app), portal_key(app), 1)
    return _run(runs[0]) if runs else None


def _run(run: Any) -> dict[str, Any]:
    return {"id": run.id, "mode": run.mode, "status": run.status,
            "started_at": run.started_at.isoformat() if run.started_at else None,
            "finished_at": run.finished_at.isoformat() if run.finished_at else None,
            "counts": json.loads(run.counts or "{}"), "message": run.message}


def admin_console(app: Flask, member_id: str) -> dict[str, Any]:
    """Portal status, 1C connections, sync runs, the inbox: its depth and failed items."""
    db = get_db(app)
    portal = portal_key(app)
    runs = recent_runs(db, portal, 20)
    problems = run_records(db, portal, runs[0].id) if runs else []
    waiting, oldest = inbox.depth(db)
    return {"portal": _portal_status(app, member_id),
            "inbox": {"waiting": waiting, "oldest_age_s": _age_s(oldest)},
            "onec": [_onec_status(connection) for connection in get_config(app).settings("onec").connections],
            "sync_runs": [{**_run(run), "problems": len(run_records(db, portal, run.id))} for run in runs],
            "last_run_problems": [{"kind": r.kind, "title": r.title, "reason": r.reason} for r in problems[:200]],
            "inbox_failed": [{"id": item.id, "kind": item.kind, "name": item.name, "attempts": item.attempts,
                              "error": item.last_error or ""}
                             for item in inbox.list_items(db, status="failed", limit=100)]}


def _age_s(moment: dt.datetime | None) -> float | None:
    if moment is None:
        return None
    now = dt.datetime.now(dt.timezone.utc)
    return round((now - (moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc))).total_seconds(), 1)


def sync_plan(app: Flask) -> dict[str, Any]:
    """What the next incremental run would do, read without writing (``b24app sync plan``)."""
    plan = preview(app, full=False).plan
    examples = {"groups_create": [g.name for g in plan.group_creates], "users_create": [u.title for u in plan.user_creates],
                "users_update": [u.user.title for u in plan.user_updates],
                "users_deactivate": [u.title for u, _ in plan.deactivations],
                "skipped": [f"{s.title}: {s.reason}" for s in plan.skipped]}
    return {"counts": plan.counts(), "examples": {k: v[:EXAMPLES] for k, v in examples.items() if v}}


def start_sync(app: Flask) -> None:
    """An incremental run in the background; its row appears in the runs (the sync lock keeps it single)."""
    threading.Thread(target=_run_quietly, args=(app,), name="cabinet-sync", daemon=True).start()


def _run_quietly(app: Flask) -> None:
    try:
        run_sync(app, full=False)
    except Exception as exc:  # the run's own row says what happened; a refused lock leaves no row
        log.warning("cabinet: sync run from the console ended with %s", type(exc).__name__)


def templates_status(app: Flask, client: B24Client, member_id: str) -> list[dict[str, Any]]:
    """Each process (its list, fields and template) and each app activity against the source:
    the installed version and what installing would do now (nothing, update, create)."""
    config = get_config(app)
    installer = Installer(client, get_db(app), member_id=member_id, client_id=config.client_id,
                          public_url=config.public_url)
    versions = {(row.kind, row.code): row.version for row in installed_rows(get_db(app), member_id)}
    titles = {process.code: process.section("list").get("name", process.code) for process in installer.processes}
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for change in installer.plan():
        kind, code = ("activity", change.code) if change.kind == "activity" else ("process", change.code.split(".")[0])
        row = rows.setdefault((kind, code), {"kind": kind, "code": code, "title": titles.get(code, code),
                                             "version": versions.get(("activity" if kind == "activity" else "template", code)),
                                             "actions": set()})
        row["actions"].add(change.action)
    return [{key: value for key, value in row.items() if key != "actions"} | {"action": _summary(row["actions"])}
            for row in rows.values()]


def _summary(actions: set[str]) -> str:
    """The one action that says the most: anything to create, else to update, else unchanged."""
    return next((a for a in ("create", "adopt", "update") if a in actions), "unchanged" if actions <= {"unchanged"}
                else sorted(actions)[0])


def _onec_status(connection: Any) -> dict[str, Any]:
    """Whether the connection answers now: the sets (OData) or the service (SOAP) it needs."""
    try:
        source = build_source(connection)
        try:
            problems = {name: type(error).__name__ for name, error in source.check().items() if error is not None}
        finally:
            source.close()
    except OneCError as exc:
        problems = {"(подключение)": type(exc).__name__}
    return {"name": connection.name, "mode": connection.mode, "ok": not problems, "problems": problems}


def _portal_status(app: Flask, member_id: str) -> dict[str, Any]:
    installation = get_store(app).find(member_id=member_id)
    if installation is None:
        return {"status": "unknown"}
    status: dict[str, Any] = {
        "domain": installation.domain, "status": installation.status, "app_version": installation.app_version,
        "scopes": list(installation.scopes),
        "token_expires_at": installation.expires_at.isoformat() if installation.expires_at else None}
    try:
        client = client_for(app, member_id)
        answer = client.batch({"events": ("event.get", {}), "placements": ("placement.get", {}),
                               "activities": ("bizproc.activity.list", {})})
        status.update({name: answer.results.get(name) for name in ("events", "placements", "activities")})
    except (B24Error, LookupError) as exc:
        status["error"] = getattr(exc, "code", type(exc).__name__)
    return status


def retry_inbox_item(app: Flask, item_id: int) -> bool:
    return inbox.retry(get_db(app), item_id)
