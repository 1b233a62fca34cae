"""A department's vacation schedule for a year, consolidated from its employees' wishes.

Employees submit wishes (periods); the provider manager consolidates the department: every day of
the year gets its coverage (employees at work) and the days on which more employees are away
than the department can spare are conflicts. Once the wishes are resolved the manager approves
the schedule; it becomes ZUP's Document.ГрафикОтпусков for that department (one row of its
tabular section «Сотрудники» per period, ``schedule_fields``), written by
``ZupSource.submit_vacation_schedule``. A later transfer (Document.ПереносОтпуска) names the
scheduled period by its ``ИсходнаяДатаНачала``.

Pure functions: the storage of wishes and the provider manager's commands live in the business
processes feature (bizproc_templates.schedule).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from onec.errors import OneCConfigError

SCHEDULE_PREFIX = "График отпусков Битрикс24: "


@dataclass(frozen=True)
class Wish:
    """One period an employee wishes to be on annual vacation (both dates included)."""

    employee_ref: str
    person_ref: str
    start: dt.date
    end: dt.date
    note: str = ""

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


@dataclass(frozen=True)
class Conflict:
    """A day on which more employees wish to be away than the department can spare."""

    day: dt.date
    away: tuple[str, ...]
    limit: int


@dataclass(frozen=True)
class Consolidation:
    """The department's wishes for the year with coverage per day, conflicts and unusable wishes."""

    year: int
    organization_ref: str
    department_ref: str
    wishes: tuple[Wish, ...]
    coverage: Mapping[dt.date, int]
    conflicts: tuple[Conflict, ...]
    problems: tuple[str, ...]

    @property
    def ready(self) -> bool:
        """No conflicts and no unusable wishes: the schedule can be approved."""
        return not self.conflicts and not self.problems


@dataclass(frozen=True)
class ApprovedSchedule:
    """What the manager approved, keyed so a resend finds the document written before.

    ``vacation_kind_ref`` empty: the main annual vacation (Catalog.ВидыОтпусков «Основной»), which the
    source names when it writes the document (``DocumentWrites.main_vacation_kind``).
    """

    key: str
    consolidation: Consolidation
    approved_by: str
    vacation_kind_ref: str = ""


def consolidate(year: int, organization_ref: str, department_ref: str, staff: Sequence[str],
                wishes: Iterable[Wish], max_away: int) -> Consolidation:
    """Coverage of every day of ``year`` by ``staff`` and the days with more than ``max_away`` away."""
    if max_away < 0:
        raise OneCConfigError("график отпусков: допустимое число отсутствующих не может быть отрицательным")
    members = set(staff)
    kept, problems = _usable(year, members, sorted(wishes, key=lambda w: (w.start, w.employee_ref)))
    first, last = dt.date(year, 1, 1), dt.date(year, 12, 31)
    away: dict[dt.date, list[str]] = {}
    for wish in kept:
        for offset in range(wish.days):
            away.setdefault(wish.start + dt.timedelta(days=offset), []).append(wish.employee_ref)
    days = (first + dt.timedelta(days=offset) for offset in range((last - first).days + 1))
    coverage = {day: len(members) - len(away.get(day, ())) for day in days}
    conflicts = tuple(Conflict(day, tuple(sorted(names)), max_away)
                      for day, names in sorted(away.items()) if len(names) > max_away)
    return Consolidation(year, organization_ref, department_ref, tuple(kept), coverage, conflicts, tuple(problems))


def _usable(year: int, members: set[str], wishes: list[Wish]) -> tuple[list[Wish], list[str]]:
    """Wishes that can go into the schedule, and a Russian reason for each that cannot."""
    kept: list[Wish] = []
    problems: list[str] = []
    for wish in wishes:
        if wish.employee_ref not in members:
            problems.append(f"сотрудник {wish.employee_ref} не работает в подразделении")
        elif wish.end < wish.start or wish.start.year != year or wish.end.year != year:
            problems.append(f"период {wish.start:%d.%m.%Y}–{wish.end:%d.%m.%Y} не входит в {year} год")
        elif any(other.employee_ref == wish.employee_ref and other.end >= wish.start for other in kept):
            problems.append(f"периоды сотрудника {wish.employee_ref} пересекаются ({wish.start:%d.%m.%Y})")
        else:
            kept.append(wish)
    return kept, problems


def approve(consolidation: Consolidation, key: str, approved_by: str, *,
            vacation_kind_ref: str = "") -> ApprovedSchedule:
    """The approved schedule; refused while conflicts or unusable wishes remain."""
    if not consolidation.ready:
        reasons = [f"{c.day:%d.%m.%Y}: отсутствуют {len(c.away)} при допустимых {c.limit}"
                   for c in consolidation.conflicts[:5]] + list(consolidation.problems[:5])
        raise OneCConfigError("график отпусков нельзя утвердить: " + "; ".join(reasons))
    if not key.strip():
        raise OneCConfigError("график отпусков: не задан ключ версии")
    return ApprovedSchedule(key, consolidation, approved_by, vacation_kind_ref)


def schedule_fields(schedule: ApprovedSchedule, department_name: str = "",
                    vacation_kind_ref: str = "") -> dict[str, object]:
    """Document.ГрафикОтпусков: the organisation and one «Сотрудники» row per period; a row's
    ``ВидОтпуска`` is left out only when the kind is not known (the B24Sync extension then fills
    «Основной», as the document's form does for a new row)."""
    consolidation = schedule.consolidation
    kind = schedule.vacation_kind_ref or vacation_kind_ref
    rows = [{"Сотрудник_Key": wish.employee_ref, "ФизическоеЛицо_Key": wish.person_ref,
             **({"ВидОтпуска_Key": kind} if kind else {}), "ДатаНачала": f"{wish.start.isoformat()}T00:00:00",
             "ДатаОкончания": f"{wish.end.isoformat()}T00:00:00", "КоличествоДней": float(wish.days),
             "Примечание": wish.note} for wish in consolidation.wishes]
    title = department_name or consolidation.department_ref
    return {"Организация_Key": consolidation.organization_ref, "ДатаСобытия": f"{consolidation.year}-01-01T00:00:00",
            "Сотрудники": rows,
            "Комментарий": f"{SCHEDULE_PREFIX}{schedule.key}\nПодразделение: {title}; утвердил: {schedule.approved_by}"}
