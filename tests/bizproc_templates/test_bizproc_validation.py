from __future__ import annotations

from copy import deepcopy
from typing import Any

import pytest

from bizproc_templates.source import PROCESSES_DIR, Process, load_process
from bizproc_templates.validation import ValidationError, check, validate

VACATION = load_process(PROCESSES_DIR / "vacation.yaml")


def mutated(change: Any) -> Process:
    source = deepcopy(VACATION.source)
    change(source)
    return Process(VACATION.code, source, VACATION.file)


def approve_node(source: dict) -> dict:
    return next(node for node in source["activities"] if node.get("type") == "ApproveActivity")


def messages(process: Process) -> list[str]:
    return [str(problem) for problem in validate(process)]


def test_valid_source_has_no_problems() -> None:
    assert validate(VACATION) == []
    check(VACATION)


def test_unknown_activity_type() -> None:
    process = mutated(lambda s: s["activities"][0].update(type="NoSuchActivity"))
    assert messages(process) == ["bizproc_templates/processes/vacation.yaml: activities[0]: unknown activity type 'NoSuchActivity'"]


def test_unknown_app_activity() -> None:
    process = mutated(lambda s: s["activities"][1].update(app="zup_no_such"))
    assert any("unknown app activity 'zup_no_such'" in text for text in messages(process))


def test_unknown_property() -> None:
    process = mutated(lambda s: approve_node(s)["properties"].update(Approvers2=["author"]))
    assert any(text.endswith(".properties.Approvers2: unknown property of ApproveActivity") for text in messages(process))


def test_missing_required_property() -> None:
    process = mutated(lambda s: approve_node(s)["properties"].pop("Users"))
    assert any(text.endswith(".properties.Users: required property of ApproveActivity is missing") for text in messages(process))
    with pytest.raises(ValidationError) as error:
        check(process)
    assert "vacation.yaml" in str(error.value)


def test_undefined_variable_in_expression() -> None:
    process = mutated(lambda s: approve_node(s)["properties"].update(Description="{=Variable:nope}"))
    assert any(text.endswith(".properties.Description: undefined variable 'nope'") for text in messages(process))


def test_undefined_variable_in_user_reference_and_set_variable() -> None:
    def change(source: dict) -> None:
        approve_node(source)["properties"]["Users"] = ["Variable", "ghosts"]
        next(n for n in source["activities"] if n.get("type") == "SetVariableActivity")["properties"]["VariableValue"]["x"] = "1"

    texts = messages(mutated(change))
    assert any("undefined variable 'ghosts'" in text for text in texts)
    assert any(".VariableValue.x: undefined variable 'x'" in text for text in texts)


def test_undefined_list_field_and_activity() -> None:
    def change(source: dict) -> None:
        source["activities"][0]["properties"]["FieldValue"]["PROPERTY_NOPE"] = "x"
        approve_node(source)["properties"]["Name"] = "{=no_such_step:LastApprover}"

    texts = messages(mutated(change))
    assert any("FieldValue.PROPERTY_NOPE: undefined list field 'PROPERTY_NOPE'" in text for text in texts)
    assert any("reference to undefined activity 'no_such_step'" in text for text in texts)


def test_undefined_return_property_of_app_activity() -> None:
    process = mutated(lambda s: approve_node(s)["properties"].update(Description="{=resolve:boss}"))
    assert any("undefined resolve property 'boss'" in text for text in messages(process))


def test_bad_list_field_and_routing() -> None:
    def change(source: dict) -> None:
        source["list"]["fields"][0]["type"] = "Z"
        source["routing"]["director"] = "directors"

    texts = messages(mutated(change))
    assert any("list.fields[0]: unknown field type 'Z'" in text for text in texts)
    assert any("routing.director: unknown role" in text for text in texts)
