"""The .bpt container: PHP serialize() of the template structure, zlib level 9 (the format
of a template exported from the portal; Bitrix24 REST docs: api-reference/bizproc/template/bizproc-workflow-template-add.md)."""
from __future__ import annotations

import zlib
from typing import Any

import phpserialize

BPT_KEYS = ("VERSION", "TEMPLATE", "PARAMETERS", "VARIABLES", "CONSTANTS", "DOCUMENT_FIELDS")


class BptFormatError(ValueError):
    """The bytes are not a Bitrix24 business process template."""


def pack_bpt(structure: dict[str, Any]) -> bytes:
    """Serialize like PHP and compress like gzcompress($data, 9)."""
    return zlib.compress(phpserialize.dumps(structure), 9)


def unpack_bpt(raw: bytes) -> dict[str, Any]:
    """Decode zlib-compressed or plain serialized .bpt bytes; PHP lists come back as Python lists."""
    try:
        data = zlib.decompress(raw)
    except zlib.error:
        data = raw
    try:
        structure = as_python(phpserialize.loads(data, decode_strings=True))
    except ValueError as exc:
        raise BptFormatError(f"not a PHP-serialized template: {exc}") from exc
    if not isinstance(structure, dict) or "TEMPLATE" not in structure:
        raise BptFormatError("wrong data: no TEMPLATE key")
    return structure


def as_python(value: Any) -> Any:
    """PHP arrays keyed 0..n-1 become lists (they serialize back to the same bytes)."""
    if not isinstance(value, dict):
        return value
    items = {key: as_python(item) for key, item in value.items()}
    if list(items) == list(range(len(items))):
        return list(items.values())
    return items
