"""Statuses, cell edits with optimistic concurrency, and the audit trail, on the real database."""
from __future__ import annotations

import datetime as dt

import pytest

from b24app.db import Database
from tests.timesheets.conftest import FixedClock
from tests.timesheets.factory import opened
from timesheets.sheets import (BadCell, CellEdit, Conflict, NotEditable, WrongTransition, audit_trail, cells,
                               edit_cells, transition)


def test_opening_a_month_prefills_every_day_and_records_it(db: Database, clock: FixedClock) -> None:
    with db.session() as session:
        timesheet = opened(session, clock())
        again = opened(session, clock())
        assert again.id == timesheet.id
        days = cells(session, timesheet.id)
        assert len(days) == 31 and days[0].text == "Я 8" and days[4].text == "В"  # 1 Dec 2026 is a Tuesday
        assert all(day.planned == day.text and day.version == 1 for day in days)
        events = audit_trail(session, timesheet.id)
    assert [e.action for e in events] == ["create"] and events[0].after.startswith("1:Я 8|2:Я 8")


def test_a_cell_edit_bumps_its_version_and_is_audited(db: Database, clock: FixedClock) -> None:
    with db.session() as session:
        ts_id = opened(session, clock()).id
    clock.advance(minutes=5)
    with db.session() as session:
        [state] = edit_cells(session, [CellEdit(ts_id, 3, "я 6 н 2", 1)], actor=7, now=clock())
    assert (state.text, state.version, state.planned) == ("Я/Н 6/2", 2, "Я 8")
    with db.read_session() as session:
        event = audit_trail(session, ts_id)[-1]
    assert (event.action, event.actor_user_id, event.day, event.before, event.after) == ("cell", 7, 3, "Я 8", "Я/Н 6/2")
    assert event.at == clock()


def test_a_stale_edit_is_refused_with_what_the_cell_holds_now(db: Database, clock: FixedClock) -> None:
    with db.session() as session:
        ts_id = opened(session, clock()).id
    with db.session() as session:
        edit_cells(session, [CellEdit(ts_id, 3, "Б", 1)], actor=7, now=clock())
    with pytest.raises(Conflict) as refused, db.session() as session:
        edit_cells(session, [CellEdit(ts_id, 3, "Я 4", 1)], actor=8, now=clock())
    assert (refused.value.current.text, refused.value.current.version) == ("Б", 2)
    assert "уже изменено" in str(refused.value)


def test_a_batch_of_edits_lands_whole_or_not_at_all(db: Database, clock: FixedClock) -> None:
    with db.session() as session:
        first, second = opened(session, clock()).id, opened(session, clock(), number=2).id
    batch = [CellEdit(first, 4, "К", 1), CellEdit(second, 4, "К", 1), CellEdit(second, 32, "К", 1)]
    with pytest.raises(BadCell, match="такого дня в месяце нет"), db.session() as session:
        edit_cells(session, batch, actor=7, now=clock())
    with pytest.raises(BadCell, match="4 число: .*не код табеля"), db.session() as session:
        edit_cells(session, [CellEdit(first, 5, "К", 1), CellEdit(first, 4, "ЪЪ", 1)], actor=7, now=clock())
    with db.read_session() as session:
        assert cells(session, first)[3].text == "Я 8" and cells(session, first)[4].text == "В"
        assert [e.action for e in audit_trail(session, first)] == ["create"]


def test_statuses_from_draft_to_locked_and_back_after_a_return(db: Database, clock: FixedClock) -> None:
    with db.session() as session:
        timesheet = opened(session, clock())
        assert transition(session, timesheet, "submit", 101, clock()) == "submitted"
        assert timesheet.revision == 1 and timesheet.submitted_by == 101
        with pytest.raises(WrongTransition, match="только с комментарием"):
            transition(session, timesheet, "return_client", 5, clock(), comment=" ")
        transition(session, timesheet, "approve_client", 5, clock())
        transition(session, timesheet, "return_provider", 6, clock(), comment="3 число — больничный")
        assert (timesheet.status, timesheet.return_step) == ("returned", "provider")
        assert timesheet.return_comment == "3 число — больничный"
        transition(session, timesheet, "submit", 101, clock())
        assert (timesheet.revision, timesheet.return_step, timesheet.return_comment) == (2, None, None)
        for action in ("approve_client", "approve_provider", "lock"):
            transition(session, timesheet, action, 6, clock())
        assert timesheet.status == "locked"
        with pytest.raises(WrongTransition, match="Закрыт|закрыт"):
            transition(session, timesheet, "submit", 101, clock())
        trail = [(e.before, e.after, e.actor_user_id) for e in audit_trail(session, timesheet.id) if e.action == "status"]
    assert trail == [("draft", "submitted", 101), ("submitted", "approved_by_client", 5),
                     ("approved_by_client", "returned", 6), ("returned", "submitted", 101),
                     ("submitted", "approved_by_client", 6), ("approved_by_client", "approved_by_provider", 6),
                     ("approved_by_provider", "locked", 6)]


@pytest.mark.parametrize("steps", [("submit",), ("submit", "approve_client"), ("submit", "approve_client",
                                                                              "approve_provider")])
def test_cells_of_a_submitted_or_approved_timesheet_cannot_change(db: Database, clock: FixedClock,
                                                                  steps: tuple[str, ...]) -> None:
    with db.session() as session:
        timesheet = opened(session, clock())
        for action in steps:
            transition(session, timesheet, action, 1, clock())
    with pytest.raises(NotEditable, match="изменять его нельзя"), db.session() as session:
        edit_cells(session, [CellEdit(timesheet.id, 1, "Б", 1)], actor=1, now=clock())


def test_a_returned_timesheet_is_editable_again(db: Database, clock: FixedClock) -> None:
    with db.session() as session:
        timesheet = opened(session, clock())
        transition(session, timesheet, "submit", 1, clock())
        transition(session, timesheet, "return_client", 5, clock(), comment="нет больничного")
    with db.session() as session:
        [state] = edit_cells(session, [CellEdit(timesheet.id, 2, "Б", 1)], actor=1, now=clock())
    assert state.text == "Б"


def test_timestamps_come_from_the_injected_clock(db: Database) -> None:
    late = FixedClock(dt.datetime(2027, 2, 28, 23, 59, 59, tzinfo=dt.timezone.utc))
    with db.session() as session:
        timesheet = opened(session, late(), period=dt.date(2027, 2, 1))
        assert len(timesheet.days) == 28
    with db.read_session() as session:
        assert audit_trail(session, timesheet.id)[0].at == late.now
