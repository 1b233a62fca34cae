"""Streams of 1C records in dependency order, each with a name, a key and a bookmark.

A stream reads every record of one kind from the ``ZupSource`` (OData or SOAP alike) and keeps
only what the desired state needs of it (``keep``: memory). Its bookmark is the pairs (key digest,
record digest) of the full records (64-bit integers in an ``array``: 16 bytes a record, and no 1C
data in clear) of what it saw in the last successful run: the next run reports how many records
changed per stream, and the bookmark is only promoted after the run succeeded (singer's
progress-marker rule, aesthetics §7 rule 13).
"""
from __future__ import annotations

import dataclasses
import hashlib
import queue
from array import array
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from onec.source import ZupSource

from sync_jobs.desired import keep_employee, keep_employment, keep_person

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
    ``keep(record)`` is what the run holds of a record (None: nothing)."""

    name: str
    key: str
    read: Callable[[ZupSource], Iterable[Any]]
    keep: Callable[[Any], Any] = _keep_all

    def collect(self, source: ZupSource) -> tuple[list[Any], Bookmark]:
        """The kept records and the bookmark of the full ones, in one pass (the full records never pile up)."""
        kept: list[Any] = []
        bookmark = array("Q")
        for record in self.read(source):
            bookmark.extend((digest(str(getattr(record, self.key))), record_digest(record)))
            if (slim := self.keep(record)) is not None:
                kept.append(slim)
        return kept, bookmark

    @staticmethod
    def changed(current: Bookmark, previous: Bookmark) -> int:
        """Records added, changed or gone since ``previous``: |current| + |previous| - 2·same - differing."""
        now = dict(zip(current[::2], current[1::2]))
        same = differing = 0
        for key, record in zip(previous[::2], previous[1::2]):
            if key in now:
                same, differing = (same + 1, differing) if now[key] == record else (same, differing + 1)
        return len(now) + len(previous) // 2 - 2 * same - differing


LegalEntityStream = Stream("legal_entities", "ref", lambda source: source.legal_entities())
DepartmentStream = Stream("departments", "ref", lambda source: source.departments())
PositionStream = Stream("positions", "ref", lambda source: source.positions())
PersonStream = Stream("persons", "ref", lambda source: source.persons(), keep_person)
EmployeeStream = Stream("employees", "ref", lambda source: source.employees(), keep_employee)
EmploymentStream = Stream("employments", "employee_ref", lambda source: source.employments(), keep_employment)

STREAMS = (LegalEntityStream, DepartmentStream, PositionStream, PersonStream, EmployeeStream, EmploymentStream)
"""Dependency order: legal entities -> departments -> (positions, persons) -> employees -> employments."""


def read_streams(open_source: Callable[[], ZupSource],
                 streams: Iterable[Stream] = STREAMS) -> dict[str, tuple[list[Any], Bookmark]]:
    """Every stream fully, as many at once as the source is worth (``concurrent_reads``), each reader
    with a source of its own (sources are not shared by threads); the first error propagates after
    the other readers stopped (the run must not plan on a partial read)."""
    sources: queue.SimpleQueue[ZupSource] = queue.SimpleQueue()
    opened = [open_source()]
    try:
        opened += [open_source() for _ in range(opened[0].concurrent_reads - 1)]
        for source in opened:
            sources.put(source)
        with ThreadPoolExecutor(max_workers=len(opened), thread_name_prefix="zup-read") as pool:
            futures = {stream.name: pool.submit(_collect_with, sources, stream) for stream in streams}
            try:
                return {name: future.result() for name, future in futures.items()}
            finally:
                for future in futures.values():
                    future.cancel()
    finally:
        for source in opened:
            source.close()


def _collect_with(sources: queue.SimpleQueue[ZupSource], stream: Stream) -> tuple[list[Any], Bookmark]:
    """``stream`` read through a free source (there is one per reader thread)."""
    source = sources.get()
    try:
        return stream.collect(source)
    finally:
        sources.put(source)
