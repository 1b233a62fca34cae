"""The one PHP-bracket parser used for every call from Bitrix24."""
from __future__ import annotations

from urllib.parse import urlencode

import pytest

from b24app.formparse import MalformedBody, parse_body, parse_form


def test_event_payload_from_reference_wire_form() -> None:
    # b24-app.md §4.3 wire form
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
