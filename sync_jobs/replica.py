"""The 1C records the last successful run planned from, so an incremental run reads only 1C's changes.

What a run keeps of each record (``Stream.keep``: no СНИЛС, no ИНН, no deleted records) is stored per
stream as JSON rows, compressed and encrypted with the token key (names, e-mails and phones are
personal data), beside the position of 1C's change feed (``ZupSource.changes``) the records are at.
An incremental run loads them, applies the changes after that position and plans as from a full
read; a full run reads everything and replaces them. The stored position may be older than the
records, never newer: changes after it are applied again, idempotently, so nothing is missed.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import json
import logging
import sys
import typing
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from sqlalchemy import delete, select

from b24app.crypto import TokenCipher
from b24app.db import Database
from onec.source import SourcePosition

from sync_jobs.models import SyncReplica

log = logging.getLogger(__name__)

FEED = "~feed"  # the row holding the change-feed position (stream names are identifiers)
BASIS = "~basis"  # the date and settings digest the run decided on (sync_jobs.scope), after a run without errors
COMPRESSION = 1  # zlib level: JSON rows shrink ~4x already at 1, and the full run waits for it
ENCODE_ROWS = 1000
PART_ROWS = 10_000  # records one stored row holds (memory: encrypting copies a payload several times)
PART_BYTES = 1 << 20  # compressed bytes one stored row of the feed position holds (the same reason)
PERSON_NAMES = frozenset({"last_name", "first_name", "middle_name"})


def _decoder(name: str, hint: Any) -> Callable[[Any], Any]:
    """How one JSON value becomes the field's value: dates, enums, and 1C refs and people's names interned
    (one string however many records name the same department or person, as ``onec.normalize.ref`` and
    ``name_part`` do)."""
    base = next((arg for arg in typing.get_args(hint) if arg is not type(None)), hint)
    if base is dt.date:
        return lambda value: None if value is None else dt.date.fromisoformat(value)
    if isinstance(base, type) and issubclass(base, enum.Enum):
        return lambda value: None if value is None else base(value)
    if name == "ref" or name.endswith("_ref") or name in PERSON_NAMES:
        return lambda value: None if value is None else sys.intern(value)
    return lambda value: value


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=_json_default)


def _json_pieces(value: Any) -> Iterator[str]:
    """``_dumps(value)`` in pieces: the items of a dict ENCODE_ROWS at a time, nested dicts alike (memory:
    the text of the versions of 150,000 rows a change-feed position holds never exists at once)."""
    if not isinstance(value, dict):
        yield _dumps(value)
        return
    yield "{"
    separator, batch = "", {}
    for key, item in value.items():
        if isinstance(item, dict):
            if batch:
                yield separator + _dumps(batch)[1:-1]
                separator, batch = ",", {}
            yield separator + _dumps(key) + ":"
            yield from _json_pieces(item)
            separator = ","
        else:
            batch[key] = item
            if len(batch) >= ENCODE_ROWS:
                yield separator + _dumps(batch)[1:-1]
                separator, batch = ",", {}
    if batch:
        yield separator + _dumps(batch)[1:-1]
    yield "}"


def compressed_json(value: Any) -> bytes:
    """``zlib.compress(_dumps(value))``, compressed piece by piece (``_json_pieces``)."""
    return b"".join(_compressed(_json_pieces(value)))


def compressed_json_parts(value: Any, size: int) -> list[bytes]:
    """``compressed_json(value)`` cut into consecutive parts of ``size`` bytes (the last one shorter, at least
    one part), each cut as the compressed text grows (memory: the whole of it and a joined copy never
    exist at once)."""
    parts: list[bytes] = []
    pending = bytearray()
    for piece in _compressed(_json_pieces(value)):
        pending += piece
        while len(pending) >= size:
            parts.append(bytes(pending[:size]))
            del pending[:size]
    if pending or not parts:
        parts.append(bytes(pending))
    return parts


def _compressed(pieces: Iterable[str]) -> Iterator[bytes]:
    compressor = zlib.compressobj(COMPRESSION)
    for piece in pieces:
        yield compressor.compress(piece.encode("utf-8"))
    yield compressor.flush()


def _json_default(value: Any) -> Any:
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    raise TypeError(f"cannot store {type(value).__name__} in the replica")


class RecordCodec:
    """Flat frozen dataclasses of one type <-> compressed JSON rows of their field values, headed by
    the field names: records stored by a version with other fields do not decode (a full read follows)."""

    def __init__(self, record_type: type[Any]) -> None:
        self.record_type = record_type
        hints = typing.get_type_hints(record_type)
        self.names = [f.name for f in dataclasses.fields(record_type)]
        self.decoders = [_decoder(name, hints[name]) for name in self.names]

    def encode(self, records: Iterable[Any]) -> bytes:
        """``{"fields": [...], "rows": [[...], ...]}`` compressed, ENCODE_ROWS rows at a time (memory: the
        whole JSON text of 50,000 persons never exists at once)."""
        compressor = zlib.compressobj(COMPRESSION)
        parts = [compressor.compress(f'{{"fields":{_dumps(self.names)},"rows":['.encode("utf-8"))]
        batch: list[list[Any]] = []
        separator = ""
        for record in records:
            batch.append([getattr(record, name) for name in self.names])
            if len(batch) >= ENCODE_ROWS:
                parts.append(compressor.compress((separator + _dumps(batch)[1:-1]).encode("utf-8")))
                batch, separator = [], ","
        if batch:
            parts.append(compressor.compress((separator + _dumps(batch)[1:-1]).encode("utf-8")))
        parts.append(compressor.compress(b"]}"))
        parts.append(compressor.flush())
        return b"".join(parts)

    def encode_parts(self, records: list[Any]) -> list[bytes]:
        """``encode`` of every PART_ROWS records (one part even for none): each part a row of its own."""
        return [self.encode(records[start:start + PART_ROWS]) for start in range(0, max(len(records), 1), PART_ROWS)]

    def decode(self, data: bytes) -> list[Any]:
        """The records; ValueError when ``data`` holds other fields or is damaged."""
        try:
            stored = json.loads(zlib.decompress(data))
        except zlib.error as error:
            raise ValueError(f"damaged replica: {error}") from error
        if not isinstance(stored, dict) or stored.get("fields") != self.names:
            raise ValueError(f"replica of other {self.record_type.__name__} fields")
        make, rows = self.record_type, stored.pop("rows")
        records: list[Any] = [None] * len(rows)
        for index in range(len(rows) - 1, -1, -1):  # each parsed row let go as its record is made (memory)
            records[index] = make(*(decode(value) for decode, value in zip(self.decoders, rows.pop(), strict=True)))
        return records


def part_name(stream: str, index: int) -> str:
    """The stored row of a stream's part ``index`` (``RecordCodec.encode_parts``), or of the feed position's."""
    return stream if index == 0 else f"{stream}#{index}"


def encode_feed(feed: SourcePosition, source: str) -> dict[str, bytes]:
    """The stored rows of the change-feed position ``feed`` of ``source``: its compressed JSON in parts of
    PART_BYTES under FEED, FEED#1, … (``ReplicaStore.feed`` joins them; a position at 50,000 employees
    is ≈ 5 MB compressed, and encrypting it whole made the run's peak memory)."""
    parts = compressed_json_parts({"source": source, "position": feed}, PART_BYTES)
    return {part_name(FEED, index): part for index, part in enumerate(parts)}


class ReplicaStore:
    """One portal's encrypted rows of ``sync_replica``: the parts of each stream and of the feed position."""

    def __init__(self, db: Database, cipher: TokenCipher, portal: str) -> None:
        self.db = db
        self.cipher = cipher
        self.portal = portal

    def feed(self, source: str) -> SourcePosition | None:
        """The change-feed position stored for ``source`` (``source_identity``); None before the first
        successful run and after the sync was pointed at another 1C."""
        stored = self._stored_json(FEED, "feed position unusable (%s): reading 1C in full")
        return stored.get("position") if stored is not None and stored.get("source") == source else None

    def basis(self) -> dict[str, Any] | None:
        """The stored ``sync_jobs.scope.decision_basis`` of the last run; None when there is none."""
        return self._stored_json(BASIS, "basis unusable (%s): deciding every person")

    def _stored_json(self, name: str, unusable: str) -> dict[str, Any] | None:
        """The compressed JSON object kept under ``name`` (and its parts ``name#1``, …: ``encode_feed``),
        each part decrypted and decompressed in turn; None when absent or unreadable (logged)."""
        decompressor, text = zlib.decompressobj(), []
        try:
            for part in self._parts(name):
                if (data := self._payload(part)) is None:
                    return None
                text.append(decompressor.decompress(data))
            if text and not decompressor.eof:
                raise ValueError("truncated")
            stored = json.loads(b"".join(text)) if text else None
        except (zlib.error, ValueError) as error:
            log.warning("sync replica " + unusable, error)
            return None
        return stored if isinstance(stored, dict) else None

    def records(self, stream: str, codec: RecordCodec) -> list[Any] | None:
        """The stream's kept records; None when there are none or they cannot be read back (stored by
        a version with other fields, damaged): the run then reads 1C in full, which is always right."""
        records: list[Any] = []
        for part in self._parts(stream):  # decrypted and decoded one at a time (memory)
            data = self._payload(part)
            if data is None:
                return None
            try:
                records.extend(codec.decode(data))
            except (ValueError, TypeError, KeyError) as error:
                log.warning("sync replica %s unusable (%s): reading 1C in full", stream, error)
                return None
        return records

    def _parts(self, stream: str) -> list[str]:
        """The stored rows of ``stream``'s parts in order (none without its first)."""
        with self.db.read_session() as session:
            names = set(session.scalars(select(SyncReplica.stream).where(
                SyncReplica.member_id == self.portal,
                (SyncReplica.stream == stream) | SyncReplica.stream.startswith(f"{stream}#", autoescape=True))))
        parts = []
        while (name := part_name(stream, len(parts))) in names:
            parts.append(name)
        return parts

    def save(self, encoded: Mapping[str, bytes]) -> None:
        """Replace every stream's records and the feed position (``encode_feed``: under FEED and its parts)
        in one transaction; with no feed (a source without one) keep nothing: there would be nothing to
        apply the records to."""
        with self.db.session() as session:
            session.execute(delete(SyncReplica).where(SyncReplica.member_id == self.portal))
            if FEED not in encoded:
                return
            for name, data in encoded.items():  # one encrypted copy at a time (memory)
                row = SyncReplica(member_id=self.portal, stream=name, payload=self.cipher.encrypt_bytes(data))
                session.add(row)
                session.flush()
                session.expunge(row)

    def _payload(self, stream: str) -> bytes | None:
        """The decrypted row; None when there is none or the token keys no longer open it (then the
        run reads 1C in full, which is always right)."""
        with self.db.read_session() as session:
            token = session.scalar(select(SyncReplica.payload).where(SyncReplica.member_id == self.portal,
                                                                     SyncReplica.stream == stream))
        if token is None:
            return None
        try:
            return self.cipher.decrypt_bytes(token)
        except ValueError:
            log.warning("sync replica %s cannot be decrypted with the configured keys: reading 1C in full", stream)
            return None
