"""``placement.bind/get/list/unbind`` for the calling app (REST docs: api-reference/widgets/)."""
from __future__ import annotations

from typing import Any

from .registry import Call, RestError, method
from .state import PortalState

# Placement -> the scope it needs (b24restdocs api-reference/widgets: left-menu.md basic, universal/app-url.md
# placement, workgroups/detail-tab.md sonet_group; [inferred] the scope of the others is the tool they live in).
PLACEMENT_SCOPES = {"REST_APP_URI": "placement", "LEFT_MENU": "basic", "PAGE_BACKGROUND_WORKER": "placement",
                    "SONET_GROUP_DETAIL_TAB": "sonet_group", "USER_PROFILE_MENU": "user",
                    "USER_PROFILE_TOOLBAR": "user", "TASK_VIEW_TAB": "task", "CRM_LEAD_DETAIL_TAB": "crm",
                    "CRM_DEAL_DETAIL_TAB": "crm", "CRM_CONTACT_DETAIL_TAB": "crm", "CRM_COMPANY_DETAIL_TAB": "crm",
                    "IM_NAVIGATION": "im"}
GLOBAL_SCOPES = ("basic", "placement")  # placement-list.md: the app's scopes "and global embed locations"
KNOWN_PLACEMENTS = tuple(PLACEMENT_SCOPES)


def _bindings(call: Call) -> dict[int, dict[str, Any]]:
    return call.portal.tables["placements"]  # type: ignore[attr-defined]


def _required(call: Call, name: str) -> str:
    value = str(call.param(name, "") or "").strip()
    if not value:
        raise RestError("ERROR_ARGUMENT", f"Argument '{name}' is null or empty", argument=name)
    return value


@method("placement.bind", scope="placement", app_only=True, admin_only=True, server_time_s=0.02)
def placement_bind(call: Call) -> bool:
    portal: PortalState = call.portal  # type: ignore[assignment]
    placement, handler = _required(call, "PLACEMENT").upper(), _required(call, "HANDLER")
    if placement not in _available(call.scopes):  # placement-bind.md: scope "depending on the placement"
        raise RestError("ERROR_PLACEMENT_NOT_FOUND", "Placement not found")
    if any(row["CLIENT_ID"] == call.client_id and row["PLACEMENT"] == placement and row["HANDLER"] == handler
           for row in _bindings(call).values()):
        raise RestError("ERROR_CORE", "Unable to set placement handler: Handler already binded")  # [inferred] text
    binding_id = portal.next_id("placements")
    _bindings(call)[binding_id] = {"ID": binding_id, "CLIENT_ID": call.client_id, "PLACEMENT": placement,
                                   "HANDLER": handler, "TITLE": str(call.param("TITLE", "") or ""),
                                   "DESCRIPTION": str(call.param("DESCRIPTION", "") or ""),
                                   "GROUP_NAME": str(call.param("GROUP_NAME", "") or ""),
                                   "OPTIONS": call.param("OPTIONS") or {}, "LANG_ALL": call.param("LANG_ALL") or {}}
    return True


@method("placement.get", scope="placement", app_only=True, server_time_s=0.01)
def placement_get(call: Call) -> list[dict[str, Any]]:
    """Handlers this app bound, in the shape of b24restdocs api-reference/widgets/placement-get.md."""
    return [{"placement": row["PLACEMENT"], "userId": int(row.get("USER_ID") or 0), "handler": row["HANDLER"],
             "options": row["OPTIONS"] or [], "title": row["TITLE"], "description": row["DESCRIPTION"],
             "langAll": row["LANG_ALL"] or []}
            for row in _bindings(call).values() if row["CLIENT_ID"] == call.client_id]


@method("placement.list", scope="placement", app_only=True, server_time_s=0.01)
def placement_list(call: Call) -> list[str]:
    """Codes for one ``SCOPE``, for every scope with ``FULL``, else for the app's scopes and the global ones
    (b24restdocs api-reference/widgets/placement-list.md)."""
    scope = str(call.param("SCOPE", "") or "")
    if scope:
        return [code for code, needed in PLACEMENT_SCOPES.items() if needed == scope]
    if str(call.param("FULL", "")).lower() in ("true", "1", "y"):
        return list(KNOWN_PLACEMENTS)
    return _available(call.scopes)


def _available(scopes: frozenset[str]) -> list[str]:
    return [code for code, needed in PLACEMENT_SCOPES.items() if needed in scopes or needed in GLOBAL_SCOPES]


@method("placement.unbind", scope="placement", app_only=True, admin_only=True, server_time_s=0.02)
def placement_unbind(call: Call) -> dict[str, int]:
    placement = _required(call, "PLACEMENT").upper()
    handler = call.param("HANDLER")
    doomed = [key for key, row in _bindings(call).items()
              if row["CLIENT_ID"] == call.client_id and row["PLACEMENT"] == placement
              and (not handler or row["HANDLER"] == handler)]
    for key in doomed:
        del _bindings(call)[key]
    return {"count": len(doomed)}
