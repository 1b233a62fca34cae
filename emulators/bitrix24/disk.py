"""``disk.*``: storages per app/group/user, folders and base64 uploads
(REST docs: api-reference/disk/storage/, api-reference/disk/folder/disk-folder-upload-file.md)."""
from __future__ import annotations

import base64
import binascii
import re
from typing import Any

from .listing import Query, paginate
from .registry import Call, ListPage, RestError, method
from .state import PortalState, portal_state

PUBLIC_OBJECT = ("ID", "NAME", "CODE", "STORAGE_ID", "TYPE", "PARENT_ID", "DELETED_TYPE", "CREATE_TIME",
                 "UPDATE_TIME", "CREATED_BY", "UPDATED_BY", "SIZE", "FILE_ID", "DOWNLOAD_URL", "DETAIL_URL")


def storage_for(portal: PortalState, entity_type: str, entity_id: str, name: str, user_id: int) -> dict[str, Any]:
    """The storage of an entity, created with its root folder on first use."""
    for storage in portal.tables["storages"].values():
        if storage["ENTITY_TYPE"] == entity_type and storage["ENTITY_ID"] == entity_id:
            return storage
    storage_id = portal.next_id("storages")
    root = _new_object(portal, storage_id, None, name, "folder", user_id)
    storage = {"ID": storage_id, "NAME": name, "CODE": None, "MODULE_ID": "disk", "ENTITY_TYPE": entity_type,
               "ENTITY_ID": entity_id, "ROOT_OBJECT_ID": root["ID"]}
    portal.tables["storages"][storage_id] = storage
    return storage


def _new_object(portal: PortalState, storage_id: int, parent_id: int | None, name: str, kind: str,
                user_id: int, content: str | None = None) -> dict[str, Any]:
    object_id = portal.next_id("disk_objects")
    now = portal.iso(portal.clock.now())
    row = {"ID": object_id, "NAME": name, "CODE": None, "STORAGE_ID": storage_id, "TYPE": kind,
           "PARENT_ID": parent_id, "DELETED_TYPE": 0, "CREATE_TIME": now, "UPDATE_TIME": now,
           "CREATED_BY": user_id, "UPDATED_BY": user_id,
           "DETAIL_URL": f"{portal.base_url}/docs/path/{name}"}
    if kind == "file":
        row.update({"SIZE": len(base64.b64decode(content or "")), "FILE_ID": object_id, "CONTENT": content,
                    "DOWNLOAD_URL": f"{portal.base_url}/disk/downloadFile/{object_id}/"})
    portal.tables["disk_objects"][object_id] = row
    return row


def public_object(row: dict[str, Any]) -> dict[str, Any]:
    shown = {key: row[key] for key in PUBLIC_OBJECT if key in row}
    for key in ("ID", "STORAGE_ID", "PARENT_ID", "CREATED_BY", "UPDATED_BY", "FILE_ID", "SIZE"):
        if shown.get(key) is not None:
            shown[key] = str(shown[key])
    return shown


def _public_storage(storage: dict[str, Any]) -> dict[str, Any]:
    return {**storage, "ID": str(storage["ID"]), "ROOT_OBJECT_ID": str(storage["ROOT_OBJECT_ID"])}


def _object(call: Call, kind: str) -> dict[str, Any]:
    row = portal_state(call).tables["disk_objects"].get(int(call.param("id", 0) or 0))
    if row is None or row["TYPE"] != kind:
        raise RestError("ERROR_NOT_FOUND", f"Could not find entity with id '{call.param('id')}'")
    return row


def _name(data: Any) -> str:
    name = str((data or {}).get("NAME", "") if isinstance(data, dict) else "").strip()
    if not name or re.search(r"[\\/:*?\"<>|]", name):
        raise RestError("ERROR_ARGUMENT", "Invalid value of NAME", argument="data")
    return name


def _free_name(portal: PortalState, parent_id: int, name: str, unique: bool) -> str:
    taken = {row["NAME"].lower() for row in portal.tables["disk_objects"].values() if row["PARENT_ID"] == parent_id}
    if name.lower() not in taken:
        return name
    if not unique:
        raise RestError("DISK_OBJ_22000", "File or folder with the same name already exists")  # [inferred] code
    stem, dot, extension = name.rpartition(".") if "." in name else (name, "", "")
    counter = 1
    while f"{stem} ({counter}){dot}{extension}".lower() in taken:
        counter += 1
    return f"{stem} ({counter}){dot}{extension}"


@method("disk.storage.getforapp", scope="disk", app_only=True, server_time_s=0.02)
def storage_getforapp(call: Call) -> dict[str, Any]:
    app = portal_state(call).app(call.client_id or "")
    storage = storage_for(portal_state(call), "restapp", str(app.app_id if app else 0), "Приложение", call.user_id)
    return _public_storage(storage)


@method("disk.storage.getlist", scope="disk", server_time_s=0.02)
def storage_getlist(call: Call) -> ListPage:
    """The common drive and every workgroup's drive; a user's drive when filtered by it."""
    portal = portal_state(call)
    storage_for(portal, "common", "shared_files_s1", "Общий диск", 1)
    for group in portal.tables["groups"].values():
        storage_for(portal, "group", str(group["ID"]), group["NAME"], group["OWNER_ID"])
    filter_ = {str(key).upper(): value for key, value in (call.param("filter") or {}).items()}
    if str(filter_.get("ENTITY_TYPE", "")).lower() == "user" and portal.user(filter_.get("ENTITY_ID")):
        user = portal.user(filter_["ENTITY_ID"]) or {}
        storage_for(portal, "user", str(user["ID"]), f"{user.get('NAME', '')} {user.get('LAST_NAME', '')}", user["ID"])
    rows = Query.from_params(filter_, {"ID": "ASC"}).apply(portal.tables["storages"].values())
    return paginate([_public_storage(row) for row in rows], call.param("start"))


@method("disk.folder.get", scope="disk", server_time_s=0.01)
def folder_get(call: Call) -> dict[str, Any]:
    return public_object(_object(call, "folder"))


@method("disk.folder.addsubfolder", scope="disk", server_time_s=0.03)
def folder_addsubfolder(call: Call) -> dict[str, Any]:
    folder = _object(call, "folder")
    name = _free_name(portal_state(call), folder["ID"], _name(call.param("data")), False)
    created = _new_object(portal_state(call), folder["STORAGE_ID"], folder["ID"], name, "folder", call.user_id)
    return public_object(created)


@method("disk.folder.getchildren", scope="disk", server_time_s=0.02)
def folder_getchildren(call: Call) -> ListPage:
    folder = _object(call, "folder")
    children = [row for row in portal_state(call).tables["disk_objects"].values() if row["PARENT_ID"] == folder["ID"]]
    rows = Query.from_params(call.param("filter") or {}, {"ID": "ASC"}).apply(children)
    return paginate([public_object(row) for row in rows], call.param("start"))


@method("disk.folder.uploadfile", scope="disk", server_time_s=0.1)
def folder_uploadfile(call: Call) -> dict[str, Any]:
    """``fileContent: [name, base64]`` upload; the two-step uploadUrl flow is not emulated."""
    folder = _object(call, "folder")
    content = call.param("fileContent")
    if not isinstance(content, list) or len(content) != 2:
        raise RestError("ERROR_ARGUMENT", "Argument 'fileContent' is null or empty", argument="fileContent")
    try:
        base64.b64decode(str(content[1]), validate=True)
    except (binascii.Error, ValueError) as error:
        raise RestError("ERROR_ARGUMENT", "Invalid file content", argument="fileContent") from error
    data = call.param("data") or {"NAME": content[0]}
    unique = str(call.param("generateUniqueName", "")).lower() in ("true", "1", "y")
    name = _free_name(portal_state(call), folder["ID"], _name(data), unique)
    row = _new_object(portal_state(call), folder["STORAGE_ID"], folder["ID"], name, "file", call.user_id,
                      str(content[1]))
    return public_object(row)


SHARE_TASKS = ("disk_access_read", "disk_access_add", "disk_access_edit", "disk_access_full")


@method("disk.folder.sharetouser", scope="disk", server_time_s=0.03)
def folder_sharetouser(call: Call) -> bool:
    """Grant a user a level on a folder (api-reference/disk/folder/disk-folder-share-to-user.md): ``id``,
    ``userId`` and ``taskName`` are required (ERROR_ARGUMENT), an unknown folder is ERROR_NOT_FOUND and an
    unknown ``taskName`` ACCESS_DENIED; the grant is kept in the folder's ``SHARED_WITH`` (state only)."""
    for name in ("id", "userId", "taskName"):
        if call.param(name) in (None, ""):
            raise RestError("ERROR_ARGUMENT", "Invalid value of parameter {Parameter #1}", argument=name)
    folder = _object(call, "folder")
    user = portal_state(call).user(call.param("userId"))
    if user is None:
        raise RestError("ERROR_ARGUMENT", "Invalid value of parameter {Parameter #1}", argument="userId")
    task = str(call.param("taskName"))
    if task not in SHARE_TASKS:
        raise RestError("ACCESS_DENIED", "Access denied")
    folder.setdefault("SHARED_WITH", {})[str(user["ID"])] = task
    return True


@method("disk.file.get", scope="disk", server_time_s=0.01)
def file_get(call: Call) -> dict[str, Any]:
    return public_object(_object(call, "file"))


def file_bytes(portal: PortalState, object_id: int) -> tuple[str, bytes] | None:
    """Name and content of an uploaded file (served at its DOWNLOAD_URL)."""
    row = portal.tables["disk_objects"].get(object_id)
    if row is None or row["TYPE"] != "file":
        return None
    return row["NAME"], base64.b64decode(row["CONTENT"] or "")
