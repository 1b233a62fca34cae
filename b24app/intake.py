"""``/b24/events``, ``/b24/activities/<code>`` and ``/b24/messages``: parse, verify, store in the inbox, answer 200.

Every call is proven by the verifier (``b24app.verify``): 401 and nothing stored otherwise.
"""
from __future__ import annotations

import hashlib
import json
import logging
from typing import Any

from flask import Blueprint, current_app, jsonify
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import HTTPException

from b24app import inbox
from b24app.db import get_db
from b24app.formparse import MalformedBody, parse_request
from b24app.verify import CallRejected, ProofBusy, get_verifier
from b24app.worker import get_executor

log = logging.getLogger(__name__)

bp = Blueprint("b24_intake", __name__, url_prefix="/b24")

SECRET_AUTH_KEYS = ("access_token", "refresh_token", "application_token")


class BadCall(Exception):
    """A structurally invalid call (HTTP 400)."""


@bp.post("/events")
def events():  # type: ignore[no-untyped-def]
    payload = _read_payload()
    name = _required_text(payload, "event").upper()
    member_id = get_verifier(current_app).call(payload, event=name)
    dedupe = _digest({"event": name, "data": payload.get("data"), "ts": payload.get("ts")})
    return _accept(member_id, "event", name, dedupe, payload)


@bp.post("/activities/<code>")
def activity(code: str):  # type: ignore[no-untyped-def]
    payload = _read_payload()
    event_token = _required_text(payload, "event_token")
    if str(payload.get("code", code)).lower() != code.lower():
        raise BadCall("код действия в теле не совпадает с адресом обработчика")
    member_id = get_verifier(current_app).call(payload, event=None)
    return _accept(member_id, "activity", code.lower(), _digest(event_token), payload)


@bp.post("/messages")
def message():  # type: ignore[no-untyped-def]
    """A message the portal asks one of the app's providers to send: the HANDLER of messageservice.sender.add
    (Bitrix24 REST docs: api-reference/messageservice/messageservice-sender-add.md, "What Comes to the Handler").
    One inbox item per provider code and portal message_id, however often the portal posts it."""
    payload = _read_payload()
    kind = _required_text(payload, "type").lower()
    code, message_id = _required_text(payload, "code"), _required_text(payload, "message_id")
    member_id = get_verifier(current_app).call(payload, event=None)
    return _accept(member_id, "message", kind, _digest({"code": code, "message_id": message_id}), payload)


def _read_payload() -> dict[str, Any]:
    try:
        return parse_request()
    except MalformedBody as exc:
        raise BadCall(str(exc)) from exc


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


def _accept(member_id: str, kind: str, name: str, dedupe: str, payload: dict[str, Any]):  # type: ignore[no-untyped-def]
    item_id = inbox.accept(get_db(), member_id=member_id, kind=kind, name=name, dedupe_key=dedupe,
                           payload=_without_secrets(payload))
    if item_id is None:
        return jsonify(result="duplicate")
    get_executor(current_app).notify(item_id, member_id)
    return jsonify(result="accepted", id=item_id)


@bp.errorhandler(BadCall)
def _bad_call(exc: BadCall):  # type: ignore[no-untyped-def]
    return jsonify(error="bad_request", error_description=str(exc)), 400


@bp.errorhandler(CallRejected)
def _rejected(exc: CallRejected):  # type: ignore[no-untyped-def]
    log.warning("rejected call from member_id=%s: %s", exc.member_id or "-", exc.reason)
    return jsonify(error="invalid_application_token", error_description=exc.reason), 401


@bp.errorhandler(ProofBusy)
def _busy(exc: ProofBusy):  # type: ignore[no-untyped-def]
    response = jsonify(error="too_many_requests", error_description="проверка ключей портала занята, повторите позже")
    response.headers["Retry-After"] = "5"
    return response, 429


@bp.errorhandler(SQLAlchemyError)
def _storage_down(exc: SQLAlchemyError):  # type: ignore[no-untyped-def]
    """The call could not be stored: Bitrix24 is told to deliver it again later, nothing is half-kept."""
    log.error("inbox unavailable: %s", type(exc).__name__)
    response = jsonify(error="temporarily_unavailable", error_description="очередь временно недоступна")
    response.headers["Retry-After"] = "10"
    return response, 503


@bp.errorhandler(HTTPException)
def _http_error(exc: HTTPException):  # type: ignore[no-untyped-def]
    response = jsonify(error=exc.name.lower().replace(" ", "_"), error_description=exc.description)
    if exc.code == 413:  # the rest of the body is never read: close instead of draining it
        response.headers["Connection"] = "close"
    return response, exc.code
