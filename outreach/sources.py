"""Where the planner's inputs come from: 1C people through ``sync_jobs.directory`` (who works where,
their Bitrix24 user, their e-mail and mobile phone from 1C) and the portal's users (user.get:
LAST_LOGIN, CONFIRM_CODE while invited, TIME_ZONE).

A test or another assembly may put any object with ``employees()`` and ``accounts()`` into
``app.extensions["outreach.sources"]``; otherwise :class:`DirectorySources` is used.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, Protocol

from flask import Flask

from outreach.planner import Employee, PortalAccount

USER_FIELDS = ["ID", "ACTIVE", "LAST_LOGIN", "CONFIRM_CODE", "TIME_ZONE"]


class Sources(Protocol):
    def employees(self) -> Iterable[Employee]: ...

    def accounts(self) -> Mapping[int, PortalAccount]: ...


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


class DirectorySources:
    """People and their contacts from the directory (also those the sync could not invite: no e-mail,
    but a mobile phone in 1C), their accounts from the portal's user.get."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self._users: dict[int, Mapping[str, Any]] | None = None

    def users(self) -> dict[int, Mapping[str, Any]]:
        if self._users is None:
            from b24app.portal import client_for

            rows = client_for(self.app).get_all("user.get", {"FILTER": {"USER_TYPE": "extranet"},
                                                             "SELECT": USER_FIELDS})
            self._users = {int(row["ID"]): row for row in rows}
        return self._users

    def employees(self) -> list[Employee]:
        from sync_jobs.directory import directory

        book = directory(self.app)
        placed = {}
        for site in book.sites():
            for person in book.people_of_site(site.department_ref):
                placed.setdefault(person.person_ref, (person, site))
        contacts = book.contacts(placed)
        employees = []
        for ref, (person, site) in placed.items():
            user = self.users().get(person.user_id or 0, {})
            reach = contacts.get(ref)
            employees.append(Employee(
                ref, person.name, _first_names(person.name), (reach.email or None) if reach else None,
                (reach.mobile or None) if reach else None, site.department_name, site.legal_entity_name,
                user.get("TIME_ZONE") or None, person.user_id))
        return employees

    def accounts(self) -> dict[int, PortalAccount]:
        return accounts_from_users(self.users().values())


def _first_names(full_name: str) -> str:
    """«Иванов Иван Петрович» → «Иван Петрович» (how a letter addresses a Russian employee)."""
    parts = full_name.split()
    return " ".join(parts[1:]) if len(parts) > 1 else full_name


def sources_of(app: Flask) -> Sources:
    return app.extensions.get("outreach.sources") or DirectorySources(app)
