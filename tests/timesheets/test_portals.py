"""Two portals' timesheets in one database: the same 1C employment, Bitrix24 user and workgroup ids on
both, each portal's jobs, rates, notices, summaries and exports see only its own rows."""
from __future__ import annotations

import datetime as dt
import io

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from b24app.db import Database
from tests.timesheets.conftest import FixedClock
from tests.timesheets.factory import assignment, opened
from tests.timesheets.test_exports import CLIENT, DECEMBER
from tests.timesheets.test_jobs import APPROVERS, LEADERS, SETTINGS, at
from timesheets.access import Viewer, can_edit, can_view, visible
from timesheets.exports.invoice import invoice_of_client
from timesheets.exports.t13 import t13_of_department
from timesheets.jobs import health, lock_closed_months, plan_reminders
from timesheets.models import Timesheet, TimesheetNotice
from timesheets.notices import MAX_ATTEMPTS
from timesheets.rates import rates_between, set_rate
from timesheets.roster import prefill_site
from timesheets.sheets import transition
from timesheets.summaries import load_summary

A, B = "a" * 32, "b" * 32


def _approved_on_both(db: Database, clock: FixedClock) -> dict[str, int]:
    """Employee 1 at dep-1 (user 101, group 10) on each portal; a's approved by both sides, b's a draft."""
    with db.session() as session:
        sheets = {portal: opened(session, clock(), number=1, portal=portal) for portal in (A, B)}
        for action in ("submit", "approve_client", "approve_provider"):
            transition(session, sheets[A], action, 1, clock())
        return {portal: sheet.id for portal, sheet in sheets.items()}


def _notices(db: Database, portal: str) -> list[str]:
    with db.read_session() as session:
        return sorted(session.scalars(select(TimesheetNotice.dedupe_key).where(TimesheetNotice.member_id == portal)))


def test_the_same_employment_is_a_timesheet_of_each_portal(db: Database, clock: FixedClock) -> None:
    ids = _approved_on_both(db, clock)
    assert ids[A] != ids[B]
    report = prefill_site(db, A, SETTINGS, [assignment(1)], DECEMBER, clock())  # finds a's, not b's
    assert report.kept == [ids[A]] and not report.opened
    assert prefill_site(db, B, SETTINGS, [assignment(1)], DECEMBER, clock()).replanned == {ids[B]: 0}
    with pytest.raises(IntegrityError), db.session() as session:  # but one portal holds one of them
        session.add(Timesheet(**{column: getattr(session.get(Timesheet, ids[A]), column)
                                 for column in Timesheet.__table__.columns.keys() if column != "id"}))
        session.flush()


def test_jobs_lock_and_remind_only_their_portal(db: Database, clock: FixedClock) -> None:
    ids = _approved_on_both(db, clock)
    assert lock_closed_months(db, B, SETTINGS, at(dt.date(2027, 1, 5))) == []  # b's is a draft; a's is not b's
    assert lock_closed_months(db, A, SETTINGS, at(dt.date(2027, 1, 5))) == [ids[A]]
    assert plan_reminders(db, A, SETTINGS, LEADERS, at(dt.date(2027, 1, 2)), APPROVERS) == 0  # nothing of a's open
    assert _notices(db, A) == []
    assert plan_reminders(db, B, SETTINGS, LEADERS, at(dt.date(2027, 1, 2)), APPROVERS) == 1
    b_keys = _notices(db, B)
    assert b_keys and all(f"ts{ids[B]}" in key or ":site:" in key for key in b_keys)
    with db.session() as session:  # a's draft of the same employment gets its own notices under the same keys
        opened(session, clock(), number=1, portal=A, period=dt.date(2027, 1, 1))
    plan_reminders(db, A, SETTINGS, LEADERS, at(dt.date(2027, 2, 2)), APPROVERS)
    plan_reminders(db, B, SETTINGS, LEADERS, at(dt.date(2027, 2, 2)), APPROVERS)
    assert len(_notices(db, A)) == len(b_keys) and _notices(db, B) == b_keys  # b has no January timesheet


def test_rates_summaries_and_exports_are_the_portals_own(db: Database, clock: FixedClock) -> None:
    ids = _approved_on_both(db, clock)
    with db.session() as session:
        transition(session, session.get(Timesheet, ids[B]), "submit", 1, clock())
        transition(session, session.get(Timesheet, ids[B]), "approve_client", 1, clock())
        transition(session, session.get(Timesheet, ids[B]), "approve_provider", 1, clock())
        set_rate(session, A, CLIENT.key, "Кладовщик", 30000, dt.date(2026, 1, 1), 7, clock())
        set_rate(session, B, CLIENT.key, "Кладовщик", 50000, dt.date(2026, 1, 1), 7, clock())  # the same key
    with db.read_session() as session:
        assert [r.kopecks for r in rates_between(session, A, DECEMBER, dt.date(2026, 12, 31))] == [30000]
        invoices = {portal: invoice_of_client(session, portal, CLIENT, DECEMBER) for portal in (A, B)}
        summaries = {portal: load_summary(session, portal, "", DECEMBER, ["dep-1"]) for portal in (A, B)}
        assert t13_of_department(session, A, "dep-1", DECEMBER, io.BytesIO(), DECEMBER) == 1
    assert invoices[A].total_minutes == invoices[B].total_minutes == 176 * 60
    assert (invoices[A].total_kopecks, invoices[B].total_kopecks) == (176 * 30000, 176 * 50000)
    assert [p.timesheet_id for p in summaries[A].people] == [ids[A]]
    assert [p.timesheet_id for p in summaries[B].people] == [ids[B]]


def test_a_viewer_sees_and_edits_only_their_portals_timesheets(db: Database, clock: FixedClock) -> None:
    ids = _approved_on_both(db, clock)
    employee, admin = Viewer(101, "person-1", member_id=B), Viewer(1, admin=True, member_id=B)
    leader = Viewer(41, brigades=frozenset({"dep-1"}), member_id=B)
    with db.read_session() as session:
        sheets = {portal: session.get(Timesheet, ts_id) for portal, ts_id in ids.items()}
        for viewer in (employee, admin, leader):
            assert set(session.scalars(select(Timesheet.id).where(visible(viewer)))) == {ids[B]}
            assert can_view(viewer, sheets[B]) and not can_view(viewer, sheets[A])
        assert can_edit(leader, sheets[B]) and not can_edit(leader, sheets[A])
        assert session.scalar(select(func.count()).select_from(Timesheet)) == 2


def test_health_says_which_portal_waits(app, db: Database, clock: FixedClock) -> None:  # type: ignore[no-untyped-def]
    with db.session() as session:
        for portal, key in ((A, "a1"), (A, "a2"), (B, "b1")):
            session.add(TimesheetNotice(member_id=portal, dedupe_key=key, user_id=5, message="m",
                                        created_at=clock(), attempts=MAX_ATTEMPTS))
    assert health(app)["notices"] == f"не доставлено уведомлений: 3 ({A}: 2, {B}: 1)"
