"""PHP wire semantics as pure functions (php.net: parse_str, http_build_query, json_encode)."""
from __future__ import annotations

from emulators.bitrix24.phpcodec import as_php_arrays, build_query, parse_query, php_bool


def test_parse_str_brackets_lists_and_operators() -> None:
    parsed = parse_query("fields[TITLE]=My%20company&fields[PHONE][0][VALUE]=112233&filter[%3EID]=500"
                         "&select[0]=ID&select[1]=NAME&start=-1&a[]=x&a[]=y")
    assert parsed == {"fields": {"TITLE": "My company", "PHONE": [{"VALUE": "112233"}]}, "filter": {">ID": "500"},
                      "select": ["ID", "NAME"], "start": "-1", "a": ["x", "y"]}


def test_parse_str_php_name_mangling_and_plus() -> None:
    parsed = parse_query("user.name=A+B&broken[x=1&tail[k]junk=2&=lost&dup=1&dup=2")
    assert parsed == {"user_name": "A B", "broken_x": "1", "tail": {"k": "2"}, "dup": "2"}


def test_top_level_numeric_keys_stay_a_mapping() -> None:
    assert parse_query("0=123&1[POST_MESSAGE]=hi") == {"0": "123", "1": {"POST_MESSAGE": "hi"}}


def test_php_array_json_rule() -> None:
    assert as_php_arrays({}) == []
    assert as_php_arrays({"0": "a", "1": "b"}) == ["a", "b"]
    assert as_php_arrays({"1": "a", "2": "b"}) == {"1": "a", "2": "b"}
    assert as_php_arrays({"x": {}}) == {"x": []}


def test_http_build_query_round_trips_through_parse_str() -> None:
    data = {"event": "ONUSERADD", "data": {"FIELDS": {"ID": "7"}}, "auth": {"a": "x&y=z", "skip": None}}
    encoded = build_query(data)
    assert "skip" not in encoded
    assert parse_query(encoded) == {"event": "ONUSERADD", "data": {"FIELDS": {"ID": "7"}}, "auth": {"a": "x&y=z"}}


def test_php_bool_cast() -> None:
    assert [php_bool(value) for value in (0, "0", "", False, None, [])] == [False] * 6
    assert [php_bool(value) for value in (1, "1", "false", "N", True)] == [True] * 5
