"""Event handlers, online delivery, the offline queue; methods ``event.*`` (REST docs: api-reference/events/)."""
from __future__ import annotations

import hashlib
import secrets
from typing import TYPE_CHECKING, Any

from .listing import Query, paginate
from .registry import KNOWN_EVENTS, Call, RestError, declare_events, method

if TYPE_CHECKING:
    from .state import App, PortalState

declare_events("ONAPPINSTALL", "ONAPPUPDATE", "ONAPPUNINSTALL", "ONUSERADD", "ONSONETGROUPADD",
               "ONSONETGROUPUPDATE", "ONSONETGROUPDELETE", "ONOFFLINEEVENT",
               "ONLISTSELEMENTADD", "ONLISTSELEMENTUPDATE", "ONLISTSELEMENTDELETE",
               "ONTASKADD", "ONTASKUPDATE", "ONTASKDELETE")
declare_events("ONUSERUPDATE")  # [not in the docs: no page lists it; inferred] fired by user.update here
# auth with refresh_token, as the samples of REST docs: api-reference/events/index.md (ONAPPINSTALL) and
# api-reference/events/on-offline-event.md show it [not in the docs: that other events carry none]
REFRESH_TOKEN_EVENTS = {"ONAPPINSTALL", "ONOFFLINEEVENT"}


class EventHub:
    def __init__(self, portal: PortalState) -> None:
        self.portal = portal
        self.clear()

    def clear(self) -> None:
        self.bindings: dict[int, dict[str, Any]] = {}
        self.offline: dict[int, dict[str, Any]] = {}
        self.sequence = {"binding": 0, "offline": 0}

    # -- bindings ---------------------------------------------------------------------------------

    def bind(self, client_id: str, fields: dict[str, Any]) -> dict[str, Any]:
        self.sequence["binding"] += 1
        binding = {"ID": self.sequence["binding"], "client_id": client_id, **fields}
        self.bindings[binding["ID"]] = binding
        return binding

    def of_app(self, client_id: str) -> list[dict[str, Any]]:
        return [binding for binding in self.bindings.values() if binding["client_id"] == client_id]

    def unbind_app(self, client_id: str) -> None:
        for binding in self.of_app(client_id):
            del self.bindings[binding["ID"]]

    # -- firing -----------------------------------------------------------------------------------

    def fire(self, event: str, data: dict[str, Any], *, user_id: int | None) -> None:
        """Queue ``event`` for every handler of an installed app (nothing before installFinish:
        REST docs: settings/app-installation/installation-finish.md)."""
        event = event.upper()
        for binding in [binding for binding in self.bindings.values() if binding["event"] == event]:
            app = self.portal.app(binding["client_id"])
            if app is None or not app.installed or not app.active:
                continue
            if binding["event_type"] == "offline":
                self._enqueue_offline(app, event, data, user_id)
            else:
                self._deliver(app, binding, event, data, user_id)

    def _deliver(self, app: App, binding: dict[str, Any], event: str, data: dict[str, Any],
                 user_id: int | None) -> None:
        acting = binding["auth_type"] or user_id
        payload = {"event": event, "event_handler_id": str(binding["ID"]), "data": data,
                   "ts": str(int(self.portal.clock.now())), "auth": self.auth_block(app, acting, event)}
        self.portal.dispatcher.submit(binding["handler"], payload)

    def auth_block(self, app: App, user_id: int | None, event: str) -> dict[str, Any]:
        """The ``auth[...]`` of a delivery: no tokens when no user acted
        (REST docs: _includes/auth-params-in-events.md)."""
        block: dict[str, Any] = {"domain": self.portal.domain, "client_endpoint": self.portal.rest_url,
                                 "server_endpoint": self.portal.server_endpoint, "member_id": self.portal.member_id,
                                 "application_token": app.application_token}
        if not user_id:
            return block
        token = self.portal.issue_token(app.client_id, user_id)
        block.update({"access_token": token["access_token"], "expires": str(token["expires"]),
                      "expires_in": str(token["expires_in"]), "scope": token["scope"], "status": app.status,
                      "user_id": str(user_id)})
        if event in REFRESH_TOKEN_EVENTS:
            block["refresh_token"] = token["refresh_token"]
        return block

    def deliver_to_bound(self, app: App, event: str, data: dict[str, Any], auth: dict[str, Any]) -> None:
        """Lifecycle events (ONAPPINSTALL/UPDATE/UNINSTALL) with a prepared auth block."""
        for binding in self.of_app(app.client_id):
            if binding["event"] == event and binding["event_type"] == "online":
                payload = {"event": event, "event_handler_id": str(binding["ID"]), "data": data,
                           "ts": str(int(self.portal.clock.now())), "auth": auth}
                self.portal.dispatcher.submit(binding["handler"], payload)

    # -- offline queue ----------------------------------------------------------------------------

    def _enqueue_offline(self, app: App, event: str, data: dict[str, Any], user_id: int | None) -> None:
        """Deduplicated per object: N changes of one entity = one record with the latest data
        (REST docs: api-reference/events/offline-events.md)."""
        object_id = str(data.get("ID") or (data.get("FIELDS") or {}).get("ID") or "")
        message_id = hashlib.md5(f"{event}|{object_id}".encode()).hexdigest() if object_id else secrets.token_hex(16)
        now = self.portal.iso(self.portal.clock.now())
        additional = {"user_id": str(user_id)} if user_id else False
        for record in self.offline.values():
            if record["client_id"] == app.client_id and record["MESSAGE_ID"] == message_id \
                    and not record["PROCESS_ID"]:
                record.update({"TIMESTAMP_X": now, "EVENT_DATA": data, "EVENT_ADDITIONAL": additional})
                return
        self.sequence["offline"] += 1
        record_id = self.sequence["offline"]
        self.offline[record_id] = {"ID": record_id, "client_id": app.client_id, "TIMESTAMP_X": now,
                                   "EVENT_NAME": event, "EVENT_DATA": data, "EVENT_ADDITIONAL": additional,
                                   "MESSAGE_ID": message_id, "PROCESS_ID": "", "ERROR": 0}
        self.fire("ONOFFLINEEVENT", {"type": "add", "event": event, "minTimeout": 5}, user_id=None)

    def snapshot(self) -> dict[str, Any]:
        return {"bindings": self.bindings, "offline": self.offline, "sequence": self.sequence}

    def restore(self, data: dict[str, Any]) -> None:
        self.bindings = {int(key): value for key, value in data.get("bindings", {}).items()}
        self.offline = {int(key): value for key, value in data.get("offline", {}).items()}
        self.sequence.update(data.get("sequence", {}))


def _hub(call: Call) -> EventHub:
    return call.portal.events  # type: ignore[attr-defined]


def _require_admin(call: Call) -> None:
    if not call.portal.is_admin(call.user_id):
        raise RestError("ACCESS_DENIED", "Access denied! Administrator authorization required", 403)


@method("event.bind", scope="basic", app_only=True, server_time_s=0.02)
def event_bind(call: Call) -> bool:
    event = str(call.param("event", "")).upper()
    if event not in KNOWN_EVENTS:
        raise RestError("ERROR_EVENT_NOT_FOUND", "Event not found")
    event_type = str(call.param("event_type", "online")).lower()
    handler = str(call.param("handler", "") or "")
    auth_type = int(call.param("auth_type", 0) or 0)
    if not call.portal.is_admin(call.user_id) and (event_type == "offline" or auth_type not in (0, call.user_id)):
        raise RestError("ACCESS_DENIED", "Access denied! Administrator authorization required", 403)
    if event_type == "online" and not handler.startswith(("http://", "https://")):
        raise RestError("ERROR_ARGUMENT", "Argument 'handler' is null or empty", argument="handler")
    if any(_same_binding(binding, event, handler, event_type, auth_type) for binding in _hub(call).of_app(call.client_id)):
        raise RestError("ERROR_CORE", "Handler already binded")  # [inferred] exact text of a duplicate bind
    _hub(call).bind(call.client_id or "", {"event": event, "handler": handler if event_type == "online" else "",
                                            "auth_type": auth_type, "event_type": event_type,
                                            "auth_connector": str(call.param("auth_connector", "") or "")})
    return True


def _same_binding(binding: dict[str, Any], event: str, handler: str, event_type: str, auth_type: int) -> bool:
    return (binding["event"], binding["handler"], binding["event_type"], binding["auth_type"]) == (
        event, handler if event_type == "online" else "", event_type, auth_type)


@method("event.unbind", scope="basic", app_only=True, server_time_s=0.02)
def event_unbind(call: Call) -> dict[str, int]:
    event = str(call.param("event", "")).upper()
    handler = call.param("handler")
    event_type = str(call.param("event_type", "online")).lower()
    doomed = [binding for binding in _hub(call).of_app(call.client_id)
              if binding["event"] == event and binding["event_type"] == event_type
              and (handler is None or binding["handler"] == handler)
              and (call.param("auth_type") is None or binding["auth_type"] == int(call.param("auth_type")))]
    for binding in doomed:
        del _hub(call).bindings[binding["ID"]]
    return {"count": len(doomed)}


@method("event.get", scope="basic", app_only=True, server_time_s=0.01)
def event_get(call: Call) -> list[dict[str, Any]]:
    return [{"event": binding["event"], "handler": binding["handler"], "auth_type": str(binding["auth_type"]),
             "offline": 1 if binding["event_type"] == "offline" else 0}
            for binding in _hub(call).of_app(call.client_id)]


@method("events", scope="basic", server_time_s=0.01)
def events_list(call: Call) -> list[str]:
    return sorted(KNOWN_EVENTS)


def _offline_public(record: dict[str, Any], *, with_process: bool) -> dict[str, Any]:
    public = {"ID": str(record["ID"]), "TIMESTAMP_X": record["TIMESTAMP_X"], "EVENT_NAME": record["EVENT_NAME"],
              "EVENT_DATA": record["EVENT_DATA"] or False, "EVENT_ADDITIONAL": record["EVENT_ADDITIONAL"],
              "MESSAGE_ID": record["MESSAGE_ID"]}
    if with_process:
        public.update({"PROCESS_ID": record["PROCESS_ID"], "ERROR": str(record["ERROR"])})
    return public


def _app_offline(call: Call) -> list[dict[str, Any]]:
    _require_admin(call)
    return [record for record in _hub(call).offline.values() if record["client_id"] == call.client_id]


@method("event.offline.get", scope="basic", app_only=True, server_time_s=0.02)
def event_offline_get(call: Call) -> dict[str, Any]:
    """Take up to ``limit`` free records; clear=1 deletes them, clear=0 hides them under a process_id."""
    error = int(call.param("error", 0) or 0)
    free = [record for record in _app_offline(call) if not record["PROCESS_ID"] and record["ERROR"] == error]
    query = Query.from_params(call.param("filter") or {}, call.param("order") or {"ID": "ASC"})
    limit = max(1, min(int(call.param("limit", 50) or 50), 1000))
    taken = query.apply(free, _offline_public_for_filter)[:limit]
    clear = int(call.param("clear", 1) or 0) == 1
    process_id = None if clear or not taken else secrets.token_hex(16)
    for record in taken:
        if clear:
            del _hub(call).offline[record["ID"]]
        else:
            record["PROCESS_ID"] = process_id
    return {"process_id": process_id, "events": [_offline_public(record, with_process=False) for record in taken]}


def _offline_public_for_filter(record: dict[str, Any]) -> dict[str, Any]:
    return {**_offline_public(record, with_process=True), "ID": record["ID"]}


def _processed(call: Call) -> list[dict[str, Any]]:
    process_id = call.param("process_id")
    if not process_id:
        raise RestError("ERROR_ARGUMENT", "Argument 'process_id' is null or empty", argument="process_id")
    return [record for record in _app_offline(call) if record["PROCESS_ID"] == process_id]


def _selected(call: Call, records: list[dict[str, Any]], key: str) -> list[dict[str, Any]]:
    ids = call.param(key)
    if not ids:
        return records
    wanted = {str(item) for item in (ids if isinstance(ids, list) else [ids])}
    return [record for record in records if str(record["ID" if key == "id" else "MESSAGE_ID"]) in wanted]


@method("event.offline.clear", scope="basic", app_only=True, server_time_s=0.02)
def event_offline_clear(call: Call) -> bool:
    records = _selected(call, _selected(call, _processed(call), "id"), "message_id")
    for record in records:
        del _hub(call).offline[record["ID"]]
    return True


@method("event.offline.error", scope="basic", app_only=True, server_time_s=0.02)
def event_offline_error(call: Call) -> bool:
    """Mark records as erroneous and release them (fetch later with ``error=1``)."""
    for record in _selected(call, _processed(call), "message_id"):
        record.update({"ERROR": 1, "PROCESS_ID": ""})
    return True


@method("event.offline.list", scope="basic", app_only=True, server_time_s=0.02)
def event_offline_list(call: Call) -> Any:
    query = Query.from_params(call.param("filter") or {}, call.param("order") or {"ID": "ASC"})
    rows = query.apply(_app_offline(call), _offline_public_for_filter)
    return paginate([_offline_public(record, with_process=True) for record in rows], call.param("start"))
