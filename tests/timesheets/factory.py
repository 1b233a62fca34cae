"""Small builders for timesheet tests (pure data; the database is the real one of each test)."""
from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from timesheets.calendar import ProductionCalendar
from timesheets.models import Timesheet
from timesheets.prefill import prefill_month
from timesheets.schedules import FIVE_TWO
from timesheets.sheets import Assignment, open_timesheet


def assignment(number: int = 1, *, department: str = "dep-1", group_id: int = 10, user_id: int | None = None,
               legal_entity: str = "org-1", position: str = "Кладовщик") -> Assignment:
    return Assignment(person_ref=f"person-{number}", employee_ref=f"employee-{number}",
                      user_id=user_id if user_id is not None else 100 + number, department_ref=department,
                      group_id=group_id, legal_entity_ref=legal_entity, employee_name=f"Сотрудник {number}",
                      personnel_number=f"{number:05d}", position=position, site_name=f"Склад {department}",
                      legal_entity_name="ООО «Кадры»")


def opened(session: Session, now: dt.datetime, period: dt.date = dt.date(2026, 12, 1), number: int = 1,
           portal: str = "", **options: object) -> Timesheet:
    """A prefilled 5/2 timesheet of one employee (of the webhook's portal unless ``portal`` names one)."""
    values = prefill_month(period, FIVE_TWO, ProductionCalendar())
    return open_timesheet(session, portal, assignment(number, **options), period, "client-1", values, now)  # type: ignore[arg-type]
