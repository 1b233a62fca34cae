"""Approved vacations reach the timesheet prefill: read from the portal's request lists
(bizproc_templates.installed), linked to the 1C person through the directory."""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from b24app.db import get_db
from b24app.portal import client_for
from bizproc_templates.installed import approved_absences, installed_processes
from sync_jobs.models import SyncMapping
from tests.bizproc_templates.conftest import built_stack
from tests.bizproc_templates.test_vacation_e2e import APPROVE, REJECT, REQUEST, VACATION
from timesheets.absences import portal_absences
from timesheets.prefill import Absence

MARCH = (dt.date(2027, 3, 1), dt.date(2027, 3, 31))


def test_approved_vacations_are_absences_and_rejected_ones_are_not(tmp_path: Path, database_url: str) -> None:
    with built_stack(tmp_path, database_url) as stack:
        people = stack.people
        approved = stack.submit(VACATION, REQUEST)
        stack.decide(approved, people.client_manager, APPROVE)
        stack.decide(approved, people.provider_manager, APPROVE)
        stack.finished(approved)
        rejected = stack.submit(VACATION, {**REQUEST, "DATE_FROM": "2027-03-20", "DATE_TO": "2027-03-25"})
        stack.decide(rejected, people.client_manager, REJECT, "нет замены")
        stack.finished(rejected)
        with get_db(stack.app).session() as session:  # what the sync writes: the user is this 1C person
            session.add(SyncMapping(member_id=stack.install.member_id, kind="user", key=people.person_ref,
                                    b24_id=people.employee,
                                    state=json.dumps({"groups": []})))

        found = approved_absences(client_for(stack.app), installed_processes(stack.app, stack.install.member_id),
                                  *MARCH)
        assert [(a.user_id, a.kind, a.start, a.end) for a in found] == [
            (people.employee, "vacation", dt.date(2027, 3, 1), dt.date(2027, 3, 14))]
        assert portal_absences(stack.app)([people.person_ref], *MARCH) == [
            Absence(people.person_ref, "vacation", dt.date(2027, 3, 1), dt.date(2027, 3, 14))]
        assert portal_absences(stack.app)([people.person_ref], dt.date(2027, 4, 1), dt.date(2027, 4, 30)) == []
