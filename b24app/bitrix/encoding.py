"""Python values -> what Bitrix24's PHP expects (Bitrix24 REST docs: settings/how-to-call-rest-api/data-encoding.md).

Two encodings, same value rules:
- JSON bodies (`to_bitrix`): booleans become "Y"/"N"; None stays null (clears a field).
- batch sub-commands (`command_string`): PHP `http_build_query` with bracket paths (`a[b][0]=x`),
  booleans "Y"/"N", None and empty arrays as "" (form encoding has no null: "" is how a field is cleared),
  dates ISO 8601, everything percent-encoded once (the batch itself travels as JSON).
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from decimal import Decimal
from typing import Any
from urllib.parse import quote


def scalar(value: Any) -> Any:
    """One scalar in Bitrix terms: Y/N booleans, ISO dates, exact decimals; other values unchanged."""
    if isinstance(value, bool):
        return "Y" if value else "N"
    if isinstance(value, (dt.date, dt.datetime, dt.time)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def to_bitrix(value: Any) -> Any:
    """A JSON-ready copy of `value` with Bitrix scalars (tuples and sets become lists)."""
    if isinstance(value, Mapping):
        return {str(key): to_bitrix(item) for key, item in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [to_bitrix(item) for item in value]
    return scalar(value)


def _pairs(prefix: str, value: Any) -> Iterator[tuple[str, str]]:
    """Flatten `value` under `prefix` into (bracket path, string) pairs."""
    if isinstance(value, Mapping):
        items: Any = value.items()
    elif isinstance(value, (list, tuple, set, frozenset)):
        items = enumerate(value)
    else:
        converted = scalar(value)
        yield prefix, "" if converted is None else str(converted)
        return
    empty = True
    for key, item in items:
        empty = False
        yield from _pairs(f"{prefix}[{quote(str(key), safe='')}]", item)
    if empty:
        yield prefix, ""


def build_query(params: Mapping[str, Any] | list[Any]) -> str:
    """PHP-compatible query string; a list gives positional keys 0, 1, ... (legacy methods)."""
    items = enumerate(params) if isinstance(params, list) else params.items()
    pairs = (pair for key, value in items for pair in _pairs(quote(str(key), safe=""), value))
    return "&".join(f"{key}={quote(text, safe='')}" for key, text in pairs)


def command_string(method: str, params: Mapping[str, Any] | list[Any] | None) -> str:
    """One batch command: `method?query` (just `method` without parameters)."""
    query = build_query(params) if params else ""
    return f"{method}?{query}" if query else method
