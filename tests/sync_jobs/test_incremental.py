"""Incremental runs over OData decide, plan and write only the people 1C's changes concern
(sync_jobs.scope), and leave the portal as a full run on the same 1C would."""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import pytest

from flask import Flask
from sqlalchemy import select, update

import sync_jobs.settings
from b24app.db import get_db
from b24app.portal import get_store, portal_key
from emulators.onec.schema import DEPARTMENTS, POSITIONS
from sync_jobs import run_sync
from sync_jobs.models import DirectoryPerson, DirectoryPlacement, DirectorySite, SyncMapping
from sync_jobs.replica import ReplicaStore
from sync_jobs.run import SyncRunSummary
from tests.sync_jobs.conftest import SYNC_TODAY, Hooks
from tests.sync_jobs.portal_view import PortalView, write_calls
from tests.sync_jobs.zup_edit import dismiss, employees_of


def _rename(zup_server: Any, set_name: str, ref: str, name: str) -> None:
    with zup_server.app.lock:
        zup_server.app.store.update(set_name, ref, {"Description": name})


def _changed_users(before: dict[str, Any], after: dict[str, Any]) -> set[str]:
    return {xml for xml, user in after["users"].items() if before["users"].get(xml) != user}


def _directory(app: Flask) -> dict[str, Any]:
    with get_db(app).read_session() as session:
        return {"sites": set(session.execute(select(DirectorySite.department_ref, DirectorySite.digest)).all()),
                "people": set(session.execute(select(DirectoryPerson.person_ref, DirectoryPerson.digest)).all()),
                "placements": set(session.execute(select(DirectoryPlacement.person_ref,
                                                         DirectoryPlacement.department_ref)).all())}


def _incremental(app: Flask, portal: Hooks, **options: Any) -> tuple[SyncRunSummary, dict[str, Any]]:
    """An incremental run through the changes, and the portal it left."""
    summary = run_sync(app, full=False, **options)
    assert summary.status == "ok" and summary.via_feed, summary.render()
    return summary, PortalView.read(portal).state()


def _same_as_full_run(app: Flask, portal: Hooks, after: dict[str, Any]) -> None:
    """A full run on the same 1C writes nothing, and the portal and the directory stay as they were."""
    directory = _directory(app)
    portal("POST", "counters/reset")
    full = run_sync(app, full=True)
    assert full.status == "ok", full.render()
    assert write_calls(portal("GET", "counters")) == 0
    assert PortalView.read(portal).state() == after and _directory(app) == directory


def test_a_department_rename_updates_its_group_and_only_its_people(sync_app: Flask, portal: Hooks,
                                                                   zup_server: Any) -> None:
    run_sync(sync_app, full=False)
    before = PortalView.read(portal).state()
    marker, people = max(before["members"].items(), key=lambda item: len(item[1]))
    _rename(zup_server, DEPARTMENTS, marker[len("zup-"):], "Переименованный склад")
    summary, after = _incremental(sync_app, portal)
    assert after["groups"][marker].endswith(" — Переименованный склад")
    assert {m: g for m, g in after["groups"].items() if g != before["groups"][m]}.keys() == {marker}
    assert _changed_users(before, after) == people and after["members"] == before["members"]
    assert {k: v for k, v in summary.counts.items() if not k.startswith("skipped")} == {
        "groups_updated": 1, "users_updated": len(people)}
    _same_as_full_run(sync_app, portal, after)


def test_people_1c_did_not_change_are_not_decided_until_the_full_run(sync_app: Flask, portal: Hooks,
                                                                    zup_server: Any) -> None:
    """A mapping row made stale behind the sync's back (drift) is not seen by an incremental run, which
    decides only the people of the renamed department; the full run decides everyone and repairs it."""
    run_sync(sync_app, full=False)
    before = PortalView.read(portal).state()
    marker, people = max(before["members"].items(), key=lambda item: len(item[1]))
    outsider = next(x for x, user in before["users"].items()
                    if user[3] and x not in people and any(x in m for m in before["members"].values()))
    with get_db(sync_app).session() as session:
        session.execute(update(SyncMapping).where(SyncMapping.kind == "user", SyncMapping.key == outsider[len("zup:"):])
                        .values(state_hash="stale"))
    _rename(zup_server, DEPARTMENTS, marker[len("zup-"):], "Переименованный склад")
    summary, _ = _incremental(sync_app, portal)
    assert summary.counts["users_updated"] == len(people)
    full = run_sync(sync_app, full=True)
    assert full.status == "ok" and full.counts["users_updated"] == 1


def test_a_position_rename_updates_only_the_users_holding_it(sync_app: Flask, portal: Hooks,
                                                             zup_server: Any) -> None:
    run_sync(sync_app, full=False)
    with zup_server.app.lock:
        position = next(iter(zup_server.app.store.tables[POSITIONS].rows))
    _rename(zup_server, POSITIONS, position, "Старший кладовщик")
    summary = run_sync(sync_app, full=False)
    assert summary.status == "ok" and summary.via_feed
    view = PortalView.read(portal).zup_users()
    holders = {xml for xml, user in view.items() if user.get("WORK_POSITION") == "Старший кладовщик"}
    assert holders and summary.counts["users_updated"] == len(holders)
    _same_as_full_run(sync_app, portal, PortalView.read(portal).state())


def test_a_dismissal_deactivates_only_that_user(sync_app: Flask, portal: Hooks, zup_server: Any) -> None:
    run_sync(sync_app, full=False)
    before = PortalView.read(portal).state()
    xml = next(x for x, user in before["users"].items() if user[3] and any(x in m for m in before["members"].values()))
    for employee in employees_of(zup_server, xml[len("zup:"):]):
        dismiss(zup_server, employee)
    summary, after = _incremental(sync_app, portal, force=True)
    assert _changed_users(before, after) == {xml} and after["users"][xml][3] is False
    assert {k: v for k, v in summary.counts.items() if not k.startswith("skipped")} == {
        "users_deactivated": 1, "memberships_removed": sum(xml in m for m in before["members"].values())}
    _same_as_full_run(sync_app, portal, after)


def test_the_end_of_a_grace_period_deactivates_without_a_change_in_1c(make_app: Callable[..., Flask],
                                                                      portal: Hooks, zup_server: Any) -> None:
    app = make_app(grace_days=10, today="2026-11-05")
    run_sync(app, full=False)
    before = PortalView.read(portal).state()
    xml = next(x for x, user in before["users"].items() if user[3] and any(x in m for m in before["members"].values()))
    for employee in employees_of(zup_server, xml[len("zup:"):]):
        dismiss(zup_server, employee)
    _, during = _incremental(app, portal)
    assert during["users"][xml][3] is True and not any(xml in m for m in during["members"].values())
    later = make_app(grace_days=10, today="2026-11-20")
    summary, after = _incremental(later, portal, force=True)
    assert summary.counts["users_deactivated"] >= 1 and after["users"][xml][3] is False
    _same_as_full_run(later, portal, after)


def test_mutations_over_several_runs_end_where_a_full_run_would(sync_app: Flask, portal: Hooks,
                                                               zup: Hooks) -> None:
    run_sync(sync_app, full=False)
    for seed in (21, 22, 23):
        zup("POST", "mutate", {"percent": 5, "seed": seed})
        summary = run_sync(sync_app, full=False, force=True)
        assert summary.status == "ok" and summary.via_feed, summary.render()
    _same_as_full_run(sync_app, portal, PortalView.read(portal).state())


def _midnight(day: dt.date) -> type[dt.date]:
    """A ``date`` whose today() is ``day`` at the first look and the day after at every later one."""
    looks: list[dt.date] = []

    class Midnight(dt.date):
        @classmethod
        def today(cls) -> dt.date:
            looks.append(day if not looks else day + dt.timedelta(days=1))
            return looks[-1]

    return Midnight


def test_a_run_across_midnight_decides_and_records_as_of_the_day_it_started(
        make_app: Callable[..., Flask], portal: Hooks, monkeypatch: pytest.MonkeyPatch) -> None:
    """The date is looked at when the people are decided, when an incremental read picks whom to decide,
    and when the run records the day its decisions were made as of (the next run's ``since``): one run,
    one day, whatever the clock does meanwhile."""
    app = make_app(today=None)
    day = dt.date.fromisoformat(SYNC_TODAY)
    monkeypatch.setattr(sync_jobs.settings, "dt", SimpleNamespace(date=_midnight(day)))
    summary = run_sync(app, full=True)
    assert summary.status == "ok", summary.render()
    basis = ReplicaStore(get_db(app), get_store(app).cipher, portal_key(app)).basis()
    assert basis is not None and basis["as_of"] == day.isoformat()
