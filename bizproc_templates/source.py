"""The YAML source format: one file per process in processes/<code>.yaml (bizproc_templates/README.md).

An activity node in YAML::

    - type: ApproveActivity      # or `app: zup_register_request` for our app activities
      id: approve_client         # optional; lets expressions say {=approve_client:LastApprover}
      name: A123_4_5_6           # optional explicit Name (kept by `import`); else derived
      title: ...                 # becomes Properties.Title (first key)
      activated: false           # optional, default "Y"
      properties: {...}          # real Bitrix24 property names and values
      children: [...]

Names are deterministic: ``auto_name(process_code, "<path>")`` for anonymous nodes and
``auto_name(process_code, "#<id>")`` for nodes with an id, so recompiling gives identical bytes.
"""
from __future__ import annotations

import hashlib
import re
from copy import deepcopy
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import yaml

PROCESSES_DIR = Path(__file__).resolve().parent / "processes"
EXPRESSION_OWNER = re.compile(r"\{=([A-Za-z_][A-Za-z0-9_]*):")

Node = dict[str, Any]
NodePath = tuple[int, ...]


@dataclass(frozen=True)
class Process:
    """A process source as loaded from YAML; `file` names it in error messages."""

    code: str
    source: dict[str, Any]
    file: str = "<memory>"

    @property
    def activities(self) -> list[Node]:
        return self.source.get("activities", [])

    def section(self, name: str) -> dict[str, Any]:
        return self.source.get(name) or {}

    def list_fields(self) -> list[dict[str, Any]]:
        return self.section("list").get("fields", [])


def load_process(path: Path) -> Process:
    source = yaml.safe_load(path.read_text(encoding="utf-8"))
    code = source.get("code", path.stem)
    if code != path.stem:
        raise ValueError(f"{path.name}: code {code!r} differs from the file name")
    return Process(code, source, _display_path(path))


def load_processes(directory: Path = PROCESSES_DIR) -> list[Process]:
    return [load_process(path) for path in sorted(directory.glob("*.yaml"))]


def _display_path(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(PROCESSES_DIR.parent.parent))
    except ValueError:
        return str(path)


def auto_name(process_code: str, key: str) -> str:
    """A Bitrix-looking activity Name (A12345_678_90123_4567) derived from a stable key."""
    digest = hashlib.sha256(f"{process_code}:{key}".encode()).hexdigest()
    parts = [str(int(digest[i * 8:(i + 1) * 8], 16) % 99999 + 1) for i in range(4)]
    return "A" + "_".join(parts)


def path_key(path: NodePath) -> str:
    return ".".join(map(str, path))


def path_label(path: NodePath) -> str:
    """Human path of a node: activities[2].children[0]."""
    head, *rest = path
    return f"activities[{head}]" + "".join(f".children[{index}]" for index in rest)


def walk(nodes: list[Node], prefix: NodePath = ()) -> Iterator[tuple[NodePath, Node]]:
    for index, node in enumerate(nodes):
        path = (*prefix, index)
        yield path, node
        yield from walk(node.get("children", []), path)


def node_name(process_code: str, path: NodePath, node: Node) -> str:
    if "name" in node:
        return node["name"]
    if "id" in node:
        return auto_name(process_code, "#" + node["id"])
    return auto_name(process_code, path_key(path))


def activity_names(process: Process) -> dict[str, str]:
    """Every way an activity may be referenced (id or Name) -> its compiled Name."""
    names: dict[str, str] = {}
    for path, node in walk(process.activities):
        name = node_name(process.code, path, node)
        names[name] = name
        if "id" in node:
            names[node["id"]] = name
    return names


def rename_references(value: Any, names: dict[str, str]) -> Any:
    """Rewrite {=id:Prop} and [id, Prop] references to compiled activity Names."""
    if isinstance(value, str):
        return EXPRESSION_OWNER.sub(lambda m: "{=" + names.get(m.group(1), m.group(1)) + ":", value)
    if isinstance(value, list):
        if len(value) == 2 and all(isinstance(item, str) for item in value) and value[0] in names:
            return [names[value[0]], value[1]]
        return [rename_references(item, names) for item in value]
    if isinstance(value, dict):
        return {key: rename_references(item, names) for key, item in value.items()}
    return value


def resolve_ids(process: Process) -> Process:
    """The same process with ids replaced by explicit Names and references rewritten."""
    names = {key: name for key, name in activity_names(process).items() if key != name}
    source = deepcopy(process.source)
    source["activities"] = _resolve_nodes(process.code, source.get("activities", []), (), names)
    return Process(process.code, source, process.file)


def _resolve_nodes(code: str, nodes: list[Node], prefix: NodePath, names: dict[str, str]) -> list[Node]:
    resolved = []
    for index, node in enumerate(nodes):
        path = (*prefix, index)
        node = dict(node)
        if "id" in node:
            node = {("name" if key == "id" else key): (names[value] if key == "id" else value)
                    for key, value in node.items()}
        if "properties" in node:
            node["properties"] = rename_references(node["properties"], names)
        if "children" in node:
            node["children"] = _resolve_nodes(code, node["children"], path, names)
        resolved.append(node)
    return resolved


class _SourceDumper(yaml.SafeDumper):
    """Readable YAML: block scalars for multi-line text, no key sorting."""


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_SourceDumper.add_representer(str, _represent_str)


def dump_source(source: dict[str, Any]) -> str:
    return yaml.dump(source, Dumper=_SourceDumper, allow_unicode=True, sort_keys=False, width=110)
