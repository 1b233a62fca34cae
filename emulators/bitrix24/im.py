"""``im.notify.system.add`` / ``im.notify.personal.add``: notifications are stored
(REST docs: api-reference/chats/notifications/im-notify-system-add.md, im-notify-personal-add.md)."""
from __future__ import annotations

import json
from typing import Any

from .registry import Call, RestError, method
from .state import PortalState

ATTACH_LIMIT_BYTES = 30 * 1024


def notify(portal: PortalState, user_id: int, message: str, *, kind: str = "system", from_user_id: int | None = None,
           client_id: str | None = None, tag: str = "", **extra: Any) -> int:
    """Store a notification; a TAG repeated by the same app replaces the older one."""
    table = portal.tables["notifications"]
    if tag:
        for old_id in [key for key, row in table.items() if row["TAG"] == tag and row["CLIENT_ID"] == client_id]:
            del table[old_id]
    notification_id = portal.next_id("notifications")
    table[notification_id] = {"ID": notification_id, "TYPE": kind, "USER_ID": int(user_id),
                              "FROM_USER_ID": from_user_id, "MESSAGE": message, "TAG": tag, "CLIENT_ID": client_id,
                              "DATE": portal.iso(portal.clock.now()), **extra}
    return notification_id


def _notify_from_call(call: Call, kind: str) -> int:
    portal: PortalState = call.portal  # type: ignore[assignment]
    user_id = str(call.param("USER_ID", "") or "")
    if not user_id.isdigit() or portal.user(int(user_id)) is None:
        raise RestError("USER_ID_EMPTY", "User ID can't be empty")
    message = str(call.param("MESSAGE", "") or "").strip()  # im-notify-system-add.md: trimmed before sending
    if not message:
        raise RestError("MESSAGE_EMPTY", "Message can't be empty")
    attach = call.param("ATTACH")
    if attach and len(json.dumps(attach, ensure_ascii=False).encode()) > ATTACH_LIMIT_BYTES:
        raise RestError("ATTACH_OVERSIZE", "You have exceeded the maximum allowable size of attach")
    return notify(portal, int(user_id), message, kind=kind,
                  from_user_id=call.user_id if kind == "personal" else None,
                  client_id=call.client_id or call.param("CLIENT_ID"), tag=str(call.param("TAG", "") or ""),
                  SUB_TAG=str(call.param("SUB_TAG", "") or ""), MESSAGE_OUT=call.param("MESSAGE_OUT"), ATTACH=attach)


@method("im.notify.system.add", scope="im", server_time_s=0.03)
def notify_system(call: Call) -> int:
    """App context only; an incoming webhook must name the app with CLIENT_ID
    (REST docs: api-reference/chats/notifications/im-notify-system-add.md)."""
    if call.client_id is None and not call.param("CLIENT_ID"):
        raise RestError("WRONG_AUTH_TYPE", "Application context required", 403)
    return _notify_from_call(call, "system")


@method("im.notify.personal.add", scope="im", server_time_s=0.03)
def notify_personal(call: Call) -> int:
    return _notify_from_call(call, "personal")


@method("im.notify", scope="im", server_time_s=0.03)
def notify_either(call: Call) -> int:
    """``TYPE`` USER (default) or SYSTEM picks the kind (b24restdocs api-reference/chats/notifications/im-notify.md)."""
    if str(call.param("TYPE", "USER") or "USER").upper() == "SYSTEM":
        return notify_system(call)
    return notify_personal(call)
