"""Portal-level methods: ``app.info``, ``app.option.*``, ``profile``, ``server.time``, ``scope``, ``methods``."""
from __future__ import annotations

from typing import Any

from .registry import METHODS, Call, RestError, method
from .state import ALL_SCOPES, App, portal_state

LICENSES = {"standard": ("ru_company", "company", "company"), "enterprise": ("ru_ent250", "ent250", "ent")}
RESERVED_OPTIONS = {"next", "total"}  # REST docs: api-reference/common/settings/app-option-set.md


def _app(call: Call) -> App:
    app = portal_state(call).app(call.client_id or "")
    if app is None:
        raise RestError("APPLICATION_NOT_FOUND", "Application not found", 401)
    return app


@method("app.info", scope="basic", server_time_s=0.01)
def app_info(call: Call) -> dict[str, Any]:
    """The app the token was issued to; ``INSTALLED`` stays false until installFinish; outside an app's
    context ACCESS_DENIED with HTTP 400 (b24restdocs api-reference/common/system/app-info.md)."""
    if call.client_id is None:
        raise RestError("ACCESS_DENIED", "Access denied! Application context required", 400)
    app = _app(call)
    license_, license_type, family = LICENSES[portal_state(call).options.plan]
    return {"ID": app.app_id, "CODE": app.client_id, "VERSION": app.version, "STATUS": app.status,
            "INSTALLED": app.installed, "PAYMENT_EXPIRED": "N", "DAYS": None, "LANGUAGE_ID": "ru",
            "LICENSE": license_, "LICENSE_TYPE": license_type, "LICENSE_FAMILY": family}


@method("app.option.set", scope="basic", app_only=True, admin_only=True, server_time_s=0.01)
def app_option_set(call: Call) -> bool:
    """Only the passed keys are overwritten, JSON types kept."""
    options = call.param("options")
    if not isinstance(options, dict) or not options:
        raise RestError("ERROR_ARGUMENT", "Argument 'options' is null or empty", argument="options")
    reserved = RESERVED_OPTIONS.intersection(str(key).lower() for key in options)
    if reserved:
        raise RestError("ERROR_ARGUMENT", f"Option name '{sorted(reserved)[0]}' is reserved", argument="options")
    _app(call).options.update(options)
    return True


@method("app.option.get", scope="basic", app_only=True, server_time_s=0.01)
def app_option_get(call: Call) -> Any:
    options = _app(call).options
    name = call.param("option")
    return options.get(str(name)) if name else options


@method("profile", scope="basic", server_time_s=0.01)
def profile(call: Call) -> dict[str, Any]:
    user = portal_state(call).user(call.user_id) or {}
    return {"ID": str(user.get("ID", call.user_id)), "ADMIN": bool(user.get("ADMIN")), "NAME": user.get("NAME", ""),
            "LAST_NAME": user.get("LAST_NAME", ""), "PERSONAL_GENDER": user.get("PERSONAL_GENDER", ""),
            "PERSONAL_PHOTO": user.get("PERSONAL_PHOTO"), "TIME_ZONE": "Europe/Moscow",
            "TIME_ZONE_OFFSET": portal_state(call).options.tz_offset_h * 3600}


@method("server.time", scope="basic", server_time_s=0.01)
def server_time(call: Call) -> str:
    return portal_state(call).iso(portal_state(call).clock.now())


@method("scope", scope="basic", server_time_s=0.01)
def scope(call: Call) -> list[str]:
    """The caller's scopes, or every scope of the portal with ``full=true``."""
    if str(call.param("full", "")).lower() in ("true", "1", "y"):
        return list(ALL_SCOPES)
    return sorted(call.scopes)


@method("methods", scope="basic", server_time_s=0.01)
def methods(call: Call) -> list[str]:
    wanted = call.param("scope")
    everything = str(call.param("full", "")).lower() in ("true", "1", "y")
    return sorted(name for name, spec in METHODS.items()
                  if (spec.scope == wanted if wanted else (everything or spec.scope in call.scopes
                                                           or spec.scope in ("basic", "app"))))


@method("user.admin", scope="basic", server_time_s=0.01)
def user_admin(call: Call) -> bool:
    return portal_state(call).is_admin(call.user_id)
