"""Vacation balance assembled from OData registers (ZUP has no single balance table).

Registers used (documented in docs/onec-extension.md):

- ``InformationRegister_АналитикаОстатковОтпусков`` — ZUP's precomputed remaining days per
  employee and kind of annual vacation on a date (``ОстатокДней`` on ``Дата``): the anchor;
- ``Catalog_ВидыОтпусков`` — kind names and ``КоличествоДнейВГод`` (accrual rate);
- ``AccumulationRegister_ФактическиеОтпуска`` — days taken (``Количество``, by ``ДатаНачала``);
- ``ТекущиеКадровыеДанныеСотрудников`` — hire and dismissal dates bound the accrual.

Balance on a date = anchor remainder + the days earned between the anchor date and that date −
days taken in between (added back when the date is before the anchor). Days are earned as ZUP
earns them (CommonModules/ОстаткиОтпусков, «Отработано месяцев: N (M дн.)»): days per year / 12
for each month of the working year, counted from the hire date, the running month by the share of
it worked, nothing after the dismissal. Without an anchor (the register is filled only with some
ZUP settings) the main kind accrues from the hire date and every vacation taken is subtracted.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from onec import normalize
from onec.models import EmploymentState, VacationBalance, VacationKindBalance

Row = Mapping[str, Any]


@dataclass(frozen=True)
class VacationKind:
    """Catalog_ВидыОтпусков item."""

    ref: str
    name: str
    days_per_year: float
    main: bool


def vacation_kinds(rows: Iterable[Row]) -> dict[str, VacationKind]:
    """Catalog_ВидыОтпусков rows -> {ref: VacationKind}."""
    kinds = (
        VacationKind(normalize.required_ref(row.get("Ref_Key")), normalize.text(row.get("Description")),
                     normalize.number(row.get("КоличествоДнейВГод"), "КоличествоДнейВГод"),
                     normalize.boolean(row.get("ОсновнойОтпуск")))
        for row in rows
    )
    return {kind.ref: kind for kind in kinds}


def add_months(day: dt.date, months: int) -> dt.date:
    """1C's ДобавитьМесяц: the same day ``months`` later, or that month's last day when it is shorter."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def months_worked(start: dt.date, end: dt.date) -> float:
    """Months from ``start`` through ``end`` (inclusive): whole months plus the share of the running one."""
    after = end + dt.timedelta(days=1)
    if after <= start:
        return 0.0
    whole = (after.year - start.year) * 12 + after.month - start.month
    while add_months(start, whole) > after:
        whole -= 1
    begun, following = add_months(start, whole), add_months(start, whole + 1)
    return whole + (after - begun).days / (following - begun).days


def earned(kind: VacationKind, state: EmploymentState | None, on_date: dt.date) -> float:
    """Days of ``kind`` earned from the hire date through ``on_date`` (the dismissal date at most)."""
    if state is None or state.hire_date is None:
        return 0.0
    end = min(on_date, state.dismissal_date) if state.dismissal_date else on_date
    return kind.days_per_year * months_worked(state.hire_date, end) / 12


def accrued(kind: VacationKind, state: EmploymentState | None, start: dt.date, end: dt.date) -> float:
    """Days of ``kind`` earned after ``start`` through ``end`` (negative when ``end`` is before ``start``)."""
    return earned(kind, state, end) - earned(kind, state, start)


def taken(rows: Iterable[Row], kind_ref: str | None, start: dt.date | None, end: dt.date) -> float:
    """Days of vacations of a kind (None = any) starting in (start, end]."""
    total = 0.0
    for row in rows:
        begins = normalize.date(row.get("ДатаНачала"), "ДатаНачала")
        row_kind = normalize.ref(row.get("ВидЕжегодногоОтпуска_Key"), "ВидЕжегодногоОтпуска_Key")
        in_period = begins is not None and begins <= end and (start is None or begins > start)
        if in_period and (kind_ref is None or row_kind == kind_ref):
            total += normalize.number(row.get("Количество"), "Количество")
    return total


def _anchored(kind: VacationKind, anchor: Row, on_date: dt.date, state: EmploymentState | None,
              taken_rows: list[Row]) -> float:
    anchor_date = normalize.date(anchor.get("Дата"), "Дата") or on_date
    remainder = normalize.number(anchor.get("ОстатокДней"), "ОстатокДней")
    if on_date >= anchor_date:
        used = taken(taken_rows, kind.ref, anchor_date, on_date)
    else:
        used = -taken(taken_rows, kind.ref, on_date, anchor_date)
    return remainder + accrued(kind, state, anchor_date, on_date) - used


def _latest_anchors(remains: Iterable[Row], on_date: dt.date) -> dict[str, Row]:
    """Per kind: the latest anchor on or before ``on_date``, else the earliest after it."""
    anchors: dict[str, Row] = {}
    for row in remains:
        kind = normalize.ref(row.get("ВидЕжегодногоОтпуска_Key"), "ВидЕжегодногоОтпуска_Key") or ""
        current = anchors.get(kind)
        if current is None or _closer(row, current, on_date):
            anchors[kind] = row
    return anchors


def _closer(row: Row, current: Row, on_date: dt.date) -> bool:
    new, old = normalize.date(row.get("Дата")) or on_date, normalize.date(current.get("Дата")) or on_date
    if (new <= on_date) != (old <= on_date):
        return new <= on_date
    return new > old if new <= on_date else new < old


def vacation_balance(
    employee_ref: str,
    on_date: dt.date,
    state: EmploymentState | None,
    remains: Iterable[Row],
    taken_rows: Iterable[Row],
    kinds: Mapping[str, VacationKind],
) -> VacationBalance:
    """Remaining annual vacation per kind on ``on_date``."""
    taken_list = list(taken_rows)
    anchors = _latest_anchors(remains, on_date)
    by_kind = [
        VacationKindBalance(kinds[ref].name, round(_anchored(kinds[ref], row, on_date, state, taken_list), 2))
        for ref, row in anchors.items() if ref in kinds
    ]
    if not by_kind:
        main = next((kind for kind in kinds.values() if kind.main), None)
        if main is not None and state is not None and state.hire_date is not None:
            days = earned(main, state, on_date) - taken(taken_list, None, None, on_date)
            by_kind = [VacationKindBalance(main.name, round(days, 2))]
    total = round(sum(kind.days for kind in by_kind), 2)
    return VacationBalance(employee_ref, on_date, total, tuple(by_kind))
