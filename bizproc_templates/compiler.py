"""Compile a process source to the .bpt structure and bytes, plus what the installer sends for it."""
from __future__ import annotations

import hashlib
import json
from typing import Any

from .bpt import pack_bpt
from .catalog import AppActivityType, placeholder_activity_type
from .source import Node, NodePath, Process, node_name, resolve_ids

BPT_VERSION = 2
ROOT_TYPE = "SequentialWorkflowActivity"
ROOT_NAME = "Template"
PERMISSION_LETTERS = ("D", "E", "R", "S", "T", "U", "W", "X")
IBLOCK_TYPE_ID = "bitrix_processes"
AUTO_EXECUTE_ON_CREATE = 1

# list field TYPE -> (bizproc Type, BaseType) in DOCUMENT_FIELDS; user types keep their list name.
FIELD_TYPES: dict[str, tuple[str, str]] = {
    "S": ("string", "string"),
    "N": ("double", "double"),
    "L": ("select", "select"),
    "F": ("file", "file"),
    "S:Date": ("S:Date", "date"),
    "S:DateTime": ("S:DateTime", "datetime"),
    "S:employee": ("S:employee", "user"),
    "S:DiskFile": ("S:DiskFile", "file"),
    "S:HTML": ("S:HTML", "text"),
}


def compile_structure(process: Process, app_activity_type: AppActivityType = placeholder_activity_type) -> dict[str, Any]:
    """The decoded .bpt: VERSION, TEMPLATE, PARAMETERS, VARIABLES, CONSTANTS, DOCUMENT_FIELDS."""
    resolved = resolve_ids(process)
    return {
        "VERSION": BPT_VERSION,
        "TEMPLATE": [_root(resolved, app_activity_type)],
        "PARAMETERS": expand_template_fields(process.section("parameters")),
        "VARIABLES": expand_template_fields(process.section("variables")),
        "CONSTANTS": expand_template_fields(process.section("constants")),
        "DOCUMENT_FIELDS": document_fields(process),
    }


def compile_bpt(process: Process, app_activity_type: AppActivityType = placeholder_activity_type) -> bytes:
    return pack_bpt(compile_structure(process, app_activity_type))


def _root(process: Process, app_activity_type: AppActivityType) -> Node:
    return {
        "Type": process.section("template").get("root_type", ROOT_TYPE),
        "Name": ROOT_NAME,
        "Activated": "Y",
        "Properties": root_properties(process.section("template")),
        "Children": _compile_nodes(process.code, process.activities, (), app_activity_type),
    }


def root_properties(template: dict[str, Any]) -> dict[str, Any]:
    if "root_properties" in template:
        return template["root_properties"]
    permission = template.get("permission", {letter: [] for letter in PERMISSION_LETTERS})
    return {"Title": template.get("title", template.get("name", "")), "Permission": permission}


def _compile_nodes(code: str, nodes: list[Node], prefix: NodePath, app_activity_type: AppActivityType) -> list[Node]:
    return [_compile_node(code, (*prefix, index), node, app_activity_type) for index, node in enumerate(nodes)]


def _compile_node(code: str, path: NodePath, node: Node, app_activity_type: AppActivityType) -> Node:
    return {
        "Type": app_activity_type(node["app"]) if "app" in node else node["type"],
        "Name": node_name(code, path, node),
        "Activated": "N" if node.get("activated") is False else "Y",
        "Properties": node_properties(node),
        "Children": _compile_nodes(code, node.get("children", []), path, app_activity_type),
    }


def node_properties(node: Node) -> dict[str, Any]:
    title = {"Title": node["title"]} if "title" in node else {}
    return {**title, **(node.get("properties") or {})}


def expand_template_field(entry: dict[str, Any]) -> dict[str, Any]:
    """Short form {name, type, ...} -> Bitrix shape; entries already in Bitrix shape pass through."""
    if "Name" in entry:
        return entry
    expanded = {
        "Name": entry["name"],
        "Description": entry.get("description", ""),
        "Type": entry["type"],
        "Required": entry.get("required", False),
        "Multiple": entry.get("multiple", False),
        "Default": entry.get("default", ""),
    }
    if "options" in entry:
        expanded["Options"] = entry["options"]
    return expanded


def expand_template_fields(entries: dict[str, Any]) -> dict[str, Any]:
    return {code: expand_template_field(entry) for code, entry in entries.items()}


def document_field(field: dict[str, Any]) -> dict[str, Any]:
    """One list field as a DOCUMENT_FIELDS entry (importing the .bpt creates missing fields)."""
    bizproc_type, base_type = FIELD_TYPES[field["type"]]
    entry = {
        "Name": field["name"],
        "Type": bizproc_type,
        "Filterable": True,
        "Editable": True,
        "Required": field.get("required", False),
        "Multiple": field.get("multiple", False),
        "BaseType": base_type,
    }
    if "options" in field:
        entry["Options"] = field["options"]
    return entry


def document_fields(process: Process) -> dict[str, Any]:
    if "document_fields" in process.source:
        return process.source["document_fields"]
    return {"PROPERTY_" + field["code"]: document_field(field) for field in process.list_fields()}


def iblock_code(process: Process) -> str:
    return process.section("list").get("code", "b24app_" + process.code)


def list_definition(process: Process) -> dict[str, Any]:
    """Payloads for lists.add ("list") and lists.field.add ("fields", in order)."""
    spec = process.section("list")
    target = {"IBLOCK_TYPE_ID": IBLOCK_TYPE_ID, "IBLOCK_CODE": iblock_code(process)}
    fields = {"NAME": spec["name"], "DESCRIPTION": spec.get("description", ""), "SORT": spec.get("sort", 500), "BIZPROC": "Y"}
    messages = {"ELEMENTS_NAME": spec.get("elements_name", "Заявления"), "ELEMENT_ADD": spec.get("element_add", "Подать заявление")}
    return {
        "list": {**target, "FIELDS": fields, "MESSAGES": messages},
        "fields": [{**target, "FIELDS": list_field_payload(field, index)} for index, field in enumerate(process.list_fields())],
    }


def list_field_payload(field: dict[str, Any], index: int) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "NAME": field["name"],
        "TYPE": field["type"],
        "CODE": field["code"],
        "IS_REQUIRED": "Y" if field.get("required") else "N",
        "MULTIPLE": "Y" if field.get("multiple") else "N",
        "SORT": field.get("sort", (index + 1) * 10),
    }
    if "options" in field:
        payload["LIST"] = {
            f"n{number}": {"VALUE": label, "XML_ID": key, "SORT": (number + 1) * 10, "DEF": "Y" if key == field.get("default") else "N"}
            for number, (key, label) in enumerate(field["options"].items())
        }
    elif "default" in field:
        payload["DEFAULT_VALUE"] = field["default"]
    return payload


def template_definition(process: Process) -> dict[str, Any]:
    """NAME, DESCRIPTION, AUTO_EXECUTE for bizproc.workflow.template.add/update (AUTO_EXECUTE as a string)."""
    template = process.section("template")
    return {
        "NAME": template["name"],
        "DESCRIPTION": template.get("description", ""),
        "AUTO_EXECUTE": str(template.get("auto_execute", AUTO_EXECUTE_ON_CREATE)),
    }


def content_hash(process: Process) -> str:
    """sha256 over everything the installer would send for this process (app types as placeholders)."""
    payload = {
        "bpt": hashlib.sha256(compile_bpt(process)).hexdigest(),
        "list": list_definition(process),
        "template": template_definition(process),
    }
    return hashlib.sha256(json.dumps(payload, ensure_ascii=False, sort_keys=True).encode()).hexdigest()
