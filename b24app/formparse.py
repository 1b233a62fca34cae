"""PHP-style bracket keys (``data[FIELDS][ID]=7``, ``a[]=x``) to nested dicts and lists.

Bitrix24 posts events and activity callbacks as ``application/x-www-form-urlencoded`` built by
PHP's ``http_build_query`` (b24-app.md §4.3); werkzeug keeps the brackets literal, so this is the
one parser every handler uses. Maps whose keys are exactly ``0..n-1`` become lists.
"""
from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qsl

_KEY = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")
_PART = re.compile(r"\[([^\[\]]*)\]")

MAX_DEPTH = 16


class MalformedBody(ValueError):
    """The body cannot be read as a Bitrix24 call."""


def parse_form(body: bytes) -> dict[str, Any]:
    """Parse an url-encoded body into nested structures."""
    try:
        text = body.decode("utf-8")
        pairs = parse_qsl(text, keep_blank_values=True, strict_parsing=False, errors="strict")
    except (UnicodeDecodeError, ValueError) as exc:
        raise MalformedBody("тело запроса не в кодировке UTF-8") from exc
    root: dict[str, Any] = {}
    for key, value in pairs:
        _assign(root, _split_key(key), value)
    return _listify(root)


def parse_json(body: bytes) -> dict[str, Any]:
    """Parse a JSON object body."""
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise MalformedBody("тело запроса не является корректным JSON") from exc
    if not isinstance(data, dict):
        raise MalformedBody("ожидался JSON-объект")
    return data


def parse_body(body: bytes, content_type: str | None) -> dict[str, Any]:
    """Parse a form or JSON body according to its content type."""
    mime = (content_type or "").split(";")[0].strip().lower()
    if mime == "application/json":
        return parse_json(body)
    if mime in ("application/x-www-form-urlencoded", ""):
        return parse_form(body)
    raise MalformedBody(f"неподдерживаемый тип содержимого: {mime}")


def _split_key(key: str) -> list[str]:
    match = _KEY.match(key)
    if not match:
        raise MalformedBody(f"некорректное имя поля: {key[:80]!r}")
    parts = [match.group(1), *_PART.findall(match.group(2))]
    if len(parts) > MAX_DEPTH:
        raise MalformedBody("слишком глубокая вложенность полей")
    return parts


def _assign(node: dict[str, Any], parts: list[str], value: str) -> None:
    for depth, part in enumerate(parts[:-1]):
        if part == "":
            part = str(_next_index(node))
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise MalformedBody(f"поле {'.'.join(parts[:depth + 1])} задано и как значение, и как массив")
        node = child
    last = parts[-1]
    if last == "":
        last = str(_next_index(node))
    if isinstance(node.get(last), dict):
        raise MalformedBody(f"поле {'.'.join(parts)} задано и как массив, и как значение")
    node[last] = value


def _next_index(node: dict[str, Any]) -> int:
    numeric = [int(k) for k in node if k.isdigit()]
    return max(numeric) + 1 if numeric else 0


def _listify(node: Any) -> Any:
    if not isinstance(node, dict):
        return node
    converted = {key: _listify(value) for key, value in node.items()}
    if converted and all(k.isdigit() and str(int(k)) == k for k in converted):
        indexes = sorted(int(k) for k in converted)
        if indexes == list(range(len(indexes))):
            return [converted[str(i)] for i in indexes]
    return converted
