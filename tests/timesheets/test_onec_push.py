"""Locked timesheets reach 1C:ZUP as Document.ТабельУчетаРабочегоВремени exactly once per version,
over OData and over the B24Sync SOAP service (the 1C emulator over HTTP)."""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from flask import Flask
from sqlalchemy import select

from emulators.onec import serve as serve_onec
from b24app.portal import portal_key
from service import create_app
from sync_jobs.directory import directory
from tests.support import write_config
from tests.timesheets.conftest import FixedClock
from timesheets.jobs import lock_closed_months, push_to_onec, settings_of
from timesheets.models import Timesheet
from timesheets.roster import open_source, prefill_site, site_roster
from timesheets.sheets import CellEdit, audit_trail, edit_cells, transition

PASSWORD_ENV = "TEST_TIMESHEETS_PUSH_PASSWORD"
NOVEMBER = dt.date(2026, 11, 1)  # the emulated infobase's month
TIMESHEET_SET = "Document_ТабельУчетаРабочегоВремени"


@pytest.fixture(scope="module")
def zup() -> Iterator[Any]:
    running = serve_onec(generate="employees=30,orgs=1,departments=3", seed=11)
    yield running
    running.stop()


def appearance_ref(zup: Any) -> str:
    """Ref_Key of the predefined «Явка», read from the emulated infobase."""
    table = zup.app.store.table("Catalog_ВидыИспользованияРабочегоВремени")
    column = table.definition.index("PredefinedDataName")
    return next(ref for ref, row in table.rows.items() if row[column] == "Явка")


def documents(zup: Any) -> list[dict[str, Any]]:
    response = requests.get(f"{zup.url}/_emulator/documents", timeout=30)
    response.raise_for_status()
    return [d for d in response.json() if d["set"] == TIMESHEET_SET]


@pytest.fixture(params=["odata", "soap"])
def app(request: pytest.FixtureRequest, tmp_path: Path, database_url: str, zup: Any) -> Iterator[Flask]:
    requests.post(f"{zup.url}/_emulator/reset", json={"generate": "employees=30,orgs=1,departments=3", "seed": 11},
                  timeout=60).raise_for_status()
    url = zup.odata_url if request.param == "odata" else zup.wsdl_url
    connection = {"name": "zup", "mode": request.param, "url": url, "login": zup.login, "password_env": PASSWORD_ENV}
    config, _ = write_config(tmp_path, public_url="http://127.0.0.1:5000", database_url=database_url,
                             extra={"onec": {"connections": [connection]},
                                    "timesheets": {"onec": {"time_kind": appearance_ref(zup)}}},
                             env={PASSWORD_ENV: zup.password})
    application = create_app(config)
    application.extensions["timesheets.clock"] = FixedClock(dt.datetime(2026, 12, 10, 9, 0, tzinfo=dt.timezone.utc))
    yield application
    application.extensions["b24app.db"].dispose()


def locked_pair(app: Flask) -> list[Timesheet]:
    """Two employees of one site through both approvals, locked after the month closed."""
    db, clock = app.extensions["b24app.db"], app.extensions["timesheets.clock"]
    source = open_source(app)
    try:
        departments = {s.department_ref for s in source.employments() if s.person_ref}
        roster = next(found for ref in sorted(departments)
                      if len(found := site_roster(source, directory(app), [ref], NOVEMBER)) >= 2)[:2]
    finally:
        source.close()
    ids = prefill_site(db, portal_key(app), settings_of(app), roster, NOVEMBER, clock()).opened
    with db.session() as session:
        edit_cells(session, [CellEdit(ids[0], 2, "Я 7,5", 1)], actor=1, now=clock())
        for ts_id in ids:
            timesheet = session.get(Timesheet, ts_id)
            for action in ("submit", "approve_client", "approve_provider"):
                transition(session, timesheet, action, 1, clock())
    assert sorted(lock_closed_months(db, portal_key(app), settings_of(app), clock())) == sorted(ids)
    with db.read_session() as session:
        return list(session.scalars(select(Timesheet).where(Timesheet.id.in_(ids)).order_by(Timesheet.id)))


def test_each_version_is_written_once(app: Flask, zup: Any) -> None:
    first, second = locked_pair(app)
    report = push_to_onec(app, portal_key(app))
    assert sorted(report.pushed) == [first.id, second.id] and not report.failed
    written = documents(zup)
    assert len(written) == 2
    by_employee = {doc["fields"]["ДанныеОВремени"][0]["Сотрудник_Key"]: doc for doc in written}
    line = by_employee[first.employee_ref]["fields"]["ДанныеОВремени"][0]
    assert line["Часов2"] == 7.5 and line["ВидВремени2_Key"] == appearance_ref(zup)
    assert by_employee[first.employee_ref]["fields"]["Подразделение_Key"] == first.department_ref

    assert push_to_onec(app, portal_key(app)).pushed == {}  # nothing new: 1C has these versions
    db = app.extensions["b24app.db"]
    with db.session() as session:  # as if the answer had been lost before the version was stored
        session.get(Timesheet, first.id).onec_revision = None
    again = push_to_onec(app, portal_key(app))
    assert again.pushed == {first.id: report.pushed[first.id]} and len(documents(zup)) == 2
    with db.read_session() as session:
        stored = session.get(Timesheet, first.id)
        assert (stored.onec_number, stored.onec_revision) == (report.pushed[first.id], 1)
        assert [e.after for e in audit_trail(session, first.id) if e.action == "onec"][0].startswith(
            report.pushed[first.id])


def test_nothing_is_pushed_before_a_timesheet_is_locked(app: Flask, zup: Any) -> None:
    db, clock = app.extensions["b24app.db"], app.extensions["timesheets.clock"]
    source = open_source(app)
    try:
        ref = next(s.department_ref for s in source.employments() if s.person_ref)
        roster = site_roster(source, directory(app), [ref], NOVEMBER)[:1]
    finally:
        source.close()
    [ts_id] = prefill_site(db, portal_key(app), settings_of(app), roster, NOVEMBER, clock()).opened
    with db.session() as session:
        transition(session, session.get(Timesheet, ts_id), "submit", 1, clock())
    assert push_to_onec(app, portal_key(app)).pushed == {} and documents(zup) == []
