"""The employee's local regulations (ЛНА): the acts published to them for acknowledgement.

The portal holds them (``bizproc_templates.acts``): one element of the list «Ознакомление с локальными
нормативными актами» per act and employee, its file on Drive, and a review task the employee completes;
the workflow then writes «Ознакомлен», who and when. The cabinet lists them, opens the file and
completes the employee's own task with the employee's own token.
"""
from __future__ import annotations

import datetime as dt
import re
from typing import Any

from flask import Flask

from b24app.bitrix import B24Client
from b24app.db import get_db
from bizproc_templates.acts import ActsList, EmployeeAct
from bizproc_templates.installer import installed_rows
from cabinet.files import File, FileUnavailable, drive_file

PROCESS = "lna_acknowledgement"
NOT_YOURS = "Такого документа среди ваших нет."
RUSSIAN_DATE = re.compile(r"(\d{2})\.(\d{2})\.(\d{4})")


def set_up(app: Flask, member_id: str) -> bool:
    """Whether the acknowledgement list is installed on the portal (``b24app templates install``)."""
    return any(row.kind == "list" and row.code == PROCESS for row in installed_rows(get_db(app), member_id))


def acts_of(client: B24Client, user_id: int) -> list[dict[str, Any]]:
    return [_shape(act) for act in ActsList(client).of_employee(user_id)]


def act_of(acts: ActsList, user_id: int, element_id: int) -> EmployeeAct | None:
    """The act if it was published to this user, else None."""
    return next((act for act in acts.of_employee(user_id) if act.element_id == element_id), None)


def act_file(client: B24Client, user_id: int, element_id: int) -> File:
    act = act_of(ActsList(client), user_id, element_id)
    if act is None:
        raise FileUnavailable(NOT_YOURS, status=404)
    if act.file_id is None:
        raise FileUnavailable("К этому документу не приложен файл: спросите кадровую службу.", status=404)
    return drive_file(client, act.file_id)


def _shape(act: EmployeeAct) -> dict[str, Any]:
    return {"id": act.element_id, "code": act.act_code, "title": act.title, "has_file": act.file_id is not None,
            "deadline": iso_date(act.deadline), "acknowledged": act.acknowledged,
            "acknowledged_at": iso_date(act.acknowledged_at)}


def iso_date(text: str | None) -> str | None:
    """A portal date or date-time (``2026-12-04…`` or ``04.12.2026 …``) as ``YYYY-MM-DD``; None if absent."""
    value = str(text or "").strip()
    found = RUSSIAN_DATE.match(value)
    candidate = f"{found.group(3)}-{found.group(2)}-{found.group(1)}" if found else value[:10]
    try:
        return dt.date.fromisoformat(candidate).isoformat()
    except ValueError:
        return None
