"""Who approves an employee's request: client and provider managers of their workgroups, HR, accounting.

One small interface, :class:`WorkplaceDirectory`: ``workplace(user_id)`` -> the managers of the groups
the employee works in. :class:`SyncDirectory` reads the sync's directory (user -> 1C departments ->
``sync.managers`` or the department group's owner/moderators); :class:`PortalDirectory` reads the
groups straight from Bitrix24 (used when the directory does not know the user, e.g. before the first
sync). In both, a group's owner is the provider manager (the sync makes the provider manager the
owner of every group) and its moderators are the client managers.

Absent approvers: a feature that knows who is away puts a :class:`Substitutes` into
``app.extensions[SUBSTITUTES]`` (the outreach feature does); :func:`substituted` then puts each absent
approver's substitute in their place.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol

from b24app.install_steps import RestCaller
from bizproc_templates.settings import BizprocSettings, RoleSource
from sync_jobs.directory import Directory

OWNER_ROLE = "A"
MODERATOR_ROLE = "E"
SUBSTITUTES = "bizproc_templates.substitutes"  # app.extensions key of a Substitutes, if any


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
    """The sync's directory first (configured managers, else the group's moderators), the portal otherwise."""

    def __init__(self, directory: Directory, portal: PortalDirectory) -> None:
        self.directory = directory
        self.portal = portal

    def workplace(self, user_id: int) -> Workplace:
        departments = self.directory.departments_of_user(user_id)
        if not departments:
            return self.portal.workplace(user_id)
        return merged(self.department_managers(ref) for ref in departments)

    def department_managers(self, department_ref: str) -> Workplace:
        configured = self.directory.managers_of_department(department_ref)
        if configured.client or configured.provider:
            return Workplace(configured.client, configured.provider)
        site = self.directory.site_of_department(department_ref)
        return self.portal.group_managers(site.group_id) if site else Workplace()


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


class Substitutes(Protocol):
    def substitute_for(self, member_id: str, user_id: int) -> int | None:
        """Who stands in for ``user_id`` today, or None when they are not away (or nobody is named)."""


def substituted(resolution: Resolution, substitutes: Substitutes | None, member_id: str,
                employee: int) -> tuple[Resolution, dict[int, int]]:
    """Absent approvers replaced by their substitutes (never by the employee); returns who replaced whom."""
    if substitutes is None:
        return resolution, {}
    replaced: dict[int, int] = {}
    for user_id in {i for ids in resolution.users.values() for i in ids}:
        substitute = substitutes.substitute_for(member_id, user_id)
        if substitute is not None and substitute != employee:
            replaced[user_id] = substitute
    users = {slot: _unique(replaced.get(i, i) for i in ids) for slot, ids in resolution.users.items()}
    return Resolution(users, resolution.unresolved), replaced
