"""Every role against every other role's timesheets: what each may see, fill and decide."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from b24app.db import Database
from tests.timesheets.conftest import FixedClock
from tests.timesheets.factory import opened
from timesheets.access import Viewer, can_decide, can_edit, can_view, visible
from timesheets.models import Timesheet
from timesheets.sheets import transition

# Two sites with one employee each; a brigade leader, a client and a provider manager per site.
EMPLOYEE_A, EMPLOYEE_B = Viewer(101, "person-1"), Viewer(102, "person-2")
LEADER_A, LEADER_B = Viewer(41, brigades=frozenset({"dep-a"})), Viewer(42, brigades=frozenset({"dep-b"}))
CLIENT_A, CLIENT_B = Viewer(51, client_sites=frozenset({"dep-a"})), Viewer(52, client_sites=frozenset({"dep-b"}))
PROVIDER_A = Viewer(61, provider_sites=frozenset({"dep-a"}))
PROVIDER_B = Viewer(62, provider_sites=frozenset({"dep-b"}))
OUTSIDER = Viewer(999)
ROLES = {"employee_a": EMPLOYEE_A, "employee_b": EMPLOYEE_B, "leader_a": LEADER_A, "leader_b": LEADER_B,
         "client_a": CLIENT_A, "client_b": CLIENT_B, "provider_a": PROVIDER_A, "provider_b": PROVIDER_B,
         "outsider": OUTSIDER}
OWNERS_OF_A = {"employee_a", "leader_a", "client_a", "provider_a"}


@pytest.fixture
def sheets(db: Database, clock: FixedClock) -> dict[str, Timesheet]:
    with db.session() as session:
        a = opened(session, clock(), number=1, department="dep-a", user_id=101)
        b = opened(session, clock(), number=2, department="dep-b", user_id=102)
    return {"a": a, "b": b}


@pytest.mark.parametrize("role", sorted(ROLES))
def test_each_role_sees_only_its_own_scope(db: Database, sheets: dict[str, Timesheet], role: str) -> None:
    viewer = ROLES[role]
    assert can_view(viewer, sheets["a"]) == (role in OWNERS_OF_A)
    assert can_view(viewer, sheets["b"]) == (role.endswith("_b"))
    with db.read_session() as session:
        seen = set(session.scalars(select(Timesheet.department_ref).where(visible(viewer))))
    assert seen == {dep for dep, sheet in (("dep-a", "a"), ("dep-b", "b")) if can_view(viewer, sheets[sheet])}


@pytest.mark.parametrize("role", sorted(ROLES))
def test_only_the_employee_and_the_brigade_leader_fill_a_timesheet(sheets: dict[str, Timesheet], role: str) -> None:
    assert can_edit(ROLES[role], sheets["a"]) == (role in ("employee_a", "leader_a"))


@pytest.mark.parametrize("role", sorted(ROLES))
def test_each_step_is_decided_by_its_side_of_its_site(db: Database, clock: FixedClock,
                                                      sheets: dict[str, Timesheet], role: str) -> None:
    viewer = ROLES[role]
    assert not can_decide(viewer, sheets["a"])  # a draft waits for nobody
    with db.session() as session:
        timesheet = session.get(Timesheet, sheets["a"].id)
        transition(session, timesheet, "submit", 101, clock())
        assert can_decide(viewer, timesheet) == (role == "client_a")
        transition(session, timesheet, "approve_client", 51, clock())
        assert can_decide(viewer, timesheet) == (role == "provider_a")


def test_the_admin_sees_all_and_fills_nothing(sheets: dict[str, Timesheet]) -> None:
    admin = Viewer(1, admin=True)
    assert all(can_view(admin, sheet) for sheet in sheets.values())
    assert not any(can_edit(admin, sheet) for sheet in sheets.values())
