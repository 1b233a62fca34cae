"""Value references inside activity properties.

REST docs: api-reference/bizproc/bizproc-activity/bizproc-activity-add.md shows ``{=Document:NAME}``; the
other forms are [not in the docs: core modules/bizproc/templates_bp/vacation.php and the activities under
modules/bizproc/install/activities/].

``{=Document:NAME}``, ``{=Document:~NAME}`` (raw), ``{=Template:param}``, ``{=Variable:x}``,
``{=Constant:x}``, ``{=System:Now}``, ``{=A123_...:LastApprover}``, ``{=Template:TargetUser_printable}``,
``{=Variable:x > printable}``; a whole-string reference keeps the value's type, embedded ones are
rendered as text. Two-element arrays ``["Variable", "x"]`` are references too where users are expected.
"""
from __future__ import annotations

import re
from typing import Any, Callable

EXPRESSION = re.compile(r"\{=\s*([A-Za-z0-9_]+)\s*:\s*([^}]+?)\s*\}")
REFERENCE_OBJECTS = {"Document", "Template", "Variable", "Constant", "Parameter", "System", "Workflow"}

Lookup = Callable[[str, str], Any]  # (object, field) -> value
Printable = Callable[[Any], str]


def _field_and_printable(raw_field: str) -> tuple[str, bool]:
    field, _, modifier = raw_field.partition(">")
    field = field.strip().lstrip("~")
    printable = modifier.strip().lower() == "printable"
    if field.lower().endswith("_printable"):
        return field[: -len("_printable")], True
    return field, printable


def _value_of(match: re.Match, lookup: Lookup, printable: Printable) -> tuple[Any, bool]:
    field, as_text = _field_and_printable(match.group(2))
    value = lookup(match.group(1), field)
    return (printable(value), True) if as_text else (value, False)


def render(value: Any, printable: Printable) -> str:
    """A value as text inside a message: lists joined by ", ", None -> ""."""
    if isinstance(value, (list, tuple)):
        return ", ".join(render(item, printable) for item in value)
    return "" if value is None else str(value)


def resolve(value: Any, lookup: Lookup, printable: Printable) -> Any:
    """Resolve every expression in a property value, recursively."""
    if isinstance(value, str):
        whole = EXPRESSION.fullmatch(value.strip())
        if whole:
            return _value_of(whole, lookup, printable)[0]
        return EXPRESSION.sub(lambda m: render(_value_of(m, lookup, printable)[0], printable), value)
    if isinstance(value, list):
        return [resolve(item, lookup, printable) for item in value]
    if isinstance(value, dict):
        return {key: resolve(item, lookup, printable) for key, item in value.items()}
    return value


def is_reference(value: Any, activity_names: set[str]) -> bool:
    """``["Variable", "Boss"]`` or ``["A123_...", "LastApprover"]``."""
    return (
        isinstance(value, list) and len(value) == 2 and all(isinstance(item, str) for item in value)
        and (value[0] in REFERENCE_OBJECTS or value[0] in activity_names)
    )
