"""Desired Bitrix24 state from 1C records (pure): one extranet group per onboarded department,
one extranet user per person (not per employment) with the groups of their active employments."""
from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from onec.models import Department, Employee, EmploymentState, EmploymentType, LegalEntity, Person, Position

from sync_jobs.keys import group_marker
from sync_jobs.settings import SyncSettings

UF_PERSONNEL_NUMBER = "UF_USR_ZUP_PERSONNEL_NO"
UF_LEGAL_ENTITY = "UF_USR_ZUP_LEGAL_ENTITY"
UF_DEPARTMENT = "UF_USR_ZUP_DEPARTMENT"
USER_FIELDS = {UF_PERSONNEL_NUMBER: "Табельный номер (1С:ЗУП)", UF_LEGAL_ENTITY: "Организация (1С:ЗУП)",
               UF_DEPARTMENT: "Подразделение (1С:ЗУП)"}
NO_EMAIL = "нет e-mail"


def state_hash(fields: Mapping[str, Any]) -> str:
    text = json.dumps(fields, ensure_ascii=False, sort_keys=True, default=str)
    return hashlib.blake2b(text.encode("utf-8"), digest_size=12).hexdigest()


@dataclass(frozen=True)
class DesiredGroup:
    key: str  # department ref
    fields: Mapping[str, Any]  # what sonet_group.create/update get (besides OWNER_ID)
    moderators: tuple[int, ...]
    department_name: str = ""
    legal_entity_ref: str = ""
    legal_entity_name: str = ""

    @property
    def name(self) -> str:
        return str(self.fields["NAME"])


@dataclass(frozen=True)
class DesiredUser:
    """``active``: True = must be active, False = must be deactivated, None = leave as is (grace)."""

    key: str  # person ref
    title: str
    fields: Mapping[str, Any] | None  # None for people who left: nothing to update but ACTIVE
    groups: frozenset[str]
    active: bool | None
    has_email: bool

    @property
    def full_name(self) -> str:
        fields = self.fields or {}
        return " ".join(str(fields.get(k) or "") for k in ("LAST_NAME", "NAME", "SECOND_NAME")).strip()


@dataclass(frozen=True)
class Skipped:
    kind: str
    key: str
    title: str
    reason: str


@dataclass
class DesiredState:
    groups: dict[str, DesiredGroup] = field(default_factory=dict)
    users: dict[str, DesiredUser] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class EmployeeNumber:
    """All the desired state needs of an Employee (a run keeps only this of the 1C record)."""

    ref: str
    personnel_number: str


# What a run keeps of each 1C record while it builds the desired state (streams.Stream.keep): deleted
# records are dropped, and fields it never reads (1C refs arrive interned from onec.normalize, so
# the key of a person, employee, department... is one string however many records name it; with
# the compact bookmarks ≈ 60 MB less peak RSS at 50,000 employees, bench/README.md "Memory").

def keep_person(person: Person) -> Person | None:
    return None if person.deleted else dataclasses.replace(person, snils=None, inn=None)


def keep_employee(employee: Employee) -> EmployeeNumber | None:
    return None if employee.deleted else EmployeeNumber(employee.ref, employee.personnel_number)


def keep_employment(state: EmploymentState) -> EmploymentState | None:
    return state if state.person_ref else None


@dataclass(frozen=True)
class Placement:
    """One active, onboarded employment of a person."""

    employee: EmployeeNumber
    state: EmploymentState
    department: Department
    legal_entity: LegalEntity


def group_fields(entity: LegalEntity, department: Department, settings: SyncSettings) -> dict[str, Any]:
    """«<Организация> — <Подразделение>», bound to the intranet and the extranet site
    (Bitrix24 REST docs: api-reference/sonet-group/sonet-group-create.md)."""
    return {"NAME": f"{entity.name} — {department.name}", "DESCRIPTION": f"Площадка клиента «{department.name}»",
            "KEYWORDS": group_marker(department.ref), "VISIBLE": "N", "OPENED": "N", "INITIATE_PERMS": "E",
            "SITE_ID": [settings.intranet_site_id, settings.extranet_site_id]}


def _title(person: Person, numbers: Iterable[str]) -> str:
    initials = "".join(f"{part[0]}." for part in (person.first_name, person.middle_name) if part)
    listed = ", ".join(numbers)
    return f"{person.last_name} {initials}" + (f" (таб. № {listed})" if listed else "")


def _ordered(placements: list[Placement]) -> list[Placement]:
    """Main employment first, then by personnel number: a stable order for the joined UF values."""
    return sorted(placements, key=lambda p: (p.state.employment_type is not EmploymentType.MAIN,
                                             p.employee.personnel_number, p.employee.ref))


def user_fields(person: Person, placements: list[Placement], positions: Mapping[str, Position]) -> dict[str, Any]:
    ordered = _ordered(placements)
    position = positions.get(ordered[0].state.position_ref or "")
    fields: dict[str, Any] = {
        "NAME": person.first_name, "LAST_NAME": person.last_name, "SECOND_NAME": person.middle_name,
        "PERSONAL_MOBILE": person.mobile_phone or "", "WORK_POSITION": position.name if position else "",
        "PERSONAL_BIRTHDAY": person.birth_date.isoformat() if person.birth_date else "",
        UF_PERSONNEL_NUMBER: ", ".join(p.employee.personnel_number for p in ordered),
        UF_LEGAL_ENTITY: "; ".join(dict.fromkeys(p.legal_entity.name for p in ordered)),
        UF_DEPARTMENT: "; ".join(dict.fromkeys(p.department.name for p in ordered)),
    }
    if person.email:
        fields["EMAIL"] = person.email
    return fields


@dataclass(frozen=True)
class SourceRecords:
    """One full read of 1C as the streams keep it (``keep_*`` above)."""

    legal_entities: list[LegalEntity]
    departments: list[Department]
    positions: list[Position]
    persons: list[Person]
    employees: list[EmployeeNumber]
    employments: list[EmploymentState]


class DesiredStateBuilder:
    """Turns one full read of 1C into the desired Bitrix24 state as of a date."""

    def __init__(self, records: SourceRecords, settings: SyncSettings, today: dt.date) -> None:
        self.settings = settings
        self.today = today
        self.entities = {e.ref: e for e in records.legal_entities if not e.deleted}
        self.departments = {d.ref: d for d in records.departments if not d.deleted}
        self.positions = {p.ref: p for p in records.positions}
        self.persons = {p.ref: p for p in records.persons}
        self.employees = {e.ref: e for e in records.employees}
        self.by_person: dict[str, list[EmploymentState]] = defaultdict(list)
        for state in records.employments:
            if state.person_ref and state.employee_ref in self.employees:
                self.by_person[state.person_ref].append(state)

    def build(self) -> DesiredState:
        desired = DesiredState()
        for person_ref, states in self.by_person.items():
            person = self.persons.get(person_ref)
            if person is None:
                continue
            placements = [p for p in map(self._placement, states) if p is not None]
            desired.users[person_ref] = self._user(person, states, placements)
            for placement in placements:
                self._add_group(desired, placement)
        return desired

    def _placement(self, state: EmploymentState) -> Placement | None:
        """The employment if it is active today in an onboarded, living department."""
        department = self.departments.get(state.department_ref or "")
        entity = self.entities.get(state.organization_ref or "") or (
            self.entities.get(department.legal_entity_ref or "") if department else None)
        if department is None or entity is None or department.disbanded or not state.is_active(self.today):
            return None
        if not self.settings.onboarded(entity.ref, department.ref):
            return None
        return Placement(self.employees[state.employee_ref], state, department, entity)

    def _user(self, person: Person, states: list[EmploymentState], placements: list[Placement]) -> DesiredUser:
        numbers = [p.employee.personnel_number for p in _ordered(placements)]
        title = _title(person, numbers)
        if placements:
            return DesiredUser(person.ref, title, user_fields(person, placements, self.positions),
                               frozenset(p.department.ref for p in placements), True, bool(person.email))
        return DesiredUser(person.ref, title, None, frozenset(), self._leaver_active(states), bool(person.email))

    def _leaver_active(self, states: list[EmploymentState]) -> bool | None:
        """False once every employment ended more than grace_days ago; None while in grace or out of scope."""
        ends = [s.dismissal_date for s in states]
        if any(end is None or end >= self.today for end in ends):
            return None  # still employed (outside the onboarded scope) or dismissed in the future
        last_day = max(end for end in ends if end is not None)
        return False if (self.today - last_day).days >= self.settings.grace_days else None

    def _add_group(self, desired: DesiredState, placement: Placement) -> None:
        ref = placement.department.ref
        if ref not in desired.groups:
            entity = placement.legal_entity
            desired.groups[ref] = DesiredGroup(ref, group_fields(entity, placement.department, self.settings),
                                               self.settings.managers_of(ref).all, placement.department.name,
                                               entity.ref, entity.name)
