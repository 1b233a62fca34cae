"""The T-13 codes and the marks of one day, as typed in the grid and stored in a cell.

A day holds at most two marks (the form's cell has one line of codes and one of hours, e.g.
«Я/Н» over «8/2»). Typing accepts what people type in Excel: ``8`` (day work, 8 hours), ``Я 8``,
``Я8 Н2``, ``Я/Н 8/2``, ``7,5``, ``7:30``, ``ОТ``, ``в``; Latin letters that look like Cyrillic ones
(B, H, K, O, P, C...) are read as Cyrillic. Errors are Russian and say what is expected.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path

import yaml

DATA_FILE = Path(__file__).resolve().parent / "data" / "t13_codes.yaml"
DAY_WORK = "Я"
DAY_OFF = "В"
MAX_MARKS = 2
MINUTES_PER_DAY = 24 * 60
LATIN_LOOKALIKES = str.maketrans("ABCEHKMOPTXY", "АВСЕНКМОРТХУ")
TOKEN = re.compile(r"[А-ЯЁ]+|\d+(?:[.:]\d+)?|[^\s/;+]")


class BadMark(ValueError):
    """A typed day value that is not a valid T-13 mark; the message is for the user (Russian)."""


@dataclass(frozen=True)
class Code:
    """One code of the unified list: letter, number, wording, and how the app uses it."""

    letter: str
    number: str
    name: str
    hours: bool  # the mark carries hours of work
    billable: bool  # the hours go to the client's invoice basis


@lru_cache(maxsize=1)
def all_codes() -> dict[str, Code]:
    """Every code of the unified list by letter, in the form's order."""
    data = yaml.safe_load(DATA_FILE.read_text(encoding="utf-8"))
    return {row["letter"]: Code(row["letter"], row["number"], row["name"], row["hours"], row["billable"])
            for row in data["codes"]}


def code_source() -> str:
    """The legal source of the list, for exports and docs."""
    return str(yaml.safe_load(DATA_FILE.read_text(encoding="utf-8"))["source"])


@dataclass(frozen=True)
class Mark:
    """One code with its minutes (None for codes that mark a whole day)."""

    code: str
    minutes: int | None = None


@dataclass(frozen=True)
class DayValue:
    """What one day of a timesheet says: no marks, one, or two."""

    marks: tuple[Mark, ...] = ()

    @cached_property
    def text(self) -> str:
        """The canonical form: ``Я 8``, ``Я/Н 8/2``, ``ОТ``, or empty."""
        if not self.marks:
            return ""
        codes = "/".join(mark.code for mark in self.marks)
        hours = "/".join(format_hours(mark.minutes) for mark in self.marks if mark.minutes is not None)
        return f"{codes} {hours}" if hours else codes

    @property
    def worked_minutes(self) -> int:
        return sum(mark.minutes or 0 for mark in self.marks)

    def as_columns(self) -> tuple[str, int | None, str | None, int | None]:
        """(code, minutes, code2, minutes2) for a TimesheetDay row."""
        first = self.marks[0] if self.marks else Mark("")
        second = self.marks[1] if len(self.marks) > 1 else None
        return first.code, first.minutes, second.code if second else None, second.minutes if second else None

    @staticmethod
    @lru_cache(maxsize=4096)
    def from_columns(code: str, minutes: int | None, code2: str | None, minutes2: int | None) -> DayValue:
        """A cell's value; shared between equal cells (a month of a big site holds few distinct ones)."""
        marks = [Mark(code, minutes)] if code else []
        if code2:
            marks.append(Mark(code2, minutes2))
        return DayValue(tuple(marks))


def format_hours(minutes: int | None) -> str:
    """450 -> "7,5"; 480 -> "8"; the Russian decimal comma."""
    if minutes is None:
        return ""
    hours = round(minutes / 60, 2)
    text = f"{hours:.2f}".rstrip("0").rstrip(".")
    return text.replace(".", ",")


def parse_hours(text: str) -> int:
    """"8", "7.5", "7:30" -> minutes; refuses what is not 0 < hours ≤ 24."""
    if ":" in text:
        hours, _, minutes = text.partition(":")
        total = int(hours) * 60 + int(minutes)
        if int(minutes) >= 60:
            raise BadMark(f"«{text}»: минут в часе не больше 59")
    else:
        total = round(float(text) * 60)
    if not 0 < total <= MINUTES_PER_DAY:
        raise BadMark(f"«{text}»: часов должно быть больше 0 и не больше 24")
    return total


def parse_day(raw: str) -> DayValue:
    """Read what was typed into a day cell; BadMark with a Russian message when it is not valid."""
    text = raw.strip().upper().translate(LATIN_LOOKALIKES).replace(",", ".")
    if not text:
        return DayValue()
    codes: list[str] = []
    hours: list[int] = []
    for token in TOKEN.findall(text):
        if token[0].isdigit():
            hours.append(parse_hours(token))
        elif token in all_codes():
            codes.append(token)
        else:
            raise BadMark(f"«{raw.strip()}»: «{token}» — не код табеля Т-13")
    return _check(_pair(codes, hours), raw)


def _pair(codes: list[str], hours: list[int]) -> list[Mark]:
    """Give hours to the codes that carry them, in order; bare hours mean day work (Я)."""
    if not codes:
        codes = [DAY_WORK] * len(hours)
    if len(hours) > sum(1 for code in codes if all_codes()[code].hours):
        whole_day = [code for code in codes if not all_codes()[code].hours]
        if whole_day:
            raise BadMark(f"код «{whole_day[0]}» ставится на весь день, без часов")
        raise BadMark("часов указано больше, чем кодов")
    remaining = iter(hours)
    marks = []
    for code in codes:
        if not all_codes()[code].hours:
            marks.append(Mark(code))
            continue
        minutes = next(remaining, None)
        if minutes is None:
            raise BadMark(f"для кода «{code}» укажите часы, например «{code} 8»")
        marks.append(Mark(code, minutes))
    return marks


def _check(marks: list[Mark], raw: str) -> DayValue:
    if len(marks) > MAX_MARKS:
        raise BadMark(f"«{raw.strip()}»: в одном дне не больше {MAX_MARKS} кодов")
    if len({mark.code for mark in marks}) < len(marks):
        raise BadMark(f"«{raw.strip()}»: код повторяется")
    if sum(mark.minutes or 0 for mark in marks) > MINUTES_PER_DAY:
        raise BadMark(f"«{raw.strip()}»: в сутках не больше 24 часов")
    return DayValue(tuple(marks))
