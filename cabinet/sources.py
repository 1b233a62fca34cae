"""What the cabinet reads from other features, each behind one small interface.

``Directory`` is who is who (the sync's directory read API): a person and their employments,
the client sites (extranet workgroups of 1C departments), their people and managers.
``StaffRoles`` are the HR and accounting user ids of the ``bizproc:`` section.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Employment:
    """Where a person works per 1C:ZUP: the legal entity and department (site) with its workgroup."""

    legal_entity_ref: str
    legal_entity: str
    department_ref: str
    department: str
    group_id: int | None
    position: str
    personnel_number: str


@dataclass(frozen=True)
class Person:
    """A 1C person and the Bitrix24 user the sync made of them (None: not invited yet)."""

    ref: str
    name: str
    user_id: int | None
    employments: tuple[Employment, ...]
    has_email: bool = True


@dataclass(frozen=True)
class Site:
    """A client site: the extranet workgroup of one department of one legal entity."""

    group_id: int
    name: str
    department_ref: str
    legal_entity_ref: str
    legal_entity: str
    department: str = ""


@dataclass(frozen=True)
class SiteManagers:
    client: tuple[int, ...] = ()
    provider: tuple[int, ...] = ()


class Directory(Protocol):
    def person_of_user(self, user_id: int) -> Person | None: ...

    def sites(self) -> list[Site]: ...

    def site(self, group_id: int) -> Site | None: ...

    def people_of_site(self, site: Site) -> list[Person]: ...

    def managers_of(self, department_ref: str) -> SiteManagers: ...


StaffRoles = Mapping[str, tuple[int, ...]]  # "hr" / "accounting" -> Bitrix24 user ids
