"""Decode .bpt bytes into our YAML source (`templates import`), so existing templates go under git.

Every sugar is applied only when re-expanding it gives back exactly what was decoded, so
compile(import(bpt)) reproduces the structure and, for canonical exports, the bytes.
"""
from __future__ import annotations

from typing import Any

from .bpt import BptFormatError, unpack_bpt
from .catalog import AppActivityType, app_code_by_type, placeholder_activity_type
from .compiler import FIELD_TYPES, ROOT_NAME, ROOT_TYPE, document_field, expand_template_field, root_properties
from .source import Node, NodePath, auto_name, path_key

NODE_KEYS = ["Type", "Name", "Activated", "Properties", "Children"]
TYPE_TO_FIELD = {pair: list_type for list_type, pair in FIELD_TYPES.items()}


def import_bpt(raw: bytes, code: str, app_activity_type: AppActivityType = placeholder_activity_type) -> dict[str, Any]:
    """A process source (dict ready for dump_source) from .bpt bytes, zlib-compressed or not."""
    return decode_structure(unpack_bpt(raw), code, app_activity_type)


def decode_structure(structure: dict[str, Any], code: str, app_activity_type: AppActivityType = placeholder_activity_type) -> dict[str, Any]:
    roots = structure["TEMPLATE"]
    if not isinstance(roots, list) or len(roots) != 1:
        raise BptFormatError("expected exactly one root activity")
    root = roots[0]
    fields, raw_fields = _decode_document_fields(structure.get("DOCUMENT_FIELDS") or {})
    source: dict[str, Any] = {"code": code, "template": _decode_template(root)}
    source["list"] = {"name": source["template"]["name"], "fields": fields}
    for section in ("parameters", "variables", "constants"):
        entries = structure.get(section.upper()) or {}
        if entries:
            source[section] = {key: shorten_template_field(entry) for key, entry in entries.items()}
    app_codes = app_code_by_type(app_activity_type)
    source["activities"] = [_decode_node(code, (index,), node, app_codes) for index, node in enumerate(root["Children"] or [])]
    if raw_fields is not None:
        source["document_fields"] = raw_fields
    return source


def _decode_template(root: Node) -> dict[str, Any]:
    if root.get("Name") != ROOT_NAME:
        raise BptFormatError(f"root activity must be named {ROOT_NAME!r}")
    properties = root.get("Properties") or {}
    template: dict[str, Any] = {"name": properties.get("Title", "")}
    if root["Type"] != ROOT_TYPE:
        template["root_type"] = root["Type"]
    if list(properties) == ["Title", "Permission"]:
        if root_properties(template) != properties:
            template["permission"] = properties["Permission"]
    else:
        template["root_properties"] = properties
    return template


def _decode_node(code: str, path: NodePath, node: Node, app_codes: dict[str, str]) -> Node:
    if list(node) != NODE_KEYS or node["Activated"] not in ("Y", "N"):
        raise BptFormatError(f"unsupported activity shape at {path_key(path)}: keys {list(node)}")
    decoded: Node = {"app": app_codes[node["Type"]]} if node["Type"] in app_codes else {"type": node["Type"]}
    if node["Name"] != auto_name(code, path_key(path)):
        decoded["name"] = node["Name"]
    if node["Activated"] == "N":
        decoded["activated"] = False
    properties = dict(node["Properties"] or {})
    if properties and next(iter(properties)) == "Title":
        decoded["title"] = properties.pop("Title")
    if properties:
        decoded["properties"] = properties
    children = node["Children"] or []
    if children:
        decoded["children"] = [_decode_node(code, (*path, index), child, app_codes) for index, child in enumerate(children)]
    return decoded


def shorten_template_field(entry: dict[str, Any]) -> dict[str, Any]:
    """Bitrix-shaped parameter/variable/constant -> short form, when that is lossless."""
    defaults = {"Description": "", "Required": False, "Multiple": False, "Default": ""}
    short = {"name": entry.get("Name"), "type": entry.get("Type")}
    for key in ("Description", "Required", "Multiple", "Default", "Options"):
        if key in entry and entry[key] != defaults.get(key, object()):
            short[key.lower()] = entry[key]
    return short if _same(expand_template_field(short), entry) else entry


def _decode_document_fields(entries: dict[str, Any]) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """List fields when DOCUMENT_FIELDS is exactly what we would compile from them, else raw entries."""
    fields = [_list_field(key, entry) for key, entry in entries.items()]
    if all(fields) and _same({"PROPERTY_" + f["code"]: document_field(f) for f in fields}, entries):
        return fields, None
    return [field for field in fields if field], entries


def _list_field(key: str, entry: dict[str, Any]) -> dict[str, Any] | None:
    list_type = TYPE_TO_FIELD.get((entry.get("Type"), entry.get("BaseType")))
    if not key.startswith("PROPERTY_") or list_type is None:
        return None
    field: dict[str, Any] = {"code": key.removeprefix("PROPERTY_"), "name": entry.get("Name", ""), "type": list_type}
    for flag in ("required", "multiple"):
        if entry.get(flag.capitalize()):
            field[flag] = entry[flag.capitalize()]
    if "Options" in entry:
        field["options"] = entry["Options"]
    return field


def _same(left: Any, right: Any) -> bool:
    """Equality that also respects key order (PHP serialization does)."""
    if isinstance(left, dict) and isinstance(right, dict):
        return list(left) == list(right) and all(_same(left[key], right[key]) for key in left)
    if isinstance(left, list) and isinstance(right, list):
        return len(left) == len(right) and all(_same(a, b) for a, b in zip(left, right))
    return type(left) is type(right) and left == right
