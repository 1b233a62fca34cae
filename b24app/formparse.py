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
from urllib.parse import unquote

from flask import current_app, request
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wsgi import get_content_length, get_input_stream

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
    """Parse an url-encoded body into nested structures, in one pass over its fields.

    The field count is known before any field is split (``&`` counted in C); raw control characters
    are found by one scan of the whole body, and only a field that has escapes is decoded and
    scanned again (an escape can make a control character).
    """
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MalformedBody("тело запроса не в кодировке UTF-8") from exc
    if text.count("&") >= MAX_FIELDS:
        raise MalformedBody(f"тело запроса не разобрано: больше {MAX_FIELDS} полей")
    _check_text(text)
    root: dict[str, Any] = {}
    appended: dict[int, int] = {}  # id(node) -> next index for "[]" (linear, whatever the body)
    for field in text.split("&"):
        if field:
            key, _, value = field.partition("=")
            key = key.replace("%5B", "[").replace("%5D", "]")  # PHP escapes every bracket of a key
            _assign(root, _split_key(_unescape(key)), _unescape(value), appended)
    return _listify(root, appended)


def _unescape(text: str) -> str:
    """``+`` and ``%XX`` decoded (as parse_qsl does), checked again for control characters."""
    if "%" not in text:
        return text.replace("+", " ") if "+" in text else text
    try:
        decoded = unquote(text.replace("+", " "), errors="strict")
    except UnicodeDecodeError as exc:
        raise MalformedBody("тело запроса не разобрано: ошибка кодировки") from exc
    _check_text(decoded)
    return decoded


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


def read_body(environ: dict[str, Any], limit: int) -> bytes:
    """A WSGI request's body; 413 when it exceeds ``limit`` bytes, chunked bodies included (werkzeug
    stops a chunked body at the limit and returns what it read: the byte after it tells)."""
    stream = get_input_stream(environ, max_content_length=limit)  # 413 for a declared length over it
    if get_content_length(environ) is not None:
        return stream.read()
    chunks, size = [], 0
    while chunk := stream.read(min(READ_CHUNK, limit + 1 - size)):
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            raise RequestEntityTooLarge()
    return b"".join(chunks)


def parse_request() -> dict[str, Any]:
    """The current Flask request's body, parsed by its content type."""
    return parse_body(read_body(request.environ, current_app.config["MAX_CONTENT_LENGTH"]), request.content_type)


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
    if key and "[" not in key and "]" not in key:
        return [key]
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


def _listify(node: Any, indexed: dict[int, int]) -> Any:
    """Maps whose keys are exactly ``0..n-1`` as lists; only a map that got an index (``indexed``) can be one."""
    if not isinstance(node, dict):
        return node
    converted = {key: _listify(value, indexed) for key, value in node.items()}
    if id(node) in indexed and all(k.isdigit() and str(int(k)) == k for k in converted):
        indexes = sorted(int(k) for k in converted)
        if indexes == list(range(len(indexes))):
            return [converted[str(i)] for i in indexes]
    return converted
