"""The .bpt codec and the import-time tree check (pure functions).

REST docs: api-reference/bizproc/template/bizproc-workflow-template-add.md (the sample); the format is
[not in the docs: core modules/bizproc/lib/workflow/template/packer/bpt.php].
"""
from __future__ import annotations

import base64
import zlib
from pathlib import Path

import phpserialize
import pytest

from emulators.bitrix24 import bp_bpt
from emulators.bitrix24.bp_activities import template_errors

DOCS_SAMPLE = Path(__file__).parent / "bp_data" / "docs_sample.bpt.b64"


def docs_sample_bytes() -> bytes:
    """The TEMPLATE_DATA sample of bitrix24/b24restdocs bizproc-workflow-template-add.md."""
    return base64.b64decode(DOCS_SAMPLE.read_text().strip())


def test_docs_sample_decodes_to_one_socnet_message() -> None:
    data = bp_bpt.unpack(docs_sample_bytes())
    root = data["TEMPLATE"][0]
    assert data["VERSION"] == 2
    assert root["Type"] == "SequentialWorkflowActivity" and root["Name"] == "Template"
    assert [child["Type"] for child in root["Children"]] == ["SocNetMessageActivity"]
    assert root["Children"][0]["Properties"]["MessageUserTo"] == ["author"]
    assert "{=System:Now}" in root["Children"][0]["Properties"]["MessageText"]
    assert len(data["DOCUMENT_FIELDS"]) == 20 and data["DOCUMENT_FIELDS"]["NAME"]["Required"] is True


def test_docs_sample_round_trips_through_pack() -> None:
    data = bp_bpt.unpack(docs_sample_bytes())
    packed = bp_bpt.pack(data)
    assert packed[:2] == b"\x78\xda"  # zlib level 9 header, as gzcompress($data, 9)
    assert bp_bpt.unpack(packed) == data


def test_uncompressed_serialize_is_accepted() -> None:
    raw = phpserialize.dumps({"TEMPLATE": [{"Type": "SequentialWorkflowActivity", "Name": "Template"}]})
    data = bp_bpt.unpack(raw)
    assert data["TEMPLATE"][0]["Name"] == "Template"
    assert data["PARAMETERS"] == {} and data["CONSTANTS"] == {}


@pytest.mark.parametrize("raw", [
    b"not a template",
    zlib.compress(b"garbage", 9),
    zlib.compress(phpserialize.dumps({"VERSION": 2}), 9),
    zlib.compress(b'O:8:"stdClass":1:{s:8:"TEMPLATE";a:0:{}}', 9),
])
def test_non_templates_are_wrong_data(raw: bytes) -> None:
    with pytest.raises(bp_bpt.BptError, match="wrong data"):
        bp_bpt.unpack(raw)


def test_file_value_accepts_json_list_and_form_keys() -> None:
    encoded = base64.b64encode(b"abc").decode()
    assert bp_bpt.file_bytes(["t.bpt", encoded]) == b"abc"
    assert bp_bpt.file_bytes({"0": "t.bpt", "1": encoded}) == b"abc"
    assert bp_bpt.file_bytes("t.bpt") is None


def test_php_lists_become_python_lists_but_maps_stay() -> None:
    converted = bp_bpt.php_to_python({0: "a", 1: {"x": {0: 1}}, 2: {5: "b"}})
    assert converted == ["a", {"x": [1]}, {"5": "b"}]


def tree(*children: dict) -> list[dict]:
    return [{"Type": "SequentialWorkflowActivity", "Name": "Template", "Children": list(children)}]


def test_unknown_activity_types_are_reported() -> None:
    errors = template_errors(tree({"Type": "TeleportActivity", "Name": "A1"}), lambda _: None)
    assert errors == ["Activity 'TeleportActivity' is not found"]


def test_missing_required_properties_are_reported() -> None:
    approve = {"Type": "ApproveActivity", "Name": "A1", "Properties": {"Name": "x", "Users": []}}
    assert template_errors(tree(approve), lambda _: None) == [
        "ApproveActivity (A1): Property 'Users' is not specified"]


def test_app_activity_types_use_the_registry_callback() -> None:
    node = {"Type": "rest_abc", "Name": "A1", "Properties": {"email": "a@b.c"}}
    assert template_errors(tree(node), lambda t: ("email",) if t == "rest_abc" else None) == []
    assert template_errors(tree(node), lambda t: ("email", "group") if t == "rest_abc" else None) == [
        "rest_abc (A1): Property 'group' is not specified"]
    assert template_errors(tree(node), lambda _: None) == ["Activity 'rest_abc' is not found"]
