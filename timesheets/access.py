"""Who sees and changes which timesheets, from the verified viewer's roles.

- an employee: only their own timesheets (by Bitrix24 user, or by 1C person when several employments);
- a brigade leader (``cabinet.brigade_leaders``): the timesheets of the sites they lead, and fills them;
- a client manager: the timesheets of their sites (``sync.managers`` client side), approves the client step;
- a provider manager: the sites of their side (``sync.managers`` provider side), approves the provider step;
- the portal admin sees everything and changes nothing in somebody else's name.
Every check is a pure function of the viewer and the timesheet; ``visible`` is the same rule as SQL.
A viewer sees and changes only timesheets of their own portal (``member_id``): user and group ids,
department refs and the admin's rights are the portal's own.
"""
from __future__ import annotations

from dataclasses import dataclass

from flask import Flask
from sqlalchemy import ColumnElement, and_, false, or_

from b24app.portal import portal_key
from cabinet.settings import brigade_leaders
from sync_jobs.directory import directory
from timesheets.models import Timesheet
from timesheets.settings import TimesheetSettings
from timesheets.summaries import brigade_departments

CLIENT_STEP, PROVIDER_STEP = "submitted", "approved_by_client"


@dataclass(frozen=True)
class Viewer:
    """The verified user and the scopes of their roles (department refs)."""

    user_id: int
    person_ref: str | None = None
    brigades: frozenset[str] = frozenset()
    client_sites: frozenset[str] = frozenset()
    provider_sites: frozenset[str] = frozenset()
    admin: bool = False
    member_id: str = ""  # the viewer's portal ('' in webhook mode)

    def owns(self, timesheet: Timesheet) -> bool:
        return timesheet.user_id == self.user_id or (self.person_ref is not None
                                                     and timesheet.person_ref == self.person_ref)


def can_view(viewer: Viewer, timesheet: Timesheet) -> bool:
    return timesheet.member_id == viewer.member_id and (viewer.admin or viewer.owns(timesheet) or (
        timesheet.department_ref in viewer.brigades | viewer.client_sites | viewer.provider_sites))


def can_edit(viewer: Viewer, timesheet: Timesheet) -> bool:
    """Filling a timesheet: its employee or the site's brigade leader."""
    return timesheet.member_id == viewer.member_id and (
        viewer.owns(timesheet) or timesheet.department_ref in viewer.brigades)


def can_decide(viewer: Viewer, timesheet: Timesheet) -> bool:
    """Approving or returning the step the timesheet waits at."""
    if timesheet.member_id != viewer.member_id:
        return False
    if timesheet.status == CLIENT_STEP:
        return timesheet.department_ref in viewer.client_sites
    if timesheet.status == PROVIDER_STEP:
        return timesheet.department_ref in viewer.provider_sites
    return False


def visible(viewer: Viewer) -> ColumnElement[bool]:
    """``can_view`` as a WHERE clause."""
    portal = Timesheet.member_id == viewer.member_id
    if viewer.admin:
        return portal
    conditions = [Timesheet.user_id == viewer.user_id]
    if viewer.person_ref:
        conditions.append(Timesheet.person_ref == viewer.person_ref)
    sites = viewer.brigades | viewer.client_sites | viewer.provider_sites
    if sites:
        conditions.append(Timesheet.department_ref.in_(sorted(sites)))
    return and_(portal, or_(*conditions)) if conditions else false()


def viewer_of(app: Flask, user_id: int, settings: TimesheetSettings, *, admin: bool = False) -> Viewer:
    """The roles of a verified Bitrix24 user of the portal in scope, from the sync's directory and
    ``timesheets:``."""
    people = directory(app)
    return Viewer(user_id=user_id, person_ref=people.person_of_user(user_id),
                  brigades=frozenset(brigade_departments(brigade_leaders(app), user_id)),
                  client_sites=frozenset(people.departments_managed_by(user_id, side="client")),
                  provider_sites=frozenset(people.departments_managed_by(user_id, side="provider")), admin=admin,
                  member_id=portal_key(app))
