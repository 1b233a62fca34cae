"""Workgroups ``sonet_group.*`` with extranet site binding; errors carry empty codes.

REST docs: api-reference/sonet-group/ (sonet-group-create.md shows the empty codes, sonet-group-get.md
IS_EXTRANET); the binding of a group to the extranet site is [not in the docs: core
modules/socialnetwork/classes/general/rest.php].
"""
from __future__ import annotations

from typing import Any

from .listing import Query, paginate
from .phpcodec import upper_keys
from .registry import Call, ListPage, RestError, method
from .state import PortalState, portal_state
from .users import id_list, join_group, leave_group

EDITABLE = ("NAME", "DESCRIPTION", "VISIBLE", "OPENED", "CLOSED", "KEYWORDS", "INITIATE_PERMS", "SPAM_PERMS",
            "PROJECT", "PROJECT_DATE_START", "PROJECT_DATE_FINISH", "SUBJECT_ID", "SITE_ID")
HIDDEN = ("INITIATE_PERMS", "SPAM_PERMS", "IMAGE_ID", "MEMBERS", "INVITES")
MEMBER_ROLES = ("A", "E", "K")  # owner, moderator, member
# b24restdocs api-reference/sonet-group/sonet-group-get.md: the filterable fields and key operators; other
# keys are dropped, and the default order is ID DESC
GROUP_FILTERABLE = frozenset(("ID", "NAME", "OWNER_ID", "ACTIVE", "VISIBLE", "OPENED", "CLOSED", "DATE_CREATE",
                              "DATE_UPDATE", "DATE_ACTIVITY", "IS_EXTRANET"))
GROUP_OPERATORS = ("!><", "><", ">=", "<=", "!=", "!%", ">", "<", "=", "!", "?", "%")


def _params(call: Call) -> dict[str, Any]:
    """Upper-cased keys; keys starting with ``~`` or ``=`` are stripped
    [not in the docs: core modules/socialnetwork/classes/general/rest.php]."""
    return upper_keys({key: value for key, value in call.params.items() if not str(key).startswith(("~", "="))})


def is_extranet(portal: PortalState, group: dict[str, Any]) -> bool:
    return portal.options.extranet_site in (group.get("SITE_ID") or [])


def public_group(portal: PortalState, group: dict[str, Any]) -> dict[str, Any]:
    """A row of sonet_group.get: string ids and counts, SITE_ID the group's main site (sonet-group-get.md)."""
    shown = {key: value for key, value in group.items() if key not in HIDDEN}
    shown.update({"ID": str(group["ID"]), "OWNER_ID": str(group["OWNER_ID"]),
                  "SITE_ID": (group.get("SITE_ID") or [portal.options.intranet_site])[0],
                  "NUMBER_OF_MEMBERS": str(len(group["MEMBERS"])),
                  "IS_EXTRANET": "Y" if is_extranet(portal, group) else "N"})
    return shown


def _group(call: Call, key: str = "GROUP_ID") -> dict[str, Any]:
    """The group named by ``key``; errors as sonet-group/members/sonet-group-user-get.md lists them."""
    raw = _params(call).get(key)
    if not str(raw or "").isdigit():
        raise RestError("", "Wrong socialnetwork group ID")
    group = portal_state(call).tables["groups"].get(int(raw))
    if group is None:
        raise RestError("", "Socialnetwork group not found")
    return group


def _visible_group(call: Call, group: dict[str, Any]) -> bool:
    return (call.portal.is_admin(call.user_id) or group.get("VISIBLE") == "Y"
            or str(call.user_id) in group["MEMBERS"])


def _can_manage(call: Call, group: dict[str, Any]) -> bool:
    return call.portal.is_admin(call.user_id) or group["MEMBERS"].get(str(call.user_id)) in ("A", "E")


def create_group(portal: PortalState, fields: dict[str, Any], owner: int) -> dict[str, Any]:
    """Save a group, make ``owner`` its owner member (shared by the method and the seeding hook)."""
    group_id = portal.next_id("groups")
    now = portal.iso(portal.clock.now())
    sites = fields.get("SITE_ID") or [portal.options.intranet_site]
    group = {"ID": group_id, "NAME": "", "DESCRIPTION": "", "VISIBLE": "Y", "OPENED": "N", "CLOSED": "N",
             "KEYWORDS": "", "INITIATE_PERMS": "K", "SPAM_PERMS": "K", "PROJECT": "N", "SUBJECT_ID": "1",
             "ACTIVE": "Y", "DATE_CREATE": now, "DATE_UPDATE": now, "DATE_ACTIVITY": now,
             "OWNER_ID": owner, "MEMBERS": {}, "INVITES": {},
             **{key: fields[key] for key in EDITABLE if key in fields}}
    group["SITE_ID"] = sites if isinstance(sites, list) else [sites]
    portal.tables["groups"][group_id] = group
    join_group(portal, group_id, owner, "A")
    return group


@method("sonet_group.create", scope="sonet_group", server_time_s=0.1)
def group_create(call: Call) -> int:
    portal, params = portal_state(call), _params(call)
    if not str(params.get("NAME") or "").strip():
        raise RestError("", "Incorrect input data")
    owner = int(params["OWNER_ID"]) if params.get("OWNER_ID") and portal.is_admin(call.user_id) else call.user_id
    group = create_group(portal, params, owner)
    portal.fire_event("ONSONETGROUPADD", {"FIELDS": {"ID": str(group["ID"])}}, user_id=call.user_id)
    return group["ID"]


@method("sonet_group.update", scope="sonet_group", server_time_s=0.05)
def group_update(call: Call) -> int:
    group = _group(call)
    if not _can_manage(call, group):
        raise RestError("", "User has no permissions to update group")
    params = _params(call)
    group.update({key: params[key] for key in EDITABLE if key in params})
    group["DATE_UPDATE"] = portal_state(call).iso(portal_state(call).clock.now())
    portal_state(call).fire_event("ONSONETGROUPUPDATE", {"FIELDS": {"ID": str(group["ID"])}}, user_id=call.user_id)
    return group["ID"]


@method("sonet_group.delete", scope="sonet_group", server_time_s=0.05)
def group_delete(call: Call) -> bool:
    group = _group(call)
    if not (call.portal.is_admin(call.user_id) or group["OWNER_ID"] == call.user_id):
        raise RestError("", "User has no permissions to delete group")
    for member in list(group["MEMBERS"]):
        leave_group(portal_state(call), group["ID"], int(member))
    del portal_state(call).tables["groups"][group["ID"]]
    portal_state(call).fire_event("ONSONETGROUPDELETE", {"FIELDS": {"ID": str(group["ID"])}}, user_id=call.user_id)
    return True


@method("sonet_group.setowner", scope="sonet_group", server_time_s=0.05)
def group_setowner(call: Call) -> bool:
    group = _group(call)
    new_owner = int(_params(call).get("USER_ID") or 0)
    if not _can_manage(call, group) or portal_state(call).user(new_owner) is None:
        raise RestError("", "User has no permissions to update group")
    group["MEMBERS"][str(group["OWNER_ID"])] = "E"
    join_group(portal_state(call), group["ID"], new_owner, "A")
    group["OWNER_ID"] = new_owner
    return True


@method("sonet_group.get", scope="sonet_group", server_time_s=0.02)
def group_get(call: Call) -> ListPage:
    """Groups visible to the caller; an admin passing IS_ADMIN=Y sees all
    (REST docs: api-reference/sonet-group/sonet-group-get.md)."""
    portal, params = portal_state(call), _params(call)
    see_all = portal.is_admin(call.user_id) and str(params.get("IS_ADMIN", "")).upper() == "Y"
    filter_ = dict(params.get("FILTER") or {})
    if params.get("GROUP_ID"):
        filter_["ID"] = params["GROUP_ID"]
    groups = [group for group in portal.tables["groups"].values()
              if see_all or group.get("VISIBLE") == "Y" or str(call.user_id) in group["MEMBERS"]]
    query = Query.from_params(filter_, params.get("ORDER") or {"ID": "DESC"}, GROUP_OPERATORS)
    query.conditions = [condition for condition in query.conditions if condition.field in GROUP_FILTERABLE]
    rows = query.apply(groups, lambda group: public_group(portal, group))
    return paginate([public_group(portal, group) for group in rows], params.get("START"))


@method("sonet_group.user.get", scope="sonet_group", server_time_s=0.02)
def group_user_get(call: Call) -> list[dict[str, str]]:
    """Active members with their role; the parameter is ``ID``; a private group the caller is not in is
    "not found" (sonet-group/members/sonet-group-user-get.md)."""
    group = _group(call, "ID")
    if not _visible_group(call, group):
        raise RestError("", "Socialnetwork group not found")
    return [{"USER_ID": user_id, "ROLE": role} for user_id, role in group["MEMBERS"].items() if role in MEMBER_ROLES]


@method("sonet_group.user.add", scope="sonet_group", server_time_s=0.05)
def group_user_add(call: Call) -> list[int]:
    """Module admin only; direct membership, existing relations skipped."""
    group = _group(call)
    if not call.portal.is_admin(call.user_id):
        raise RestError("", "User has no permissions to add users to the group")  # [inferred] text
    added = []
    for user_id in id_list(_params(call).get("USER_ID")):
        if portal_state(call).user(user_id) is not None and str(user_id) not in group["MEMBERS"]:
            join_group(portal_state(call), group["ID"], user_id, "K")
            added.append(user_id)
    return added


@method("sonet_group.user.update", scope="sonet_group", server_time_s=0.05)
def group_user_update(call: Call) -> list[int]:
    group = _group(call)
    role = str(_params(call).get("ROLE") or "").upper()
    if not _can_manage(call, group) or role not in ("E", "K"):
        raise RestError("", "Incorrect input data")
    changed = [user_id for user_id in id_list(_params(call).get("USER_ID"))
               if group["MEMBERS"].get(str(user_id)) in ("E", "K")]  # the owner is never changed
    for user_id in changed:
        group["MEMBERS"][str(user_id)] = role
    return changed


@method("sonet_group.user.delete", scope="sonet_group", server_time_s=0.05)
def group_user_delete(call: Call) -> list[int]:
    group = _group(call)
    if not _can_manage(call, group):
        raise RestError("", "User has no permissions to update group")
    removed = [user_id for user_id in id_list(_params(call).get("USER_ID"))
               if group["MEMBERS"].get(str(user_id)) in ("E", "K")]  # the owner is never removed
    for user_id in removed:
        leave_group(portal_state(call), group["ID"], user_id)
    return removed


@method("sonet_group.user.invite", scope="sonet_group", server_time_s=0.05)
def group_user_invite(call: Call) -> list[int]:
    """Invitations the invitee must accept; skips self and existing members."""
    group = _group(call)
    invited = [user_id for user_id in id_list(_params(call).get("USER_ID"))
               if user_id != call.user_id and str(user_id) not in group["MEMBERS"]
               and portal_state(call).user(user_id) is not None]
    for user_id in invited:
        group["INVITES"][str(user_id)] = str(_params(call).get("MESSAGE") or "")
    return invited


@method("sonet_group.user.groups", scope="sonet_group", server_time_s=0.02)
def group_user_groups(call: Call) -> list[dict[str, str]]:
    portal = portal_state(call)
    return [{"GROUP_ID": str(group["ID"]), "GROUP_NAME": group["NAME"], "ROLE": group["MEMBERS"][str(call.user_id)],
             "GROUP_IMAGE": "", "IS_EXTRANET": "Y" if is_extranet(portal, group) else "N"}
            for group in portal.tables["groups"].values() if str(call.user_id) in group["MEMBERS"]]
