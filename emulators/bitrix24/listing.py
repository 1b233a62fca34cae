"""List semantics of every list method: filter prefixes, order, select, ``start``, 50-row pages.

REST docs: settings/how-to-call-rest-api/list-methods-pecularities.md (paging) and
api-reference/user/user-get.md (``filter`` with operator prefixes ``>=ID``, ``!NAME``, ``@ID``, ``%NAME``,
``=%NAME``...). Values compare as numbers when both sides look numeric, else as case-insensitive strings;
a multi-valued field matches when any value does (a negation: when none does). A method that accepts
fewer operators passes them (``TEMPLATE_OPERATORS``); an unlisted prefix then stays part of the field
name, an unknown field.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Callable, Iterable, Iterator

from .registry import ListPage

PAGE_SIZE = 50  # fixed (REST docs: settings/how-to-call-rest-api/list-methods-pecularities.md)
OPERATORS = ("!=%", "!%=", ">=", "<=", "!=", "!@", "!%", "=%", "%=", ">", "<", "=", "!", "@", "%")  # longest first
# bizproc.workflow.template.list: '' ! < <= > >= only [not in the docs: core modules/bizproc/lib/restservice.php;
# REST docs: api-reference/bizproc/template/bizproc-workflow-template-list.md also lists = and !=]
TEMPLATE_OPERATORS = (">=", "<=", ">", "<", "!")
TRUE_WORDS = {"Y", "1", "TRUE_BOOL"}
FALSE_WORDS = {"N", "0", "", "FALSE_BOOL"}
_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")
_INTVAL = re.compile(r"^\s*([+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)")
PHP_INT_MAX = 2**63 - 1

Row = dict[str, Any]
View = Callable[[Row], Row]


@dataclass(frozen=True)
class Condition:
    field: str
    operator: str
    value: Any

    def matches(self, row: Row) -> bool:
        actual = row.get(self.field)
        values = actual if isinstance(actual, list) else [actual]
        if self.operator.startswith("!"):
            positive = self.operator[1:] if self.operator not in ("!", "!=") else "="
            return not any(_test(positive, item, self.value) for item in values)
        return any(_test(self.operator, item, self.value) for item in values)


def parse_condition(key: str, value: Any, operators: Iterable[str] = OPERATORS) -> Condition:
    """``">=ID"`` -> (ID, >=); a key without a prefix means equality."""
    for operator in operators:
        if key.startswith(operator):
            return Condition(key[len(operator):].upper(), operator, value)
    return Condition(key.upper(), "=", value)


def _test(operator: str, actual: Any, expected: Any) -> bool:
    if operator == "><":
        return _between(actual, expected)
    if operator in ("=", "@"):
        options = expected if isinstance(expected, list) else _split_in(operator, expected)
        return any(_equal(actual, option) for option in options)
    if isinstance(expected, (dict, list)) or actual is None:
        return False  # SQL NULL, or a non-scalar bound (e.g. an unresolved batch reference): matches nothing
    if operator in ("%", "?"):
        return str(expected).lower() in str(actual).lower()
    if operator in ("=%", "%="):
        return _like(str(actual), str(expected))
    left, right = _ordered(actual, expected)
    return {">": left > right, ">=": left >= right, "<": left < right, "<=": left <= right}[operator]


def _between(actual: Any, expected: Any) -> bool:
    """``><``: inclusive range given as ``[low, high]`` (b24restdocs sonet-group/sonet-group-get.md)."""
    if actual is None or not isinstance(expected, list) or len(expected) != 2:
        return False
    (value, low), (_, high) = _ordered(actual, expected[0]), _ordered(actual, expected[1])
    return low <= value <= high


def _split_in(operator: str, expected: Any) -> list[Any]:
    if operator == "@" and isinstance(expected, str):
        return [item.strip() for item in expected.split(",")]
    return [expected]


def _equal(actual: Any, expected: Any) -> bool:
    if isinstance(expected, (dict, list)):
        return False
    if isinstance(actual, bool):
        # booleans travel as Y/N (REST docs: api-reference/data-types.md); "True"/"False" strings match nothing
        # [not in the docs: observed, leshchenko1979/fast_bitrix24 issue 265]
        word = {True: "TRUE_BOOL", False: "FALSE_BOOL"}[expected] if isinstance(expected, bool) \
            else str(expected).upper()
        return (word in TRUE_WORDS) if actual else (word in FALSE_WORDS)
    if actual is None:
        return expected in (None, "", False)
    left, right = _ordered(actual, expected)
    return left == right


def _ordered(actual: Any, expected: Any) -> tuple[Any, Any]:
    """Numbers when both look numeric, else strings without case: REST docs: api-reference/user/user-get.md
    names only the prefixes; [inferred] the portal's MySQL ``*_ci`` collations compare this way, ``<``/``>`` included."""
    left, right = _number(actual), _number(expected)
    if left is not None and right is not None:
        return left, right
    return str(actual).lower(), str(expected).lower()


def _like(text: str, pattern: str) -> bool:
    """``=%``/``%=``: SQL ``LIKE`` with the caller's wildcards, ``%`` any run, ``_`` one character (inference:
    the value reaches LIKE unescaped); other characters, brackets included, match themselves."""
    regex = "".join(".*" if char == "%" else "." if char == "_" else re.escape(char) for char in pattern)
    return re.fullmatch(regex, text, re.IGNORECASE | re.DOTALL) is not None


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    return float(value) if _NUMBER.match(str(value)) else None


@dataclass
class Query:
    conditions: list[Condition]
    order: list[tuple[str, bool]]  # (field, descending)

    @classmethod
    def from_params(cls, filter_: Any, order: Any, operators: Iterable[str] = OPERATORS) -> Query:
        """A non-object ``filter`` filters nothing; ``order`` maps field -> ASC|DESC (any case)."""
        filter_items = filter_.items() if isinstance(filter_, dict) else []
        return cls([parse_condition(str(key), value, operators) for key, value in filter_items], parse_order(order))

    def matches(self, row: Row) -> bool:
        return all(condition.matches(row) for condition in self.conditions)

    def apply(self, rows: Iterable[Row], view: View = lambda row: row) -> list[Row]:
        """Filter rows (tested on ``view(row)``) and sort them, stable, key by key; returns the original rows."""
        kept = [row for row in rows if self.matches(view(row))]
        for field, descending in reversed(self.order):
            kept.sort(key=lambda row: _sort_key(view(row).get(field)), reverse=descending)
        return kept


def parse_order(order: Any) -> list[tuple[str, bool]]:
    if isinstance(order, dict):
        return [(str(field).upper(), str(direction).upper() == "DESC") for field, direction in order.items()]
    return []


def _sort_key(value: Any) -> tuple[int, float, str]:
    """NULLs first as MySQL sorts them ascending (inference), then numbers, then strings without case;
    a multi-valued field sorts by its first value."""
    if isinstance(value, list):
        value = value[0] if value else None
    if value is None:
        return (0, 0.0, "")
    number = _number(value)
    if number is not None:
        return (1, number, "")
    return (2, 0.0, str(value).lower())


def select_fields(row: Row, select: Any, default: list[str]) -> Row:
    """Project a row onto SELECT (any case); an empty or missing SELECT means ``default``, ``*`` everything."""
    wanted = [str(name) for name in select] if isinstance(select, list) and select else default
    if "*" in wanted:
        return dict(row)
    upper = {key.upper(): key for key in row}
    return {upper[name.upper()]: row[upper[name.upper()]] for name in wanted if name.upper() in upper}


def start_of(raw: Any) -> int:
    """PHP ``intval`` of ``start``: the leading number, ``1e3`` -> 1000, garbage -> 0
    [not in the docs: core modules/rest/classes/general/rest.php]."""
    match = _INTVAL.match(str(raw)) if raw is not None else None
    number = Decimal(match.group(1)) if match else Decimal(0)
    return int(max(-PHP_INT_MAX - 1, min(number, PHP_INT_MAX)))


def paginate(rows: list[Any], raw_start: Any) -> ListPage:
    """One page of 50; ``next`` = offset + page length while rows remain (the ORM ``setNavData``);
    ``start < 0``: no count, ``total`` 0 and no ``next`` (REST docs: settings/performance/huge-data.md)."""
    start = start_of(raw_start)
    if start < 0:
        return ListPage(rows[:PAGE_SIZE], 0, None)
    page = rows[start:start + PAGE_SIZE]
    following = start + len(page)
    return ListPage(page, len(rows), following if following < len(rows) else None)


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
