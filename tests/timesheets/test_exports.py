"""T-13 XLSX opened back with openpyxl, the invoice basis with a rate change inside the month, summaries."""
from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

import openpyxl
import pytest

from b24app.db import Database
from tests.timesheets.conftest import FixedClock
from tests.timesheets.factory import opened
from timesheets.exports.invoice import csv_bytes, invoice_of_client, write_xlsx
from timesheets.exports.t13 import ABSENCE_COLUMNS, FIRST_DAY_COLUMN, HALF_COLUMN, MONTH_COLUMN, t13_of_department
from timesheets.models import Timesheet
from timesheets.rates import BadRate, parse_rubles, rates_between, set_rate
from timesheets.settings import Client
from timesheets.sheets import CellEdit, edit_cells, transition
from timesheets.summaries import brigade_departments, load_summary, render_summary

DECEMBER = dt.date(2026, 12, 1)
CLIENT = Client("client-1", "ООО «Ромашка»", ("dep-1",))


def month_of_three(db: Database, clock: FixedClock) -> list[int]:
    """Dec 2026 at dep-1: 22 working days of 8 h; #2 is sick on the 3rd and works a night on the 16th."""
    with db.session() as session:
        ids = [opened(session, clock(), number=n).id for n in (1, 2, 3)]
    with db.session() as session:
        edit_cells(session, [CellEdit(ids[1], 3, "Б", 1), CellEdit(ids[1], 16, "Я/Н 6/2", 1),
                             CellEdit(ids[2], 21, "ОТ", 1), CellEdit(ids[2], 22, "ОТ", 1)], actor=1, now=clock())
    return ids


def approve(db: Database, clock: FixedClock, ids: list[int]) -> None:
    with db.session() as session:
        for ts_id in ids:
            timesheet = session.get(Timesheet, ts_id)
            for action in ("submit", "approve_client", "approve_provider"):
                transition(session, timesheet, action, 1, clock())


def test_t13_has_the_form_layout_and_its_totals_add_up(db: Database, clock: FixedClock, tmp_path: Path) -> None:
    month_of_three(db, clock)
    path = tmp_path / "t13.xlsx"
    with db.read_session() as session:
        assert t13_of_department(session, "", "dep-1", DECEMBER, str(path), dt.date(2026, 12, 31)) == 3
    sheet = openpyxl.load_workbook(path).active
    texts = [str(c.value) for row in sheet.iter_rows() for c in row if c.value is not None]
    assert "ТАБЕЛЬ" in texts and "учета рабочего времени" in texts and "0301008" in texts
    assert "ООО «Кадры»" in texts and "Склад dep-1" in texts and "01.12.2026" in texts and "31.12.2026" in texts
    first = next(c.row for c in sheet["B"] if str(c.value).startswith("Сотрудник 1"))
    rows = {name: next(c.row for c in sheet["B"] if str(c.value).startswith(name))
            for name in ("Сотрудник 1", "Сотрудник 2", "Сотрудник 3")}
    cell = lambda row, column: sheet.cell(row=row, column=column).value  # noqa: E731
    assert [cell(first, FIRST_DAY_COLUMN + d) for d in range(5)] == ["Я", "Я", "Я", "Я", "В"]
    assert [cell(first + 1, FIRST_DAY_COLUMN + d) for d in range(5)] == ["8", "8", "8", "8", None]
    assert cell(first, FIRST_DAY_COLUMN + 15) == "X"                     # the 16th column of the first half
    assert cell(first + 2, FIRST_DAY_COLUMN + 15) == "В"                 # 31 December 2026 is a day off
    assert (cell(first, HALF_COLUMN), cell(first + 1, HALF_COLUMN)) == (11, 88)
    assert (cell(first + 2, HALF_COLUMN), cell(first + 3, HALF_COLUMN)) == (11, 88)
    assert (cell(first, MONTH_COLUMN), cell(first + 2, MONTH_COLUMN)) == (22, 176)
    sick = rows["Сотрудник 2"]
    assert cell(sick, FIRST_DAY_COLUMN + 2) == "Б" and cell(sick + 2, FIRST_DAY_COLUMN) == "Я/Н"
    assert cell(sick + 3, FIRST_DAY_COLUMN) == "6/2"
    assert (cell(sick, MONTH_COLUMN), cell(sick + 2, MONTH_COLUMN)) == (21, 168)
    assert (cell(sick, ABSENCE_COLUMNS[0]), cell(sick, ABSENCE_COLUMNS[1])) == ("Б", "1")
    vacation = rows["Сотрудник 3"]
    assert (cell(vacation, ABSENCE_COLUMNS[0]), cell(vacation, ABSENCE_COLUMNS[1])) == ("ОТ", "2")
    total = next(c.row for c in sheet["B"] if c.value == "Итого")
    assert cell(total, MONTH_COLUMN) == 22 + 21 + 20
    assert cell(total + 2, MONTH_COLUMN) == sum(cell(rows[n] + 2, MONTH_COLUMN) for n in rows) == 176 + 168 + 160
    assert cell(total, HALF_COLUMN) + cell(total + 2, HALF_COLUMN) == cell(total, MONTH_COLUMN)
    assert any(str(r) == f"B{first}:B{first + 3}" for r in sheet.merged_cells.ranges)


def test_invoice_splits_the_hours_at_a_rate_change_inside_the_month(db: Database, clock: FixedClock) -> None:
    ids = month_of_three(db, clock)
    approve(db, clock, ids[:2])  # the third stays a draft: not billed
    with db.session() as session:
        set_rate(session, "", "client-1", "Кладовщик", parse_rubles("300"), dt.date(2026, 1, 1), 7, clock())
        set_rate(session, "", "client-1", "Кладовщик", parse_rubles("350,00"), dt.date(2026, 12, 16), 7, clock())
    with db.read_session() as session:
        invoice = invoice_of_client(session, "", CLIENT, DECEMBER)
    lines = [(l.first_day.day, l.last_day.day, l.minutes / 60, l.kopecks_per_hour, l.amount_kopecks) for l in invoice.lines]
    # first half: 11 days × 8 h for #1, 10 days × 8 h for #2 (sick on the 3rd); second half: 11 × 8 h each
    assert lines == [(1, 15, 88 + 80, 30000, 168 * 30000), (16, 30, 88 + 88, 35000, 176 * 35000)]
    assert invoice.total_kopecks == 168 * 30000 + 176 * 35000 == 11_200_000
    rows = list(csv.reader(io.StringIO(csv_bytes(invoice).decode("utf-8-sig")), delimiter=";"))
    assert rows[0][0] == "Юрлицо" and rows[1][6:] == ["300,00", "50400,00"] and rows[-1][-1] == "112000,00"
    out = io.BytesIO()
    write_xlsx(out, invoice)
    sheet = openpyxl.load_workbook(out).active
    assert sheet.cell(row=sheet.max_row, column=8).value == 112000
    assert sheet.cell(row=4, column=6).value == 168


def test_hours_without_a_rate_are_listed_not_priced(db: Database, clock: FixedClock) -> None:
    with db.session() as session:
        ts = opened(session, clock(), number=1, position="Водитель погрузчика")
    approve(db, clock, [ts.id])
    with db.read_session() as session:
        invoice = invoice_of_client(session, "", CLIENT, DECEMBER)
    assert [line.position for line in invoice.missing_rates] == ["Водитель погрузчика"]
    assert invoice.total_kopecks == 0 and "ставка не задана" in csv_bytes(invoice).decode("utf-8-sig")


def test_rate_history(db: Database, clock: FixedClock) -> None:
    with db.session() as session:
        set_rate(session, "", "c", "p", 30000, dt.date(2026, 1, 1), 7, clock())
        set_rate(session, "", "c", "p", 40000, dt.date(2026, 7, 1), 7, clock())
        set_rate(session, "", "c", "p", 35000, dt.date(2026, 4, 1), 7, clock())   # inserted between two rates
        set_rate(session, "", "c", "p", 41000, dt.date(2026, 7, 1), 8, clock())   # corrected on the same day
    with db.read_session() as session:
        rates = rates_between(session, "", dt.date(2026, 1, 1), dt.date(2026, 12, 31))
    assert [(r.kopecks, r.valid_from.month, r.valid_to) for r in rates] == [
        (30000, 1, dt.date(2026, 3, 31)), (35000, 4, dt.date(2026, 6, 30)), (41000, 7, None)]
    with pytest.raises(BadRate, match="положительное число"):
        parse_rubles("-5")
    with pytest.raises(BadRate, match="число рублей"):
        parse_rubles("пятьсот")
    assert parse_rubles("1 200,5") == 120050


def test_summaries_per_site_and_per_brigade(db: Database, clock: FixedClock) -> None:
    month_of_three(db, clock)
    with db.session() as session:
        opened(session, clock(), number=4, department="dep-2")
    assert brigade_departments({"dep-1": (41,), "dep-2": (41, 43), "dep-3": (42,)}, 41) == ["dep-1", "dep-2"]
    with db.read_session() as session:
        site = load_summary(session, "", "Склад dep-1", DECEMBER, ["dep-1"])
        brigade = load_summary(session, "", "Бригада", DECEMBER, ["dep-1", "dep-2"])
    assert [p.name for p in site.people] == ["Сотрудник 1", "Сотрудник 2", "Сотрудник 3"]
    assert site.totals["Я"].days == 22 + 21 + 20 and site.totals["Н"].minutes == 120
    assert site.totals["Б"].days == 1 and site.totals["ОТ"].days == 2
    assert site.worked_minutes == (176 + 168 + 160) * 60
    assert site.people[1].differences == [3, 16] and site.people[0].differences == []
    assert len(brigade.people) == 4 and brigade.worked_minutes == site.worked_minutes + 176 * 60
    html = render_summary(site)
    assert "Сотрудник 2" in html and "Временная нетрудоспособность" in html and "Черновик: 3" in html
    assert "3, 16" in html and "Склад dep-1" in render_summary(brigade) and "Склад dep-2" in render_summary(brigade)
