"""Install the processes on a portal: app activities, lists, list fields and templates, idempotently.

Every object gets a content hash (what we would send for it); the hash and the portal's id are kept
per portal in ``bizproc_installed_objects``. ``plan()`` compares the table (and, for objects the table
does not know, the portal) with the sources; ``install()`` writes only what the plan says changed, so a
second install sends no write at all, and changing one template updates only that template. Only
templates the app created are ever updated: Bitrix24 refuses updates of others
(Bitrix24 REST docs: api-reference/bizproc/template/bizproc-workflow-template-update.md). A
template missing from the table is adopted only when the portal says this app owns it (an earlier
add whose answer was lost), never another template of the same name.

App activities are checked on the portal on every run (``bizproc.activity.list``): an app update wipes
them (api-reference/common/events/on-app-update.md); the install step at the bottom re-registers them on ONAPPINSTALL and ONAPPUPDATE.
"""
from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from b24app.bitrix import B24Client
from b24app.bitrix.errors import B24APIError
from b24app.db import Database
from b24app.install_steps import InstallContext, RestCaller, Undo
from b24app.models import utcnow
from bizproc_templates.catalog import AppActivity, load_app_activities, rest_activity_types
from bizproc_templates.compiler import (IBLOCK_TYPE_ID, compile_bpt, iblock_code, list_definition,
                                        template_definition)
from bizproc_templates.models import InstalledObject
from bizproc_templates.source import Process, load_processes

AUTH_USER_ID = 1
KINDS = ("activity", "list", "field", "template")
UNCHANGED = "unchanged"
BATCH_MAX = 50
TEMPLATE_NOT_FOUND = "ERROR_TEMPLATE_NOT_FOUND"


def digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, ensure_ascii=False, sort_keys=True).encode()).hexdigest()


class InstallError(Exception):
    """Some objects could not be written; the message is Russian and names them."""


@dataclass(frozen=True)
class Change:
    """What install does with one object: create, update, adopt (exists on the portal, not in our table) or nothing."""

    kind: str
    code: str
    action: str
    content_hash: str
    b24_id: str | None = None

    @property
    def writes(self) -> bool:
        return self.action != UNCHANGED


@dataclass(frozen=True)
class Record:
    b24_id: str
    content_hash: str
    version: int


class RecordStore:
    """The ``bizproc_installed_objects`` rows of one portal."""

    def __init__(self, db: Database, member_id: str) -> None:
        self.db = db
        self.member_id = member_id

    def all(self) -> dict[tuple[str, str], Record]:
        with self.db.read_session() as session:
            rows = session.scalars(select(InstalledObject).where(InstalledObject.member_id == self.member_id))
            return {(r.kind, r.code): Record(r.b24_id, r.content_hash, r.version) for r in rows}

    def save(self, change: Change, b24_id: str) -> None:
        with self.db.session() as session:
            row = session.scalar(select(InstalledObject).where(
                InstalledObject.member_id == self.member_id, InstalledObject.kind == change.kind,
                InstalledObject.code == change.code))
            if row is None:
                session.add(InstalledObject(member_id=self.member_id, kind=change.kind, code=change.code,
                                            b24_id=b24_id, content_hash=change.content_hash, version=1))
                return
            row.version += 1
            row.b24_id, row.content_hash, row.updated_at = b24_id, change.content_hash, utcnow()


def installed_rows(db: Database, member_id: str | None = None) -> list[InstalledObject]:
    """Rows for `templates list`, ordered by portal, kind and code."""
    with db.read_session() as session:
        statement = select(InstalledObject).order_by(InstalledObject.member_id, InstalledObject.kind,
                                                      InstalledObject.code)
        if member_id:
            statement = statement.where(InstalledObject.member_id == member_id)
        return list(session.scalars(statement))


def activity_hash(activity: AppActivity, public_url: str) -> str:
    return digest(activity.registration(public_url, AUTH_USER_ID))


def field_code(process: Process, code: str) -> str:
    return f"{process.code}.{code}"


class Installer:
    """Plans and applies the installation of `processes` and `activities` on one portal."""

    def __init__(self, client: B24Client, db: Database, *, member_id: str, client_id: str, public_url: str,
                 processes: list[Process] | None = None, activities: dict[str, AppActivity] | None = None) -> None:
        self.client = client
        self.records = RecordStore(db, member_id)
        self.public_url = public_url
        self.types = rest_activity_types(client_id)
        self.processes = processes if processes is not None else load_processes()
        self.activities = activities if activities is not None else load_app_activities()

    # -- planning ------------------------------------------------------------------------------

    def plan(self) -> list[Change]:
        """Every object with its action, in install order (activities first: templates use them)."""
        known = self.records.all()
        changes = self.activity_changes(known)
        for process in self.processes:
            changes += self.process_changes(process, known)
        return changes

    def activity_changes(self, known: dict[tuple[str, str], Record]) -> list[Change]:
        on_portal = {str(code).lower() for code in self.client.call("bizproc.activity.list", {}).result or []}
        changes = []
        for code, activity in self.activities.items():
            content = activity_hash(activity, self.public_url)
            record = known.get(("activity", code))
            if code.lower() not in on_portal:
                action = "create"
            elif record is None:
                action = "adopt"
            else:
                action = UNCHANGED if record.content_hash == content else "update"
            changes.append(Change("activity", code, action, content, code))
        return changes

    def process_changes(self, process: Process, known: dict[tuple[str, str], Record]) -> list[Change]:
        definition = list_definition(process)
        changes = [self.list_change(process, definition, known)]
        portal_fields: dict[str, str] | None = None
        for payload in definition["fields"]:
            code = field_code(process, payload["FIELDS"]["CODE"])
            content = digest(payload)
            record = known.get(("field", code))
            if record is not None:
                changes.append(_compare("field", code, content, record))
                continue
            if portal_fields is None:
                portal_fields = self.portal_fields(process) if changes[0].action != "create" else {}
            found = portal_fields.get(payload["FIELDS"]["CODE"])
            changes.append(Change("field", code, "adopt" if found else "create", content, found))
        changes.append(self.template_change(process, known))
        return changes

    def list_change(self, process: Process, definition: dict[str, Any], known: dict[tuple[str, str], Record]) -> Change:
        content = digest(definition["list"])
        record = known.get(("list", process.code))
        if record is not None:
            return _compare("list", process.code, content, record)
        found = self.portal_list_id(process)
        return Change("list", process.code, "adopt" if found else "create", content, found)

    def template_change(self, process: Process, known: dict[tuple[str, str], Record]) -> Change:
        content = self.template_hash(process)
        record = known.get(("template", process.code))
        if record is None:
            return Change("template", process.code, "create", content)
        return _compare("template", process.code, content, record)

    def template_hash(self, process: Process) -> str:
        bpt = hashlib.sha256(compile_bpt(process, self.types)).hexdigest()
        return digest({"bpt": bpt, "template": template_definition(process)})

    def portal_list_id(self, process: Process) -> str | None:
        try:
            rows = self.client.call("lists.get", {"IBLOCK_TYPE_ID": IBLOCK_TYPE_ID,
                                                  "IBLOCK_CODE": iblock_code(process)}).result
        except B24APIError as error:
            if error.code.upper() == "ERROR_IBLOCK_NOT_FOUND":
                return None
            raise
        return str(rows[0]["ID"]) if rows else None

    def portal_fields(self, process: Process) -> dict[str, str]:
        """Property CODE -> FIELD_ID of the list on the portal."""
        result = self.client.call("lists.field.get", {"IBLOCK_TYPE_ID": IBLOCK_TYPE_ID,
                                                      "IBLOCK_CODE": iblock_code(process)}).result or {}
        return {str(row.get("CODE")): str(field_id) for field_id, row in result.items() if row.get("CODE")}

    # -- applying ------------------------------------------------------------------------------

    def install(self) -> list[Change]:
        """Apply the plan; every write is recorded at once, so a rerun resumes where a failure stopped.

        The fields of a list go in one batch (a list has up to a few dozen): a portal allows 2 requests
        a second after a burst of 50, and one request per field made an install of twelve lists
        take the better part of a minute.
        """
        plan = self.plan()
        processes = {process.code: process for process in self.processes}
        fields: list[Change] = []
        for change in writes_of(plan):
            if change.kind == "field":
                fields.append(change)
                continue
            self.apply_fields(fields, processes)
            fields = []
            self.records.save(change, self.apply(change, processes))
        self.apply_fields(fields, processes)
        return plan

    def apply(self, change: Change, processes: dict[str, Process]) -> str:
        if change.kind == "activity":
            return self.apply_activity(change)
        process = processes[change.code]
        return self.apply_list(change, process) if change.kind == "list" else self.apply_template(change, process)

    def apply_activity(self, change: Change) -> str:
        registration = self.activities[change.code].registration(self.public_url, AUTH_USER_ID)
        if change.action == "create":
            self.client.call("bizproc.activity.add", registration)
        else:
            fields = {key: value for key, value in registration.items() if key != "CODE"}
            self.client.call("bizproc.activity.update", {"CODE": change.code, "FIELDS": fields})
        return change.code

    def apply_list(self, change: Change, process: Process) -> str:
        payload = list_definition(process)["list"]
        if change.action == "create":
            return str(self.client.call("lists.add", payload).result)
        self.client.call("lists.update", payload)
        return str(change.b24_id)

    def apply_fields(self, changes: list[Change], processes: dict[str, Process]) -> None:
        """lists.field.add/update in batches; successes are recorded before a failure is raised."""
        for start in range(0, len(changes), BATCH_MAX):
            chunk = {f"field{index}": change for index, change in enumerate(changes[start:start + BATCH_MAX])}
            outcome = self.client.batch({label: self.field_command(change, processes[change.code.split(".")[0]])
                                         for label, change in chunk.items()})
            for label, result in outcome.results.items():
                change = chunk[label]
                self.records.save(change, str(result) if change.action == "create" else str(change.b24_id))
            failed = [chunk[label].code for label in chunk if label not in outcome.results]
            if failed:
                raise InstallError(f"Не удалось создать или обновить поля: {', '.join(failed)}; "
                                   "повторите установку — готовое повторно не отправляется")

    def field_command(self, change: Change, process: Process) -> tuple[str, dict[str, Any]]:
        code = change.code.split(".", 1)[1]
        payload = next(p for p in list_definition(process)["fields"] if p["FIELDS"]["CODE"] == code)
        if change.action == "create":
            return "lists.field.add", payload
        if "LIST" in payload["FIELDS"]:
            payload = {**payload, "FIELDS": {**payload["FIELDS"], "LIST": self.keyed_options(payload, str(change.b24_id))}}
        return "lists.field.update", {**payload, "FIELD_ID": change.b24_id}

    def keyed_options(self, payload: dict[str, Any], field_id: str) -> dict[str, Any]:
        """LIST entries keyed by the existing value id where the label exists, so an update adds no duplicates."""
        current = self.client.call("lists.field.get", {"IBLOCK_TYPE_ID": IBLOCK_TYPE_ID, "IBLOCK_CODE": payload["IBLOCK_CODE"],
                                                       "FIELD_ID": field_id}).result or {}
        labels = (current.get(field_id) or {}).get("DISPLAY_VALUES_FORM") or {}
        value_ids = {label: value_id for value_id, label in labels.items()}
        return {value_ids.get(entry["VALUE"], key): entry for key, entry in payload["FIELDS"]["LIST"].items()}

    def apply_template(self, change: Change, process: Process) -> str:
        fields = {**template_definition(process), "TEMPLATE_DATA": self.template_file(process)}
        if change.action == "update":
            try:
                self.client.call("bizproc.workflow.template.update", {"ID": change.b24_id, "FIELDS": fields})
                return str(change.b24_id)
            except B24APIError as error:
                if error.code.upper() != TEMPLATE_NOT_FOUND:
                    raise
        document_type = ["lists", "BizprocDocument", f"iblock_{self.list_id(process)}"]
        adopted = self.own_template(document_type, fields["NAME"])
        if adopted is not None:  # an earlier add whose answer was lost: update it, never add a second one
            self.client.call("bizproc.workflow.template.update", {"ID": adopted, "FIELDS": fields})
            return adopted
        return str(self.client.call("bizproc.workflow.template.add",
                                    {**fields, "DOCUMENT_TYPE": document_type}).result)

    def own_template(self, document_type: list[str], name: str) -> str | None:
        """The id of a template this app already added to the list under ``name``."""
        rows = self.client.call("bizproc.workflow.template.list", {
            "SELECT": ["ID", "NAME", "DOCUMENT_TYPE", "SYSTEM_CODE"], "FILTER": {"NAME": name}}).result or []
        return next((str(row["ID"]) for row in rows if list(row.get("DOCUMENT_TYPE") or []) == document_type
                     and str(row.get("SYSTEM_CODE") or "").startswith("rest_app_")), None)

    def template_file(self, process: Process) -> list[str]:
        return [f"{process.code}.bpt", base64.b64encode(compile_bpt(process, self.types)).decode()]

    def list_id(self, process: Process) -> str:
        return self.records.all()[("list", process.code)].b24_id


def _compare(kind: str, code: str, content: str, record: Record) -> Change:
    return Change(kind, code, UNCHANGED if record.content_hash == content else "update", content, record.b24_id)


def writes_of(changes: Iterable[Change]) -> list[Change]:
    return [change for change in changes if change.writes]


def register_app_activities(ctx: InstallContext) -> list[Undo]:
    """bizproc.activity.add every app activity the portal lacks (after install and after every update)."""
    on_portal = {str(code).lower() for code in ctx.client.call("bizproc.activity.list", {}).result or []}
    undos: list[Undo] = []
    for code, activity in load_app_activities().items():
        if code.lower() in on_portal:
            continue
        ctx.client.call("bizproc.activity.add", activity.registration(ctx.config.public_url, AUTH_USER_ID))
        undos.append(_delete_activity(ctx.client, code))
    return undos


def _delete_activity(client: RestCaller, code: str) -> Undo:
    return lambda: client.call("bizproc.activity.delete", {"CODE": code})
