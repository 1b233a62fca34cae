"""Which people an incremental run decides again (sync_jobs.scope: pure logic)."""
from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from onec.models import Department, EmploymentState, Position
from onec.source import ChangeSet

from sync_jobs.pipeline import KEYS
from sync_jobs.scope import ChangedKeys, decision_basis
from sync_jobs.settings import Managers, SyncSettings

SINCE, TODAY = dt.date(2026, 11, 1), dt.date(2026, 11, 3)


def _row(employee: str, person: str, department: str = "d1", position: str = "p1", organization: str = "o1",
         hired: dt.date = dt.date(2020, 1, 1), dismissed: dt.date | None = None) -> EmploymentState:
    return EmploymentState(employee, person, organization, department, position, hired, dismissed, None, 1.0)


def _kept() -> dict[str, dict[str, Any]]:
    rows = [_row("e1", "alice"), _row("e2", "bob", department="d2", position="p2", organization="o2"),
            _row("e3", "carol", department="d3", organization="o3")]
    departments = [Department("d1", "o1", None, "1", "Склад", False), Department("d2", "o2", None, "2", "Цех", False),
                   Department("d3", "o2", None, "3", "Офис", False)]
    return {"legal_entities": {}, "departments": {d.ref: d for d in departments}, "positions": {},
            "persons": {}, "employees": {}, "employments": {row.employee_ref: row for row in rows}}


def _people(changes: ChangeSet, kept: dict[str, dict[str, Any]] | None = None, grace_days: int = 7) -> set[str]:
    kept = kept or _kept()
    changed = ChangedKeys()
    changed.note(KEYS, kept, changes)
    for row in changes.upserts.get("employments", ()):
        kept["employments"][row.employee_ref] = row
    return set(changed.people(kept, SINCE, TODAY, grace_days))


def test_nothing_changed_decides_nobody() -> None:
    assert _people(ChangeSet({})) == set()


def test_a_renamed_department_or_position_reaches_the_people_placed_in_it() -> None:
    assert _people(ChangeSet({}, {"departments": (Department("d2", "o2", None, "2", "Цех №2", False),)})) == {"bob"}
    assert _people(ChangeSet({}, {"positions": (Position("p1", "Кладовщик"),)})) == {"alice", "carol"}


def test_a_renamed_legal_entity_reaches_its_departments_and_rows() -> None:
    assert _people(ChangeSet({}, {"legal_entities": ()}, {"legal_entities": ("o2",)})) == {"bob", "carol"}


def test_a_register_row_moved_to_another_person_concerns_both() -> None:
    assert _people(ChangeSet({}, {"employments": (_row("e1", "dave"),)})) == {"alice", "dave"}
    assert _people(ChangeSet({}, {}, {"employees": ("e2",)})) == {"bob"}


def test_a_hire_dismissal_or_grace_end_taking_effect_since_the_last_run_counts() -> None:
    kept = _kept()
    kept["employments"]["e1"] = _row("e1", "alice", hired=TODAY)
    kept["employments"]["e2"] = dataclasses.replace(kept["employments"]["e2"], dismissal_date=TODAY - dt.timedelta(days=7))
    kept["employments"]["e3"] = _row("e3", "carol", dismissed=SINCE - dt.timedelta(days=30))
    assert _people(ChangeSet({}), kept, grace_days=7) == {"alice", "bob"}


def test_the_basis_ignores_the_order_of_settings_but_not_their_values() -> None:
    one = SyncSettings(onboard_departments=frozenset({"a", "b"}), managers={"d1": Managers((1,), (2,))})
    same = SyncSettings(onboard_departments=frozenset({"b", "a"}), managers={"d1": Managers((1,), (2,))})
    other = SyncSettings(onboard_departments=frozenset({"a"}), managers={"d1": Managers((1,), (2,))})
    assert decision_basis(one, 5) == decision_basis(same, 5)
    assert decision_basis(one, 5)["settings"] != decision_basis(other, 5)["settings"]
