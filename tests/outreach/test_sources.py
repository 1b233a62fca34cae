"""``DirectorySources`` after a real sync: outreach plans from the directory (1C people, their sites and
contacts) and the portal (user.get), on the 1C and Bitrix24 emulators over HTTP."""
from __future__ import annotations

from typing import Any

from flask import Flask

from outreach.planner import NEVER_LOGGED_IN, NO_EMAIL, by_unit, plan
from outreach.phones import try_e164
from outreach.service import propose
from outreach.sources import DirectorySources
from sync_jobs import run_sync
from sync_jobs.directory import directory
from tests.sync_jobs.conftest import (Hooks, make_app, portal, portal_server, sync_app, zup,  # noqa: F401
                                      zup_server)


def _placed(app: Flask) -> dict[str, Any]:
    """Every person of every site (the first site by name for people working at several)."""
    book = directory(app)
    placed: dict[str, Any] = {}
    for site in book.sites():
        for person in book.people_of_site(site.department_ref):
            placed.setdefault(person.person_ref, (person, site))
    return placed


def test_outreach_plans_from_the_directory_and_the_portal(sync_app: Flask, portal: Hooks) -> None:
    assert run_sync(sync_app, full=True).status in ("ok", "partial")
    placed = _placed(sync_app)
    contacts = directory(sync_app).contacts(placed)
    invited = sorted(p.user_id for p, _ in placed.values() if p.user_id is not None)
    accepted = invited[: len(invited) // 2]
    assert accepted and len(invited) > len(accepted)
    for user_id in accepted:
        portal("POST", f"users/{user_id}/accept-invite")

    sources = DirectorySources(sync_app)
    employees = {e.person_ref: e for e in sources.employees()}
    assert set(employees) == set(placed)
    for ref, (person, site) in placed.items():
        employee = employees[ref]
        assert (employee.full_name, employee.user_id) == (person.name, person.user_id)
        assert (employee.department, employee.legal_entity) == (site.department_name, site.legal_entity_name)
        assert employee.email == (contacts[ref].email or None)
        assert employee.phone == (contacts[ref].mobile or None)
    accounts = sources.accounts()
    assert sorted(accounts) == invited  # the portal's extranet users are the people the sync invited
    assert all(accounts[u].last_login is not None for u in accepted)

    targets = {t.employee.person_ref: t for t in plan(employees.values(), accounts, set())}
    for ref, (person, _) in placed.items():
        target = targets.get(ref)
        if not person.email_known:  # the sync could not invite them: SMS to the phone 1C has
            assert target is not None and target.reason == NO_EMAIL
            phone = try_e164(contacts[ref].mobile)
            assert (target.channel, target.address) == (("sms", phone) if phone else (None, None))
        elif person.user_id in accepted:
            assert target is None
        else:  # invited, never signed in: user.get has no LAST_LOGIN (and no invitation field)
            assert target is not None and target.reason == NEVER_LOGGED_IN
            assert (target.channel, target.address) == ("email", contacts[ref].email.lower())
    assert any(t.reason == NO_EMAIL and t.channel == "sms" for t in targets.values())
    assert any(t.reason == NEVER_LOGGED_IN for t in targets.values())
    assert sum(sum(reasons.values()) for reasons in by_unit(targets.values()).values()) == len(targets)

    proposal = propose(sync_app)  # what `b24app outreach plan` and `send --dry-run` read
    assert {t.employee.person_ref for t in proposal.targets} == set(targets)
    assert {d.person_ref for d in proposal.drafts} == {r for r, t in targets.items() if t.channel}
