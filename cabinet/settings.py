"""The ``cabinet:`` section of app.yaml, validated into :class:`CabinetSettings`.

```yaml
cabinet:
  brigade_leaders:            # per 1C department ref: Bitrix24 user ids who lead its brigade
    8f1c...-dept-ref: [42]
```
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from flask import Flask

from b24app.portal import get_config

KNOWN_KEYS = {"brigade_leaders"}


@dataclass(frozen=True)
class CabinetSettings:
    brigade_leaders: Mapping[str, tuple[int, ...]] = field(default_factory=dict)

    def departments_led_by(self, user_id: int) -> frozenset[str]:
        return frozenset(ref for ref, leaders in self.brigade_leaders.items() if user_id in leaders)


def brigade_leaders(app: Flask) -> Mapping[str, tuple[int, ...]]:
    """1C department ref (lower case) -> the users who lead its brigade: the one place they are named
    (the cabinet gives them the site's pages, timesheets lets them fill the brigade's timesheets)."""
    return get_config(app).settings("cabinet").brigade_leaders


def _user_ids(raw: Any, key: str) -> tuple[int, ...]:
    if not isinstance(raw, list) or not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in raw):
        raise ValueError(f"cabinet.{key}: ожидается список ID пользователей Битрикс24 (целые > 0)")
    return tuple(raw)


def load_settings(raw: Mapping[str, Any], env: Mapping[str, str] | None = None) -> CabinetSettings:
    """Read and validate the ``cabinet:`` section; ValueError names the bad key."""
    raw = raw or {}
    if not isinstance(raw, Mapping):
        raise ValueError("cabinet: ожидается словарь")
    unknown = set(raw) - KNOWN_KEYS
    if unknown:
        raise ValueError(f"cabinet: неизвестные ключи {sorted(unknown)}")
    leaders = raw.get("brigade_leaders") or {}
    if not isinstance(leaders, Mapping):
        raise ValueError("cabinet.brigade_leaders: ожидается словарь «ссылка подразделения 1С -> [ID пользователей]»")
    return CabinetSettings({str(ref).lower(): _user_ids(ids, f"brigade_leaders.{ref}") for ref, ids in leaders.items()})
