"""Where the planner's inputs come from: portal users (user.get) and 1C people (the directory).

``accounts_from_users`` turns user.get rows into :class:`PortalAccount`; the employees come from
``sync_jobs.directory`` once it offers people (see docs/outreach.md). Until then the app (or a
test) provides an object with ``employees()`` and ``accounts()`` as ``app.extensions["outreach.sources"]``.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, Protocol

from flask import Flask

from outreach.planner import Employee, PortalAccount


class Sources(Protocol):
    def employees(self) -> Iterable[Employee]: ...

    def accounts(self) -> Mapping[int, PortalAccount]: ...


class SourcesMissing(RuntimeError):
    """No source of people is wired into this app (Russian message)."""


def accounts_from_users(users: Iterable[Mapping[str, Any]]) -> dict[int, PortalAccount]:
    """user.get rows: LAST_LOGIN (null until the first login), CONFIRM_CODE (set while invited)."""
    accounts = {}
    for user in users:
        last_login = user.get("LAST_LOGIN")
        accounts[int(user["ID"])] = PortalAccount(
            user_id=int(user["ID"]), active=user.get("ACTIVE") in (True, "Y", "true", 1),
            last_login=datetime.fromisoformat(last_login) if last_login else None,
            invitation_pending=bool(user.get("CONFIRM_CODE")))
    return accounts


def sources_of(app: Flask) -> Sources:
    sources = app.extensions.get("outreach.sources")
    if sources is None:
        raise SourcesMissing("источник сотрудников не подключён: нужен справочник sync_jobs.directory "
                             "(люди 1С ↔ пользователи Битрикс24)")
    return sources
