"""Who is who, as the sync last pushed it: the one read API other features use.

1C person ↔ Bitrix24 user, 1C department (a client site) ↔ extranet workgroup, the groups a user
belongs to, and the managers of a department on both sides (client managers moderate the group;
provider managers own it or moderate it, ``sync.managers`` in app.yaml). Nothing outside
``sync_jobs`` reads the sync's tables; features call :func:`directory` instead.
"""
from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass

from flask import Flask
from sqlalchemy import select

from b24app.db import Database, get_db
from sync_jobs.models import SyncMapping
from sync_jobs.settings import Managers, SyncSettings, sync_settings


@dataclass(frozen=True)
class Site:
    """A client site: a 1C department and the extranet workgroup the sync made of it."""

    department_ref: str
    group_id: int
    name: str


class Directory:
    """Read-only lookups over the sync's mapping; each call is one indexed query."""

    def __init__(self, db: Database, settings: SyncSettings) -> None:
        self.db = db
        self.settings = settings

    def person_of_user(self, user_id: int) -> str | None:
        """The 1C person ref of a Bitrix24 user the sync created or adopted."""
        return self._scalar(select(SyncMapping.key).where(SyncMapping.kind == "user", SyncMapping.b24_id == user_id))

    def user_of_person(self, person_ref: str) -> int | None:
        return self._scalar(select(SyncMapping.b24_id).where(SyncMapping.kind == "user",
                                                             SyncMapping.key == person_ref.lower()))

    def departments_of_user(self, user_id: int) -> list[str]:
        """The 1C departments whose groups the user is a member of (as last pushed)."""
        state = self._scalar(select(SyncMapping.state).where(SyncMapping.kind == "user",
                                                             SyncMapping.b24_id == user_id))
        return sorted(json.loads(state or "{}").get("groups", []))

    def site_of_department(self, department_ref: str) -> Site | None:
        with self.db.read_session() as session:
            row = session.execute(select(SyncMapping.b24_id, SyncMapping.state).where(
                SyncMapping.kind == "group", SyncMapping.key == department_ref.lower())).first()
        if row is None or row.b24_id is None:
            return None
        return Site(department_ref.lower(), row.b24_id, str(json.loads(row.state or "{}").get("name", "")))

    def site_of_group(self, group_id: int) -> Site | None:
        with self.db.read_session() as session:
            row = session.execute(select(SyncMapping.key, SyncMapping.state).where(
                SyncMapping.kind == "group", SyncMapping.b24_id == group_id)).first()
        return None if row is None else Site(row.key, group_id, str(json.loads(row.state or "{}").get("name", "")))

    def sites(self) -> list[Site]:
        """Every client site the sync created, by name."""
        with self.db.read_session() as session:
            rows = session.execute(select(SyncMapping.key, SyncMapping.b24_id, SyncMapping.state).where(
                SyncMapping.kind == "group", SyncMapping.b24_id.is_not(None))).all()
        return sorted((Site(r.key, r.b24_id, str(json.loads(r.state or "{}").get("name", ""))) for r in rows),
                      key=lambda site: site.name)

    def members(self, department_ref: str) -> list[int]:
        """Bitrix24 ids of the active users the sync put into the department's group."""
        ref = department_ref.lower()
        with self.db.read_session() as session:
            rows = session.execute(select(SyncMapping.b24_id, SyncMapping.state).where(
                SyncMapping.kind == "user", SyncMapping.b24_id.is_not(None)))
            return sorted(r.b24_id for r in rows if _member(r.state, ref))

    def managers_of_department(self, department_ref: str) -> Managers:
        """Client and provider managers of a department as configured in ``sync.managers``."""
        return self.settings.managers_of(department_ref.lower())

    def departments_managed_by(self, user_id: int, *, side: str) -> list[str]:
        """Departments whose ``side`` ("client" or "provider") managers include the user."""
        return sorted(ref for ref in self._known_departments()
                      if user_id in getattr(self.managers_of_department(ref), side))

    def _known_departments(self) -> Iterable[str]:
        return (site.department_ref for site in self.sites())

    def _scalar(self, statement):  # type: ignore[no-untyped-def]
        with self.db.read_session() as session:
            return session.scalar(statement)


def _member(state: str | None, department_ref: str) -> bool:
    data = json.loads(state or "{}")
    return bool(data.get("active", True)) and department_ref in data.get("groups", ())


def directory(app: Flask) -> Directory:
    """The directory of the app's database and sync settings."""
    return Directory(get_db(app), sync_settings(app))
