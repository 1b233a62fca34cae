"""Approved absences for the prefill: vacations, business trips and sick leaves approved through the HR
processes on the portal (``bizproc_templates.installed``), keyed by the 1C person the sync linked to the
author (``sync_jobs.directory``)."""
from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from flask import Flask

from b24app.portal import client_for, installed_portal
from bizproc_templates.installed import approved_absences, installed_processes
from sync_jobs.directory import directory
from timesheets.prefill import Absence, AbsenceSource


def portal_absences(app: Flask, member_id: str | None = None) -> AbsenceSource:
    """An AbsenceSource reading the portal's approved requests (the only installed portal when None)."""

    def absences(person_refs: Sequence[str], start: dt.date, end: dt.date) -> list[Absence]:
        portal = member_id or installed_portal(app)
        processes = installed_processes(app, portal) if portal else []
        if not processes:  # webhook mode or nothing installed: no business processes, no approved requests
            return []
        with client_for(app, portal) as client:
            found = approved_absences(client, processes, start, end)
        wanted, people = set(person_refs), directory(app)
        return [Absence(person, absence.kind, absence.start, absence.end) for absence in found
                if (person := people.person_of_user(absence.user_id)) in wanted]

    return absences

