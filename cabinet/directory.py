"""The cabinet's :class:`~cabinet.sources.Directory` over the sync's read API (``sync_jobs.directory``)."""
from __future__ import annotations

from flask import Flask

from cabinet.sources import Employment, Person, Site, SiteManagers
from sync_jobs import directory as sync_directory


class SyncDirectory:
    """People and sites as the last sync run published them; each call is one or two queries."""

    def __init__(self, app: Flask) -> None:
        self.app = app

    def _who(self) -> sync_directory.Directory:
        return sync_directory.directory(self.app)

    def sites(self) -> list[Site]:
        return [_site(site) for site in self._who().sites() if site.group_id is not None]

    def site(self, group_id: int) -> Site | None:
        found = self._who().site_of_group(group_id)
        return _site(found) if found is not None and found.group_id is not None else None

    def person_of_user(self, user_id: int) -> Person | None:
        who = self._who()
        ref = who.person_of_user(user_id)
        person = who.person(ref) if ref else None
        return _person(person, self._by_department()) if person else None

    def people_of_site(self, site: Site) -> list[Person]:
        by_department = self._by_department()
        return [_person(person, by_department) for person in self._who().people_of_site(site.department_ref)]

    def managers_of(self, department_ref: str) -> SiteManagers:
        managers = self._who().managers_of_department(department_ref)
        return SiteManagers(managers.client, managers.provider)

    def _by_department(self) -> dict[str, Site]:
        return {site.department_ref: site for site in self.sites()}


def _site(site: sync_directory.Site) -> Site:
    assert site.group_id is not None
    return Site(site.group_id, site.name, site.department_ref, site.legal_entity_ref, site.legal_entity_name,
                site.department_name)


def _person(person: sync_directory.Person, sites: dict[str, Site]) -> Person:
    employments = tuple(Employment(site.legal_entity_ref, site.legal_entity, site.department_ref, site.department,
                                   site.group_id, person.position, person.personnel_numbers)
                        for ref in person.department_refs if (site := sites.get(ref)) is not None)
    return Person(person.person_ref, person.name, person.user_id, employments, person.email_known)
