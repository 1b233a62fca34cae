"""List semantics shared by list methods: filter operator prefixes, order, 50-row pages (b24-transport §3)."""
from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator

from .registry import ListPage

PAGE_SIZE = 50
OPERATORS = (">=", "<=", "!=", "!@", "!%", "=%", "%=", ">", "<", "=", "!", "@", "%")
TRUE_WORDS = {"Y", "1", "TRUE_BOOL"}
FALSE_WORDS = {"N", "0", "", "FALSE_BOOL"}


@dataclass(frozen=True)
class Condition:
    field: str
    operator: str
    value: Any

    def matches(self, row: dict[str, Any]) -> bool:
        actual = row.get(self.field)
        values = actual if isinstance(actual, list) else [actual]
        if self.operator in ("!", "!=", "!@", "!%"):
            return not any(_test(self.operator.lstrip("!") or "=", item, self.value) for item in values)
        return any(_test(self.operator, item, self.value) for item in values)


def parse_condition(key: str, value: Any) -> Condition:
    for operator in OPERATORS:
        if key.startswith(operator):
            return Condition(key[len(operator):].upper(), operator, value)
    return Condition(key.upper(), "=", value)


def _test(operator: str, actual: Any, expected: Any) -> bool:
    if operator in ("=", "@"):
        options = expected if isinstance(expected, list) else _split_in(operator, expected)
        return any(_equal(actual, option) for option in options)
    if isinstance(expected, (dict, list)):
        return False  # a non-scalar bound (e.g. an unresolved batch reference) matches nothing
    if operator in ("%", "=%", "%="):
        return _like(operator, actual, expected)
    return _compare(operator, actual, expected)


def _split_in(operator: str, expected: Any) -> list[Any]:
    if operator == "@" and isinstance(expected, str):
        return [item.strip() for item in expected.split(",")]
    return [expected]


def _equal(actual: Any, expected: Any) -> bool:
    if isinstance(expected, (dict, list)):
        return False
    if isinstance(actual, bool):
        # b24-transport §1.3 / FB24 #265: booleans travel as Y/N; "True"/"False" strings match nothing
        word = {True: "TRUE_BOOL", False: "FALSE_BOOL"}.get(expected, str(expected).upper()) \
            if isinstance(expected, bool) else str(expected).upper()
        return (word in TRUE_WORDS) if actual else (word in FALSE_WORDS)
    if actual is None:
        return expected in (None, "", False)
    left, right = _numbers(actual, expected)
    if left is not None:
        return left == right
    return str(actual).lower() == str(expected).lower()


def _compare(operator: str, actual: Any, expected: Any) -> bool:
    if actual is None:
        return False
    left, right = _numbers(actual, expected)
    if left is None:
        left, right = str(actual), str(expected)
    return {">": left > right, ">=": left >= right, "<": left < right, "<=": left <= right}[operator]


def _like(operator: str, actual: Any, expected: Any) -> bool:
    if actual is None:
        return False
    text, needle = str(actual).lower(), str(expected).lower()
    if operator == "%":
        return needle in text
    return fnmatch.fnmatchcase(text, needle.replace("%", "*").replace("_", "?"))


_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")


def _numbers(actual: Any, expected: Any) -> tuple[float | None, float | None]:
    if isinstance(actual, bool) or isinstance(expected, bool):
        return None, None
    if _NUMBER.match(str(actual)) and _NUMBER.match(str(expected)):
        return float(actual), float(expected)
    return None, None


@dataclass
class Query:
    conditions: list[Condition]
    order: list[tuple[str, bool]]  # (field, descending)

    @classmethod
    def from_params(cls, filter_: Any, order: Any) -> Query:
        filter_items = filter_.items() if isinstance(filter_, dict) else []
        return cls([parse_condition(str(key), value) for key, value in filter_items], parse_order(order))

    def matches(self, row: dict[str, Any]) -> bool:
        return all(condition.matches(row) for condition in self.conditions)

    def apply(self, rows: Iterable[dict[str, Any]],
              view: Callable[[dict[str, Any]], dict[str, Any]] = lambda row: row) -> list[dict[str, Any]]:
        """Filter rows (tested on ``view(row)``) and sort them; returns the original rows."""
        kept = [row for row in rows if self.matches(view(row))]
        for field, descending in reversed(self.order):
            kept.sort(key=lambda row: _sort_key(view(row).get(field)), reverse=descending)
        return kept


def parse_order(order: Any) -> list[tuple[str, bool]]:
    if isinstance(order, dict):
        return [(str(field).upper(), str(direction).upper() == "DESC") for field, direction in order.items()]
    return []


def _sort_key(value: Any) -> tuple[int, float, str]:
    if value is None:
        return (0, 0.0, "")
    if _NUMBER.match(str(value)):
        return (1, float(value), "")
    return (2, 0.0, str(value).lower())


def start_of(raw: Any) -> int:
    """PHP ``intval`` of ``start``: garbage -> 0."""
    match = re.match(r"^\s*(-?\d+)", str(raw)) if raw is not None else None
    return int(match.group(1)) if match else 0


def paginate(rows: list[Any], raw_start: Any) -> ListPage:
    """One page of 50; ``start < 0`` means no count: ``total`` 0 and no ``next`` (b24-transport §3)."""
    start = start_of(raw_start)
    if start < 0:
        return ListPage(rows[:PAGE_SIZE], 0, None)
    page = rows[start:start + PAGE_SIZE]
    more = start + PAGE_SIZE < len(rows)
    return ListPage(page, len(rows), start + PAGE_SIZE if more else None)


def paginate_stream(rows: Iterator[Any], raw_start: Any) -> ListPage:
    """Like ``paginate`` but stops reading after the first page when no count is asked for."""
    start = start_of(raw_start)
    if start < 0:
        page: list[Any] = []
        for row in rows:
            page.append(row)
            if len(page) == PAGE_SIZE:
                break
        return ListPage(page, 0, None)
    return paginate(list(rows), start)
