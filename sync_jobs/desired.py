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


@dataclass(frozen=True, slots=True)
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


@dataclass(frozen=True, slots=True)
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
    """Turns 1C records into the desired Bitrix24 state as of a date, as they arrive.

    Records come per stream in any order and amount (``add``), each stream's end is announced
    (``complete``). A person's user is decided once everything it depends on is known: the person,
    all of their employment register rows (the whole register, or the person announced as closed by a
    register read grouped by person: ``CLOSED_PERSONS``), the employee card of each of their
    employments (or the whole catalog), and the small catalogs (legal entities, departments,
    positions). ``take_ready`` hands out the users decided since the last call, with their groups in
    ``desired.groups``; ``finish`` decides the rest once every stream is complete.

    A register row of a person already decided (a row moved between pages by a write in 1C during the
    read comes at the end, sync_jobs.odata.ODataClient.read_all) makes ``finish`` decide that person
    again for the stored desired state; what this run already planned for them stays, and the next
    run writes the difference (the mapping's state hash and groups differ).
    """

    def __init__(self, settings: SyncSettings, today: dt.date) -> None:
        self.settings = settings
        self.today = today
        self.desired = DesiredState()
        self.entities: dict[str, LegalEntity] = {}
        self.departments: dict[str, Department] = {}
        self.positions: dict[str, Position] = {}
        self.persons: dict[str, Person] = {}
        self.employees: dict[str, EmployeeNumber] = {}
        self.by_person: dict[str, list[EmploymentState]] = defaultdict(list)
        self.person_of_employee: dict[str, str] = {}
        self.complete: set[str] = set()
        self.closed: set[str] = set()  # persons whose register rows are all in (CLOSED_PERSONS)
        self.late: set[str] = set()  # persons decided before another register row of theirs came
        self.waiting: set[str] = set()  # persons read whose user is not decided yet
        self.ready: list[DesiredUser] = []

    def add(self, stream: str, records: Iterable[Any]) -> None:
        """Records of one stream (``sync_jobs.streams``: what ``keep_*`` kept of them)."""
        if stream == "persons":
            for person in records:
                self.persons[person.ref] = person
                self.waiting.add(person.ref)
                self._decide_if_ready(person.ref)
        elif stream == "employees":
            for employee in records:
                self.employees[employee.ref] = employee
                if (person_ref := self.person_of_employee.get(employee.ref)) is not None:
                    self._decide_if_ready(person_ref)
        elif stream == "employments":
            for state in records:
                self.by_person[state.person_ref].append(state)
                self.person_of_employee[state.employee_ref] = state.person_ref
                if state.person_ref in self.closed and state.person_ref in self.persons \
                        and state.person_ref not in self.waiting:
                    self.late.add(state.person_ref)
        elif stream == CLOSED_PERSONS:
            for person_ref in records:
                self.closed.add(person_ref)
                self._decide_if_ready(person_ref)
        else:
            target = {"legal_entities": self.entities, "departments": self.departments,
                      "positions": self.positions}[stream]
            target.update((record.ref, record) for record in records)

    def mark_complete(self, stream: str) -> None:
        """Every record of ``stream`` was added: the persons waiting on it may be decided."""
        self.complete.add(stream)
        for person_ref in list(self.waiting):
            self._decide_if_ready(person_ref)

    def take_ready(self) -> list[DesiredUser]:
        """The users decided since the last call."""
        ready, self.ready = self.ready, []
        return ready

    def finish(self) -> DesiredState:
        """The whole desired state (every stream complete); the records it was built from are let go."""
        for person_ref in list(self.waiting):
            self._decide(person_ref)
        for person_ref in self.late:
            self._decide(person_ref, announce=False)
        self.persons, self.employees, self.by_person, self.person_of_employee = {}, {}, defaultdict(list), {}
        self.closed, self.late = set(), set()
        return self.desired

    def _decide_if_ready(self, person_ref: str) -> None:
        if person_ref in self.waiting and SMALL_STREAMS <= self.complete \
                and ("employments" in self.complete or person_ref in self.closed) \
                and ("employees" in self.complete
                     or all(s.employee_ref in self.employees for s in self.by_person.get(person_ref, ()))):
            self._decide(person_ref)

    def _decide(self, person_ref: str, *, announce: bool = True) -> None:
        """The person's user (none without an employee card) into ``desired``; ``announce``: and into
        ``ready``, to be planned."""
        self.waiting.discard(person_ref)
        states = [s for s in self.by_person.get(person_ref, ()) if s.employee_ref in self.employees]
        if not states:
            return
        placements = [p for p in map(self._placement, states) if p is not None]
        user = self._user(self.persons[person_ref], states, placements)
        self.desired.users[person_ref] = user
        for placement in placements:
            self._add_group(placement)
        if announce:
            self.ready.append(user)

    def _placement(self, state: EmploymentState) -> Placement | None:
        """The employment if it is active today in an onboarded, living department."""
        department = self._living(self.departments.get(state.department_ref or ""))
        entity = self._living(self.entities.get(state.organization_ref or "")) or (
            self._living(self.entities.get(department.legal_entity_ref or "")) if department else None)
        if department is None or entity is None or department.disbanded or not state.is_active(self.today):
            return None
        if not self.settings.onboarded(entity.ref, department.ref):
            return None
        return Placement(self.employees[state.employee_ref], state, department, entity)

    @staticmethod
    def _living(record: Any) -> Any:
        return None if record is None or record.deleted else record

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

    def _add_group(self, placement: Placement) -> None:
        ref = placement.department.ref
        if ref not in self.desired.groups:
            entity = placement.legal_entity
            self.desired.groups[ref] = DesiredGroup(ref, group_fields(entity, placement.department, self.settings),
                                                    self.settings.managers_of(ref).all, placement.department.name,
                                                    entity.ref, entity.name)


SMALL_STREAMS = frozenset({"legal_entities", "departments", "positions"})
CLOSED_PERSONS = "employments.closed_persons"
"""Not a stream: persons whose employment rows are all in (sync_jobs.streams.PersonGroups)."""


def build_desired(records: SourceRecords, settings: SyncSettings, today: dt.date) -> DesiredState:
    """The desired state of one whole read of 1C."""
    builder = DesiredStateBuilder(settings, today)
    for stream in ("legal_entities", "departments", "positions", "employments", "employees", "persons"):
        builder.add(stream, getattr(records, stream))
        builder.mark_complete(stream)
    return builder.finish()
