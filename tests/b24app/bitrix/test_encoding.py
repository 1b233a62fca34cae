"""The PHP-compatible encoder (pure): what Bitrix24 must receive for each Python value."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from urllib.parse import parse_qsl

import pytest

from b24app.bitrix.encoding import build_query, command_string, to_bitrix


def pairs(query: str) -> list[tuple[str, str]]:
    return parse_qsl(query, keep_blank_values=True)


@pytest.mark.parametrize(("value", "sent"), [
    (True, "Y"), (False, "N"), (None, ""), (0, "0"), (1.5, "1.5"), (Decimal("10.10"), "10.10"),
    (dt.date(2026, 3, 1), "2026-03-01"), ("", ""),
])
def test_scalars_use_bitrix_conventions(value: object, sent: str) -> None:
    assert pairs(build_query({"F": value})) == [("F", sent)]


def test_nested_arrays_use_php_bracket_paths() -> None:
    query = build_query({"fields": {"NAME": "Ann", "UF_DEPARTMENT": [5, 7], "PHONE": [{"VALUE": "1"}]}})
    assert pairs(query) == [("fields[NAME]", "Ann"), ("fields[UF_DEPARTMENT][0]", "5"),
                            ("fields[UF_DEPARTMENT][1]", "7"), ("fields[PHONE][0][VALUE]", "1")]


def test_empty_containers_clear_the_field() -> None:
    assert pairs(build_query({"UF_DEPARTMENT": [], "F": {}})) == [("UF_DEPARTMENT", ""), ("F", "")]


def test_reserved_characters_are_percent_encoded_once() -> None:
    query = build_query({"NAME": "R&D + a=b #1 [x] 50%", "FILTER": {">ID": 10}})
    assert "&NAME" not in query and "+" not in query
    assert pairs(query) == [("NAME", "R&D + a=b #1 [x] 50%"), ("FILTER[>ID]", "10")]


def test_cyrillic_round_trips() -> None:
    assert pairs(build_query({"NAME": "Иван Петров"})) == [("NAME", "Иван Петров")]


def test_positional_parameters() -> None:
    assert pairs(build_query([123, {"POST_MESSAGE": "hi"}])) == [("0", "123"), ("1[POST_MESSAGE]", "hi")]


def test_command_string() -> None:
    assert command_string("user.current", None) == "user.current"
    assert command_string("user.update", {"ID": 5, "ACTIVE": False}) == "user.update?ID=5&ACTIVE=N"


def test_json_bodies_get_y_n_and_keep_null() -> None:
    assert to_bitrix({"ACTIVE": True, "X": None, "L": (1, False), "D": dt.date(2026, 1, 2)}) == {
        "ACTIVE": "Y", "X": None, "L": [1, "N"], "D": "2026-01-02"}
