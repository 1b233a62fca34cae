"""SELECT / FILTER / ORDER / start handling shared by the lists and bizproc list methods.

Filter keys carry an operator prefix (b24-transport.md §3, §10): ``>=ID``, ``!NAME``, ``@ID``, ``%NAME``.
Values compare as numbers when both sides look numeric, else as case-insensitive strings.
"""
from __future__ import annotations

from typing import Any, Callable, Iterable

from .registry import ListPage, RestError

PAGE_SIZE = 50  # b24-transport.md §3: fixed page size
ALL_OPERATORS = ("!=%", "!@", "!%", "=%", ">=", "<=", "!=", "@", "%", ">", "<", "=", "!")
TEMPLATE_OPERATORS = ("<=", ">=", "<", ">", "!")  # b24-app.md §5.4: '' ! < <= > >= only


def split_operator(key: str, operators: Iterable[str] = ALL_OPERATORS) -> tuple[str, str]:
    """``">=ID"`` -> (">=", "ID"); a key without a prefix means equality."""
    for operator in operators:
        if key.startswith(operator):
            return operator, key[len(operator):]
    return "", key


def _comparable(value: Any) -> Any:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, (int, float)):
        return value
    text = "" if value is None else str(value)
    try:
        return float(text)
    except ValueError:
        return text.lower()


def _ordered(left: Any, right: Any) -> tuple[Any, Any]:
    a, b = _comparable(left), _comparable(right)
    if isinstance(a, str) != isinstance(b, str):
        return str(left).lower(), str(right).lower()
    return a, b


def _like(value: Any, pattern: Any, wildcards: bool) -> bool:
    text, needle = str(value if value is not None else "").lower(), str(pattern).lower()
    if not wildcards:
        return needle in text
    core = needle.strip("%")
    if needle.startswith("%") and needle.endswith("%"):
        return core in text
    if needle.endswith("%"):
        return text.startswith(core)
    if needle.startswith("%"):
        return text.endswith(core)
    return text == core


def _matches_one(value: Any, operator: str, expected: Any) -> bool:
    if operator in ("@", "!@"):
        options = expected if isinstance(expected, (list, tuple)) else str(expected).split(",")
        found = any(_matches_one(value, "", option) for option in options)
        return found if operator == "@" else not found
    if operator in ("%", "!%", "=%", "!=%"):
        found = _like(value, expected, wildcards="=" in operator)
        return found if not operator.startswith("!") else not found
    if operator in ("", "="):
        if isinstance(expected, (list, tuple)):
            return _matches_one(value, "@", expected)
        a, b = _ordered(value, expected)
        return a == b
    if operator in ("!", "!="):
        return not _matches_one(value, "", expected)
    a, b = _ordered(value, expected)
    return {">": a > b, ">=": a >= b, "<": a < b, "<=": a <= b}[operator]


def matches(value: Any, operator: str, expected: Any) -> bool:
    """A row value (scalar or list of values) against one filter condition."""
    if isinstance(value, (list, tuple)):
        hits = [_matches_one(item, operator, expected) for item in value]
        return all(hits) if operator.startswith("!") else any(hits)
    return _matches_one(value, operator, expected)


def filter_rows(
    rows: list[dict],
    conditions: dict | None,
    operators: Iterable[str] = ALL_OPERATORS,
    value_of: Callable[[dict, str], Any] | None = None,
) -> list[dict]:
    """Keep rows matching every condition; unknown fields never match."""
    if not conditions:
        return rows
    if not isinstance(conditions, dict):
        raise RestError("ERROR_ARGUMENT", "Wrong FILTER", 400, argument="FILTER")
    getter = value_of or (lambda row, field: _field_ci(row, field))
    parsed = [(*split_operator(str(key), operators), expected) for key, expected in conditions.items()]
    return [row for row in rows if all(matches(getter(row, f), op, exp) for op, f, exp in parsed)]


def _field_ci(row: dict, field: str) -> Any:
    if field in row:
        return row[field]
    upper = field.upper()
    for key, value in row.items():
        if key.upper() == upper:
            return value
    return None


def order_rows(rows: list[dict], order: dict | None, default: dict[str, str],
               value_of: Callable[[dict, str], Any] | None = None) -> list[dict]:
    """Stable multi-key sort; ``order`` maps field -> ASC|DESC (case-insensitive)."""
    spec = order if isinstance(order, dict) and order else default
    getter = value_of or _field_ci
    result = list(rows)
    for field, direction in reversed(list(spec.items())):
        result.sort(
            key=lambda row: _sort_key(getter(row, str(field))),
            reverse=str(direction).upper() == "DESC",
        )
    return result


def _sort_key(value: Any) -> tuple[int, Any]:
    comparable = _comparable(value[0] if isinstance(value, list) and value else value)
    return (0, comparable) if isinstance(comparable, (int, float)) else (1, str(comparable))


def select_fields(row: dict, select: list[str] | None, default: list[str]) -> dict:
    """Project a row onto SELECT (case-insensitive); ``*`` or empty falls back to ``default``."""
    wanted = [str(name) for name in select] if isinstance(select, (list, tuple)) and select else default
    if "*" in wanted:
        return dict(row)
    upper = {key.upper(): key for key in row}
    return {upper[name.upper()]: row[upper[name.upper()]] for name in wanted if name.upper() in upper}


def start_of(raw: Any) -> int:
    """The server's ``intval(start)``: garbage -> 0 (b24-transport.md §3)."""
    try:
        return int(str(raw).strip() or 0)
    except ValueError:
        try:
            return int(float(str(raw)))
        except ValueError:
            return 0


def page(rows: list[Any], start_raw: Any) -> ListPage:
    """One page of 50 with ``total``/``next``; ``start<0`` skips the count (b24-transport.md §3)."""
    start = start_of(start_raw)
    if start < 0:
        return ListPage(rows[:PAGE_SIZE], 0, None)
    chunk = rows[start:start + PAGE_SIZE]
    following = start + len(chunk)
    return ListPage(chunk, len(rows), following if following < len(rows) else None)
