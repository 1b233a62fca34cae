"""Client for the 1C OData standard interface (OData v3, JSON) on one ``requests.Session``.

Paging avoids the standard interface's traps: no keyset paging on ``Ref_Key`` (1C
answers 500) and no reliance on ``$orderby=Ref_Key`` being GUID order. Pages are ``$top``/``$skip``
with an explicit, unique ``$orderby``; rows are de-duplicated by key and every full read ends
with a key-set reconciliation, so rows shifted between pages by concurrent writes are neither
lost nor doubled. Only one page of raw JSON is held at a time.
"""

from __future__ import annotations

import logging
import math
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import quote

import requests
from requests.auth import HTTPBasicAuth

from onec.config import ConnectionConfig
from onec.errors import (
    ODataError,
    ODataNotFound,
    ODataServerError,
    ODataSetNotPublished,
    OneCAuthError,
    OneCDataError,
    OneCIncompleteRead,
    OneCServiceUnavailable,
    OneCTimeout,
    OneCTransportError,
)

log = logging.getLogger(__name__)

Row = dict[str, Any]
T = TypeVar("T")

QUERY_SAFE = "$,'()/:;_!=*"
RECONCILE_ATTEMPTS = 3


def utf8_basic_auth(login: str, password: str) -> HTTPBasicAuth:
    """Basic auth that 1C decodes as UTF-8 (works for Cyrillic logins and passwords)."""
    return HTTPBasicAuth(login.encode("utf-8"), password.encode("utf-8"))


def guid_literal(ref: str) -> str:
    """OData v3 GUID literal."""
    return f"guid'{ref}'"


def keys_filter(key_field: str, keys: Sequence[str]) -> str:
    """``Key eq guid'a' or Key eq guid'b' ...`` for a small batch of keys."""
    return " or ".join(f"{key_field} eq {guid_literal(key)}" for key in keys)


def batched(items: Sequence[str], size: int) -> Iterator[Sequence[str]]:
    """Consecutive slices of at most ``size`` items."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


@dataclass(frozen=True)
class EntityQuery:
    """What to read from one entity set: fields, unique order and the key that identifies a row."""

    entity_set: str
    select: tuple[str, ...]
    orderby: str
    key: str = "Ref_Key"
    filter: str | None = None

    def with_select(self, select: tuple[str, ...]) -> EntityQuery:
        """The same query reading other fields."""
        return EntityQuery(self.entity_set, select, self.orderby, self.key, self.filter)


class ODataSkipPaginator:
    """``$top``/``$skip`` pages; each page re-reads ``overlap`` rows of the previous one.

    The overlap absorbs rows deleted before the cursor while paging (they would otherwise
    shift an unread row onto an already-read page); repeats are removed by the caller's
    key de-duplication.
    """

    def __init__(self, page_size: int, overlap: int = 0) -> None:
        if page_size < 1 or not 0 <= overlap < page_size:
            raise ValueError("page_size must be >= 1 and 0 <= overlap < page_size")
        self.page_size = page_size
        self.overlap = overlap
        self.offset = 0
        self.finished = False

    def next_window(self) -> tuple[int, int]:
        """(``$top``, ``$skip``) of the next page."""
        skip = max(0, self.offset - self.overlap)
        return self.page_size + (self.offset - skip), skip

    def advance(self, rows_received: int) -> None:
        """Move past a page that returned ``rows_received`` rows."""
        top, skip = self.next_window()
        self.finished = rows_received < top
        self.offset = skip + rows_received


class ODataClient:
    """Typed access to one 1C OData service root."""

    def __init__(self, config: ConnectionConfig, *, session: requests.Session | None = None) -> None:
        self.config = config
        self.root = config.url if config.url.endswith("/") else config.url + "/"
        self.session = session or requests.Session()
        self.session.auth = utf8_basic_auth(config.login, config.password())
        self.session.headers["Accept"] = "application/json"
        self.timeout = (config.timeouts.connect, config.timeouts.read)

    def close(self) -> None:
        """Release pooled connections."""
        self.session.close()

    # -- single requests -------------------------------------------------------------------

    def url(self, path: str, params: dict[str, str] | None = None) -> str:
        """Absolute URL with Cyrillic and query values percent-encoded as UTF-8."""
        query = {"$format": "json", **(params or {})}
        encoded = "&".join(f"{quote(k, safe='$')}={quote(v, safe=QUERY_SAFE)}" for k, v in query.items())
        return f"{self.root}{quote(path, safe=QUERY_SAFE)}?{encoded}"

    def get(self, entity_set: str, path: str, params: dict[str, str] | None = None) -> Any:
        """GET and decode JSON; transient failures are retried (GET is idempotent)."""
        url = self.url(path, params)
        return self.config.retry.retrying()(self._send, "GET", url, entity_set, None)

    def post(self, entity_set: str, path: str, body: dict[str, Any]) -> Any:
        """POST once (creating a document twice is worse than failing once)."""
        return self._send("POST", self.url(path), entity_set, body)

    def _send(self, method: str, url: str, entity_set: str, body: dict[str, Any] | None) -> Any:
        try:
            response = self.session.request(method, url, json=body, timeout=self.timeout)
        except requests.Timeout as exc:
            raise OneCTimeout(f"1C OData timeout on {entity_set}: {type(exc).__name__}") from exc
        except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError) as exc:
            raise OneCTransportError(f"1C OData connection failed on {entity_set}: {type(exc).__name__}") from exc
        if response.status_code >= 400:
            raise error_from_response(response, entity_set)
        try:
            return response.json()
        except ValueError as exc:
            raise OneCDataError(f"1C OData answered non-JSON for {entity_set}") from exc

    def page(self, query: EntityQuery, *, top: int | None = None, skip: int = 0) -> list[Row]:
        """One page of rows (the ``value`` array)."""
        params = {"$select": ",".join(query.select)}
        if query.filter:
            params["$filter"] = query.filter
        if top is not None:
            params["$orderby"] = query.orderby
            params["$top"] = str(top)
            if skip:
                params["$skip"] = str(skip)
        payload = self.get(query.entity_set, query.entity_set, params)
        rows = payload.get("value") if isinstance(payload, dict) else None
        if not isinstance(rows, list):
            raise OneCDataError(f"1C OData answer for {query.entity_set} has no 'value' list")
        return rows

    def count(self, entity_set: str, filter: str | None = None) -> int:
        """Row count via ``<set>/$count``."""
        params = {"$filter": filter} if filter else {}
        value = self.get(entity_set, f"{entity_set}/$count", params)
        try:
            return int(value)
        except (TypeError, ValueError):
            raise OneCDataError(f"1C OData $count for {entity_set} is not a number") from None

    def check_published(self, entity_set: str) -> None:
        """Raise ``ODataSetNotPublished`` unless the set answers ``$top=1``."""
        self.get(entity_set, entity_set, {"$top": "1"})

    # -- streams ---------------------------------------------------------------------------

    def pages(self, query: EntityQuery, page_size: int) -> Iterator[list[Row]]:
        """Raw pages in ``query.orderby`` order until a short page."""
        paginator = ODataSkipPaginator(page_size, overlap_for(page_size))
        while not paginator.finished:
            top, skip = paginator.next_window()
            rows = self.page(query, top=top, skip=skip)
            paginator.advance(len(rows))
            yield rows

    def read_all(self, query: EntityQuery, seen: dict[str, Any] | None = None) -> Iterator[Row]:
        """Every row once, reconciled with the key set at the end (see module docstring). ``seen`` holds
        the keys read (each set to None before its row is handed out): a caller that notes something
        per row passes its own table, so that the keys are not held twice."""
        seen = {} if seen is None else seen
        pages = 0
        for rows in self.pages(query, self.config.paging.page_size):
            pages += 1
            yield from self._unseen(rows, query, seen)
        if pages > 1:  # a single page is one consistent query: no row can have moved
            yield from self._reconcile(query, seen)

    def by_keys(self, query: EntityQuery, keys: Iterable[str]) -> Iterator[Row]:
        """Rows with the given keys, fetched in small OR-batches to keep URLs short."""
        for batch in batched(sorted(set(keys)), self.config.paging.key_batch):
            batch_query = EntityQuery(query.entity_set, query.select, query.orderby, query.key,
                                      _and(query.filter, keys_filter(query.key, batch)))
            yield from self.page(batch_query)

    def scan(self, query: EntityQuery, reduce: Callable[[Row], T]) -> dict[str, T]:
        """Key -> ``reduce(row)`` for every row; a multi-page scan is checked against ``$count``.

        Large pages of small rows (select few fields): only what ``reduce`` keeps stays in memory.
        """
        for _ in range(RECONCILE_ATTEMPTS):
            reduced: dict[str, T] = {}
            pages = 0
            for page in self.pages(query, self.config.paging.scan_page_size):
                pages += 1
                reduced.update((row_key(row, query.key), reduce(row)) for row in page)
            if pages == 1 or len(reduced) == self.count(query.entity_set, query.filter):
                return reduced
            log.warning("key scan of %s changed while reading; rescanning", query.entity_set)
        raise OneCIncompleteRead(f"не удалось согласовать список ключей {query.entity_set}: данные меняются")

    def _unseen(self, rows: Iterable[Row], query: EntityQuery, seen: dict[str, Any]) -> Iterator[Row]:
        for row in rows:
            key = row_key(row, query.key)
            if key not in seen:
                seen[key] = None
                yield row

    def _reconcile(self, query: EntityQuery, seen: dict[str, Any]) -> Iterator[Row]:
        missing = [key for key in self.scan(query.with_select((query.key,)), _nothing) if key not in seen]
        if missing:
            log.info("%s: %d rows moved while paging, fetching them by key", query.entity_set, len(missing))
            yield from self._unseen(self.by_keys(query, missing), query, seen)


def _nothing(row: Row) -> None:
    return None


def _and(left: str | None, right: str) -> str:
    return f"({left}) and ({right})" if left else right


def row_key(row: Row, key_field: str) -> str:
    """The row's key (GUID, lower case; interned like the refs of ``onec.normalize``: one string for
    the record's ref and the versions noted of it)."""
    value = row.get(key_field)
    if not isinstance(value, str):
        raise OneCDataError(f"1C row has no key field {key_field!r}")
    return sys.intern(value.lower())


def overlap_for(page_size: int) -> int:
    """Rows each page re-reads from the previous one (2 %, at least one)."""
    return max(1, page_size // 50) if page_size > 1 else 0


def pages_needed(rows: int, page_size: int) -> int:
    """Requests a paged read of ``rows`` rows costs."""
    return max(1, math.ceil(rows / page_size))


ERROR_CLASSES: dict[str, Callable[..., ODataError]] = {"9": ODataNotFound}


def error_from_response(response: requests.Response, entity_set: str) -> Exception:
    """Map an HTTP error answer (``odata.error`` JSON or anything else) to the error tree."""
    status = response.status_code
    code, message = _odata_error(response)
    if status in (401, 403) or code == "20":
        return OneCAuthError(f"1С отклонила доступ ({status}) к {entity_set}: {message}")
    if code == "8" or (status == 404 and not code and entity_set):
        return ODataSetNotPublished(entity_set, status, code or "8", message)
    if status in (502, 503, 504):
        return OneCServiceUnavailable(status, entity_set)
    if status == 500:
        return ODataServerError(status, code, message, entity_set=entity_set)
    return ERROR_CLASSES.get(code, ODataError)(status, code, message, entity_set=entity_set)


def _odata_error(response: requests.Response) -> tuple[str, str]:
    try:
        error = response.json()["odata.error"]
        return str(error.get("code", "")), str(error.get("message", {}).get("value", ""))
    except (ValueError, KeyError, TypeError, AttributeError):
        return "", response.reason or f"HTTP {response.status_code}"
