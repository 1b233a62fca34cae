"""Change detection over the OData standard interface (the standard interface has no change tracking).

Catalogs: a cheap scan of ``Ref_Key, DataVersion, DeletionMark`` is diffed against the last
seen versions; only changed objects are fetched, in OR-batches of a few keys, unless re-reading
the whole catalog page by page costs fewer requests. Keys gone from the scan are deletions.

Registers without ``DataVersion`` (ТекущиеКадровыеДанныеСотрудников): a snapshot in large pages
of only the fields we use, compared row by row through a short hash. HR documents (transfers,
dismissals) change the register without touching Catalog_Сотрудники, so a snapshot — not a
filter by changed employees — is the only complete way; at 50,000 employees it is five requests.

Bookmarks are plain dicts ``{key: DataVersion-or-hash}`` so the caller can persist them as JSON.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from onec.odata import EntityQuery, ODataClient, Row, pages_needed, row_key

T = TypeVar("T")

VERSION_FIELDS = ("DataVersion", "DeletionMark")


@dataclass(frozen=True)
class Delta:
    """What changed in one entity set: new key->version map, changed rows or records, deleted keys."""

    versions: dict[str, str]
    changed: tuple[Any, ...]
    deleted: tuple[str, ...]

    def mapped(self, convert: Callable[[Row], Any]) -> Delta:
        """The same delta with rows converted to domain records (rejected rows dropped)."""
        return Delta(self.versions, to_domain(self.changed, convert), self.deleted)


def row_hash(row: Mapping[str, Any], fields: Iterable[str]) -> str:
    """Short stable hash of the given fields of a row."""
    values = json.dumps([row.get(name) for name in fields], ensure_ascii=False, separators=(",", ":"))
    return hashlib.blake2b(values.encode("utf-8"), digest_size=8).hexdigest()


def object_hash(record: object) -> str:
    """Short stable hash of a domain dataclass."""
    fields = dataclasses.asdict(record)  # type: ignore[call-overload]
    return row_hash({name: str(value) for name, value in fields.items()}, sorted(fields))


def catalog_versions(client: ODataClient, query: EntityQuery) -> dict[str, str]:
    """Key -> DataVersion of every object (the cheap scan)."""
    return client.scan(query.with_select((query.key, *VERSION_FIELDS)), data_version)


def register_hashes(client: ODataClient, query: EntityQuery) -> dict[str, str]:
    """Key -> row hash of every register row."""
    return client.scan(query, lambda row: row_hash(row, query.select))


def catalog_delta(client: ODataClient, query: EntityQuery, last: Mapping[str, str]) -> Delta:
    """Scan versions, fetch changed objects, report deletions."""
    scanned = catalog_versions(client, query)
    changed = [key for key, version in scanned.items() if last.get(key) != version]
    rows = tuple(fetch_changed(client, query, changed, total=len(scanned)))
    versions = dict(scanned)
    versions.update((row_key(row, query.key), data_version(row)) for row in rows)
    for key in set(changed) - {row_key(row, query.key) for row in rows}:
        del versions[key]  # deleted between the scan and the fetch
    deleted = tuple(key for key in last if key not in versions)
    return Delta(versions, rows, deleted)


def fetch_changed(client: ODataClient, query: EntityQuery, keys: list[str], *, total: int) -> Iterator[Row]:
    """Rows for ``keys``: by key batches, or by a paged re-read when that is fewer requests."""
    if not keys:
        return
    paging = client.config.paging
    if pages_needed(len(keys), paging.key_batch) <= pages_needed(total, paging.page_size):
        yield from client.by_keys(query, keys)
        return
    wanted = set(keys)
    for page in client.pages(query, paging.page_size):
        for row in page:
            key = row_key(row, query.key)
            if key in wanted:
                wanted.discard(key)
                yield row
    yield from client.by_keys(query, wanted)


def snapshot_delta(client: ODataClient, query: EntityQuery, last: Mapping[str, str]) -> Delta:
    """Hash every row of a register; rows whose hash differs are the changes."""

    def hash_and_keep_if_changed(row: Row) -> tuple[str, Row | None]:
        digest = row_hash(row, query.select)
        return digest, (row if last.get(row_key(row, query.key)) != digest else None)

    scanned = client.scan(query, hash_and_keep_if_changed)
    hashes = {key: digest for key, (digest, _) in scanned.items()}
    rows = tuple(row for _, row in scanned.values() if row is not None)
    deleted = tuple(key for key in last if key not in hashes)
    return Delta(hashes, rows, deleted)


def data_version(row: Row) -> str:
    return str(row.get("DataVersion", ""))


def to_domain(rows: Iterable[Row], convert: Callable[[Row], T | None]) -> tuple[T, ...]:
    """Convert rows, dropping those the converter rejects (catalog folders)."""
    return tuple(item for item in map(convert, rows) if item is not None)
