"""An interim :class:`~cabinet.sources.Directory` until the sync's directory read API lands.

``sync_jobs.directory`` knows who is who (person ↔ user, department ↔ workgroup, managers) but not
the employments the cabinet shows (legal entity, position, hire date, табельный номер): those are
read from 1C:ZUP once and then every ``REFRESH_S`` and joined with the directory's ids. It goes
when the directory carries employments.
"""
from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from flask import Flask

from b24app.portal import get_config
from cabinet.sources import Employment, Person, Site, SiteManagers
from onec.errors import OneCError
from onec.factory import build_source
from sync_jobs.directory import directory
from sync_jobs.settings import sync_settings

REFRESH_S = 300.0
RETRY_S = 30.0

log = logging.getLogger(__name__)


class InterimDirectory:
    def __init__(self, app: Flask, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.app = app
        self.clock = clock
        self._lock = threading.Lock()
        self._read_at: float | None = None
        self._people: dict[str, Person] = {}
        self._by_user: dict[int, Person] = {}
        self._sites: dict[int, Site] = {}
        self._by_site: dict[int, list[Person]] = {}
        self._managers: Callable[[str], Any] = lambda ref: SiteManagers()

    def _fresh(self) -> None:
        with self._lock:
            if self._read_at is not None and self.clock() - self._read_at <= REFRESH_S:
                return
            try:
                self._load()
                self._read_at = self.clock()
            except OneCError as exc:  # an empty directory now, another read soon
                log.warning("cabinet: 1C not read for the directory: %s", type(exc).__name__)
                self._read_at = self.clock() - REFRESH_S + RETRY_S

    def _load(self) -> None:
        settings = sync_settings(self.app)
        source = build_source(get_config(self.app).settings("onec").connection(settings.onec_connection))
        try:
            entities = {e.ref: e for e in source.legal_entities()}
            departments = {d.ref: d for d in source.departments()}
            positions = {p.ref: p.name for p in source.positions()}
            numbers = {e.ref: e.personnel_number for e in source.employees()}
            persons = {p.ref: p for p in source.persons() if not p.deleted}
            states = [s for s in source.employments() if s.person_ref and s.is_active(settings.as_of())]
        finally:
            source.close()
        who = directory(self.app)
        groups = {site.department_ref: site.group_id for site in who.sites()}
        users = {ref: who.user_of_person(ref) for ref in persons}
        employments: dict[str, list[Employment]] = defaultdict(list)
        self._sites = {}
        for state in states:
            department = departments.get(state.department_ref or "")
            entity = entities.get(state.organization_ref or "")
            if department is None or entity is None:
                continue
            group_id = groups.get(department.ref)
            employments[state.person_ref].append(Employment(
                entity.ref, entity.name, department.ref, department.name, group_id,
                positions.get(state.position_ref or "", ""), state.hire_date, numbers.get(state.employee_ref, "")))
            if group_id is not None:
                self._sites[group_id] = Site(group_id, f"{entity.name} — {department.name}", department.ref,
                                             entity.ref, entity.name)
        self._people = {ref: Person(ref, f"{p.last_name} {p.first_name} {p.middle_name}".strip(), users.get(ref),
                                    tuple(employments[ref]), bool(p.email))
                        for ref, p in persons.items() if employments.get(ref)}
        self._by_user = {p.user_id: p for p in self._people.values() if p.user_id is not None}
        self._by_site = defaultdict(list)
        for person in sorted(self._people.values(), key=lambda p: p.name):
            for group_id in dict.fromkeys(e.group_id for e in person.employments if e.group_id is not None):
                self._by_site[group_id].append(person)
        self._managers = settings.managers_of

    def person_of_user(self, user_id: int) -> Person | None:
        self._fresh()
        return self._by_user.get(user_id)

    def sites(self) -> list[Site]:
        self._fresh()
        return sorted(self._sites.values(), key=lambda s: s.name)

    def people_of_site(self, group_id: int) -> list[Person]:
        self._fresh()
        return list(self._by_site.get(group_id, ()))

    def managers_of_site(self, group_id: int) -> SiteManagers:
        self._fresh()
        site = self._sites.get(group_id)
        if site is None:
            return SiteManagers()
        managers = self._managers(site.department_ref)
        return SiteManagers(managers.client, managers.provider)
