"""The ``bizproc:`` section of app.yaml, validated into :class:`BizprocSettings`.

```yaml
bizproc:
  onec_connection: zup        # name in onec.connections (default: the first)
  roles:                      # Bitrix24 user ids per role
    hr: [5]
    accounting: [6]
    fallback: [1]             # when a role resolves to nobody (default: the installing admin)
  routing:                    # per process: template slot -> roles and/or user ids, in order
    vacation: {provider_manager: [provider_manager, hr]}
  request_types:              # our request type -> the Type sent to 1C (default: the same)
    sick_leave: absence
  retry_attempts: 6           # worker attempts at 1C before the activity gets an error value
  employee_documents: app_folder   # where files from 1C go: app_folder (the app's Drive, shared with
                              # the employee) or user_drive (the employee's own Drive)
```
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from flask import Flask

from b24app.portal import get_config

ROLE_NAMES = ("client_manager", "provider_manager", "hr", "accounting")
CONFIGURED_ROLES = ("hr", "accounting", "fallback")
KNOWN_KEYS = {"onec_connection", "roles", "routing", "request_types", "retry_attempts", "employee_documents"}
DEFAULT_RETRY_ATTEMPTS = 6
DOCUMENT_PLACES = ("app_folder", "user_drive")  # bizproc_templates.employee_documents

RoleSource = str | int  # a role name or a Bitrix24 user id


class BizprocConfigError(ValueError):
    """The ``bizproc:`` section is invalid; the message names the key."""


@dataclass(frozen=True)
class BizprocSettings:
    onec_connection: str | None = None
    roles: Mapping[str, tuple[int, ...]] = field(default_factory=dict)
    routing: Mapping[str, Mapping[str, tuple[RoleSource, ...]]] = field(default_factory=dict)
    request_types: Mapping[str, str] = field(default_factory=dict)
    retry_attempts: int = DEFAULT_RETRY_ATTEMPTS
    employee_documents: str = DOCUMENT_PLACES[0]

    def sources_of(self, process: str, slot: str) -> tuple[RoleSource, ...]:
        """Who fills a template's approver slot: the routing entry, else the role of the same name."""
        return self.routing.get(process, {}).get(slot, (slot,))

    def onec_type(self, request_type: str) -> str:
        return self.request_types.get(request_type, request_type)


def _user_ids(raw: Any, key: str) -> tuple[int, ...]:
    values = raw if isinstance(raw, list) else [raw]
    if not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in values):
        raise BizprocConfigError(f"bizproc.{key}: ожидается список ID пользователей Битрикс24")
    return tuple(values)


def _roles(raw: Any) -> dict[str, tuple[int, ...]]:
    if not isinstance(raw, Mapping) or set(raw) - set(CONFIGURED_ROLES):
        raise BizprocConfigError(f"bizproc.roles: ожидается словарь с ключами {', '.join(CONFIGURED_ROLES)}")
    return {role: _user_ids(ids, f"roles.{role}") for role, ids in raw.items()}


def _slot_sources(raw: Any, key: str) -> tuple[RoleSource, ...]:
    values = raw if isinstance(raw, list) else [raw]
    for value in values:
        is_user = isinstance(value, int) and not isinstance(value, bool) and value > 0
        if not is_user and value not in ROLE_NAMES:
            raise BizprocConfigError(f"bizproc.{key}: ожидаются роли ({', '.join(ROLE_NAMES)}) или ID пользователей")
    return tuple(values)


def _routing(raw: Any) -> dict[str, dict[str, tuple[RoleSource, ...]]]:
    if not isinstance(raw, Mapping):
        raise BizprocConfigError("bizproc.routing: ожидается словарь «код процесса -> {роль: [роли или ID]}»")
    routing: dict[str, dict[str, tuple[RoleSource, ...]]] = {}
    for process, slots in raw.items():
        if not isinstance(slots, Mapping) or set(slots) - set(ROLE_NAMES):
            raise BizprocConfigError(f"bizproc.routing.{process}: ключи — роли {', '.join(ROLE_NAMES)}")
        routing[str(process)] = {slot: _slot_sources(v, f"routing.{process}.{slot}") for slot, v in slots.items()}
    return routing


def _request_types(raw: Any) -> dict[str, str]:
    if not isinstance(raw, Mapping) or not all(isinstance(v, str) and v for v in raw.values()):
        raise BizprocConfigError("bizproc.request_types: ожидается словарь «наш вид заявления -> тип в 1С»")
    return {str(key): value for key, value in raw.items()}


def _retry_attempts(raw: Any) -> int:
    if not isinstance(raw, int) or isinstance(raw, bool) or raw < 1:
        raise BizprocConfigError("bizproc.retry_attempts: ожидается целое число ≥ 1")
    return raw


def _document_place(raw: Any) -> str:
    if raw not in DOCUMENT_PLACES:
        raise BizprocConfigError(f"bizproc.employee_documents: ожидается одно из значений {', '.join(DOCUMENT_PLACES)}")
    return str(raw)


def bizproc_settings(app: Flask) -> BizprocSettings:
    return get_config(app).settings("bizproc")


def load_settings(raw: Mapping[str, Any], env: Mapping[str, str] | None = None) -> BizprocSettings:
    """Read and validate the ``bizproc:`` section of app.yaml."""
    unknown = set(raw) - KNOWN_KEYS
    if unknown:
        raise BizprocConfigError(f"bizproc: неизвестные ключи {sorted(unknown)}")
    connection = raw.get("onec_connection")
    if connection is not None and not isinstance(connection, str):
        raise BizprocConfigError("bizproc.onec_connection: ожидается имя подключения из onec.connections")
    return BizprocSettings(
        onec_connection=connection,
        roles=_roles(raw.get("roles") or {}),
        routing=_routing(raw.get("routing") or {}),
        request_types=_request_types(raw.get("request_types") or {}),
        retry_attempts=_retry_attempts(raw.get("retry_attempts", DEFAULT_RETRY_ATTEMPTS)),
        employee_documents=_document_place(raw.get("employee_documents", DOCUMENT_PLACES[0])),
    )
