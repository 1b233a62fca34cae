"""The durable inbox: verified Bitrix24 calls, processed at least once and effectively once.

``accept`` is idempotent on ``(member_id, dedupe_key)`` and returns only once the call is committed
(durable before the 200); calls arriving together in one process are committed together, in one
transaction (group commit), so durability costs one commit per batch, not per call. Workers
``claim`` items under a lease; an item whose worker died is claimed again when its lease runs out.
A handler's database work commits in the same transaction that marks the item done, so it is
applied exactly once.
"""
from __future__ import annotations

import functools
import json
import logging
import os
import threading
import weakref
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from flask import Flask
from sqlalchemy import and_, delete, func, or_, select, text, update
from sqlalchemy.orm import Session

from b24app.db import Database, get_db
from b24app.models import InboxItem, utcnow
from b24app.portal import get_config

MAX_ATTEMPTS = 6
MAX_BACKOFF_S = 300.0


@dataclass(frozen=True)
class InboxMessage:
    """What a handler gets: the call without its secrets."""

    id: int
    member_id: str
    kind: str
    name: str
    payload: dict[str, Any]
    attempts: int
    received_at: datetime


class InboxUnavailable(Exception):
    """The database refused or could not take the rows: nothing of the batch was stored."""


ACCEPT_COLUMNS = ("member_id", "kind", "name", "dedupe_key", "payload", "status", "attempts", "next_attempt_at",
                  "received_at")


log = logging.getLogger(__name__)

ROWS_PER_STATEMENT = 256  # a batch is one statement: rows beyond it wait for the next batch
CHECKPOINT_ROWS = 2000  # inbox rows between checkpoints of SQLite's write-ahead log (≈ its 1,000-page default)


@functools.lru_cache(maxsize=2 * ROWS_PER_STATEMENT)
def _accept_sql(dialect: str, rows: int) -> str:
    """One INSERT of ``rows`` rows .. ON CONFLICT DO NOTHING RETURNING the keys stored, in the DB-API
    driver's own parameter style (a row already there is not returned)."""
    mark = "?" if dialect == "sqlite" else "%s"
    row = f"({', '.join([mark] * len(ACCEPT_COLUMNS))})"
    return (f"INSERT INTO {InboxItem.__tablename__} ({', '.join(ACCEPT_COLUMNS)}) VALUES {', '.join([row] * rows)} "
            "ON CONFLICT (member_id, dedupe_key) DO NOTHING RETURNING member_id, dedupe_key, id")


def _stored_time(dialect: str, moment: datetime) -> Any:
    """``moment`` as :class:`b24app.db.UTCDateTime` stores it: naive UTC (SQLite: SQLAlchemy's text form)."""
    naive = moment.astimezone(timezone.utc).replace(tzinfo=None)
    return naive.isoformat(" ", "microseconds") if dialect == "sqlite" else naive


def _held_lock() -> threading.Lock:
    lock = threading.Lock()
    lock.acquire()
    return lock


@dataclass(eq=False)
class _Arrival:
    row: tuple[Any, ...]
    done: bool = False
    item_id: int | None = None
    error: BaseException | None = field(default=None, repr=False)
    wake: threading.Lock = field(default_factory=_held_lock, repr=False)  # released: done, or lead now

    def finish(self, item_id: int | None = None, error: BaseException | None = None) -> None:
        self.item_id, self.error, self.done = item_id, error, True


class GroupCommit:
    """Rows of concurrent callers committed in one transaction; each caller returns once its row is in.

    A caller that finds nobody committing becomes the leader: once it holds the database's write
    lock it takes the rows waiting (its own among them, and those that arrived while it waited for
    the lock, which another process may hold), commits them, wakes their callers and hands the lead
    to the first caller whose row still waits, if any. Each waiting caller is woken once (its row is
    in, or it leads), not at every batch. No thread of its own, nothing buffered across a return.

    The batch is one multi-row statement on the process's own DB-API connection: no SQLAlchemy execution
    or pool checkout, and a single call into the driver while the write lock is held (the statement
    commits itself in autocommit mode: on PostgreSQL one round trip, not two) — this runs for every
    call Bitrix24 makes.
    """

    def __init__(self, db: Database) -> None:
        self.db = db
        self.dialect = db.engine.dialect.name
        self.lock = threading.Lock()  # guards pending and committing
        self.pending: list[_Arrival] = []
        self.committing = False
        self.connection: Any = None
        self.pid = os.getpid()
        self.unchecked = 0  # rows committed since the last checkpoint of the write-ahead log (SQLite)
        db.on_dispose.append(self.close)

    def insert(self, row: tuple[Any, ...]) -> int | None:
        """Store one row of ``ACCEPT_COLUMNS``; its id, or None when its key was stored before."""
        arrival = _Arrival(row)
        with self.lock:
            self.pending.append(arrival)
            leads, self.committing = not self.committing, True
        if not leads:
            arrival.wake.acquire()  # until its row is in, or it is handed the lead
        if not arrival.done:
            self._lead()
        if arrival.error is not None:
            raise arrival.error
        return arrival.item_id

    def _take(self) -> list[_Arrival]:
        """The rows waiting, at most ``ROWS_PER_STATEMENT`` (the rest go in the next batch)."""
        with self.lock:
            batch, self.pending = self.pending[:ROWS_PER_STATEMENT], self.pending[ROWS_PER_STATEMENT:]
        return batch

    def _lead(self) -> None:
        batch: list[_Arrival] = []
        try:
            with self.db.write_lock:
                batch = self._take()
                self._commit(batch)
        except Exception as error:  # the lock could not be taken: the rows waiting fail unwritten
            batch = batch or self._take()
            _fail(batch, error)
        finally:
            _fail(batch, InboxUnavailable("the committing thread was interrupted"))  # (only rows not done)
            for arrival in batch:
                arrival.wake.release()
            with self.lock:
                if self.pending:
                    self.pending[0].wake.release()  # it leads the next batch
                else:
                    self.committing = False
        self._checkpoint(len(batch))

    def _checkpoint(self, rows: int) -> None:
        """SQLite: copy the write-ahead log into the database every ``CHECKPOINT_ROWS`` rows, outside the
        write lock (a passive checkpoint never blocks writers; done inside a commit it would hold every
        process's writers for its fsyncs). The inbox connection does not checkpoint itself."""
        if self.dialect != "sqlite":
            return
        with self.lock:
            self.unchecked += rows
            if self.unchecked < CHECKPOINT_ROWS:
                return
            self.unchecked = 0
        try:
            connection = self.db.engine.raw_connection()  # autocommit (b24app.db): no BEGIN, no write lock
            try:
                connection.cursor().execute("PRAGMA wal_checkpoint(PASSIVE)")
            finally:
                connection.close()
        except Exception as error:  # the rows are in; the other connections still checkpoint on their own
            log.warning("inbox: checkpoint of the write-ahead log failed (%s)", type(error).__name__)

    def _commit(self, batch: list[_Arrival]) -> None:
        try:
            ids = self._write([arrival.row for arrival in batch])
        except Exception as error:  # every caller of the batch learns it failed: nothing was stored
            _fail(batch, error)
            return
        for arrival, item_id in zip(batch, ids):
            arrival.finish(item_id)

    def _write(self, rows: list[tuple[Any, ...]]) -> list[int | None]:
        """Insert ``rows`` in one statement, committed before it returns (the connection is in autocommit
        mode: the statement is its own transaction, committed in the same round trip); the new ids (None:
        the key was stored before, or by an earlier row of the same batch)."""
        connection = self._connection()
        try:
            cursor = connection.cursor()
            cursor.execute(_accept_sql(self.dialect, len(rows)), [value for row in rows for value in row])
            stored = {(member_id, key): item_id for member_id, key, item_id in cursor.fetchall()}
        except self.db.engine.dialect.loaded_dbapi.Error as error:
            self.close()  # whatever state it is in (a broken link, a failed transaction), never reused
            raise InboxUnavailable(type(error).__name__) from error
        return [stored.pop((row[0], row[3]), None) for row in rows]

    def _connection(self) -> Any:
        """This process's DB-API connection for the inbox rows, kept out of the pool (only the leader
        uses it); a process forked from the one that opened it opens its own."""
        if self.connection is None or self.pid != os.getpid():
            self.connection = self.db.engine.raw_connection()
            self.connection.detach()
            if self.dialect != "sqlite":  # (SQLite's connections run so already: b24app.db)
                self.connection.dbapi_connection.autocommit = True
            else:  # checkpoints outside the write lock instead (_checkpoint)
                self.connection.dbapi_connection.execute("PRAGMA wal_autocheckpoint=0")
            self.pid = os.getpid()
        return self.connection

    def close(self) -> None:
        connection, self.connection = self.connection, None
        if connection is not None and self.pid == os.getpid():
            try:
                connection.close()
            except Exception:  # a connection already broken: nothing left to release
                pass


def _fail(batch: list[_Arrival], error: BaseException) -> None:
    """The rows of ``batch`` not yet done fail with ``error``."""
    for arrival in batch:
        if not arrival.done:
            arrival.finish(error=error)


_WRITERS: weakref.WeakKeyDictionary[Database, GroupCommit] = weakref.WeakKeyDictionary()
_WRITERS_LOCK = threading.Lock()


def accept(db: Database, *, member_id: str, kind: str, name: str, dedupe_key: str,
           payload: dict[str, Any]) -> int | None:
    """Store a verified call; return its id, or None when it was already accepted.

    This is the intake's hot path: a prepared INSERT .. ON CONFLICT DO NOTHING on the DB-API connection,
    committed together with the calls arriving at the same time in this process; :class:`InboxUnavailable`
    when the database did not take it.
    """
    with _WRITERS_LOCK:
        writer = _WRITERS.get(db) or _WRITERS.setdefault(db, GroupCommit(db))
    now = _stored_time(writer.dialect, utcnow())
    return writer.insert((member_id, kind, name, dedupe_key,
                          json.dumps(payload, ensure_ascii=False, separators=(",", ":")), "pending", 0, now, now))


def _ready(now: datetime):  # type: ignore[no-untyped-def]
    return or_(and_(InboxItem.status == "pending", InboxItem.next_attempt_at <= now),
               and_(InboxItem.status == "processing", InboxItem.lease_until < now))


def claim(db: Database, *, holder: str, limit: int, lease_s: float,
          paused: Collection[str] = ()) -> list[InboxMessage]:
    """Lease up to ``limit`` ready items of portals not ``paused`` to ``holder``."""
    now = utcnow()
    with db.session() as session:
        ready = select(InboxItem.id).where(_ready(now))
        if paused:
            ready = ready.where(InboxItem.member_id.not_in(list(paused)))
        ids = list(session.scalars(ready.order_by(InboxItem.id).limit(limit)))
        if not ids:
            return []
        session.execute(update(InboxItem).where(InboxItem.id.in_(ids), _ready(now)).values(
            status="processing", lease_holder=holder, lease_until=now + timedelta(seconds=lease_s),
            attempts=InboxItem.attempts + 1))
        rows = session.scalars(select(InboxItem).where(
            InboxItem.id.in_(ids), InboxItem.lease_holder == holder, InboxItem.status == "processing"))
        return [_message(row) for row in rows]


def claim_item(db: Database, item_id: int, *, holder: str, lease_s: float,
               paused: Collection[str] = ()) -> InboxMessage | None:
    """Lease one named item if it is ready and its portal is not paused (a task of the celery engine);
    None when it is done, leased by a live holder, not yet due or paused — a repeated task is a no-op."""
    now = utcnow()
    with db.session() as session:
        statement = update(InboxItem).where(InboxItem.id == item_id, _ready(now))
        if paused:
            statement = statement.where(InboxItem.member_id.not_in(list(paused)))
        result = session.execute(statement.values(
            status="processing", lease_holder=holder, lease_until=now + timedelta(seconds=lease_s),
            attempts=InboxItem.attempts + 1))
        if result.rowcount != 1:
            return None
        return _message(session.get_one(InboxItem, item_id))


def mark_enqueued(db: Database, item_ids: Sequence[int], at: datetime | None = None) -> None:
    """The broker confirmed these items' tasks, published ``at`` (before any of them could run and be
    scheduled for a retry). The mark need not survive a crash of the database server (PostgreSQL docs:
    "Asynchronous Commit"): a lost mark only makes the sweeper publish the items again, harmlessly."""
    if item_ids:
        with db.session() as session:
            if db.engine.dialect.name == "postgresql":
                session.execute(text("SET LOCAL synchronous_commit TO OFF"))
            session.execute(update(InboxItem).where(InboxItem.id.in_(list(item_ids)))
                            .values(enqueued_at=at or utcnow()))


def unpublished(db: Database, *, older_than_s: float, lost_after_s: float, paused: Collection[str] = (),
                limit: int = 1000) -> list[tuple[int, str]]:
    """(id, member_id) of items whose task is not on the broker: accepted (or due for a retry) more than
    ``older_than_s`` ago and never confirmed since, leased by a holder whose lease ran out, or confirmed
    so long ago (``lost_after_s``) that the message must be gone."""
    now = utcnow()
    due = now - timedelta(seconds=older_than_s)
    waiting = and_(InboxItem.status == "pending", InboxItem.next_attempt_at <= due,
                   or_(InboxItem.enqueued_at.is_(None), InboxItem.enqueued_at < InboxItem.next_attempt_at,
                       InboxItem.enqueued_at < now - timedelta(seconds=lost_after_s)))
    abandoned = and_(InboxItem.status == "processing", InboxItem.lease_until < now,
                     or_(InboxItem.enqueued_at.is_(None), InboxItem.enqueued_at < InboxItem.lease_until))
    statement = select(InboxItem.id, InboxItem.member_id).where(or_(waiting, abandoned)).order_by(InboxItem.id)
    if paused:
        statement = statement.where(InboxItem.member_id.not_in(list(paused)))
    with db.read_session() as session:
        return [(row.id, row.member_id) for row in session.execute(statement.limit(limit))]


def depth_by_portal(db: Database) -> list[tuple[str, str, int]]:
    """(member_id, status, count) of the items not yet processed, per portal."""
    with db.read_session() as session:
        rows = session.execute(select(InboxItem.member_id, InboxItem.status, func.count())
                               .where(InboxItem.status.in_(("pending", "processing", "failed")))
                               .group_by(InboxItem.member_id, InboxItem.status))
        return [(member_id, status, count) for member_id, status, count in rows]


def _message(row: InboxItem) -> InboxMessage:
    return InboxMessage(row.id, row.member_id, row.kind, row.name, json.loads(row.payload), row.attempts,
                        row.received_at)


def extend_lease(db: Database, item_id: int, holder: str, lease_s: float) -> bool:
    """Renew ``holder``'s lease just before its turn comes; False when the item was taken over."""
    with db.session() as session:
        result = session.execute(update(InboxItem).where(
            InboxItem.id == item_id, InboxItem.lease_holder == holder, InboxItem.status == "processing").values(
            lease_until=utcnow() + timedelta(seconds=lease_s)))
        return result.rowcount == 1


def lock_for_completion(session: Session, item_id: int, holder: str) -> InboxItem | None:
    """The item if ``holder`` still owns it (locks the row on PostgreSQL)."""
    statement = select(InboxItem).where(InboxItem.id == item_id, InboxItem.lease_holder == holder,
                                        InboxItem.status == "processing")
    if session.get_bind().dialect.name == "postgresql":
        statement = statement.with_for_update()
    return session.scalar(statement)


def mark_done(row: InboxItem, note: str | None = None) -> None:
    row.status = "done"
    row.processed_at = utcnow()
    row.lease_until = None
    row.last_error = note


def record_failure(db: Database, item_id: int, holder: str, error: str, *, fatal: bool) -> str:
    """Schedule a retry with backoff, or park the item as failed; return the new status."""
    with db.session() as session:
        row = lock_for_completion(session, item_id, holder)
        if row is None:
            return "lost"
        row.last_error = error[:2000]
        row.lease_until = None
        if fatal or row.attempts >= MAX_ATTEMPTS:
            row.status = "failed"
        else:
            row.status = "pending"
            row.next_attempt_at = utcnow() + timedelta(seconds=min(2 ** row.attempts, MAX_BACKOFF_S))
        return row.status


def list_items(db: Database, *, status: str | None = None, limit: int = 100) -> list[InboxItem]:
    with db.read_session() as session:
        statement = select(InboxItem).order_by(InboxItem.id.desc()).limit(limit)
        if status:
            statement = statement.where(InboxItem.status == status)
        return list(session.scalars(statement))


def depth(db: Database) -> tuple[int, datetime | None]:
    """How many items wait (pending or in processing) and when the oldest of them arrived."""
    with db.read_session() as session:
        count, oldest = session.execute(select(func.count(InboxItem.id), func.min(InboxItem.received_at)).where(
            InboxItem.status.in_(("pending", "processing")))).one()
    return int(count), oldest


def purge(db: Database, *, older_than_days: float) -> int:
    """Delete processed items older than the given age (their payloads are no longer needed)."""
    cutoff = utcnow() - timedelta(days=older_than_days)
    with db.session() as session:
        result = session.execute(delete(InboxItem).where(InboxItem.status == "done", InboxItem.processed_at < cutoff))
        return result.rowcount


def purge_job(app: Flask) -> None:
    """Nightly: forget processed calls after ``worker.keep_done_days`` (default 7)."""
    days = float(get_config(app).section("worker").get("keep_done_days", 7))
    purge(get_db(app), older_than_days=days)


def retry(db: Database, item_id: int) -> bool:
    """Put a failed item back in the queue; False if there is no such failed item."""
    with db.session() as session:
        result = session.execute(update(InboxItem).where(
            InboxItem.id == item_id, InboxItem.status == "failed").values(
            status="pending", attempts=0, next_attempt_at=utcnow(), last_error=None))
        return result.rowcount == 1
