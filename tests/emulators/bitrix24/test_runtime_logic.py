"""Pure pieces of the workflow runtime: conditions, approval rules, expressions, event tokens."""
from __future__ import annotations

import hashlib
import re
import threading

import pytest

from emulators.bitrix24 import bp_expressions, runtime
from emulators.bitrix24.bp_state import BizprocState, Task, app_activity_type


@pytest.mark.parametrize(("actual", "operator", "expected", "result"), [
    ("y", "=", "Y", True), ("5", "=", 5, True), ("5", "!=", "6", True), ("10", ">", "9", True),
    ("10", "<=", "9", False), ("b", "in", "a, b", True), ("c", "in", ["a", "b"], False),
    ("", "empty", None, True), ("x", "!empty", None, True), (["user_1", "user_2"], "=", "user_2", True),
    (["a"], "contain", "a", True), ("abc", "contain", "z", False), (None, "=", "", True),
])
def test_compare(actual: object, operator: str, expected: object, result: bool) -> None:
    assert runtime.compare(actual, operator, expected) is result


def task_with(statuses: dict[int, int]) -> Task:
    return Task(1, "wf", "ApproveActivity", "A1", "n", "d", list(statuses), {}, ["lists", "BizprocDocument", "1"],
                "doc", "now", user_statuses=dict(statuses))


@pytest.mark.parametrize(("approve_type", "statuses", "decided"), [
    ("any", {1: 0, 2: 0}, None), ("any", {1: 1, 2: 0}, True), ("any", {1: 0, 2: 2}, False),
    ("all", {1: 1, 2: 0}, None), ("all", {1: 1, 2: 1}, True), ("all", {1: 1, 2: 2}, False),
    ("vote", {1: 1, 2: 0, 3: 0}, None), ("vote", {1: 1, 2: 1, 3: 0}, True), ("vote", {1: 2, 2: 2, 3: 0}, False),
])
def test_approval_rules(approve_type: str, statuses: dict[int, int], decided: bool | None) -> None:
    assert runtime.approval_decided(task_with(statuses), approve_type, {"ApproveMinPercent": "60"}) is decided


def lookup(obj: str, field: str) -> object:
    values = {("Document", "NAME"): "Отпуск", ("Variable", "Boss"): ["user_7"], ("A1", "LastApprover"): "user_7",
              ("Template", "days"): 14}
    return values.get((obj, field))


def test_expressions_keep_types_when_whole_and_render_when_embedded() -> None:
    printable = lambda value: f"<{value}>"  # noqa: E731 - a visible marker for printable rendering
    assert bp_expressions.resolve("{=Template:days}", lookup, printable) == 14
    assert bp_expressions.resolve("{=Variable:Boss}", lookup, printable) == ["user_7"]
    assert bp_expressions.resolve("{=Document:~NAME}: {=Template:days} дн.", lookup, printable) == "Отпуск: 14 дн."
    assert bp_expressions.resolve("{=A1:LastApprover_printable}", lookup, printable) == "<user_7>"
    assert bp_expressions.resolve("{=A1:LastApprover > printable}", lookup, printable) == "<user_7>"
    assert bp_expressions.resolve({"k": ["{=Template:days}"]}, lookup, printable) == {"k": [14]}


def test_two_element_references_are_recognised_only_for_known_objects() -> None:
    assert bp_expressions.is_reference(["Variable", "Boss"], set())
    assert bp_expressions.is_reference(["A1", "LastApprover"], {"A1"})
    assert not bp_expressions.is_reference(["user_1", "user_2"], {"A1"})


def test_event_tokens_are_signed_and_forgeries_rejected() -> None:
    state = BizprocState(threading.RLock())
    token = runtime.sign_event_token(state, "66e81a641752f8.56521481", "A1_2", "x" * 32)
    assert re.fullmatch(r"66e81a641752f8\.56521481\|A1_2\|x{32}\.[0-9a-f]{64}", token)
    assert runtime.verify_event_token(state, token) == ("66e81a641752f8.56521481", "A1_2", "x" * 32)
    forged = token.replace("A1_2", "A1_3")
    assert runtime.verify_event_token(state, forged) is None
    assert runtime.verify_event_token(state, "garbage") is None


def test_workflow_ids_have_the_uniqid_shape() -> None:
    assert re.fullmatch(r"[0-9a-f]{13}\d\.\d{8}", runtime.new_workflow_id())


def test_app_activity_type_is_md5_of_client_id_and_code() -> None:
    expected = hashlib.md5(b"local.5c8bb1b0891cf2.87252039@create_extranet_user").hexdigest()
    assert app_activity_type("local.5c8bb1b0891cf2.87252039", "create_extranet_user") == f"rest_{expected}"
