"""First run creates everything; a rerun without change writes nothing; 1 % changes write only those."""
from __future__ import annotations

from collections.abc import Callable
from contextlib import closing
from typing import Any

from flask import Flask

from onec.factory import build_source
from sync_jobs import run_sync
from tests.sync_jobs.conftest import Hooks, PASSWORD_ENV
from tests.sync_jobs.portal_view import PortalView, write_calls


def test_first_run_creates_groups_users_and_memberships(sync_app: Flask, portal: Hooks) -> None:
    summary = run_sync(sync_app, full=False)
    assert summary.status == "ok", summary.render()
    view = PortalView.read(portal)
    users, groups = view.zup_users(), view.zup_groups()
    assert summary.counts["users_created"] == len(users) > 20
    assert summary.counts["groups_created"] == len(groups) > 0
    assert all(g["SITE_ID"] == ["s1", "co"] and " — " in g["NAME"] for g in groups.values())
    assert all(u["USER_TYPE"] == "extranet" and u["UF_USR_ZUP_PERSONNEL_NO"] for u in users.values())
    members = view.members()
    assert sum(map(len, members.values())) >= len(users)
    assert {x for m in members.values() for x in m} == set(users)


def test_second_run_without_change_makes_zero_writes(sync_app: Flask, portal: Hooks) -> None:
    run_sync(sync_app, full=False)
    portal("POST", "counters/reset")
    summary = run_sync(sync_app, full=False)
    counters = portal("GET", "counters")
    assert summary.write_commands == 0 and write_calls(counters) == 0
    assert counters["requests"] == 0


def test_full_run_without_change_only_reads(sync_app: Flask, portal: Hooks) -> None:
    run_sync(sync_app, full=False)
    portal("POST", "counters/reset")
    summary = run_sync(sync_app, full=True)
    assert summary.status == "ok" and write_calls(portal("GET", "counters")) == 0


def test_one_percent_changes_write_only_those_records(sync_app: Flask, portal: Hooks, zup: Hooks) -> None:
    run_sync(sync_app, full=False)
    before = PortalView.read(portal).state()
    changes = zup("POST", "mutate", {"percent": 5, "seed": 11})
    changed = sum(v for k, v in changes.items() if k != "change_version")
    portal("POST", "counters/reset")
    summary = run_sync(sync_app, full=False)
    assert summary.status == "ok", summary.render()
    writes = write_calls(portal("GET", "counters"))
    assert 0 < writes <= 3 * changed
    after = PortalView.read(portal).state()
    touched = {x for x in set(before["users"]) | set(after["users"]) if before["users"].get(x) != after["users"].get(x)}
    assert 0 < len(touched) <= changed
    portal("POST", "counters/reset")
    assert run_sync(sync_app, full=False).write_commands == 0




def test_soap_source_reads_the_same_company_walking_the_feed_once_per_run(
        make_app: Callable[..., Flask], portal: Hooks, zup: Hooks, zup_server: Any, monkeypatch: Any) -> None:
    assert run_sync(make_app(), full=False).status == "ok"  # over OData
    monkeypatch.setenv(PASSWORD_ENV, zup_server.password)
    with closing(build_source({"name": "zup", "mode": "soap", "url": zup_server.wsdl_url,
                               "login": zup_server.login, "password_env": PASSWORD_ENV})) as soap:
        walk = _requests(zup, soap.snapshot)
    soap_app = make_app(onec_mode="soap")
    portal("POST", "counters/reset")
    summary: list[Any] = []
    sync_requests = _requests(zup, lambda: summary.append(run_sync(soap_app, full=True)))
    assert summary[0].status == "ok" and write_calls(portal("GET", "counters")) == 0
    assert sync_requests == walk and walk["GetChanges"] > 0  # six streams, one walk of the feed


def _requests(zup: Hooks, work: Callable[[], object]) -> dict[str, int]:
    """1C requests per operation that ``work`` made."""
    zup("POST", "counters/reset")
    work()
    return zup("GET", "counters")["by_operation"]
