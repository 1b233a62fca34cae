"""The directory other features read: people, sites and managers as the last run saw them."""
from __future__ import annotations

from typing import Any

from sqlalchemy import select

from b24app.db import get_db
from sync_jobs import run_sync
from sync_jobs.models import DirectoryPerson
from sync_jobs.directory import directory
from tests.sync_jobs.conftest import Hooks
from tests.sync_jobs.zup_edit import dismiss, employees_of


def test_a_run_publishes_who_works_where(sync_app: Any, zup_server: Any, portal: Hooks) -> None:
    assert run_sync(sync_app, full=True).status in ("ok", "partial")
    found = directory(sync_app)
    sites = found.sites()
    assert sites and all(site.group_id for site in sites)
    site = max(sites, key=lambda s: len(found.people_of_site(s.department_ref)))
    people = found.people_of_site(site.department_ref)
    assert [p.name for p in people] == sorted(p.name for p in people)
    invited = [p for p in people if p.user_id is not None]
    assert invited and all(found.person_of_user(p.user_id) == p.person_ref for p in invited)
    assert all(site.department_ref in p.department_refs and p.position for p in people)
    assert found.site_of_group(site.group_id) == site
    assert found.sites(legal_entity_ref=site.legal_entity_ref)[0].legal_entity_name == site.legal_entity_name
    assert found.members(site.department_ref) == sorted(p.user_id for p in invited)
    contacts = found.contacts(p.person_ref for p in people)
    assert set(contacts) == {p.person_ref for p in people}
    assert all(bool(contacts[p.person_ref].email) == p.email_known for p in people)
    assert any(c.mobile.startswith("+7") for c in contacts.values())
    with get_db(sync_app).read_session() as session:  # encrypted at rest
        stored = " ".join(session.scalars(select(DirectoryPerson.contacts)))
    assert not any(c.mobile and c.mobile in stored for c in contacts.values())

    leaver = invited[0]
    for employee in employees_of(zup_server, leaver.person_ref):
        dismiss(zup_server, employee)
    run_sync(sync_app, full=False, force=True)
    assert leaver.person_ref not in {p.person_ref for p in found.people_of_site(site.department_ref)}
    assert found.person(leaver.person_ref) is None
