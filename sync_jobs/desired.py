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

    A walk of a change feed (sync_jobs.streams) announces the small catalogs (``CLOSED_CATALOGS``) and
    the persons it holds together as closed before it ends, and objects it handed out that are gone
    since (``GONE``). A record of a person already decided (a register row moved between pages by a
    write in 1C during the read, sync_jobs.odata.ODataClient.read_all; an object the feed holds
    further on) makes ``finish`` decide that person again, and a catalog record that comes after
    users were decided, everyone; ``take_revised`` hands out those decisions, to be planned again
    once what was sent for the first one is settled (sync_jobs.plan.Planner.revise).
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
        self.late: set[str] = set()  # persons decided before another record of theirs came
        self.decided: set[str] = set()  # persons whose user was decided (and announced)
        self.catalogs_closed = False  # CLOSED_CATALOGS: decide before the small catalogs' streams end
        self.stale = False  # a catalog record came after users were decided: everyone is decided again
        self.waiting: set[str] = set()  # persons read whose user is not decided yet
        self.ready: list[DesiredUser] = []
        self.revised: list[DesiredUser] = []
        self.group_sets: dict[frozenset[str], frozenset[str]] = {}

    def add(self, stream: str, records: Iterable[Any]) -> None:
        """Records of one stream (``sync_jobs.streams``: what ``keep_*`` kept of them)."""
        if stream == "persons":
            for person in records:
                self.persons[person.ref] = person
                if person.ref in self.decided:
                    self.late.add(person.ref)
                else:
                    self.waiting.add(person.ref)
                    self._decide_if_ready(person.ref)
        elif stream == "employees":
            for employee in records:
                self.employees[employee.ref] = employee
                if (person_ref := self.person_of_employee.get(employee.ref)) is not None:
                    self._changed(person_ref)
        elif stream == "employments":
            for state in records:
                self._drop_employment(state.employee_ref)
                self.by_person[state.person_ref].append(state)
                self.person_of_employee[state.employee_ref] = state.person_ref
                self._changed(state.person_ref, decide=False)
        elif stream == CLOSED_PERSONS:
            for person_ref in records:
                self.closed.add(person_ref)
                self._decide_if_ready(person_ref)
        elif stream == CLOSED_CATALOGS:
            self.catalogs_closed = True
        elif stream == GONE:
            for name, key in records:
                self._gone(name, key)
        else:
            target = self._catalog(stream)
            for record in records:
                if self.decided and target.get(record.ref) != record:
                    self.stale = True  # the users decided so far may have read it before
                target[record.ref] = record

    def _catalog(self, stream: str) -> dict[str, Any]:
        return {"legal_entities": self.entities, "departments": self.departments, "positions": self.positions}[stream]

    def _changed(self, person_ref: str, *, decide: bool = True) -> None:
        """A record of the person came: decided already -> again at the end; else maybe now."""
        if person_ref in self.decided:
            self.late.add(person_ref)
        elif decide:
            self._decide_if_ready(person_ref)

    def _drop_employment(self, employee_ref: str) -> None:
        """Forget the register row of an employee read before (the feed hands out its later state)."""
        if (person_ref := self.person_of_employee.pop(employee_ref, None)) is None:
            return
        self.by_person[person_ref] = [s for s in self.by_person[person_ref] if s.employee_ref != employee_ref]
        self._changed(person_ref, decide=False)

    def _gone(self, stream: str, key: str) -> None:
        """An object handed out before is gone from 1C (``GONE``)."""
        if stream == "persons":
            self.persons.pop(key, None)
            self.waiting.discard(key)
            self._changed(key, decide=False)
        elif stream == "employees":
            self.employees.pop(key, None)
            if (person_ref := self.person_of_employee.get(key)) is not None:
                self._changed(person_ref)
        elif stream == "employments":
            self._drop_employment(key)
        else:
            self._catalog(stream).pop(key, None)
            self.stale = self.stale or bool(self.decided)

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
        for person_ref in sorted(self.decided if self.stale else self.late):
            before = self.desired.users.pop(person_ref, None)
            if person_ref in self.persons:
                self._decide(person_ref, announce=False)
            if (after := self.desired.users.get(person_ref)) is not None and after != before:
                self.revised.append(after)
        self.persons, self.employees, self.by_person, self.person_of_employee = {}, {}, defaultdict(list), {}
        self.closed, self.late, self.decided = set(), set(), set()
        return self.desired

    def take_revised(self) -> list[DesiredUser]:
        """The users ``finish`` decided again differently (their first decision was planned already)."""
        revised, self.revised = self.revised, []
        return revised

    def _decide_if_ready(self, person_ref: str) -> None:
        if person_ref in self.waiting and (SMALL_STREAMS <= self.complete or self.catalogs_closed) \
                and ("employments" in self.complete or person_ref in self.closed) \
                and ("employees" in self.complete
                     or all(s.employee_ref in self.employees for s in self.by_person.get(person_ref, ()))):
            self._decide(person_ref)

    def _decide(self, person_ref: str, *, announce: bool = True) -> None:
        """The person's user (none without an employee card) into ``desired``; ``announce``: and into
        ``ready``, to be planned."""
        self.waiting.discard(person_ref)
        self.closed.discard(person_ref)  # only deciding reads it
        if announce:
            self.decided.add(person_ref)
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
                               self._group_set(p.department.ref for p in placements), True, bool(person.email))
        return DesiredUser(person.ref, title, None, frozenset(), self._leaver_active(states), bool(person.email))

    def _group_set(self, refs: Iterable[str]) -> frozenset[str]:
        """One frozenset per distinct set of groups, shared by the users placed alike (memory: ≈ 200 bytes a
        user at 50,000)."""
        groups = frozenset(refs)
        return self.group_sets.setdefault(groups, groups)

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
CLOSED_CATALOGS = "catalogs.closed"
"""Not a stream: a feed walk's small catalogs are in, as far as it can tell (sync_jobs.streams)."""
GONE = "records.gone"
"""Not a stream: (stream name, key) of records a feed walk handed out and 1C deleted since."""


def build_desired(records: SourceRecords, settings: SyncSettings, today: dt.date) -> DesiredState:
    """The desired state of one whole read of 1C."""
    builder = DesiredStateBuilder(settings, today)
    for stream in ("legal_entities", "departments", "positions", "employments", "employees", "persons"):
        builder.add(stream, getattr(records, stream))
        builder.mark_complete(stream)
    return builder.finish()
