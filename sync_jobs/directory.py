"""Who is who, as the last sync run saw it: the one read API other features use.

1C person ↔ Bitrix24 user, 1C department (a client site) ↔ extranet workgroup, the legal entity a
site belongs to, the people of a site, and the managers of a site on both sides (client managers
moderate the group; provider managers own it or moderate it, ``sync.managers`` in app.yaml).
Nothing outside ``sync_jobs`` reads the sync's tables; features call :func:`directory` instead, which
answers for the portal in scope (``b24app.portal.portal_key``): a frame API view runs in its viewer's
portal, so each portal's pages see only that portal's people and sites.
The directory holds no СНИЛС or ИНН; a person's e-mail and mobile phone from 1C (for reaching
people who never logged in) are kept encrypted and decrypted only by :meth:`Directory.contacts`.
"""
from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field

from flask import Flask
from sqlalchemy import and_, select
from sqlalchemy.orm import aliased

from b24app.crypto import TokenCipher
from b24app.db import Database, get_db
from b24app.portal import get_store, portal_key
from sync_jobs.models import DirectoryPerson, DirectoryPlacement, DirectorySite, SyncMapping
from sync_jobs.settings import Managers, SyncSettings, sync_settings


@dataclass(frozen=True)
class Site:
    """A client site: a 1C department of a legal entity and the extranet workgroup the sync made of it."""

    department_ref: str
    group_id: int | None  # None until the sync created the group
    name: str  # the group's name «<Организация> — <Подразделение>»
    department_name: str
    legal_entity_ref: str
    legal_entity_name: str


@dataclass(frozen=True)
class Person:
    """A person with an active employment at one or more sites."""

    person_ref: str
    user_id: int | None  # None until invited (e.g. no e-mail in 1C)
    name: str
    position: str
    personnel_numbers: str
    email_known: bool
    department_refs: tuple[str, ...]


@dataclass(frozen=True)
class Contacts:
    """How to reach a person outside the portal, as 1C has it (empty strings when unknown)."""

    email: str = field(repr=False)
    mobile: str = field(repr=False)


_USER = aliased(SyncMapping)
_GROUP = aliased(SyncMapping)
_PERSON_COLUMNS = (DirectoryPerson.person_ref, _USER.b24_id, DirectoryPerson.name, DirectoryPerson.position,
                   DirectoryPerson.personnel_numbers, DirectoryPerson.email_known, DirectoryPerson.departments)
_SITE_COLUMNS = (DirectorySite.department_ref, _GROUP.b24_id, DirectorySite.name, DirectorySite.department_name,
                 DirectorySite.legal_entity_ref, DirectorySite.legal_entity_name)


class Directory:
    """Read-only lookups in one portal's rows; each call is one indexed query."""

    def __init__(self, db: Database, settings: SyncSettings, cipher: TokenCipher, portal: str) -> None:
        self.db = db
        self.settings = settings
        self.cipher = cipher
        self.portal = portal

    # -- people ---------------------------------------------------------------------------------

    def person_of_user(self, user_id: int) -> str | None:
        """The 1C person ref of a Bitrix24 user the sync created or adopted."""
        return self._scalar(select(SyncMapping.key).where(self._mapped("user"), SyncMapping.b24_id == user_id))

    def user_of_person(self, person_ref: str) -> int | None:
        return self._scalar(select(SyncMapping.b24_id).where(self._mapped("user"),
                                                             SyncMapping.key == person_ref.lower()))

    def person(self, person_ref: str) -> Person | None:
        rows = self._people(DirectoryPerson.person_ref == person_ref.lower())
        return rows[0] if rows else None

    def people_of_site(self, department_ref: str) -> list[Person]:
        """The people working at a site, by name."""
        placed = select(DirectoryPlacement.person_ref).where(
            DirectoryPlacement.member_id == self.portal, DirectoryPlacement.department_ref == department_ref.lower())
        return self._people(DirectoryPerson.person_ref.in_(placed))

    def contacts(self, person_refs: Iterable[str]) -> dict[str, Contacts]:
        """E-mail and mobile phone from 1C of the given people (decrypted; never log them)."""
        refs = [ref.lower() for ref in person_refs]
        found: dict[str, Contacts] = {}
        with self.db.read_session() as session:
            for start in range(0, len(refs), 500):
                rows = session.execute(select(DirectoryPerson.person_ref, DirectoryPerson.contacts)
                                       .where(DirectoryPerson.member_id == self.portal,
                                              DirectoryPerson.person_ref.in_(refs[start:start + 500])))
                for ref, sealed in rows:
                    data = json.loads(self.cipher.decrypt(sealed))
                    found[ref] = Contacts(data.get("email", ""), data.get("mobile", ""))
        return found

    def departments_of_user(self, user_id: int) -> list[str]:
        """The 1C departments whose groups the user is a member of (as last pushed)."""
        state = self._scalar(select(SyncMapping.state).where(self._mapped("user"), SyncMapping.b24_id == user_id))
        return sorted(json.loads(state or "{}").get("groups", []))

    def members(self, department_ref: str) -> list[int]:
        """Bitrix24 ids of the invited people of a site."""
        return sorted(p.user_id for p in self.people_of_site(department_ref) if p.user_id is not None)

    # -- sites ----------------------------------------------------------------------------------

    def site_of_department(self, department_ref: str) -> Site | None:
        rows = self._sites(DirectorySite.department_ref == department_ref.lower())
        return rows[0] if rows else None

    def site_of_group(self, group_id: int) -> Site | None:
        rows = self._sites(_GROUP.b24_id == group_id)
        return rows[0] if rows else None

    def sites(self, *, legal_entity_ref: str | None = None) -> list[Site]:
        """Every client site (of one legal entity), by name."""
        condition = DirectorySite.legal_entity_ref == legal_entity_ref.lower() if legal_entity_ref else True
        return self._sites(condition)

    # -- managers -------------------------------------------------------------------------------

    def managers_of_department(self, department_ref: str) -> Managers:
        """Client and provider managers of a site as configured in ``sync.managers``."""
        return self.settings.managers_of(department_ref.lower())

    def departments_managed_by(self, user_id: int, *, side: str) -> list[str]:
        """Sites whose ``side`` ("client" or "provider") managers include the user."""
        return [site.department_ref for site in self.sites()
                if user_id in getattr(self.managers_of_department(site.department_ref), side)]

    # -- queries --------------------------------------------------------------------------------

    def _mapped(self, kind: str):  # type: ignore[no-untyped-def]
        return and_(SyncMapping.member_id == self.portal, SyncMapping.kind == kind)

    def _people(self, condition) -> list[Person]:  # type: ignore[no-untyped-def]
        statement = (select(*_PERSON_COLUMNS)
                     .outerjoin(_USER, and_(_USER.member_id == self.portal, _USER.kind == "user",
                                            _USER.key == DirectoryPerson.person_ref))
                     .where(DirectoryPerson.member_id == self.portal, condition).order_by(DirectoryPerson.name))
        with self.db.read_session() as session:
            return [Person(r[0], r[1], r[2], r[3], r[4], r[5], tuple(json.loads(r[6])))
                    for r in session.execute(statement)]

    def _sites(self, condition) -> list[Site]:  # type: ignore[no-untyped-def]
        statement = (select(*_SITE_COLUMNS)
                     .outerjoin(_GROUP, and_(_GROUP.member_id == self.portal, _GROUP.kind == "group",
                                             _GROUP.key == DirectorySite.department_ref))
                     .where(DirectorySite.member_id == self.portal, condition).order_by(DirectorySite.name))
        with self.db.read_session() as session:
            return [Site(*row) for row in session.execute(statement)]

    def _scalar(self, statement):  # type: ignore[no-untyped-def]
        with self.db.read_session() as session:
            return session.scalar(statement)


def directory(app: Flask) -> Directory:
    """The directory of the portal in scope: the app's database and that portal's sync settings."""
    return Directory(get_db(app), sync_settings(app), get_store(app).cipher, portal_key(app))
