"""The ``timesheets:`` section of app.yaml, validated into :class:`TimesheetSettings`.

```yaml
timesheets:
  schedules:                  # per 1C department ref; "default" for every other department
    default: {kind: "5/2", hours: 8}
    9a7e0c52-...: {kind: "2/2", hours: 11, anchor: 2026-01-01}
    1f0b77e4-...: {kind: "1/3", hours: 24, night_hours: 8, anchor: 2026-01-02}
  clients:                    # who is invoiced for which sites; a site not listed is its own client
    romashka: {name: ООО «Ромашка», departments: [9a7e0c52-..., 1f0b77e4-...]}
  calendar:
    shortened_days: []        # extra pre-holiday days of your calendar beyond art. 95 (dates)
  close_day: 5                # the month's timesheets close on this day of the next month
  remind_days_before: [3, 1]  # reminders to authors of drafts and their managers
  onec:                       # locked timesheets to 1C:ZUP (Document.ТабельУчетаРабочегоВремени)
    connection: zup           # name in onec.connections (default: the first)
    time_kind: 5f7c...        # Ref_Key of «Явка» in Справочник «Виды использования рабочего времени»
```
"""
from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from timesheets.calendar import ProductionCalendar
from timesheets.schedules import FIVE_TWO, Schedule

KNOWN_KEYS = {"schedules", "clients", "calendar", "close_day", "remind_days_before", "onec"}
GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
SHIFT_PATTERNS = {"2/2": (2, 2), "1/3": (1, 3)}


@dataclass(frozen=True)
class Client:
    """Who the provider invoices for some sites."""

    key: str
    name: str
    departments: tuple[str, ...]


@dataclass(frozen=True)
class TimesheetSettings:
    schedules: Mapping[str, Schedule] = field(default_factory=dict)
    clients: tuple[Client, ...] = ()
    shortened_days: tuple[dt.date, ...] = ()
    close_day: int = 5
    remind_days_before: tuple[int, ...] = (3, 1)
    onec_connection: str | None = None
    onec_time_kind: str | None = None  # None: locked timesheets are not pushed to 1C

    def schedule_for(self, department_ref: str) -> Schedule:
        return self.schedules.get(department_ref) or self.schedules.get("default") or FIVE_TWO

    def calendar(self) -> ProductionCalendar:
        return ProductionCalendar(self.shortened_days)

    def client_of(self, department_ref: str, department_name: str = "") -> Client:
        """The configured client of a site, else the site itself."""
        for client in self.clients:
            if department_ref in client.departments:
                return client
        return Client(department_ref, department_name or department_ref, (department_ref,))

    def close_date(self, period_start: dt.date) -> dt.date:
        """The day the month's timesheets close (in the next month)."""
        following = (period_start.replace(day=1) + dt.timedelta(days=32)).replace(day=1)
        return following.replace(day=self.close_day)


def _fail(key: str, expected: str) -> ValueError:
    return ValueError(f"timesheets.{key}: {expected}")


def _positive_int(raw: Any, key: str, *, maximum: int | None = None) -> int:
    if not isinstance(raw, int) or isinstance(raw, bool) or raw < 1 or (maximum is not None and raw > maximum):
        limit = f" не больше {maximum}" if maximum is not None else ""
        raise _fail(key, f"целое число больше нуля{limit}")
    return raw


def _minutes(raw: Any, key: str) -> int:
    if not isinstance(raw, (int, float)) or isinstance(raw, bool) or not 0 <= raw <= 24:
        raise _fail(key, "число часов от 0 до 24")
    return round(raw * 60)


def _date(raw: Any, key: str) -> dt.date:
    if isinstance(raw, dt.date):
        return raw
    try:
        return dt.date.fromisoformat(str(raw))
    except ValueError:
        raise _fail(key, "дата в виде ГГГГ-ММ-ДД") from None


def _schedule(raw: Any, key: str) -> Schedule:
    if not isinstance(raw, Mapping) or set(raw) - {"kind", "hours", "night_hours", "anchor"}:
        raise _fail(key, "словарь с ключами kind (5/2, 2/2, 1/3), hours, night_hours, anchor")
    kind = str(raw.get("kind", "5/2"))
    minutes = _minutes(raw.get("hours", 8), f"{key}.hours")
    night = _minutes(raw.get("night_hours", 0), f"{key}.night_hours")
    if minutes == 0 or night > minutes:
        raise _fail(f"{key}.night_hours", "ночных часов не больше, чем часов смены, и смена не пустая")
    if kind == "5/2":
        if night:
            raise _fail(f"{key}.night_hours", "ночные часы задаются только для сменных графиков 2/2 и 1/3")
        return Schedule(minutes=minutes)
    if kind not in SHIFT_PATTERNS:
        raise _fail(f"{key}.kind", "5/2, 2/2 или 1/3")
    if "anchor" not in raw:
        raise _fail(f"{key}.anchor", "дата первого дня какой-нибудь рабочей смены (ГГГГ-ММ-ДД)")
    on, off = SHIFT_PATTERNS[kind]
    return Schedule("shift", minutes, night, on, off, _date(raw["anchor"], f"{key}.anchor"))


def _mapping(raw: Any, key: str, expected: str) -> Mapping[str, Any]:
    if not isinstance(raw, Mapping):
        raise _fail(key, expected)
    return raw


def _clients(raw: Any) -> tuple[Client, ...]:
    clients, seen = [], set()
    for key, spec in _mapping(raw, "clients", "словарь «код клиента -> {name, departments}»").items():
        where = f"clients.{key}"
        if not isinstance(spec, Mapping) or not isinstance(spec.get("name"), str) or not isinstance(
                spec.get("departments"), list) or not all(isinstance(d, str) and d for d in spec["departments"]):
            raise _fail(where, "словарь с name (название клиента) и departments (список ссылок подразделений 1С)")
        repeated = seen.intersection(spec["departments"])
        if repeated:
            raise _fail(where, f"подразделение {sorted(repeated)[0]} уже отнесено к другому клиенту")
        seen.update(spec["departments"])
        clients.append(Client(str(key), spec["name"], tuple(spec["departments"])))
    return tuple(clients)


def _onec(raw: Any) -> tuple[str | None, str | None]:
    section = _mapping(raw, "onec", "словарь с ключами connection и time_kind")
    if set(section) - {"connection", "time_kind"}:
        raise _fail("onec", "словарь с ключами connection и time_kind")
    connection, time_kind = section.get("connection"), section.get("time_kind")
    if connection is not None and (not isinstance(connection, str) or not connection):
        raise _fail("onec.connection", "имя подключения из onec.connections")
    if time_kind is not None and not GUID.match(str(time_kind).lower()):
        raise _fail("onec.time_kind", "Ref_Key элемента «Явка» справочника «Виды использования рабочего времени» "
                                      "(GUID вида 5f7c1c2e-0000-0000-0000-000000000000)")
    return connection, str(time_kind).lower() if time_kind else None


def load_settings(raw: Mapping[str, Any], env: Mapping[str, str] | None = None) -> TimesheetSettings:
    """Read and validate the ``timesheets`` section; ValueError names the key and what is expected."""
    raw = raw or {}
    if "brigade_leaders" in raw:
        raise ValueError("timesheets.brigade_leaders: бригадиры задаются в одном месте — cabinet.brigade_leaders "
                         "(«ссылка подразделения 1С -> [ID пользователей]»)")
    unknown = set(raw) - KNOWN_KEYS
    if unknown:
        raise ValueError(f"timesheets: неизвестные ключи {sorted(unknown)} (известны: {', '.join(sorted(KNOWN_KEYS))})")
    schedules = {str(ref): _schedule(spec, f"schedules.{ref}") for ref, spec in _mapping(
        raw.get("schedules") or {}, "schedules", "словарь «ссылка подразделения или default -> график»").items()}
    calendar = _mapping(raw.get("calendar") or {}, "calendar", "словарь с ключом shortened_days")
    shortened = calendar.get("shortened_days") or []
    if set(calendar) - {"shortened_days"} or not isinstance(shortened, list):
        raise _fail("calendar.shortened_days", "список дат ГГГГ-ММ-ДД")
    onec_connection, onec_time_kind = _onec(raw.get("onec") or {})
    reminders = raw.get("remind_days_before", [3, 1])
    if not isinstance(reminders, list):
        raise _fail("remind_days_before", "список чисел дней до закрытия периода")
    return TimesheetSettings(
        schedules=schedules, clients=_clients(raw.get("clients") or {}),
        shortened_days=tuple(_date(day, "calendar.shortened_days") for day in shortened),
        close_day=_positive_int(raw.get("close_day", 5), "close_day", maximum=28),
        remind_days_before=tuple(_positive_int(days, "remind_days_before", maximum=28) for days in reminders),
        onec_connection=onec_connection, onec_time_kind=onec_time_kind,
    )
