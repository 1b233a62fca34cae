"""The operator's commands against the 1C emulator over HTTP: prefill a site's month from 1C, status,
the T-13 and invoice exports, rates; Russian errors."""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import openpyxl
import pytest
from flask import Flask

from b24app.db import get_db
from b24app.tenancy import portal_scope
from emulators.onec import serve as serve_onec
from onec.factory import build_source
from service import create_app
from tests.support import installed_stub, write_config
from tests.timesheets.conftest import FixedClock
from tests.timesheets.factory import opened
from timesheets.cli import group

PASSWORD_ENV = "TEST_TIMESHEETS_ONEC_PASSWORD"
NOVEMBER = dt.date(2026, 11, 1)  # the emulated infobase's "today" is 1 November 2026


@pytest.fixture(scope="module")
def zup() -> Iterator[object]:
    running = serve_onec(generate="employees=40,orgs=1,departments=4", seed=5)
    yield running
    running.stop()


@pytest.fixture
def app(tmp_path: Path, database_url: str, zup) -> Iterator[Flask]:  # type: ignore[no-untyped-def]
    connection = {"name": "zup", "mode": "odata", "url": zup.odata_url, "login": zup.login,
                  "password_env": PASSWORD_ENV}
    config, _ = write_config(tmp_path, public_url="http://127.0.0.1:5000", database_url=database_url,
                             extra={"onec": {"connections": [connection]}}, env={PASSWORD_ENV: zup.password})
    application = create_app(config)
    application.extensions["timesheets.clock"] = FixedClock(dt.datetime(2026, 11, 30, 23, 59, tzinfo=dt.timezone.utc))
    yield application
    application.extensions["b24app.db"].dispose()


def busiest_site(zup) -> tuple[str, list[tuple[dt.date, dt.date | None]]]:  # type: ignore[no-untyped-def]
    """The department with most employments active at some day of November (their hire and dismissal
    dates), read from the OData sets."""
    source = build_source({"name": "zup", "mode": "odata", "url": zup.odata_url, "login": zup.login,
                           "password_env": PASSWORD_ENV}, password=zup.password)
    try:
        sites: dict[str, list[tuple[dt.date, dt.date | None]]] = {}
        for state in source.employments():
            hired = state.hire_date is not None and state.hire_date <= dt.date(2026, 11, 30)
            if state.person_ref and hired and (state.dismissal_date is None or state.dismissal_date >= NOVEMBER):
                sites.setdefault(state.department_ref, []).append((state.hire_date, state.dismissal_date))
    finally:
        source.close()
    return max(sites.items(), key=lambda item: len(item[1]))


def november_working_days(hired: dt.date, dismissed: dt.date | None) -> int:
    """Mon–Fri of November 2026 except 4 November (Unity Day) within the employment."""
    days = [NOVEMBER + dt.timedelta(days=n) for n in range(30)]
    return sum(1 for day in days if day.weekday() < 5 and day.day != 4 and hired <= day
               and (dismissed is None or day <= dismissed))


def test_prefill_status_and_exports_of_a_site(app: Flask, zup, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    runner = app.test_cli_runner()
    site, employments = busiest_site(zup)
    people = len(employments)
    first = runner.invoke(group, ["prefill", "--site", site, "--month", "2026-11"])
    assert first.exit_code == 0, first.output
    assert f"открыто {people}, перезаполнено 0" in first.output
    again = runner.invoke(group, ["prefill", "--site", site, "--month", "2026-11"])
    assert f"открыто 0, перезаполнено {people} (изменено дней: 0)" in again.output
    status = runner.invoke(group, ["status", "--month", "2026-11"])
    assert f"Черновик — {people}" in status.output

    out = tmp_path / "t13.xlsx"
    exported = runner.invoke(group, ["export", "t13", "--site", site, "--month", "2026-11", "--out", str(out)])
    assert exported.exit_code == 0 and f"сотрудников {people}" in exported.output
    sheet = openpyxl.load_workbook(out).active
    total = next(c.row for c in sheet["B"] if c.value == "Итого")
    assert sheet.cell(row=total, column=21).value == sum(november_working_days(*e) for e in employments)

    rate = runner.invoke(group, ["rate", "--client", site, "--position", "Кладовщик", "--rate", "450,50",
                                 "--from", "2026-11-01"])
    assert rate.exit_code == 0 and "450,50 руб./ч" in rate.output
    invoice = runner.invoke(group, ["export", "invoice", "--client", site, "--month", "2026-11",
                                    "--out", str(tmp_path / "invoice.csv")])
    assert invoice.exit_code == 0 and "строк 0, итого 0,00 руб." in invoice.output  # nothing approved yet


def test_bad_input_gets_a_russian_error(app: Flask) -> None:
    runner = app.test_cli_runner()
    bad_month = runner.invoke(group, ["status", "--month", "ноябрь"])
    assert bad_month.exit_code == 2 and "месяц в виде ГГГГ-ММ" in bad_month.output
    nobody = runner.invoke(group, ["prefill", "--site", "00000000-0000-0000-0000-000000000000", "--month", "2026-11"])
    assert nobody.exit_code == 1 and "нет сотрудников подразделения" in nobody.output
    bad_rate = runner.invoke(group, ["rate", "--client", "c", "--position", "p", "--rate", "дорого",
                                     "--from", "2026-11-01"])
    assert bad_rate.exit_code == 1 and "ставка — число рублей" in bad_rate.output
    no_sheets = runner.invoke(group, ["export", "t13", "--site", "x", "--month", "2026-11", "--out", "/tmp/x.xlsx"])
    assert no_sheets.exit_code == 1 and "табелей подразделения нет" in no_sheets.output


def test_with_several_portals_installed_each_command_works_on_the_one_named(app: Flask) -> None:
    """``b24app --portal ID timesheets ...`` puts the command in that portal's scope; without one it refuses."""
    a, b = "a" * 32, "b" * 32
    for member_id in (a, b):
        installed_stub(app, member_id)
    with get_db(app).session() as session:  # employee 1 on both portals, employee 2 on b only
        for portal, number in ((a, 1), (b, 1), (b, 2)):
            opened(session, app.extensions["timesheets.clock"](), dt.date(2026, 11, 1), number, portal=portal)
    runner = app.test_cli_runner()
    refused = runner.invoke(group, ["status", "--month", "2026-11"])
    assert refused.exit_code == 1 and "укажите портал: установлено порталов — 2" in refused.output
    for portal, drafts in ((a, 1), (b, 2)):
        with portal_scope(portal):
            status = runner.invoke(group, ["status", "--month", "2026-11"])
            rate = runner.invoke(group, ["rate", "--client", "client-1", "--position", "Кладовщик",
                                         "--rate", "450", "--from", "2026-11-01"])  # the same key on each portal
        assert status.exit_code == 0 and status.output == f"Склад dep-1: Черновик — {drafts}\n"
        assert rate.exit_code == 0, rate.output
