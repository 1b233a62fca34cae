"""The ``.bpt`` template file: zlib (level 9) of PHP ``serialize()``.

REST docs: api-reference/bizproc/template/bizproc-workflow-template-add.md carries a sample file; the format
itself is [not in the docs: core modules/bizproc/lib/workflow/template/packer/bpt.php].
"""
from __future__ import annotations

import base64
import binascii
import zlib
from typing import Any

import phpserialize


class BptError(ValueError):
    """The TEMPLATE_DATA bytes are not a business-process template."""


def php_to_python(value: Any) -> Any:
    """PHP arrays with keys 0..n-1 become lists, recursively; other arrays stay dicts."""
    if isinstance(value, dict):
        converted = {key: php_to_python(item) for key, item in value.items()}
        if list(converted) == list(range(len(converted))):
            return list(converted.values())
        return {str(key): item for key, item in converted.items()}
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value


def unpack(raw: bytes) -> dict:
    """Decode .bpt bytes; like the importer, accept plain serialize() too
    [not in the docs: core modules/bizproc/lib/workflow/template/packer/bpt.php]."""
    for candidate in _candidates(raw):
        try:
            # without object_hook phpserialize rejects objects, as allowed_classes=false does
            # [not in the docs: core modules/bizproc/lib/workflow/template/packer/bpt.php]
            data = phpserialize.loads(candidate, decode_strings=True)
        except (ValueError, TypeError, IndexError, KeyError):
            continue
        if isinstance(data, dict) and "TEMPLATE" in data:
            return _with_defaults(php_to_python(data))
    raise BptError("wrong data")


def _candidates(raw: bytes) -> list[bytes]:
    try:
        return [raw, zlib.decompress(raw)]
    except zlib.error:
        return [raw]


def _with_defaults(data: dict) -> dict:
    template = data.get("TEMPLATE")
    if not isinstance(template, list) or not template or not isinstance(template[0], dict):
        raise BptError("wrong data")
    for key in ("PARAMETERS", "VARIABLES", "CONSTANTS", "DOCUMENT_FIELDS"):
        if not isinstance(data.get(key), dict):
            data[key] = {}
    return data


def pack(data: dict) -> bytes:
    """Encode a template dict as the portal exports it."""
    return zlib.compress(phpserialize.dumps(data), 9)


def file_bytes(value: Any) -> bytes | None:
    """A REST file value ``["name.bpt", "<base64>"]`` (JSON list or form keys 0/1) -> bytes."""
    if isinstance(value, dict):
        value = [value.get("0", value.get(0)), value.get("1", value.get(1))]
    if not isinstance(value, (list, tuple)) or len(value) < 2 or not isinstance(value[1], str):
        return None
    try:
        return base64.b64decode(value[1], validate=False)
    except (binascii.Error, ValueError):
        return None
