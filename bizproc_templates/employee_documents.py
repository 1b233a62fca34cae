"""The employee's documents on Bitrix24 Drive: where the files 1C produced for a request are kept.

Two places, chosen by ``bizproc.employee_documents`` in app.yaml:

- ``app_folder`` (default): the app's own storage (``disk.storage.getforapp``), folder «Документы
  сотрудников» / «<Фамилия Имя> (ID <user>)», shared with the employee for reading
  (``disk.folder.shareToUser`` with ``disk_access_read``). Needs nothing but the app's ``disk`` scope.
- ``user_drive``: the employee's own drive (``disk.storage.getlist`` filtered by ``ENTITY_TYPE`` user
  and ``ENTITY_ID``), folder «Документы от работодателя». ``disk.folder.uploadFile`` needs the «Add»
  permission on that folder for the app's user, which an administrator may have to grant.

Bitrix24 REST docs: api-reference/disk/storage/disk-storage-get-for-app.md,
api-reference/disk/storage/disk-storage-get-list.md, api-reference/disk/folder/disk-folder-get-children.md,
api-reference/disk/folder/disk-folder-add-subfolder.md, api-reference/disk/folder/disk-folder-upload-file.md,
api-reference/disk/folder/disk-folder-share-to-user.md.

The uploaded file's ID is what the request's ``S:DiskFile`` list field takes, so the request and the
employee's documents hold the same file.
"""
from __future__ import annotations

import base64
import re
from typing import Any

from b24app.install_steps import RestCaller

APP_ROOT_FOLDER = "Документы сотрудников"
USER_DRIVE_FOLDER = "Документы от работодателя"
READ_ACCESS = "disk_access_read"
FORBIDDEN = re.compile(r'[\\/:*?"<>|]')


class NoDrive(ValueError):
    """The employee has no drive the app can write to."""


def save_for_employee(client: RestCaller, place: str, user_id: int, name: str, content: bytes) -> int:
    """Upload the file into the employee's documents; its Drive object ID."""
    folder_id = _app_folder(client, user_id) if place == "app_folder" else _user_drive_folder(client, user_id)
    uploaded = client.call("disk.folder.uploadfile", {
        "id": folder_id, "data": {"NAME": name},
        "fileContent": [name, base64.b64encode(content).decode()], "generateUniqueName": True}).result
    return int(uploaded["ID"])


def _app_folder(client: RestCaller, user_id: int) -> int:
    """«Документы сотрудников»/«<name> (ID n)» in the app's storage, readable by the employee."""
    storage = client.call("disk.storage.getforapp", {}).result
    root = _subfolder(client, int(storage["ROOT_OBJECT_ID"]), APP_ROOT_FOLDER)
    folder = _subfolder(client, root, _employee_folder_name(client, user_id))
    client.call("disk.folder.sharetouser", {"id": folder, "userId": user_id, "taskName": READ_ACCESS})
    return folder


def _user_drive_folder(client: RestCaller, user_id: int) -> int:
    """«Документы от работодателя» at the root of the employee's own drive."""
    storages = client.call("disk.storage.getlist", {"filter": {"ENTITY_TYPE": "user",
                                                               "ENTITY_ID": str(user_id)}}).result or []
    if not storages:
        raise NoDrive(f"у пользователя {user_id} нет Диска, доступного приложению")
    return _subfolder(client, int(storages[0]["ROOT_OBJECT_ID"]), USER_DRIVE_FOLDER)


def _subfolder(client: RestCaller, parent_id: int, name: str) -> int:
    """The child folder of that name, created when missing."""
    children: list[dict[str, Any]] = client.call("disk.folder.getchildren", {
        "id": parent_id, "filter": {"NAME": name}}).result or []
    found = next((child for child in children if child.get("NAME") == name and child.get("TYPE") == "folder"), None)
    if found is None:
        found = client.call("disk.folder.addsubfolder", {"id": parent_id, "data": {"NAME": name}}).result
    return int(found["ID"])


def _employee_folder_name(client: RestCaller, user_id: int) -> str:
    users = client.call("user.get", {"ID": user_id, "ADMIN_MODE": "Y"}).result or []
    user = users[0] if users else {}
    name = FORBIDDEN.sub(" ", f"{user.get('LAST_NAME') or ''} {user.get('NAME') or ''}").strip()
    return f"{name} (ID {user_id})" if name else f"Сотрудник ID {user_id}"
