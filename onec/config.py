"""Typed configuration of one 1C connection, built from the plain dict in app.yaml.

Example::

    {"name": "zup-main", "mode": "odata",
     "url": "https://hr1c.local/zup/odata/standard.odata/",
     "login": "Обмен", "password_env": "ONEC_ZUP_MAIN_PASSWORD",
     "timeouts": {"connect": 10, "read": 120, "operation": 300},
     "request_documents": {"vacation": "Document_Отпуск"}}

Entity-set and field names that may differ on a concrete ZUP release (docs/onec-extension.md,
sections 4 and 6) live in ``sets`` and ``request_documents`` so an administrator can adapt them.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

from onec.errors import OneCConfigError
from onec.retry import RetryPolicy

MODES = ("odata", "soap")

DEFAULT_REQUEST_DOCUMENTS: dict[str, str] = {}
"""Overrides of onec.targets.TARGETS (request kind -> entity set), for a ZUP whose objects are renamed."""


@dataclass(frozen=True)
class Timeouts:
    """Seconds: TCP connect, HTTP read (OData and WSDL load), SOAP operation."""

    connect: float = 10.0
    read: float = 120.0
    operation: float = 300.0

    def __post_init__(self) -> None:
        if min(self.connect, self.read, self.operation) <= 0:
            raise OneCConfigError("1C connection config: timeouts must be positive")


@dataclass(frozen=True)
class EntitySets:
    """Names of the OData entity sets the connector reads (all must be published)."""

    legal_entities: str = "Catalog_Организации"
    tax_registrations: str = "Catalog_РегистрацииВНалоговомОргане"
    departments: str = "Catalog_ПодразделенияОрганизаций"
    positions: str = "Catalog_Должности"
    persons: str = "Catalog_ФизическиеЛица"
    contact_kinds: str = "Catalog_ВидыКонтактнойИнформации"
    employees: str = "Catalog_Сотрудники"
    employment: str = "InformationRegister_ТекущиеКадровыеДанныеСотрудников"
    vacations_taken: str = "AccumulationRegister_ФактическиеОтпуска_RecordType"
    vacation_remains: str = "InformationRegister_АналитикаОстатковОтпусков"
    vacation_kinds: str = "Catalog_ВидыОтпусков"


@dataclass(frozen=True)
class Paging:
    """Rows per request: full reads, key scans/snapshots, and OR-batches of keys."""

    page_size: int = 1000
    scan_page_size: int = 10000
    key_batch: int = 15

    def __post_init__(self) -> None:
        if min(self.page_size, self.scan_page_size, self.key_batch) < 1:
            raise OneCConfigError("1C connection config: paging sizes must be >= 1")


@dataclass(frozen=True)
class ConnectionConfig:
    """One 1C:ZUP connection."""

    name: str
    mode: str
    url: str
    login: str
    password_env: str
    timeouts: Timeouts = Timeouts()
    paging: Paging = Paging()
    retry: RetryPolicy = RetryPolicy()
    sets: EntitySets = EntitySets()
    request_documents: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_REQUEST_DOCUMENTS))

    resolved_password: str | None = field(default=None, repr=False, compare=False)
    """Read from the environment by ``load_settings`` (or passed to ``build_source(..., password=...)``)."""

    def password(self) -> str:
        """The resolved password, else the one in the environment variable named in the config."""
        value = self.resolved_password if self.resolved_password is not None else os.environ.get(self.password_env)
        if value is None:
            raise OneCConfigError(
                f"Пароль для подключения 1С «{self.name}» не задан: переменная окружения "
                f"{self.password_env} не установлена"
            )
        return value

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ConnectionConfig:
        """Validate the app.yaml dict; unknown keys and wrong types are errors."""
        data = dict(data)
        for key in ("name", "mode", "url", "login", "password_env"):
            if not isinstance(data.get(key), str) or not data[key]:
                raise OneCConfigError(f"1C connection config: '{key}' is required (a non-empty string)")
        if data["mode"] not in MODES:
            raise OneCConfigError(f"1C connection config: 'mode' must be one of {MODES}")
        nested = {
            "timeouts": Timeouts,
            "paging": Paging,
            "retry": RetryPolicy,
            "sets": EntitySets,
        }
        for key, section in nested.items():
            if key in data:
                data[key] = _section(section, key, data[key])
        defaults = {"request_documents": DEFAULT_REQUEST_DOCUMENTS}
        for key, default in defaults.items():
            if key in data:
                data[key] = {**default, **_mapping(key, data[key])}
        known = {f.name for f in dataclasses.fields(cls)} - {"resolved_password"}
        unknown = set(data) - known
        if unknown:
            raise OneCConfigError(f"1C connection config: unknown keys {sorted(unknown)}")
        return cls(**data)


def _mapping(key: str, value: Any) -> dict[str, str]:
    if not isinstance(value, Mapping) or not all(isinstance(v, str) for v in value.values()):
        raise OneCConfigError(f"1C connection config: '{key}' must map names to strings")
    return dict(value)


def _section(section: type, key: str, value: Any) -> Any:
    if not isinstance(value, Mapping):
        raise OneCConfigError(f"1C connection config: '{key}' must be a mapping")
    names = {f.name: f.type for f in dataclasses.fields(section)}
    unknown = set(value) - set(names)
    if unknown:
        raise OneCConfigError(f"1C connection config: unknown keys in '{key}': {sorted(unknown)}")
    defaults = section()
    converted = {}
    for name, raw in value.items():
        expected = type(getattr(defaults, name))
        try:
            converted[name] = expected(raw)
        except (TypeError, ValueError):
            raise OneCConfigError(f"1C connection config: '{key}.{name}' must be {expected.__name__}") from None
    return section(**converted)


@dataclass(frozen=True)
class OneCSettings:
    """The ``onec:`` section of app.yaml: every configured 1C:ZUP connection, passwords resolved."""

    connections: tuple[ConnectionConfig, ...] = ()

    def connection(self, name: str | None = None) -> ConnectionConfig:
        """The connection called ``name`` (the first one when None)."""
        for connection in self.connections:
            if name in (None, connection.name):
                return connection
        if name:
            raise OneCConfigError(f"подключения к 1С «{name}» нет в onec.connections")
        raise OneCConfigError("onec.connections: не настроено ни одного подключения к 1С")


_REQUIRED_TEXT = {"name": "непустая строка", "login": "непустая строка",
                  "password_env": "имя переменной окружения с паролем"}


def load_settings(section: Mapping[str, Any], env: Mapping[str, str]) -> OneCSettings:
    """Read ``onec.connections`` of app.yaml; every problem is a ValueError «key: что ожидается»."""
    raw = section.get("connections", [])
    if not isinstance(raw, list):
        raise OneCConfigError("onec.connections: список подключений")
    problems: list[OneCConfigError] = []
    connections = []
    for index, item in enumerate(raw):
        key = f"onec.connections[{index}]"
        found = _connection_problems(key, item, env)
        if not found:
            try:
                config = ConnectionConfig.from_dict({"mode": "odata", **item})
            except OneCConfigError as exc:
                found = [OneCConfigError(f"{key}: {exc}")]
            else:
                connections.append(dataclasses.replace(config, resolved_password=env[config.password_env]))
        problems.extend(found)
    if problems:
        raise ExceptionGroup("onec", problems)
    return OneCSettings(tuple(connections))


def _connection_problems(key: str, item: Any, env: Mapping[str, str]) -> list[OneCConfigError]:
    """The problems of one connection's required keys, in the words of ``b24app config check``."""
    if not isinstance(item, Mapping):
        return [OneCConfigError(f"{key}: словарь с ключами name, mode, url, login, password_env")]
    problems = [OneCConfigError(f"{key}.{name}: {expected}") for name, expected in _REQUIRED_TEXT.items()
                if not isinstance(item.get(name), str) or not item[name].strip()]
    if item.get("mode", "odata") not in MODES:
        problems.append(OneCConfigError(f"{key}.mode: odata или soap"))
    url = item.get("url")
    if not isinstance(url, str) or urlparse(url).scheme not in ("http", "https") or not urlparse(url).netloc:
        problems.append(OneCConfigError(f"{key}.url: адрес http(s)"))
    password_env = item.get("password_env")
    if isinstance(password_env, str) and password_env.strip() and not env.get(password_env, "").strip():
        problems.append(OneCConfigError(f"{password_env}: пароль 1С для {key} (переменная окружения)"))
    return problems
