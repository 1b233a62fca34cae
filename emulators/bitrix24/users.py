"""``user.*`` and ``user.userfield.*`` with invitation and extranet-visibility semantics.

REST docs: api-reference/user/, api-reference/user/userfields/.
"""
from __future__ import annotations

import re
import secrets
from typing import Any, Iterator

from .listing import Condition, Query, paginate, paginate_stream, parse_order
from .phpcodec import upper_keys
from .registry import Call, ListPage, RestError, method
from .state import PortalState

WRITABLE = ("ACTIVE", "EMAIL", "NAME", "LAST_NAME", "SECOND_NAME", "PERSONAL_GENDER", "PERSONAL_PROFESSION",
            "PERSONAL_WWW", "PERSONAL_BIRTHDAY", "PERSONAL_PHOTO", "PERSONAL_ICQ", "PERSONAL_PHONE", "PERSONAL_FAX",
            "PERSONAL_MOBILE", "PERSONAL_PAGER", "PERSONAL_STREET", "PERSONAL_CITY", "PERSONAL_STATE",
            "PERSONAL_ZIP", "PERSONAL_COUNTRY", "WORK_COMPANY", "WORK_POSITION", "WORK_PHONE", "UF_DEPARTMENT",
            "UF_INTERESTS", "UF_SKILLS", "UF_WEB_SITES", "UF_XING", "UF_LINKEDIN", "UF_FACEBOOK", "UF_TWITTER",
            "UF_SKYPE", "UF_DISTRICT", "UF_PHONE_INNER", "XML_ID")
# b24restdocs api-reference/user/index.md, user-fields.md: read-only fields a user.get row carries; an invitation
# not yet accepted (CONFIRM_CODE, not a REST field) shows as a user with no LAST_LOGIN
READ_ONLY = ("ID", "LAST_LOGIN", "DATE_REGISTER", "IS_ONLINE", "LAST_ACTIVITY_DATE", "USER_TYPE")
ONLINE_WINDOW_S = 120  # [inferred] how long after its last activity a user still counts as online
LIST_PARAMS = {"SORT", "ORDER", "FILTER", "ADMIN_MODE", "START", "IMAGE_RESIZE", "FIND"}
# b24restdocs api-reference/user/user-get.md: FILTER takes the user.add fields plus UF_DEPARTMENT, UF_PHONE_INNER,
# IS_ONLINE, NAME_SEARCH, USER_TYPE, ACTIVE; user/index.md lists the readable fields. Other keys never reach the
# query: a filter on an unknown key selects every user, as on a portal, instead of nobody.
FILTERABLE = frozenset((*WRITABLE, *READ_ONLY, "NAME_SEARCH", "TITLE", "TIME_ZONE", "TIMESTAMP_X",
                        "LAST_ACTIVITY_DATE", "PERSONAL_MAILBOX", "PERSONAL_NOTES", "WORK_DEPARTMENT", "WORK_WWW",
                        "WORK_FAX", "WORK_PAGER", "WORK_STREET", "WORK_MAILBOX", "WORK_CITY", "WORK_STATE",
                        "WORK_ZIP", "WORK_COUNTRY", "WORK_PROFILE", "WORK_NOTES", "UF_EMPLOYMENT_DATE",
                        "UF_TIMEMAN", "UF_SKYPE_LINK", "UF_ZOOM"))
EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
DUPLICATE_EMAIL = "User with this email already exists"  # REST docs: api-reference/user/user-add.md


# -- helpers shared by the hooks ------------------------------------------------------------------

def custom_fields(portal: PortalState) -> dict[str, dict[str, Any]]:
    """Declared UF_ fields by FIELD_NAME."""
    return {field["FIELD_NAME"]: field for field in portal.tables["user_fields"].values()}


def public_user(portal: PortalState, user: dict[str, Any]) -> dict[str, Any]:
    """A user as ``user.get`` shows it: string ID, boolean ACTIVE, integer department ids; unset (NULL) fields
    are left out, as the second user of the user-get.md example has no SECOND_NAME or LAST_LOGIN-less users
    have no LAST_LOGIN (b24restdocs api-reference/user/user-get.md)."""
    shown = {key: user.get(key) for key in (*READ_ONLY, *WRITABLE) if user.get(key) is not None}
    shown.update({name: user.get(name) for name in custom_fields(portal) if user.get(name) is not None})
    shown["ID"] = str(user["ID"])
    shown["UF_DEPARTMENT"] = [int(item) for item in user.get("UF_DEPARTMENT") or []]
    shown["IS_ONLINE"] = "Y" if _online(portal, user) else "N"
    return shown


def _online(portal: PortalState, user: dict[str, Any]) -> bool:
    last_seen = user.get("LAST_ACTIVITY_TS")
    return last_seen is not None and portal.clock.now() - float(last_seen) <= ONLINE_WINDOW_S / portal.options.time_scale


def log_in(portal: PortalState, user_id: int) -> dict[str, Any]:
    """The user signs in now (portal clock): LAST_LOGIN and LAST_ACTIVITY_DATE move, IS_ONLINE is Y for a while.
    An active user only, and only after accepting the invitation."""
    user = portal.user(user_id)
    if user is None:
        raise KeyError(user_id)
    if not user.get("ACTIVE"):
        raise ValueError("a dismissed user cannot sign in")
    if user.get("CONFIRM_CODE"):
        raise ValueError("the invitation is not accepted yet: POST /_emulator/users/<id>/accept-invite")
    now = portal.clock.now()
    user.update({"LAST_LOGIN": portal.iso(now), "LAST_ACTIVITY_DATE": portal.iso(now), "LAST_ACTIVITY_TS": now})
    return user


def seed_user(portal: PortalState, fields: dict[str, Any]) -> dict[str, Any]:
    """Hook seeding: an active, confirmed user (groups joined directly)."""
    clean = _writable(portal, {key.upper(): value for key, value in fields.items()})
    email = str(clean.get("EMAIL") or "")
    if email and email.lower() in portal.emails:
        raise ValueError(DUPLICATE_EMAIL)
    extranet = str(fields.get("EXTRANET", fields.get("extranet", "N"))).upper() in ("Y", "TRUE", "1")
    upper = {key.upper(): value for key, value in fields.items()}
    invited = bool(upper.get("INVITED"))  # an invitation sent, not accepted: no sign-in yet
    last_login = None if invited else upper.get("LAST_LOGIN", portal.iso(portal.clock.now()))
    user = portal.add_user({**clean, "ADMIN": bool(fields.get("ADMIN", fields.get("admin", False))),
                            "USER_TYPE": "extranet" if extranet else "employee", "LAST_LOGIN": last_login,
                            "CONFIRM_CODE": secrets.token_hex(8) if invited else ""})
    if extranet:
        user["UF_DEPARTMENT"] = []
    for group_id in id_list(fields.get("SONET_GROUP_ID")):
        if group_id in portal.tables["groups"]:
            join_group(portal, group_id, user["ID"], "K")
    return user


def accept_invite(portal: PortalState, user_id: int) -> dict[str, Any]:
    """The invitee completes registration: confirmed, logged in, joins the groups, ONUSERADD
    (REST docs: api-reference/common/events/on-user-add.md)."""
    user = portal.user(user_id)
    if user is None:
        raise KeyError(user_id)
    now = portal.clock.now()
    user.update({"CONFIRM_CODE": "", "LAST_LOGIN": portal.iso(now), "LAST_ACTIVITY_DATE": portal.iso(now),
                 "LAST_ACTIVITY_TS": now})
    for group_id in user.pop("GROUPS_PENDING", []) or []:
        if group_id in portal.tables["groups"]:
            join_group(portal, group_id, user_id, "K")
    user["GROUPS_PENDING"] = []
    portal.fire_event("ONUSERADD", public_user(portal, user), user_id=user_id)
    return user


def join_group(portal: PortalState, group_id: int, user_id: int, role: str) -> None:
    """Membership lives on the group (roles) and, for visibility checks, on the user."""
    group = portal.tables["groups"][group_id]
    group["MEMBERS"][str(user_id)] = role
    user = portal.user(user_id)
    if user is not None and group_id not in user.setdefault("SONET_GROUPS", []):
        user["SONET_GROUPS"].append(group_id)
    if user is not None and user.get("USER_TYPE") == "extranet":
        sites = group.setdefault("SITE_ID", [])
        if portal.options.extranet_site not in sites:
            # adding an extranet user binds the group
            # [not in the docs: core modules/socialnetwork/classes/general/rest.php]
            sites.append(portal.options.extranet_site)


def leave_group(portal: PortalState, group_id: int, user_id: int) -> None:
    portal.tables["groups"][group_id]["MEMBERS"].pop(str(user_id), None)
    user = portal.user(user_id)
    if user is not None and group_id in user.get("SONET_GROUPS", []):
        user["SONET_GROUPS"].remove(group_id)


def id_list(value: Any) -> list[int]:
    items = value if isinstance(value, list) else ([] if value in (None, "") else [value])
    return [int(item) for item in items if str(item).strip().lstrip("-").isdigit()]


def _writable(portal: PortalState, fields: dict[str, Any]) -> dict[str, Any]:
    """Whitelisted fields (REST docs: api-reference/user/user-add.md) and declared UF_ fields; anything else is
    silently dropped [not in the docs: core modules/rest/lib/api/user.php]."""
    declared = custom_fields(portal)
    clean = {key: value for key, value in fields.items() if key in WRITABLE or key in declared}
    if "UF_DEPARTMENT" in clean:
        clean["UF_DEPARTMENT"] = id_list(clean["UF_DEPARTMENT"])
    if "ACTIVE" in clean:
        clean["ACTIVE"] = _active(clean["ACTIVE"])
    return clean


def _active(value: Any) -> bool:
    """Falsy (PHP) or "N" -> N, anything else -> Y [not in the docs: core modules/rest/lib/api/user.php]."""
    return not (value in (None, False, 0, "", "0", "N", []) or (isinstance(value, str) and value.upper() == "N"))


# -- errors ---------------------------------------------------------------------------------------

def _add_error(portal: PortalState, description: str, argument: str = "") -> RestError:
    """user.add errors as REST docs: api-reference/user/user-add.md has them, or the old core's empty code
    (switchable; [not in the docs: core modules/rest/lib/api/user.php])."""
    if portal.options.legacy_user_errors:
        return RestError("", description)
    return RestError("ERROR_ARGUMENT", description, argument=argument)


# -- user.add / user.update -----------------------------------------------------------------------

@method("user.add", scope="user", server_time_s=0.4)
def user_add(call: Call) -> int:
    """Always an invitation: CONFIRM_CODE set, ACTIVE Y, LAST_LOGIN null until accepted."""
    portal: PortalState = call.portal  # type: ignore[assignment]
    if not portal.is_admin(call.user_id):
        raise RestError("", "access_denied") if portal.options.legacy_user_errors else RestError("ERROR_CORE", "access_denied")
    params = upper_keys(call.params)
    extranet = str(params.get("EXTRANET", "N")).upper() == "Y"
    groups = _validate_groups(portal, params) if extranet else []
    if not extranet and not id_list(params.get("UF_DEPARTMENT")):
        raise _add_error(portal, "no_extranet_field", "UF_DEPARTMENT")
    _validate_new_email(portal, params.get("EMAIL"))
    fields = _writable(portal, params)
    fields.update({"USER_TYPE": "extranet" if extranet else "employee", "CONFIRM_CODE": secrets.token_hex(8),
                   "GROUPS_PENDING": groups, "LAST_LOGIN": None})
    if extranet:
        fields["UF_DEPARTMENT"] = []
    return portal.add_user(fields)["ID"]


def _validate_groups(portal: PortalState, params: dict[str, Any]) -> list[int]:
    groups = id_list(params.get("SONET_GROUP_ID"))
    if not groups:
        if portal.options.legacy_user_errors:
            raise RestError("", "no_sonet_group_for_extranet")
        raise RestError("ERROR_GROUPID", "Group code not specified")
    if any(group_id not in portal.tables["groups"] for group_id in groups):
        # [inferred] text; REST docs: api-reference/user/user-add.md has "Group specified incorrectly"
        raise RestError("ERROR_NO_GROUP", "Group not found")
    return groups


def _validate_new_email(portal: PortalState, email: Any) -> None:
    if not isinstance(email, str) or not EMAIL_PATTERN.match(email.strip()):
        raise _add_error(portal, "wrong_email", "EMAIL")
    if email.strip().lower() in portal.emails:
        raise _add_error(portal, DUPLICATE_EMAIL, "EMAIL")


@method("user.update", scope="user", server_time_s=0.05)
def user_update(call: Call) -> bool:
    portal: PortalState = call.portal  # type: ignore[assignment]
    params = upper_keys(call.params)
    user = portal.user(params.get("ID"))
    if user is None:
        raise RestError("ERROR_CORE", "User not found")  # [inferred] text for a missing ID
    fields = _writable(portal, params)
    admin = portal.is_admin(call.user_id)
    if not admin and (user["ID"] != call.user_id or {"ACTIVE", "UF_DEPARTMENT"} & fields.keys()):
        raise RestError("ERROR_CORE", "access_denied")
    _validate_changed_email(portal, user, fields.get("EMAIL"))
    old = dict(user)
    user.update(fields)
    if user.get("USER_TYPE") == "extranet":
        user["UF_DEPARTMENT"] = []
    portal.index_user(user, old)
    portal.fire_event("ONUSERUPDATE", public_user(portal, user), user_id=call.user_id)
    return True


def _validate_changed_email(portal: PortalState, user: dict[str, Any], email: Any) -> None:
    if email is None or str(email).lower() == str(user.get("EMAIL") or "").lower():
        return
    if not EMAIL_PATTERN.match(str(email).strip()):
        raise RestError("ERROR_CORE", "wrong_email")
    if str(email).strip().lower() in portal.emails:
        raise RestError("ERROR_CORE", DUPLICATE_EMAIL)


# -- reads ----------------------------------------------------------------------------------------

def _list_query(params: dict[str, Any]) -> Query:
    """FILTER, when present, replaces every top-level filter param
    [not in the docs: core modules/rest/lib/api/user.php userGet]."""
    filter_ = params.get("FILTER")
    if not isinstance(filter_, dict):
        filter_ = {key: value for key, value in params.items() if key not in LIST_PARAMS}
    order = params.get("ORDER")
    if isinstance(order, dict):
        ordering = parse_order(order)
    else:
        ordering = [(str(params.get("SORT") or "ID").upper(), str(order or "ASC").upper() == "DESC")]
    return Query.from_params(filter_, dict((field, "DESC" if desc else "ASC") for field, desc in ordering))


def _visible(portal: PortalState, caller: dict[str, Any], admin_mode: bool) -> Any:
    """Extranet visibility: who ``caller`` may see unless an admin passes ADMIN_MODE (REST docs:
    api-reference/user/user-get.md); the extranet rule is
    [not in the docs: core modules/rest/lib/api/user.php]."""
    if admin_mode and caller.get("ADMIN"):
        return lambda user: True
    own_groups = set(caller.get("SONET_GROUPS") or [])
    caller_is_extranet = caller.get("USER_TYPE") == "extranet"

    def visible(user: dict[str, Any]) -> bool:
        if user["ID"] == caller["ID"]:
            return True
        if user.get("USER_TYPE") != "extranet" and not caller_is_extranet:
            return True
        return bool(own_groups.intersection(user.get("SONET_GROUPS") or ()))

    return visible


def _candidates(portal: PortalState, query: Query) -> Iterator[dict[str, Any]]:
    """Users that may match, in ID order, narrowed through the e-mail/XML_ID/ID indexes."""
    users = portal.tables["users"]
    for condition in query.conditions:
        hit = _indexed(portal, condition)
        if hit is not None:
            yield from (users[user_id] for user_id in sorted(hit) if user_id in users)
            return
    low = _lower_id_bound(query.conditions)
    top = portal.sequences.get("users", 0)
    yield from (users[user_id] for user_id in range(low, top + 1) if user_id in users)


def _indexed(portal: PortalState, condition: Condition) -> set[int] | None:
    values = condition.value if isinstance(condition.value, list) else [condition.value]
    if condition.operator not in ("=", "@") or any(isinstance(value, (dict, list)) for value in values):
        return None
    if condition.field == "ID":
        return {int(value) for value in values if str(value).isdigit()}
    index = {"EMAIL": portal.emails, "XML_ID": portal.xml_ids}.get(condition.field)
    if index is None:
        return None
    return {index[str(value).lower()] for value in values if str(value).lower() in index}


def _lower_id_bound(conditions: list[Condition]) -> int:
    low = 1
    for condition in conditions:
        if condition.field == "ID" and condition.operator in (">", ">=") and str(condition.value).isdigit():
            low = max(low, int(condition.value) + (1 if condition.operator == ">" else 0))
    return low


def select_users(portal: PortalState, caller_id: int, params: dict[str, Any],
                 extra: list[Any] | None = None) -> ListPage:
    """The user.get engine: index-narrowed candidates, filter, visibility, order, page."""
    params = upper_keys(params)
    query = _list_query(params)
    known = FILTERABLE.union(custom_fields(portal))
    query.conditions = [condition for condition in query.conditions if condition.field in known]
    caller = portal.user(caller_id) or {"ID": caller_id}
    visible = _visible(portal, caller, str(params.get("ADMIN_MODE", "")).upper() in ("Y", "TRUE", "1"))
    tests = [visible, *(extra or [])]

    def view(user: dict[str, Any]) -> dict[str, Any]:
        return _filter_view(user, _online(portal, user))

    rows = (user for user in _candidates(portal, query)
            if all(test(user) for test in tests) and query.matches(view(user)))
    if query.order in ([("ID", False)], []):
        page = paginate_stream(rows, params.get("START"))
    else:
        page = paginate(query.apply(list(rows), view), params.get("START"))
    return ListPage([public_user(portal, user) for user in page.items], page.total, page.next)


def _filter_view(user: dict[str, Any], online: bool) -> dict[str, Any]:
    return {**user, "IS_ONLINE": "Y" if online else "N", "NAME_SEARCH": " ".join(str(user.get(key) or "") for key in ("NAME", "LAST_NAME", "SECOND_NAME"))}


@method("user.get", scope="user", server_time_s=0.02)
def user_get(call: Call) -> ListPage:
    return select_users(call.portal, call.user_id, call.params)  # type: ignore[arg-type]


@method("user.search", scope="user", server_time_s=0.02)
def user_search(call: Call) -> ListPage:
    """user.get plus ``FIND`` over name, e-mail and position."""
    find = str(call.param("FIND", "") or "").lower()

    def found(user: dict[str, Any]) -> bool:
        text = " ".join(str(user.get(key) or "") for key in ("NAME", "LAST_NAME", "EMAIL", "WORK_POSITION")).lower()
        return all(word in text for word in find.split())

    return select_users(call.portal, call.user_id, call.params, [found])  # type: ignore[arg-type]


@method("user.current", scope="user", server_time_s=0.01)
def user_current(call: Call) -> dict[str, Any]:
    return public_user(call.portal, call.portal.user(call.user_id) or {})  # type: ignore[arg-type]


@method("user.fields", scope="user", server_time_s=0.01)
def user_fields(call: Call) -> dict[str, str]:
    titles = {key: key.replace("_", " ").capitalize() for key in (*READ_ONLY, *WRITABLE)}
    for name, field in custom_fields(call.portal).items():  # type: ignore[arg-type]
        titles[name] = str(field.get("EDIT_FORM_LABEL") or name)
    return titles


# -- user.userfield.* -----------------------------------------------------------------------------

def _field_name(raw: Any) -> str:
    """REST-created user fields get the ``UF_USR_`` prefix [inferred: prefix taken from portal behaviour]."""
    name = str(raw or "").strip().upper()
    if not re.fullmatch(r"[A-Z0-9_]+", name):
        raise RestError("ERROR_ARGUMENT", "Argument 'FIELD_NAME' is null or empty", argument="FIELD_NAME")
    return name if name.startswith("UF_USR_") else f"UF_USR_{name.removeprefix('UF_')}"


@method("user.userfield.add", scope="user", admin_only=True, server_time_s=0.05)
def userfield_add(call: Call) -> int:
    portal: PortalState = call.portal  # type: ignore[assignment]
    fields = upper_keys(call.param("fields") or call.params)
    name = _field_name(fields.get("FIELD_NAME"))
    if name in custom_fields(portal):
        raise RestError("ERROR_CORE", f"Field {name} already exists")  # [inferred] text
    field_id = portal.next_id("user_fields")
    portal.tables["user_fields"][field_id] = {
        "ID": field_id, "ENTITY_ID": "USER", "FIELD_NAME": name,
        "USER_TYPE_ID": str(fields.get("USER_TYPE_ID") or "string"), "XML_ID": fields.get("XML_ID"),
        "SORT": str(fields.get("SORT") or 100), "MULTIPLE": str(fields.get("MULTIPLE") or "N"),
        "MANDATORY": str(fields.get("MANDATORY") or "N"), "EDIT_FORM_LABEL": fields.get("EDIT_FORM_LABEL")
        or fields.get("LABEL"), "SETTINGS": fields.get("SETTINGS") or {}}
    return field_id


def _field_row(field: dict[str, Any]) -> dict[str, Any]:
    return {**field, "ID": str(field["ID"])}


@method("user.userfield.list", scope="user", server_time_s=0.01)
def userfield_list(call: Call) -> ListPage:
    query = Query.from_params(call.param("filter") or {}, call.param("order") or {"ID": "ASC"})
    rows = query.apply(call.portal.tables["user_fields"].values())  # type: ignore[attr-defined]
    return paginate([_field_row(field) for field in rows], call.param("start"))


def _existing_field(call: Call) -> dict[str, Any]:
    field = call.portal.tables["user_fields"].get(int(call.param("id", 0) or 0))  # type: ignore[attr-defined]
    if field is None:
        raise RestError("ERROR_NOT_FOUND", "Not found")
    return field


@method("user.userfield.update", scope="user", admin_only=True, server_time_s=0.05)
def userfield_update(call: Call) -> bool:
    field = _existing_field(call)
    changes = upper_keys(call.param("fields") or {})
    changes.pop("FIELD_NAME", None)  # the name of a field cannot change
    changes.pop("ID", None)
    field.update(changes)
    return True


@method("user.userfield.delete", scope="user", admin_only=True, server_time_s=0.05)
def userfield_delete(call: Call) -> bool:
    field = _existing_field(call)
    del call.portal.tables["user_fields"][field["ID"]]  # type: ignore[attr-defined]
    for user in call.portal.tables["users"].values():  # type: ignore[attr-defined]
        user.pop(field["FIELD_NAME"], None)
    return True

