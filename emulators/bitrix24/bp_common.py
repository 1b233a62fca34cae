"""Small pieces shared by the lists, bizproc and runtime modules."""
from __future__ import annotations

import threading
from datetime import datetime, timezone
from typing import Any

from .registry import Call, Portal, RestError


def portal_lock(portal: Portal) -> threading.RLock:
    """One lock for lists + bizproc state, so the runtime never has to order two locks."""
    return portal.feature("bp_lock", threading.RLock)


def now_iso(portal: Portal | None = None) -> str:
    """ISO-8601 with offset, as results carry dates; the portal's clock and zone when there is a portal."""
    iso = getattr(portal, "iso", None)
    if iso is not None:
        return iso(portal.clock.now())  # type: ignore[union-attr]
    return datetime.now(timezone.utc).astimezone().isoformat(timespec="seconds")


def as_int(value: Any) -> int | None:
    """``intval``-like but None for anything that is not an integer."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return None


def user_id_of(value: Any) -> int | None:
    """``5``, ``"5"`` or ``"user_5"`` -> 5."""
    text = str(value).strip()
    if text.startswith("user_"):
        text = text[5:]
    return as_int(text)


def required(call: Call, name: str, code: str = "ERROR_REQUIRED_PARAMETERS_MISSING") -> Any:
    """A required parameter or the lists-style error (lists docs: "Required parameter `X` is missing")."""
    value = call.param(name)
    if value is None or value == "" or value == [] or value == {}:
        raise RestError(code, f"Required parameter `{name}` is missing", 400)
    return value


def dict_param(call: Call, name: str) -> dict:
    """A parameter that must be an object (form-encoded empty objects arrive as '' or [])."""
    value = call.param(name)
    if value in (None, "", []):
        return {}
    if not isinstance(value, dict):
        raise RestError("ERROR_ARGUMENT", f"Argument '{name}' must be an object", 400, argument=name)
    return value
