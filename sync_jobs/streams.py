"""Streams of 1C records in dependency order, each with a name, a key and a bookmark.

A stream reads every record of one kind from the ``ZupSource`` (OData or SOAP alike). Its
bookmark is ``{key digest: record digest}`` (64-bit integers: compact, and no 1C data in clear)
of what it saw in the last successful run: the next run reports how many records changed per
stream, and the bookmark is only promoted after the run succeeded (singer's progress-marker rule,
aesthetics §7 rule 13).
"""
from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from onec.source import ZupSource

Bookmark = dict[int, int]
READERS = 2  # streams read at once: the 1C server works while we parse


def digest(text: str) -> int:
    """A 64-bit blake2b digest as an unsigned integer."""
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest(), "little")


def record_digest(record: Any) -> int:
    """Digest of every field of a flat domain dataclass (its repr hides personal data, so not repr)."""
    return digest(repr(tuple(getattr(record, f.name) for f in dataclasses.fields(record))))


@dataclass(frozen=True)
class Stream:
    """One kind of 1C record: ``read(source)`` yields them, ``key`` names the primary key field."""

    name: str
    key: str
    read: Callable[[ZupSource], Iterable[Any]]

    def records(self, source: ZupSource) -> list[Any]:
        return list(self.read(source))

    def bookmark(self, records: Iterable[Any]) -> Bookmark:
        return {digest(str(getattr(record, self.key))): record_digest(record) for record in records}

    @staticmethod
    def changed(records_bookmark: Mapping[int, int], previous: Mapping[int, int]) -> int:
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


def read_stream(open_source: Callable[[], ZupSource], stream: Stream) -> tuple[list[Any], Bookmark]:
    """One stream's records and bookmark, over a source of its own (sources are not shared by threads)."""
    source = open_source()
    try:
        records = stream.records(source)
    finally:
        source.close()
    return records, stream.bookmark(records)


def read_streams(open_source: Callable[[], ZupSource], streams: Iterable[Stream] = STREAMS,
                 workers: int = READERS) -> dict[str, tuple[list[Any], Bookmark]]:
    """Every stream fully, ``workers`` at a time (1C answers while we parse); the first error propagates
    after the other readers stopped (the run must not plan on a partial read)."""
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="zup-read") as pool:
        futures = {stream.name: pool.submit(read_stream, open_source, stream) for stream in streams}
        try:
            return {name: future.result() for name, future in futures.items()}
        finally:
            for future in futures.values():
                future.cancel()
