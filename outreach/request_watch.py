"""Requests whose status changed: the employee hears of it once (approved, returned, done in 1C), and an
approved vacation or business trip makes its author absent for those dates.

Each HR process keeps a request's state in its ``STATUS`` list field (bizproc_templates/processes/*.yaml:
new → approving → approved → registered, or rejected, or zup_error). A run reads the requests filed since
the last run and those still in flight (new, approving, approved), through ``bizproc_templates.installed``;
the first run of a process only remembers what it finds (nobody hears of old requests).
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from flask import Flask
from sqlalchemy import select

from b24app.bitrix import B24Client
from b24app.db import get_db
from b24app.store import Installation
from bizproc_templates.activities import parse_date
from bizproc_templates.installed import FiledRequest, InstalledProcess, filed_requests, installed_processes
from outreach.absences import remove_by_source, set_absence
from outreach.approvals import portal_base
from outreach.models import OutreachRequestScan, OutreachRequestState
from outreach.notices import Notice
from outreach.service import clock_of, settings_of

IN_FLIGHT = ("new", "approving", "approved")
MAKES_ABSENT = ("approved", "registered")
STATUS_FIELD = "STATUS"


def status_text(status: str, request: FiledRequest) -> str | None:
    """What the employee is told when their request reaches ``status`` (None: nothing)."""
    name = request.name
    if status == "approved":
        return f"Ваше заявление «{name}» согласовано."
    if status == "rejected":
        comment = request.values.get("REJECT_COMMENT") or "без комментария"
        return f"Ваше заявление «{name}» не согласовано и возвращено вам. Комментарий: {comment}."
    if status == "registered":
        number = request.values.get("ZUP_NUMBER")
        return f"Ваше заявление «{name}» оформлено в 1С:ЗУП" + (f" (документ № {number})." if number else ".")
    return None


class RequestWatcher:
    """One run over one portal's requests; ``run`` returns the notices due now."""

    def __init__(self, app: Flask, installation: Installation, client: B24Client) -> None:
        self.app, self.db, self.client = app, get_db(app), client
        self.member_id = installation.member_id
        self.settings = settings_of(app).approvals
        self.now = clock_of(app).now()
        self.base = portal_base(installation)

    def run(self) -> list[Notice]:
        return [notice for process in installed_processes(self.app, self.member_id)
                if STATUS_FIELD in process.field_ids for notice in self.scan(process)]

    def scan(self, process: InstalledProcess) -> list[Notice]:
        with self.db.read_session() as session:
            scan = session.get(OutreachRequestScan, (self.member_id, process.code))
            states = dict(session.execute(select(OutreachRequestState.element_id, OutreachRequestState.status).where(
                OutreachRequestState.member_id == self.member_id, OutreachRequestState.process == process.code)).all())
        in_flight = [element_id for element_id, status in states.items() if status in IN_FLIGHT]
        found = {r.element_id: r for r in filed_requests(self.client, process,
                                                         after_id=scan.last_element_id if scan else None)}
        if in_flight:
            found |= {r.element_id: r for r in filed_requests(self.client, process, ids=in_flight)}
        changed = [r for r in found.values() if states.get(r.element_id) != r.values.get(STATUS_FIELD, "")]
        self.remember(process.code, changed, max(found, default=0), scan)
        for request in changed:
            self.note_absence(process.code, request)
        if scan is None or not self.settings.notify_status_changes:
            return []
        return [Notice(f"request:{process.code}:{r.element_id}:{status}", r.author, "status",
                       f"{text} Открыть: {self.base}/bizproc/processes/{process.iblock_id}/element/0/{r.element_id}/")
                for r in changed if r.author
                for status in [r.values.get(STATUS_FIELD, "")] if (text := status_text(status, r))]

    def remember(self, process: str, changed: Iterable[FiledRequest], last_id: int,
                 scan: OutreachRequestScan | None) -> None:
        with self.db.write_lock, self.db.session() as session:
            for request in changed:
                session.merge(OutreachRequestState(member_id=self.member_id, process=process,
                                                   element_id=request.element_id,
                                                   status=request.values.get(STATUS_FIELD, ""), updated_at=self.now))
            session.merge(OutreachRequestScan(member_id=self.member_id, process=process,
                                              last_element_id=max(last_id, scan.last_element_id if scan else 0),
                                              scanned_at=self.now))

    def note_absence(self, process: str, request: FiledRequest) -> None:
        """An approved vacation or business trip: its author is away for its dates (a rejection undoes it)."""
        if process not in self.settings.absence_processes or not request.author:
            return
        source = f"{process}:{request.element_id}"
        dates = _dates(request)
        if request.values.get(STATUS_FIELD) in MAKES_ABSENT and dates is not None and dates[0] <= dates[1]:
            set_absence(self.db, member_id=self.member_id, user_id=request.author, date_from=dates[0],
                        date_to=dates[1], substitute_id=None, now=self.now, source=source,
                        note=f"заявление «{request.name}»")
        else:
            remove_by_source(self.db, self.member_id, source)


def _dates(request: FiledRequest) -> tuple[dt.date, dt.date] | None:
    try:
        return parse_date(request.values.get("DATE_FROM", ""), "DATE_FROM"), \
            parse_date(request.values.get("DATE_TO", ""), "DATE_TO")
    except ValueError:
        return None
