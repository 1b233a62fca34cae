"""How the business processes reach 1C:ZUP: the connection and the employee behind a Bitrix24 user."""
from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from flask import Flask

from b24app.install_steps import RestCaller
from b24app.portal import get_config
from bizproc_templates.settings import BizprocConfigError, BizprocSettings
from onec.errors import OneCConfigError
from onec.factory import build_source
from onec.models import EmploymentState, EmploymentType
from onec.source import ZupSource
from sync_jobs.directory import directory
from sync_jobs.keys import person_of_xml_id


class UnknownEmployee(LookupError):
    """The Bitrix24 user is not linked to a 1C:ZUP employee."""


def open_source(app: Flask, settings: BizprocSettings) -> ZupSource:
    """The configured 1C:ZUP source (``bizproc.onec_connection`` or the first connection)."""
    try:
        return build_source(get_config(app).settings("onec").connection(settings.onec_connection))
    except OneCConfigError as exc:
        raise BizprocConfigError(f"bizproc.onec_connection: {exc}") from exc


@dataclass(frozen=True)
class ZupEmployee:
    """The 1C side of a Bitrix24 user: person, employee (employment record), organisation, department."""

    person_ref: str
    employee_ref: str
    organization_ref: str | None
    department_ref: str | None = None


def person_ref_of(app: Flask, client: RestCaller, user_id: int) -> str:
    """From the sync's directory, else from the user's XML_ID (the sync's natural key)."""
    known = directory(app).person_of_user(user_id)
    if known:
        return known
    users = client.call("user.get", {"ID": user_id, "ADMIN_MODE": "Y"}).result or []
    person_ref = person_of_xml_id(users[0].get("XML_ID")) if users else None
    if person_ref is None:
        raise UnknownEmployee(f"пользователь {user_id} не связан с сотрудником 1С:ЗУП")
    return person_ref


def employee_of(source: ZupSource, person_ref: str, on_date: dt.date) -> ZupEmployee:
    """The person's employment active on the date, the main one first (one request to 1C)."""
    state = main_employment(source.employments_of(person_ref), on_date)
    return ZupEmployee(person_ref, state.employee_ref, state.organization_ref, state.department_ref)


def main_employment(states: Sequence[EmploymentState], on_date: dt.date) -> EmploymentState:
    """Of one person's employments: an active one before a finished one, the main one before a side job."""
    if not states:
        raise UnknownEmployee("в 1С:ЗУП нет сотрудника для этого физического лица")
    return min(states, key=lambda s: _employment_order(s, on_date))


def _employment_order(state: EmploymentState, on_date: dt.date) -> tuple[bool, bool]:
    return not state.is_active(on_date), state.employment_type is not EmploymentType.MAIN
