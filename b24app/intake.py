"""``/b24/events``, ``/b24/activities/<code>`` and ``/b24/messages``: parse, verify, store in the inbox, answer 200.

Every call is proven by the verifier (``b24app.verify``): 401 and nothing stored otherwise.

These routes take every event of every portal, so they are served by :class:`Intake`, a WSGI layer in
front of Flask that handles exactly ``POST`` to them and hands every other request to Flask: no request
or app context, URL map, hooks or response object per call, with the same guarantees — the body read
within the 1 MiB limit (413, chunked bodies included) and parsed with bounds before verification
(``b24app.formparse``), the call verified, its inbox row committed before the 200 (exactly once by its
key), a clear 4xx for anything malformed or forged, 503 when the inbox cannot store it.
"""
from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import HTTPException
from werkzeug.http import HTTP_STATUS_CODES

from b24app import inbox
from b24app.db import get_db
from b24app.formparse import MalformedBody, parse_body, read_body
from b24app.metrics import PAGE_SECONDS
from b24app.verify import CallRejected, ProofBusy, get_verifier
from b24app.worker import get_executor

log = logging.getLogger(__name__)

SECRET_AUTH_KEYS = ("access_token", "refresh_token", "application_token")
ACTIVITIES = "/b24/activities/"

Answer = tuple[int, dict[str, Any], list[tuple[str, str]]]
Handler = Callable[["Intake", dict[str, Any], str], dict[str, Any]]


class BadCall(Exception):
    """A structurally invalid call (HTTP 400)."""


class Intake:
    """WSGI: the intake routes served here, every other request by ``fallback`` (the Flask app)."""

    def __init__(self, app: Flask, fallback: Callable[..., Iterable[bytes]]) -> None:
        self.app = app
        self.fallback = fallback
        self.limit: int = app.config["MAX_CONTENT_LENGTH"]

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        route = _route(environ) if environ.get("REQUEST_METHOD") == "POST" else None
        if route is None:
            return self.fallback(environ, start_response)
        started = time.perf_counter()
        (handler, endpoint), code = route
        status, answer, headers = self._answer(handler, code, environ)
        body = json.dumps(answer, ensure_ascii=False, separators=(",", ":")).encode()
        start_response(f"{status} {HTTP_STATUS_CODES[status]}", [
            ("Content-Type", "application/json"), ("Content-Length", str(len(body))), *headers])
        PAGE_SECONDS.labels(endpoint).observe(time.perf_counter() - started)
        return [body]

    def _answer(self, handler: Handler, code: str, environ: dict[str, Any]) -> Answer:
        try:
            payload = parse_body(read_body(environ, self.limit), environ.get("CONTENT_TYPE"))
            return 200, handler(self, payload, code), []
        except (MalformedBody, BadCall) as exc:
            return 400, {"error": "bad_request", "error_description": str(exc)}, []
        except CallRejected as exc:
            log.warning("rejected call from member_id=%s: %s", exc.member_id or "-", exc.reason)
            return 401, {"error": "invalid_application_token", "error_description": exc.reason}, []
        except ProofBusy:
            return 429, {"error": "too_many_requests",
                         "error_description": "проверка ключей портала занята, повторите позже"}, [("Retry-After", "5")]
        except (inbox.InboxUnavailable, SQLAlchemyError) as exc:
            # the call could not be stored: Bitrix24 is told to deliver it again later, nothing is half-kept
            log.error("inbox unavailable: %s", exc)
            return 503, {"error": "temporarily_unavailable",
                         "error_description": "очередь временно недоступна"}, [("Retry-After", "10")]
        except HTTPException as exc:  # 413 and a client gone while sending its body
            # after a 413 the rest of the body is never read: close instead of draining it
            headers = [("Connection", "close")] if exc.code == 413 else []
            return exc.code or 400, {"error": exc.name.lower().replace(" ", "_"),
                                     "error_description": exc.description or ""}, headers

    # -- the routes ----------------------------------------------------------------------------

    def events(self, payload: dict[str, Any], _code: str) -> dict[str, Any]:
        name = _required_text(payload, "event").upper()
        member_id = get_verifier(self.app).call(payload, event=name)
        dedupe = _digest({"event": name, "data": payload.get("data"), "ts": payload.get("ts")})
        return self._accept(member_id, "event", name, dedupe, payload)

    def activity(self, payload: dict[str, Any], code: str) -> dict[str, Any]:
        event_token = _required_text(payload, "event_token")
        if str(payload.get("code", code)).lower() != code.lower():
            raise BadCall("код действия в теле не совпадает с адресом обработчика")
        member_id = get_verifier(self.app).call(payload, event=None)
        return self._accept(member_id, "activity", code.lower(), _digest(event_token), payload)

    def message(self, payload: dict[str, Any], _code: str) -> dict[str, Any]:
        """A message the portal asks one of the app's providers to send: the HANDLER of messageservice.sender.add
        (Bitrix24 REST docs: api-reference/messageservice/messageservice-sender-add.md, "What Comes to the Handler").
        One inbox item per provider code and portal message_id, however often the portal posts it."""
        kind = _required_text(payload, "type").lower()
        code, message_id = _required_text(payload, "code"), _required_text(payload, "message_id")
        member_id = get_verifier(self.app).call(payload, event=None)
        return self._accept(member_id, "message", kind, _digest({"code": code, "message_id": message_id}), payload)

    def _accept(self, member_id: str, kind: str, name: str, dedupe: str, payload: dict[str, Any]) -> dict[str, Any]:
        item_id = inbox.accept(get_db(self.app), member_id=member_id, kind=kind, name=name, dedupe_key=dedupe,
                               payload=_without_secrets(payload))
        if item_id is None:
            return {"result": "duplicate"}
        get_executor(self.app).notify(item_id, member_id)
        return {"result": "accepted", "id": item_id}


ROUTES: dict[str, tuple[Handler, str]] = {  # path -> handler, endpoint name (the request-time metric's label)
    "/b24/events": (Intake.events, "b24_intake.events"),
    "/b24/messages": (Intake.message, "b24_intake.message"),
}
ACTIVITY_ROUTE: tuple[Handler, str] = (Intake.activity, "b24_intake.activity")


def _route(environ: dict[str, Any]) -> tuple[tuple[Handler, str], str] | None:
    """The handler of an intake path and the ``<code>`` of an activity path; None for any other path."""
    path: str = environ.get("PATH_INFO", "")
    if path in ROUTES:
        return ROUTES[path], ""
    if path.startswith(ACTIVITIES):
        code = path[len(ACTIVITIES):].encode("latin-1").decode("utf-8", "replace")  # as werkzeug decodes it
        if code and "/" not in code:
            return ACTIVITY_ROUTE, code
    return None


def _required_text(payload: dict[str, Any], key: str) -> str:
    value = payload.get(key)
    if not isinstance(value, str) or not value.strip():
        raise BadCall(f"не передано поле {key}")
    return value.strip()


def _digest(value: Any) -> str:
    canonical = json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _without_secrets(payload: dict[str, Any]) -> dict[str, Any]:
    auth = payload.get("auth")
    if not isinstance(auth, dict):
        return payload
    return {**payload, "auth": {k: v for k, v in auth.items() if k not in SECRET_AUTH_KEYS}}


def init_app(app: Flask) -> None:
    """Put the intake in front of the app's WSGI callable."""
    app.wsgi_app = Intake(app, app.wsgi_app)  # type: ignore[method-assign]
