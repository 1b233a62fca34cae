"""Totals of timesheet days: days and hours per T-13 code, worked and billable hours."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from timesheets.codes import DayValue, all_codes, format_hours


@dataclass
class CodeTotal:
    """How many days carry a code and how many minutes it adds up to."""

    days: int = 0
    minutes: int = 0

    def add(self, other: CodeTotal) -> None:
        self.days += other.days
        self.minutes += other.minutes


def code_totals(values: Iterable[DayValue]) -> dict[str, CodeTotal]:
    """Per code, in the order of the unified list."""
    totals: dict[str, CodeTotal] = {}
    for value in values:
        for mark in value.marks:
            total = totals.setdefault(mark.code, CodeTotal())
            total.days += 1
            total.minutes += mark.minutes or 0
    return in_form_order(totals)


def in_form_order(totals: dict[str, CodeTotal]) -> dict[str, CodeTotal]:
    """Codes in the order of the unified list."""
    order = _form_order()
    return dict(sorted(totals.items(), key=lambda item: order[item[0]]))


@lru_cache(maxsize=1)
def _form_order() -> dict[str, int]:
    return {letter: index for index, letter in enumerate(all_codes())}


def merge(into: dict[str, CodeTotal], totals: dict[str, CodeTotal]) -> None:
    for code, total in totals.items():
        into.setdefault(code, CodeTotal()).add(total)


def worked_minutes(totals: dict[str, CodeTotal]) -> int:
    return sum(total.minutes for code, total in totals.items() if all_codes()[code].hours)


def worked_days(values: Iterable[DayValue]) -> int:
    return sum(1 for value in values if any(all_codes()[mark.code].hours for mark in value.marks))


def summary_text(totals: dict[str, CodeTotal]) -> str:
    """``Я: 20 дн., 159 ч; В: 11 дн.`` for the approver's task."""
    parts = []
    for code, total in totals.items():
        hours = f", {format_hours(total.minutes)} ч" if total.minutes else ""
        parts.append(f"{code}: {total.days} дн.{hours}")
    return "; ".join(parts)
