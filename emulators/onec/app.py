"""The WSGI application: Basic auth, fault injection, counters, OData, SOAP and `/_emulator` hooks."""
from __future__ import annotations

import base64
import json
import random
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable
from urllib.parse import parse_qsl

from werkzeug.wrappers import Response

from .generator import generate
from .mutate import mutate
from .odata import DEFAULT_STATUS, ODataService, Request
from .render import json_error
from .schema import ALL_SET_NAMES, SETS
from .soap import B24Sync, SoapFault, fault, request_status, row_data, wsdl
from .store import Store, StoreError

StartResponse = Callable[..., Any]
SOAP_ALIAS = "b24sync.1cws"


@dataclass
class Fault:
    """An injected failure: kind 500 | slow | drop, on the k-th matching call or at a rate."""

    kind: str
    on_call: int | None = None
    rate: float | None = None
    set: str | None = None
    delay_s: float = 2.0
    count: int | None = None
    seen: int = 0
    fired: int = 0

    def triggers(self, target: str, rng: random.Random) -> bool:
        if self.set and self.set != target:
            return False
        self.seen += 1
        limit = self.count if self.count is not None else (1 if self.on_call else None)
        if limit is not None and self.fired >= limit:
            return False
        hit = self.seen == self.on_call if self.on_call else (rng.random() < self.rate if self.rate else True)
        self.fired += hit
        return hit


@dataclass
class Counters:
    requests: int = 0
    by_set: dict[str, int] = field(default_factory=dict)
    by_operation: dict[str, int] = field(default_factory=dict)
    faults: int = 0


class OneCEmulator:
    """A 1C:ZUP infobase published at `/<publication>/` (OData + B24Sync SOAP)."""

    def __init__(self, generate_spec: str, seed: int, login: str, password: str, publication: str,
                 error_status: dict[str, int] | None = None,
                 unpublished: Iterable[str] = ()) -> None:
        self.login, self.password, self.publication = login, password, publication
        self.statuses = {**DEFAULT_STATUS, **(error_status or {})}
        self.lock = threading.RLock()
        self.faults: list[Fault] = []
        self.counters = Counters()
        self.fault_rng = random.Random(seed)
        self.request_no = 0
        self.reset(generate_spec, seed)
        self.published -= set(unpublished)

    def reset(self, generate_spec: str, seed: int) -> None:
        store = generate(generate_spec, seed)
        with self.lock:
            self.store: Store = store
            self.seed, self.generate_spec = seed, generate_spec
            self.published = set(ALL_SET_NAMES)

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        # PATH_INFO arrives latin-1-decoded (PEP 3333, «A Note On String Types»); its bytes are
        # UTF-8
        path = environ.get("PATH_INFO", "").encode("latin-1").decode("utf-8", "replace")
        query = dict(parse_qsl(environ.get("QUERY_STRING", "").encode("latin-1").decode("utf-8", "replace"),
                               keep_blank_values=True))
        method = environ["REQUEST_METHOD"].upper()
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        if path.startswith("/_emulator/"):
            return self.hook(method, path[len("/_emulator/"):], body)(environ, start_response)
        if not self.authorized(environ.get("HTTP_AUTHORIZATION", "")):
            response = Response("Требуется авторизация", 401, {"WWW-Authenticate": 'Basic realm="1C:Enterprise"'},
                                content_type="text/plain; charset=utf-8")
            return response(environ, start_response)
        target = self.target(path, body)
        with self.lock:
            self.count(target)
            fired = next((f for f in self.faults if f.triggers(target, self.fault_rng)), None)
        if fired is not None:
            injected = self.inject(fired, environ, start_response, path)
            if injected is not None:
                return injected
        return self.serve(method, path, query, environ, body)(environ, start_response)

    def authorized(self, header: str) -> bool:
        """Basic credentials decoded as UTF-8 [not in the docs: 1C accepts a Cyrillic login sent in
        UTF-8, as in roman-nevr/Client
        servermodule/src/main/java/ru/yoursolution/servermodule/okhttp/OkHttpTest.java]."""
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            login, _, password = base64.b64decode(encoded).decode("utf-8").partition(":")
        except (ValueError, UnicodeDecodeError):
            return False
        return login == self.login and password == self.password

    def target(self, path: str, body: bytes) -> str:
        """The entity set (or SOAP operation) a request addresses, for counters and faults."""
        odata = f"/{self.publication}/odata/standard.odata/"
        if path.startswith(odata):
            resource = path[len(odata):]
            return resource.split("(")[0].split("/")[0] or "$service"
        if path.startswith(f"/{self.publication}/ws/"):
            for operation in ("GetChanges", "Acknowledge", "GetVacationBalance", "GetEmployments", "GetDocuments", "WriteDocument",
                              "GetRequestStatus", "GetDocument"):
                if f":{operation}".encode() in body or f"<{operation}".encode() in body:
                    return operation
            return "wsdl"
        return path

    def count(self, target: str) -> None:
        self.counters.requests += 1
        bucket = self.counters.by_set if target in ALL_SET_NAMES or target.startswith("$") else \
            self.counters.by_operation
        bucket[target] = bucket.get(target, 0) + 1

    def inject(self, fired: Fault, environ: dict[str, Any], start_response: StartResponse,
               path: str) -> Iterable[bytes] | None:
        with self.lock:
            self.counters.faults += 1
        if fired.kind == "slow":
            time.sleep(fired.delay_s)
            return None
        if fired.kind == "drop":
            return dropped(environ, start_response)
        if "/ws/" in path:
            return Response(fault("http://schemas.xmlsoap.org/soap/envelope/", "Внутренняя ошибка сервера 1С"),
                            500, content_type="text/xml; charset=utf-8")(environ, start_response)
        body = json_error("-1", "Ошибка при выполнении операции над данными: внутренняя ошибка сервера")
        return Response(body, 500, content_type="application/json;charset=utf-8")(environ, start_response)

    def serve(self, method: str, path: str, query: dict[str, str], environ: dict[str, Any],
              body: bytes) -> Response:
        host = environ.get("HTTP_HOST") or f"{environ['SERVER_NAME']}:{environ['SERVER_PORT']}"
        odata = f"/{self.publication}/odata/standard.odata"
        if path == odata or path.startswith(odata + "/"):
            return self.odata(method, path[len(odata):], query, environ, body, f"http://{host}{odata}/")
        if path == f"/{self.publication}/ws/{SOAP_ALIAS}":
            endpoint = f"http://{host}/{self.publication}/ws/{SOAP_ALIAS}"
            if method == "GET" and "wsdl" in {key.lower() for key in query}:
                return Response(wsdl(endpoint), content_type="text/xml; charset=utf-8")
            if method == "POST":
                return self.soap(environ, body)
        return Response("Не найдено", 404, content_type="text/plain; charset=utf-8")

    def odata(self, method: str, resource: str, query: dict[str, str], environ: dict[str, Any], body: bytes,
              root: str) -> Response:
        request = Request(method, resource, query, environ.get("HTTP_ACCEPT", ""), body,
                          environ.get("HTTP_IF_MATCH", ""))
        with self.lock:
            self.request_no += 1
            service = ODataService(self.store, self.published, root, self.seed, self.request_no, self.statuses)
            reply = service.handle(request)
        headers = {"DataServiceVersion": "3.0", **dict(reply.headers)}
        return Response(reply.body, reply.status, headers, content_type=reply.content_type)

    def soap(self, environ: dict[str, Any], body: bytes) -> Response:
        with self.lock:
            reply = B24Sync(self.store).handle(
                body, environ.get("HTTP_SOAPACTION", ""), environ.get("CONTENT_TYPE", ""))
        return Response(reply.body, reply.status, content_type="text/xml; charset=utf-8")

    # hooks ----------------------------------------------------------------------------------------------

    def hook(self, method: str, name: str, body: bytes) -> Response:
        try:
            payload = json.loads(body.decode("utf-8") or "{}")
            if not isinstance(payload, dict):
                raise ValueError("the body must be a JSON object")
            result = self.run_hook(method, name.rstrip("/"), payload)
        except (ValueError, KeyError, TypeError, StoreError, SoapFault) as error:
            return Response(json.dumps({"error": str(error)}, ensure_ascii=False), 400,
                            content_type="application/json")
        if result is None:
            return Response(json.dumps({"error": f"unknown hook {method} /_emulator/{name}"}), 404,
                            content_type="application/json")
        return Response(json.dumps(result, ensure_ascii=False), content_type="application/json")

    def run_hook(self, method: str, name: str, payload: dict[str, Any]) -> Any:
        simple = {
            ("POST", "reset"): lambda: self.hook_reset(payload),
            ("POST", "mutate"): lambda: self.hook_mutate(payload),
            ("POST", "faults"): lambda: self.hook_fault(payload),
            ("DELETE", "faults"): self.clear_faults,
            ("POST", "unpublish"): lambda: self.hook_publish(payload, publish=False),
            ("POST", "publish"): lambda: self.hook_publish(payload, publish=True),
            ("GET", "counters"): self.counter_report,
            ("POST", "counters/reset"): self.reset_counters,
            ("GET", "documents"): self.document_report,
            ("GET", "feed"): self.feed_report,
        }
        if (method, name) in simple:
            return simple[(method, name)]()
        parts = name.split("/")
        if method == "POST" and len(parts) == 3 and parts[0] == "documents" and parts[2] == "status":
            return self.set_status(parts[1], payload)
        if method == "POST" and len(parts) == 3 and parts[0] == "documents" and parts[2] in ("post", "reject"):
            return self.hr_decides(parts[1], parts[2] == "post", str(payload.get("comment", "")))
        return None

    def hook_reset(self, payload: dict[str, Any]) -> dict[str, Any]:
        self.reset(str(payload.get("generate", self.generate_spec)), int(payload.get("seed", self.seed)))
        with self.lock:
            return {"sets": {name: len(table.rows) for name, table in self.store.tables.items()}}

    def hook_mutate(self, payload: dict[str, Any]) -> dict[str, int]:
        with self.lock:
            return mutate(self.store, float(payload.get("percent", 1.0)), int(payload.get("seed", 1)))

    def hook_fault(self, payload: dict[str, Any]) -> dict[str, Any]:
        kind = str(payload.get("kind", ""))
        if kind not in ("500", "slow", "drop"):
            raise ValueError("kind must be one of 500, slow, drop")
        unknown = set(payload) - {"kind", "on_call", "rate", "set", "delay_s", "count"}
        if unknown:
            raise ValueError(f"unknown fault fields: {', '.join(sorted(unknown))}")
        added = Fault(kind, payload.get("on_call"), payload.get("rate"), payload.get("set"),
                      float(payload.get("delay_s", 2.0)), payload.get("count"))
        with self.lock:
            self.faults.append(added)
            return {"faults": len(self.faults)}

    def feed_report(self) -> dict[str, int]:
        """Where the B24Sync change feed is, and what the node acknowledged."""
        with self.lock:
            return {"version": self.store.changes.version, "acknowledged": self.store.changes.acknowledged}

    def clear_faults(self) -> dict[str, int]:
        with self.lock:
            self.faults.clear()
        return {"faults": 0}

    def hook_publish(self, payload: dict[str, Any], publish: bool) -> dict[str, list[str]]:
        names = payload["sets"]
        unknown = [name for name in names if name not in ALL_SET_NAMES]
        if unknown:
            raise ValueError(f"unknown sets: {', '.join(unknown)}")
        with self.lock:
            self.published = self.published | set(names) if publish else self.published - set(names)
            return {"published": sorted(self.published)}

    def counter_report(self) -> dict[str, Any]:
        with self.lock:
            return {"requests": self.counters.requests, "by_set": dict(self.counters.by_set),
                    "by_operation": dict(self.counters.by_operation), "faults": self.counters.faults,
                    "change_version": self.store.changes.version,
                    "acknowledged_version": self.store.changes.acknowledged}

    def reset_counters(self) -> dict[str, int]:
        with self.lock:
            self.counters = Counters()
        return {"requests": 0}

    def document_report(self) -> list[dict[str, Any]]:
        with self.lock:
            report = []
            for set_name, ref in self.store.client_documents:
                row = self.store.get(set_name, ref)
                if row is None:
                    continue
                data = row_data(SETS[set_name], row)
                status, comment = request_status(self.store, set_name, row)
                report.append({"set": set_name, "ref": ref, "number": data["Number"], "status": status,
                               "comment": comment, "fields": data})
            return report

    def hr_decides(self, ref: str, posts: bool, comment: str) -> dict[str, str]:
        """HR in 1C: posts the document (fill checks apply) — or, for a statement that is never posted
        (Posting = Deny), marks it Выполнена — or marks it for deletion with a comment written under the
        request's own lines in Комментарий."""
        with self.lock:
            set_name = self.document_set(ref)
            if posts and not SETS[set_name].postable:
                row = self.store.update(set_name, ref, {"Выполнена": True, "ДатаИсполнения": self.store.now()})
            elif posts:
                row = self.store.post_document(set_name, ref)
            else:
                text = self.store.get(set_name, ref)[SETS[set_name].index("Комментарий")]
                row = self.store.update(set_name, ref, {"DeletionMark": True,
                                                        "Комментарий": f"{text}\n{comment}".strip()})
            return {"ref": ref, "status": request_status(self.store, set_name, row)[0]}

    def document_set(self, ref: str) -> str:
        set_name = next((name for name in SETS if name.startswith("Document_")
                         and self.store.get(name, ref) is not None), None)
        if set_name is None:
            raise KeyError(f"document {ref} not found")
        return set_name

    def set_status(self, ref: str, payload: dict[str, Any]) -> dict[str, str]:
        status, comment = str(payload["status"]), str(payload.get("comment", ""))
        with self.lock:
            set_name = next((name for name in SETS if name.startswith("Document_")
                             and self.store.get(name, ref) is not None), None)
            if set_name is None:
                raise KeyError(f"document {ref} not found")
            definition = SETS[set_name]
            if "Статус" in definition.position:
                values = {"Статус": status, "ДатаРассмотрения": self.store.today.isoformat() + "T00:00:00"}
                if comment:
                    values["Комментарий"] = comment
            else:
                values = {"ЗапросОбработан": status in ("Согласовано", "ЗапросОбработан")}
            self.store.update(set_name, ref, values)
            self.store.request_meta[ref] = {"status": status, "comment": comment}
            return {"ref": ref, "status": request_status(self.store, set_name, self.store.get(set_name, ref))[0]}


def dropped(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
    """Headers and half a body, then the socket is shut: a connection lost mid-read."""
    start_response("200 OK", [("Content-Type", "application/json;charset=utf-8"), ("Content-Length", "65536")])
    yield b'{"odata.metadata": "$metadata#dropped", "value": [{"Ref_Key": "'
    connection = environ.get("werkzeug.socket")
    if connection is not None:
        connection.shutdown(socket.SHUT_RDWR)
