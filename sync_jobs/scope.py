"""Which people an incremental run has to decide again: those whose 1C records changed.

A person's user depends on their person record, their employment register rows and employee cards,
the departments, legal entities and positions those rows name, the settings, and the date (a hire
or dismissal takes effect, a grace period ends). An incremental run that applied 1C's changes to
the last run's records (sync_jobs.pipeline) decides and plans only the people any of that changed
for; everyone else's user is as the last successful run left it. Without a usable basis (no stored
basis, other settings, the date moved back, the last run partial, the mapping altered since) every person is decided, as in a
full run.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from onec.models import EmploymentState
from onec.source import ChangeSet

from sync_jobs.desired import state_hash
from sync_jobs.settings import SyncSettings


def decision_basis(settings: SyncSettings, mapped_users: int) -> dict[str, Any]:
    """What a run's decisions rest on besides 1C: the date, every setting (as a digest), and how many
    users the mapping held after it (a mapping emptied or restored since tells everyone be decided)."""
    managers = sorted((ref, list(m.client), list(m.provider)) for ref, m in settings.managers.items())
    scope = [sorted(refs) if refs is not None else None
             for refs in (settings.onboard_legal_entities, settings.onboard_departments)]
    digest = state_hash({"managers": managers, "scope": scope, "owner": settings.owner_id,
                         "sites": [settings.intranet_site_id, settings.extranet_site_id],
                         "grace": settings.grace_days, "connection": settings.onec_connection})
    return {"as_of": settings.as_of().isoformat(), "settings": digest, "mapped_users": mapped_users}


@dataclass
class ChangedKeys:
    """The keys of the records 1C's changes touched per stream, and the persons named by the register
    rows and cards they replaced (a row may have moved to another person)."""

    keys: dict[str, set[str]] = field(default_factory=dict)
    former_persons: set[str] = field(default_factory=set)

    def note(self, keys: Mapping[str, str], kept: Mapping[str, Mapping[str, Any]], changes: ChangeSet) -> None:
        """Before ``changes`` are applied to ``kept`` (stream -> key -> record); ``keys``: stream -> key field."""
        for stream, key in keys.items():
            touched = {getattr(record, key) for record in changes.upserts.get(stream, ())}
            touched.update(changes.deletions.get(stream, ()))
            self.keys.setdefault(stream, set()).update(touched)
            if stream in ("employments", "employees"):
                rows = kept["employments"]
                self.former_persons.update(row.person_ref for ref in touched
                                           if (row := rows.get(ref)) is not None and row.person_ref)

    def people(self, kept: Mapping[str, Mapping[str, Any]], since: dt.date, today: dt.date,
               grace_days: int) -> frozenset[str]:
        """The persons to decide again, given the records with the changes applied and the date of the
        last run's decisions (``since``)."""
        def changed(stream: str) -> set[str]:
            return self.keys.get(stream, set())

        entities = changed("legal_entities")
        departments = changed("departments") | {ref for ref, department in kept["departments"].items()
                                                if department.legal_entity_ref in entities}
        positions, cards = changed("positions"), changed("employees") | changed("employments")
        people = set(self.former_persons) | changed("persons")
        for row in kept["employments"].values():
            if row.employee_ref in cards or row.department_ref in departments or row.position_ref in positions \
                    or row.organization_ref in entities or _turns(row, since, today, grace_days):
                people.add(row.person_ref)
        return frozenset(people)


def _turns(row: EmploymentState, since: dt.date, today: dt.date, grace_days: int) -> bool:
    """A decision on the row changes on a day after ``since`` up to ``today``: the hire date, the day
    after the dismissal, the end of the grace period."""
    days = [row.hire_date] if row.hire_date else []
    if row.dismissal_date:
        days += [row.dismissal_date + dt.timedelta(days=1), row.dismissal_date + dt.timedelta(days=grace_days)]
    return any(since < day <= today for day in days)
