"""Check a process source against the activity property table and its own declarations."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from .catalog import APP_ROW, COMMON_ROW, ActivitySpec, activity_specs, app_activity_spec, load_app_activities
from .compiler import FIELD_TYPES, node_properties
from .source import Node, Process, activity_names, node_name, path_label, walk

ROLES = ("client_manager", "provider_manager", "hr", "accounting")
APPROVE_TYPES = ("any", "all", "vote")
SYSTEM_FIELDS = frozenset({
    "ID", "NAME", "CODE", "XML_ID", "IBLOCK_ID", "CREATED_BY", "MODIFIED_BY", "DATE_CREATE", "TIMESTAMP_X",
    "ACTIVE", "ACTIVE_FROM", "ACTIVE_TO", "SORT", "PREVIEW_TEXT", "DETAIL_TEXT", "BP_PUBLISHED",
})
FREE_OWNERS = frozenset({"System", "Workflow", "User", "GlobalConst", "GlobalVar"})
EXPRESSION = re.compile(r"\{=([A-Za-z_][A-Za-z0-9_]*):([A-Za-z_][A-Za-z0-9_]*)")
FIELD_CODE = re.compile(r"^[A-Z][A-Z0-9_]*$")


@dataclass(frozen=True)
class Problem:
    file: str
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.path}: {self.message}"


class ValidationError(Exception):
    """Raised by `check` with every problem found."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("\n".join(map(str, problems)))
        self.problems = problems


def check(process: Process) -> None:
    problems = validate(process)
    if problems:
        raise ValidationError(problems)


def validate(process: Process) -> list[Problem]:
    """Every problem in the process: header, list fields, routing, activities and references."""
    context = _Context(process)
    messages = [*_header(process), *_list_fields(process), *_routing(process, context)]
    for path, node in walk(process.activities):
        messages += [(path_label(path) + suffix, text) for suffix, text in _node(node, context)]
    return [Problem(process.file, where, text) for where, text in messages]


class _Context:
    """Names a template may reference."""

    def __init__(self, process: Process) -> None:
        self.process = process
        self.variables = set(process.section("variables"))
        self.parameters = set(process.section("parameters"))
        self.constants = set(process.section("constants"))
        custom = {"PROPERTY_" + field["code"] for field in process.list_fields() if "code" in field}
        self.document_fields = SYSTEM_FIELDS | custom | set(process.section("document_fields"))
        self.names = activity_names(process)
        self.specs = {node_name(process.code, path, node): spec_of(node) for path, node in walk(process.activities)}

    def owner_fields(self, owner: str) -> set[str] | None:
        """Fields an expression owner offers; None when the owner is unknown."""
        by_owner = {"Document": self.document_fields, "Variable": self.variables,
                    "Template": self.parameters, "Constant": self.constants}
        if owner in by_owner:
            return by_owner[owner]
        if owner in self.names:
            spec = self.specs.get(self.names[owner])
            return set(spec.inputs) | set(spec.returns) if spec else set()
        return None


def spec_of(node: Node) -> ActivitySpec | None:
    specs = activity_specs()
    if "app" in node:
        return app_activity_spec(node["app"]) if node["app"] in load_app_activities() else None
    if node.get("type") in (COMMON_ROW, APP_ROW):
        return None
    return specs.get(node.get("type", ""))


def _header(process: Process) -> list[tuple[str, str]]:
    required = [("list", "name"), ("template", "name")]
    messages = [(section, f"missing {section}.{key}") for section, key in required if not process.section(section).get(key)]
    if not isinstance(process.source.get("activities"), list):
        messages.append(("activities", "missing activity list"))
    return messages


def _list_fields(process: Process) -> list[tuple[str, str]]:
    messages: list[tuple[str, str]] = []
    seen: set[str] = set()
    for index, field in enumerate(process.list_fields()):
        where = f"list.fields[{index}]"
        code = field.get("code", "")
        if not FIELD_CODE.match(code) or code in seen:
            messages.append((where, f"field code {code!r} must be unique UPPER_CASE"))
        seen.add(code)
        if field.get("type") not in FIELD_TYPES:
            messages.append((where, f"unknown field type {field.get('type')!r} (known: {', '.join(FIELD_TYPES)})"))
        if (field.get("type") == "L") != ("options" in field):
            messages.append((where, "options are required for type L and only for it"))
    return messages


def _routing(process: Process, context: _Context) -> list[tuple[str, str]]:
    messages = []
    for role, variable in process.section("routing").items():
        if role not in ROLES:
            messages.append((f"routing.{role}", f"unknown role (known: {', '.join(ROLES)})"))
        if variable not in context.variables:
            messages.append((f"routing.{role}", f"variable {variable!r} is not declared"))
    return messages


def _node(node: Node, context: _Context) -> list[tuple[str, str]]:
    spec = spec_of(node)
    if spec is None:
        kind = f"app activity {node['app']!r}" if "app" in node else f"activity type {node.get('type')!r}"
        return [("", f"unknown {kind}")]
    properties = node_properties(node)
    return [*_unknown_properties(spec, properties), *_missing_properties(spec, properties),
            *_structure(node, spec), *_references(properties, context)]


def _unknown_properties(spec: ActivitySpec, properties: dict[str, Any]) -> list[tuple[str, str]]:
    known = set(spec.inputs) | set(activity_specs()[COMMON_ROW].inputs)
    return [(f".properties.{name}", f"unknown property of {spec.type}") for name in properties if name not in known]


def _is_empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def _missing_properties(spec: ActivitySpec, properties: dict[str, Any]) -> list[tuple[str, str]]:
    messages = [(f".properties.{name}", f"required property of {spec.type} is missing")
                for name in spec.required() if _is_empty(properties.get(name))]
    for group, names in spec.one_of_groups().items():
        if all(_is_empty(properties.get(name)) for name in names):
            messages.append((".properties", f"{spec.type} needs one of {', '.join(names)}"))
    return messages


def _structure(node: Node, spec: ActivitySpec) -> list[tuple[str, str]]:
    messages = []
    if spec.type == "IfElseActivity":
        messages += [(f".children[{index}]", "IfElseActivity children must be IfElseBranchActivity")
                     for index, child in enumerate(node.get("children", [])) if child.get("type") != "IfElseBranchActivity"]
    approve_type = node_properties(node).get("ApproveType")
    if spec.type == "ApproveActivity" and approve_type not in APPROVE_TYPES:
        messages.append((".properties.ApproveType", f"must be one of {', '.join(APPROVE_TYPES)}"))
    return messages


def _references(properties: dict[str, Any], context: _Context) -> list[tuple[str, str]]:
    messages = []
    for key, value in properties.items():
        messages += [(f".properties.{key}", text) for text in _value_references(value, context)]
    messages += _declared_keys(properties, "VariableValue", context.variables, "variable")
    messages += _declared_keys(properties, "FieldValue", context.document_fields, "list field")
    for row in properties.get("propertyvariablecondition") or []:
        if row[0] not in context.variables | context.parameters:
            messages.append((".properties.propertyvariablecondition", f"undefined variable {row[0]!r}"))
    for row in properties.get("fieldcondition") or []:
        if row[0] not in context.document_fields:
            messages.append((".properties.fieldcondition", f"undefined list field {row[0]!r}"))
    for item in properties.get("RequestedInformation") or []:
        if item.get("Name") not in context.variables:
            messages.append((".properties.RequestedInformation", f"undefined variable {item.get('Name')!r}"))
    return messages


def _declared_keys(properties: dict[str, Any], key: str, declared: set[str], what: str) -> list[tuple[str, str]]:
    return [(f".properties.{key}.{name}", f"undefined {what} {name!r}") for name in (properties.get(key) or {}) if name not in declared]


def _value_references(value: Any, context: _Context) -> list[str]:
    if isinstance(value, str):
        return [text for owner, field in EXPRESSION.findall(value) for text in _reference(owner, field, context)]
    if isinstance(value, list):
        pair = len(value) == 2 and all(isinstance(item, str) for item in value)
        if pair and context.owner_fields(value[0]) is not None:
            return _reference(value[0], value[1], context)
        return [text for item in value for text in _value_references(item, context)]
    if isinstance(value, dict):
        return [text for item in value.values() for text in _value_references(item, context)]
    return []


def _reference(owner: str, field: str, context: _Context) -> list[str]:
    if owner in FREE_OWNERS:
        return []
    fields = context.owner_fields(owner)
    if fields is None:
        return [f"reference to undefined activity {owner!r}"]
    if field.removesuffix("_printable") not in fields:
        what = {"Variable": "variable", "Template": "parameter", "Document": "list field", "Constant": "constant"}
        return [f"undefined {what.get(owner, owner + ' property')} {field!r}"]
    return []
