"""``ZupSource`` over the b24sync SOAP service of a 1C configuration extension (zeep).

The contract is ``onec/wsdl/b24sync.wsdl`` (docs/onec-extension.md). The bundled WSDL is
loaded locally and the service is pointed at the configured endpoint with ``create_service``,
because 1C writes its own host name into ``soap:address``. Payloads are JSON strings whose
``data`` objects carry the same fields as the OData sets, so onec.normalize converts both modes.
``paging.page_size`` is the ``Limit`` of one GetChanges package.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import requests
from zeep import Client, Settings
from zeep.exceptions import Fault, TransportError, XMLSyntaxError
from zeep.transports import Transport

from onec import normalize
from onec.config import ConnectionConfig
from onec.errors import (
    OneCAuthError,
    OneCDataError,
    OneCError,
    OneCFeedPositionUnknown,
    OneCServiceUnavailable,
    OneCTimeout,
    OneCTransportError,
    SoapFault,
)
from onec.models import (
    Department,
    Employee,
    EmploymentState,
    LegalEntity,
    Person,
    PersonDocument,
    Position,
    Record,
    RequestDocument,
    RequestRef,
    RequestStatus,
    VacationBalance,
    VacationKindBalance,
)
from onec.odata import utf8_basic_auth
from onec.source import ChangeSet, FeedItem, SourcePosition
from onec.targets import TARGETS, DocumentWrites, hr_comment, newest, target_for

WSDL_PATH = Path(__file__).with_name("wsdl") / "b24sync.wsdl"
NAMESPACE = "http://b24app.org/zup/b24sync"
BINDING = f"{{{NAMESPACE}}}B24SyncSoapBinding"

ITEM_KINDS = {
    "organization": "legal_entities",
    "department": "departments",
    "position": "positions",
    "person": "persons",
    "employee": "employees",
    "hr_state": "employments",
}


def endpoint_of(url: str) -> str:
    """Service address from a WSDL URL (``…/b24sync.1cws?wsdl`` -> ``…/b24sync.1cws``)."""
    return url.split("?", 1)[0]


class SoapClient:
    """Typed calls of the B24Sync operations; JSON answers decoded, errors mapped."""

    def __init__(self, config: ConnectionConfig, *, session: requests.Session | None = None) -> None:
        self.config = config
        self.session = session or requests.Session()
        self.session.auth = utf8_basic_auth(config.login, config.password())
        self.session.hooks["response"].append(_raise_http_errors)
        transport = Transport(session=self.session, timeout=config.timeouts.read,
                              operation_timeout=config.timeouts.operation)
        client = Client(str(WSDL_PATH), transport=transport, settings=Settings(strict=False, xml_huge_tree=True))
        self.service = client.create_service(BINDING, endpoint_of(config.url))

    def close(self) -> None:
        """Release pooled connections."""
        self.session.close()

    def call(self, operation: str, **params: Any) -> Any:
        """Call an idempotent operation, retrying transient failures."""
        return self.config.retry.retrying()(self.call_once, operation, **params)

    def call_once(self, operation: str, **params: Any) -> Any:
        """Call an operation exactly once."""
        try:
            return getattr(self.service, operation)(**params)
        except XMLSyntaxError as exc:
            raise OneCDataError(f"1C SOAP answer to {operation} is not XML") from exc
        except Fault as exc:
            raise SoapFault(f"1С b24sync.{operation}: {exc.message}") from exc
        except TransportError as exc:
            raise _transport_error(exc.status_code, operation) from exc
        except requests.Timeout as exc:
            raise OneCTimeout(f"1C SOAP timeout on {operation}") from exc
        except requests.ConnectionError as exc:
            raise OneCTransportError(f"1C SOAP connection failed on {operation}") from exc

    def call_json(self, operation: str, **params: Any) -> dict[str, Any]:
        """Call an idempotent operation whose ``return`` is a JSON object."""
        return _json_object(self.call(operation, **params), operation)


def _raise_http_errors(response: requests.Response, *args: Any, **kwargs: Any) -> None:
    """Auth and gateway errors carry no SOAP envelope: raise before zeep tries to parse them."""
    if response.status_code in (401, 403, 502, 503, 504):
        raise _transport_error(response.status_code, "B24Sync")


def _transport_error(status: int, operation: str) -> OneCError:
    if status in (401, 403):
        return OneCAuthError(f"1С отклонила доступ ({status}) к b24sync.{operation}")
    if status in (502, 503, 504):
        return OneCServiceUnavailable(status, f"b24sync.{operation}")
    return OneCError(f"1C SOAP HTTP {status} on b24sync.{operation}")


def _json_object(text: Any, operation: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except (TypeError, ValueError):
        raise OneCDataError(f"b24sync.{operation} returned non-JSON") from None
    if not isinstance(value, dict):
        raise OneCDataError(f"b24sync.{operation} returned JSON that is not an object")
    return value


class SoapSource(DocumentWrites):
    """HR data and requests of one ZUP infobase through the b24sync extension service."""

    concurrent_reads = 1  # every kind comes from one walk of the feed, kept by this source
    employments_by_person = False  # the walk hands out the register in the feed's order
    has_change_feed = True  # GetChanges after a version: only what changed
    position_from_read = True  # read_position(): the end of the last walk (walk() or a kind's full read)

    def __init__(self, config: ConnectionConfig, *, session: requests.Session | None = None) -> None:
        self.config = config
        self.request_documents = config.request_documents
        self.client = SoapClient(config, session=session)
        self._state: dict[str, dict[str, Record]] | None = None  # one full walk of the feed, by kind
        self._state_version = 0  # where that walk ended
        self._walk_ended = False  # a walk (of walk() or _walk()) ran to the end of the feed
        self._handed_out: set[str] = set()  # kinds already read from that walk
        self._state_lock = threading.Lock()

    def close(self) -> None:
        """Release the HTTP session."""
        with self._state_lock:
            self._state = None
        self.client.close()

    def required_sets(self) -> list[str]:
        """What the 1C administrator must publish for this mode."""
        return [f"web service B24Sync ({endpoint_of(self.config.url)})"]

    def check(self) -> dict[str, OneCError | None]:
        """Service name -> None if a one-item GetChanges answers, else the error."""
        name = self.required_sets()[0]
        try:
            self.client.call_json("GetChanges", FromVersion=0, Limit=1)
        except OneCError as exc:
            return {name: exc}
        return {name: None}

    # -- change feed -----------------------------------------------------------------------

    def changes(self, bookmark: SourcePosition, *, acknowledge: bool = True) -> ChangeSet:
        """One package after ``bookmark``; acknowledges ``bookmark`` unless told it is not persisted.

        Raises OneCFeedPositionUnknown when 1C refuses the acknowledgement: its feed is behind the
        stored position (restored from a backup), so the changes after that position are unknowable.
        """
        with self._state_lock:
            self._state = None  # a new package may change what a full read returns
        version = int(bookmark.get("soap", {}).get("version", 0))
        if version and acknowledge and not self.client.call("Acknowledge", Version=version):
            raise OneCFeedPositionUnknown(f"1С не знает версию {version} ленты изменений b24sync "
                                          "(база восстановлена из копии?): нужно полное чтение")
        package = self._package_after(version)
        latest = {(kind, ref): record for kind, ref, record in _item_states(package)}  # the last item wins
        upserts: dict[str, list[Record]] = {kind: [] for kind in ITEM_KINDS.values()}
        deletions: dict[str, list[str]] = {kind: [] for kind in ITEM_KINDS.values()}
        for (kind, ref), record in latest.items():
            if record is None:
                deletions[kind].append(ref)
            else:
                upserts[kind].append(record)
        return ChangeSet(
            bookmark={"soap": {"version": _version(package)}},
            upserts={kind: tuple(records) for kind, records in upserts.items()},
            deletions={kind: tuple(refs) for kind, refs in deletions.items()},
            complete=not package.get("more", False),
        )

    def snapshot(self) -> SourcePosition:
        """SourcePosition at the end of the feed; the walk is kept, so a full read after it is that very state
        (and costs no second walk). Acknowledges nothing."""
        return {"soap": {"version": self._walked()}}

    def read_position(self) -> SourcePosition | None:
        """The version where the last walk of the feed ended (None before any)."""
        return {"soap": {"version": self._state_version}} if self._walk_ended else None

    def walk(self) -> Iterator[list[FeedItem]]:
        """The feed from version 0, each package's items as they arrive (onec.source.FeedWalk)."""
        self._walk_ended = False
        for version, package in self._packages():
            yield list(_item_states(package))
            self._state_version = version
        self._walk_ended = True

    def _packages(self) -> Iterator[tuple[int, dict[str, Any]]]:
        """(version after, package) of the whole feed from 0. The next package is asked for as soon as
        this one's version is known, so 1C prepares it while the caller converts this one."""
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="b24sync-feed") as fetcher:
            pending: Future[dict[str, Any]] | None = fetcher.submit(self._package_after, 0)
            while pending is not None:
                package = pending.result()
                version = _version(package)
                pending = fetcher.submit(self._package_after, version) if package.get("more", False) else None
                yield version, package

    def _package_after(self, version: int) -> dict[str, Any]:
        return self.client.call_json("GetChanges", FromVersion=version, Limit=self.config.paging.page_size)

    def _current(self, kind: str) -> Iterator[Any]:
        """Latest state of every live object of one kind.

        A full read asks for every kind in turn: the feed is walked once (or by ``snapshot``) and
        each kind handed out once from that walk, its records released as they are consumed (memory:
        the caller keeps what it needs of them). Asking for a kind again walks the feed again.
        """
        with self._state_lock:
            if self._state is None or kind in self._handed_out:
                self._walk_now()
            assert self._state is not None
            self._handed_out.add(kind)
            return _drain(self._state.pop(kind, {}))

    def _walked(self) -> int:
        """Make sure a walk is kept; the version where it ended."""
        with self._state_lock:
            if self._state is None:
                self._walk_now()
            return self._state_version

    def _walk_now(self) -> None:
        self._state, self._state_version = self._walk()
        self._handed_out = set()
        self._walk_ended = True

    def _walk(self) -> tuple[dict[str, dict[str, Record]], int]:
        """Every kind's live objects at the end of the feed (later items replace earlier ones), and
        the version of that end."""
        state: dict[str, dict[str, Record]] = {}
        version = 0
        for version, package in self._packages():
            for kind, ref, record in _item_states(package):
                records = state.setdefault(kind, {})
                if record is None:
                    records.pop(ref, None)
                else:
                    records[ref] = record
        return state, version

    def legal_entities(self) -> Iterator[LegalEntity]:
        return self._current("legal_entities")

    def departments(self) -> Iterator[Department]:
        return self._current("departments")

    def positions(self) -> Iterator[Position]:
        return self._current("positions")

    def persons(self) -> Iterator[Person]:
        return self._current("persons")

    def employees(self) -> Iterator[Employee]:
        return self._current("employees")

    def employments(self) -> Iterator[EmploymentState]:
        return self._current("employments")

    # -- vacations and requests ------------------------------------------------------------

    def employments_of(self, person_ref: str) -> list[EmploymentState]:
        answer = self.client.call_json("GetEmployments", Person=person_ref)
        items = answer.get("items")
        if not isinstance(items, list):
            raise OneCDataError("b24sync.GetEmployments returned no 'items' list")
        return [normalize.employment_state(item) for item in items]

    def documents_of(self, person_ref: str, employee_refs: Sequence[str], limit: int = 20) -> list[PersonDocument]:
        """b24sync.GetDocuments: the newest request documents of every kind for the person, in one request
        (1C finds the person's employees itself)."""
        kinds = {target_for(kind, self.request_documents).entity_set: kind for kind in TARGETS}
        answer = self.client.call_json("GetDocuments", Person=person_ref, Objects=",".join(kinds), Limit=limit)
        items = answer.get("items")
        if not isinstance(items, list) or any(not isinstance(i, dict) or i.get("object") not in kinds for i in items):
            raise OneCDataError("b24sync.GetDocuments returned no 'items' list of the documents asked for")
        return newest([PersonDocument(kind=kinds[item["object"]], ref=normalize.required_ref(item.get("ref"), "ref"),
                                      number=normalize.text(item.get("number")),
                                      date=normalize.date(item.get("date"), "date"),
                                      status=normalize.text(item.get("status")),
                                      comment=hr_comment(normalize.text(item.get("comment")))) for item in items], limit)

    def vacation_balance(self, employee_ref: str, on_date: dt.date) -> VacationBalance:
        answer = self.client.call_json("GetVacationBalance", Employee=employee_ref, Date=on_date)
        by_kind = tuple(
            VacationKindBalance(normalize.text(row.get("kind")), normalize.number(row.get("days"), "days"))
            for row in answer.get("by_kind", [])
        )
        return VacationBalance(
            employee_ref=normalize.required_ref(answer.get("employee"), "employee"),
            as_of=normalize.date(answer.get("date"), "date") or on_date,
            days=normalize.number(answer.get("days"), "days"),
            by_kind=by_kind,
        )

    def write_document(self, kind: str, entity_set: str, fields: Mapping[str, Any], key: str) -> RequestRef:
        """b24sync.WriteDocument finds the document holding ``key`` before writing one: safe to retry."""
        answer = self.client.call_json("WriteDocument", Object=entity_set,
                                       Fields=json.dumps(dict(fields), ensure_ascii=False), Key=key)
        return RequestRef(kind=kind, ref=normalize.required_ref(answer.get("ref"), "ref"),
                          number=normalize.text(answer.get("number")))

    def request_status(self, request: RequestRef) -> RequestStatus:
        answer = self.client.call_json("GetRequestStatus", Ref=request.ref)
        return RequestStatus(ref=request.ref, number=normalize.text(answer.get("number")),
                             status=normalize.text(answer.get("status")),
                             comment=hr_comment(normalize.text(answer.get("comment"))))

    def request_document(self, request: RequestRef) -> RequestDocument:
        answer = self.client.call_json("GetDocument", Ref=request.ref)
        try:
            content = base64.b64decode(answer.get("content_base64", ""), validate=True)
        except ValueError:
            raise OneCDataError("b24sync.GetDocument returned invalid base64") from None
        return RequestDocument(name=normalize.text(answer.get("name")), mime=normalize.text(answer.get("mime")),
                               content=content)


def convert_item(kind: str, item: Mapping[str, Any]) -> Record | None:
    """The ``data`` of a feed item as a domain object (None for a catalog folder)."""
    data = item.get("data")
    if not isinstance(data, dict):
        raise OneCDataError("b24sync item has no 'data' object")
    if kind == "legal_entities":
        return normalize.legal_entity(data, {})
    if kind == "persons":
        return normalize.person(data, {})
    converters: dict[str, Callable[[Mapping[str, Any]], Record]] = {
        "departments": normalize.department,
        "positions": normalize.position,
        "employees": normalize.employee,
        "employments": normalize.employment_state,
    }
    return converters[kind](data)


def _items(package: Mapping[str, Any]) -> list[dict[str, Any]]:
    items = package.get("items")
    if not isinstance(items, list):
        raise OneCDataError("b24sync.GetChanges returned no 'items' list")
    return items


def _kind(item: Mapping[str, Any]) -> str:
    try:
        return ITEM_KINDS[item.get("type")]  # type: ignore[index]
    except KeyError:
        raise OneCDataError("b24sync item has an unknown 'type'") from None


def _version(package: Mapping[str, Any]) -> int:
    try:
        return int(package["version"])
    except (KeyError, TypeError, ValueError):
        raise OneCDataError("b24sync.GetChanges returned no 'version'") from None


def _item_states(package: Mapping[str, Any]) -> Iterator[tuple[str, str, Record | None]]:
    """(kind, ref, current record, or None once deleted or unusable) of each item, in feed order."""
    for item in _items(package):
        kind = _kind(item)
        yield kind, normalize.required_ref(item.get("ref"), "ref"), \
            None if item.get("deleted") else convert_item(kind, item)


def _drain(records: dict[str, Record]) -> Iterator[Record]:
    """The records in order, each dropped from ``records`` as it is yielded."""
    for ref in list(records):
        yield records.pop(ref)
