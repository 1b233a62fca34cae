"""PHP-style bracket keys (``data[FIELDS][ID]=7``, ``a[]=x``) to nested dicts and lists.

Bitrix24 posts events and activity callbacks as ``application/x-www-form-urlencoded`` built by
PHP's ``http_build_query`` (Bitrix24 REST docs: api-reference/events/index.md); werkzeug keeps the
brackets literal, so this is the one parser every handler uses. Maps whose keys are exactly
``0..n-1`` become lists.

It runs before the call is verified, so its cost is linear in the body and bounded: at most
``MAX_FIELDS`` fields, ``MAX_KEY_CHARS`` per field name, ``MAX_DEPTH`` levels (also for JSON), and no
NUL or other control characters (PostgreSQL cannot store NUL in text; a real portal never sends
them). Everything else is a :class:`MalformedBody` with a Russian message — a 400, never a 500.
"""
from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qsl

from flask import current_app, request
from werkzeug.exceptions import RequestEntityTooLarge

_KEY = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")
_PART = re.compile(r"\[([^\[\]]*)\]")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

MAX_DEPTH = 16
MAX_FIELDS = 5000
MAX_KEY_CHARS = 256
READ_CHUNK = 64 * 1024


class MalformedBody(ValueError):
    """The body cannot be read as a Bitrix24 call."""


def parse_form(body: bytes) -> dict[str, Any]:
    """Parse an url-encoded body into nested structures."""
    try:
        text = body.decode("utf-8")
        pairs = parse_qsl(text, keep_blank_values=True, strict_parsing=False, errors="strict",
                          max_num_fields=MAX_FIELDS)
    except UnicodeDecodeError as exc:
        raise MalformedBody("тело запроса не в кодировке UTF-8") from exc
    except ValueError as exc:  # parse_qsl: more than max_num_fields fields, or undecodable escapes
        raise MalformedBody(f"тело запроса не разобрано: больше {MAX_FIELDS} полей или ошибка кодировки") from exc
    root: dict[str, Any] = {}
    appended: dict[int, int] = {}  # id(node) -> next index for "[]" (linear, whatever the body)
    for key, value in pairs:
        _check_text(key, value)
        _assign(root, _split_key(key), value, appended)
    return _listify(root)


def parse_json(body: bytes) -> dict[str, Any]:
    """Parse a JSON object body of at most ``MAX_DEPTH`` levels."""
    try:
        data = json.loads(body.decode("utf-8"))
    except RecursionError as exc:
        raise MalformedBody("слишком глубокая вложенность JSON") from exc
    except (UnicodeDecodeError, ValueError) as exc:
        raise MalformedBody("тело запроса не является корректным JSON") from exc
    if not isinstance(data, dict):
        raise MalformedBody("ожидался JSON-объект")
    _check_json(data)
    return data


def read_body() -> bytes:
    """The request's body; 413 when it exceeds ``MAX_CONTENT_LENGTH``, chunked bodies included (werkzeug
    stops a chunked body at the limit and returns what it read: the byte after it tells)."""
    if request.content_length is not None:  # werkzeug refused a length over the limit already
        return request.get_data(cache=False)
    limit, chunks, size = current_app.config["MAX_CONTENT_LENGTH"], [], 0
    while chunk := request.stream.read(min(READ_CHUNK, limit + 1 - size)):
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            raise RequestEntityTooLarge()
    return b"".join(chunks)


def parse_request() -> dict[str, Any]:
    """The current request's body, parsed by its content type."""
    return parse_body(read_body(), request.content_type)


def parse_body(body: bytes, content_type: str | None) -> dict[str, Any]:
    """Parse a form or JSON body according to its content type."""
    mime = (content_type or "").split(";")[0].strip().lower()
    if mime == "application/json":
        return parse_json(body)
    if mime in ("application/x-www-form-urlencoded", ""):
        return parse_form(body)
    raise MalformedBody(f"неподдерживаемый тип содержимого: {mime[:80]}")


def _check_text(*texts: str) -> None:
    for text in texts:
        if _CONTROL.search(text):
            raise MalformedBody("управляющие символы в запросе")


def _check_json(data: Any) -> None:
    """Depth, key length and control characters of parsed JSON, without recursion."""
    pending = [(data, 1)]
    while pending:
        node, depth = pending.pop()
        if depth > MAX_DEPTH:
            raise MalformedBody("слишком глубокая вложенность JSON")
        if isinstance(node, dict):
            for key, value in node.items():
                if len(key) > MAX_KEY_CHARS:
                    raise MalformedBody("слишком длинное имя поля")
                _check_text(key)
                pending.append((value, depth + 1))
        elif isinstance(node, list):
            pending.extend((value, depth + 1) for value in node)
        elif isinstance(node, str):
            _check_text(node)


def _split_key(key: str) -> list[str]:
    if len(key) > MAX_KEY_CHARS:
        raise MalformedBody("слишком длинное имя поля")
    match = _KEY.match(key)
    if not match:
        raise MalformedBody(f"некорректное имя поля: {key[:80]!r}")
    parts = [match.group(1), *_PART.findall(match.group(2))]
    if len(parts) > MAX_DEPTH:
        raise MalformedBody("слишком глубокая вложенность полей")
    return parts


def _assign(node: dict[str, Any], parts: list[str], value: str, appended: dict[int, int]) -> None:
    for depth, part in enumerate(parts[:-1]):
        part = _index(node, part, appended)
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise MalformedBody(f"поле {'.'.join(parts[:depth + 1])} задано и как значение, и как массив")
        node = child
    last = _index(node, parts[-1], appended)
    if isinstance(node.get(last), dict):
        raise MalformedBody(f"поле {'.'.join(parts)} задано и как массив, и как значение")
    node[last] = value


def _index(node: dict[str, Any], part: str, appended: dict[int, int]) -> str:
    """The key ``part`` names in ``node``; PHP's ``a[]`` is one more than the largest integer key so
    far, which is tracked per node instead of rescanning the node (linear in the body)."""
    if part.isdigit():
        appended[id(node)] = max(appended.get(id(node), 0), int(part) + 1)
        return part
    if part:
        return part
    index = appended.get(id(node), 0)
    appended[id(node)] = index + 1
    return str(index)


def _listify(node: Any) -> Any:
    if not isinstance(node, dict):
        return node
    converted = {key: _listify(value) for key, value in node.items()}
    if converted and all(k.isdigit() and str(int(k)) == k for k in converted):
        indexes = sorted(int(k) for k in converted)
        if indexes == list(range(len(indexes))):
            return [converted[str(i)] for i in indexes]
    return converted
