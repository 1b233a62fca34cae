"""Two portals in one database, each on its own Bitrix24 emulator with its own ``sync:`` and ``onec:`` on its
own 1C emulator: each gets only its own groups and users, the directory answers per portal, a run of one
leaves the other's mapping, bookmarks, replica, directory and runs alone, and the deactivation guard of
one counts only its own users."""
from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from b24app.db import get_db
from b24app.models import utcnow
from b24app.portal import get_store
from b24app.store import NewInstallation, TokenSet
from b24app.tenancy import portal_scope
from service import create_app
from sync_jobs import run_sync
from sync_jobs.directory import directory
from sync_jobs.models import (DirectoryPerson, DirectoryPlacement, DirectorySite, SyncBookmark, SyncMapping,
                              SyncReplica, SyncRun)
from sync_jobs.store import recent_runs
from tests.support import write_config
from tests.sync_jobs.conftest import SYNC_TODAY, TIME_SCALE, Hooks
from tests.sync_jobs.portal_view import PortalView, write_calls
from tests.sync_jobs.zup_edit import dismiss, employees_of

CLIENT_ID, CLIENT_SECRET = "local.portals.1", "portals-secret"
SCOPES = ["user", "sonet_group", "department"]
# the same 1C seed: the two bases share their first keys, so the two portals' rows share keys too
BASES = {"a": "employees=50,orgs=1,departments=4", "b": "employees=150,orgs=2,departments=8"}
TABLES = (SyncMapping, SyncBookmark, SyncReplica, SyncRun, DirectorySite, DirectoryPerson, DirectoryPlacement)


@dataclass
class Tenant:
    """One portal emulator, its 1C emulator and the portal's member_id."""

    name: str
    portal: Any
    zup: Any
    member_id: str = ""

    @property
    def hooks(self) -> Hooks:
        return Hooks(self.portal.url)


def _start(name: str, seed: int) -> Tenant:
    from emulators.bitrix24 import serve as serve_portal
    from emulators.onec import serve as serve_onec

    return Tenant(name, serve_portal(port=0, plan="standard", time_scale=TIME_SCALE, seed=seed),
                  serve_onec(port=0, generate=BASES[name], seed=3))


def _reset(tenant: Tenant) -> None:
    """Both emulators as new, the app registered on the portal (one client_id for every portal)."""
    tenant.hooks("POST", "reset")
    tenant.hooks("POST", "apps", {"handler_url": "http://127.0.0.1:1/b24/app", "scopes": SCOPES,
                                  "install_url": "http://127.0.0.1:1/b24/install",
                                  "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET})
    tenant.hooks("POST", f"apps/{CLIENT_ID}/install-finish")
    tenant.member_id = tenant.hooks("POST", "tokens", {"client_id": CLIENT_ID, "user_id": 1})["member_id"]
    Hooks(tenant.zup.url)("POST", "reset", {"generate": BASES[tenant.name], "seed": 3})


def _install(app: Flask, tenant: Tenant) -> None:
    """The installation as the install flow stores it, with tokens the portal issued."""
    tokens = tenant.hooks("POST", "tokens", {"client_id": CLIENT_ID, "user_id": 1})
    get_store(app).save(NewInstallation(
        member_id=tenant.member_id, domain=tenant.portal.url.removeprefix("http://"),
        client_endpoint=f"{tenant.portal.url}/rest/", server_endpoint=f"{tenant.portal.url}/rest/",
        tokens=TokenSet(tokens["access_token"], tokens["refresh_token"], utcnow() + timedelta(hours=1)),
        application_token=uuid.uuid4().hex, scopes=tuple(SCOPES), admin_user_id=1, app_version=1))


def _sections(tenant: Tenant, **sync: Any) -> dict[str, Any]:
    """The portal's own app.yaml sections: its OAuth server, its 1C and its sync."""
    return {"title": tenant.name, "oauth_token_url": f"{tenant.portal.oauth_url}/oauth/token/",
            "onec": {"connections": [{"name": "zup", "mode": "odata", "url": tenant.zup.odata_url,
                                      "login": tenant.zup.login, "password_env": f"ZUP_{tenant.name.upper()}_PASSWORD",
                                      "timeouts": {"connect": 2, "read": 30, "operation": 30},
                                      "retry": {"attempts": 2, "max_wait_s": 0.05}}]},
            "sync": {"grace_days": 0, "owner_id": 1, "today": SYNC_TODAY, **sync}}


@pytest.fixture(scope="module")
def tenants() -> Iterator[tuple[Tenant, Tenant]]:
    pair = (_start("a", 21), _start("b", 22))
    yield pair
    for tenant in pair:
        tenant.portal.stop()
        tenant.zup.stop()


@pytest.fixture
def two(tmp_path: Path, database_url: str, tenants: tuple[Tenant, Tenant]) -> Iterator[tuple[Flask, Tenant, Tenant]]:
    """The app with both portals installed; emulators reset."""
    a, b = tenants
    for tenant in tenants:
        _reset(tenant)
    config = write_config(
        tmp_path, public_url="http://127.0.0.1:5000", database_url=database_url,
        extra={"app": {"oauth_token_url": f"{a.portal.oauth_url}/oauth/token/"},
               "bitrix24": {"plan": "standard", "time_scale": TIME_SCALE},
               "portals": {a.member_id: _sections(a, max_deactivate_percent=8),
                           b.member_id: _sections(b, max_deactivate_percent=50)}},
        env={"B24_CLIENT_ID": CLIENT_ID, "B24_CLIENT_SECRET": CLIENT_SECRET,
             "ZUP_A_PASSWORD": a.zup.password, "ZUP_B_PASSWORD": b.zup.password})[0]
    app = create_app(config)
    for tenant in tenants:
        _install(app, tenant)
    yield app, a, b
    get_db(app).dispose()


def _sync(app: Flask, tenant: Tenant, *, full: bool = False, force: bool = False) -> Any:
    with app.app_context(), portal_scope(tenant.member_id):
        return run_sync(app, full=full, force=force)


def _rows(app: Flask, member_id: str) -> dict[str, list[tuple]]:
    """Every row of the portal in the sync's tables (a run's records through its run)."""
    found: dict[str, list[tuple]] = {}
    with get_db(app).engine.connect() as connection:
        for model in TABLES:
            table = model.__table__
            rows = connection.execute(sa.select(table).where(table.c.member_id == member_id)).all()
            found[table.name] = sorted(tuple(row) for row in rows)
    return found


def test_two_portals_sync_into_one_database_each_with_only_its_own_people(two) -> None:  # type: ignore[no-untyped-def]
    app, a, b = two
    for tenant in (a, b):
        summary = _sync(app, tenant, full=True)
        assert summary.status == "ok", summary.render()
    views = {tenant.name: PortalView.read(tenant.hooks) for tenant in (a, b)}
    for tenant in (a, b):
        view = views[tenant.name]
        with app.app_context(), portal_scope(tenant.member_id):
            book = directory(app)
            sites = book.sites()
            people = {person.person_ref: person
                      for site in sites for person in book.people_of_site(site.department_ref)}
            assert {f"zup-{site.department_ref}" for site in sites} == set(view.zup_groups())
            assert {site.group_id for site in sites} == {group["ID"] for group in view.zup_groups().values()}
            invited = {f"zup:{ref}": person.user_id for ref, person in people.items() if person.user_id}
            assert invited == {xml: user["ID"] for xml, user in view.zup_users().items()}
            some = next(iter(invited.values()))
            assert book.user_of_person(book.person_of_user(some) or "") == some
    a_people, b_people = set(views["a"].zup_users()), set(views["b"].zup_users())
    assert a_people & b_people and b_people - a_people  # shared 1C keys live apart; b has its own people too
    assert len(a_people) < len(b_people)
    shared_id = min(set(views["a"].users) & set(views["b"].users) - {1})  # one Bitrix24 id on both portals
    answers = {}
    for tenant in (a, b):
        with app.app_context(), portal_scope(tenant.member_id):
            answers[tenant.name] = directory(app).person_of_user(shared_id)
    assert answers == {name: str(views[name].users[shared_id]["XML_ID"]).removeprefix("zup:") for name in answers}


def test_a_run_of_one_portal_leaves_the_others_state_and_portal_alone(two) -> None:  # type: ignore[no-untyped-def]
    app, a, b = two
    for tenant in (a, b):
        assert _sync(app, tenant).status == "ok"
    before = _rows(app, b.member_id)
    assert all(before[name] for name in ("sync_mappings", "sync_bookmarks", "sync_replica", "sync_runs",
                                         "sync_directory_people"))
    Hooks(a.zup.url)("POST", "mutate", {"percent": 10, "seed": 5})
    b.hooks("POST", "counters/reset")
    a.hooks("POST", "counters/reset")
    assert _sync(app, a).status == "ok"
    assert _sync(app, a, full=True).status == "ok"
    assert write_calls(a.hooks("GET", "counters")) > 0
    assert b.hooks("GET", "counters")["requests"] == 0
    assert _rows(app, b.member_id) == before
    with app.app_context():
        assert [run.status for run in recent_runs(get_db(app), b.member_id, 10)] == ["ok"]
        assert len(recent_runs(get_db(app), a.member_id, 10)) == 3
    b.hooks("POST", "counters/reset")
    assert _sync(app, b).write_commands == 0 == write_calls(b.hooks("GET", "counters"))


def test_the_deactivation_guard_of_a_portal_counts_only_its_own_users(two) -> None:  # type: ignore[no-untyped-def]
    """a allows 8 %: 3 of its 19 users are 16 % — refused, though 3 of a's and b's 77 together would be 4 %;
    b allows 50 % and is not held back by a's refusal."""
    app, a, b = two
    for tenant in (a, b):
        assert _sync(app, tenant).status == "ok"
    users = PortalView.read(a.hooks).zup_users()
    victims = sorted(users)[:3]
    assert 3 / len(users) > 0.08 > 3 / (len(users) + len(PortalView.read(b.hooks).zup_users()))
    for xml in victims:
        for employee in employees_of(a.zup, xml.removeprefix("zup:")):
            dismiss(a.zup, employee)
    refused = _sync(app, a)
    assert refused.status == "refused" and "--force" in (refused.message or ""), refused.render()
    assert all(user["ACTIVE"] for user in PortalView.read(a.hooks).zup_users().values())
    b_victims = sorted(PortalView.read(b.hooks).zup_users())[:4]
    for xml in b_victims:
        for employee in employees_of(b.zup, xml.removeprefix("zup:")):
            dismiss(b.zup, employee)
    moved = _sync(app, b)
    assert moved.status == "ok" and moved.counts["users_deactivated"] == len(b_victims), moved.render()
    forced = _sync(app, a, force=True)
    assert forced.status == "ok" and forced.counts["users_deactivated"] == len(victims)
