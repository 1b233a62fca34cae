"""Reminders before a month closes and locking of closed months, on the injected clock."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from b24app.db import Database
from tests.timesheets.conftest import FixedClock
from tests.timesheets.factory import opened
from timesheets.approval import Approvers
from timesheets.jobs import health, lock_closed_months, plan_reminders
from timesheets.models import Timesheet, TimesheetNotice
from timesheets.notices import MAX_ATTEMPTS
from timesheets.settings import load_settings
from timesheets.sheets import transition

SETTINGS = load_settings({"close_day": 5, "remind_days_before": [3, 1]})
LEADERS = {"dep-1": (41,)}
APPROVERS = lambda timesheet: Approvers((7,), (8,))  # noqa: E731


def at(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(9), dt.timezone.utc)


def notices(db: Database) -> list[tuple[int, str]]:
    with db.read_session() as session:
        return sorted((n.user_id, n.message) for n in session.scalars(select(TimesheetNotice)))


def test_reminders_three_and_one_day_before_the_close(db: Database, clock: FixedClock) -> None:
    with db.session() as session:
        draft = opened(session, clock(), number=1)
        waiting = opened(session, clock(), number=2)
        approved = opened(session, clock(), number=3)
        transition(session, waiting, "submit", 1, clock())
        for action in ("submit", "approve_client", "approve_provider"):
            transition(session, approved, action, 1, clock())
    assert plan_reminders(db, "", SETTINGS, LEADERS, at(dt.date(2027, 1, 1)), APPROVERS) == 0    # 4 days left
    assert plan_reminders(db, "", SETTINGS, LEADERS, at(dt.date(2027, 1, 2)), APPROVERS) == 2    # 3 days left
    sent = notices(db)
    assert all("декабрь 2026 осталось 3 дн. (05.01.2027)" in text for _, text in sent)
    by_user = {user: [text for u, text in sent if u == user] for user in {u for u, _ in sent}}
    assert set(by_user) == {7, 8, 41, draft.user_id}   # the provider manager waits for nothing yet
    assert "Сотрудник 1" in by_user[draft.user_id][0] and "Сотрудник 1" in by_user[41][0]
    assert sorted(by_user[7]) == ["Ждут вашего согласования табелей: 1; до закрытия табелей за декабрь 2026 "
                                  "осталось 3 дн. (05.01.2027).", "На площадке «Склад dep-1» не отправлено табелей: "
                                  "1; до закрытия табелей за декабрь 2026 осталось 3 дн. (05.01.2027)."]
    plan_reminders(db, "", SETTINGS, LEADERS, at(dt.date(2027, 1, 2)), APPROVERS)               # the same day again: no repeats
    assert len(notices(db)) == 5
    plan_reminders(db, "", SETTINGS, LEADERS, at(dt.date(2027, 1, 4)), APPROVERS)               # 1 day left
    assert len(notices(db)) == 10


def test_approved_timesheets_lock_when_their_month_closes(db: Database, clock: FixedClock) -> None:
    with db.session() as session:
        timesheet = opened(session, clock(), number=1)
        for action in ("submit", "approve_client", "approve_provider"):
            transition(session, timesheet, action, 1, clock())
    assert lock_closed_months(db, "", SETTINGS, at(dt.date(2027, 1, 4))) == []
    assert lock_closed_months(db, "", SETTINGS, at(dt.date(2027, 1, 5))) == [timesheet.id]
    with db.read_session() as session:
        assert session.get(Timesheet, timesheet.id).status == "locked"


def test_health_names_what_waits_too_long(app, db: Database, clock: FixedClock) -> None:  # type: ignore[no-untyped-def]
    assert health(app) == {"notices": "ok"}
    with db.session() as session:
        session.add(TimesheetNotice(member_id="", dedupe_key="k", user_id=5, message="m", created_at=clock(), attempts=MAX_ATTEMPTS))
    assert health(app) == {"notices": "не доставлено уведомлений: 1"}
