"""Vacation balance assembled from OData registers (ZUP has no single balance table).

Registers used (documented in docs/onec-extension.md):

- ``InformationRegister_АналитикаОстатковОтпусков`` — ZUP's precomputed remaining days per
  employee and kind of annual vacation on a date (``ОстатокДней`` on ``Дата``): the anchor;
- ``Catalog_ВидыОтпусков`` — kind names and ``КоличествоДнейВГод`` (accrual rate);
- ``AccumulationRegister_ФактическиеОтпуска`` — days taken (``Количество``, by ``ДатаНачала``);
- ``ТекущиеКадровыеДанныеСотрудников`` — hire and dismissal dates bound the accrual.

Balance on a date = anchor remainder + accrual from the anchor date to that date (days per year
/ 365 per calendar day while employed) − days taken in between (added back when the date is
before the anchor). Without an anchor (the register is filled only with some ZUP settings) the
main kind accrues from the hire date and every vacation taken is subtracted.
"""

from __future__ import annotations

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


def employed_days(state: EmploymentState | None, start: dt.date, end: dt.date) -> int:
    """Calendar days in (start, end] during which the employee was employed."""
    if state is None or state.hire_date is None:
        return 0
    first = max(start + dt.timedelta(days=1), state.hire_date)
    last = min(end, state.dismissal_date) if state.dismissal_date else end
    return max(0, (last - first).days + 1)


def accrued(kind: VacationKind, state: EmploymentState | None, start: dt.date, end: dt.date) -> float:
    """Days of ``kind`` earned between two dates (negative when ``end`` is before ``start``)."""
    if end < start:
        return -accrued(kind, state, end, start)
    return kind.days_per_year * employed_days(state, start, end) / 365


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
            start = state.hire_date - dt.timedelta(days=1)
            days = accrued(main, state, start, on_date) - taken(taken_list, None, None, on_date)
            by_kind = [VacationKindBalance(main.name, round(days, 2))]
    total = round(sum(kind.days for kind in by_kind), 2)
    return VacationBalance(employee_ref, on_date, total, tuple(by_kind))
