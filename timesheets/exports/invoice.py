"""The invoice basis per client: legal entity × site × position, hours × rate, as XLSX and CSV.

Only hours of billable codes count (work by day or night, on days off, overtime...: ``billable`` in
data/t13_codes.yaml). Each day's hours take the rate in force on that day, so a rate change inside the
month splits a position's hours into two lines. Amounts are kopecks, rounded half up per line.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import IO

from openpyxl import Workbook
from openpyxl.styles import Font
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from timesheets.calendar import month_dates, month_title
from timesheets.codes import DayValue, all_codes, format_hours
from timesheets.models import Timesheet
from timesheets.rates import Rate, rates_between
from timesheets.settings import Client
from timesheets.sheets import day_value, first_of_month


@dataclass(frozen=True)
class BilledSheet:
    """What the invoice needs of one approved timesheet."""

    client_key: str
    legal_entity: str
    site: str
    position: str
    period_start: dt.date
    values: Sequence[DayValue]


@dataclass
class InvoiceLine:
    legal_entity: str
    site: str
    position: str
    first_day: dt.date
    last_day: dt.date
    minutes: int = 0
    kopecks_per_hour: int | None = None  # None: no rate set for those days

    @property
    def amount_kopecks(self) -> int:
        if self.kopecks_per_hour is None:
            return 0
        amount = Decimal(self.minutes) * Decimal(self.kopecks_per_hour) / Decimal(60)
        return int(amount.quantize(Decimal("1"), rounding=ROUND_HALF_UP))


@dataclass
class Invoice:
    client_key: str
    client_name: str
    period_start: dt.date
    lines: list[InvoiceLine] = field(default_factory=list)

    @property
    def total_kopecks(self) -> int:
        return sum(line.amount_kopecks for line in self.lines)

    @property
    def total_minutes(self) -> int:
        return sum(line.minutes for line in self.lines)

    @property
    def missing_rates(self) -> list[InvoiceLine]:
        return [line for line in self.lines if line.kopecks_per_hour is None and line.minutes]


def _billable_minutes(value: DayValue) -> int:
    return sum(mark.minutes or 0 for mark in value.marks if all_codes()[mark.code].billable)


def build_invoice(client_key: str, client_name: str, period_start: dt.date, sheets: Iterable[BilledSheet],
                  rates: Sequence[Rate]) -> Invoice:
    """Lines per (legal entity, site, position, rate in force), in that order."""
    invoice = Invoice(client_key, client_name, period_start)
    lines: dict[tuple[str, str, str, int | None, dt.date], InvoiceLine] = {}
    for sheet in sheets:
        if sheet.client_key != client_key:
            continue
        for date, value in zip(month_dates(period_start), sheet.values):
            minutes = _billable_minutes(value)
            if not minutes:
                continue
            rate = next((r for r in rates if r.client_key == client_key and r.position == sheet.position
                         and r.holds_on(date)), None)
            segment = rate.valid_from if rate else period_start
            key = (sheet.legal_entity, sheet.site, sheet.position, rate.kopecks if rate else None, segment)
            line = lines.get(key)
            if line is None:
                line = lines[key] = InvoiceLine(sheet.legal_entity, sheet.site, sheet.position, date, date,
                                                kopecks_per_hour=rate.kopecks if rate else None)
            line.first_day, line.last_day = min(line.first_day, date), max(line.last_day, date)
            line.minutes += minutes
    invoice.lines = sorted(lines.values(), key=lambda l: (l.legal_entity, l.site, l.position, l.first_day))
    return invoice


def rubles(kopecks: int | None) -> str:
    if kopecks is None:
        return "ставка не задана"
    return f"{kopecks // 100},{kopecks % 100:02d}"


HEADER = ("Юрлицо", "Площадка", "Должность", "С", "По", "Часы", "Ставка, руб./ч", "Сумма, руб.")


def _line_values(line: InvoiceLine) -> tuple[str, ...]:
    return (line.legal_entity, line.site, line.position, line.first_day.strftime("%d.%m.%Y"),
            line.last_day.strftime("%d.%m.%Y"), format_hours(line.minutes), rubles(line.kopecks_per_hour),
            rubles(line.amount_kopecks))


def write_csv(out: IO[str], invoice: Invoice) -> None:
    """Semicolon-separated, as Excel opens it in a Russian locale."""
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(HEADER)
    for line in invoice.lines:
        writer.writerow(_line_values(line))
    writer.writerow(("Итого", "", "", "", "", format_hours(invoice.total_minutes), "", rubles(invoice.total_kopecks)))


def csv_bytes(invoice: Invoice) -> bytes:
    text = io.StringIO()
    write_csv(text, invoice)
    return ("\ufeff" + text.getvalue()).encode("utf-8")  # the BOM makes Excel read UTF-8


def write_xlsx(out: IO[bytes] | str, invoice: Invoice) -> None:
    book = Workbook()
    sheet = book.active
    sheet.title = "Основание для счёта"
    bold = Font(bold=True)
    sheet.append([f"Основание для счёта: {invoice.client_name}, {month_title(invoice.period_start)}"])
    sheet["A1"].font = Font(bold=True, size=12)
    sheet.append([])
    sheet.append(list(HEADER))
    for cell in sheet[3]:
        cell.font = bold
    for line in invoice.lines:
        sheet.append([line.legal_entity, line.site, line.position, line.first_day, line.last_day,
                      round(line.minutes / 60, 2), _number(line.kopecks_per_hour), _number(line.amount_kopecks)])
        for column in "DE":
            sheet[f"{column}{sheet.max_row}"].number_format = "DD.MM.YYYY"
    sheet.append(["Итого", None, None, None, None, round(invoice.total_minutes / 60, 2), None,
                  _number(invoice.total_kopecks)])
    for cell in sheet[sheet.max_row]:
        cell.font = bold
    for column, width in zip("ABCDEFGH", (28, 30, 24, 11, 11, 9, 14, 14)):
        sheet.column_dimensions[column].width = width
    book.save(out)


def _number(kopecks: int | None) -> float | str:
    return "ставка не задана" if kopecks is None else kopecks / 100


BILLED_STATUSES = ("approved_by_provider", "locked")


def invoice_of_client(session: Session, member_id: str, client: Client, period_start: dt.date) -> Invoice:
    """The client's invoice basis from the month's timesheets both sides approved, on portal ``member_id``."""
    period_start = first_of_month(period_start)
    summary_rows = session.scalars(select(Timesheet).options(selectinload(Timesheet.days)).where(
        Timesheet.member_id == member_id, Timesheet.period_start == period_start, Timesheet.client_key == client.key,
        Timesheet.status.in_(BILLED_STATUSES)))
    sheets = [BilledSheet(ts.client_key, ts.legal_entity_name, ts.site_name, ts.position, ts.period_start,
                          [day_value(row) for row in ts.days]) for ts in summary_rows]
    rates = rates_between(session, member_id, period_start, month_dates(period_start)[-1], [client.key])
    return build_invoice(client.key, client.name, period_start, sheets, rates)
