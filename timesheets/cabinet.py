"""What the cabinet's pages show of timesheets in their places for other features (cabinet/slots.py):
the employee's own timesheets and, on a site's page, the timesheets waiting for the viewer's approval.
Rows ``{"title", "status", "url", "open"}``: ``open`` is the view of the cabinet's «Табели» tab a row leads to
(the employee's month to fill, the site's month to approve), where they are filled and approved. The
employee's rows are read from the database only, so their card never waits for the portal; the rows to
approve first take what the workflows decided meanwhile (the site's card reads the portal's tasks anyway)."""
from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

from flask import Flask
from sqlalchemy import or_, select

from b24app.db import get_db
from timesheets.access import CLIENT_STEP, PROVIDER_STEP, viewer_of
from timesheets.calendar import month_title
from timesheets.jobs import refresh_outcomes, settings_of
from timesheets.models import Timesheet
from timesheets.sheets import STATUS_TITLES

RECENT = 6  # the employee's latest timesheets shown


def timesheets_of_employee(app: Flask, user_id: int) -> list[dict[str, Any]]:
    """The employee's latest timesheets with their statuses (and the comment of a returned one)."""
    viewer = viewer_of(app, user_id, settings_of(app))
    mine = [Timesheet.user_id == user_id] + ([Timesheet.person_ref == viewer.person_ref] if viewer.person_ref else [])
    with get_db(app).read_session() as session:
        rows = session.scalars(select(Timesheet).where(Timesheet.member_id == viewer.member_id, or_(*mine))
                               .order_by(Timesheet.period_start.desc(), Timesheet.site_name).limit(RECENT))
        return [{"title": f"{month_title(ts.period_start).capitalize()} — {ts.site_name}"
                          + (f": {ts.return_comment}" if ts.status == "returned" and ts.return_comment else ""),
                 "status": STATUS_TITLES[ts.status], "url": None,
                 "open": timesheets_view("fill", ts.period_start, ts.group_id)} for ts in rows]


def timesheets_to_approve(app: Flask, user_id: int, group_id: int) -> list[dict[str, Any]]:
    """How many timesheets of the site wait at the viewer's approval step, per month."""
    viewer = viewer_of(app, user_id, settings_of(app))
    refresh_outcomes(app, Timesheet.group_id == group_id)
    steps = [or_(Timesheet.status != CLIENT_STEP, Timesheet.department_ref.in_(sorted(viewer.client_sites))),
             or_(Timesheet.status != PROVIDER_STEP, Timesheet.department_ref.in_(sorted(viewer.provider_sites)))]
    with get_db(app).read_session() as session:
        periods = Counter(session.scalars(select(Timesheet.period_start).where(
            Timesheet.member_id == viewer.member_id, Timesheet.group_id == group_id, Timesheet.status.in_((CLIENT_STEP, PROVIDER_STEP)), *steps)))
    return [{"title": f"Табели за {month_title(period)}: {count}", "status": "ждут вашего согласования", "url": None,
             "open": timesheets_view("approve", period, group_id)} for period, count in sorted(periods.items())]


def timesheets_view(part: str, month: dt.date, group_id: int | None) -> dict[str, Any]:
    """Where a row leads: the «Табели» tab's part (fill, approve) for the month and the site."""
    return {"page": "timesheets", "part": part, "month": f"{month:%Y-%m}", "group_id": group_id}
