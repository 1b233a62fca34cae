"""PHP wire semantics the portal inherits: ``parse_str``, ``http_build_query`` and array-to-JSON.

Written from PHP's documented behaviour (php.net: ``parse_str``, ``http_build_query``, ``json_encode``; REST
docs: settings/how-to-call-rest-api/data-encoding.md), so the emulator does not share a parser with any client
it is meant to test.
"""
from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote_plus, unquote_plus

_INT_KEY = re.compile(r"^(0|-?[1-9][0-9]*)$")


def parse_query(query: str) -> dict[str, Any]:
    """Parse a query string or form body like PHP ``parse_str``; nested 0..n-1 arrays become lists."""
    result: dict[str, Any] = {}
    for pair in query.split("&"):
        if not pair:
            continue
        raw_key, _, raw_value = pair.partition("=")
        path = _key_path(unquote_plus(raw_key))
        if path is not None:
            _assign(result, path, unquote_plus(raw_value))
    return {key: as_php_arrays(value) for key, value in result.items()}


def _key_path(key: str) -> list[str | None] | None:
    """Split ``a[b][]`` into ``["a", "b", None]`` (None = append); None when PHP drops the variable."""
    key = key.lstrip(" ")
    bracket = key.find("[")
    if bracket < 0 or key.find("]", bracket) < 0:
        # PHP mangles "." and " " (and an unmatched "[") in top-level names to "_" (php.net: variables from
        # external sources)
        base = re.sub(r"[. \[]", "_", key)
        return [base] if base else None
    base = re.sub(r"[. ]", "_", key[:bracket])
    if not base:
        return None
    path: list[str | None] = [base]
    rest = key[bracket:]
    while rest.startswith("["):
        close = rest.find("]")
        if close < 0:
            break
        segment = rest[1:close]
        path.append(segment if segment else None)
        rest = rest[close + 1:]
    return path


def _assign(target: dict[str, Any], path: list[str | None], value: str) -> None:
    node = target
    for position, segment in enumerate(path):
        last = position == len(path) - 1
        name = _next_index(node) if segment is None else segment
        if last:
            node[name] = value
            return
        if not isinstance(node.get(name), dict):
            node[name] = {}
        node = node[name]


def _next_index(node: dict[str, Any]) -> str:
    """PHP's next free integer key of an array."""
    ints = [int(key) for key in node if _INT_KEY.match(key)]
    return str(max(ints) + 1 if ints and max(ints) >= 0 else 0)


def is_php_list(value: dict[Any, Any]) -> bool:
    """True when a PHP array with these keys would be a JSON list: keys exactly 0..n-1 in order."""
    return all(str(key) == str(index) for index, key in enumerate(value))


def as_php_arrays(value: Any) -> Any:
    """Apply the PHP array -> JSON rule recursively: empty -> [], keys 0..n-1 -> list (php.net ``json_encode``;
    REST docs: settings/how-to-call-rest-api/batch.md shows empty sections as ``[]``)."""
    if isinstance(value, dict):
        if is_php_list(value):
            return [as_php_arrays(item) for item in value.values()]
        return {str(key): as_php_arrays(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [as_php_arrays(item) for item in value]
    return value


def build_query(data: dict[str, Any]) -> str:
    """Encode nested data like PHP ``http_build_query`` (null skipped, true -> 1, false -> 0)."""
    pairs: list[str] = []
    for key, value in data.items():
        _encode(pairs, str(key), value)
    return "&".join(pairs)


def _encode(pairs: list[str], key: str, value: Any) -> None:
    if value is None:
        return
    if isinstance(value, dict):
        for sub_key, item in value.items():
            _encode(pairs, f"{key}[{sub_key}]", item)
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            _encode(pairs, f"{key}[{index}]", item)
    else:
        pairs.append(f"{quote_plus(key)}={quote_plus(php_string(value))}")


def upper_keys(value: dict[Any, Any]) -> dict[str, Any]:
    """PHP ``array_change_key_case(..., CASE_UPPER)``: parameter names are case-insensitive
    [not in the docs: core modules/bizproc/lib/restservice.php, modules/rest/lib/api/user.php]."""
    return {str(key).upper(): item for key, item in value.items()}


def php_string(value: Any) -> str:
    """PHP string conversion of a scalar."""
    if value is True:
        return "1"
    if value is False:
        return "0"
    return str(value)


def php_bool(value: Any) -> bool:
    """PHP ``(bool)`` cast: 0, "0", "", false, null and empty arrays are false ("false" is true)."""
    if isinstance(value, str):
        return value not in ("", "0")
    return bool(value)
