"""Read API for other features: the HR processes installed on a portal, the requests filed with them, and the
absences their approved requests make (``approved_absences``: timesheets prefill them).

``installed_processes(app, member_id)`` says which list, fields and template each process has on the portal
(from what the installer recorded); ``filed_requests(client, process, ...)`` reads the requests (list
elements) with their values by field CODE — list (``L``) fields as the option's key of the process source
(``approved``, ``rejected`` …), dates as text.
"""
from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import date

from flask import Flask

from b24app.bitrix import B24Client
from b24app.db import get_db
from b24app.install_steps import RestCaller
from bizproc_templates.compiler import IBLOCK_TYPE_ID
from bizproc_templates.installer import installed_rows
from bizproc_templates.source import load_processes

PAGE = 50  # the portal's list page


@dataclass(frozen=True)
class InstalledProcess:
    code: str
    iblock_id: str
    template_id: str | None
    field_ids: Mapping[str, str]               # field CODE -> the portal's field id ("PROPERTY_105")
    options: Mapping[str, Mapping[str, str]]   # L field CODE -> {label: option key}


@dataclass(frozen=True)
class FiledRequest:
    element_id: int
    name: str
    author: int                 # CREATED_BY: the employee who filed it
    values: Mapping[str, str]   # field CODE -> value ("" when empty)


def installed_processes(app: Flask, member_id: str) -> list[InstalledProcess]:
    """The processes whose list the installer created on the portal."""
    rows = installed_rows(get_db(app), member_id)
    ids = {(row.kind, row.code): row.b24_id for row in rows}
    processes = []
    for process in load_processes():
        iblock_id = ids.get(("list", process.code))
        if iblock_id is None:
            continue
        fields = process.list_fields()
        processes.append(InstalledProcess(
            process.code, iblock_id, ids.get(("template", process.code)),
            {f["code"]: ids[("field", f"{process.code}.{f['code']}")] for f in fields
             if ("field", f"{process.code}.{f['code']}") in ids},
            {f["code"]: {label: key for key, label in f["options"].items()} for f in fields if f.get("options")}))
    return processes


def filed_requests(client: B24Client, process: InstalledProcess, *, after_id: int | None = None,
                   ids: Collection[int] | None = None, author: int | None = None) -> list[FiledRequest]:
    """Requests with an id above ``after_id`` (every one when None), or those of ``ids``; only those the
    user ``author`` filed, when given."""
    target = {"IBLOCK_TYPE_ID": IBLOCK_TYPE_ID, "IBLOCK_ID": process.iblock_id}
    labels = _option_labels(client, target, process)
    select = ["ID", "NAME", "CREATED_BY", *process.field_ids.values()]
    filters = [{"=ID": list(ids)[start:start + PAGE]} for start in range(0, len(ids), PAGE)] if ids is not None \
        else [{">ID": after_id or 0}]
    if author is not None:
        filters = [{**condition, "CREATED_BY": author} for condition in filters]
    found = []
    for condition in filters:
        rows = client.get_all("lists.element.get", {**target, "SELECT": select, "FILTER": condition,
                                                    "ELEMENT_ORDER": {"ID": "ASC"}})
        found += [_request(row, process, labels) for row in rows]
    return [r for r in found if r.author == author] if author is not None else found


def _option_labels(client: RestCaller, target: dict, process: InstalledProcess) -> dict[str, dict[str, str]]:
    """L field CODE -> {the portal's value id: option key}."""
    definitions = client.call("lists.field.get", target).result or {}
    labels = {}
    for spec in definitions.values():
        code = str(spec.get("CODE") or "")
        if code in process.options:
            shown = spec.get("DISPLAY_VALUES_FORM") or {}
            labels[code] = {str(value_id): process.options[code].get(str(label), str(label))
                            for value_id, label in shown.items()}
    return labels


def _request(row: Mapping, process: InstalledProcess, labels: Mapping[str, Mapping[str, str]]) -> FiledRequest:
    values = {}
    for code, field_id in process.field_ids.items():
        raw = row.get(field_id)
        items = [str(v) for v in raw.values()] if isinstance(raw, Mapping) else ([str(raw)] if raw else [])
        first = items[0] if items else ""
        values[code] = labels[code].get(first, first) if code in labels else first
    author = str(row.get("CREATED_BY") or "0")
    return FiledRequest(int(row["ID"]), str(row.get("NAME") or ""), int(author) if author.isdigit() else 0, values)


ABSENCE_KINDS = {"vacation": "vacation", "business_trip": "business_trip", "sick_leave": "sick_leave"}
"""Processes whose approved requests put their author away (process code -> kind of absence)."""
APPROVED = ("approved", "registered")  # both approvals given; registered: also written to 1C


@dataclass(frozen=True)
class ApprovedAbsence:
    """An approved request's dates (both inclusive) for the employee who filed it."""

    user_id: int
    kind: str
    start: date
    end: date


def approved_absences(client: B24Client, processes: Collection[InstalledProcess], start: date,
                      end: date) -> list[ApprovedAbsence]:
    """The approved vacations, business trips and sick leaves overlapping ``start``..``end``."""
    found = []
    for process in processes:
        kind = ABSENCE_KINDS.get(process.code)
        if kind is None:
            continue
        for request in filed_requests(client, process):
            dates = _period(request)
            if request.values.get("STATUS") in APPROVED and request.author and dates and \
                    dates[0] <= end and dates[1] >= start:
                found.append(ApprovedAbsence(request.author, kind, *dates))
    return found


def _period(request: FiledRequest) -> tuple[date, date] | None:
    try:
        first, last = (date.fromisoformat(request.values.get(code, "")[:10]) for code in ("DATE_FROM", "DATE_TO"))
    except ValueError:
        return None
    return (first, last) if first <= last else None
