"""Domain model of 1C:ZUP HR data: what the rest of the product sees, free of 1C quirks.

References are lower-case GUID strings (``ref``), empty references and dates are ``None``,
strings are stripped. Personal data (birth date, contacts, СНИЛС, ИНН) is kept out of ``repr``.
The records a sync run holds by the ten thousand (organisations to employments) have ``__slots__``.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


class EmploymentType(enum.Enum):
    """ТекущийВидЗанятости."""

    MAIN = "main"
    EXTERNAL_PART_TIME = "external_part_time"
    INTERNAL_PART_TIME = "internal_part_time"
    SIDE_JOB = "side_job"


@dataclass(frozen=True, slots=True)
class LegalEntity:
    """Организация; КПП comes from its РегистрацияВНалоговомОргане."""

    ref: str
    name: str
    full_name: str
    inn: str
    kpp: str | None
    ogrn: str
    deleted: bool = False


@dataclass(frozen=True, slots=True)
class Department:
    """ПодразделениеОрганизации; ``parent_ref`` is None for a root department."""

    ref: str
    legal_entity_ref: str | None
    parent_ref: str | None
    code: str
    name: str
    disbanded: bool
    deleted: bool = False


@dataclass(frozen=True, slots=True)
class Position:
    """Должность."""

    ref: str
    name: str
    deleted: bool = False


@dataclass(frozen=True, slots=True)
class Person:
    """ФизическоеЛицо (folders of the catalog are not persons and never become one)."""

    ref: str
    last_name: str
    first_name: str
    middle_name: str
    birth_date: dt.date | None = field(repr=False)
    email: str | None = field(repr=False)
    mobile_phone: str | None = field(repr=False)
    snils: str | None = field(repr=False)
    inn: str | None = field(repr=False)
    deleted: bool = False


@dataclass(frozen=True, slots=True)
class Employee:
    """Сотрудник: one employment record of a person in a head organisation."""

    ref: str
    person_ref: str | None
    legal_entity_ref: str | None
    personnel_number: str
    name: str
    archived: bool
    deleted: bool


@dataclass(frozen=True, slots=True)
class EmploymentState:
    """Current HR state of one employee (ТекущиеКадровыеДанныеСотрудников row)."""

    employee_ref: str
    person_ref: str | None
    organization_ref: str | None
    department_ref: str | None
    position_ref: str | None
    hire_date: dt.date | None
    dismissal_date: dt.date | None
    employment_type: EmploymentType | None
    rate: float

    def is_active(self, on_date: dt.date) -> bool:
        """Hired on or before ``on_date`` and not dismissed before it."""
        hired = self.hire_date is not None and self.hire_date <= on_date
        return hired and (self.dismissal_date is None or self.dismissal_date >= on_date)


@dataclass(frozen=True)
class VacationKindBalance:
    """Remaining days of one kind of annual vacation."""

    kind: str
    days: float


@dataclass(frozen=True)
class VacationBalance:
    """Remaining annual vacation of an employee on a date."""

    employee_ref: str
    as_of: dt.date
    days: float
    by_kind: tuple[VacationKindBalance, ...]


@dataclass(frozen=True)
class RequestRef:
    """An employee request document created in 1C; ``kind`` is the request type ("vacation")."""

    kind: str
    ref: str
    number: str


@dataclass(frozen=True)
class PersonDocument:
    """A request document 1C holds for a person (whoever wrote it: this connector or HR), as the
    employee's cabinet lists it; ``kind`` is the request type ("vacation")."""

    kind: str
    ref: str
    number: str
    date: dt.date | None
    status: str  # onec.targets.request_state
    comment: str  # what HR wrote


@dataclass(frozen=True)
class RequestStatus:
    """Approval state of a request document as HR sees it in 1C."""

    ref: str
    number: str
    status: str
    comment: str


@dataclass(frozen=True)
class RequestDocument:
    """A file produced for a request (e.g. a 2-НДФЛ certificate)."""

    name: str
    mime: str
    content: bytes = field(repr=False)


Record = LegalEntity | Department | Position | Person | Employee | EmploymentState


@dataclass(frozen=True)
class EmployeeRequest:
    """What an employee asked for in Bitrix24, for the ZUP object HR expects it to become (onec.targets).

    ``values`` are the request's own data by name (``date_from``, ``date_to``, ``reason``, ...; see
    the builders in onec.targets); ``link`` is the request's Bitrix24 URL, the key that makes a
    resend find the document already written instead of creating a second.
    """

    kind: str
    person_ref: str
    employee_ref: str
    organization_ref: str | None
    link: str
    values: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class TimesheetRow:
    """Hours one employee worked on each day of the month (days without work are left out)."""

    employee_ref: str
    hours: Mapping[dt.date, float]


@dataclass(frozen=True)
class Timesheet:
    """One version of a department's monthly timesheet (Document.ТабельУчетаРабочегоВремени).

    ``key`` identifies this version: pushing the same key again finds the document written
    before. ``time_kind_ref`` is the Catalog_ВидыИспользованияРабочегоВремени item of the hours
    (its predefined «Явка» for ordinary work).
    """

    key: str
    organization_ref: str
    department_ref: str
    month: dt.date
    time_kind_ref: str
    rows: tuple[TimesheetRow, ...]
