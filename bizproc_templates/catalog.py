"""The activity property table (activity_properties.csv) and our app activities (app_activities.yaml)."""
from __future__ import annotations

import csv
import hashlib
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Callable

import yaml

PACKAGE_DIR = Path(__file__).resolve().parent
PROPERTY_TABLE = PACKAGE_DIR / "activity_properties.csv"
APP_ACTIVITIES_FILE = PACKAGE_DIR / "app_activities.yaml"

COMMON_ROW = "*"
APP_ROW = "@app"
PLACEHOLDER_PREFIX = "b24app_activity:"

AppActivityType = Callable[[str], str]


@dataclass(frozen=True)
class PropertySpec:
    """One row of the property table."""

    activity: str
    name: str
    role: str  # "input" or "return"
    required: str  # "yes", "no" or "one_of:<group>"
    kind: str
    source: str


@dataclass(frozen=True)
class ActivitySpec:
    """Known properties of one activity type."""

    type: str
    inputs: dict[str, PropertySpec] = field(default_factory=dict)
    returns: dict[str, PropertySpec] = field(default_factory=dict)

    def required(self) -> list[str]:
        return [name for name, spec in self.inputs.items() if spec.required == "yes"]

    def one_of_groups(self) -> dict[str, list[str]]:
        groups: dict[str, list[str]] = {}
        for name, spec in self.inputs.items():
            if spec.required.startswith("one_of:"):
                groups.setdefault(spec.required.removeprefix("one_of:"), []).append(name)
        return groups


@dataclass(frozen=True)
class AppActivity:
    """One of our app activities: its bizproc.activity.add payload and worker timeout."""

    code: str
    timeout: int
    payload: dict[str, Any]

    def registration(self, handler_base_url: str, auth_user_id: int = 1) -> dict[str, Any]:
        """The full bizproc.activity.add parameters for this activity."""
        handler = f"{handler_base_url.rstrip('/')}/b24/activities/{self.code}"
        return {**self.payload, "HANDLER": handler, "AUTH_USER_ID": auth_user_id}


@cache
def property_rows() -> tuple[PropertySpec, ...]:
    with PROPERTY_TABLE.open(encoding="utf-8", newline="") as handle:
        return tuple(PropertySpec(**row) for row in csv.DictReader(handle))


def _spec_from_rows(activity_type: str, rows: list[PropertySpec]) -> ActivitySpec:
    spec = ActivitySpec(activity_type)
    for row in rows:
        (spec.returns if row.role == "return" else spec.inputs)[row.name] = row
    return spec


@cache
def activity_specs() -> dict[str, ActivitySpec]:
    """Built-in activity types (plus the common and app pseudo rows) by type."""
    grouped: dict[str, list[PropertySpec]] = {}
    for row in property_rows():
        grouped.setdefault(row.activity, []).append(row)
    return {name: _spec_from_rows(name, rows) for name, rows in grouped.items()}


@cache
def load_app_activities() -> dict[str, AppActivity]:
    raw = yaml.safe_load(APP_ACTIVITIES_FILE.read_text(encoding="utf-8"))
    return {code: AppActivity(code, int(entry["timeout"]), entry["payload"]) for code, entry in raw.items()}


def app_activity_spec(code: str) -> ActivitySpec:
    """Properties a template may set on (and read back from) one of our app activities."""
    generic = activity_specs()[APP_ROW]
    payload = load_app_activities()[code].payload
    inputs = dict(generic.inputs)
    for name, prop in payload.get("PROPERTIES", {}).items():
        required = "yes" if prop.get("Required") == "Y" else "no"
        inputs[name] = PropertySpec(code, name, "input", required, prop["Type"], APP_ACTIVITIES_FILE.name)
    returns = dict(generic.returns)
    for name, prop in payload.get("RETURN_PROPERTIES", {}).items():
        returns[name] = PropertySpec(code, name, "return", "no", prop["Type"], APP_ACTIVITIES_FILE.name)
    return ActivitySpec(code, inputs, returns)


def placeholder_activity_type(code: str) -> str:
    """Default app activity Type: a placeholder; the installer compiles with `rest_activity_types`."""
    return PLACEHOLDER_PREFIX + code


def rest_activity_type(client_id: str, code: str) -> str:
    """Bitrix24's Type of an app activity: rest_ + md5(APP_ID@CODE), APP_ID being the app's client_id."""
    return "rest_" + hashlib.md5(f"{client_id}@{code}".encode()).hexdigest()


def rest_activity_types(client_id: str) -> AppActivityType:
    return lambda code: rest_activity_type(client_id, code)


def app_code_by_type(app_activity_type: AppActivityType) -> dict[str, str]:
    """Reverse mapping Type -> our code, for every known app activity."""
    return {app_activity_type(code): code for code in load_app_activities()}
