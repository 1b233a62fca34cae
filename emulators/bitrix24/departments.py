"""``department.*`` (REST docs: api-reference/departments/)."""
from __future__ import annotations

from typing import Any

from .listing import Query, paginate
from .phpcodec import upper_keys
from .registry import Call, ListPage, RestError, method
from .state import PortalState, portal_state

FIELDS = ("ID", "NAME", "SORT", "PARENT", "UF_HEAD")
LIST_PARAMS = {"SORT", "ORDER", "START"}


def _require_admin(call: Call) -> None:
    if not call.portal.is_admin(call.user_id):
        raise RestError("ERROR_CORE", "Access denied")


def public_department(department: dict[str, Any]) -> dict[str, Any]:
    """IDs as strings, SORT as int (REST docs: api-reference/departments/department-get.md); UF_HEAD only when
    set [inferred from that page's example, where no department has a head]."""
    shown = {"ID": str(department["ID"]), "NAME": department["NAME"], "SORT": int(department.get("SORT") or 500)}
    if department.get("PARENT"):
        shown["PARENT"] = str(department["PARENT"])
    if department.get("UF_HEAD"):
        shown["UF_HEAD"] = str(department["UF_HEAD"])
    return shown


def _checked_parent(portal: PortalState, parent: Any) -> int:
    if parent in (None, "", 0, "0"):
        raise RestError("ERROR_CORE", "There can only be one top-level department in the company structure")
    if int(parent) not in portal.tables["departments"]:
        raise RestError("ERROR_CORE", "Parent department not found")  # [inferred] text
    return int(parent)


@method("department.add", scope="department", server_time_s=0.05)
def department_add(call: Call) -> int:
    _require_admin(call)
    params = upper_keys(call.params)
    if not str(params.get("NAME") or "").strip():
        raise RestError("ERROR_CORE", "The department name is not provided.<br>")
    parent = _checked_parent(portal_state(call), params.get("PARENT"))
    department_id = portal_state(call).next_id("departments")
    portal_state(call).tables["departments"][department_id] = {
        "ID": department_id, "NAME": str(params["NAME"]).strip(), "SORT": int(params.get("SORT") or 500),
        "PARENT": parent, "UF_HEAD": int(params["UF_HEAD"]) if params.get("UF_HEAD") else None}
    return department_id


def _existing(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    department = portal_state(call).tables["departments"].get(int(params.get("ID") or 0))
    if department is None:
        raise RestError("ERROR_CORE", "Department not found")  # [inferred] text
    return department


@method("department.update", scope="department", server_time_s=0.05)
def department_update(call: Call) -> bool:
    _require_admin(call)
    params = upper_keys(call.params)
    department = _existing(call, params)
    if "NAME" in params and not str(params["NAME"]).strip():
        raise RestError("ERROR_CORE", "The department name is not provided.<br>")
    if "PARENT" in params and department.get("PARENT"):
        department["PARENT"] = _checked_parent(portal_state(call), params["PARENT"])
    for key in ("NAME", "SORT", "UF_HEAD"):
        if key in params:
            department[key] = str(params[key]).strip() if key == "NAME" else (int(params[key]) if params[key] else None)
    return True


@method("department.delete", scope="department", server_time_s=0.05)
def department_delete(call: Call) -> bool:
    _require_admin(call)
    department = _existing(call, upper_keys(call.params))
    if not department.get("PARENT"):
        raise RestError("ERROR_CORE", "The top-level department cannot be deleted")  # [inferred] text
    del portal_state(call).tables["departments"][department["ID"]]
    return True


@method("department.get", scope="department", server_time_s=0.01)
def department_get(call: Call) -> ListPage:
    """Top-level ID, NAME, SORT, PARENT, UF_HEAD filter, other keys are dropped; ``sort``/``order`` are
    strings (b24restdocs api-reference/departments/department-get.md)."""
    params = upper_keys(call.params)
    filter_ = {key: value for key, value in call.params.items() if str(key).upper() not in LIST_PARAMS}
    order = {str(params.get("SORT") or "ID").upper(): str(params.get("ORDER") or "ASC")}
    query = Query.from_params(filter_, order)
    query.conditions = [condition for condition in query.conditions if condition.field in FIELDS]
    rows = query.apply(portal_state(call).tables["departments"].values())
    return paginate([public_department(row) for row in rows], params.get("START"))


@method("department.fields", scope="department", server_time_s=0.01)
def department_fields(call: Call) -> dict[str, str]:
    return {"ID": "ID", "NAME": "Название", "SORT": "Сортировка", "PARENT": "Родительское подразделение",
            "UF_HEAD": "Руководитель"}
