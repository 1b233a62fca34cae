"""Persistence of the sync: the mapping table (buffered bulk writes), bookmarks, runs.

Every function touches one portal's rows: ``portal`` is the member_id of ``b24app.portal.portal_key``."""
from __future__ import annotations

import base64
import binascii
import json
import sys
from array import array
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from sqlalchemy import bindparam, delete, func, insert, select, update

from b24app.db import Database
from b24app.models import utcnow
from sync_jobs.models import (DirectoryPerson, DirectoryPlacement, DirectorySite, SyncBookmark, SyncMapping,
                              SyncRun, SyncRunRecord)
from b24app.crypto import TokenCipher
from sync_jobs.desired import UF_PERSONNEL_NUMBER, DesiredState, DesiredUser, Skipped, state_hash
from sync_jobs.plan import MappedGroup, MappedUser, PushedState
from sync_jobs.streams import Bookmark

FLUSH_EVERY = 500


@dataclass
class Row:
    """One mapping row in memory; ``b24_id`` None = create in flight (reconcile by natural key)."""

    kind: str
    key: str
    b24_id: int | None
    state_hash: str | None
    state: dict[str, Any]
    stored: bool = True


class MappingStore:
    """The mapping table held in memory; changes are written in bulk every FLUSH_EVERY rows.

    The rows are loaded on first use: a run reads 1C and turns it into the desired state first, so the
    1C records are gone before the mapping table comes in (the two never share the peak memory).
    """

    def __init__(self, db: Database, portal: str) -> None:
        self.db = db
        self.portal = portal
        self._dirty: dict[tuple[str, str], Row] = {}
        self._deleted: set[tuple[str, str]] = set()

    @cached_property
    def rows(self) -> dict[tuple[str, str], Row]:
        rows: dict[tuple[str, str], Row] = {}
        columns = (SyncMapping.kind, SyncMapping.key, SyncMapping.b24_id, SyncMapping.state_hash, SyncMapping.state)
        with self.db.read_session() as session:
            for kind, key, b24_id, digest, state in session.execute(
                    select(*columns).where(SyncMapping.member_id == self.portal)):
                rows[(kind, key)] = Row(kind, key, b24_id, digest, json.loads(state or "{}"))
        return rows

    def get(self, kind: str, key: str) -> Row | None:
        return self.rows.get((kind, key))

    def of_kind(self, kind: str) -> list[Row]:
        return [row for (row_kind, _), row in self.rows.items() if row_kind == kind]

    def pending(self, kind: str) -> list[Row]:
        return [row for row in self.of_kind(kind) if row.b24_id is None]

    def put(self, kind: str, key: str, *, b24_id: int | None, state_hash: str | None,
            **state: Any) -> Row:
        row = self.rows.get((kind, key))
        if row is None:
            row = self.rows[(kind, key)] = Row(kind, key, b24_id, state_hash, {}, stored=False)
        row.b24_id, row.state_hash = b24_id, state_hash
        row.state.update(state)
        self.touch(row)
        return row

    def touch(self, row: Row) -> None:
        self._dirty[(row.kind, row.key)] = row
        self._deleted.discard((row.kind, row.key))
        if len(self._dirty) >= FLUSH_EVERY:
            self.flush()

    def remove(self, kind: str, key: str) -> None:
        row = self.rows.pop((kind, key), None)
        self._dirty.pop((kind, key), None)
        if row is not None and row.stored:
            self._deleted.add((kind, key))

    def flush(self) -> None:
        """Write every change in one transaction."""
        if not self._dirty and not self._deleted:
            return
        new = [row for row in self._dirty.values() if not row.stored]
        old = [row for row in self._dirty.values() if row.stored]
        now = utcnow()
        with self.db.session() as session:
            for kind, key in self._deleted:
                session.execute(delete(SyncMapping).where(SyncMapping.member_id == self.portal,
                                                          SyncMapping.kind == kind, SyncMapping.key == key))
            if new:
                session.execute(insert(SyncMapping), [{"member_id": self.portal, **_values(row, now)} for row in new])
            if old:
                statement = (update(SyncMapping.__table__)
                             .where(SyncMapping.member_id == self.portal, SyncMapping.kind == bindparam("k_kind"),
                                    SyncMapping.key == bindparam("k_key"))
                             .values(b24_id=bindparam("b24_id"), state_hash=bindparam("state_hash"),
                                     state=bindparam("state"), updated_at=bindparam("updated_at")))
                session.connection().execute(statement, [
                    {"k_kind": row.kind, "k_key": row.key, **_values(row, now, keys=False)} for row in old])
        for row in new:
            row.stored = True
        self._dirty.clear()
        self._deleted.clear()

    def pushed_state(self) -> PushedState:
        """Confirmed rows as the planner sees them."""
        groups = {row.key: group for row in self.of_kind("group") if (group := self.mapped_group(row.key))}
        users = {row.key: user for row in self.of_kind("user") if (user := self.mapped_user(row.key))}
        rejected = {row.key: refusal for row in self.of_kind("rejected") if (refusal := self.rejected(row.key))}
        return PushedState(groups, users, rejected)

    def mapped_group(self, key: str) -> MappedGroup | None:
        """The group as last pushed; None unless confirmed."""
        row = self.get("group", key)
        if row is None or row.b24_id is None:
            return None
        return MappedGroup(row.key, row.b24_id, row.state_hash, frozenset(row.state.get("moderators", ())))

    def mapped_user(self, key: str) -> MappedUser | None:
        """The user as last pushed; None unless confirmed."""
        row = self.get("user", key)
        if row is None or row.b24_id is None:
            return None
        return MappedUser(row.key, row.b24_id, row.state_hash, frozenset(row.state.get("groups", ())),
                          bool(row.state.get("active", True)), _refusal(row.state.get("refused")))

    def rejected(self, key: str) -> tuple[str, str] | None:
        """(fields hash, reason) of an invitation Bitrix24 refused; None when there was none."""
        row = self.get("rejected", key)
        return None if row is None else (row.state_hash or "", str(row.state.get("reason", "")))

    def mapped_users(self) -> list[MappedUser]:
        return [user for row in self.of_kind("user") if (user := self.mapped_user(row.key)) is not None]


def _refusal(value: Any) -> tuple[str, str] | None:
    """A stored ``[fields hash, reason]`` (JSON has no tuples)."""
    return (str(value[0]), str(value[1])) if value else None


def _values(row: Row, now: Any, *, keys: bool = True) -> dict[str, Any]:
    values = {"b24_id": row.b24_id, "state_hash": row.state_hash,
              "state": json.dumps(row.state, ensure_ascii=False, sort_keys=True), "updated_at": now}
    return {"kind": row.kind, "key": row.key, **values} if keys else values


def mapped_count(db: Database, portal: str, kind: str) -> int:
    """How many mapping rows of ``kind`` the portal has."""
    with db.read_session() as session:
        return session.scalar(select(func.count()).select_from(SyncMapping)
                              .where(SyncMapping.member_id == portal, SyncMapping.kind == kind)) or 0


# -- bookmarks -------------------------------------------------------------------------------------

def pack_bookmark(bookmark: Bookmark) -> str:
    """(key digest, record digest) pairs as base64 of little-endian uint64 (16 bytes a record)."""
    values = array("Q", bookmark)
    if sys.byteorder == "big":
        values.byteswap()
    return base64.b64encode(values.tobytes()).decode("ascii")


def unpack_bookmark(text: str) -> Bookmark:
    """The inverse of ``pack_bookmark``; a bookmark of an older format reads as empty (all changed once)."""
    try:
        values = array("Q", base64.b64decode(text, validate=True))
    except (binascii.Error, ValueError):
        return array("Q")
    if sys.byteorder == "big":
        values.byteswap()
    return values


def load_bookmarks(db: Database, portal: str) -> dict[str, Bookmark]:
    with db.read_session() as session:
        return {b.stream: unpack_bookmark(b.value)
                for b in session.scalars(select(SyncBookmark).where(SyncBookmark.member_id == portal))}


def save_bookmarks(db: Database, portal: str, bookmarks: Mapping[str, Bookmark]) -> None:
    with db.session() as session:
        for stream, value in bookmarks.items():
            row = session.get(SyncBookmark, (portal, stream)) or SyncBookmark(member_id=portal, stream=stream)
            row.value = pack_bookmark(value)
            session.add(row)


# -- runs ------------------------------------------------------------------------------------------

def start_run(db: Database, portal: str, mode: str) -> int:
    """A new SyncRun row of the portal (its sync lock held); its runs left "running" by a killed process
    are marked interrupted."""
    with db.session() as session:
        session.execute(update(SyncRun).where(SyncRun.member_id == portal, SyncRun.status == "running")
                        .values(status="interrupted", finished_at=utcnow()))
        run = SyncRun(member_id=portal, mode=mode, status="running", started_at=utcnow(), counts="{}")
        session.add(run)
        session.flush()
        return run.id


def finish_run(db: Database, run_id: int, *, status: str, counts: Mapping[str, int], message: str | None,
               records: Iterable[Skipped]) -> None:
    with db.session() as session:
        run = session.get(SyncRun, run_id)
        if run is None:
            raise LookupError(f"sync run {run_id} vanished")
        run.status, run.finished_at, run.message = status, utcnow(), message
        run.counts = json.dumps(dict(counts), ensure_ascii=False)
        rows = [{"run_id": run_id, "kind": r.kind, "key": r.key, "title": r.title[:255], "reason": r.reason}
                for r in records]
        if rows:  # one multi-row insert (a run lists thousands of people without an e-mail)
            session.execute(insert(SyncRunRecord), rows)


def recent_runs(db: Database, portal: str, limit: int) -> list[SyncRun]:
    with db.read_session() as session:
        return list(session.scalars(select(SyncRun).where(SyncRun.member_id == portal)
                                    .order_by(SyncRun.id.desc()).limit(limit)))


def run_records(db: Database, portal: str, run_id: int) -> list[SyncRunRecord]:
    """The records of the portal's run ``run_id`` (none for another portal's run)."""
    with db.read_session() as session:
        return list(session.scalars(select(SyncRunRecord).join(SyncRun, SyncRun.id == SyncRunRecord.run_id)
                                    .where(SyncRunRecord.run_id == run_id, SyncRun.member_id == portal)
                                    .order_by(SyncRunRecord.id)))


# -- the directory of who is who (read through sync_jobs.directory) ---------------------------------

@dataclass(frozen=True)
class DirectoryRows:
    """The directory tables' rows for a desired state: the sites as stored, the people as the digests of
    their rows (``person_row`` makes a row again for those written: memory, 50,000 rows never exist at
    once)."""

    sites: dict[str, dict[str, Any]]
    people: dict[str, str]  # person key -> digest of their row
    users: Mapping[str, DesiredUser]  # the desired users the people's rows are made of
    cipher: TokenCipher

    def person_row(self, key: str) -> dict[str, Any]:
        """The person's row, contacts still plain (``_digested``)."""
        return _digested(_person(self.users[key], self.cipher), secret=("contacts",))


def directory_rows(desired: DesiredState, cipher: TokenCipher) -> DirectoryRows:
    """The rows of the directory of ``desired``: digested apart from the transaction (they cost most).

    A person's e-mail and mobile phone are stored encrypted; their keyed fingerprint tells a change."""
    sites = {g.key: {"name": g.name, "department_name": g.department_name, "legal_entity_ref": g.legal_entity_ref,
                     "legal_entity_name": g.legal_entity_name} for g in desired.groups.values()}
    users = {u.key: u for u in desired.users.values() if u.fields is not None and u.groups}
    rows = DirectoryRows({key: _digested(values) for key, values in sites.items()}, {}, users, cipher)
    rows.people.update((key, rows.person_row(key)["digest"]) for key in users)
    return rows


def save_directory(db: Database, portal: str, rows: DirectoryRows, cipher: TokenCipher,
                   people: frozenset[str] | None = None) -> None:
    """Bring the portal's directory tables to the rows of a successful run, writing only what changed
    (the contacts of those rows encrypted). ``people``: the rows are of these people only (an incremental
    run, sync_jobs.scope): the others' rows stay, and a site goes once nobody is placed in it."""
    def sealed(key: str) -> dict[str, Any]:
        row = rows.person_row(key)
        return {**row, "contacts": cipher.encrypt(row["contacts"])}

    with db.session() as session:
        _sync_rows(session, portal, DirectorySite, DirectorySite.department_ref,
                   {key: row["digest"] for key, row in rows.sites.items()}, rows.sites.__getitem__,
                   within=None if people is None else frozenset())
        changed, removed = _sync_rows(session, portal, DirectoryPerson, DirectoryPerson.person_ref, rows.people,
                                      sealed, within=people)
        stale = [*changed, *removed]
        for chunk in _batches(stale, 500):
            session.execute(delete(DirectoryPlacement).where(DirectoryPlacement.member_id == portal,
                                                             DirectoryPlacement.person_ref.in_(chunk)))
        for chunk in _batches(changed):
            session.execute(insert(DirectoryPlacement), [
                {"member_id": portal, "department_ref": ref, "person_ref": key}
                for key in chunk for ref in sorted(rows.users[key].groups)])
        if people is not None:
            placed = select(DirectoryPlacement.department_ref).where(DirectoryPlacement.member_id == portal)
            session.execute(delete(DirectorySite).where(DirectorySite.member_id == portal,
                                                        DirectorySite.department_ref.not_in(list(rows.sites)),
                                                        DirectorySite.department_ref.not_in(placed)))


def _person(user: DesiredUser, cipher: TokenCipher) -> dict[str, Any]:
    fields = user.fields or {}
    contacts = json.dumps({"email": fields.get("EMAIL") or "", "mobile": fields.get("PERSONAL_MOBILE") or ""},
                          ensure_ascii=False, sort_keys=True)
    return {"name": user.full_name, "position": str(fields.get("WORK_POSITION") or ""),
            "personnel_numbers": str(fields.get(UF_PERSONNEL_NUMBER) or ""), "email_known": user.has_email,
            "departments": json.dumps(sorted(user.groups)), "contacts": contacts,
            "fingerprint": cipher.fingerprint(contacts)}


def _sync_rows(session: Any, portal: str, model: Any, key_column: Any, digests: Mapping[str, str],
               row: Callable[[str], dict[str, Any]], *,
               within: frozenset[str] | None = None) -> tuple[list[str], list[str]]:
    """Insert, update and delete the portal's rows of ``model`` to match ``digests`` (key -> the digest of
    its row, ``_digested``; ``row(key)`` makes the row as stored, only for those written); the keys
    changed and removed. ``within`` not None: ``digests`` are only some of the rows, and a row is removed
    only when its key is in ``within``."""
    mine = model.member_id == portal
    known = dict(session.execute(select(key_column, model.digest).where(mine)).all())
    key_name = key_column.key
    new = [key for key in digests if key not in known]
    updated = [key for key, digest in digests.items() if key in known and known[key] != digest]
    removed = [key for key in known if key not in digests and (within is None or key in within)]
    for chunk in _batches(new):  # made a batch at a time (memory: no copy of every row at once)
        session.execute(insert(model), [{"member_id": portal, key_name: key, **row(key)} for key in chunk])
    for chunk in _batches(updated):
        values = [{"k": key, **row(key)} for key in chunk]
        columns = {name: bindparam(name) for name in values[0] if name != "k"}
        session.connection().execute(update(model.__table__).where(mine, key_column == bindparam("k"))
                                     .values(**columns), values)
    for chunk in _batches(removed, 500):
        session.execute(delete(model).where(mine, key_column.in_(chunk)))
    return new + updated, removed


def _batches(keys: list[str], size: int = 1000) -> Iterator[list[str]]:
    return (keys[i:i + size] for i in range(0, len(keys), size))


def _digested(values: dict[str, Any], secret: tuple[str, ...] = ()) -> dict[str, Any]:
    """The row with its digest, over everything but the ``secret`` columns (their plain text enters it only
    as the ``fingerprint`` the caller adds); the secret columns stay plain until sealed."""
    digest = state_hash({k: v for k, v in values.items() if k not in secret})
    return {**{k: v for k, v in values.items() if k != "fingerprint"}, "digest": digest}
