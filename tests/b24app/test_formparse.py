"""The one PHP-bracket parser used for every call from Bitrix24."""
from __future__ import annotations

from urllib.parse import urlencode

import pytest

from b24app.formparse import MalformedBody, parse_body, parse_form


def test_event_payload_from_reference_wire_form() -> None:
    # the wire form of Bitrix24's event POSTs (PHP http_build_query)
    body = ("event=ONCRMDEALADD&event_handler_id=185&data[FIELDS][ID]=7405&ts=1766047124"
            "&auth[access_token]=s6p6&auth[domain]=some.bitrix24.com"
            "&auth[client_endpoint]=https%3A%2F%2Fsome.bitrix24.com%2Frest%2F&auth[member_id]=d89"
            "&auth[application_token]=51856fef").encode()
    parsed = parse_form(body)
    assert parsed["event"] == "ONCRMDEALADD"
    assert parsed["data"] == {"FIELDS": {"ID": "7405"}}
    assert parsed["auth"]["client_endpoint"] == "https://some.bitrix24.com/rest/"
    assert parsed["auth"]["member_id"] == "d89"


def test_contiguous_numeric_keys_become_lists_and_append_syntax() -> None:
    body = b"document_id[0]=lists&document_id[1]=BizprocDocument&document_id[2]=123&a[]=x&a[]=y"
    parsed = parse_form(body)
    assert parsed["document_id"] == ["lists", "BizprocDocument", "123"]
    assert parsed["a"] == ["x", "y"]


def test_sparse_numeric_keys_stay_a_map() -> None:
    assert parse_form(b"m[0]=a&m[2]=b")["m"] == {"0": "a", "2": "b"}
    assert parse_form(b"m[00]=a")["m"] == {"00": "a"}


def test_unicode_and_plus_decoding() -> None:
    body = urlencode({"properties[comment]": "Отпуск с 1 июля", "x": "a+b"}).encode()
    parsed = parse_form(body)
    assert parsed["properties"]["comment"] == "Отпуск с 1 июля"
    assert parsed["x"] == "a+b"


@pytest.mark.parametrize("body", [b"a=1&a[b]=2", b"a[b]=2&a=1", b"a]b=1", b"\xff\xfe=1",
                                  b"a" + b"[x]" * 20 + b"=1"])
def test_malformed_bodies_are_rejected(body: bytes) -> None:
    with pytest.raises(MalformedBody):
        parse_form(body)


def test_json_bodies_and_unknown_content_types() -> None:
    assert parse_body(b'{"event": "X"}', "application/json; charset=utf-8") == {"event": "X"}
    with pytest.raises(MalformedBody):
        parse_body(b"[1]", "application/json")
    with pytest.raises(MalformedBody):
        parse_body(b"x", "text/xml")


def test_append_syntax_follows_php_after_explicit_indexes() -> None:
    assert parse_form(b"a[]=x&a[5]=y&a[]=z")["a"] == {"0": "x", "5": "y", "6": "z"}
    assert parse_form(b"a[3]=x&a[]=y")["a"] == {"3": "x", "4": "y"}


def test_parsing_is_linear_in_the_body() -> None:
    """Appends are indexed in one pass; a 1 MiB body of them is refused at the field limit first."""
    body = b"&".join([b"a[]=1"] * 4000)  # the field limit stops bigger bodies before any work
    assert len(parse_form(body)["a"]) == 4000
    with pytest.raises(MalformedBody, match="полей"):
        parse_form(b"&".join([b"a[]=1"] * 200_000))


@pytest.mark.parametrize("body", [b"event=A%00B", b"a%01=1", b"k=" + b"%1b" * 3, b"x" * 300 + b"=1"])
def test_control_characters_and_long_names_are_refused(body: bytes) -> None:
    with pytest.raises(MalformedBody):
        parse_form(body)


@pytest.mark.parametrize("body", [b'{"a":' * 5000 + b"1" + b"}" * 5000, b'{"a":' * 20 + b"1" + b"}" * 20,
                                  b'{"e": "\\u0000"}', b'{"' + b"k" * 300 + b'": 1}'])
def test_deep_or_dirty_json_is_refused(body: bytes) -> None:
    with pytest.raises(MalformedBody):
        parse_body(body, "application/json")
