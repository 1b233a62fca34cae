"""The one domain interface to 1C:ZUP that the sync and the business processes use.

``ODataSource`` (onec.odata_source) and ``SoapSource`` (onec.soap) implement it; build one
with ``onec.factory.build_source(config)``.

Full reads are generators that stream page by page: a read is complete only when the iterator
is exhausted without an exception. A failure mid-read (HTTP 500, timeout after retries, rows
that cannot be reconciled) raises a ``OneCError``; the records yielded before it are not a
result and must not be treated as one (e.g. never derive deletions from them).
``changes`` either returns a whole ``ChangeSet`` or raises.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from onec.errors import OneCError
from onec.vacation_schedule import ApprovedSchedule
from onec.models import (
    Department,
    Employee,
    EmploymentState,
    LegalEntity,
    Person,
    PersonDocument,
    Position,
    Record,
    EmployeeRequest,
    RequestDocument,
    RequestRef,
    Timesheet,
    RequestStatus,
    VacationBalance,
)

KINDS = ("legal_entities", "departments", "positions", "persons", "employees", "employments")
"""Kinds of records in a ChangeSet; the key of an employment is its ``employee_ref``."""

SourcePosition = dict[str, Any]
"""Opaque, JSON-serialisable position of a change feed; ``{}`` means "from scratch"."""


@dataclass(frozen=True)
class ChangeSet:
    """Changes since a bookmark.

    ``complete`` is False when the source holds more changes than one call returns: apply
    this set, persist ``bookmark`` and call ``changes(bookmark)`` again.
    """

    bookmark: SourcePosition
    upserts: Mapping[str, tuple[Record, ...]] = field(default_factory=dict)
    deletions: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    complete: bool = True

    def count(self) -> int:
        """Upserts plus deletions over all kinds."""
        return sum(map(len, self.upserts.values())) + sum(map(len, self.deletions.values()))


FeedItem = tuple[str, str, "Record | None"]
"""(kind of KINDS, ref, the object's current record; None once deleted) of one change-feed item."""


@runtime_checkable
class FeedWalk(Protocol):
    """A source whose full read is one walk of a change feed (every kind at once, in the feed's order)."""

    def walk(self) -> Iterator[list[FeedItem]]:
        """The whole feed from its start, a package of items at a time as 1C answers; ``read_position()``
        is the end of the walk once it is exhausted. An object changed during the walk comes again later
        (its latest state); one deleted since it came comes again as None."""


class ZupSource(Protocol):
    """HR master data and employee requests of one 1C:ZUP infobase."""

    concurrent_reads: int
    """How many kinds are worth reading at once, each through a source of its own (1: every kind
    comes from the same walk of a change feed, which one source does once)."""

    employments_by_person: bool
    """True when a full read of ``employments`` hands out each person's rows one after another (ordered
    by person): a person's employments are all known once a row of another person follows them."""

    has_change_feed: bool
    """True when ``changes()`` costs a fraction of a full read, so an incremental sync reads only the
    changes and applies them to the records the last run kept: the B24Sync feed 1C keeps, or, over
    the standard OData interface, scans of keys with ``DataVersion`` or row hashes and the changed
    objects fetched by key (onec.changes; bench/README.md)."""

    position_from_read: bool
    """True when a full read notes the position of what it returned (``read_position``: OData's
    versions of the rows read); False when ``snapshot()`` is taken before the read (the feed)."""

    def required_sets(self) -> list[str]: ...

    def check(self) -> dict[str, OneCError | None]: ...

    def legal_entities(self) -> Iterator[LegalEntity]: ...

    def departments(self) -> Iterator[Department]: ...

    def positions(self) -> Iterator[Position]: ...

    def persons(self) -> Iterator[Person]: ...

    def employees(self) -> Iterator[Employee]: ...

    def employments(self) -> Iterator[EmploymentState]: ...

    def snapshot(self) -> SourcePosition: ...

    def read_position(self) -> SourcePosition | None:
        """With ``position_from_read``: the position of what this source's full reads returned so far."""

    def changes(self, bookmark: SourcePosition, *, acknowledge: bool = True) -> ChangeSet:
        """Changes after ``bookmark``; ``acknowledge``: the caller has persisted ``bookmark``, so a
        feed may forget what came before it (False for the second and later package of one run)."""

    def employments_of(self, person_ref: str) -> list[EmploymentState]:
        """The current HR state of every employee of one person, read from 1C now (one request, not a
        full read)."""

    def documents_of(self, person_ref: str, employee_refs: Sequence[str], limit: int = 20) -> list[PersonDocument]:
        """The newest request documents 1C holds for the person (naming them or one of their employees),
        of every request kind, newest first."""

    def vacation_balance(self, employee_ref: str, on_date: dt.date) -> VacationBalance: ...

    def write_document(self, kind: str, entity_set: str, fields: Mapping[str, Any], key: str) -> RequestRef:
        """An unposted document with the given real attributes; the unmarked one whose Комментарий
        already holds ``key`` is returned instead of writing a second (resending is safe)."""

    def submit_request(self, request: EmployeeRequest) -> RequestRef:
        """The request written as the ZUP object HR expects (onec.targets), keyed by its link."""

    def push_timesheet(self, timesheet: Timesheet) -> RequestRef:
        """The month's Document.ТабельУчетаРабочегоВремени, once per ``timesheet.key``."""

    def submit_vacation_schedule(self, schedule: ApprovedSchedule, department_name: str = "") -> RequestRef:
        """The department's approved schedule as Document.ГрафикОтпусков, once per ``schedule.key``."""

    def request_status(self, request: RequestRef) -> RequestStatus: ...

    def request_document(self, request: RequestRef) -> RequestDocument: ...

    def close(self) -> None: ...
