"""Streams of 1C records in dependency order, each with a name, a key and a bookmark.

A stream reads every record of one kind from the ``ZupSource`` (OData or SOAP alike), or applies
the source's changes to what the last run kept (``sync_jobs.replica``), and keeps only what the
desired state needs of a record (``keep``: memory). Its bookmark is the pairs (key digest, record
digest) of the kept records (64-bit integers in an ``array``: 16 bytes a record, and no 1C data in
clear) of what it saw in the last successful run: the next run reports how many records changed
per stream, and the bookmark is only promoted after the run succeeded (singer's progress-marker
rule).
"""
from __future__ import annotations

import dataclasses
import hashlib
import queue
from array import array
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from onec.models import Department, Employee, EmploymentState, LegalEntity, Person, Position
from onec.source import ChangeSet, FeedWalk, SourcePosition, ZupSource

from sync_jobs.desired import (CLOSED_CATALOGS, CLOSED_PERSONS, GONE, EmployeeNumber, keep_employee,
                               keep_employment, keep_person)

CHUNK = 1000  # records a reader hands over at a time
Bookmark = array  # of "Q": key digest, record digest, key digest, record digest, ...


def digest(text: str) -> int:
    """A 64-bit blake2b digest as an unsigned integer."""
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest(), "little")


def record_digest(record: Any) -> int:
    """Digest of every field of a flat domain dataclass (its repr hides personal data, so not repr)."""
    return digest(repr(tuple(getattr(record, f.name) for f in dataclasses.fields(record))))


def _keep_all(record: Any) -> Any:
    return record


@dataclass(frozen=True)
class Stream:
    """One kind of 1C record: ``read(source)`` yields them, ``key`` names the primary key field,
    ``keep(record)`` is what the run holds of a record (None: nothing), an instance of ``kept_type``."""

    name: str
    key: str
    kept_type: type
    read: Callable[[ZupSource], Iterable[Any]]
    keep: Callable[[Any], Any] = _keep_all

    def collect(self, source: ZupSource) -> list[Any]:
        """The kept records of a full read (the full records never pile up)."""
        return [slim for chunk in self.chunks(source) for slim in chunk]

    def chunks(self, source: ZupSource, size: int | None = None) -> Iterator[list[Any]]:
        """The kept records of a full read, ``size`` (CHUNK) at a time as they arrive."""
        size = size or CHUNK
        chunk: list[Any] = []
        for record in self.read(source):
            if (slim := self.keep(record)) is not None:
                chunk.append(slim)
                if len(chunk) >= size:
                    yield chunk
                    chunk = []
        if chunk:
            yield chunk

    def apply(self, kept: dict[str, Any], changes: ChangeSet) -> None:
        """Apply this stream's part of ``changes`` to the kept records by key."""
        for record in changes.upserts.get(self.name, ()):
            key = getattr(record, self.key)
            if (slim := self.keep(record)) is None:
                kept.pop(key, None)
            else:
                kept[key] = slim
        for key in changes.deletions.get(self.name, ()):
            kept.pop(key, None)

    def bookmark(self, kept: Iterable[Any]) -> Bookmark:
        pairs = array("Q")
        for record in kept:
            pairs.extend((digest(str(getattr(record, self.key))), record_digest(record)))
        return pairs

    @staticmethod
    def changed(current: Bookmark, previous: Bookmark) -> int:
        """Records added, changed or gone since ``previous``: |current| + |previous| - 2·same - differing."""
        now = dict(zip(current[::2], current[1::2]))
        same = differing = 0
        for key, record in zip(previous[::2], previous[1::2]):
            if key in now:
                same, differing = (same + 1, differing) if now[key] == record else (same, differing + 1)
        return len(now) + len(previous) // 2 - 2 * same - differing


LegalEntityStream = Stream("legal_entities", "ref", LegalEntity, lambda source: source.legal_entities())
DepartmentStream = Stream("departments", "ref", Department, lambda source: source.departments())
PositionStream = Stream("positions", "ref", Position, lambda source: source.positions())
PersonStream = Stream("persons", "ref", Person, lambda source: source.persons(), keep_person)
EmployeeStream = Stream("employees", "ref", EmployeeNumber, lambda source: source.employees(), keep_employee)
EmploymentStream = Stream("employments", "employee_ref", EmploymentState, lambda source: source.employments(),
                          keep_employment)

STREAMS = (LegalEntityStream, DepartmentStream, PositionStream, PersonStream, EmployeeStream, EmploymentStream)
"""Dependency order: legal entities -> departments -> (positions, persons) -> employees -> employments."""

READ_ORDER = (LegalEntityStream, DepartmentStream, PositionStream, EmploymentStream, EmployeeStream, PersonStream)
"""The order a full read asks for the streams: a person's user can be decided once the small catalogs, the
person, their register rows and their employee cards are in (sync_jobs.desired.DesiredStateBuilder). With
three readers (OData) the register and the cards, both read in person order, and the persons arrive side by
side, so users are decided from the first pages on."""

Deliver = Callable[[str, "list[Any] | None"], None]
"""Called from a reader thread with (stream name, kept records), and (stream name, None) at its end; with
(CLOSED_PERSONS, person refs) after a chunk of a read grouped by person; from a feed walk, also with
(CLOSED_CATALOGS, []) and (GONE, [(stream name, key)]) (sync_jobs.desired)."""


class PersonGroups:
    """Follows a read grouped by person (a register read with ``ZupSource.employments_by_person``, or a walk
    of a feed that holds each person's items together): a person's records are all in once another
    person's follow; delivered as ``CLOSED_PERSONS`` after each chunk, so that their users are decided
    before the whole read is in (sync_jobs.desired.DesiredStateBuilder)."""

    def __init__(self) -> None:
        self.open: str | None = None  # the person of the last record: more of their records may follow

    def closed_by(self, persons: Iterable[str]) -> list[str]:
        """The persons whose records the next records of the read (naming ``persons`` in order) complete."""
        closed: list[str] = []
        for person in persons:
            if person != self.open:
                if self.open is not None:
                    closed.append(self.open)
                self.open = person
        return closed


class Collected:
    """The kept records per stream as a read delivers them (a ``Deliver``); what a feed walk announces
    ``GONE`` is taken back from what came before it."""

    def __init__(self, streams: Iterable[Stream] = STREAMS) -> None:
        self.keys = {stream.name: stream.key for stream in streams}
        self.records: dict[str, list[Any]] = {name: [] for name in self.keys}
        self.gone: list[tuple[str, Any, int]] = []  # (stream, key, records of the stream before it)

    def __call__(self, name: str, chunk: list[Any] | None) -> None:
        if chunk is None:
            return
        if name in self.records:
            self.records[name].extend(chunk)
        elif name == GONE:
            self.gone.extend((stream, key, len(self.records[stream])) for stream, key in chunk
                             if stream in self.records)

    def result(self) -> dict[str, list[Any]]:
        """Every stream's records, without those gone after them; the collection is let go (memory)."""
        records, self.records = self.records, {name: [] for name in self.keys}
        for name in dict.fromkeys(stream for stream, _, _ in self.gone):
            before = {key: count for stream, key, count in self.gone if stream == name}
            records[name] = [record for index, record in enumerate(records[name])
                             if index >= before.get(getattr(record, self.keys[name]), 0)]
        self.gone = []
        return records


def read_streams(source: ZupSource, open_source: Callable[[], ZupSource],
                 streams: Iterable[Stream] = STREAMS) -> dict[str, list[Any]]:
    """Every stream fully (see ``deliver_streams``): stream name -> kept records."""
    streams = tuple(streams)
    collected = Collected(streams)
    deliver_streams(source, open_source, collected, streams)
    return collected.result()


def deliver_streams(source: ZupSource, open_source: Callable[[], ZupSource], deliver: Deliver,
                    streams: Iterable[Stream] = READ_ORDER) -> SourcePosition | None:
    """Every stream fully, handed to ``deliver`` chunk by chunk from the reader threads: through
    ``source`` and, when it is worth more readers at once (``concurrent_reads``), through sources
    opened for this read (sources are not shared by threads). The first error propagates after the
    other readers stopped (the run must not plan on a partial read). Returns the readers' positions of
    what they read, merged (``ZupSource.read_position``), when the source notes them."""
    if isinstance(source, FeedWalk):
        _deliver_walk(source, deliver, streams)
        return source.read_position()
    extra: list[ZupSource] = []
    try:
        for _ in range(source.concurrent_reads - 1):
            extra.append(open_source())
        sources: queue.SimpleQueue[ZupSource] = queue.SimpleQueue()
        for reader in (source, *extra):
            sources.put(reader)
        with ThreadPoolExecutor(max_workers=1 + len(extra), thread_name_prefix="zup-read") as pool:
            futures = [pool.submit(_deliver_with, sources, stream, deliver) for stream in streams]
            try:
                for future in futures:
                    future.result()
            finally:
                for future in futures:
                    future.cancel()
        return _merged([reader.read_position() for reader in (source, *extra)]) if source.position_from_read else None
    finally:
        for reader in extra:
            reader.close()


def _merged(positions: list[SourcePosition | None]) -> SourcePosition:
    """Positions of readers that read different kinds: {source: {kind: versions}} merged by kind."""
    merged: SourcePosition = {}
    for position in positions:
        for name, kinds in (position or {}).items():
            merged.setdefault(name, {}).update(kinds)
    return merged


def _deliver_with(sources: queue.SimpleQueue[ZupSource], stream: Stream, deliver: Deliver) -> None:
    """``stream`` read through a free source (there is one per reader thread)."""
    source = sources.get()
    groups = PersonGroups() if stream is EmploymentStream and source.employments_by_person else None
    try:
        for chunk in stream.chunks(source):
            deliver(stream.name, chunk)
            if groups is not None:
                deliver(CLOSED_PERSONS, groups.closed_by(state.person_ref for state in chunk))
        deliver(stream.name, None)
    finally:
        sources.put(source)


def _person_of(record: Any) -> str | None:
    """The person a feed item belongs to (None: a catalog item of no person)."""
    if isinstance(record, Person):
        return record.ref
    return record.person_ref if isinstance(record, (Employee, EmploymentState)) else None


def _deliver_walk(source: FeedWalk, deliver: Deliver, streams: Iterable[Stream]) -> None:
    """Every stream from one walk of a change feed, a package at a time as 1C answers: the kept records
    per stream; an object the walk had handed out and 1C changed (it comes again) or deleted since, as
    ``GONE`` before its new state; ``CLOSED_CATALOGS`` once the first employee's item follows the small
    catalogs, and the persons whose items are together in the feed as ``CLOSED_PERSONS`` (``PersonGroups``). Both are the walk's
    best guess: a record that comes after them (the feed holds each object once, at its latest change)
    makes the desired state decide its persons again once the walk ended (DesiredStateBuilder)."""
    by_name = {stream.name: stream for stream in streams}
    handed: dict[str, set[str]] = {name: set() for name in by_name}
    groups = PersonGroups()
    catalogs_closed = False
    for items in source.walk():
        chunks: dict[str, list[Any]] = {name: [] for name in by_name}
        gone: list[tuple[str, str]] = []
        persons: list[str] = []
        for kind, ref, record in items:
            stream = by_name.get(kind)
            if stream is None:
                continue
            if ref in handed[kind]:
                handed[kind].discard(ref)
                gone.append((kind, ref))
            if record is None or (kept := stream.keep(record)) is None:
                continue
            handed[kind].add(ref)
            chunks[kind].append(kept)
            if (person := _person_of(record)) is not None:
                persons.append(person)
        if gone:
            deliver(GONE, gone)
        for name, chunk in chunks.items():
            if chunk:
                deliver(name, chunk)
        if not catalogs_closed and (chunks.get("employees") or chunks.get("employments")):
            catalogs_closed = True
            deliver(CLOSED_CATALOGS, [])
        if closed := groups.closed_by(persons):
            deliver(CLOSED_PERSONS, closed)
    for name in by_name:
        deliver(name, None)


def read_changes(source: ZupSource, stored: Callable[[], dict[str, dict[str, Any]] | None], feed: SourcePosition,
                 streams: Iterable[Stream] = STREAMS, *, acknowledge: bool = True,
                 before_apply: Callable[[ChangeSet], None] = lambda changes: None,
                 ) -> tuple[dict[str, dict[str, Any]], SourcePosition] | None:
    """Apply every change after ``feed`` to the kept records (stream -> key -> record) ``stored()`` gives
    once the first package arrived (it may load them meanwhile); those records and the new position,
    None when ``stored()`` has none. ``before_apply`` sees each package of changes before it is applied.

    Only the stored position is acknowledged (and only with ``acknowledge``): the later packages of
    this run are not persisted yet, and a feed that forgot them would lose them if the run failed.
    """
    streams = tuple(streams)
    kept: dict[str, dict[str, Any]] | None = None
    while True:
        changes = source.changes(feed, acknowledge=acknowledge)
        kept = stored() if kept is None else kept
        if kept is None:
            return None
        before_apply(changes)
        for stream in streams:
            stream.apply(kept[stream.name], changes)
        feed, acknowledge = changes.bookmark, False
        if changes.complete:
            return kept, feed
