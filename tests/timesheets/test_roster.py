"""Who gets a timesheet after a real sync run: employments from 1C, users, sites, legal entities and
approvers from the sync's directory (both emulators over HTTP)."""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from flask import Flask

from b24app.portal import portal_key
from sync_jobs.directory import directory
from sync_jobs.run import run_sync
from tests.sync_jobs.conftest import make_app, portal, portal_server, zup, zup_server  # noqa: F401 - fixtures
from tests.timesheets.conftest import FixedClock
from timesheets.jobs import settings_of
from timesheets.models import Timesheet
from timesheets.roster import directory_approvers, open_source, prefill_site, site_roster

NOVEMBER = dt.date(2026, 11, 1)


def test_a_synced_site_gets_its_people_users_and_approvers(make_app: Callable[..., Flask]) -> None:  # noqa: F811
    app = make_app(managers={"default": {"client": [21], "provider": [31]}})
    assert run_sync(app, full=True).status == "ok"
    people = directory(app)
    site = max(people.sites(), key=lambda s: len(people.people_of_site(s.department_ref)))
    source = open_source(app)
    try:
        assignments = site_roster(source, people, [site.department_ref], NOVEMBER)
    finally:
        source.close()
    assert assignments and {a.group_id for a in assignments} == {site.group_id}
    assert {a.site_name for a in assignments} == {site.department_name}
    assert {a.legal_entity_name for a in assignments} == {site.legal_entity_name}
    for assignment in assignments:
        assert assignment.user_id == people.user_of_person(assignment.person_ref)
    assert any(a.user_id for a in assignments)

    clock = FixedClock(dt.datetime(2026, 11, 30, 20, 0, tzinfo=dt.timezone.utc))
    report = prefill_site(app.extensions["b24app.db"], portal_key(app), settings_of(app), assignments, NOVEMBER, clock())
    assert len(report.opened) == len(assignments)
    with app.extensions["b24app.db"].read_session() as session:
        timesheet = session.get(Timesheet, report.opened[0])
        approvers = directory_approvers(app)(timesheet)
    assert (approvers.client, approvers.provider) == ((21,), (31,))
