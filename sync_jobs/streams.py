"""Streams of 1C records in dependency order, each with a name, a key and a bookmark.

A stream reads every record of one kind from the ``ZupSource`` (OData or SOAP alike). Its
bookmark is ``{key: short hash}`` of what it saw in the last successful run: the next run
reports how many records changed per stream, and the bookmark is only promoted after the run
succeeded (singer's progress-marker rule, aesthetics §7 rule 13).
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from onec.changes import object_hash
from onec.source import ZupSource

Bookmark = dict[str, str]


@dataclass(frozen=True)
class Stream:
    """One kind of 1C record: ``read(source)`` yields them, ``key`` names the primary key field."""

    name: str
    key: str
    read: Callable[[ZupSource], Iterable[Any]]

    def records(self, source: ZupSource) -> list[Any]:
        return list(self.read(source))

    def bookmark(self, records: Iterable[Any]) -> Bookmark:
        return {str(getattr(record, self.key)): object_hash(record) for record in records}

    @staticmethod
    def changed(records_bookmark: Mapping[str, str], previous: Mapping[str, str]) -> int:
        """Records added, changed or gone since ``previous``."""
        changed = sum(1 for key, digest in records_bookmark.items() if previous.get(key) != digest)
        return changed + sum(1 for key in previous if key not in records_bookmark)


LegalEntityStream = Stream("legal_entities", "ref", lambda source: source.legal_entities())
DepartmentStream = Stream("departments", "ref", lambda source: source.departments())
PositionStream = Stream("positions", "ref", lambda source: source.positions())
PersonStream = Stream("persons", "ref", lambda source: source.persons())
EmployeeStream = Stream("employees", "ref", lambda source: source.employees())
EmploymentStream = Stream("employments", "employee_ref", lambda source: source.employments())

STREAMS = (LegalEntityStream, DepartmentStream, PositionStream, PersonStream, EmployeeStream, EmploymentStream)
"""Dependency order: legal entities -> departments -> (positions, persons) -> employees -> employments."""


def read_all(source: ZupSource, streams: Iterable[Stream] = STREAMS) -> Iterator[tuple[Stream, list[Any]]]:
    """Each stream's records, in order; any 1C error propagates (the run must not plan on a partial read)."""
    for stream in streams:
        yield stream, stream.records(source)
