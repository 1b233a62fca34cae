"""Who approves an employee's request: client and provider managers of their workgroups, HR, accounting.

One small interface, :class:`WorkplaceDirectory`: ``workplace(user_id)`` -> the managers of the groups
the employee works in. :class:`SyncDirectory` reads the sync's mapping (user -> 1C departments ->
``sync.managers`` or the department group's owner/moderators); :class:`PortalDirectory` reads the
groups straight from Bitrix24 (used when the mapping does not know the user, e.g. before the first
sync). In both, a group's owner is the provider manager (the sync makes the provider manager the
owner of every group) and its moderators are the client managers.
"""
from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import select

from b24app.db import Database
from b24app.install_steps import RestCaller
from bizproc_templates.settings import BizprocSettings, RoleSource
from sync_jobs.models import SyncMapping
from sync_jobs.settings import Managers

OWNER_ROLE = "A"
MODERATOR_ROLE = "E"


@dataclass(frozen=True)
class Workplace:
    """Managers of the groups an employee works in (empty when unknown)."""

    client_managers: tuple[int, ...] = ()
    provider_managers: tuple[int, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.client_managers or self.provider_managers)


class WorkplaceDirectory(Protocol):
    def workplace(self, user_id: int) -> Workplace: ...


def merged(workplaces: Iterable[Workplace]) -> Workplace:
    items = list(workplaces)
    return Workplace(_unique(i for w in items for i in w.client_managers),
                     _unique(i for w in items for i in w.provider_managers))


def _unique(ids: Iterable[int]) -> tuple[int, ...]:
    return tuple(dict.fromkeys(ids))


class PortalDirectory:
    """Group owners and moderators read from Bitrix24 with the app's (admin) token."""

    def __init__(self, client: RestCaller) -> None:
        self.client = client

    def workplace(self, user_id: int) -> Workplace:
        groups = self.client.call("sonet_group.get", {"IS_ADMIN": "Y"}).result or []
        members = (self.members(int(group["ID"])) for group in groups)
        return merged(self.managers(roles) for roles in members if str(user_id) in roles)

    def group_managers(self, group_id: int) -> Workplace:
        return self.managers(self.members(group_id))

    def members(self, group_id: int) -> dict[str, str]:
        rows = self.client.call("sonet_group.user.get", {"ID": group_id}).result or []
        return {str(row["USER_ID"]): str(row["ROLE"]) for row in rows}

    @staticmethod
    def managers(roles: Mapping[str, str]) -> Workplace:
        return Workplace(tuple(int(u) for u, r in roles.items() if r == MODERATOR_ROLE),
                         tuple(int(u) for u, r in roles.items() if r == OWNER_ROLE))


class SyncDirectory:
    """The sync's mapping first (configured managers, else the group's moderators), the portal otherwise."""

    def __init__(self, db: Database, managers: Mapping[str, Managers], portal: PortalDirectory) -> None:
        self.db = db
        self.configured = managers
        self.portal = portal

    def workplace(self, user_id: int) -> Workplace:
        departments = self.departments_of(user_id)
        if not departments:
            return self.portal.workplace(user_id)
        return merged(self.department_managers(ref) for ref in departments)

    def departments_of(self, user_id: int) -> list[str]:
        with self.db.read_session() as session:
            state = session.scalar(select(SyncMapping.state).where(
                SyncMapping.kind == "user", SyncMapping.b24_id == user_id))
        return list(json.loads(state or "{}").get("groups", []))

    def department_managers(self, department_ref: str) -> Workplace:
        configured = self.configured.get(department_ref) or self.configured.get("default")
        if configured is not None and (configured.client or configured.provider):
            return Workplace(configured.client, configured.provider)
        with self.db.read_session() as session:
            group_id = session.scalar(select(SyncMapping.b24_id).where(
                SyncMapping.kind == "group", SyncMapping.key == department_ref))
        return self.portal.group_managers(group_id) if group_id else Workplace()


@dataclass(frozen=True)
class Resolution:
    """Users per requested slot, and the slots nobody could be found for (filled by the fallback)."""

    users: Mapping[str, tuple[int, ...]]
    unresolved: tuple[str, ...]


def resolve_slots(process: str, slots: Iterable[str], workplace: Workplace, settings: BizprocSettings,
                  fallback: tuple[int, ...]) -> Resolution:
    """Fill every slot from its routing sources; an empty slot gets ``fallback`` and is reported."""
    by_role = {"client_manager": workplace.client_managers, "provider_manager": workplace.provider_managers,
               "hr": settings.roles.get("hr", ()), "accounting": settings.roles.get("accounting", ())}
    users: dict[str, tuple[int, ...]] = {}
    unresolved: list[str] = []
    for slot in slots:
        found = _unique(i for source in settings.sources_of(process, slot) for i in _ids_of(source, by_role))
        if not found:
            unresolved.append(slot)
        users[slot] = found or fallback
    return Resolution(users, tuple(unresolved))


def _ids_of(source: RoleSource, by_role: Mapping[str, tuple[int, ...]]) -> tuple[int, ...]:
    return (source,) if isinstance(source, int) else by_role.get(source, ())
