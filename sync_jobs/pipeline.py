"""The run as a pipeline: 1C is read in the background while what is already decided is written.

``BackgroundRead`` reads 1C in a thread of its own (``sync_jobs.streams.deliver_streams``: the
reader threads hand over chunks of kept records) onto a bounded queue. ``DecidedFeed`` takes the
chunks in the writing thread, grows the desired state (``DesiredStateBuilder``: a person's user is
decided as soon as everything it depends on has arrived) and plans each decided user at once
(``Planner``): creates, updates and membership adds go out while employees are still being read
(``sync_jobs.execute.PlanWriter.run_pipelined``). Membership removals and deactivations are only
planned by ``Planner.finish`` once the whole read succeeded; a read that fails leaves them unplanned
and nothing of the read is stored.

An incremental run that applied 1C's changes to the last run's records delivers only the records of
the people those changes concern (``sync_jobs.scope``): only they are decided, planned, and weighed
for deactivation and membership removal; the replica still gets every record.
"""
from __future__ import annotations

import contextvars
import logging
import queue
import threading
import datetime as dt
from concurrent.futures import Future
from array import array
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, TypeVar

from flask import Flask

from b24app.db import Database
from onec.errors import OneCError, OneCFeedPositionUnknown
from onec.source import SourcePosition, ZupSource

from sync_jobs import store as runs
from sync_jobs.connections import open_source, source_identity
from sync_jobs.desired import DesiredState, DesiredStateBuilder, DesiredUser
from sync_jobs.errors import SourceReadFailed
from sync_jobs.plan import Planner, SyncPlan
from sync_jobs.replica import RecordCodec, ReplicaStore, encode_feed, part_name
from sync_jobs.scope import ChangedKeys, decision_basis
from sync_jobs.settings import SyncSettings
from sync_jobs.store import DirectoryRows
from sync_jobs.streams import STREAMS, Bookmark, Collected, Deliver, Stream, deliver_streams, read_changes

log = logging.getLogger(__name__)

CODECS = {stream.name: RecordCodec(stream.kept_type) for stream in STREAMS}
QUEUE_CHUNKS = 64  # chunks of records the reader may be ahead of the writer (memory)
READ_FAILED = ("Чтение 1С не удалось ({kind}): {error}. Отключений и исключений из групп не было; "
               "уже отправленные приглашения и изменения сверяются при следующем запуске.")


@dataclass
class SourceRead:
    """What a run knows of 1C, and what it stores once it succeeded."""

    records: dict[str, list[Any]]  # stream name -> kept records
    feed: SourcePosition | None  # the change-feed position of those records (or older); None: no feed
    source: str  # which 1C they come from (sync_jobs.connections.source_identity)
    via_feed: bool  # True: the last run's records plus 1C's changes; False: a full read

    @cached_property
    def bookmarks(self) -> dict[str, Bookmark]:
        return {stream.name: stream.bookmark(self.records[stream.name]) for stream in STREAMS}

    def prepare(self) -> SourceRead:
        """Compute the bookmarks and the replica now; the feed position, then each stream's records, are
        let go as soon as they are encoded (memory: the encoded replica takes their place instead of
        joining them at the run's peak; the position's tables go first, back to the system)."""
        self.bookmarks  # noqa: B018  (cached property)
        self.replica = self._encoded(release=True)
        return self

    @cached_property
    def replica(self) -> dict[str, bytes]:
        """The kept records per stream and the feed position, encoded (sync_jobs.replica); nothing without
        a feed."""
        return self._encoded(release=False)

    def _encoded(self, *, release: bool) -> dict[str, bytes]:
        feed, records = self.feed, self.records
        if release:
            self.feed, self.records = None, {}
        if feed is None:
            return {}
        encoded = encode_feed(feed, self.source)
        del feed
        for name in list(records):
            items = records.pop(name) if release else records[name]
            encoded.update((part_name(name, index), part)
                           for index, part in enumerate(CODECS[name].encode_parts(items)))
            del items
        return encoded


@dataclass(frozen=True)
class ReadOutcome:
    """How a read ended: the change-feed position of its records (None: no feed), whether it applied
    the feed to the last run's records, and, when it delivered only some people's records, which
    people (``people``) and every kept record (``records``, for the replica)."""

    feed: SourcePosition | None
    via_feed: bool
    people: frozenset[str] | None = None
    records: dict[str, list[Any]] | None = None


def read_into(app: Flask, settings: SyncSettings, replicas: ReplicaStore, deliver: Deliver, *, full: bool,
              acknowledge: bool = True, narrow: bool = False) -> ReadOutcome:
    """Hand every stream's kept records to ``deliver``.

    A full read; or, in an incremental run from a source with a change feed, the feed applied to the
    last run's records (a full read when there are none, or when 1C no longer knows their position);
    with ``narrow``, only the records of the people the changes concern (``sync_jobs.scope``) are
    delivered. ``acknowledge=False`` leaves 1C untouched (a preview). Any 1C failure becomes
    SourceReadFailed."""
    origin = source_identity(app, settings)
    try:
        with closing(open_source(app, settings)) as source:
            incremental = source.has_change_feed and not full
            applied = _feed_applied(source, replicas, origin, acknowledge, settings if narrow else None) \
                if incremental else None
            if applied is not None:
                records, feed, people = applied
                for name, items in (records if people is None else _of_people(records, people)).items():
                    deliver(name, items)
                    deliver(name, None)
                return ReadOutcome(feed, True, people, None if people is None else records)
            # the feed's position before the read (no change missed), or the versions of what it read
            feed = source.snapshot() if source.has_change_feed and not source.position_from_read else None
            position = deliver_streams(source, lambda: open_source(app, settings), deliver)
            return ReadOutcome(position if source.has_change_feed and feed is None else feed, False)
    except OneCError as error:
        raise SourceReadFailed(READ_FAILED.format(kind=type(error).__name__, error=error)) from error


def read_source(app: Flask, settings: SyncSettings, replicas: ReplicaStore, *, full: bool,
                acknowledge: bool = True) -> SourceRead:
    """The whole read at once (``read_into``)."""
    collected = Collected()
    outcome = read_into(app, settings, replicas, collected, full=full, acknowledge=acknowledge)
    return SourceRead(collected.result(), outcome.feed, source_identity(app, settings), outcome.via_feed)


KEYS = {stream.name: stream.key for stream in STREAMS}


def _feed_applied(source: ZupSource, replicas: ReplicaStore, origin: str, acknowledge: bool,
                  settings: SyncSettings | None) -> tuple[dict[str, list[Any]], SourcePosition,
                                                          frozenset[str] | None] | None:
    """The last run's records with 1C's changes applied, the new feed position, and the people to decide
    (None: all; always all without ``settings``); None when nothing usable is stored or 1C no longer
    knows the stored position (a full read follows)."""
    stored = replicas.feed(origin)
    if stored is None:
        return None
    decoded = _in_thread(_stored_records, replicas)  # while 1C is scanned for the changes
    changed = ChangedKeys()
    try:
        applied = read_changes(source, decoded.result, stored, acknowledge=acknowledge,
                               before_apply=lambda changes: changed.note(KEYS, decoded.result(), changes))
    except OneCFeedPositionUnknown as error:
        log.warning("%s", error)
        return None
    finally:
        decoded.exception()  # the decoding thread ended either way
    if applied is None:
        return None
    kept, feed = applied
    mapped = runs.mapped_count(replicas.db, replicas.portal, "user")
    people = None if settings is None else _people_to_decide(changed, kept, replicas.basis(),
                                                             decision_basis(settings, mapped), settings)
    log.info("incremental read: %s of %d people to decide", "all" if people is None else len(people),
             len(kept["persons"]))
    return {name: list(by_key.values()) for name, by_key in kept.items()}, feed, people


def _people_to_decide(changed: ChangedKeys, kept: dict[str, dict[str, Any]], stored: dict[str, Any] | None,
                      now: dict[str, Any], settings: SyncSettings) -> frozenset[str] | None:
    """The people the changes concern; None (everyone) unless the last run decided on the same settings
    and mapping (``now``: ``decision_basis``) on this day or before."""
    if stored is None or any(stored.get(name) != now[name] for name in ("settings", "mapped_users")):
        return None
    try:
        since = dt.date.fromisoformat(stored.get("as_of", ""))
    except ValueError:
        return None
    today = settings.as_of()
    if since > today:
        return None
    return changed.people(kept, since, today, settings.grace_days) | frozenset(map(str, stored.get("retry", ())))


def _of_people(records: dict[str, list[Any]], people: frozenset[str]) -> dict[str, list[Any]]:
    """The records of ``people`` (their person, register rows and cards) beside every small catalog."""
    employments = [row for row in records["employments"] if row.person_ref in people]
    cards = {row.employee_ref for row in employments}
    return {**records, "persons": [person for person in records["persons"] if person.ref in people],
            "employees": [card for card in records["employees"] if card.ref in cards], "employments": employments}


def _stored_records(replicas: ReplicaStore) -> dict[str, dict[str, Any]] | None:
    """Stream -> key -> kept record of the last successful run; None when a stream is missing."""
    kept: dict[str, dict[str, Any]] = {}
    for stream in STREAMS:
        records = replicas.records(stream.name, CODECS[stream.name])
        if records is None:
            return None
        kept[stream.name] = {getattr(record, stream.key): record for record in records}
    return kept


def changed_since_last_run(db: Database, portal: str, bookmarks: dict[str, Bookmark]) -> dict[str, int]:
    """Records changed per stream since the last successful run."""
    previous = runs.load_bookmarks(db, portal)
    return {name: Stream.changed(bookmark, previous.get(name, array("Q"))) for name, bookmark in bookmarks.items()}


class _Stopped(Exception):
    """The writer gave up on the read (it failed or was stopped): the reader threads end."""


class BackgroundRead:
    """``read_into`` in a thread of its own; its chunks, its end or its failure on a bounded queue."""

    def __init__(self, read: Callable[[Deliver], ReadOutcome]) -> None:
        self.events: queue.Queue[tuple[str, list[Any] | None]] = queue.Queue(maxsize=QUEUE_CHUNKS)
        self.outcome: ReadOutcome | None = None
        self.error: BaseException | None = None
        self.stopped = threading.Event()
        self.finished = threading.Event()
        context = contextvars.copy_context()  # the portal scope and the app context the run was started in
        self.thread = threading.Thread(target=context.run, args=(self._run, read), name="zup-read", daemon=True)

    def start(self) -> BackgroundRead:
        self.thread.start()
        return self

    def stop(self) -> None:
        """The writer needs no more: the readers stop at their next chunk."""
        self.stopped.set()
        self.thread.join()

    def _run(self, read: Callable[[Deliver], ReadOutcome]) -> None:
        try:
            self.outcome = read(self._deliver)
        except _Stopped:
            pass
        except BaseException as error:  # handed to the writer, which stops the run with it
            self.error = error
        finally:
            self.finished.set()

    def _deliver(self, name: str, chunk: list[Any] | None) -> None:
        while True:
            if self.stopped.is_set():
                raise _Stopped
            try:
                self.events.put((name, chunk), timeout=0.1)
                return
            except queue.Full:
                continue

    def take(self) -> list[tuple[str, list[Any] | None]]:
        """The chunks delivered so far (without waiting)."""
        taken = []
        while True:
            try:
                taken.append(self.events.get_nowait())
            except queue.Empty:
                return taken


@dataclass(frozen=True)
class ReadResults:
    """What a successful run stores of its read: bookmarks, replica, directory rows (of ``people``;
    None: everyone)."""

    source: SourceRead
    directory: DirectoryRows
    people: frozenset[str] | None = None


@dataclass
class DecidedFeed:
    """The desired state and its plan as the read delivers them (see the module docstring)."""

    read: BackgroundRead
    origin: str  # which 1C (sync_jobs.connections.source_identity)
    builder: DesiredStateBuilder
    planner: Planner
    finish_plan: Callable[[Planner, DesiredState, frozenset[str] | None], SyncPlan]
    store_rows: Callable[[SourceRead, DesiredState, frozenset[str] | None], ReadResults]
    observe_user: Callable[[DesiredUser], None] = lambda user: None
    collected: Collected = field(default_factory=Collected)  # the kept records, for bookmarks and replica
    new_adds: list[tuple[str, str]] = field(default_factory=list)  # (group key, person key) planned
    revised: list[DesiredUser] = field(default_factory=list)  # decided again once the read ended
    desired: DesiredState | None = None  # the whole desired state, once the read succeeded
    error: BaseException | None = None
    _results: Future[ReadResults] | None = None

    @property
    def plan(self) -> SyncPlan:
        return self.planner.plan

    @property
    def complete(self) -> bool:
        """The read ended: successfully (``desired``) or not (``error``)."""
        return self.desired is not None or self.error is not None

    def pump(self) -> None:
        """Take what the read delivered; decide and plan the users it completes."""
        if self.complete:
            return
        finished = self.read.finished.is_set()  # before taking: every chunk is queued once it is set
        for name, chunk in self.read.take():
            if chunk is None:
                self.builder.mark_complete(name)
            else:
                self.collected(name, chunk)
                self.builder.add(name, chunk)
        self._plan_users(self.builder.take_ready())
        if finished and self.read.events.empty():
            self._end()

    def _end(self) -> None:
        if self.read.error is not None:
            self.error = self.read.error
            return
        desired = self.builder.finish()
        self._plan_users(self.builder.take_ready())
        self.revised = self.builder.take_revised()
        if self.revised:
            log.info("%d people decided again at the end of the read (a later record of theirs)", len(self.revised))
        outcome, self.read.outcome = self.read.outcome, None  # its records and feed position go with `read` below,
        assert outcome is not None                          # and are let go once encoded (SourceRead.prepare)
        self.finish_plan(self.planner, desired, outcome.people)
        self.desired = desired
        records = self.collected.result() if outcome.records is None else outcome.records
        read = SourceRead(records, outcome.feed, self.origin, outcome.via_feed)
        self._results = _in_thread(self.store_rows, read, desired, outcome.people)  # beside the writes

    def revise(self, settled: Callable[[str], bool]) -> SyncPlan:
        """The writes still needed by the users decided again once the read ended, of whom what was sent
        is ``settled`` (sync_jobs.plan.Planner.revise)."""
        assert self.desired is not None
        return self.planner.revise([user for user in self.revised if settled(user.key)], self.desired.groups)

    def results(self) -> ReadResults:
        """What the successful read stores (computed beside the writes since the read ended)."""
        assert self._results is not None
        return self._results.result()

    def _plan_users(self, users: list[DesiredUser]) -> None:
        groups = self.builder.desired.groups
        for user in users:
            self.observe_user(user)
            for key in sorted(user.groups):
                self.planner.group(groups[key])
            self.new_adds.extend((group, user.key) for group in self.planner.user(user))

    def raise_if_failed(self) -> None:
        if self.error is None:
            return
        if isinstance(self.error, SourceReadFailed):
            raise self.error
        raise SourceReadFailed(READ_FAILED.format(kind=type(self.error).__name__, error=self.error)) from self.error


T = TypeVar("T")


def _in_thread(work: Callable[..., T], *args: Any) -> Future[T]:
    """``work(*args)`` in a thread of its own (in the caller's context); its result when asked. The
    arguments are taken now: the thread may start its work only after the caller went on."""
    future: Future[T] = Future()

    def run() -> None:
        try:
            future.set_result(work(*args))
        except BaseException as error:  # handed to whoever asks for the result
            future.set_exception(error)

    context = contextvars.copy_context()
    threading.Thread(target=context.run, args=(run,), name="sync-results", daemon=True).start()
    return future
