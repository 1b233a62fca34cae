"""The ``sync:`` section of app.yaml, validated into :class:`SyncSettings`.

```yaml
sync:
  onec_connection: zup            # name in onec.connections (default: the first)
  owner_id: 1                     # provider manager who owns every workgroup
  managers:                       # moderators per department ref ("default" for all)
    default: {client: [], provider: [7]}
    8f1c...-dept-ref: {client: [12], provider: [7]}
  onboard:                        # who gets invited: "all" or a list of refs
    legal_entities: all
    departments: all
  extranet_site_id: co            # a group is extranet when bound to this site (sonet_group.create SITE_ID)
  intranet_site_id: s1
  grace_days: 7                   # days after the dismissal date before ACTIVE=N
  max_deactivate_percent: 5
  today: null                     # ISO date to plan as of (tests, demos); default: today
```
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from flask import Flask

from b24app.portal import get_config


class SyncConfigError(ValueError):
    """The ``sync:`` section is invalid; the message names the key and what is expected."""


ALL = "all"


@dataclass(frozen=True)
class Managers:
    """Bitrix24 user ids that moderate a department's group."""

    client: tuple[int, ...] = ()
    provider: tuple[int, ...] = ()

    @property
    def all(self) -> tuple[int, ...]:
        return tuple(dict.fromkeys((*self.provider, *self.client)))


@dataclass(frozen=True)
class SyncSettings:
    onec_connection: str | None = None
    owner_id: int = 1
    managers: Mapping[str, Managers] = field(default_factory=dict)
    onboard_legal_entities: frozenset[str] | None = None  # None = all
    onboard_departments: frozenset[str] | None = None
    extranet_site_id: str = "co"
    intranet_site_id: str = "s1"
    grace_days: int = 7
    max_deactivate_percent: float = 5.0
    today: dt.date | None = None

    def managers_of(self, department_ref: str) -> Managers:
        return self.managers.get(department_ref) or self.managers.get("default") or Managers()

    def onboarded(self, legal_entity_ref: str | None, department_ref: str) -> bool:
        """Is this department of this legal entity launched (its people get invitations)?"""
        entity_ok = self.onboard_legal_entities is None or legal_entity_ref in self.onboard_legal_entities
        department_ok = self.onboard_departments is None or department_ref in self.onboard_departments
        return entity_ok and department_ok

    def as_of(self) -> dt.date:
        return self.today or dt.date.today()

    def on_one_day(self) -> SyncSettings:
        """These settings with ``today`` fixed to ``as_of()`` now: a run decides, narrows its read
        (sync_jobs.scope) and records its decisions as of the day it started, even across midnight."""
        return replace(self, today=self.as_of())


def _ids(raw: Any, key: str) -> tuple[int, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list) or not all(isinstance(item, int) and item > 0 for item in raw):
        raise SyncConfigError(f"sync.{key}: ожидается список ID пользователей Битрикс24 (целые > 0)")
    return tuple(raw)


def _managers(raw: Any) -> dict[str, Managers]:
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise SyncConfigError("sync.managers: ожидается словарь «ссылка подразделения | default» -> "
                              "{client: [...], provider: [...]}")
    result = {}
    for ref, item in raw.items():
        if not isinstance(item, Mapping) or set(item) - {"client", "provider"}:
            raise SyncConfigError(f"sync.managers.{ref}: ожидается {{client: [...], provider: [...]}}")
        result[str(ref).lower()] = Managers(_ids(item.get("client"), f"managers.{ref}.client"),
                                            _ids(item.get("provider"), f"managers.{ref}.provider"))
    return result


def _refs(raw: Any, key: str) -> frozenset[str] | None:
    if raw is None or raw == ALL:
        return None
    if not isinstance(raw, list) or not all(isinstance(item, str) and item for item in raw):
        raise SyncConfigError(f"sync.onboard.{key}: ожидается «all» или список ссылок 1С")
    return frozenset(item.lower() for item in raw)


def _number(raw: Mapping[str, Any], key: str, default: float, *, low: float, high: float) -> float:
    value = raw.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
        raise SyncConfigError(f"sync.{key}: ожидается число от {low:g} до {high:g}")
    return float(value)


def _today(raw: Any) -> dt.date | None:
    if raw is None or isinstance(raw, dt.date):
        return raw
    try:
        return dt.date.fromisoformat(str(raw))
    except ValueError:
        raise SyncConfigError("sync.today: ожидается дата ГГГГ-ММ-ДД") from None


KNOWN_KEYS = {"onec_connection", "owner_id", "managers", "onboard", "extranet_site_id", "intranet_site_id",
              "grace_days", "max_deactivate_percent", "today"}


def sync_settings(app: Flask) -> SyncSettings:
    return get_config(app).settings("sync")


def load_settings(raw: Mapping[str, Any], env: Mapping[str, str] | None = None) -> SyncSettings:
    """Read and validate the ``sync:`` section of app.yaml; raise SyncConfigError naming the bad key."""
    unknown = set(raw) - KNOWN_KEYS
    if unknown:
        raise SyncConfigError(f"sync: неизвестные ключи {sorted(unknown)}")
    onboard = raw.get("onboard") or {}
    if not isinstance(onboard, Mapping):
        raise SyncConfigError("sync.onboard: ожидается словарь {legal_entities, departments}")
    owner = raw.get("owner_id", 1)
    if not isinstance(owner, int) or isinstance(owner, bool) or owner < 1:
        raise SyncConfigError("sync.owner_id: ожидается ID пользователя Битрикс24 (целое > 0)")
    return SyncSettings(
        onec_connection=raw.get("onec_connection"), owner_id=owner, managers=_managers(raw.get("managers")),
        onboard_legal_entities=_refs(onboard.get("legal_entities"), "legal_entities"),
        onboard_departments=_refs(onboard.get("departments"), "departments"),
        extranet_site_id=str(raw.get("extranet_site_id", "co")),
        intranet_site_id=str(raw.get("intranet_site_id", "s1")),
        grace_days=int(_number(raw, "grace_days", 7, low=0, high=3650)),
        max_deactivate_percent=_number(raw, "max_deactivate_percent", 5.0, low=0, high=100),
        today=_today(raw.get("today")))
