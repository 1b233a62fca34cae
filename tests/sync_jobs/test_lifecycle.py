"""Lifecycle: no e-mail, dismissal with grace, rehire, two employments, scope, safety threshold."""
from __future__ import annotations

from typing import Any, Callable

from flask import Flask
from sqlalchemy import delete

from b24app.db import get_db

from sync_jobs import run_sync
from sync_jobs.desired import NO_EMAIL
from sync_jobs.keys import user_xml_id as xml_id
from sync_jobs.models import SyncMapping
from tests.sync_jobs.conftest import Hooks
from tests.sync_jobs.portal_view import PortalView, write_calls
from emulators.onec.schema import PERSONS
from tests.sync_jobs.zup_edit import dismiss, employees_of, give_email, hire_second_job, mark_deleted, rehire


def _active_user(portal: Hooks) -> tuple[str, dict[str, Any]]:
    view = PortalView.read(portal)
    members = view.members()
    return next((x, u) for x, u in sorted(view.zup_users().items())
                if u["ACTIVE"] and sum(x in m for m in members.values()) == 1)


def test_no_email_is_listed_then_invited_once_1c_has_one(sync_app: Flask, portal: Hooks,
                                                         zup_server: Any) -> None:
    first = run_sync(sync_app, full=False)
    missing = [r for r in first.records if r.reason == NO_EMAIL]
    assert missing and first.counts["skipped_no_email"] == len(missing)
    give_email(zup_server, missing[0].key, "new.person@example.org")
    second = run_sync(sync_app, full=False)
    assert second.counts["users_created"] == 1
    assert second.counts["skipped_no_email"] == len(missing) - 1
    user = PortalView.read(portal).zup_users()[xml_id(missing[0].key)]
    assert user["EMAIL"] == "new.person@example.org"


def test_refused_update_is_not_resent_until_1c_changes(sync_app: Flask, portal: Hooks, zup_server: Any) -> None:
    run_sync(sync_app, full=False)
    users = PortalView.read(portal).zup_users()
    (xml, user), (_, other) = sorted(users.items())[:2]
    give_email(zup_server, xml[len("zup:"):], other["EMAIL"])  # an e-mail another user already has
    refused = run_sync(sync_app, full=False)
    assert refused.status == "partial" and refused.counts["errors"] == 1 == refused.write_commands
    portal("POST", "counters/reset")
    again = run_sync(sync_app, full=True)
    assert again.status == "ok" and write_calls(portal("GET", "counters")) == 0
    assert again.counts["skipped_rejected"] == 1 and any(r.key == xml[len("zup:"):] for r in again.records)
    give_email(zup_server, xml[len("zup:"):], "fixed.address@example.org")
    fixed = run_sync(sync_app, full=False)
    assert fixed.counts["users_updated"] == 1 and fixed.counts["skipped_rejected"] == 0
    assert PortalView.read(portal).zup_users()[xml]["EMAIL"] == "fixed.address@example.org" != user["EMAIL"]


def test_dismissal_removes_from_groups_deactivates_and_rehire_reactivates(
        sync_app: Flask, portal: Hooks, zup_server: Any) -> None:
    run_sync(sync_app, full=False)
    xml, user = _active_user(portal)
    person = xml[len("zup:"):]
    employees = employees_of(zup_server, person)
    for employee in employees:
        dismiss(zup_server, employee)
    summary = run_sync(sync_app, full=False, force=True)
    view = PortalView.read(portal)
    assert summary.counts["users_deactivated"] == 1
    assert view.zup_users()[xml]["ACTIVE"] is False
    assert not any(xml in m for m in view.members().values())
    rehire(zup_server, employees[0])
    summary = run_sync(sync_app, full=False)
    view = PortalView.read(portal)
    assert summary.counts["users_reactivated"] == 1 and "users_created" not in summary.counts
    assert view.zup_users()[xml]["ACTIVE"] is True and view.zup_users()[xml]["ID"] == user["ID"]
    assert any(xml in m for m in view.members().values())


def test_grace_period_keeps_the_user_active_but_out_of_groups(make_app: Callable[..., Flask], portal: Hooks,
                                                                zup_server: Any) -> None:
    app = make_app(grace_days=3650)
    run_sync(app, full=False)
    xml, _ = _active_user(portal)
    for employee in employees_of(zup_server, xml[len("zup:"):]):
        dismiss(zup_server, employee)
    summary = run_sync(app, full=False)
    view = PortalView.read(portal)
    assert "users_deactivated" not in summary.counts
    assert view.zup_users()[xml]["ACTIVE"] is True
    assert not any(xml in m for m in view.members().values())


def test_person_with_two_employments_is_one_user_in_both_groups(sync_app: Flask, portal: Hooks,
                                                                 zup_server: Any) -> None:
    run_sync(sync_app, full=False)
    xml, user = _active_user(portal)
    hire_second_job(zup_server, employees_of(zup_server, xml[len("zup:"):])[0])
    summary = run_sync(sync_app, full=False)
    view = PortalView.read(portal)
    assert "users_created" not in summary.counts and summary.counts["memberships_added"] == 1
    assert sum(xml in m for m in view.members().values()) == 2
    assert view.zup_users()[xml]["ID"] == user["ID"]
    assert "," in view.zup_users()[xml]["UF_USR_ZUP_PERSONNEL_NO"]


def test_mass_deactivation_is_refused_without_force(make_app: Callable[..., Flask], portal: Hooks,
                                                    zup_server: Any) -> None:
    app = make_app(max_deactivate_percent=5)
    run_sync(app, full=False)
    view = PortalView.read(portal)
    victims = sorted(view.zup_users())[:10]
    for xml in victims:
        for employee in employees_of(zup_server, xml[len("zup:"):]):
            dismiss(zup_server, employee)
    refused = run_sync(app, full=False)
    assert refused.status == "refused" and "--force" in (refused.message or "")
    assert all(u["ACTIVE"] for u in PortalView.read(portal).zup_users().values())
    forced = run_sync(app, full=False, force=True)
    assert forced.status == "ok" and forced.counts["users_deactivated"] == len(victims)


def test_only_onboarded_departments_are_invited(make_app: Callable[..., Flask], portal: Hooks) -> None:
    everything = make_app()
    run_sync(everything, full=False)
    marker = sorted(PortalView.read(portal).zup_groups())[0]
    portal("POST", "reset")
    with get_db(everything).session() as session:  # a fresh portal: start from an empty mapping
        session.execute(delete(SyncMapping))
    run_sync(make_app(onboard={"departments": [marker[len("zup-"):]]}), full=False)
    assert set(PortalView.read(portal).zup_groups()) == {marker}


def test_person_deleted_in_1c_leaves_every_group_and_is_deactivated(sync_app: Flask, portal: Hooks,
                                                                     zup_server: Any) -> None:
    run_sync(sync_app, full=False)
    xml, _user = _active_user(portal)
    mark_deleted(zup_server, PERSONS, xml[len("zup:"):])
    summary = run_sync(sync_app, full=False)
    view = PortalView.read(portal)
    assert summary.status == "ok" and summary.counts["users_deactivated"] == 1, summary.render()
    assert view.zup_users()[xml]["ACTIVE"] is False
    assert not any(xml in m for m in view.members().values())
    assert run_sync(sync_app, full=False).write_commands == 0
