"""Test hooks under ``/_emulator/`` (docs/architecture.md), JSON in and out."""
from __future__ import annotations

import json
import secrets
from dataclasses import asdict
from typing import Any, Callable

from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from . import apps
from .faults import Fault, FaultSpecError
from .registry import HOOKS, METHODS
from .sonet import create_group, public_group
from .state import ALL_SCOPES, PortalState, Webhook
from .users import accept_invite, log_in, public_user, seed_user

Hook = Callable[[PortalState, dict[str, Any]], Any]


class HookError(Exception):
    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def _body(request: Request) -> Any:
    raw = request.get_data(as_text=True)
    if not raw.strip():
        return {}
    try:
        return json.loads(raw)
    except ValueError as error:
        raise HookError(f"body is not JSON: {error.msg}") from error


def _object(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise HookError("body must be a JSON object")
    return body


def _user_id(value: Any, portal: PortalState) -> int:
    if not str(value).isdigit() or portal.user(int(value)) is None:
        raise HookError(f"unknown user {value!r}", 404)
    return int(value)


def _app(portal: PortalState, client_id: str) -> apps.App:
    app = portal.app(client_id)
    if app is None:
        raise HookError(f"unknown app {client_id!r}", 404)
    return app


# -- hooks ----------------------------------------------------------------------------------------

def reset(portal: PortalState, body: Any) -> dict[str, Any]:
    """Deliver what is queued (without the lock: handlers may call back), then forget everything."""
    portal.dispatcher.flush()
    with portal.lock:
        portal.clear()
    return {"ok": True}


def dump_state(portal: PortalState, body: Any) -> dict[str, Any]:
    return portal.snapshot()


def register_app(portal: PortalState, body: Any) -> dict[str, Any]:
    try:
        app = apps.register_app(portal, _object(body))
    except apps.AppSpecError as error:
        raise HookError(str(error)) from error
    return {"client_id": app.client_id, "client_secret": app.client_secret, "app_id": app.app_id,
            "application_token": app.application_token}


def list_apps(portal: PortalState, body: Any) -> list[dict[str, Any]]:
    return [asdict(app) for app in portal.apps.values()]


def finish_install(portal: PortalState, body: Any, client_id: str) -> dict[str, Any]:
    _app(portal, client_id)
    user_id = _user_id(_object(body).get("user_id", 1), portal)
    return {"installed": apps.finish_install(portal, client_id, user_id).installed}


def update_app(portal: PortalState, body: Any, client_id: str) -> dict[str, Any]:
    _app(portal, client_id)
    body = _object(body)
    version = body.get("version", 0)
    if not isinstance(version, int):
        raise HookError("version must be an integer")
    app = apps.update(portal, client_id, version, _user_id(body.get("user_id", 1), portal))
    return {"version": app.version, "application_token": app.application_token}


def uninstall_app(portal: PortalState, body: Any, client_id: str) -> dict[str, Any]:
    _app(portal, client_id)
    apps.uninstall(portal, client_id, bool(_object(body).get("clean", True)))
    return {"uninstalled": True}


def seed_users(portal: PortalState, body: Any) -> Any:
    """One user object -> ``{"ID"}``; a list of them -> ``{"IDs": [...]}``."""
    items = body if isinstance(body, list) else [_object(body)]
    try:
        ids = [seed_user(portal, _object(item))["ID"] for item in items]
    except ValueError as error:
        raise HookError(str(error)) from error
    return {"ID": ids[0]} if not isinstance(body, list) else {"IDs": ids}


def accept(portal: PortalState, body: Any, user_id: str) -> dict[str, Any]:
    return public_user(portal, accept_invite(portal, _user_id(user_id, portal)))


def login(portal: PortalState, body: Any, user_id: str) -> dict[str, Any]:
    """The user signs in to the portal now (portal clock)."""
    try:
        return public_user(portal, log_in(portal, _user_id(user_id, portal)))
    except ValueError as error:
        raise HookError(str(error), 409) from error


def seed_group(portal: PortalState, body: Any) -> dict[str, Any]:
    """A workgroup owned by ``OWNER_ID`` (default admin); ``EXTRANET: true`` binds it to the extranet site."""
    body = _object(body)
    if not str(body.get("NAME") or "").strip():
        raise HookError("NAME is required")
    owner = _user_id(body.get("OWNER_ID", 1), portal)
    sites = [portal.options.intranet_site] + ([portal.options.extranet_site] if body.get("EXTRANET") else [])
    fields = {key.upper(): value for key, value in body.items() if key.upper() != "EXTRANET"}
    return public_group(portal, create_group(portal, {**fields, "SITE_ID": sites}, owner))


def add_webhook(portal: PortalState, body: Any) -> dict[str, Any]:
    body = _object(body)
    user_id = _user_id(body.get("user_id", 1), portal)
    scopes = body.get("scopes") or list(ALL_SCOPES)
    if not isinstance(scopes, list):
        raise HookError("scopes must be a list")
    hook = Webhook(portal.next_id("webhooks"), user_id, secrets.token_hex(8), [str(scope) for scope in scopes])
    portal.webhooks[hook.code] = hook
    return {"url": f"{portal.rest_url}{user_id}/{hook.code}/", "user_id": user_id, "code": hook.code}


def issue_tokens(portal: PortalState, body: Any) -> dict[str, Any]:
    body = _object(body)
    app = _app(portal, str(body.get("client_id", "")))
    return portal.issue_token(app.client_id, _user_id(body.get("user_id", 1), portal))


def expire_tokens(portal: PortalState, body: Any) -> dict[str, Any]:
    return {"expired": portal.tokens.expire(_object(body).get("access_token"))}


def add_fault(portal: PortalState, body: Any) -> dict[str, Any]:
    try:
        fault = Fault.from_json(_object(body))
    except FaultSpecError as error:
        raise HookError(str(error)) from error
    portal.faults.add(fault)
    return {"faults": len(portal.faults.faults)}


def clear_faults(portal: PortalState, body: Any) -> dict[str, Any]:
    portal.faults.clear()
    return {"faults": 0}


def counters(portal: PortalState, body: Any) -> dict[str, Any]:
    return portal.counters.snapshot()


def reset_counters(portal: PortalState, body: Any) -> dict[str, Any]:
    portal.counters.reset()
    return portal.counters.snapshot()


def set_method_times(portal: PortalState, body: Any) -> dict[str, float]:
    """``{method: seconds}`` overrides the charged server time of methods."""
    body = _object(body)
    for name, seconds in body.items():
        if name.lower() not in METHODS or not isinstance(seconds, (int, float)) or seconds < 0:
            raise HookError(f"bad method time {name!r}: {seconds!r}")
    portal.method_times.update({name.lower(): float(seconds) for name, seconds in body.items()})
    return portal.method_times


def notifications(portal: PortalState, body: Any) -> list[dict[str, Any]]:
    return list(portal.tables["notifications"].values())


def event_log(portal: PortalState, body: Any) -> list[dict[str, Any]]:
    return portal.dispatcher.log


def install_app(portal: PortalState, body: Any, client_id: str) -> dict[str, Any]:
    """Locks only around its own state changes: the install page calls REST back meanwhile."""
    with portal.lock:
        _app(portal, client_id)
        user_id = _user_id(_object(body).get("user_id", 1), portal)
    return apps.install(portal, client_id, user_id)


def flush_events(portal: PortalState, body: Any) -> dict[str, Any]:
    portal.dispatcher.flush()
    return {"ok": True, "delivered": len(portal.dispatcher.log)}


# Hooks that must not hold the portal lock: they wait for, or talk to, the application.
UNLOCKED: dict[str, Callable[..., Any]] = {"install": install_app, "reset": reset, "flush": flush_events}

URLS = Map([
    Rule("/_emulator/reset", methods=["POST"], endpoint="reset"),
    Rule("/_emulator/state", methods=["GET"], endpoint=dump_state),
    Rule("/_emulator/apps", methods=["POST"], endpoint=register_app),
    Rule("/_emulator/apps", methods=["GET"], endpoint=list_apps),
    Rule("/_emulator/apps/<client_id>/install", methods=["POST"], endpoint="install"),
    Rule("/_emulator/apps/<client_id>/install-finish", methods=["POST"], endpoint=finish_install),
    Rule("/_emulator/apps/<client_id>/update", methods=["POST"], endpoint=update_app),
    Rule("/_emulator/apps/<client_id>/uninstall", methods=["POST"], endpoint=uninstall_app),
    Rule("/_emulator/users", methods=["POST"], endpoint=seed_users),
    Rule("/_emulator/users/<user_id>/accept-invite", methods=["POST"], endpoint=accept),
    Rule("/_emulator/users/<user_id>/login", methods=["POST"], endpoint=login),
    Rule("/_emulator/groups", methods=["POST"], endpoint=seed_group),
    Rule("/_emulator/webhooks", methods=["POST"], endpoint=add_webhook),
    Rule("/_emulator/tokens", methods=["POST"], endpoint=issue_tokens),
    Rule("/_emulator/tokens/expire", methods=["POST"], endpoint=expire_tokens),
    Rule("/_emulator/faults", methods=["POST"], endpoint=add_fault),
    Rule("/_emulator/faults", methods=["DELETE"], endpoint=clear_faults),
    Rule("/_emulator/counters", methods=["GET"], endpoint=counters),
    Rule("/_emulator/counters/reset", methods=["POST"], endpoint=reset_counters),
    Rule("/_emulator/method-times", methods=["POST"], endpoint=set_method_times),
    Rule("/_emulator/notifications", methods=["GET"], endpoint=notifications),
    Rule("/_emulator/events/flush", methods=["POST"], endpoint="flush"),
    Rule("/_emulator/events/log", methods=["GET"], endpoint=event_log),
])


def handle(portal: PortalState, request: Request) -> Response:
    try:
        feature_hook = HOOKS.get((request.method, request.path.rstrip("/")))
        if feature_hook is not None:
            return _json(feature_hook(portal, _body(request)), 200)
        endpoint, args = URLS.bind_to_environ(request.environ).match()
        body = _body(request)
        if isinstance(endpoint, str):
            result = UNLOCKED[endpoint](portal, body, **args)
        else:
            with portal.lock:
                result = endpoint(portal, body, **args)
    except HookError as error:
        return _json({"error": str(error)}, error.status)
    except HTTPException as error:
        return _json({"error": error.name}, error.code or 404)
    except KeyError as error:
        return _json({"error": f"not found: {error}"}, 404)
    return _json(result, 200)


def _json(body: Any, status: int) -> Response:
    """Readable cross-origin too: the BX24.js shim calls install-finish from the app's page."""
    return Response(json.dumps(body, ensure_ascii=False, default=str), status,
                    content_type="application/json; charset=utf-8", headers={"Access-Control-Allow-Origin": "*"})
